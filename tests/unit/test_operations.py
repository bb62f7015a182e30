"""The endpoint catalogue: every SDK method exists with its parameters, and requests are
shaped as the SDK shapes them (mocked HTTP with ``responses``)."""

from __future__ import annotations

import gzip
import inspect
import io
import json
import pydoc
import re
import typing
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests
import responses

from cloudant_odm.client import (
    ApiException,
    BadRequestError,
    BulkDocs,
    CloudantV1,
    ConflictError,
    Document,
    ForbiddenError,
    NoAuthAuthenticator,
    NotFoundError,
    PreconditionFailedError,
    ServiceUnavailableError,
    TooManyRequestsError,
    _catalogue,
    _generate,
)
from cloudant_odm.client._operations import FeedRequestOptions, RequestOptions
from cloudant_odm.client.transport import REQUEST_OPTIONS, DetailedResponse

URL = "http://couch.test"
OPERATIONS_FILE = (
    Path(__file__).resolve().parents[3] / "shared" / "reference" / "cloudant-sdk-operations.json"
)


@pytest.fixture
def client() -> CloudantV1:
    c = CloudantV1(authenticator=NoAuthAuthenticator())
    c.set_service_url(URL)
    c.set_enable_gzip_compression(False)
    return c


def body_of(call: Any) -> Any:
    raw = call.request.body
    if call.request.headers.get("Content-Encoding") == "gzip":
        raw = gzip.decompress(raw)
    return json.loads(raw)


def query_of(call: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query)


def load_operations() -> list[dict[str, Any]]:
    if not OPERATIONS_FILE.exists():
        pytest.skip(f"{OPERATIONS_FILE} is not beside this checkout")
    ops: list[dict[str, Any]] = json.loads(OPERATIONS_FILE.read_text())
    return ops


# -- the catalogue ----------------------------------------------------------------


def test_every_sdk_method_exists_with_its_parameters() -> None:
    ops = load_operations()
    assert len(ops) == 100
    for op in ops:
        method = getattr(CloudantV1, op["name"], None)
        assert method is not None, f"missing {op['name']}"
        sig = inspect.signature(getattr(CloudantV1(NoAuthAuthenticator()), op["name"]))
        params = list(sig.parameters.values())
        positional = [p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]
        keyword = {p.name for p in params if p.kind is p.KEYWORD_ONLY}
        assert positional == op["required"], op["name"]
        assert set(op["optional"]) <= keyword, op["name"]
        assert keyword - set(op["optional"]) <= {"filter_params"}, op["name"]


@responses.activate
def test_every_sdk_operation_uses_its_method_and_path(client: CloudantV1) -> None:
    """Call each operation with placeholder arguments and compare method and path."""
    for op in load_operations():
        responses.reset()
        body = {} if op["method"] == "HEAD" else {"json": {}}
        responses.add(op["method"], re.compile(".*"), status=200, **body)
        args = []
        path = op["url"]
        for name in op["required"]:
            value: Any = {"doc_ids": ["x"]} if name == "document_revisions" else f"v{name}"
            if name in ("db",):
                value = "db1"
            elif name in ("document", "bulk_docs", "design_document", "replication_document"):
                value = {"a": 1}
            elif name in ("attachment",):
                value = b"bytes"
            elif name in ("keys", "docs", "queries", "types", "origins"):
                value = ["k"]
            args.append(value)
            if "{" + name + "}" in path:
                path = path.replace("{" + name + "}", str(value))
        getattr(client, op["name"])(*args)
        call = responses.calls[0]
        assert call.request.method == op["method"], op["name"]
        assert urlsplit(call.request.url).path == path, op["name"]
        accept = call.request.headers.get("Accept")
        if op["accept"]:
            assert accept == op["accept"], op["name"]


# -- typed methods ------------------------------------------------------------------


def test_generated_methods_are_up_to_date() -> None:
    """_methods.py is what the generator makes of the catalogue today."""
    assert _generate.SYNC.target.read_text() == _generate.render(), (
        f"{_generate.SYNC.target.name} is stale after a change to the catalogue or the "
        f"generator: run `{_generate.COMMAND}` and commit the result"
    )


@pytest.mark.parametrize("name", list(_catalogue.OPERATIONS))
def test_every_operation_is_a_function_with_a_full_signature(name: str) -> None:
    """On the class, each operation is a plain function whose signature names the
    catalogue's parameters (required ones positional, the rest keyword-only, then
    ``**kwargs``), every one annotated with a type that resolves at run time."""
    op = _catalogue.OPERATIONS[name]
    function = getattr(CloudantV1, name)
    assert inspect.isfunction(function), function
    params = list(inspect.signature(function).parameters.values())
    assert [p.name for p in params] == ["self", *op.parameters, "kwargs"]
    kinds = [p.kind for p in params[1:-1]]
    n = len(op.required)
    assert kinds == [inspect.Parameter.POSITIONAL_OR_KEYWORD] * n + [
        inspect.Parameter.KEYWORD_ONLY
    ] * (len(op.parameters) - n)
    assert all(p.default is None for p in params[1 + n : -1])
    assert params[-1].kind is inspect.Parameter.VAR_KEYWORD
    hints = typing.get_type_hints(function)
    assert set(hints) == {*op.parameters, "kwargs", "return"}
    assert hints["return"] is DetailedResponse
    options = FeedRequestOptions if "timeout" in op.parameters else RequestOptions
    assert typing.get_args(hints["kwargs"]) == (options,)
    assert Any not in hints.values()


def test_every_parameter_name_has_a_type_and_every_type_a_parameter() -> None:
    names = {n for op in _catalogue.OPERATIONS.values() for n in op.parameters}
    assert names == set(_catalogue.PARAMETER_TYPES)
    for family, overrides in _catalogue.TYPE_OVERRIDES.items():
        assert set(overrides) <= set(_catalogue.OPERATIONS[family].parameters), family


def test_request_options_are_the_transports() -> None:
    assert RequestOptions.__optional_keys__ == REQUEST_OPTIONS | {"headers"}
    assert FeedRequestOptions.__optional_keys__ == REQUEST_OPTIONS - {"timeout"} | {"headers"}


def test_methods_work_with_autospec_help_and_pydoc(client: CloudantV1) -> None:
    with mock.patch.object(CloudantV1, "get_document", autospec=True) as get_document:
        client.get_document("db", "doc1", rev="1-a", headers={"X": "y"})
        get_document.assert_called_once_with(client, "db", "doc1", rev="1-a", headers={"X": "y"})
        with pytest.raises(TypeError):
            client.get_document("db", "doc1", "1-a")  # rev is keyword-only
    text = pydoc.render_doc(CloudantV1.get_document, renderer=pydoc.plaintext)
    assert "get_document(self, db: str, doc_id: str, *, if_none_match: str | None = None" in text
    assert "GET /{db}/{doc_id}" in text


def test_wrong_arguments_raise_type_error(client: CloudantV1) -> None:
    with responses.RequestsMock():  # nothing may be sent
        with pytest.raises(TypeError, match=r"get_document\(\) got unexpected .*'revv'"):
            client.get_document("db", "doc1", revv="1-a")  # type: ignore[call-arg]
        with pytest.raises(TypeError, match="positional"):
            client.get_document("db", "doc1", "1-a")  # type: ignore[misc]
        with pytest.raises(TypeError, match="timeoutt"):
            client.post_changes("db", timeoutt=5)  # type: ignore[call-arg]


# -- request shape ----------------------------------------------------------------


@responses.activate
def test_query_booleans_lowercase_and_none_dropped(client: CloudantV1) -> None:
    responses.get(f"{URL}/db/doc1", json={"_id": "doc1"})
    result = client.get_document("db", "doc1", conflicts=True, revs=False, rev=None).get_result()
    assert result == {"_id": "doc1"}
    assert query_of(responses.calls[0]) == {"conflicts": ["true"], "revs": ["false"]}


@responses.activate
def test_body_fields_drop_none_and_accept_models(client: CloudantV1) -> None:
    responses.post(f"{URL}/db/_all_docs", json={"rows": []})
    client.post_all_docs("db", include_docs=True, limit=10, start_key=None)
    assert body_of(responses.calls[0]) == {"include_docs": True, "limit": 10}

    responses.post(f"{URL}/db/_bulk_docs", json=[])
    client.post_bulk_docs("db", BulkDocs(docs=[Document(id="a", n=1), {"_id": "b"}]))
    assert body_of(responses.calls[1]) == {"docs": [{"_id": "a", "n": 1}, {"_id": "b"}]}
    assert responses.calls[1].request.headers["Content-Type"] == "application/json"


@responses.activate
def test_sdk_document_model_id_becomes_underscore_id(client: CloudantV1) -> None:
    responses.put(f"{URL}/db/example", json={"ok": True, "id": "example", "rev": "1-a"})
    doc = Document(id="example", name="Bob Smith")
    client.put_document("db", "example", doc)
    assert body_of(responses.calls[0]) == {"_id": "example", "name": "Bob Smith"}


@responses.activate
def test_header_params_and_user_headers(client: CloudantV1) -> None:
    responses.delete(f"{URL}/db/d", json={"ok": True})
    client.delete_document("db", "d", if_match="1-x", headers={"X-Trace": "t1"})
    headers = responses.calls[0].request.headers
    assert headers["If-Match"] == "1-x"
    assert headers["X-Trace"] == "t1"
    assert headers["User-Agent"].startswith("cloudant-odm/")


@responses.activate
def test_default_headers_override_operation_headers(client: CloudantV1) -> None:
    client.set_default_headers({"Accept": "application/json; charset=utf-8", "X-App": "a"})
    responses.get(f"{URL}/", json={"couchdb": "Welcome"})
    client.get_server_information()
    headers = responses.calls[0].request.headers
    assert headers["Accept"] == "application/json; charset=utf-8"
    assert headers["X-App"] == "a"


@responses.activate
def test_head_returns_none_result_with_headers(client: CloudantV1) -> None:
    responses.head(f"{URL}/db/d", headers={"ETag": '"1-a"'})
    response = client.head_document("db", "d")
    assert response.get_result() is None
    assert response.get_headers()["ETag"] == '"1-a"'
    assert response.get_status_code() == 200


@responses.activate
def test_stream_variant_returns_unread_response(client: CloudantV1) -> None:
    responses.post(
        f"{URL}/db/_changes", body=b'{"results":[],"last_seq":"1"}', content_type="application/json"
    )
    result = client.post_changes_as_stream("db", include_docs=True).get_result()
    assert isinstance(result, requests.Response)
    assert result.raw is not None
    assert json.loads(b"".join(result.iter_content(4))) == {"results": [], "last_seq": "1"}


@responses.activate
def test_binary_attachment_result_is_response_and_stream_body_is_sent_raw(
    client: CloudantV1,
) -> None:
    responses.put(f"{URL}/db/d/a.bin", json={"ok": True, "id": "d", "rev": "2-b"})
    client.put_attachment(
        "db", "d", "a.bin", io.BytesIO(b"\x00\x01binary"), "application/x", rev="1-a"
    )
    call = responses.calls[0]
    body = call.request.body
    sent = body.read() if hasattr(body, "read") else body
    assert sent == b"\x00\x01binary"
    assert call.request.headers["Content-Type"] == "application/x"

    responses.get(f"{URL}/db/d/a.bin", body=b"\x00\x01", content_type="application/x")
    result = client.get_attachment("db", "d", "a.bin").get_result()
    assert isinstance(result, requests.Response)
    assert result.content == b"\x00\x01"
    assert responses.calls[1].request.headers["Accept"] == "*/*"


@responses.activate
def test_gzip_request_bodies_by_default() -> None:
    client = CloudantV1(NoAuthAuthenticator())
    client.set_service_url(URL)
    assert client.get_enable_gzip_compression() is True
    responses.post(f"{URL}/db/_find", json={"docs": []})
    client.post_find("db", {"type": "order"})
    call = responses.calls[0]
    assert call.request.headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(call.request.body)) == {"selector": {"type": "order"}}


@responses.activate
def test_gzip_streams_a_binary_body_lazily() -> None:
    client = CloudantV1(NoAuthAuthenticator())
    client.set_service_url(URL)
    responses.put(f"{URL}/db/d", json={"ok": True})
    payload = json.dumps({"_id": "d", "text": "x" * 300_000}).encode()
    client.put_document("db", "d", io.BytesIO(payload))
    body = responses.calls[0].request.body
    assert not isinstance(body, bytes | io.BytesIO)  # a generator, compressed chunk by chunk
    assert gzip.decompress(b"".join(body)) == payload


@responses.activate
def test_attachment_uploads_are_not_gzipped() -> None:
    client = CloudantV1(NoAuthAuthenticator())
    client.set_service_url(URL)
    responses.put(f"{URL}/db/d/a.png", json={"ok": True})
    client.put_attachment("db", "d", "a.png", b"\x89PNG", "image/png")
    request = responses.calls[0].request
    assert "Content-Encoding" not in request.headers
    assert request.body == b"\x89PNG"


# -- paths, ids and validation ----------------------------------------------------


@pytest.mark.parametrize(
    ("doc_id", "path"),
    [
        ("a/b", "/db/a%2Fb"),
        ("../_config", "/db/..%2F_config"),
        ("?x=1", "/db/%3Fx%3D1"),
        ("#f", "/db/%23f"),
        ("%2F", "/db/%252F"),
        ("a+b c", "/db/a%2Bb%20c"),
        ("é☃", "/db/%C3%A9%E2%98%83"),
        ("_design/x/y", "/db/_design/x%2Fy"),
        ("_local/l", "/db/_local/l"),
    ],
)
@responses.activate
def test_document_ids_are_one_path_segment(client: CloudantV1, doc_id: str, path: str) -> None:
    responses.get(re.compile(".*"), json={})
    client.get_document("db", doc_id)
    assert urlsplit(responses.calls[0].request.url).path == path


@responses.activate
def test_ddoc_with_or_without_prefix_is_the_same(client: CloudantV1) -> None:
    responses.get(f"{URL}/db/_design/app", json={})
    client.get_design_document("db", "app")
    client.get_design_document("db", "_design/app")
    assert [urlsplit(c.request.url).path for c in responses.calls] == ["/db/_design/app"] * 2


@pytest.mark.parametrize("bad", ["_all_docs", "_config", "_users"])
def test_reserved_document_ids_refused_locally(client: CloudantV1, bad: str) -> None:
    with pytest.raises(ValueError, match="reserves"):
        client.get_document("db", bad)


@pytest.mark.parametrize("bad", ["", ".", "..", "_secret", "_all_dbs", "_session"])
def test_database_names_reaching_other_endpoints_refused_locally(
    client: CloudantV1, bad: str
) -> None:
    with pytest.raises(ValueError, match=r"(must be provided|database name)"):
        client.put_database(bad)


@responses.activate
@pytest.mark.parametrize("name", ["Orders", "1db", "a b", "a?b", "orders\n", "a/../b", "_users"])
def test_other_database_names_are_the_servers_to_judge(client: CloudantV1, name: str) -> None:
    """As with the SDK: sent as one encoded segment, and CouchDB's 400 is raised as it is."""
    responses.put(
        re.compile(r".*"),
        status=400,
        json={"error": "illegal_database_name", "reason": "Name: 'x'. Only lowercase..."},
    )
    with pytest.raises(BadRequestError) as info:
        client.put_database(name)
    assert info.value.error == "illegal_database_name"
    assert urlsplit(responses.calls[0].request.url).path == "/" + quote(name, safe="")


@pytest.mark.parametrize(
    ("call", "why"),
    [
        (lambda c: c.get_document("db", "_design/"), "needs a name after '_design/'"),
        (lambda c: c.put_document("db", "_local/", {}), "needs a name after '_local/'"),
        (lambda c: c.get_local_document("db", "_local/"), "needs a name after '_local/'"),
        (lambda c: c.get_design_document("db", "_design/"), "needs a name after '_design/'"),
    ],
)
def test_prefix_without_a_name_refused_locally(client: CloudantV1, call: Any, why: str) -> None:
    with responses.RequestsMock() as mock, pytest.raises(ValueError, match=why):
        call(client)
    assert len(mock.calls) == 0


@pytest.mark.parametrize(
    ("send", "where"),
    [
        (lambda c: c.post_document("db", {"n": 5e-324}), "['n']"),
        (
            lambda c: c.put_document("db", "x", {"a": [1.0, {"b": -2.2250738585072e-308}]}),
            "['a'][1]['b']",
        ),
        (lambda c: c.post_bulk_docs("db", {"docs": [{"v": [1e-320]}]}), "['docs'][0]['v'][0]"),
    ],
)
def test_subnormal_floats_refused_locally(client: CloudantV1, send: Any, where: str) -> None:
    # CouchDB 3.4 stores 5e-324 as 0: sent, the value would silently change.
    with responses.RequestsMock() as mock:
        with pytest.raises(ValueError, match=f"subnormal float at {re.escape(where)} "):
            send(client)
        assert len(mock.calls) == 0


@responses.activate
def test_tiny_normal_floats_and_lookalike_strings_are_sent(client: CloudantV1) -> None:
    responses.post(f"{URL}/db", json={"ok": True, "id": "x", "rev": "1-a"})
    body = {"smallest_normal": 2.2250738585072014e-308, "n": 3e-308, "text": "1e-310"}
    client.post_document("db", body)
    assert json.loads(responses.calls[0].request.body) == body


def test_missing_required_values(client: CloudantV1) -> None:
    with pytest.raises(ValueError, match="doc_id must be provided"):
        client.get_document("db", "")
    with pytest.raises(ValueError, match="document must be provided"):
        client.put_document("db", "x", None)
    with pytest.raises(TypeError):
        client.get_document("db")


@pytest.mark.parametrize("bad", [{"n": float("nan")}, {"n": [float("inf")]}, {"o": object()}])
def test_unserialisable_bodies_refused_locally(client: CloudantV1, bad: dict[str, Any]) -> None:
    with responses.RequestsMock() as mock:  # nothing may be sent
        with pytest.raises(ValueError, match="JSON"):
            client.post_document("db", bad)
        assert len(mock.calls) == 0


def test_unknown_keyword_is_an_error(client: CloudantV1) -> None:
    with pytest.raises(TypeError, match="includ_docs"):
        client.post_all_docs("db", includ_docs=True)


# -- beyond the SDK ---------------------------------------------------------------


@responses.activate
def test_custom_filter_parameters(client: CloudantV1) -> None:
    responses.post(f"{URL}/db/_changes", json={"results": [], "last_seq": "0"})
    client.post_changes("db", filter="app/by_status", filter_params={"status": "new", "n": 2})
    assert query_of(responses.calls[0]) == {
        "filter": ["app/by_status"],
        "status": ["new"],
        "n": ["2"],
    }
    with pytest.raises(ValueError, match="filter_params"):
        client.post_changes("db", filter="app/f", filter_params={"since": "now"})


@responses.activate
def test_copy_document_headers(client: CloudantV1) -> None:
    responses.add("COPY", f"{URL}/db/src", json={"ok": True, "id": "dst", "rev": "1-a"}, status=201)
    client.copy_document("db", "src", "dst")
    client.copy_document("db", "src", "dst", rev="1-x", destination_rev="3-y")
    first, second = responses.calls
    assert first.request.headers["Destination"] == b"dst"
    assert second.request.headers["Destination"] == b"dst?rev=3-y"
    assert query_of(second) == {"rev": ["1-x"]}
    with pytest.raises(ValueError, match="Destination"):
        client.copy_document("db", "src", "a?b")


@responses.activate
def test_copy_design_document_adds_prefix(client: CloudantV1) -> None:
    responses.add("COPY", f"{URL}/db/_design/app_NEW", json={"ok": True}, status=201)
    client.copy_design_document("db", "_design/app_NEW", "app", destination_rev="2-z")
    assert responses.calls[0].request.headers["Destination"] == b"_design/app?rev=2-z"


@responses.activate
def test_extra_endpoints(client: CloudantV1) -> None:
    responses.post(f"{URL}/db/_purge", json={"purged": {}})
    responses.get(f"{URL}/db/_revs_limit", body=b"1000", content_type="application/json")
    responses.put(f"{URL}/db/_revs_limit", json={"ok": True})
    responses.post(f"{URL}/db/_view_cleanup", json={"ok": True}, status=202)
    responses.post(f"{URL}/db/_compact", json={"ok": True}, status=202)
    responses.post(f"{URL}/db/_compact/app", json={"ok": True}, status=202)
    responses.post(f"{URL}/_session", json={"ok": True, "name": "bob"})
    responses.delete(f"{URL}/_session", json={"ok": True})
    client.post_purge("db", {"d": ["1-a"]})
    assert client.get_revs_limit("db").get_result() == 1000
    client.put_revs_limit("db", 50)
    client.post_view_cleanup("db")
    client.post_compact("db")
    client.post_compact("db", ddoc="_design/app")
    client.post_session("bob", "pw")
    client.delete_session()
    calls = responses.calls
    assert body_of(calls[0]) == {"d": ["1-a"]}
    assert calls[2].request.body == b"50"
    assert calls[3].request.headers["Content-Type"] == "application/json"
    assert urlsplit(calls[5].request.url).path == "/db/_compact/app"
    assert body_of(calls[6]) == {"name": "bob", "password": "pw"}


# -- errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (403, ForbiddenError),
        (404, NotFoundError),
        (409, ConflictError),
        (412, PreconditionFailedError),
        (429, TooManyRequestsError),
        (503, ServiceUnavailableError),
        (418, ApiException),
    ],
)
@responses.activate
def test_errors_are_typed(client: CloudantV1, status: int, cls: type[ApiException]) -> None:
    responses.get(
        f"{URL}/db/d",
        json={"error": "some_error", "reason": "because"},
        status=status,
        headers={"X-Couch-Request-ID": "abc123"},
    )
    with pytest.raises(cls) as info:
        client.get_document("db", "d")
    err = info.value
    assert type(err) is cls
    assert err.status_code == status
    assert err.message == "some_error: because"
    assert err.reason == "because"
    assert err.trace == "abc123"
    assert "some_error: because" in str(err)
    assert err.http_response is not None


@responses.activate
def test_non_json_error_body(client: CloudantV1) -> None:
    responses.get(f"{URL}/db/d", body="<html>Bad Gateway</html>", status=502)
    with pytest.raises(ServiceUnavailableError, match="Bad Gateway"):
        client.get_document("db", "d")


@responses.activate
def test_invalid_json_success_body(client: CloudantV1) -> None:
    responses.get(f"{URL}/db/d", body="{not json", content_type="application/json")
    with pytest.raises(ApiException, match="Error processing the HTTP response"):
        client.get_document("db", "d")


def test_configuration_errors() -> None:
    with pytest.raises(ValueError, match="authenticator must be provided"):
        CloudantV1(None)
    client = CloudantV1(NoAuthAuthenticator())
    with pytest.raises(ValueError, match="brace or quote"):
        client.set_service_url('"http://x"')
    with pytest.raises(ValueError, match="http"):
        client.set_service_url("localhost:5984")
    client.set_service_url("http://admin:secret@h:5984/")
    assert client.service_url == "http://admin:secret@h:5984"
    assert "secret" not in repr(client)


def test_disabling_tls_verification_warns_once() -> None:
    import cloudant_odm.client.transport as transport

    transport._insecure_warned = False
    client = CloudantV1(NoAuthAuthenticator())
    with pytest.warns(UserWarning, match="verification is disabled"):
        client.set_disable_ssl_verification(True)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        CloudantV1(NoAuthAuthenticator()).set_disable_ssl_verification(True)


# -- what the local server can't do: exact requests against CouchDB's documented shapes --


@responses.activate
def test_design_document_info_request_and_result(client: CloudantV1) -> None:
    info = {
        "name": "app",
        "view_index": {
            "signature": "a9b8c7",
            "updater_running": False,
            "compact_running": False,
            "language": "javascript",
            "purge_seq": 0,
            "update_seq": "12-g1AAAA",
            "waiting_clients": 0,
            "waiting_commit": False,
            "sizes": {"active": 100, "external": 50, "file": 200},
        },
    }
    responses.get(f"{URL}/db/_design/app/_info", json=info)
    assert client.get_design_document_information("db", "_design/app").get_result() == info
    assert responses.calls[0].request.headers["Accept"] == "application/json"


@responses.activate
def test_changes_design_and_selector_filters(client: CloudantV1) -> None:
    responses.post(f"{URL}/db/_changes", json={"results": [], "last_seq": "1-x", "pending": 0})
    client.post_changes("db", filter="_design")
    client.post_changes("db", filter="_selector", selector={"status": {"$eq": "new"}})
    client.post_changes("db", filter="_view", view="app/by_status", since="now", limit=5)
    design, selector, view = responses.calls
    assert query_of(design) == {"filter": ["_design"]}
    assert body_of(design) == {}  # as the SDK: a POST always carries a JSON object
    assert query_of(selector) == {"filter": ["_selector"]}
    assert body_of(selector) == {"selector": {"status": {"$eq": "new"}}}
    assert query_of(view) == {
        "filter": ["_view"],
        "view": ["app/by_status"],
        "since": ["now"],
        "limit": ["5"],
    }


@responses.activate
def test_partition_queries(client: CloudantV1) -> None:
    base = f"{URL}/db/_partition/store-42"
    responses.post(f"{base}/_find", json={"docs": [], "bookmark": "nil"})
    responses.post(f"{base}/_all_docs", json={"rows": [], "total_rows": 0})
    responses.post(f"{base}/_design/app/_view/by_day", json={"rows": []})
    responses.post(f"{base}/_design/app/_search/idx", json={"total_rows": 0, "rows": []})
    responses.get(base, json={"db_name": "db", "partition": "store-42", "doc_count": 3})
    client.post_partition_find("db", "store-42", {"type": "order"}, limit=10, bookmark="b1")
    client.post_partition_all_docs("db", "store-42", include_docs=True)
    client.post_partition_view("db", "store-42", "app", "by_day", key="2026-11-23")
    client.post_partition_search("db", "store-42", "app", "idx", "name:bob", limit=5)
    assert client.get_partition_information("db", "store-42").get_result()["doc_count"] == 3
    find, all_docs, view, search, _ = responses.calls
    assert body_of(find) == {"selector": {"type": "order"}, "limit": 10, "bookmark": "b1"}
    assert body_of(all_docs) == {"include_docs": True}
    assert body_of(view) == {"key": "2026-11-23"}
    assert body_of(search) == {"query": "name:bob", "limit": 5}
    with pytest.raises(ValueError, match="Partition key"):
        client.post_partition_find("db", "_bad", {})


@responses.activate
def test_search_request(client: CloudantV1) -> None:
    responses.post(
        f"{URL}/db/_design/app/_search/fulltext",
        json={
            "total_rows": 1,
            "bookmark": "g1",
            "rows": [{"id": "a", "order": [1.0, 0], "fields": {}}],
            "counts": {"status": {"new": 1}},
        },
    )
    result = client.post_search(
        "db",
        "app",
        "fulltext",
        "customer:bob*",
        counts=["status"],
        include_docs=True,
        drilldown=[["status", "new"]],
        limit=10,
    ).get_result()
    assert result["counts"] == {"status": {"new": 1}}
    assert body_of(responses.calls[0]) == {
        "query": "customer:bob*",
        "counts": ["status"],
        "include_docs": True,
        "drilldown": [["status", "new"]],
        "limit": 10,
    }


@responses.activate
def test_sdk_enum_members_are_sent_as_their_values(client: CloudantV1) -> None:
    from cloudant_odm.client import (
        ChangesFeed,
        DeleteIndexEnums,
        GetLocalDocumentEnums,
        GetSchedulerDocsEnums,
        PostChangesEnums,
    )

    responses.post(re.compile(r".*/_changes.*"), json={"results": [], "last_seq": "0"})
    responses.get(re.compile(r".*/_scheduler/docs.*"), json={"docs": [], "total_rows": 0})
    responses.delete(re.compile(r".*/_index/.*"), json={"ok": True})
    responses.get(re.compile(r".*/_local/.*"), json={"_id": "_local/x"})
    client.post_changes(
        "db", feed=PostChangesEnums.Feed.LONGPOLL, style=PostChangesEnums.Style.ALL_DOCS
    )
    client.get_scheduler_docs(
        states=[GetSchedulerDocsEnums.States.RUNNING, GetSchedulerDocsEnums.States.FAILED]
    )
    client.delete_index("db", "ddoc", DeleteIndexEnums.Type.JSON, "by-name")
    client.get_local_document("db", "x", accept=GetLocalDocumentEnums.Accept.APPLICATION_JSON)
    changes, scheduler, index, local = (c.request for c in responses.calls)
    assert parse_qs(urlsplit(changes.url).query) == {"feed": ["longpoll"], "style": ["all_docs"]}
    assert parse_qs(urlsplit(scheduler.url).query) == {"states": ["running,failed"]}
    assert urlsplit(index.url).path == "/db/_index/_design/ddoc/json/by-name"
    assert local.headers["Accept"] == "application/json"
    assert PostChangesEnums.Feed is ChangesFeed  # one choice set, shared


@pytest.mark.parametrize(
    "body",
    [
        {"n": float("nan")},
        Document(id="d", n=float("inf")),
        BulkDocs(docs=[Document(id="d", n=[float("-inf")])]),
    ],
)
def test_non_finite_numbers_are_named_in_dicts_and_models_alike(
    client: CloudantV1, body: Any
) -> None:
    with responses.RequestsMock() as mock, pytest.raises(ValueError, match="NaN or Infinity"):
        client.post_document("db", body)
    assert len(mock.calls) == 0

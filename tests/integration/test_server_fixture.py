"""The test-server fixtures themselves, with plain ``requests`` (no cloudant_odm)."""

from __future__ import annotations

import base64
import gzip
import json
import socket
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from _server import (
    POUCHDB_GAPS,
    ServerConfig,
    config_from_env,
    eventually,
    is_pouchdb,
    pouchdb_skip_reason,
    skip_on_pouchdb,
    unique_db_name,
)

TIMEOUT = 30


def assert_alive(server_url: str, session: requests.Session) -> None:
    response = session.get(server_url + "/", timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    assert isinstance(response.json(), dict)


def test_put_and_get_document(server_url: str, db_name: str, server_http: requests.Session) -> None:
    doc_url = f"{server_url}/{db_name}/hello"
    created = server_http.put(doc_url, json={"greeting": "hi", "n": 1}, timeout=TIMEOUT)
    assert created.status_code in (201, 202), created.text
    body = created.json()
    assert body["ok"] is True
    assert body["id"] == "hello"
    rev = body["rev"]
    assert rev.startswith("1-")

    fetched = server_http.get(doc_url, timeout=TIMEOUT)
    assert fetched.status_code == 200
    assert fetched.json() == {"_id": "hello", "_rev": rev, "greeting": "hi", "n": 1}

    def counted() -> None:  # (one copy per shard range: eventually on a cluster)
        info = server_http.get(f"{server_url}/{db_name}", timeout=TIMEOUT).json()
        assert info["db_name"] == db_name
        assert info["doc_count"] == 1

    eventually(counted)


def test_db_name_is_fresh(server_url: str, db_name: str, server_http: requests.Session) -> None:
    assert db_name.startswith("cloudant-odm-test-")
    info = server_http.get(f"{server_url}/{db_name}", timeout=TIMEOUT).json()
    assert info["doc_count"] == 0
    names = {unique_db_name() for _ in range(50)}
    assert len(names) == 50
    assert all(name[0].isalpha() and name == name.lower() for name in names)


@pytest.fixture
def only_the_launcher(server_config: ServerConfig) -> None:
    """For tests of the local PouchDB launcher's own behaviour (its error texts, its
    emulated statistics), which a real CouchDB or Cloudant answers differently."""
    if server_config.external:
        pytest.skip("tests the local PouchDB launcher itself, not the server in CLOUDANT_URL")


@pytest.mark.usefixtures("only_the_launcher")
def test_server_survives_malformed_requests(
    server_url: str, db_name: str, server_http: requests.Session
) -> None:
    json_headers = {"Content-Type": "application/json"}

    # Malformed JSON body: a CouchDB-style 400.
    bad_json = server_http.put(
        f"{server_url}/{db_name}/broken", data=b'{"a": ', headers=json_headers, timeout=TIMEOUT
    )
    assert bad_json.status_code == 400
    assert bad_json.json()["error"] == "bad_request"

    # Wrong shapes that make PouchDB Server's routes throw: an error object, never a hang.
    wrong_shape = server_http.post(
        f"{server_url}/{db_name}/_bulk_docs", json={"docs": 5}, timeout=TIMEOUT
    )
    assert wrong_shape.status_code in (400, 500)
    assert {"error", "reason"} <= set(wrong_shape.json())

    garbage_multipart = server_http.put(
        f"{server_url}/{db_name}/multi",
        data=b"not really multipart",
        headers={"Content-Type": "multipart/related; boundary=xyz"},
        timeout=TIMEOUT,
    )
    assert 400 <= garbage_multipart.status_code < 600

    # Unknown endpoint and a URL that cannot be percent-decoded.
    unknown = server_http.get(f"{server_url}/{db_name}/_no_such_endpoint", timeout=TIMEOUT)
    assert 400 <= unknown.status_code < 500
    bad_escape = server_http.get(f"{server_url}/{db_name}/%zz", timeout=TIMEOUT)
    assert 400 <= bad_escape.status_code < 500

    # Not HTTP at all (local plain-HTTP servers only).
    parts = urlsplit(server_url)
    if parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost"):
        with socket.create_connection((parts.hostname, parts.port or 80), timeout=TIMEOUT) as raw:
            raw.sendall(b"THIS IS NOT HTTP\r\n\r\n")
            reply = raw.recv(1024)
        assert reply == b"" or reply.startswith(b"HTTP/1.1 400")

    # Still alive, and still working.
    assert_alive(server_url, server_http)
    ok = server_http.put(f"{server_url}/{db_name}/after", json={"still": "ok"}, timeout=TIMEOUT)
    assert ok.status_code in (201, 202), ok.text


def test_server_info(server_info: dict[str, Any], is_pouchdb: bool, server_config: Any) -> None:
    assert isinstance(server_info, dict)
    if server_config.source == "launched":
        assert is_pouchdb
    if is_pouchdb:
        assert server_info["vendor"]["name"] == "PouchDB authors"
    else:
        assert "couchdb" in server_info


@skip_on_pouchdb("partitions")
def test_skip_on_pouchdb_marker(server_url: str, server_http: requests.Session) -> None:
    # Runs against CouchDB / Cloudant only.
    name = unique_db_name()
    created = server_http.put(f"{server_url}/{name}?partitioned=true", timeout=TIMEOUT)
    try:
        assert created.status_code in (201, 202), created.text
        info = server_http.get(f"{server_url}/{name}", timeout=TIMEOUT).json()
        assert info["props"]["partitioned"] is True
    finally:
        server_http.delete(f"{server_url}/{name}", timeout=TIMEOUT)


def test_requires_fixture(requires: Any, is_pouchdb: bool) -> None:
    requires("search")
    assert not is_pouchdb


# CouchDB behaviour that the launcher (scripts/couch-server/server.js) shims on top of
# express-pouchdb; see "Launcher shims" in docs/compatibility.md. Written against the
# CouchDB API, so these pass on CouchDB / Cloudant too.


def gzipped_json(body: Any) -> dict[str, Any]:
    """``requests`` keyword arguments for a gzip-compressed JSON body (as the client sends)."""
    return {
        "data": gzip.compress(json.dumps(body).encode("utf-8")),
        "headers": {"Content-Type": "application/json", "Content-Encoding": "gzip"},
    }


def put_json(session: requests.Session, url: str, body: Any) -> str:
    response = session.put(url, json=body, timeout=TIMEOUT)
    assert response.status_code in (201, 202), response.text
    rev: str = response.json()["rev"]
    return rev


def current_rev(session: requests.Session, url: str) -> str:
    response = session.get(url, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    rev: str = response.json()["_rev"]
    return rev


VIEW_DDOC = {"views": {"by_n": {"map": "function (doc) { if (doc.n) { emit(doc.n, null); } }"}}}


def test_design_document_routes(
    server_url: str, db_name: str, server_http: requests.Session
) -> None:
    ddoc_url = f"{server_url}/{db_name}/_design/app"
    rev = put_json(server_http, ddoc_url, VIEW_DDOC)
    put_json(server_http, f"{server_url}/{db_name}/one", {"n": 1})

    assert server_http.head(ddoc_url, timeout=TIMEOUT).status_code == 200
    assert server_http.get(ddoc_url, timeout=TIMEOUT).json()["views"] == VIEW_DDOC["views"]
    rows = server_http.get(f"{ddoc_url}/_view/by_n", timeout=TIMEOUT).json()["rows"]
    assert [(row["id"], row["key"]) for row in rows] == [("one", 1)]

    rev = put_json(server_http, f"{ddoc_url}?rev={rev}", {**VIEW_DDOC, "language": "javascript"})
    deleted = server_http.delete(f"{ddoc_url}?rev={rev}", timeout=TIMEOUT)
    assert deleted.status_code in (200, 202), deleted.text
    assert server_http.head(ddoc_url, timeout=TIMEOUT).status_code == 404


def test_copy_design_document(server_url: str, db_name: str, server_http: requests.Session) -> None:
    db_url = f"{server_url}/{db_name}"
    first = put_json(server_http, f"{db_url}/_design/app", VIEW_DDOC)
    put_json(
        server_http, f"{db_url}/_design/app?rev={first}", {**VIEW_DDOC, "language": "javascript"}
    )

    def copy(source: str, destination: str) -> requests.Response:
        return server_http.request(
            "COPY", f"{db_url}/{source}", headers={"Destination": destination}, timeout=TIMEOUT
        )

    # Plain: the current revision.
    plain = copy("_design/app", "_design/app_old")
    assert plain.status_code in (201, 202), plain.text
    assert plain.json()["ok"] is True
    assert server_http.get(f"{db_url}/_design/app_old", timeout=TIMEOUT).json()["language"] == (
        "javascript"
    )

    # ?rev= on the source: that revision's body.
    old_rev = copy(f"_design/app?rev={first}", "_design/app_v1")
    assert old_rev.status_code in (201, 202), old_rev.text
    assert "language" not in server_http.get(f"{db_url}/_design/app_v1", timeout=TIMEOUT).json()

    # Over an existing destination: 409 without its rev, a new revision with it.
    assert copy("_design/app_v1", "_design/app_old").status_code == 409
    target_rev = current_rev(server_http, f"{db_url}/_design/app_old")
    over = copy("_design/app_v1", f"_design/app_old?rev={target_rev}")
    assert over.status_code in (201, 202), over.text
    replaced = server_http.get(f"{db_url}/_design/app_old", timeout=TIMEOUT).json()
    assert "language" not in replaced
    assert replaced["_rev"].startswith("2-")

    # A design document can be copied to a plain document id too.
    assert copy("_design/app", "plain_copy").status_code in (201, 202)
    assert server_http.get(f"{db_url}/plain_copy", timeout=TIMEOUT).json()["views"]

    missing = copy("_design/nosuch", "_design/x")
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"


def test_delete_index_by_design_document_path(
    server_url: str, db_name: str, server_http: requests.Session
) -> None:
    db_url = f"{server_url}/{db_name}"
    for field in ("a", "b", "c"):
        created = server_http.post(
            f"{db_url}/_index",
            json={"index": {"fields": [field]}, "ddoc": "idx", "name": f"{field}-idx"},
            timeout=TIMEOUT,
        )
        assert created.status_code == 200, created.text

    def index_names() -> set[str]:
        indexes = server_http.get(f"{db_url}/_index", timeout=TIMEOUT).json()["indexes"]
        return {index["name"] for index in indexes if index["ddoc"] == "_design/idx"}

    def listed() -> None:  # the listing reads one copy: eventually
        assert index_names() == {"a-idx", "b-idx", "c-idx"}

    eventually(listed)
    # As the client sends it (_design/ in the path), the bare ddoc name, and %2F.
    for path, name in (
        ("_design/idx/json/a-idx", "a-idx"),
        ("idx/json/b-idx", "b-idx"),
        ("_design%2Fidx/json/c-idx", "c-idx"),
    ):
        deleted = server_http.delete(f"{db_url}/_index/{path}", timeout=TIMEOUT)
        assert deleted.status_code == 200, (path, deleted.text)
        assert deleted.json() == {"ok": True}

        def gone(name: str = name) -> None:  # the listing reads one copy: eventually
            assert name not in index_names()

        eventually(gone)
    eventually(lambda: assert_empty(index_names()))


def assert_empty(found: set[str]) -> None:
    assert found == set()


def seed_numbered(server_url: str, db_name: str, session: requests.Session, count: int) -> None:
    docs = [{"_id": f"doc{n:03d}", "n": n, "odd": n % 2 == 1} for n in range(count)]
    response = session.post(
        f"{server_url}/{db_name}/_bulk_docs", json={"docs": docs}, timeout=TIMEOUT
    )
    assert response.status_code in (201, 202), response.text
    assert all("error" not in row for row in response.json())

    def all_changed() -> None:  # on a cluster, every copy has them a moment later
        listed = session.get(f"{server_url}/{db_name}/_changes", timeout=TIMEOUT)
        assert len(changed_ids(listed)) == count

    eventually(all_changed, consecutive=5)


def changed_ids(response: requests.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return sorted(row["id"] for row in response.json()["results"])


def test_changes_selector_in_post_body(
    server_url: str, db_name: str, server_http: requests.Session
) -> None:
    seed_numbered(server_url, db_name, server_http, 6)
    changes_url = f"{server_url}/{db_name}/_changes"

    plain = server_http.post(
        changes_url,
        params={"filter": "_selector"},
        json={"selector": {"n": {"$lt": 2}}},
        timeout=TIMEOUT,
    )
    assert changed_ids(plain) == ["doc000", "doc001"]

    compressed = server_http.post(
        changes_url,
        params={"filter": "_selector", "include_docs": "true"},
        timeout=TIMEOUT,
        **gzipped_json({"selector": {"odd": True, "n": {"$gt": 1}}}),
    )
    assert changed_ids(compressed) == ["doc003", "doc005"]
    assert {row["doc"]["n"] for row in compressed.json()["results"]} == {3, 5}

    # Like CouchDB: the selector has to be a JSON object in the body.
    for body in ({}, {"selector": ["n"]}):
        bad = server_http.post(
            changes_url, params={"filter": "_selector"}, json=body, timeout=TIMEOUT
        )
        assert bad.status_code == 400, bad.text
        assert bad.json()["error"] == "bad_request"

    # Without filter=_selector a selector in the body filters nothing.
    unfiltered = server_http.post(changes_url, json={"selector": {"n": 0}}, timeout=TIMEOUT)
    assert len(changed_ids(unfiltered)) == 6


def test_changes_doc_ids_in_post_body(
    server_url: str, db_name: str, server_http: requests.Session
) -> None:
    seed_numbered(server_url, db_name, server_http, 6)
    changes_url = f"{server_url}/{db_name}/_changes"
    plain = server_http.post(
        changes_url,
        params={"filter": "_doc_ids"},
        json={"doc_ids": ["doc001", "doc004"]},
        timeout=TIMEOUT,
    )
    assert changed_ids(plain) == ["doc001", "doc004"]
    compressed = server_http.post(
        changes_url,
        params={"filter": "_doc_ids"},
        timeout=TIMEOUT,
        **gzipped_json({"doc_ids": ["doc002"]}),
    )
    assert changed_ids(compressed) == ["doc002"]


def create_n_index(server_url: str, db_name: str, session: requests.Session) -> None:
    response = session.post(
        f"{server_url}/{db_name}/_index",
        json={"index": {"fields": ["n"]}, "ddoc": "by-n", "name": "by-n"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text

    def usable() -> None:  # on a cluster the planning node learns of it a moment later
        sorted_find = session.post(
            f"{server_url}/{db_name}/_find",
            json={"selector": {"n": {"$gte": 0}}, "sort": [{"n": "asc"}], "limit": 1},
            timeout=TIMEOUT,
        )
        assert sorted_find.status_code == 200, sorted_find.text

    eventually(usable, consecutive=3)


FIND_BY_N: dict[str, Any] = {
    "selector": {"n": {"$gte": 0}},
    "sort": [{"n": "asc"}],
    "fields": ["_id", "n"],
    "limit": 10,
}


def test_find_bookmark_paging(server_url: str, db_name: str, server_http: requests.Session) -> None:
    seed_numbered(server_url, db_name, server_http, 25)
    create_n_index(server_url, db_name, server_http)
    find_url = f"{server_url}/{db_name}/_find"

    pages: list[list[int]] = []
    bookmark: str | None = None
    for page in range(4):
        query = dict(FIND_BY_N) if bookmark is None else {**FIND_BY_N, "bookmark": bookmark}
        if page % 2:  # every other page gzip-compressed, as the client sends it
            response = server_http.post(find_url, timeout=TIMEOUT, **gzipped_json(query))
        else:
            response = server_http.post(find_url, json=query, timeout=TIMEOUT)
        assert response.status_code == 200, response.text
        result = response.json()
        assert isinstance(result["bookmark"], str)
        assert result["bookmark"]
        pages.append([doc["n"] for doc in result["docs"]])
        bookmark = result["bookmark"]

    assert [len(page) for page in pages] == [10, 10, 5, 0]
    everything = [n for page in pages for n in page]
    assert everything == list(range(25))  # all distinct, in sort order


def test_find_bookmark_with_skip(
    server_url: str, db_name: str, server_http: requests.Session
) -> None:
    seed_numbered(server_url, db_name, server_http, 25)
    create_n_index(server_url, db_name, server_http)
    find_url = f"{server_url}/{db_name}/_find"

    first = server_http.post(find_url, json=FIND_BY_N, timeout=TIMEOUT).json()
    assert [doc["n"] for doc in first["docs"]] == list(range(10))
    # skip counts from the bookmark's position.
    skipped = server_http.post(
        find_url,
        timeout=TIMEOUT,
        **gzipped_json({**FIND_BY_N, "bookmark": first["bookmark"], "skip": 2}),
    )
    assert skipped.status_code == 200, skipped.text
    assert [doc["n"] for doc in skipped.json()["docs"]] == list(range(12, 22))
    after = server_http.post(
        find_url, json={**FIND_BY_N, "bookmark": skipped.json()["bookmark"]}, timeout=TIMEOUT
    )
    assert [doc["n"] for doc in after.json()["docs"]] == [22, 23, 24]

    # A null or empty bookmark is the first page.
    for empty in (None, ""):
        again = server_http.post(find_url, json={**FIND_BY_N, "bookmark": empty}, timeout=TIMEOUT)
        assert [doc["n"] for doc in again.json()["docs"]] == list(range(10))


def test_find_invalid_bookmark(
    server_url: str, db_name: str, server_http: requests.Session
) -> None:
    seed_numbered(server_url, db_name, server_http, 3)
    find_url = f"{server_url}/{db_name}/_find"
    made_up = base64.urlsafe_b64encode(b"not a bookmark").decode().rstrip("=")
    for bookmark in ("garbage!", made_up):
        response = server_http.post(
            find_url, json={"selector": {"n": 1}, "bookmark": bookmark}, timeout=TIMEOUT
        )
        assert response.status_code == 400, response.text
        error = response.json()
        assert error["error"] == "invalid_bookmark"
        assert error["reason"].startswith("Invalid bookmark value: ")
        assert bookmark in error["reason"]

    bad_skip = server_http.post(find_url, json={"selector": {"n": 1}, "skip": -1}, timeout=TIMEOUT)
    assert bad_skip.status_code == 400, bad_skip.text
    assert bad_skip.json()["error"] == "invalid_non_neg_integer"


@pytest.mark.usefixtures("only_the_launcher")
def test_find_execution_stats(server_url: str, db_name: str, server_http: requests.Session) -> None:
    seed_numbered(server_url, db_name, server_http, 12)
    create_n_index(server_url, db_name, server_http)
    find_url = f"{server_url}/{db_name}/_find"

    without = server_http.post(find_url, json=FIND_BY_N, timeout=TIMEOUT).json()
    assert "execution_stats" not in without

    result = server_http.post(
        find_url, timeout=TIMEOUT, **gzipped_json({**FIND_BY_N, "execution_stats": True})
    ).json()
    stats = result["execution_stats"]
    assert stats["results_returned"] == len(result["docs"]) == 10
    assert stats["total_docs_examined"] >= stats["results_returned"]
    assert stats["total_keys_examined"] >= 0
    assert stats["total_quorum_docs_examined"] >= 0
    assert isinstance(stats["execution_time_ms"], (int, float))
    assert stats["execution_time_ms"] >= 0


# Helpers, no server involved.


def test_unknown_gap_names_are_rejected() -> None:
    with pytest.raises(KeyError):
        skip_on_pouchdb("no-such-feature")
    with pytest.raises(KeyError):
        pouchdb_skip_reason(["partitions", "no-such-feature"])
    assert "partitions" in pouchdb_skip_reason(["partitions"])
    assert all(isinstance(reason, str) and reason for reason in POUCHDB_GAPS.values())


def test_config_from_env() -> None:
    assert config_from_env({}) is None
    local = config_from_env(
        {
            "CLOUDANT_TEST_SERVER_URL": "http://127.0.0.1:1234/",
            "CLOUDANT_TEST_SERVER_USERNAME": "admin",
            "CLOUDANT_TEST_SERVER_PASSWORD": "generated",
        }
    )
    assert local == ServerConfig(
        url="http://127.0.0.1:1234",
        source="CLOUDANT_TEST_SERVER_URL",
        auth_type="BASIC",
        username="admin",
        password="generated",
    )
    assert not local.external
    assert local.environment() == {
        "CLOUDANT_URL": "http://127.0.0.1:1234",
        "CLOUDANT_AUTH_TYPE": "BASIC",
        "CLOUDANT_USERNAME": "admin",
        "CLOUDANT_PASSWORD": "generated",
    }

    basic = config_from_env(
        {
            "CLOUDANT_URL": "https://example.invalid",
            "CLOUDANT_USERNAME": "u",
            "CLOUDANT_PASSWORD": "p",
            "CLOUDANT_TEST_SERVER_URL": "http://ignored",
        }
    )
    assert basic is not None
    assert basic.external
    assert (basic.url, basic.auth_type, basic.username, basic.password) == (
        "https://example.invalid",
        "BASIC",
        "u",
        "p",
    )

    iam = config_from_env({"CLOUDANT_URL": "https://x.invalid", "CLOUDANT_APIKEY": "k"})
    assert iam is not None
    assert iam.auth_type == "IAM"

    explicit = config_from_env({"CLOUDANT_URL": "http://h", "CLOUDANT_AUTH_TYPE": "noauth"})
    assert explicit is not None
    assert explicit.auth_type == "NOAUTH"


def test_is_pouchdb() -> None:
    assert is_pouchdb({"express-pouchdb": "Welcome!", "vendor": {"name": "PouchDB authors"}})
    assert not is_pouchdb(
        {"couchdb": "Welcome", "vendor": {"name": "The Apache Software Foundation"}}
    )
    assert not is_pouchdb({})

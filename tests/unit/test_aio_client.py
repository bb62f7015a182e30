"""AsyncCloudantV1 against mocked HTTP (respx): the requests it sends are the synchronous
client's (for every operation of the catalogue), and so are its errors, retries, gzip
and authentication; streams are async; the event loop never waits on a token."""

from __future__ import annotations

import asyncio
import gzip
import inspect
import json
import re
import subprocess
import sys
import time
import typing
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
import responses

httpx = pytest.importorskip("httpx", reason="the async extra is not installed")
respx = pytest.importorskip("respx", reason="respx is not installed (dev extra)")

from _scripted_server import Reply, ScriptedServer  # noqa: E402

from cloudant_odm.aio import AsyncCloudantV1, AsyncStream  # noqa: E402
from cloudant_odm.client import (  # noqa: E402
    ApiException,
    BasicAuthenticator,
    CloudantV1,
    ConflictError,
    ConnectionFailed,
    CouchDbSessionAuthenticator,
    IAMAssumeAuthenticator,
    IAMAuthenticator,
    NoAuthAuthenticator,
    ReadTimedOut,
    ResponseTooLarge,
    ServiceUnavailableError,
    TooManyRequestsError,
    UnauthorizedError,
    _catalogue,
    _generate,
)
from cloudant_odm.client.auth import Authenticator, _lifetime  # noqa: E402

pytestmark = pytest.mark.anyio

URL = "http://couch.test"
IAM = "https://iam.test"
# Headers that belong to each library's framing of the request, not to the request the
# client means to send: compared apart (Content-Length), or not at all.
FRAMING = frozenset({"host", "content-length", "transfer-encoding"})


def _jwt(exp: float, iat: float) -> str:
    import base64

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none'})}.{part({'exp': exp, 'iat': iat})}.sig"


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


def async_client(authenticator: Authenticator | None = None) -> AsyncCloudantV1:
    client = AsyncCloudantV1(authenticator or NoAuthAuthenticator())
    client.set_service_url(URL)
    return client


def sync_client(authenticator: Authenticator | None = None) -> CloudantV1:
    client = CloudantV1(authenticator or NoAuthAuthenticator())
    client.set_service_url(URL)
    return client


# -- the same requests as the synchronous client, for every operation ---------------------

# A value for each type the catalogue gives a parameter (the dict form of a model, a
# plausible member of an enum).
_SAMPLES: dict[str, Any] = {
    "str": "v a/é",
    "bool": True,
    "int": 7,
    "object": ["k", 1],
    "list[Any]": [["a"], 2],
    "list[str]": ["a", "b c"],
    "list[list[str]]": [["a", "b"]],
    "list[dict[str, str] | str]": [{"n": "asc"}, "m"],
    "dict[str, Any]": {"k": "v", "n": [1, 2.5]},
    "dict[str, list[str]]": {"d": ["1-a"]},
    "bytes | IO[bytes]": b"\x00binary",
    "Mapping[str, Any]": {"custom": "x y", "n": 3},
    "Sequence[str]": ["events"],
    "int | None": 3,
}
_BY_NAME: dict[str, Any] = {
    "db": "db-1",
    "doc_id": "doc 1/é",
    "ddoc": "dd",
    "view": "v",
    "index": "ix",
    "attachment_name": "a b.txt",
    "partition_key": "p1",
    "job_id": "job",
    "content_type": "application/json",
    "accept": "application/json",
    "feed": "longpoll",
    "style": "all_docs",
    "batch": "ok",
    "type": "json",
    "states": ["running"],
    "since": "now",
    "revs_limit": 9,
}


def sample(op: Any, name: str) -> Any:
    if name in _BY_NAME:
        return _BY_NAME[name]
    annotation = _generate.parameter_type(op, name)
    if annotation in _SAMPLES:
        return _SAMPLES[annotation]
    if "dict[str, Any]" in annotation:  # a model, or its dict
        return [{"id": "a"}] if annotation.startswith("Sequence") else {"_id": "x", "n": 1}
    raise LookupError(f"no sample for {op.name}({name}: {annotation})")


def _calls(full: bool) -> list[tuple[str, tuple[Any, ...], dict[str, Any]]]:
    calls = []
    for name, op in _catalogue.OPERATIONS.items():
        args = tuple(sample(op, n) for n in op.required)
        kwargs: dict[str, Any] = {"headers": {"X-Trace": "t1"}}
        if full:
            kwargs.update({n: sample(op, n) for n in op.parameters[len(op.required) :]})
        if "timeout" not in op.parameters:
            kwargs["timeout"] = 12.5
        calls.append((name, args, kwargs))
    return calls


CALLS = [
    pytest.param(*call, id=f"{call[0]}-{how}")
    for how in ("required", "all")
    for call in _calls(how == "all")
]


def _text(value: str | bytes) -> str:
    """A header's name or value as the text of the bytes that go out (Latin-1)."""
    return value.decode("latin-1") if isinstance(value, bytes) else value


def _shape(
    method: str, url: str, headers: Iterable[tuple[Any, Any]], body: bytes | None
) -> dict[str, Any]:
    """What a request means, from its header pairs as they go out (bytes or text)."""
    parts = urlsplit(url)
    pairs = [(_text(k).lower(), _text(v)) for k, v in headers]
    lowered = {k: v for k, v in pairs if k not in FRAMING}
    if body and lowered.get("content-encoding") == "gzip":
        body = gzip.decompress(body)
    return {
        "method": method,
        "path": parts.path,
        "query": sorted(parse_qsl(parts.query, keep_blank_values=True)),
        "headers": lowered,
        "body": body or None,
    }


@pytest.mark.parametrize(("name", "args", "kwargs"), CALLS)
async def test_the_async_client_sends_what_the_sync_client_sends(
    mock: respx.MockRouter, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    op = _catalogue.OPERATIONS[name]
    # The method the request goes out with (a Compound's is its routed Op's).
    keywords = op.parameters[len(op.required) :]
    method = op.request({}, *args, *(kwargs.get(n) for n in keywords)).method
    reply: dict[str, Any] = {} if method == "HEAD" else {"json": {"ok": True}}
    authenticator = BasicAuthenticator("alice", "secret")
    with responses.RequestsMock() as rsps:
        rsps.add(method, re.compile(".*"), **reply)
        getattr(sync_client(authenticator), name)(*args, **kwargs)
        sent = rsps.calls[0].request
    want = _shape(sent.method or "", sent.url or "", sent.headers.items(), sent.body)

    route = mock.route().mock(return_value=httpx.Response(200, **reply))
    async with async_client(authenticator) as client:
        result = (await getattr(client, name)(*args, **kwargs)).get_result()
        if isinstance(result, AsyncStream):
            await result.aclose()
    request = route.calls.last.request
    got = _shape(request.method, str(request.url), request.headers.raw, request.content)
    assert got == want
    # The per-call timeout (12.5 s) reaches httpx.
    if "timeout" not in op.parameters:
        assert request.extensions["timeout"]["read"] == 12.5


async def test_bodies_streamed_from_a_file_are_sent_whole_and_gzipped(
    mock: respx.MockRouter,
) -> None:
    import io

    route = mock.put(f"{URL}/db/doc").mock(return_value=httpx.Response(201, json={"ok": True}))
    data = b'{"big": "' + b"x" * 200_000 + b'"}'
    async with async_client() as client:
        await client.put_document("db", "doc", io.BytesIO(data))
    request = route.calls.last.request
    assert request.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(request.content) == data


# -- the same methods and signatures --------------------------------------------------------

# Where the two clients differ on purpose: the HTTP client is each one's own library's.
_OWN_TYPES = {"set_http_client", "get_http_client"}


def _name(annotation: Any) -> str:
    """An annotation as written (generated modules have no postponed annotations)."""
    return annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")


def _public(cls: type) -> dict[str, Any]:
    return {n: getattr(cls, n) for n in dir(cls) if not n.startswith("_")}


def test_every_public_sync_method_has_an_async_counterpart_with_its_parameters() -> None:
    sync, aio = _public(CloudantV1), _public(AsyncCloudantV1)
    assert set(sync) <= set(aio), set(sync) - set(aio)
    compared = 0
    for name, member in sync.items():
        if not callable(member) or inspect.isclass(member):
            assert not callable(aio[name]) or inspect.isclass(aio[name]), name
            continue
        sync_sig, aio_sig = inspect.signature(member), inspect.signature(aio[name])
        assert list(sync_sig.parameters) == list(aio_sig.parameters), name
        for param, theirs in zip(
            sync_sig.parameters.values(), aio_sig.parameters.values(), strict=True
        ):
            assert (param.kind, param.default) == (theirs.kind, theirs.default), (name, param)
            if name not in _OWN_TYPES:
                assert param.annotation == theirs.annotation, (name, param)
        returns_response = _name(sync_sig.return_annotation) == "DetailedResponse"
        # Every call that does I/O is a coroutine; configuration is not.
        if returns_response or name == "close":
            assert inspect.iscoroutinefunction(aio[name]), name
            if returns_response:
                assert _name(aio_sig.return_annotation) == "DetailedResponse", name
            compared += 1
        elif name not in _OWN_TYPES:
            assert not inspect.iscoroutinefunction(aio[name]), name
            assert sync_sig.return_annotation == aio_sig.return_annotation, name
    assert compared > len(_catalogue.OPERATIONS) // 2


@pytest.mark.parametrize("cls", [CloudantV1, AsyncCloudantV1])
def test_every_operation_is_the_catalogues(cls: type) -> None:
    """Each client's operations (its methods returning a ``DetailedResponse``) are the
    catalogue's generated ones, none written by hand beside them: so the request test
    above covers every operation of both clients."""
    operations = {
        name
        for name, member in _public(cls).items()
        if callable(member)
        and _name(inspect.signature(member).return_annotation) == "DetailedResponse"
    }
    assert operations == set(_catalogue.OPERATIONS)
    generated = cls.__mro__[1]  # _methods.Operations / AsyncOperations
    assert all(getattr(cls, name) is generated.__dict__[name] for name in operations)


def test_the_async_operations_resolve_to_the_sync_types() -> None:
    for name in ("get_document", "post_changes", "put_attachment", "copy_document"):
        sync_hints = typing.get_type_hints(getattr(CloudantV1, name))
        aio_hints = typing.get_type_hints(getattr(AsyncCloudantV1, name))
        assert sync_hints == aio_hints, name


def test_generated_async_methods_are_up_to_date() -> None:
    assert _generate.ASYNC.target.read_text() == _generate.render(_generate.ASYNC), (
        f"run `{_generate.COMMAND}`"
    )
    assert _generate.main(["--check"]) == 0


# -- errors ----------------------------------------------------------------------------------

ERROR_REPLIES = [
    (404, {"error": "not_found", "reason": "missing"}, {}),
    (409, {"error": "conflict", "reason": "Document update conflict."}, {"X-Request-ID": "r-1"}),
    (401, {"error": "unauthorized", "reason": "Name or password is incorrect."}, {}),
    (400, {"errors": [{"code": "bad", "message": "bad thing"}], "trace": "t-9"}, {}),
    (500, None, {}),
    (418, {"message": "short and stout"}, {}),
]


@pytest.mark.parametrize(("status", "body", "headers"), ERROR_REPLIES)
async def test_errors_are_the_sync_clients(
    mock: respx.MockRouter, status: int, body: Any, headers: dict[str, str]
) -> None:
    reply: dict[str, Any] = {"json": body} if body is not None else {"content": b"oops"}
    with responses.RequestsMock() as rsps:
        sync_reply = reply if body is not None else {"body": b"oops"}
        rsps.get(f"{URL}/db/doc", status=status, headers=headers, **sync_reply)
        with pytest.raises(ApiException) as sync_error:
            sync_client().get_document("db", "doc")
    mock.get(f"{URL}/db/doc").mock(return_value=httpx.Response(status, headers=headers, **reply))
    async with async_client() as client:
        with pytest.raises(ApiException) as async_error:
            await client.get_document("db", "doc")
    want, got = sync_error.value, async_error.value
    assert type(got) is type(want)
    assert (str(got), got.error, got.reason, got.trace) == (
        str(want),
        want.error,
        want.reason,
        want.trace,
    )
    assert isinstance(got.http_response, httpx.Response)
    if body is not None and status < 500:
        assert json.loads(got.http_response.content) == json.loads(want.http_response.content)


async def test_an_async_error_pickles_without_credentials(mock: respx.MockRouter) -> None:
    import pickle

    mock.get(f"{URL}/db/doc").mock(
        return_value=httpx.Response(409, json={"error": "conflict", "reason": "no"})
    )
    async with async_client(BasicAuthenticator("alice", "pw-secret")) as client:
        with pytest.raises(ConflictError) as caught:
            await client.get_document("db", "doc")
    copy = pickle.loads(pickle.dumps(caught.value))
    assert isinstance(copy, ConflictError)
    assert str(copy) == str(caught.value)
    assert copy.http_response is not None
    assert copy.http_response.status_code == 409
    assert "Authorization" not in copy.http_response.request.headers


async def test_bad_input_is_refused_before_anything_is_sent(mock: respx.MockRouter) -> None:
    async with async_client() as client:
        with pytest.raises(ValueError, match="reserves"):
            await client.get_document("db", "_bad")
        with pytest.raises(TypeError, match="revv"):
            await client.get_document("db", "doc", revv="1")  # type: ignore[call-arg]
        with pytest.raises(ValueError, match="NaN"):
            await client.post_document("db", {"n": float("nan")})
        with pytest.raises(ValueError, match="not per call"):
            await client.get_document("db", "doc", verify=False)
    assert not mock.calls


async def test_redirects_are_refused(mock: respx.MockRouter) -> None:
    mock.get(f"{URL}/db/doc").mock(
        return_value=httpx.Response(302, headers={"Location": "http://evil.test/x"})
    )
    async with async_client() as client:
        with pytest.raises(ApiException, match="redirects are not followed"):
            await client.get_document("db", "doc")
    assert len(mock.calls) == 1


# -- retries ---------------------------------------------------------------------------------


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The delays the clients wait between attempts (neither really waits)."""
    seen: list[float] = []
    real_sleep = asyncio.sleep

    async def fake_sleep(delay: float, *args: Any) -> None:
        seen.append(delay)
        await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    monkeypatch.setattr(time, "sleep", seen.append)
    return seen


C = typing.TypeVar("C", CloudantV1, AsyncCloudantV1)


def retrying(cls: type[C], server: ScriptedServer, max_retries: int, retry_interval: float) -> C:
    """A client of ``cls`` for ``server``, with retries on."""
    client = cls(NoAuthAuthenticator())
    client.set_service_url(server.url)
    client.enable_retries(max_retries=max_retries, retry_interval=retry_interval)
    return client


async def test_retries_honour_retry_after_as_the_sync_client_does(waits: list[float]) -> None:
    """Over real sockets (mocks would bypass urllib3's Retry under the sync client)."""
    replies: list[Reply] = [
        (429, {"Retry-After": "3"}, b"{}"),
        (503, {}, b"{}"),
        (500, {"Retry-After": "120"}, b"{}"),
        (503, {}, b"{}"),
        (200, {"Content-Type": "application/json"}, b'{"ok": true}'),
    ]
    seen: dict[str, list[float]] = {}
    for kind in ("sync", "async"):
        server = ScriptedServer(replies)
        try:
            if kind == "sync":
                client = retrying(CloudantV1, server, max_retries=4, retry_interval=10)
                assert client.get_document("db", "doc").get_result() == {"ok": True}
            else:
                aclient = retrying(AsyncCloudantV1, server, max_retries=4, retry_interval=10)
                async with aclient:
                    result = (await aclient.get_document("db", "doc")).get_result()
                assert result == {"ok": True}
            assert len(server.requests) == 5
        finally:
            server.close()
        seen[kind], waits[:] = list(waits), []
    # Retry-After 3 s, the back-off (2 s), Retry-After capped at retry_interval, back-off.
    assert seen["async"] == seen["sync"] == [3.0, 2.0, 10.0, 8.0]


async def test_when_retries_run_out_the_last_answer_is_the_error(
    mock: respx.MockRouter, waits: list[float]
) -> None:
    mock.get(f"{URL}/db/doc").mock(
        return_value=httpx.Response(503, json={"error": "unavailable", "reason": "busy"})
    )
    async with async_client() as client:
        client.enable_retries(max_retries=2, retry_interval=1)
        with pytest.raises(ServiceUnavailableError, match="busy"):
            await client.get_document("db", "doc")
    assert len(mock.calls) == 3
    assert waits == [1.0]  # the first retry is at once, then the back-off (capped)


async def test_retries_off_send_once(mock: respx.MockRouter) -> None:
    mock.get(f"{URL}/db/doc").mock(
        return_value=httpx.Response(429, headers={"Retry-After": "1"}, json={"error": "x"})
    )
    async with async_client() as client:
        with pytest.raises(TooManyRequestsError):
            await client.get_document("db", "doc")
    assert len(mock.calls) == 1


def _closed_port() -> str:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


async def test_connection_errors_are_retried_and_then_named(waits: list[float]) -> None:
    url = _closed_port()
    sync = CloudantV1(NoAuthAuthenticator())
    sync.set_service_url(url)
    sync.enable_retries(max_retries=2, retry_interval=1)
    with pytest.raises(ConnectionFailed) as sync_error:
        sync.get_document("db", "doc")
    async with AsyncCloudantV1(NoAuthAuthenticator()) as client:
        client.set_service_url(url)
        client.enable_retries(max_retries=2, retry_interval=1)
        with pytest.raises(ConnectionFailed) as caught:
            await client.get_document("db", "doc")
        error = caught.value
        assert (
            str(error)
            == str(sync_error.value)
            == (f"Could not connect to {url} (connection refused) for GET /db/doc after 3 attempts")
        )
        assert type(error) is type(sync_error.value)
        assert isinstance(error, requests.ConnectionError)  # as the sync client's
        client.disable_retries()
        with pytest.raises(ConnectionFailed, match=r"after 1 attempt \(retries are off"):
            await client.get_document("db", "doc")


async def test_a_read_timeout_is_read_timed_out(mock: respx.MockRouter) -> None:
    mock.get(f"{URL}/db/doc").mock(side_effect=httpx.ReadTimeout("timed out"))
    async with async_client() as client:
        with pytest.raises(ReadTimedOut, match=r"No response from .* \(read timeout after 0.5 s\)"):
            await client.get_document("db", "doc", timeout=(3, 0.5))


async def test_a_body_that_breaks_off_is_sent_for_again(
    mock: respx.MockRouter, waits: list[float]
) -> None:
    class Broken(httpx.AsyncByteStream):
        async def __aiter__(self) -> Any:
            yield b'{"a"'
            raise httpx.RemoteProtocolError("peer closed connection")

    mock.get(f"{URL}/db/doc").mock(
        side_effect=[
            httpx.Response(200, headers={"Content-Type": "application/json"}, stream=Broken()),
            httpx.Response(200, json={"a": 1}),
        ]
    )
    async with async_client() as client:
        client.enable_retries(max_retries=2, retry_interval=1)
        assert (await client.get_document("db", "doc")).get_result() == {"a": 1}
    assert len(mock.calls) == 2


# -- gzip, size limit, streams ----------------------------------------------------------------


async def test_gzip_both_ways(mock: respx.MockRouter) -> None:
    payload = {"docs": [{"_id": str(i), "n": i} for i in range(100)]}
    reply = gzip.compress(json.dumps([{"ok": True}] * 100).encode())
    route = mock.post(f"{URL}/db/_bulk_docs").mock(
        return_value=httpx.Response(
            201,
            content=reply,
            headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
        )
    )
    async with async_client() as client:
        result = (await client.post_bulk_docs("db", payload)).get_result()
        assert result == [{"ok": True}] * 100
        sent = route.calls.last.request
        assert sent.headers["Content-Encoding"] == "gzip"
        assert json.loads(gzip.decompress(sent.content)) == payload
        assert "gzip" in sent.headers["Accept-Encoding"]
        client.set_enable_gzip_compression(False)
        await client.post_bulk_docs("db", payload)
        assert json.loads(route.calls.last.request.content) == payload


async def test_a_response_over_the_limit_is_refused(mock: respx.MockRouter) -> None:
    big = json.dumps({"x": "y" * 5000}).encode()
    mock.get(f"{URL}/db/doc").mock(
        return_value=httpx.Response(200, content=big, headers={"Content-Type": "application/json"})
    )
    async with async_client() as client:
        client.set_max_response_size(1000)
        with pytest.raises(ResponseTooLarge, match="over the limit of 1,000 bytes"):
            await client.get_document("db", "doc")
        stream = (await client.get_document_as_stream("db", "doc")).get_result()
        async with stream:
            assert json.loads(await stream.aread()) == {"x": "y" * 5000}  # not limited


async def test_streamed_results_are_async_byte_streams(mock: respx.MockRouter) -> None:
    chunks = [b'{"_id": "doc", ', b'"n": 1}']

    class Chunked(httpx.AsyncByteStream):
        closed = False

        async def __aiter__(self) -> Any:
            for chunk in chunks:
                yield chunk

        async def aclose(self) -> None:
            Chunked.closed = True

    mock.get(f"{URL}/db/doc").mock(
        return_value=httpx.Response(
            200, headers={"Content-Type": "application/json"}, stream=Chunked()
        )
    )
    mock.get(f"{URL}/db/doc/photo.png").mock(
        return_value=httpx.Response(200, content=b"\x89PNG", headers={"Content-Type": "image/png"})
    )
    async with async_client() as client:
        response = await client.get_document_as_stream("db", "doc")
        stream = response.get_result()
        assert isinstance(stream, AsyncStream)
        assert not stream.closed
        assert b"".join([chunk async for chunk in stream]) == b"".join(chunks)
        await stream.aclose()
        assert stream.closed
        assert Chunked.closed
        attachment = (await client.get_attachment("db", "doc", "photo.png", stream=True)).result
        async with attachment:
            assert attachment.headers["Content-Type"] == "image/png"
            assert [c async for c in attachment.aiter_bytes()] == [b"\x89PNG"]
        whole = (await client.get_attachment("db", "doc", "photo.png")).get_result()
        assert isinstance(whole, httpx.Response)
        assert whole.content == b"\x89PNG"


# -- authentication ----------------------------------------------------------------------------


def _iam_reply(token: str, lifetime: float = 3600) -> httpx.Response:
    now = time.time()
    return httpx.Response(
        200, json={"access_token": _jwt(now + lifetime, now), "expires_in": lifetime, "t": token}
    )


async def test_concurrent_callers_share_one_token_fetch_and_the_loop_runs_meanwhile(
    mock: respx.MockRouter,
) -> None:
    ticks = 0
    fetched: list[float] = []

    async def slow_token(request: httpx.Request) -> httpx.Response:
        fetched.append(time.monotonic())
        await asyncio.sleep(0.2)
        assert b"apikey=key-1" in request.content
        return _iam_reply("first")

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    mock.post(f"{IAM}/identity/token").mock(side_effect=slow_token)
    docs = mock.get(url__regex=rf"{URL}/db/doc\d+").mock(
        return_value=httpx.Response(200, json={"ok": True})
    )
    authenticator = IAMAuthenticator("key-1", url=IAM)
    async with async_client(authenticator) as client:
        ticking = asyncio.create_task(ticker())
        await asyncio.gather(*(client.get_document("db", f"doc{i}") for i in range(50)))
        ticking.cancel()
        assert len(fetched) == 1
        assert ticks >= 5  # the event loop went on while the token was fetched
        bearer = {c.request.headers["Authorization"] for c in docs.calls}
        token = authenticator.token_manager.token
        assert token is not None
        assert bearer == {f"Bearer {token.value}"}

        # Due for renewal, still valid: one task renews, the others go on with it.
        authenticator.token_manager.refresh_time = 0
        await asyncio.gather(*(client.get_document("db", f"doc{i}") for i in range(50)))
        assert len(fetched) == 2
        # Expired: every task waits for the one fetch.
        authenticator.token_manager.expire_time = 0
        await asyncio.gather(*(client.get_document("db", f"doc{i}") for i in range(50)))
        assert len(fetched) == 3


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(500, json={"error": "down"}),
        httpx.ConnectError("connection refused"),  # httpx's own error: a renewal's too
    ],
    ids=["500", "connect-error"],
)
async def test_a_failed_renewal_ahead_of_expiry_keeps_the_token(
    mock: respx.MockRouter, caplog: pytest.LogCaptureFixture, failure: Any
) -> None:
    iam = mock.post(f"{IAM}/identity/token")
    iam.mock(return_value=_iam_reply("first"))
    mock.get(f"{URL}/db/doc").mock(return_value=httpx.Response(200, json={"ok": True}))
    authenticator = IAMAuthenticator("key-1", url=IAM)
    async with async_client(authenticator) as client:
        await client.get_document("db", "doc")
        first = authenticator.token_manager.token
        assert first is not None
        authenticator.token_manager.refresh_time = 0
        if isinstance(failure, httpx.Response):
            iam.mock(return_value=failure)
        else:
            iam.mock(side_effect=failure)
        assert (await client.get_document("db", "doc")).get_result() == {"ok": True}
        kept = authenticator.token_manager.token
        assert kept is not None
        assert kept.value == first.value
        assert kept.refresh_at > time.time()
        assert "Renewing the IAMTokenManager token failed" in caplog.text


async def test_iam_assume_fetches_the_api_key_token_first(mock: respx.MockRouter) -> None:
    grants: list[bytes] = []

    def token(request: httpx.Request) -> httpx.Response:
        grants.append(request.content)
        return _iam_reply("x")

    mock.post(f"{IAM}/identity/token").mock(side_effect=token)
    mock.get(f"{URL}/db/doc").mock(return_value=httpx.Response(200, json={}))
    authenticator = IAMAssumeAuthenticator("key-1", iam_profile_id="prof-1", url=IAM)
    async with async_client(authenticator) as client:
        await client.get_document("db", "doc")
    assert len(grants) == 2
    assert b"grant_type=urn%3Aibm%3Aparams%3Aoauth%3Agrant-type%3Aapikey" in grants[0]
    assert b"assume" in grants[1]
    assert b"profile_id=prof-1" in grants[1]


async def test_session_cookie_login_renewal_on_401_and_fresh_cookies(
    mock: respx.MockRouter,
) -> None:
    logins: list[dict[str, Any]] = []

    async def login(request: httpx.Request) -> httpx.Response:
        logins.append(json.loads(request.content))
        await asyncio.sleep(0.05)
        cookie = f"AuthSession=c{len(logins)}; Version=1; Max-Age=600; Path=/; HttpOnly"
        return httpx.Response(200, headers={"Set-Cookie": cookie}, json={"ok": True})

    def document(request: httpx.Request) -> httpx.Response:
        if request.headers["Cookie"] == "AuthSession=c1":
            return httpx.Response(401, json={"error": "unauthorized", "reason": "expired"})
        return httpx.Response(200, json={"cookie": request.headers["Cookie"]})

    mock.post(f"{URL}/_session").mock(side_effect=login)
    mock.get(url__regex=rf"{URL}/db/d\d+").mock(side_effect=document)
    authenticator = CouchDbSessionAuthenticator("alice", "pw")
    async with async_client(authenticator) as client:
        client.set_default_headers({"X-Tenant": "t1"})
        results = await asyncio.gather(*(client.get_document("db", f"d{i}") for i in range(20)))
    # One login, then one more for every task's 401 together.
    assert logins == [{"name": "alice", "password": "pw"}] * 2
    assert {r.get_result()["cookie"] for r in results} == {"AuthSession=c2"}
    login_request = mock.routes[0].calls[0].request
    assert login_request.headers["X-Tenant"] == "t1"
    assert "Authorization" not in login_request.headers

    # A fresh cookie on any response replaces ours.
    mock.get(f"{URL}/db/fresh").mock(
        return_value=httpx.Response(
            200, headers={"Set-Cookie": "AuthSession=c9; Max-Age=600"}, json={}
        )
    )
    async with async_client(authenticator) as client:
        await client.get_document("db", "fresh")
        token = authenticator.token_manager.token
        assert token is not None
        assert token.value == "c9"


async def test_a_refused_login_is_unauthorized(mock: respx.MockRouter) -> None:
    mock.post(f"{URL}/_session").mock(
        return_value=httpx.Response(401, json={"error": "unauthorized", "reason": "bad name"})
    )
    async with async_client(CouchDbSessionAuthenticator("alice", "wrong")) as client:
        with pytest.raises(UnauthorizedError, match="bad name"):
            await client.get_document("db", "doc")


async def test_custom_authenticators_set_their_headers(mock: respx.MockRouter) -> None:
    class Signed(Authenticator):
        def authentication_type(self) -> str:
            return "signed"

        def validate(self) -> None:
            pass

        def authenticate(self, request: requests.PreparedRequest) -> None:
            request.headers["X-Signature"] = f"{request.method} {urlsplit(request.url).path}"

    route = mock.get(f"{URL}/db/doc").mock(return_value=httpx.Response(200, json={}))
    async with async_client(Signed()) as client:
        await client.get_document("db", "doc")
    assert route.calls.last.request.headers["X-Signature"] == "GET /db/doc"


# -- configuration, installation -----------------------------------------------------------------


def test_configuration_is_the_sync_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDANT_URL", "https://couch.example:6984/")
    monkeypatch.setenv("CLOUDANT_AUTH_TYPE", "basic")
    monkeypatch.setenv("CLOUDANT_USERNAME", "alice")
    monkeypatch.setenv("CLOUDANT_PASSWORD", "pw")
    monkeypatch.setenv("CLOUDANT_ENABLE_RETRIES", "true")
    client = AsyncCloudantV1.new_instance()
    assert isinstance(client, AsyncCloudantV1)
    assert client.service_url == "https://couch.example:6984"
    assert client._transport.retry is not None
    assert repr(client).startswith("AsyncCloudantV1(service_url='https://couch.example:6984'")
    with pytest.raises(ValueError, match="authenticator must be provided"):
        AsyncCloudantV1()


def test_the_sync_package_never_imports_httpx() -> None:
    code = (
        "import sys, cloudant_odm, cloudant_odm.client, cloudant_odm.client.service; "
        "assert 'httpx' not in sys.modules, 'httpx imported'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_without_httpx_the_import_says_what_to_install() -> None:
    code = (
        "import sys; sys.modules['httpx'] = None\n"
        "try:\n    import cloudant_odm.aio\n"
        "except ImportError as e:\n    print(e)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "pip install cloudant-odm[async]" in done.stdout, done.stdout + done.stderr


async def test_token_lifetimes_are_the_managers(mock: respx.MockRouter) -> None:
    """The async side keeps its token in the authenticator's own manager."""
    authenticator = IAMAuthenticator("key-1", url=IAM)
    now = time.time()
    authenticator.token_manager.set_token(_lifetime("preset", now, now + 600))
    route = mock.get(f"{URL}/db/doc").mock(return_value=httpx.Response(200, json={}))
    async with async_client(authenticator) as client:
        await client.get_document("db", "doc")
    assert route.calls.last.request.headers["Authorization"] == "Bearer preset"


async def test_a_response_says_how_many_times_its_request_was_sent(waits: list[float]) -> None:
    """DetailedResponse.attempts: 1 when sent once, more when retries re-sent it, counted
    the same by both clients (a session trusts a conflict to be its own earlier write
    only then)."""
    replies: list[Reply] = [
        (503, {}, b"{}"),
        (201, {"Content-Type": "application/json"}, b'[{"ok": true, "id": "a", "rev": "1-a"}]'),
    ]
    counted: dict[str, list[int]] = {}
    for kind in ("sync", "async"):
        server = ScriptedServer(replies)
        try:
            body = {"docs": [{"_id": "a"}]}
            if kind == "sync":
                client = retrying(CloudantV1, server, max_retries=2, retry_interval=1)
                retried = client.post_bulk_docs("db", body).attempts
                once = client.post_bulk_docs("db", body).attempts
            else:
                aclient = retrying(AsyncCloudantV1, server, max_retries=2, retry_interval=1)
                async with aclient:
                    retried = (await aclient.post_bulk_docs("db", body)).attempts
                    once = (await aclient.post_bulk_docs("db", body)).attempts
        finally:
            server.close()
        counted[kind] = [retried, once]
    assert counted["async"] == counted["sync"] == [2, 1]

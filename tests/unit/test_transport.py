"""Retries, Retry-After, timeouts and threads, over real loopback sockets: ``responses``
replaces the adapter and so would bypass urllib3's Retry, which is what we test here."""

from __future__ import annotations

import gzip
import json
import logging
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import urllib3.util.retry
from _scripted_server import Reply, ScriptedServer

from cloudant_odm.client import (
    CloudantV1,
    NoAuthAuthenticator,
    ServiceUnavailableError,
    TooManyRequestsError,
)
from cloudant_odm.client.overlap import Call

JSON = {"Content-Type": "application/json"}


def ok(body: Any) -> Reply:
    return 200, JSON, json.dumps(body).encode()


def err(status: int, headers: dict[str, str] | None = None) -> Reply:
    body = json.dumps({"error": "unavailable", "reason": f"status {status}"}).encode()
    return status, {**JSON, **(headers or {})}, body


@pytest.fixture
def scripted() -> Iterator[Callable[[list[Reply]], tuple[ScriptedServer, CloudantV1]]]:
    servers: list[ScriptedServer] = []

    def make(replies: list[Reply]) -> tuple[ScriptedServer, CloudantV1]:
        server = ScriptedServer(replies)
        servers.append(server)
        client = CloudantV1(NoAuthAuthenticator())
        client.set_service_url(server.url)
        return server, client

    yield make
    for server in servers:
        server.close()


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record urllib3's back-off sleeps instead of sleeping."""
    recorded: list[float] = []
    monkeypatch.setattr(urllib3.util.retry.time, "sleep", recorded.append)
    return recorded


def test_retries_503_then_succeeds(scripted: Any, sleeps: list[float]) -> None:
    server, client = scripted([err(503), err(500), ok({"couchdb": "Welcome"})])
    client.enable_retries(max_retries=3, retry_interval=8)
    assert client.get_server_information().get_result() == {"couchdb": "Welcome"}
    assert len(server.requests) == 3
    # The first retry is immediate, then back-off doubles: 2 s (factor 1 x 2^1).
    assert sleeps == [2.0]


def test_each_retry_is_logged_on_the_librarys_logger(
    scripted: Any, sleeps: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    server, client = scripted(
        [err(503), err(429, {"Retry-After": "3"}), ok({"couchdb": "Welcome"})]
    )
    client.enable_retries(max_retries=4, retry_interval=8)
    with caplog.at_level(logging.WARNING, logger="cloudant_odm.client"):
        client.get_server_information()
    retries = [r for r in caplog.records if r.name == "cloudant_odm.client"]
    assert [r.getMessage() for r in retries] == [
        f"GET {server.url}/: status 503; retry 1 of 4 in 0.0 s",
        f"GET {server.url}/: status 429; retry 2 of 4 in 3.0 s",
    ]
    assert sleeps == [3]


def test_retries_post_bodies(scripted: Any, sleeps: list[float]) -> None:
    server, client = scripted([err(502), ok({"ok": True, "id": "d", "rev": "1-a"})])
    client.enable_retries(max_retries=2, retry_interval=1)
    client.post_document("db", {"_id": "d", "n": 1})
    bodies = [json.loads(gzip.decompress(r["body"])) for r in server.requests]
    assert bodies == [{"_id": "d", "n": 1}] * 2


def test_retry_after_is_honoured_and_capped(scripted: Any, sleeps: list[float]) -> None:
    _, client = scripted([err(429, {"Retry-After": "3"}), err(429, {"Retry-After": "900"}), ok({})])
    client.enable_retries(max_retries=4, retry_interval=20)
    client.get_server_information()
    assert sleeps == [3, 20]


def test_exhausted_retries_raise_the_typed_error_of_the_last_response(
    scripted: Any, sleeps: list[float]
) -> None:
    server, client = scripted([err(429, {"Retry-After": "1"})])
    client.enable_retries(max_retries=2, retry_interval=1)
    with pytest.raises(TooManyRequestsError) as info:
        client.get_server_information()
    assert info.value.status_code == 429
    assert len(server.requests) == 3


def test_no_retries_by_default(scripted: Any, sleeps: list[float]) -> None:
    server, client = scripted([err(503)])
    with pytest.raises(ServiceUnavailableError):
        client.get_server_information()
    assert len(server.requests) == 1
    client.enable_retries(max_retries=1, retry_interval=1)
    client.disable_retries()
    with pytest.raises(ServiceUnavailableError):
        client.get_server_information()
    assert len(server.requests) == 2


def test_not_found_is_not_retried(scripted: Any, sleeps: list[float]) -> None:
    server, client = scripted([(404, JSON, b'{"error":"not_found","reason":"missing"}')])
    client.enable_retries(max_retries=3, retry_interval=1)
    with pytest.raises(Exception, match="not_found: missing"):
        client.get_document("db", "d")
    assert len(server.requests) == 1


def test_many_threads_share_one_client(scripted: Any) -> None:
    server, client = scripted([ok({"ok": True})])
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(25):
                client.get_database_information("db")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(server.requests) == 16 * 25


def test_default_timeouts_and_override(scripted: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _, client = scripted([ok({})])
    seen: list[Any] = []
    session = client.get_http_client()
    original = session.send

    def spy(request: Any, **kwargs: Any) -> Any:
        seen.append(kwargs.get("timeout"))
        return original(request, **kwargs)

    monkeypatch.setattr(session, "send", spy)
    client.get_server_information()
    client.set_http_config({"proxies": {}})
    client.get_server_information()
    client.set_http_config({"timeout": 5})
    client.get_server_information()
    # A per-call timeout wins over the client's default (in the SDK, http_config won and
    # a per-call timeout was silently ignored, although both documented it).
    client.get_server_information(timeout=1)
    assert seen == [(60.0, 150.0), (60.0, 150.0), 5, 1]


# -- regressions found in review -----------------------------------------------------


def test_a_streamed_body_is_never_resent_after_being_read(
    scripted: Any, sleeps: list[float]
) -> None:
    import io

    server, client = scripted([err(503), ok({"ok": True})])
    client.enable_retries(max_retries=3, retry_interval=1)
    payload = json.dumps({"_id": "x", "n": 1}).encode()
    with pytest.raises(ServiceUnavailableError):
        client.put_document("db", "x", io.BytesIO(payload))
    assert len(server.requests) == 1  # not retried with an empty (consumed) body
    assert json.loads(gzip.decompress(server.requests[0]["body"])) == {"_id": "x", "n": 1}


def test_not_modified_raises_like_the_sdk(scripted: Any) -> None:
    from cloudant_odm.client import ApiException

    _, client = scripted([(304, {"ETag": '"1-a"'}, b"")])
    with pytest.raises(ApiException) as info:
        client.get_document("db", "x", if_none_match='"1-a"')
    assert info.value.status_code == 304


def test_client_certificate_is_passed_on(scripted: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import requests.adapters

    _, client = scripted([ok({})])
    seen: list[Any] = []
    original = requests.adapters.HTTPAdapter.send

    def spy(self: Any, request: Any, **kwargs: Any) -> Any:
        seen.append(kwargs.get("cert"))
        return original(self, request, **{**kwargs, "cert": None})

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", spy)
    client.set_http_config({"cert": ("/tmp/client.pem", "/tmp/client.key")})
    client.get_server_information()
    assert seen == [("/tmp/client.pem", "/tmp/client.key")]


def test_switching_retries_while_other_threads_send(scripted: Any) -> None:
    _, client = scripted([ok({})])
    errors: list[BaseException] = []
    done = threading.Event()

    def reader() -> None:
        while not done.is_set():
            try:
                client.get_server_information()
            except BaseException as exc:  # reported below
                errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for thread in threads:
        thread.start()
    for _ in range(200):
        client.enable_retries(max_retries=2, retry_interval=1)
        client.disable_retries()
    done.set()
    for thread in threads:
        thread.join()
    assert errors == []


# -- responses cut off, and requests that get no answer ------------------------------

import socket  # noqa: E402
import time  # noqa: E402

import requests  # noqa: E402
import urllib3.exceptions  # noqa: E402

from cloudant_odm.client.errors import (  # noqa: E402
    ConnectionFailed,
    ConnectTimedOut,
    ReadTimedOut,
    ResponseIncomplete,
    connection_failure,
)

CUT = "cut"  # a reply that announces its whole body, sends half and closes
SLOW = "slow"  # a reply held back 0.5 s


class CuttingServer:
    """Answers with ``ok`` bodies, but the n-th reply is ``CUT`` or ``SLOW`` as listed
    in ``plan`` (the last entry repeats)."""

    def __init__(self, plan: list[str | None]) -> None:
        self.plan = plan
        self.bodies: list[bytes] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _reply(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with server.lock:
                    server.bodies.append(body)
                    step = server.plan[min(len(server.bodies), len(server.plan)) - 1]
                if step == SLOW:
                    time.sleep(0.5)
                payload = json.dumps({"ok": True, "pad": "x" * 1000}).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    if step == CUT:
                        self.wfile.write(payload[: len(payload) // 2])
                        self.wfile.flush()
                        self.close_connection = True
                        return
                    self.wfile.write(payload)
                except OSError:  # the client gave up (read timeout): nobody to answer
                    self.close_connection = True

            do_GET = do_POST = do_PUT = _reply

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def cutting() -> Iterator[Callable[[list[str | None]], tuple[CuttingServer, CloudantV1]]]:
    servers: list[CuttingServer] = []

    def make(plan: list[str | None]) -> tuple[CuttingServer, CloudantV1]:
        server = CuttingServer(plan)
        servers.append(server)
        client = CloudantV1(NoAuthAuthenticator())
        client.set_service_url(server.url)
        return server, client

    yield make
    for server in servers:
        server.close()


def test_a_response_cut_off_midway_is_sent_for_again(cutting: Any, sleeps: list[float]) -> None:
    # urllib3 retries a reset before the headers; a body that breaks off afterwards
    # (requests reads it later) used to surface as ChunkedEncodingError instead.
    server, client = cutting([CUT, None])
    client.enable_retries(max_retries=3, retry_interval=1)
    body = json.dumps({"docs": [{"_id": "a"}]}).encode()
    assert client.post_bulk_docs("db", body).get_result()["ok"] is True
    assert len(server.bodies) == 2
    assert server.bodies[0] == server.bodies[1]  # the same request again


def test_cut_off_responses_exhaust_the_retries(cutting: Any, sleeps: list[float]) -> None:
    server, client = cutting([CUT])
    client.enable_retries(max_retries=2, retry_interval=1)
    with pytest.raises(ResponseIncomplete) as info:
        client.get_document("db", "doc")
    assert len(server.bodies) == 3
    error = info.value
    assert isinstance(error, requests.exceptions.ChunkedEncodingError)  # as before
    assert isinstance(error, requests.ConnectionError)
    assert str(error).startswith(f"The response from {server.url} was cut off (")
    assert str(error).endswith(") for GET /db/doc after 3 attempts")
    assert isinstance(error.__cause__, requests.exceptions.ChunkedEncodingError)


def test_a_cut_off_response_without_retries(cutting: Any) -> None:
    server, client = cutting([CUT, None])
    with pytest.raises(ResponseIncomplete) as info:
        client.get_document("db", "doc")
    assert len(server.bodies) == 1
    assert str(info.value).endswith("after 1 attempt (retries are off: see enable_retries())")


def test_a_cut_off_response_to_a_streamed_request_body_is_not_sent_again(
    cutting: Any, sleeps: list[float]
) -> None:
    import io

    server, client = cutting([CUT, None])
    client.enable_retries(max_retries=3, retry_interval=1)
    with pytest.raises(ResponseIncomplete):
        client.put_document("db", "x", io.BytesIO(b'{"n": 1}'))
    assert len(server.bodies) == 1  # the stream was read: it can't be sent again


def test_a_streamed_response_is_handed_over_unread(cutting: Any, sleeps: list[float]) -> None:
    server, client = cutting([CUT, None])
    client.enable_retries(max_retries=3, retry_interval=1)
    response = client.get_document_as_stream("db", "doc").get_result()
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        response.content  # noqa: B018  (the caller reads it, and sees the break)
    assert len(server.bodies) == 1


def test_connection_refused_says_where_why_and_how_often(sleeps: list[float]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = CloudantV1(NoAuthAuthenticator())
    client.set_service_url(f"http://admin:s3cret@127.0.0.1:{port}/prefix")
    client.enable_retries(max_retries=2, retry_interval=1)
    with pytest.raises(requests.ConnectionError) as info:
        client.post_all_docs("db", keys=["a"])
    error = info.value
    assert type(error) is ConnectionFailed
    assert str(error) == (
        f"Could not connect to http://127.0.0.1:{port} (connection refused) "
        "for POST /prefix/db/_all_docs after 3 attempts"
    )
    assert (error.attempts, error.cause, error.method) == (3, "connection refused", "POST")
    assert "s3cret" not in str(error)
    assert error.request is not None
    import pickle

    copy = pickle.loads(pickle.dumps(error))  # e.g. from a worker process
    assert (type(copy), str(copy), copy.attempts) == (ConnectionFailed, str(error), 3)


def test_a_read_timeout_is_a_timeout_with_or_without_retries(cutting: Any) -> None:
    # (No `sleeps` fixture: it would patch the server's time.sleep too.)
    server, client = cutting([SLOW])
    client.set_http_config({"timeout": (5, 0.1)})
    with pytest.raises(ReadTimedOut) as once:
        client.get_document("db", "doc")
    assert str(once.value) == (
        f"No response from {server.url} (read timeout after 0.1 s) for GET /db/doc "
        "after 1 attempt (retries are off: see enable_retries())"
    )
    client.enable_retries(max_retries=1, retry_interval=0.01)
    # urllib3 + requests make a retried read timeout a plain ConnectionError: not here.
    with pytest.raises(requests.ReadTimeout) as retried:
        client.get_document("db", "doc")
    assert isinstance(retried.value, requests.ConnectionError)
    assert str(retried.value).endswith("after 2 attempts")
    assert len(server.bodies) == 3


def test_connection_failure_names_the_cause() -> None:
    url = "https://user:pw@db.example.com/db/doc?rev=1"
    timeout = requests.ConnectTimeout(
        urllib3.exceptions.MaxRetryError(
            None,  # type: ignore[arg-type]
            url,
            urllib3.exceptions.ConnectTimeoutError(None, "Connection to db.example.com timed out"),
        )
    )
    failure = connection_failure(timeout, method="GET", url=url, attempts=2, retries=True)
    assert isinstance(failure, ConnectTimedOut)
    assert isinstance(failure, requests.ConnectTimeout)
    assert str(failure) == (
        "Could not connect to https://db.example.com (connect timeout) for GET /db/doc "
        "after 2 attempts"
    )
    unresolved = requests.ConnectionError(
        urllib3.exceptions.MaxRetryError(
            None,  # type: ignore[arg-type]
            url,
            urllib3.exceptions.NameResolutionError(
                "db.example.com",
                None,
                socket.gaierror(-2, "Name or service not known"),  # type: ignore[arg-type]
            ),
        )
    )
    failure = connection_failure(unresolved, method="GET", url=url, attempts=None, retries=False)
    assert type(failure) is ConnectionFailed
    assert str(failure) == (
        "Could not connect to https://db.example.com (host name not found) for GET /db/doc "
        "(retries are off: see enable_retries())"
    )
    # A TLS or proxy error is already specific: left as requests raised it.
    assert (
        connection_failure(
            requests.exceptions.SSLError("bad certificate"),
            method="GET",
            url=url,
            attempts=1,
            retries=True,
        )
        is None
    )


def test_a_detailed_response_is_built_with_the_sdks_keywords() -> None:
    # Tests written for the official SDK build them by hand for their mocks.
    from cloudant_odm.client import DetailedResponse

    made = DetailedResponse(response={"ok": True}, headers={"ETag": '"1-a"'}, status_code=201)
    assert (made.get_result(), made.get_headers(), made.get_status_code()) == (
        {"ok": True},
        {"ETag": '"1-a"'},
        201,
    )
    empty = DetailedResponse()
    assert (empty.get_result(), empty.get_headers(), empty.get_status_code()) == (None, {}, None)
    assert DetailedResponse({"n": 1}, {}, 200).get_result() == {"n": 1}  # positionally too


def test_a_call_returns_once_its_request_is_written_not_when_answered(scripted: Any) -> None:
    # overlap.Call lets its caller go on once the request is on the connection (the
    # transport's connections say so), so the caller's work overlaps the server's.
    server, client = scripted([ok({"couchdb": "Welcome"})])
    server.hold = threading.Event()
    call = Call(client.get_server_information)
    assert server.replied == 0  # sent, not answered
    server.hold.set()
    assert call.result().get_result() == {"couchdb": "Welcome"}
    assert server.replied == 1

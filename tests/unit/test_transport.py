"""Retries, Retry-After, timeouts and threads, over real loopback sockets: ``responses``
replaces the adapter and so would bypass urllib3's Retry, which is what we test here."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import urllib3.util.retry

from cloudant_odm.client import (
    CloudantV1,
    NoAuthAuthenticator,
    ServiceUnavailableError,
    TooManyRequestsError,
)

Reply = tuple[int, dict[str, str], bytes]


class ScriptedServer:
    """Answers each request with the next scripted reply (the last one repeats)."""

    def __init__(self, replies: list[Reply]) -> None:
        self.replies = replies
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self) -> None:
                if self.headers.get("Transfer-Encoding") == "chunked":
                    body = b""
                    while size := int(self.rfile.readline().strip() or b"0", 16):
                        body += self.rfile.read(size)
                        self.rfile.readline()
                    self.rfile.readline()
                else:
                    length = int(self.headers.get("Content-Length") or 0)
                    body = self.rfile.read(length) if length else b""
                with server.lock:
                    server.requests.append(
                        {
                            "method": self.command,
                            "path": self.path,
                            "headers": dict(self.headers),
                            "body": body,
                        }
                    )
                    index = min(len(server.requests) - 1, len(server.replies) - 1)
                    status, headers, payload = server.replies[index]
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _reply

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


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
    client.get_server_information(timeout=1)  # http_config wins, as in the SDK
    assert seen == [(60.0, 150.0), (60.0, 150.0), 5, 5]


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

"""A response body the client buffers is limited, decompressed size included.

Without a limit, a server (or anything between) that sends an endless or enormous body,
or a small gzip body that inflates to gigabytes, makes the client grow until the
process dies. The limit stops reading as soon as the body passes it; streamed results
are the caller's to read and are not limited.
"""

from __future__ import annotations

import contextlib
import gzip
import http.server
import pickle
import threading
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from cloudant_odm.client import (
    BasicAuthenticator,
    CloudantV1,
    CouchDbSessionAuthenticator,
    IAMAuthenticator,
    NoAuthAuthenticator,
    NotFoundError,
    ResponseTooLarge,
)

LIMIT = 1 << 20  # 1 MiB for these tests
MiB = 1 << 20


def json_of_size(size: int) -> bytes:
    """A JSON document of ``size`` bytes."""
    head, tail = b'{"_id": "big", "_rev": "1-a", "pad": "', b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


# Built once, before any test measures memory (the server runs in this process).
GZIP_BOMB = gzip.compress(json_of_size(50 * MiB), 9)  # ~50 kB on the wire


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # the client hanging up on an endless body is the point


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        kind = self.path.split("/")[2] if self.path.count("/") >= 2 else ""
        if kind == "sized":  # /db/sized: 2 MiB with a Content-Length
            self.reply(json_of_size(2 * MiB))
        elif kind == "small":
            self.reply(json_of_size(1000))
        elif kind == "gzip":  # /db/gzip: ~50 kB on the wire, 50 MiB inflated
            self.reply(GZIP_BOMB, {"Content-Encoding": "gzip"})
        elif kind == "endless":  # /db/endless: chunked, never ends (until the client hangs up)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b'b\r\n{"pad": "xx\r\n')
            chunk = b"x" * 65536
            try:
                while True:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except OSError:
                return
        elif kind == "error":  # a 404 whose body never ends, asked for as a stream
            self.send_response(404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                self.wfile.write(b'b\r\n{"pad": "xx\r\n')
                while True:
                    self.wfile.write(b"10000\r\n" + b"x" * 65536 + b"\r\n")
            except OSError:
                return
        else:
            self.reply(b'{"error": "not_found", "reason": "missing"}', status=404)

    do_POST = do_GET

    def reply(self, body: bytes, headers: dict[str, str] | None = None, status: int = 200) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(OSError):
            self.wfile.write(body)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = _Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def client(server: str) -> CloudantV1:
    client = CloudantV1(NoAuthAuthenticator())
    client.set_service_url(server)
    client.set_max_response_size(LIMIT)
    return client


def test_a_body_over_the_limit_is_refused_with_the_limit_named(client: CloudantV1) -> None:
    with pytest.raises(ResponseTooLarge) as info:
        client.get_document("db", "sized")
    error = info.value
    assert isinstance(error, requests.RequestException)  # SDK-style handlers still catch it
    assert (error.limit, error.size, error.method, error.path) == (
        LIMIT,
        2 * MiB,
        "GET",
        "/db/sized",
    )
    assert f"over the limit of {LIMIT:,} bytes" in str(error)
    assert "set_max_response_size()" in str(error)
    assert pickle.loads(pickle.dumps(error)).args == error.args
    # Under the limit, and after the refusal, the client works as before.
    assert client.get_document("db", "small").get_result()["_id"] == "big"


def test_a_gzip_body_is_limited_by_its_inflated_size(client: CloudantV1) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(ResponseTooLarge) as info:
            client.get_document("db", "gzip")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert info.value.size > LIMIT
    assert "at least" in str(info.value)
    assert peak < 8 * LIMIT, f"{peak:,} bytes held while refusing a 50 MiB inflated body"


def test_an_endless_body_is_cut_off_at_the_limit(client: CloudantV1) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(ResponseTooLarge):
            client.get_document("db", "endless")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * LIMIT


def test_the_limit_is_configurable_and_can_be_lifted(client: CloudantV1) -> None:
    assert client.get_max_response_size() == LIMIT
    client.set_max_response_size(4 * MiB)
    assert len(client.get_document("db", "sized").get_result()["pad"]) > MiB
    client.set_max_response_size(None)
    assert len(client.get_document("db", "sized").get_result()["pad"]) > MiB
    for bad in (0, -1, 1.5, "1", True):
        with pytest.raises(ValueError, match="max_response_size"):
            client.set_max_response_size(bad)  # type: ignore[arg-type]


def test_the_default_limit_is_64_mib() -> None:
    assert CloudantV1(NoAuthAuthenticator()).get_max_response_size() == 64 * MiB


def test_a_streamed_result_is_not_limited(client: CloudantV1) -> None:
    response = client.get_document_as_stream("db", "gzip").get_result()
    try:
        read = sum(len(chunk) for chunk in response.iter_content(1 << 16))
    finally:
        response.close()
    assert read == 50 * MiB


def test_the_error_body_of_a_streamed_request_is_limited(client: CloudantV1) -> None:
    with pytest.raises(NotFoundError) as info:
        client.get_document_as_stream("db", "error")
    assert info.value.status_code == 404


@pytest.mark.parametrize(
    ("authenticator", "service_path"),
    [
        # POST {service}/_session lands on the 2 MiB reply
        (lambda url: CouchDbSessionAuthenticator("admin", "pw"), "/x/sized"),
        # POST {url}/identity/token too
        (lambda url: IAMAuthenticator("key", url=url + "/db/sized"), ""),
    ],
    ids=["session login", "IAM token"],
)
def test_login_and_token_responses_are_limited_too(
    server: str, authenticator: Any, service_path: str
) -> None:
    client = CloudantV1(authenticator(server))
    client.set_service_url(server + service_path)
    with pytest.raises(ResponseTooLarge, match="over the limit of 1,048,576 bytes"):
        client.get_document("db", "small")


def test_basic_auth_client_reads_normal_bodies(server: str) -> None:
    client = CloudantV1(BasicAuthenticator("admin", "pw"))
    client.set_service_url(server)
    assert client.get_document("db", "small").get_result()["_id"] == "big"

"""Redirects are never followed: a loopback server answering 301/302/307/308 towards a
second loopback port must not make the client send that port credentials, a login, an
API key or a document, nor adopt a cookie from it, and a redirected write is an error."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from cloudant_odm.client import (
    ApiException,
    BasicAuthenticator,
    CloudantV1,
    CouchDbSessionAuthenticator,
)

SECRET = "red1rect-Pa55"


class _Server:
    """A loopback HTTP server; ``handle(handler)`` answers, ``seen`` records requests."""

    def __init__(self, answer: Any) -> None:
        self.seen: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                outer.seen.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": body,
                    }
                )
                status, headers, payload = answer(self)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _any

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def elsewhere() -> Iterator[_Server]:
    """The other origin: accepts everything, sets a cookie, records what reaches it."""
    server = _Server(
        lambda _: (
            201,
            {"Content-Type": "application/json", "Set-Cookie": "AuthSession=stolen; Path=/"},
            b'{"ok":true,"id":"d","rev":"1-a"}',
        )
    )
    yield server
    server.close()


def redirecting(status: int, target: _Server) -> _Server:
    return _Server(lambda h: (status, {"Location": target.url + h.path}, b""))


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirected_write_is_an_error_and_nothing_reaches_the_other_origin(
    status: int, elsewhere: _Server
) -> None:
    service = redirecting(status, elsewhere)
    try:
        client = CloudantV1(BasicAuthenticator("admin", SECRET))
        client.set_service_url(service.url)
        with pytest.raises(ApiException) as caught:
            client.put_document("orders", "d", {"card": SECRET})
        assert caught.value.status_code == status
        assert f"redirected to {elsewhere.url}/orders/d" in caught.value.message
        with pytest.raises(ApiException):
            client.get_document("orders", "d")
        assert elsewhere.seen == []
        assert len(service.seen) == 2
    finally:
        service.close()


@pytest.mark.parametrize("status", [302, 307, 308])
def test_a_redirected_login_sends_no_password_and_adopts_no_cookie(
    status: int, elsewhere: _Server
) -> None:
    service = redirecting(status, elsewhere)
    try:
        client = CloudantV1(CouchDbSessionAuthenticator("admin", SECRET))
        client.set_service_url(service.url)
        with pytest.raises(ApiException) as caught:
            client.get_server_information()
        assert "redirected to" in caught.value.message
        assert elsewhere.seen == []
        for request in service.seen:
            assert "stolen" not in str(request["headers"])
    finally:
        service.close()

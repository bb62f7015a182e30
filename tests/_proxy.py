"""Loopback HTTP helpers for tests: a recording (and fault-injecting) proxy, and a
scripted server.

``RecordingProxy(upstream_url)`` listens on 127.0.0.1 on a free port, forwards every
request to ``upstream_url`` byte for byte (the request target is passed on exactly as
received: no normalisation, no re-quoting) and records it. Point a client at
``proxy.url`` and look at ``proxy.requests`` afterwards::

    with RecordingProxy(server_url) as proxy:
        client.set_service_url(proxy.url)
        client.get_document("db", "a/b")
    assert proxy.paths() == ["/db/a%2Fb"]

Faults: ``RecordingProxy(upstream_url, faults=Faults(reset=0.1, unavailable=0.2, seed=1))``
makes a share of the requests fail in a chosen way (see :class:`Faults`). Which request
gets which fault is decided by :meth:`RecordingProxy.choose_fault`; a subclass can
override it (fail every third request, only writes, only one path, ...), and every
recorded request says which fault it got.

``ScriptedServer(replies)`` answers each request with the next scripted reply (the
last one repeats) and records it; use it where no real server is wanted.

Everything binds 127.0.0.1 only, runs in daemon threads and stops on ``close()`` (or at
the end of a ``with`` block).
"""

from __future__ import annotations

import http.client
import json
import random
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "FAULTS",
    "Faults",
    "RecordedRequest",
    "RecordingProxy",
    "Reply",
    "ScriptedServer",
    "json_reply",
]

#: Headers that belong to one connection and are not forwarded (RFC 9110 section 7.6.1).
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)

#: The fault names, in the order :meth:`Faults.pick` considers them.
FAULTS = ("reset", "reset_after", "too_many", "server_error", "unavailable", "slow", "truncate")

UPSTREAM_TIMEOUT = 120.0
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Faults:
    """Which share (0.0 to 1.0) of the requests get each fault; the rest pass through.

    - ``reset``: the connection is reset (TCP RST) before the request is forwarded, so
      the server never sees it;
    - ``reset_after``: the request is forwarded and answered, then the connection is
      reset instead of relaying the answer (the write happened, the client can't know);
    - ``too_many``: ``429`` with ``Retry-After: retry_after``, not forwarded;
    - ``server_error`` / ``unavailable``: ``500`` / ``503``, not forwarded;
    - ``slow``: forwarded, and the answer is held back ``delay`` seconds;
    - ``truncate``: forwarded, and the connection is reset halfway through the body
      (after the headers announced all of it; for a chunked answer, after its first
      chunk).

    ``seed`` makes the choice reproducible. The shares must add up to at most 1.
    """

    reset: float = 0.0
    reset_after: float = 0.0
    too_many: float = 0.0
    server_error: float = 0.0
    unavailable: float = 0.0
    slow: float = 0.0
    truncate: float = 0.0
    retry_after: int = 1
    delay: float = 0.5
    seed: int | None = None

    def __post_init__(self) -> None:
        shares = [getattr(self, name) for name in FAULTS]
        if any(share < 0 or share > 1 for share in shares) or sum(shares) > 1 + 1e-9:
            raise ValueError(f"fault shares must be in [0, 1] and add up to at most 1: {self}")

    def pick(self, rng: random.Random) -> str | None:
        """A fault name, or None to pass the request through."""
        roll = rng.random()
        for name in FAULTS:
            share: float = getattr(self, name)
            if roll < share:
                return name
            roll -= share
        return None


@dataclass
class RecordedRequest:
    """One request as the proxy (or scripted server) received it."""

    method: str
    target: str  # the request target exactly as sent: raw path plus "?query"
    headers: dict[str, str]
    body: bytes
    fault: str | None = None
    status: int | None = None  # the status relayed to the client (None: no answer)

    @property
    def path(self) -> str:
        """The raw (still percent-encoded) path, without the query string."""
        return self.target.split("?", 1)[0]

    @property
    def query(self) -> str:
        return self.target.split("?", 1)[1] if "?" in self.target else ""

    @property
    def line(self) -> str:
        return f"{self.method} {self.target}"


class _LoopbackServer:
    """A ThreadingHTTPServer on 127.0.0.1 with a request log."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.requests: list[RecordedRequest] = []
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.httpd.owner = self  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, args=(0.05,), name=type(self).__name__, daemon=True
        )
        self._thread.start()

    def record(self, request: RecordedRequest) -> RecordedRequest:
        with self.lock:
            self.requests.append(request)
        return request

    def clear(self) -> None:
        with self.lock:
            self.requests.clear()

    def lines(self) -> list[str]:
        """``"METHOD target"`` of every request so far, in order."""
        with self.lock:
            return [request.line for request in self.requests]

    def paths(self) -> list[str]:
        """The raw path of every request so far, in order."""
        with self.lock:
            return [request.path for request in self.requests]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like a real server: clients pool connections
    # Headers and body go out in separate writes: without TCP_NODELAY the second one
    # waits for the client's delayed ACK (40 ms a request).
    disable_nagle_algorithm = True

    @property
    def owner(self) -> Any:
        return self.server.owner  # type: ignore[attr-defined]

    def raw_target(self) -> str:
        # http.server rewrites a leading "//" in self.path; the request line is untouched.
        parts = self.requestline.split(" ")
        return parts[1] if len(parts) >= 2 else self.path

    def read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send_plain(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    def reset_connection(self) -> None:
        """Close with a TCP RST (SO_LINGER 0) instead of an orderly FIN."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _ProxyHandler(_Handler):
    def handle_one(self) -> None:
        proxy: RecordingProxy = self.owner
        body = self.read_body()
        request = RecordedRequest(self.command, self.raw_target(), dict(self.headers.items()), body)
        request.fault = proxy.choose_fault(request)
        proxy.record(request)
        fault = request.fault
        if fault == "reset":
            self.reset_connection()
            return
        if fault in ("too_many", "server_error", "unavailable"):
            status = {"too_many": 429, "server_error": 500, "unavailable": 503}[fault]
            extra = {"Retry-After": str(proxy.faults.retry_after)} if status == 429 else {}
            payload = json.dumps({"error": fault, "reason": "injected by the test proxy"})
            request.status = status
            self.send_plain(status, {"Content-Type": "application/json", **extra}, payload.encode())
            return
        self.forward(proxy, request, body)

    def forward(self, proxy: RecordingProxy, request: RecordedRequest, body: bytes) -> None:
        upstream = proxy.upstream
        connection_class = (
            http.client.HTTPSConnection
            if upstream.scheme == "https"
            else http.client.HTTPConnection
        )
        connection = connection_class(upstream.netloc, timeout=UPSTREAM_TIMEOUT)
        try:
            out_headers = {
                key: value
                for key, value in request.headers.items()
                if key.lower() not in HOP_BY_HOP and key.lower() not in ("host", "content-length")
            }
            out_headers["Host"] = upstream.netloc
            if body or self.command in ("POST", "PUT", "PATCH"):
                out_headers["Content-Length"] = str(len(body))
            connection.connect()
            connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connection.request(
                self.command, proxy.upstream_prefix + request.target, body=body, headers=out_headers
            )
            response = connection.getresponse()
            if request.fault == "reset_after":
                response.read()
                self.reset_connection()
                return
            if request.fault == "slow":
                time.sleep(proxy.faults.delay)
            self.relay(response, request)
        except OSError as error:  # upstream refused or failed: answer like a gateway
            if request.status is None:
                request.status = 502
                reason = f"test proxy: upstream failed: {type(error).__name__}"
                self.send_plain(
                    502,
                    {"Content-Type": "application/json"},
                    json.dumps({"error": "bad_gateway", "reason": reason}).encode(),
                )
            else:
                self.close_connection = True
        finally:
            connection.close()

    def relay(self, response: http.client.HTTPResponse, request: RecordedRequest) -> None:
        request.status = response.status
        self.send_response(response.status, response.reason)
        length_header = response.getheader("Content-Length")
        for key, value in response.getheaders():
            if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                self.send_header(key, value)
        no_body = self.command == "HEAD" or response.status in (204, 304) or response.status < 200
        if no_body:
            if length_header is not None:
                self.send_header("Content-Length", length_header)
            self.end_headers()
            self.wfile.flush()
            return
        if length_header is not None:
            payload = response.read()
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if request.fault == "truncate":
                self.wfile.write(payload[: len(payload) // 2])
                self.wfile.flush()
                self.reset_connection()
                return
            self.wfile.write(payload)
            self.wfile.flush()
            return
        # No length (a feed, or a chunked answer): relay chunks as they arrive.
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        while True:
            chunk = response.read1(_CHUNK)
            if not chunk:
                break
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.flush()
            if request.fault == "truncate":
                self.reset_connection()
                return
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_COPY = do_PATCH = do_OPTIONS = handle_one


class RecordingProxy(_LoopbackServer):
    """A loopback HTTP proxy (reverse proxy) in front of ``upstream_url`` that records
    every request and can inject :class:`Faults`."""

    def __init__(self, upstream_url: str, faults: Faults | None = None) -> None:
        self.upstream = urlsplit(upstream_url)
        if self.upstream.scheme not in ("http", "https") or not self.upstream.netloc:
            raise ValueError(f"upstream must be an http(s) URL, got {upstream_url!r}")
        self.upstream_prefix = self.upstream.path.rstrip("/")
        self.faults = faults or Faults()
        self._rng = random.Random(self.faults.seed)
        self._rng_lock = threading.Lock()
        super().__init__(_ProxyHandler)

    def set_faults(self, faults: Faults) -> None:
        """Change the faults from now on (the random sequence restarts from its seed)."""
        with self._rng_lock:
            self.faults = faults
            self._rng = random.Random(faults.seed)

    def choose_fault(self, request: RecordedRequest) -> str | None:
        """The fault for this request (a name from :data:`FAULTS`) or None. Override to
        target requests by method, path or count."""
        with self._rng_lock:
            return self.faults.pick(self._rng)

    def __enter__(self) -> RecordingProxy:
        return self


# -- a scripted server -------------------------------------------------------------

Reply = tuple[int, dict[str, str], bytes]


class _ScriptedHandler(_Handler):
    def handle_one(self) -> None:
        server: ScriptedServer = self.owner
        body = self.read_body()
        request = RecordedRequest(self.command, self.raw_target(), dict(self.headers.items()), body)
        with server.lock:
            server.requests.append(request)
            index = min(len(server.requests) - 1, len(server.replies) - 1)
            reply = server.replies[index]
        status, headers, payload = reply(request) if callable(reply) else reply
        request.status = status
        self.send_plain(status, headers, payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_COPY = do_PATCH = handle_one


class ScriptedServer(_LoopbackServer):
    """Answers the n-th request with ``replies[n]`` (the last reply repeats). A reply is
    ``(status, headers, body)`` or a function of the :class:`RecordedRequest` that
    returns one."""

    def __init__(self, replies: list[Reply | Callable[[RecordedRequest], Reply]]) -> None:
        if not replies:
            raise ValueError("ScriptedServer needs at least one reply")
        self.replies = replies
        super().__init__(_ScriptedHandler)

    def __enter__(self) -> ScriptedServer:
        return self


def json_reply(status: int, body: Any, headers: dict[str, str] | None = None) -> Reply:
    """A JSON reply for :class:`ScriptedServer`."""
    return (
        status,
        {"Content-Type": "application/json", **(headers or {})},
        json.dumps(body).encode(),
    )

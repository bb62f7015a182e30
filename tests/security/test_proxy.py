"""The recording proxy itself (tests/_proxy.py): it passes requests through untouched,
records them, and injects each kind of fault it offers. Upstream is a scripted server,
so no database server is needed."""

from __future__ import annotations

import gzip
import random
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from _proxy import FAULTS, Faults, RecordedRequest, RecordingProxy, ScriptedServer, json_reply

from cloudant_odm.client import (
    CloudantV1,
    NoAuthAuthenticator,
    ServiceUnavailableError,
    TooManyRequestsError,
)

DOC = {"_id": "a", "_rev": "1-a", "text": "x" * 2000}


def echo(request: RecordedRequest) -> tuple[int, dict[str, str], bytes]:
    return json_reply(200, {**DOC, "method": request.method, "target": request.target})


@pytest.fixture
def upstream() -> Iterator[ScriptedServer]:
    with ScriptedServer([echo]) as server:
        yield server


def client_for(url: str) -> CloudantV1:
    client = CloudantV1(authenticator=NoAuthAuthenticator())
    client.set_service_url(url)
    return client


def test_passes_requests_through_and_records_them(upstream: ScriptedServer) -> None:
    with RecordingProxy(upstream.url + "/prefix") as proxy:
        client = client_for(proxy.url)
        result = client.put_document("db", "a/b?c", {"n": 1}, rev="1-a").get_result()
        assert result["target"] == "/prefix/db/a%2Fb%3Fc?rev=1-a"
        assert client.head_document("db", "x").get_result() is None
    assert proxy.lines() == ["PUT /db/a%2Fb%3Fc?rev=1-a", "HEAD /db/x"]
    put = proxy.requests[0]
    assert put.path == "/db/a%2Fb%3Fc"
    assert put.query == "rev=1-a"
    assert put.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(put.body) == b'{"n":1}'
    assert [r.status for r in proxy.requests] == [200, 200]
    # The upstream saw the same bodies and headers.
    assert upstream.requests[0].body == put.body
    assert upstream.requests[0].headers["Content-Encoding"] == "gzip"


class ChunkedHandler(BaseHTTPRequestHandler):
    """Answers with three chunks, the way a feed does (no Content-Length)."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for line in (b'{"seq":1}\n', b'{"seq":2}\n', b'{"seq":3}\n'):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
            self.wfile.flush()
            time.sleep(0.05)
        self.wfile.write(b"0\r\n\r\n")

    def log_message(self, *args: object) -> None:
        pass


def test_relays_chunked_answers_as_they_come() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), ChunkedHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with RecordingProxy(f"http://127.0.0.1:{server.server_address[1]}") as proxy:
            response = requests.get(proxy.url + "/db/_changes", stream=True, timeout=10)
            lines = [line for line in response.iter_lines() if line]
            assert lines == [b'{"seq":1}', b'{"seq":2}', b'{"seq":3}']
            response.close()
    finally:
        server.shutdown()
        server.server_close()


def test_faults_validate_their_shares() -> None:
    with pytest.raises(ValueError, match="add up"):
        Faults(reset=0.6, unavailable=0.6)
    with pytest.raises(ValueError, match="add up"):
        Faults(slow=-0.1)
    assert Faults().pick(random.Random(1)) is None


def test_fault_choice_is_reproducible() -> None:
    faults = Faults(reset=0.2, unavailable=0.3, truncate=0.1, seed=7)
    rng_a, rng_b = (random.Random(faults.seed) for _ in range(2))
    first = [faults.pick(rng_a) for _ in range(200)]
    assert first == [faults.pick(rng_b) for _ in range(200)]
    share = first.count("unavailable") / len(first)
    assert 0.15 < share < 0.45
    assert set(first) <= {*FAULTS, None}


def test_status_faults_are_not_forwarded(upstream: ScriptedServer) -> None:
    client = client_for("http://127.0.0.1:1")
    with RecordingProxy(upstream.url, Faults(too_many=1.0, retry_after=7)) as proxy:
        client.set_service_url(proxy.url)
        with pytest.raises(TooManyRequestsError) as caught:
            client.get_document("db", "a")
        assert caught.value.http_response is not None
        assert caught.value.http_response.headers["Retry-After"] == "7"
        proxy.set_faults(Faults(server_error=0.5, unavailable=0.5, seed=3))
        for _ in range(6):
            with pytest.raises(ServiceUnavailableError):
                client.get_document("db", "a")
    assert upstream.requests == []
    assert {r.fault for r in proxy.requests[1:]} == {"server_error", "unavailable"}
    assert {r.status for r in proxy.requests[1:]} == {500, 503}


def test_retries_get_through_injected_503s(upstream: ScriptedServer) -> None:
    class EveryOther(RecordingProxy):
        def choose_fault(self, request: RecordedRequest) -> str | None:
            return "unavailable" if len(self.requests) % 2 == 0 else None

    with EveryOther(upstream.url) as proxy:
        client = client_for(proxy.url)
        client.enable_retries(max_retries=2, retry_interval=0.01)
        assert client.get_document("db", "a").get_result()["_id"] == "a"
    assert [r.status for r in proxy.requests] == [503, 200]
    assert len(upstream.requests) == 1


def test_reset_before_forwarding(upstream: ScriptedServer) -> None:
    with (
        RecordingProxy(upstream.url, Faults(reset=1.0)) as proxy,
        pytest.raises(requests.ConnectionError),
    ):
        client_for(proxy.url).get_document("db", "a")
    assert [r.fault for r in proxy.requests] == ["reset"]
    assert upstream.requests == []  # the server never saw it


def test_reset_after_forwarding(upstream: ScriptedServer) -> None:
    with (
        RecordingProxy(upstream.url, Faults(reset_after=1.0)) as proxy,
        pytest.raises(requests.ConnectionError),
    ):
        client_for(proxy.url).put_document("db", "a", {"n": 1})
    assert len(upstream.requests) == 1  # the write happened; the answer was lost


def test_truncated_body(upstream: ScriptedServer) -> None:
    with (
        RecordingProxy(upstream.url, Faults(truncate=1.0)) as proxy,
        pytest.raises(requests.RequestException),
    ):
        client_for(proxy.url).get_document("db", "a")
    assert [r.fault for r in proxy.requests] == ["truncate"]


def test_slow_answer(upstream: ScriptedServer) -> None:
    with RecordingProxy(upstream.url, Faults(slow=1.0, delay=0.3)) as proxy:
        client = client_for(proxy.url)
        started = time.monotonic()
        assert client.get_document("db", "a").get_result()["_id"] == "a"
        assert time.monotonic() - started >= 0.3
        client.set_http_config({"timeout": (5, 0.1)})
        with pytest.raises(requests.Timeout):
            client.get_document("db", "a")


def test_upstream_down_is_a_502() -> None:
    with ScriptedServer([json_reply(200, {})]) as gone:
        url = gone.url
    with RecordingProxy(url) as proxy:
        response = requests.get(proxy.url + "/db", timeout=10)
    assert response.status_code == 502
    assert response.json()["error"] == "bad_gateway"

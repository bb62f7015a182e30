"""ChangesFollower against a real server (the local PouchDB Server, or CLOUDANT_URL):
one-off reads in batches, continuous following, stop(), a missing database, and
transient failures injected by a small fault proxy in front of the server."""

from __future__ import annotations

import http.server
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from _server import ServerConfig, unique_db_name

from cloudant_odm.client import (
    ChangesFollower,
    ChangesResultItem,
    CloudantV1,
    NotFoundError,
    ServiceUnavailableError,
)

TOTAL = 25_000
BULK = 5_000


def write_docs(client: CloudantV1, db: str, ids: list[str]) -> None:
    for start in range(0, len(ids), BULK):
        docs = [{"_id": doc_id, "n": n} for n, doc_id in enumerate(ids[start : start + BULK])]
        result = client.post_bulk_docs(db, {"docs": docs}).get_result()
        assert all(r.get("ok") for r in result), [r for r in result if not r.get("ok")][:3]


def count_requests(monkeypatch: pytest.MonkeyPatch, client: CloudantV1) -> list[dict[str, Any]]:
    """Record the parameters of every _changes request the client makes."""
    calls: list[dict[str, Any]] = []
    send = client.post_changes_as_stream

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return send(*args, **kwargs)

    monkeypatch.setattr(client, "post_changes_as_stream", counted)
    return calls


def guarded(follower: ChangesFollower, seconds: float = 20) -> threading.Timer:
    """Stop the follower after ``seconds`` whatever happens, so no test can hang."""
    timer = threading.Timer(seconds, follower.stop)
    timer.daemon = True
    timer.start()
    return timer


def test_one_off_over_25000_changes_in_batches(
    client: CloudantV1, db_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [f"order-{n:05d}" for n in range(TOTAL)]
    write_docs(client, db_name, ids)
    calls = count_requests(monkeypatch, client)
    follower = ChangesFollower(client, db=db_name)
    timer = guarded(follower, 40)
    started = time.perf_counter()
    seen = [change.id for change in follower.start_one_off()]
    elapsed = time.perf_counter() - started
    timer.cancel()
    print(f"one-off over {TOTAL} changes: {elapsed:.2f} s in {len(calls)} requests")
    assert len(seen) == TOTAL
    assert sorted(seen) == ids  # every id exactly once
    # 10 000 + 10 000 + 5 000, whether or not the server sends "pending".
    assert [c["limit"] for c in calls] == [10_000, 10_000, 10_000]
    assert [c["feed"] for c in calls] == ["normal"] * 3
    assert calls[0]["since"] == "0"


def test_one_off_with_documents_and_an_empty_database(client: CloudantV1, db_name: str) -> None:
    follower = ChangesFollower(client, db=db_name, include_docs=True)
    assert list(follower.start_one_off()) == []
    write_docs(client, db_name, ["a", "b", "c"])
    client.delete_document(db_name, "b", rev=client.get_document(db_name, "b").get_result()["_rev"])
    follower = ChangesFollower(client, db=db_name, include_docs=True)
    changes = {c.id: c for c in follower.start_one_off()}
    assert set(changes) == {"a", "b", "c"}
    assert all(isinstance(c, ChangesResultItem) for c in changes.values())
    assert changes["a"].doc is not None
    assert changes["a"].doc["n"] == 0
    assert changes["b"].deleted is True
    assert changes["c"].seq is not None


def test_one_off_with_documents_gives_every_row_as_the_server_sent_it(
    client: CloudantV1, db_name: str
) -> None:
    # Enough rows for the parser to take them in groups, then documents that hold what a
    # row start looks like on either server (the parser goes row by row from there), and
    # deletions.
    lookalike = [
        {"seq": "1-x", "id": "a", "changes": [{"rev": "1-a"}]},
        {"seq": None, "id": "b", "changes": []},
        {"id": "c", "changes": [{"rev": "1-c"}], "doc": {}},
        {"id": "d", "changes": []},
    ]
    docs: list[dict[str, Any]] = [
        {"_id": f"d{n:04d}", "n": n, "text": "é✓" * (n % 5), "rows": lookalike if n > 1000 else []}
        for n in range(1500)
    ]
    result = client.post_bulk_docs(db_name, {"docs": docs}).get_result()
    gone = [{"_id": r["id"], "_rev": r["rev"], "_deleted": True} for r in result[::10]]
    client.post_bulk_docs(db_name, {"docs": gone}).get_result()
    expected = client.post_changes(db_name, include_docs=True).get_result()["results"]
    follower = ChangesFollower(client, db=db_name, include_docs=True)
    timer = guarded(follower, 40)
    items = list(follower.start_one_off())
    timer.cancel()

    def by_id(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        # A clustered CouchDB orders (and numbers) a feed's rows differently from one
        # request to the next: the rows are compared by id, without their seq.
        return {row["id"]: {k: v for k, v in row.items() if k != "seq"} for row in rows}

    assert len(items) == len(expected)
    assert by_id([i.to_dict() for i in items]) == by_id(expected)
    assert all(isinstance(i.seq, str | int) for i in items)
    assert sum(1 for i in items if i.deleted) == 150


def test_continuous_sees_a_write_made_after_it_started(client: CloudantV1, db_name: str) -> None:
    write_docs(client, db_name, ["before"])
    follower = ChangesFollower(client, db=db_name)
    timer = guarded(follower)
    done = threading.Event()

    def writer() -> None:
        # since="now": a write can only be seen once the first long poll is open, and
        # nothing tells us when that is; so keep writing until the follower sees one.
        n = 0
        while not done.wait(0.2):
            client.put_document(db_name, f"after-{n}", {"n": n})
            n += 1

    thread = threading.Thread(target=writer)
    changes = follower.start()
    thread.start()
    seen: list[str] = []
    try:
        # "before" is older than "now", but on a cluster "now" is read from one copy per
        # shard range, which may not have had it yet: it may come (at least once), first.
        while len([i for i in seen if i.startswith("after-")]) < 2:
            seen.append(next(changes).id)
    finally:
        done.set()
        thread.join(5)
        follower.stop()
        timer.cancel()
    after = [i for i in seen if i != "before"]
    assert len(after) == 2
    assert all(i.startswith("after-") for i in after)
    assert after[0] != after[1]
    assert list(changes) == []  # stopped


def test_stop_from_another_thread_ends_a_blocked_long_poll(
    client: CloudantV1, db_name: str, is_pouchdb: bool
) -> None:
    follower = ChangesFollower(client, db=db_name)
    timer = guarded(follower)
    changes = follower.start()
    stopped_at: list[float] = []

    def stop() -> None:
        stopped_at.append(time.monotonic())
        follower.stop()

    # Nothing is written: the consumer waits on a long poll that would last 57 s (for
    # ever on PouchDB Server, which ignores the timeout).
    threading.Timer(1.0, stop).start()
    assert list(changes) == []
    ended = time.monotonic() - stopped_at[0]
    timer.cancel()
    assert ended < 2.0
    assert follower._thread is not None
    if is_pouchdb:
        # The long poll's headers came at once, so stop() could cut the request too.
        follower._thread.join(2.0)
        assert not follower._thread.is_alive()


@pytest.mark.parametrize("mode", ["start", "start_one_off"])
def test_missing_database_ends_at_once(client: CloudantV1, mode: str) -> None:
    follower = ChangesFollower(client, db=unique_db_name("missing"))  # tolerance: for ever
    timer = guarded(follower)
    started = time.monotonic()
    with pytest.raises(NotFoundError) as info:
        list(getattr(follower, mode)())
    timer.cancel()
    assert time.monotonic() - started < 2.0
    assert info.value.status_code == 404


# -- transient failures, through a fault proxy -------------------------------------------

# Headers the proxy does not pass on: hop-by-hop ones, and those describing a body that
# requests re-encodes (it sends its own length, and decodes gzip in responses).
_NOT_FORWARDED = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}
_NOT_FORWARDED_REQUEST = _NOT_FORWARDED | {"accept-encoding"}
_NOT_RETURNED = _NOT_FORWARDED | {"content-encoding"}


class FaultProxy:
    """An HTTP server on 127.0.0.1 that forwards requests to the real server, except that
    it answers 503 to the first ``failures`` requests, and cuts the connection after
    ``cut_after`` bytes of the body of the first response it does forward."""

    def __init__(self, upstream: str, *, failures: int = 0, cut_after: int | None = None):
        self.upstream = upstream.rstrip("/")
        self.failures = failures
        self.cut_after = cut_after
        self.requests = 0
        self.failed = 0
        self.cut = 0
        self._lock = threading.Lock()
        self._session = requests.Session()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
        self._session.close()

    def _decide(self) -> str:
        with self._lock:
            self.requests += 1
            if self.failed < self.failures:
                self.failed += 1
                return "fail"
            if self.cut_after is not None and self.cut == 0:
                self.cut += 1
                return "cut"
            return "forward"

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                action = proxy._decide()
                if action == "fail":
                    self._send(503, {"Content-Type": "application/json"}, b'{"error":"down"}')
                    return
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in _NOT_FORWARDED_REQUEST
                }
                upstream = proxy._session.request(
                    self.command,
                    proxy.upstream + self.path,
                    headers=headers,
                    data=body,
                    timeout=90,
                )
                out = {k: v for k, v in upstream.headers.items() if k.lower() not in _NOT_RETURNED}
                if action == "cut":
                    # Promise the whole body, send part of it, and hang up.
                    content = upstream.content
                    out["Content-Length"] = str(len(content))
                    self.send_response(upstream.status_code)
                    for key, value in out.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(content[: proxy.cut_after])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self._send(upstream.status_code, out, upstream.content)

            def _send(self, status: int, headers: dict[str, str], content: bytes) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _any

        return Handler


@pytest.fixture
def via_proxy(
    server_config: ServerConfig,
) -> Iterator[Callable[..., tuple[FaultProxy, CloudantV1]]]:
    """Start fault proxies in front of the server, with a client for each."""
    proxies: list[FaultProxy] = []

    def start(**faults: Any) -> tuple[FaultProxy, CloudantV1]:
        proxy = FaultProxy(server_config.url, **faults).__enter__()
        proxies.append(proxy)
        return proxy, server_config.client(proxy.url)

    yield start
    for proxy in proxies:
        proxy.__exit__()


def test_transient_errors_are_survived_within_tolerance(
    client: CloudantV1,
    db_name: str,
    via_proxy: Callable[..., tuple[FaultProxy, CloudantV1]],
) -> None:
    ids = [f"doc-{n:03d}" for n in range(30)]
    write_docs(client, db_name, ids)
    proxy, flaky = via_proxy(failures=4)
    follower = ChangesFollower(flaky, db=db_name, error_tolerance=30_000)
    timer = guarded(follower)
    started = time.monotonic()
    seen = sorted(c.id for c in follower.start_one_off())
    timer.cancel()
    assert seen == ids
    assert proxy.failed == 4
    assert proxy.requests == 5
    # Back-off ceilings 0.1 + 0.2 + 0.4 + 0.8 s.
    assert time.monotonic() - started < 1.5 + 1.0


def test_transient_errors_end_the_follower_after_the_tolerance(
    db_name: str, via_proxy: Callable[..., tuple[FaultProxy, CloudantV1]]
) -> None:
    proxy, flaky = via_proxy(failures=1_000)
    follower = ChangesFollower(flaky, db=db_name, error_tolerance=500)
    timer = guarded(follower)
    started = time.monotonic()
    with pytest.raises(ServiceUnavailableError) as info:
        list(follower.start())
    elapsed = time.monotonic() - started
    timer.cancel()
    assert info.value.status_code == 503
    assert elapsed >= 0.5
    assert elapsed < 0.5 + 1.6 + 1.0  # the last back-off is at most 0.8 s (or 1.6 s)
    assert proxy.requests >= 2


def test_a_connection_cut_mid_page_resumes_without_repeats(
    client: CloudantV1,
    db_name: str,
    via_proxy: Callable[..., tuple[FaultProxy, CloudantV1]],
) -> None:
    ids = [f"doc-{n:04d}" for n in range(2000)]
    write_docs(client, db_name, ids)
    proxy, flaky = via_proxy(cut_after=50_000)
    follower = ChangesFollower(flaky, db=db_name)
    timer = guarded(follower)
    seen = [c.id for c in follower.start_one_off()]
    timer.cancel()
    assert proxy.cut == 1
    assert proxy.requests == 2
    assert sorted(seen) == ids  # each exactly once: the retry resumed after the last row

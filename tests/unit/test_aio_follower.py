"""AsyncChangesFollower against a mocked ``_changes`` endpoint (respx, no server): the
synchronous follower's requests and decisions (one core), its errors and back-off, and
stopping from another task, also while a long poll waits."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import responses

httpx = pytest.importorskip("httpx", reason="the async extra is not installed")
respx = pytest.importorskip("respx", reason="respx is not installed (dev extra)")

from _fake_feed import CHANGES, DB, JSON, URL, FakeFeed, Fault, number, row, seq  # noqa: E402

from cloudant_odm.aio import AsyncChangesFollower, AsyncCloudantV1  # noqa: E402
from cloudant_odm.client import (  # noqa: E402
    ChangesFollower,
    ChangesResultItem,
    CloudantV1,
    ConnectionFailed,
    ForbiddenError,
    NoAuthAuthenticator,
    NotFoundError,
    ServiceUnavailableError,
)

pytestmark = pytest.mark.anyio

#: Seconds a test waits for what should be prompt before it fails (never a timing target).
PATIENCE = 10


def answer(feed: FakeFeed) -> Callable[[httpx.Request], httpx.Response]:
    """The fake feed as a respx side effect."""

    def side_effect(request: httpx.Request) -> httpx.Response:
        status, headers, body = feed(request)
        return httpx.Response(status, headers=headers, text=body)

    return side_effect


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


@pytest.fixture
def client() -> AsyncCloudantV1:
    c = AsyncCloudantV1(NoAuthAuthenticator())
    c.set_service_url(URL)
    c.set_enable_gzip_compression(False)
    return c


def serve(mock: respx.MockRouter, feed: FakeFeed) -> FakeFeed:
    mock.post(CHANGES).mock(side_effect=answer(feed))
    return feed


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Back-off waits are recorded instead of slept."""
    waited: list[float] = []

    async def pause(self: AsyncChangesFollower, seconds: float) -> bool:
        waited.append(seconds)
        return self._stopped

    monkeypatch.setattr(AsyncChangesFollower, "_pause", pause)
    return waited


async def collect(items: AsyncIterator[ChangesResultItem]) -> list[ChangesResultItem]:
    """Everything the iterator delivers; fails (instead of hanging) after PATIENCE s."""
    with anyio_fail_after():
        return [item async for item in items]


def anyio_fail_after() -> Any:
    import anyio

    return anyio.fail_after(PATIENCE)


async def no_tasks_left(follower: AsyncChangesFollower) -> None:
    task = follower._task
    assert task is not None
    with anyio_fail_after():
        await asyncio.wait([task])


# -- one core: the synchronous follower's requests and rows ----------------------------


@pytest.mark.parametrize(
    ("options", "one_off"),
    [
        ({}, True),
        ({"limit": 15_000}, True),
        ({"since": "0", "limit": 12_345, "include_docs": True}, False),
        ({"doc_ids": ["a"], "filter": "_selector", "selector": {"t": 1}, "limit": 3}, False),
    ],
)
async def test_the_requests_and_rows_are_the_synchronous_followers(
    client: AsyncCloudantV1,
    mock: respx.MockRouter,
    options: dict[str, Any],
    one_off: bool,
) -> None:
    info = {"doc_count": 1000, "sizes": {"external": 1_000_000}}
    mock.get(f"{URL}/{DB}").respond(200, json=info)
    async_feed = serve(mock, FakeFeed(25_000, now=40))
    follower = AsyncChangesFollower(client, db=DB, **options)
    async_items = await collect(follower.start_one_off() if one_off else follower.start())

    sync_client = CloudantV1(NoAuthAuthenticator())
    sync_client.set_service_url(URL)
    sync_client.set_enable_gzip_compression(False)
    sync_feed = FakeFeed(25_000, now=40)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.GET, f"{URL}/{DB}", json=info)
        rsps.add_callback(responses.POST, CHANGES, callback=sync_feed)
        sync_follower = ChangesFollower(sync_client, db=DB, **options)
        sync_items = await asyncio.to_thread(
            list, sync_follower.start_one_off() if one_off else sync_follower.start()
        )
    assert async_feed.calls == sync_feed.calls
    assert [i.to_dict() for i in async_items] == [i.to_dict() for i in sync_items]
    assert all(isinstance(i, ChangesResultItem) for i in async_items)
    assert len(async_items) == options.get("limit", 25_000)


async def test_one_off_ends_without_pending(
    client: AsyncCloudantV1, mock: respx.MockRouter
) -> None:
    feed = serve(mock, FakeFeed(20_000, pending=False))
    items = await collect(AsyncChangesFollower(client, db=DB).start_one_off())
    assert len(items) == 20_000
    assert [c["since"] for c in feed.calls] == ["0", seq(10_000), seq(20_000)]


async def test_limit_zero_makes_no_request(client: AsyncCloudantV1, mock: respx.MockRouter) -> None:
    feed = serve(mock, FakeFeed(10))
    assert await collect(AsyncChangesFollower(client, db=DB, limit=0).start()) == []
    assert feed.calls == []


# -- options and their errors ----------------------------------------------------------


def test_options_are_checked_as_the_synchronous_followers(client: AsyncCloudantV1) -> None:
    with pytest.raises(ValueError, match=r"^The option 'timeout' is invalid when using Async"):
        AsyncChangesFollower(client, db=DB, timeout=5)
    with pytest.raises(ValueError, match="The option db must be provided"):
        AsyncChangesFollower(client)
    with pytest.raises(TypeError, match="unexpected options: include_doc"):
        AsyncChangesFollower(client, db=DB, include_doc=True)
    with pytest.raises(ValueError, match="Limit must not be negative"):
        AsyncChangesFollower(client, db=DB, limit=-1)
    client.set_http_config({"timeout": (60, 30)})
    with pytest.raises(ValueError, match="To use AsyncChangesFollower the client read"):
        AsyncChangesFollower(client, db=DB)


# -- errors -----------------------------------------------------------------------------


@pytest.fixture
def max_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every back-off is its ceiling."""
    monkeypatch.setattr(random, "uniform", lambda a, b: b)


@pytest.mark.parametrize(
    "fault",
    [
        429,
        503,
        httpx.ConnectError("connection refused"),
        httpx.ReadTimeout("read timed out"),
        "<html>Bad gateway</html>",
        '{"results":[{"seq":"0-x","id":"a","changes":[{"rev":"1-a"}]}',  # cut short
    ],
    ids=lambda f: f if isinstance(f, int) else type(f).__name__ + ":" + str(f)[:20],
)
async def test_transient_errors_are_retried_with_backoff(
    client: AsyncCloudantV1,
    mock: respx.MockRouter,
    pauses: list[float],
    max_jitter: None,
    fault: Fault,
) -> None:
    feed = serve(mock, FakeFeed(25, faults={0: fault, 1: fault, 2: fault}))
    items = await collect(AsyncChangesFollower(client, db=DB).start_one_off())
    assert [i.id for i in items][-25:] == [f"doc{n:06d}" for n in range(1, 26)]
    assert pauses == [0.1, 0.2, 0.4]  # full jitter's ceilings, doubling
    assert len(feed.calls) == 4


async def test_terminal_errors_end_the_follower_at_once(
    client: AsyncCloudantV1, mock: respx.MockRouter, pauses: list[float]
) -> None:
    feed = serve(mock, FakeFeed(10, faults={0: 404}))
    with pytest.raises(NotFoundError):
        await collect(AsyncChangesFollower(client, db=DB).start_one_off())
    assert len(feed.calls) == 1
    assert pauses == []


async def test_no_error_tolerance_ends_at_the_first_error(
    client: AsyncCloudantV1, mock: respx.MockRouter, pauses: list[float]
) -> None:
    serve(mock, FakeFeed(10, faults={0: 503}))
    with pytest.raises(ServiceUnavailableError):
        await collect(AsyncChangesFollower(client, db=DB, error_tolerance=0).start_one_off())
    assert pauses == []


async def test_rows_before_an_error_are_delivered_first(
    client: AsyncCloudantV1, mock: respx.MockRouter
) -> None:
    serve(mock, FakeFeed(None, faults={1: 403}))
    seen: list[str] = []

    async def consume() -> None:
        async for item in AsyncChangesFollower(client, db=DB, since="0").start():
            seen.append(item.id)

    with anyio_fail_after(), pytest.raises(ForbiddenError):
        await consume()
    assert len(seen) == 10_000


class _BreaksOff(httpx.AsyncByteStream):
    """A body that sends ``head`` and then loses its connection."""

    def __init__(self, head: bytes) -> None:
        self.head = head

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.head
        raise httpx.ReadError("connection reset by peer")


async def test_a_connection_lost_mid_body_resumes_after_the_rows_delivered(
    client: AsyncCloudantV1, mock: respx.MockRouter, pauses: list[float]
) -> None:
    rows = [row(n) for n in range(1, 2001)]
    head = ('{"results":[' + ",".join(json.dumps(r) for r in rows) + ',{"seq":"20').encode()
    feed = FakeFeed(3000)
    calls: list[str] = []

    def side_effect(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.params["since"])
        if len(calls) == 1:
            return httpx.Response(200, headers=JSON, stream=_BreaksOff(head))
        return answer(feed)(request)

    mock.post(CHANGES).mock(side_effect=side_effect)
    items = await collect(AsyncChangesFollower(client, db=DB).start_one_off())
    assert [i.id for i in items] == [f"doc{n:06d}" for n in range(1, 3001)]  # once each
    # The retry resumes after the last row delivered (what was read of the body after it,
    # less than one read, is read again), not from the start.
    assert calls[0] == "0"
    assert 1900 < number(calls[1]) <= 2000
    assert len(pauses) == 1


async def test_the_lost_connection_is_the_clients_error(
    client: AsyncCloudantV1, mock: respx.MockRouter, pauses: list[float]
) -> None:
    stream = _BreaksOff(b'{"results":[')
    mock.post(CHANGES).mock(return_value=httpx.Response(200, headers=JSON, stream=stream))
    follower = AsyncChangesFollower(client, db=DB, error_tolerance=0)
    with pytest.raises(ConnectionFailed, match=r"was cut off .* for POST /db/_changes"):
        await collect(follower.start_one_off())


# -- starting and stopping ----------------------------------------------------------------


async def test_start_twice_is_an_error(client: AsyncCloudantV1, mock: respx.MockRouter) -> None:
    serve(mock, FakeFeed(0))
    follower = AsyncChangesFollower(client, db=DB)
    await collect(follower.start_one_off())
    with pytest.raises(RuntimeError, match=r"^Cannot start a feed that has already started\.$"):
        follower.start()


async def test_stop_before_start_gives_an_empty_feed(
    client: AsyncCloudantV1, mock: respx.MockRouter
) -> None:
    feed = serve(mock, FakeFeed(10))
    follower = AsyncChangesFollower(client, db=DB)
    follower.stop()
    assert await collect(follower.start_one_off()) == []
    assert feed.calls == []


async def test_stop_from_inside_the_loop(client: AsyncCloudantV1, mock: respx.MockRouter) -> None:
    serve(mock, FakeFeed(None))
    follower = AsyncChangesFollower(client, db=DB, since="0")
    seen = []
    async for item in follower.start():
        seen.append(item.id)
        if len(seen) == 3:
            follower.stop()
    assert seen == ["doc000001", "doc000002", "doc000003"]
    await no_tasks_left(follower)


async def test_breaking_out_of_the_loop_stops_the_follower(
    client: AsyncCloudantV1, mock: respx.MockRouter
) -> None:
    serve(mock, FakeFeed(None))
    follower = AsyncChangesFollower(client, db=DB, since="0")
    items = follower.start()
    async for _ in items:
        break
    await items.aclose()  # type: ignore[attr-defined]
    assert follower._stopped
    await no_tasks_left(follower)


@pytest.fixture
def long_poll(mock: respx.MockRouter) -> asyncio.Event:
    """The feed answers with a long poll that waits (for ever) for a change; the event
    is set once the request is in."""
    in_request = asyncio.Event()

    async def side_effect(request: httpx.Request) -> httpx.Response:
        in_request.set()
        await asyncio.Event().wait()  # nothing to report, ever
        raise AssertionError("unreachable")

    mock.post(CHANGES).mock(side_effect=side_effect)
    return in_request


async def test_stop_from_another_task_ends_a_long_poll_at_once(
    client: AsyncCloudantV1, long_poll: asyncio.Event
) -> None:
    follower = AsyncChangesFollower(client, db=DB)
    seen: list[ChangesResultItem] = []

    async def consume() -> None:
        seen.extend([item async for item in follower.start()])

    consumer = asyncio.create_task(consume())
    with anyio_fail_after():
        await long_poll.wait()
        follower.stop()  # from this task, while the consumer waits on the long poll
        await consumer
    assert seen == []
    assert follower._task is not None
    assert follower._task.cancelled()


async def test_stop_from_another_thread_ends_a_long_poll(
    client: AsyncCloudantV1, long_poll: asyncio.Event
) -> None:
    follower = AsyncChangesFollower(client, db=DB)
    items = follower.start()
    consumer = asyncio.create_task(collect(items))
    with anyio_fail_after():
        await long_poll.wait()
        await asyncio.to_thread(follower.stop)
        assert await consumer == []
    await no_tasks_left(follower)


async def test_stop_during_backoff_ends_promptly(
    client: AsyncCloudantV1, mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(random, "uniform", lambda a, b: 60.0)  # a long wait
    feed = serve(mock, FakeFeed(10, faults=dict.fromkeys(range(100), 503)))
    follower = AsyncChangesFollower(client, db=DB)
    consumer = asyncio.create_task(collect(follower.start_one_off()))
    with anyio_fail_after():
        while not feed.calls:
            await asyncio.sleep(0.01)
        follower.stop()
        assert await consumer == []
    assert len(feed.calls) == 1


async def test_async_with_stops(client: AsyncCloudantV1, mock: respx.MockRouter) -> None:
    serve(mock, FakeFeed(None))
    async with AsyncChangesFollower(client, db=DB, since="0") as follower:
        items = follower.start()
        await items.__anext__()
    assert follower._stopped
    await no_tasks_left(follower)
    assert await collect(items) == []


async def test_latest_sequence_from_skips_pages_without_rows(
    client: AsyncCloudantV1, mock: respx.MockRouter
) -> None:
    pages = [
        {"results": [row(1), row(2), row(3)], "last_seq": seq(3)},
        {"results": [], "last_seq": seq(5)},
        {"results": [], "last_seq": seq(8)},
        {"results": [row(10)], "last_seq": seq(10)},
    ]
    faults: dict[int, Fault] = {n: json.dumps(p) for n, p in enumerate(pages)}
    serve(mock, FakeFeed(None, faults=faults))
    follower = AsyncChangesFollower(client, db=DB, since="0", limit=4)
    items = await collect(follower.start())
    assert [i.seq for i in items] == [seq(1), seq(2), seq(3), seq(10)]
    assert follower.latest_sequence_from(seq(3)) == seq(8)
    assert follower.latest_sequence_from(seq(2)) == seq(2)


async def test_a_slow_consumer_holds_the_producer_a_few_chunks_ahead(
    client: AsyncCloudantV1, mock: respx.MockRouter
) -> None:
    feed = serve(mock, FakeFeed(None))
    follower = AsyncChangesFollower(client, db=DB, since="0")
    items = follower.start()
    await items.__anext__()
    for _ in range(20):
        await asyncio.sleep(0)  # the producer runs while the consumer does nothing
    # The first page (10 000 rows) is read into at most 4 waiting chunks of about 500.
    assert len(feed.calls) == 1
    assert len(follower._handoff._items) <= 4
    follower.stop()
    assert await collect(items) == []


def test_stop_outside_a_loop_before_start_is_allowed(client: AsyncCloudantV1) -> None:
    follower = AsyncChangesFollower(client, db=DB)
    follower.stop()
    assert "stopped" in repr(follower)


async def test_unused_response_lines_do_not_matter(
    client: AsyncCloudantV1, mock: respx.MockRouter
) -> None:
    # PouchDB Server's long poll sends a newline every few seconds before its answer.
    body = "\n\n" + json.dumps({"results": [row(1)], "last_seq": seq(1)}) + "\n"

    mock.post(CHANGES).respond(200, headers=JSON, text=body)
    items = await collect(AsyncChangesFollower(client, db=DB, since="0", limit=1).start())
    assert [i.id for i in items] == ["doc000001"]

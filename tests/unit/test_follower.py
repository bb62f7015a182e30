"""ChangesFollower against a mocked ``_changes`` endpoint (responses + freezegun, no server):
options, modes, batch sizes, limit, terminal and transient errors, back-off, error
tolerance, stopping, the streaming parser and the checkpoint helper."""

from __future__ import annotations

import itertools
import json
import logging
import math
import random
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import freezegun
import freezegun.config
import pytest
import requests
import responses
from _fake_feed import (
    CHANGES,
    DB,
    JSON,
    URL,
    FakeFeed,
    Fault,
    Response,
    row,
    seq,
)
from freezegun import freeze_time
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudant_odm.client import (
    ApiException,
    BadRequestError,
    ChangesFollower,
    ChangesResultItem,
    CloudantV1,
    ForbiddenError,
    NoAuthAuthenticator,
    NotFoundError,
    ServiceUnavailableError,
    UnauthorizedError,
)
from cloudant_odm.client.follower import (
    BASE_DELAY,
    EXP_RETRY_GATE,
    FOREVER_MS,
    MAX_DELAY,
    _BadBody,
    _FeedParser,
    backoff_ceiling,
    backoff_delay,
)


@pytest.fixture
def client() -> CloudantV1:
    c = CloudantV1(authenticator=NoAuthAuthenticator())
    c.set_service_url(URL)
    c.set_enable_gzip_compression(False)
    return c


@pytest.fixture
def mock() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Back-off waits are recorded instead of slept."""
    waited: list[float] = []

    def pause(self: ChangesFollower, seconds: float) -> bool:
        waited.append(seconds)
        return self._stop_event.is_set()

    monkeypatch.setattr(ChangesFollower, "_pause", pause)
    return waited


@pytest.fixture
def make(
    client: CloudantV1, mock: responses.RequestsMock
) -> Iterator[Callable[..., ChangesFollower]]:
    """Build followers for the mocked server; each is stopped and its thread joined
    before the mock goes away."""
    made: list[ChangesFollower] = []

    def build(**kwargs: Any) -> ChangesFollower:
        kwargs.setdefault("db", DB)
        follower = ChangesFollower(client, **kwargs)
        made.append(follower)
        return follower

    yield build
    for follower in made:
        follower.stop()
        if follower._thread is not None:
            follower._thread.join(5)
            assert not follower._thread.is_alive()


def serve(mock: responses.RequestsMock, feed: FakeFeed) -> FakeFeed:
    mock.add_callback(responses.POST, CHANGES, callback=feed)
    return feed


def collect(follower: ChangesFollower, items: Iterator[ChangesResultItem]) -> list[Any]:
    """Everything the iterator delivers; fails (instead of hanging) after 10 s."""
    timer = threading.Timer(10, follower.stop)
    timer.daemon = True
    timer.start()
    started = time.monotonic()
    try:
        return list(items)
    finally:
        timer.cancel()
        assert time.monotonic() - started < 10, "the follower did not end by itself"


# -- options ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("descending", True),
        ("feed", "continuous"),
        ("heartbeat", 5000),
        ("last_event_id", "9-abc"),
        ("timeout", 1000),
        ("filter_params", {"a": "b"}),
    ],
)
def test_rejected_option(client: CloudantV1, name: str, value: Any) -> None:
    with pytest.raises(ValueError, match=r"^The option '.+' is invalid when using") as info:
        ChangesFollower(client, db=DB, **{name: value})
    assert str(info.value) == f"The option '{name}' is invalid when using ChangesFollower."


def test_several_rejected_options_are_named_together(client: CloudantV1) -> None:
    with pytest.raises(ValueError, match=r"^The options ") as info:
        ChangesFollower(client, db=DB, timeout=5, descending=True, filter="_view")
    assert str(info.value) == (
        "The options descending, timeout, filter=_view are invalid when using ChangesFollower."
    )


@pytest.mark.parametrize("name", ["_design", "_doc_ids", "_view", "ddoc/by_type"])
def test_filters_other_than_selector_are_rejected(client: CloudantV1, name: str) -> None:
    with pytest.raises(ValueError, match=f"The option 'filter={name}' is invalid"):
        ChangesFollower(client, db=DB, filter=name)


def test_allowed_options_and_none_values(client: CloudantV1) -> None:
    ChangesFollower(
        client,
        db=DB,
        filter="_selector",
        selector={"type": "order"},
        include_docs=True,
        conflicts=True,
        style="all_docs",
        seq_interval=100,
        since="5-abc",
        limit=7,
        doc_ids=["a"],
        fields=["a"],
        attachments=False,
        att_encoding_info=False,
        view=None,
        descending=None,  # None means "not given", as in the SDK
        timeout=None,
        headers={"X-Test": "1"},
    )


def test_db_is_required_and_checked(client: CloudantV1) -> None:
    with pytest.raises(ValueError, match="db must be provided") as info:
        ChangesFollower(client)
    assert str(info.value) == "The option db must be provided when using ChangesFollower."
    with pytest.raises(ValueError, match="Invalid database name"):
        ChangesFollower(client, db="_bad")


def test_unknown_option_is_a_type_error(client: CloudantV1) -> None:
    with pytest.raises(TypeError, match="unexpected options: include_doc"):
        ChangesFollower(client, db=DB, include_doc=True)


def test_limit_is_checked(client: CloudantV1) -> None:
    with pytest.raises(ValueError, match=r"^Limit must not be negative\.$"):
        ChangesFollower(client, db=DB, limit=-1)
    with pytest.raises(TypeError):
        ChangesFollower(client, db=DB, limit="10")


@pytest.mark.parametrize(
    "tolerance", [0, 1, 1500.5, FOREVER_MS, timedelta(minutes=5), timedelta.max, None, math.inf]
)
def test_error_tolerance_accepted(client: CloudantV1, tolerance: Any) -> None:
    ChangesFollower(client, db=DB, error_tolerance=tolerance)


def test_error_tolerance_checked(client: CloudantV1) -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        ChangesFollower(client, db=DB, error_tolerance=-1)
    with pytest.raises(ValueError, match="must not be larger than"):
        ChangesFollower(client, db=DB, error_tolerance=FOREVER_MS + 1)
    with pytest.raises(TypeError):
        ChangesFollower(client, db=DB, error_tolerance="1s")  # type: ignore[arg-type]


@pytest.mark.parametrize("timeout", [60, 60.0, (60, 60), 120, 300, (120, 300), None, (60, None)])
def test_client_timeout_long_enough(client: CloudantV1, timeout: Any) -> None:
    client.set_http_config({"timeout": timeout})
    ChangesFollower(client, db=DB)


@pytest.mark.parametrize(
    "timeout", [15, 30, (30, 15), 57, (57, 57), (60, 59.9), 59.999, (10, 150), (5, None)]
)
def test_client_timeout_too_short(client: CloudantV1, timeout: Any) -> None:
    """Both timeouts, as the SDK checks them (its message starts the same way)."""
    client.set_http_config({"timeout": timeout})
    with pytest.raises(ValueError, match="read and call timeouts must be at least 60 s"):
        ChangesFollower(client, db=DB)


def test_client_timeout_message_names_both() -> None:
    service = CloudantV1(NoAuthAuthenticator())
    service.set_http_config({"timeout": (10, 150)})
    with pytest.raises(ValueError, match=r"they are 10 s \(connect\) and 150 s \(read\)"):
        ChangesFollower(service, db=DB)


def test_default_client_timeout_passes(client: CloudantV1) -> None:
    ChangesFollower(client, db=DB)  # (60, 150)


# -- modes, batches, limit ---------------------------------------------------------------


def test_one_off_reads_everything_in_batches(
    make: Callable[..., ChangesFollower], mock: responses.RequestsMock
) -> None:
    feed = serve(mock, FakeFeed(25_000))
    follower = make()
    items = collect(follower, follower.start_one_off())
    assert [item.id for item in items] == [f"doc{n:06d}" for n in range(1, 25_001)]
    assert all(isinstance(item, ChangesResultItem) for item in items)
    assert items[0].changes[0].rev == f"1-{1:032x}"
    assert [(c["feed"], c["since"], c["limit"]) for c in feed.calls] == [
        ("normal", "0", "10000"),
        ("normal", seq(10_000), "10000"),
        ("normal", seq(20_000), "10000"),
    ]
    assert all("timeout" not in c for c in feed.calls)


@pytest.mark.parametrize(("total", "requests_made"), [(25_000, 3), (20_000, 3), (0, 1)])
def test_one_off_ends_without_pending(
    make: Callable[..., ChangesFollower],
    mock: responses.RequestsMock,
    total: int,
    requests_made: int,
) -> None:
    # PouchDB Server sends no "pending": a page shorter than the limit is the last one.
    feed = serve(mock, FakeFeed(total, pending=False))
    follower = make()
    assert len(collect(follower, follower.start_one_off())) == total
    assert len(feed.calls) == requests_made


def test_one_off_from_a_given_since(
    make: Callable[..., ChangesFollower], mock: responses.RequestsMock
) -> None:
    feed = serve(mock, FakeFeed(30))
    follower = make(since=seq(25))
    assert [i.seq for i in collect(follower, follower.start_one_off())] == [
        seq(n) for n in range(26, 31)
    ]
    assert feed.calls[0]["since"] == seq(25)


def test_listen_mode_long_polls_from_now(
    make: Callable[..., ChangesFollower], mock: responses.RequestsMock
) -> None:
    feed = serve(mock, FakeFeed(None, now=40))
    follower = make(limit=15)
    items = collect(follower, follower.start())
    assert [i.id for i in items] == [f"doc{n:06d}" for n in range(41, 56)]
    first = feed.calls[0]
    assert (first["feed"], first["since"], first["timeout"], first["limit"]) == (
        "longpoll",
        "now",
        "57000",
        "15",
    )


def test_listen_mode_from_a_given_since(
    make: Callable[..., ChangesFollower], mock: responses.RequestsMock
) -> None:
    feed = serve(mock, FakeFeed(None))
    follower = make(since="0", limit=3)
    assert [i.id for i in collect(follower, follower.start())] == [
        "doc000001",
        "doc000002",
        "doc000003",
    ]
    assert feed.calls[0]["since"] == "0"


@pytest.mark.parametrize(
    ("limit", "asked"),
    [(100, ["100"]), (10_000, ["10000"]), (10_123, ["10000", "123"]), (20_001, ["10000"] * 2)],
)
def test_limit_ends_the_follower(
    make: Callable[..., ChangesFollower],
    mock: responses.RequestsMock,
    limit: int,
    asked: list[str],
) -> None:
    feed = serve(mock, FakeFeed(None))
    follower = make(limit=limit)
    items = collect(follower, follower.start_one_off())
    assert len(items) == limit
    assert len({i.id for i in items}) == limit
    if limit == 20_001:
        asked = [*asked, "1"]
    assert [c["limit"] for c in feed.calls] == asked


def test_limit_in_listen_mode(
    make: Callable[..., ChangesFollower], mock: responses.RequestsMock
) -> None:
    feed = serve(mock, FakeFeed(None))
    follower = make(limit=10_123, since="0")
    assert len(collect(follower, follower.start())) == 10_123
    assert [c["limit"] for c in feed.calls] == ["10000", "123"]


def test_limit_zero_makes_no_request(
    make: Callable[..., ChangesFollower], mock: responses.RequestsMock
) -> None:
    feed = serve(mock, FakeFeed(10))
    follower = make(limit=0)
    assert collect(follower, follower.start_one_off()) == []
    assert feed.calls == []


def test_server_sending_more_rows_than_the_limit(
    make: Callable[..., ChangesFollower], mock: responses.RequestsMock
) -> None:
    def too_many(params: dict[str, str]) -> Response:
        body = {"results": [row(n) for n in range(1, 11)], "last_seq": seq(10)}
        return 200, JSON, json.dumps(body)

    serve(mock, FakeFeed(10, faults={0: too_many}))
    follower = make(limit=4)
    assert len(collect(follower, follower.start_one_off())) == 4


def db_info(mock: responses.RequestsMock, **info: Any) -> None:
    mock.add(responses.GET, f"{URL}/{DB}", json={"db_name": DB, **info})


@pytest.mark.parametrize(
    ("info", "limit", "expected"),
    [
        ({"doc_count": 1000, "sizes": {"external": 1_000_000}}, None, 3495),
        ({"doc_count": 1000, "sizes": {"external": 1_000_000}}, 100, 100),
        ({"doc_count": 10, "sizes": {"external": 10_000_000_000}}, None, 1),
        ({"doc_count": 10, "sizes": {"external": 100}}, None, 10_280),  # tiny docs: more
        ({"doc_count": 3, "update_seq": 3}, None, 10_000),  # PouchDB: no sizes
        ({"doc_count": 0, "sizes": {"external": 0}}, None, 10_000),  # empty database
    ],
)
def test_batch_size_with_include_docs(
    make: Callable[..., ChangesFollower],
    mock: responses.RequestsMock,
    info: dict[str, Any],
    limit: int | None,
    expected: int,
) -> None:
    db_info(mock, **info)
    feed = serve(mock, FakeFeed(0))
    follower = make(include_docs=True, limit=limit)
    collect(follower, follower.start_one_off())
    assert feed.calls[0]["limit"] == str(expected)
    assert feed.calls[0]["include_docs"] == "true"


def test_batch_size_without_include_docs_reads_no_db_info(
    make: Callable[..., ChangesFollower], mock: responses.RequestsMock
) -> None:
    feed = serve(mock, FakeFeed(0))
    follower = make(include_docs=False)
    collect(follower, follower.start_one_off())
    assert feed.calls[0]["limit"] == "10000"
    assert [c.request.method for c in mock.calls] == ["POST"]


def test_options_are_sent(
    make: Callable[..., ChangesFollower], mock: responses.RequestsMock
) -> None:
    feed = serve(mock, FakeFeed(2))
    follower = make(filter="_selector", selector={"type": "order"}, style="all_docs")
    collect(follower, follower.start_one_off())
    assert feed.calls[0]["filter"] == "_selector"
    assert feed.calls[0]["style"] == "all_docs"
    assert json.loads(mock.calls[0].request.body or b"{}") == {"selector": {"type": "order"}}


def test_documents_are_delivered(
    make: Callable[..., ChangesFollower], mock: responses.RequestsMock
) -> None:
    db_info(mock, doc_count=1, sizes={"external": 50})
    body = {
        "results": [
            {
                "seq": seq(1),
                "id": "a",
                "changes": [{"rev": "1-a"}],
                "doc": {"_id": "a", "_rev": "1-a", "name": "Ünïcødé ✓"},
            },
            {"seq": seq(2), "id": "b", "changes": [{"rev": "2-b"}], "deleted": True},
        ],
        "last_seq": seq(2),
        "pending": 0,
    }
    serve(mock, FakeFeed(2, faults={0: json.dumps(body, ensure_ascii=False)}))
    follower = make(include_docs=True)
    a, b = collect(follower, follower.start_one_off())
    assert a.doc == {"_id": "a", "_rev": "1-a", "name": "Ünïcødé ✓"}
    assert b.deleted is True
    assert b.doc is None


def test_null_seqs_are_delivered(
    make: Callable[..., ChangesFollower], mock: responses.RequestsMock
) -> None:
    # Under seq_interval CouchDB sends "seq": null for most rows; the SDK rejects them.
    feed = serve(mock, FakeFeed(25, null_seqs=True))
    follower = make(seq_interval=10, limit=20)
    items = collect(follower, follower.start_one_off())
    assert [i.id for i in items] == [f"doc{n:06d}" for n in range(1, 21)]
    assert [i.seq for i in items[:19]] == [None] * 19
    assert items[19].seq == seq(20)
    assert feed.calls[0]["seq_interval"] == "10"


def test_null_seq_pages_continue_from_last_seq(
    make: Callable[..., ChangesFollower], mock: responses.RequestsMock
) -> None:
    def page(params: dict[str, str]) -> Response:
        rows = [row(n, with_seq=False) for n in (1, 2)]
        body = {"results": rows, "last_seq": seq(2), "pending": 1}
        return 200, JSON, json.dumps(body)

    feed = serve(mock, FakeFeed(3, faults={0: page}))
    follower = make(limit=3)
    items = collect(follower, follower.start_one_off())
    assert [i.seq for i in items] == [None, None, seq(3)]
    assert feed.calls[1]["since"] == seq(2)


# -- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, BadRequestError),
        (401, UnauthorizedError),
        (403, ForbiddenError),
        (404, NotFoundError),
    ],
)
@pytest.mark.parametrize("listen", [False, True])
def test_terminal_errors_end_the_follower_at_once(
    make: Callable[..., ChangesFollower],
    mock: responses.RequestsMock,
    pauses: list[float],
    status: int,
    error_class: type[ApiException],
    listen: bool,
) -> None:
    feed = serve(mock, FakeFeed(10, faults={0: status}))
    follower = make()  # error tolerance: for ever
    with pytest.raises(error_class) as info:
        collect(follower, follower.start() if listen else follower.start_one_off())
    assert info.value.status_code == status
    assert len(feed.calls) == 1
    assert pauses == []


@pytest.mark.parametrize(
    "fault",
    [
        429,
        500,
        502,
        503,
        504,
        requests.ConnectionError("connection refused"),
        requests.ReadTimeout("read timed out"),
        "<html>Bad gateway</html>",  # 200 with a body that is not JSON
        '{"results":[{"seq":"0-x","id":"a","changes":[{"rev":"1-a"}]}',  # cut short
        '{"results":[], "last_seq":',  # cut short after the rows
    ],
    ids=lambda f: f if isinstance(f, int) else type(f).__name__ + ":" + str(f)[:20],
)
def test_transient_errors_are_retried(
    make: Callable[..., ChangesFollower],
    mock: responses.RequestsMock,
    pauses: list[float],
    fault: Fault,
) -> None:
    feed = serve(mock, FakeFeed(25, faults={0: fault, 1: fault, 2: fault}))
    follower = make()
    items = collect(follower, follower.start_one_off())
    ids = [i.id for i in items]
    # A page cut short delivers the rows it had; the retry resumes after them.
    assert ids[-25:] == [f"doc{n:06d}" for n in range(1, 26)]
    assert len(pauses) == 3
    assert len(feed.calls) == 4


def test_a_page_cut_short_resumes_after_the_rows_delivered(
    make: Callable[..., ChangesFollower], mock: responses.RequestsMock, pauses: list[float]
) -> None:
    feed = FakeFeed(2000)
    feed.faults = {0: feed.truncated(after=700), 1: feed.truncated(after=3)}
    serve(mock, feed)
    follower = make(limit=1000)
    items = collect(follower, follower.start_one_off())
    assert [i.id for i in items] == [f"doc{n:06d}" for n in range(1, 1001)]  # once each
    assert [c["since"] for c in feed.calls] == ["0", seq(700), seq(703)]
    assert [c["limit"] for c in feed.calls] == ["1000", "300", "297"]
    assert len(pauses) == 2


def test_a_row_that_is_not_a_change_ends_the_follower(
    make: Callable[..., ChangesFollower], mock: responses.RequestsMock, pauses: list[float]
) -> None:
    serve(mock, FakeFeed(1, faults={0: '{"results":[{"seq":"1-x"}],"last_seq":"1-x"}'}))
    follower = make()
    with pytest.raises(ValueError, match="not a change"):
        collect(follower, follower.start_one_off())
    assert pauses == []


def test_rows_before_an_error_are_delivered_first(
    make: Callable[..., ChangesFollower], mock: responses.RequestsMock
) -> None:
    serve(mock, FakeFeed(None, faults={1: 403}))
    follower = make(since="0")
    seen: list[str] = []
    items = follower.start()

    def consume() -> None:
        for item in items:
            seen.append(item.id)

    with pytest.raises(ForbiddenError):
        consume()
    assert len(seen) == 10_000


def test_no_error_tolerance_ends_at_the_first_error(
    make: Callable[..., ChangesFollower], mock: responses.RequestsMock, pauses: list[float]
) -> None:
    feed = serve(mock, FakeFeed(10, faults={0: 503}))
    follower = make(error_tolerance=0)
    with pytest.raises(ServiceUnavailableError):
        collect(follower, follower.start_one_off())
    assert len(feed.calls) == 1
    assert pauses == []


@pytest.fixture
def frozen_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """freezegun gives threads started by ``threading`` the real clock (its default
    ignore list); the follower's producer thread must see the frozen one."""
    ignore = [name for name in freezegun.config.settings.default_ignore_list if name != "threading"]
    monkeypatch.setattr(freezegun.config.settings, "default_ignore_list", ignore)


@pytest.fixture
def max_jitter(monkeypatch: pytest.MonkeyPatch) -> list[tuple[float, float]]:
    """random.uniform(a, b) returns b, so every back-off is its ceiling; calls recorded."""
    calls: list[tuple[float, float]] = []

    def uniform(a: float, b: float) -> float:
        calls.append((a, b))
        return b

    monkeypatch.setattr(random, "uniform", uniform)
    return calls


def test_error_tolerance_exceeded_ends_with_the_last_error(
    make: Callable[..., ChangesFollower],
    mock: responses.RequestsMock,
    monkeypatch: pytest.MonkeyPatch,
    max_jitter: list[tuple[float, float]],
    frozen_threads: None,
) -> None:
    feed = serve(mock, FakeFeed(10, faults=dict.fromkeys(range(100), 503)))
    with freeze_time("2026-01-01 00:00:00") as frozen:
        waited: list[float] = []

        def pause(self: ChangesFollower, seconds: float) -> bool:
            waited.append(seconds)
            frozen.tick(timedelta(seconds=seconds))
            return False

        monkeypatch.setattr(ChangesFollower, "_pause", pause)
        follower = make(error_tolerance=1000)
        with pytest.raises(ServiceUnavailableError) as info:
            collect(follower, follower.start_one_off())
    # Failing for 0, 0.1, 0.3, 0.7 s: retried; at 1.5 s (>= 1 s since the start) it ends.
    assert waited == [0.1, 0.2, 0.4, 0.8]
    assert len(feed.calls) == 5
    assert info.value.reason == "fault at request 4"


def test_error_tolerance_counts_from_the_last_success(
    make: Callable[..., ChangesFollower],
    mock: responses.RequestsMock,
    monkeypatch: pytest.MonkeyPatch,
    max_jitter: list[tuple[float, float]],
    frozen_threads: None,
) -> None:
    # Three failures (0.7 s of back-off), a success, three more: 1.4 s in all, but never
    # 1 s since the last success.
    feed = FakeFeed(None)

    def one_row(params: dict[str, str]) -> Response:
        return 200, JSON, json.dumps({"results": [row(1)], "last_seq": seq(1), "pending": 5})

    feed.faults = {0: 500, 1: 500, 2: 500, 3: one_row, 4: 500, 5: 500, 6: 500}
    serve(mock, feed)
    with freeze_time("2026-01-01 00:00:00") as frozen:

        def pause(self: ChangesFollower, seconds: float) -> bool:
            frozen.tick(timedelta(seconds=seconds))
            return False

        monkeypatch.setattr(ChangesFollower, "_pause", pause)
        follower = make(error_tolerance=timedelta(seconds=1), limit=2, since="0")
        items = collect(follower, follower.start())
    assert [i.id for i in items] == ["doc000001", "doc000002"]
    assert len(feed.calls) == 8
    # After the success the back-off starts again from its base.
    assert [b for _, b in max_jitter] == [0.1, 0.2, 0.4, 0.1, 0.2, 0.4]


def test_full_jitter_backoff_bounds(
    make: Callable[..., ChangesFollower],
    mock: responses.RequestsMock,
    pauses: list[float],
    max_jitter: list[tuple[float, float]],
) -> None:
    feed = serve(mock, FakeFeed(3, faults=dict.fromkeys(range(12), 429)))
    follower = make()
    assert len(collect(follower, follower.start_one_off())) == 3
    ceilings = [0.1, 0.2, 0.4, 0.8, 1.6, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0]
    assert max_jitter == [(0.0, c) for c in ceilings]
    assert pauses == ceilings
    assert len(feed.calls) == 13


def test_backoff_constants() -> None:
    # Never more than 5 s between attempts: a follower resumes within seconds of its
    # server coming back, however long the outage was.
    assert (BASE_DELAY, MAX_DELAY, EXP_RETRY_GATE) == (0.1, 5.0, 5)
    assert [backoff_ceiling(n) for n in (0, 1, 4, 5, 6, 100)] == [0.1, 0.2, 1.6, 5.0, 5.0, 5.0]


@settings(max_examples=200)
@given(st.integers(min_value=0, max_value=200))
def test_backoff_delay_is_within_its_ceiling(retry: int) -> None:
    delay = backoff_delay(retry)
    assert 0.0 <= delay <= backoff_ceiling(retry)
    assert delay == round(delay, 3)


def test_transport_errors_that_are_not_transient_end_at_once(
    make: Callable[..., ChangesFollower], mock: responses.RequestsMock, pauses: list[float]
) -> None:
    serve(mock, FakeFeed(1, faults={0: RuntimeError("a bug")}))
    follower = make()
    with pytest.raises(RuntimeError, match="a bug"):
        collect(follower, follower.start_one_off())
    assert pauses == []


# -- starting and stopping -----------------------------------------------------------


def test_start_twice_is_an_error(
    make: Callable[..., ChangesFollower], mock: responses.RequestsMock
) -> None:
    serve(mock, FakeFeed(0))
    follower = make()
    collect(follower, follower.start_one_off())
    with pytest.raises(RuntimeError, match=r"^Cannot start a feed that has already started\.$"):
        follower.start()


def test_stop_before_start_gives_an_empty_feed(
    make: Callable[..., ChangesFollower], mock: responses.RequestsMock
) -> None:
    feed = serve(mock, FakeFeed(10))
    follower = make()
    follower.stop()
    assert list(follower.start_one_off()) == []
    assert feed.calls == []


def test_stop_from_inside_the_loop(
    make: Callable[..., ChangesFollower], mock: responses.RequestsMock
) -> None:
    serve(mock, FakeFeed(None))
    follower = make(since="0")
    seen = []
    for item in follower.start():
        seen.append(item.id)
        if len(seen) == 3:
            follower.stop()
    assert seen == ["doc000001", "doc000002", "doc000003"]
    assert follower._thread is not None
    follower._thread.join(5)
    assert not follower._thread.is_alive()


def test_breaking_out_of_the_loop_stops_the_follower(
    make: Callable[..., ChangesFollower], mock: responses.RequestsMock
) -> None:
    serve(mock, FakeFeed(None))
    follower = make(since="0")
    for _ in follower.start():
        break
    assert follower._stop_event.is_set()
    assert follower._thread is not None
    follower._thread.join(5)
    assert not follower._thread.is_alive()


def test_stop_from_another_thread_wakes_a_consumer_waiting_on_a_long_poll(
    make: Callable[..., ChangesFollower], mock: responses.RequestsMock
) -> None:
    release = threading.Event()
    in_request = threading.Event()

    def long_poll(params: dict[str, str]) -> Response:
        in_request.set()
        release.wait(30)  # a long poll with nothing to report
        return 200, JSON, json.dumps({"results": [], "last_seq": seq(0)})

    serve(mock, FakeFeed(0, faults={0: long_poll}))
    follower = make()
    try:
        items = follower.start()
        assert in_request.wait(5)
        threading.Timer(0.2, follower.stop).start()
        started = time.monotonic()
        assert list(items) == []
        assert time.monotonic() - started < 1.0
    finally:
        release.set()


def test_stop_during_backoff_ends_promptly(
    make: Callable[..., ChangesFollower], mock: responses.RequestsMock
) -> None:
    feed = serve(mock, FakeFeed(10, faults=dict.fromkeys(range(100), 503)))
    follower = make()
    items = follower.start_one_off()
    threading.Timer(0.5, follower.stop).start()
    started = time.monotonic()
    assert list(items) == []
    assert time.monotonic() - started < 1.5
    assert follower._thread is not None
    follower._thread.join(2)
    assert not follower._thread.is_alive()
    assert len(feed.calls) >= 2


def test_context_manager_stops(
    make: Callable[..., ChangesFollower], mock: responses.RequestsMock
) -> None:
    serve(mock, FakeFeed(None))
    with make(since="0") as follower:
        items = follower.start()
        next(items)
    assert follower._stop_event.is_set()
    assert list(items) == []


# -- checkpoints ----------------------------------------------------------------------


def test_latest_sequence_from_skips_pages_without_rows(
    make: Callable[..., ChangesFollower], mock: responses.RequestsMock
) -> None:
    # A filtered feed: rows 1-3, then two pages with no match, then row 10.
    pages = [
        {"results": [row(1), row(2), row(3)], "last_seq": seq(3)},
        {"results": [], "last_seq": seq(5)},
        {"results": [], "last_seq": seq(8)},
        {"results": [row(10)], "last_seq": seq(10)},
    ]
    faults: dict[int, Fault] = {n: json.dumps(p) for n, p in enumerate(pages)}
    serve(mock, FakeFeed(None, faults=faults))
    follower = make(since="0", limit=4)
    assert follower.latest_sequence_from(seq(3)) == seq(3)  # not started: unchanged
    items = collect(follower, follower.start())
    assert [i.seq for i in items] == [seq(1), seq(2), seq(3), seq(10)]
    assert follower.latest_sequence_from(seq(3)) == seq(8)
    assert follower.latest_sequence_from(seq(2)) == seq(2)  # inside a page: unchanged
    assert follower.latest_sequence_from(seq(10)) == seq(10)
    assert follower.latest_sequence_from("77-unknown") == "77-unknown"
    with pytest.raises(ValueError, match="must be a non-empty string"):
        follower.latest_sequence_from("")


def test_checkpoint_window_is_bounded(
    make: Callable[..., ChangesFollower], mock: responses.RequestsMock
) -> None:
    serve(mock, FakeFeed(None))
    follower = make(since="0", limit=1)
    collect(follower, follower.start())
    for n in range(5000):
        follower._core.mark(0, None, seq(n))
    assert len(follower._core.marks) < 2048 + 1024


# -- the streaming parser ------------------------------------------------------------

BODY = (
    '{"results":[\n{"seq":"1-a","id":"é✓","changes":[{"rev":"1-x"}]},\n'
    '{"seq":null,"id":"b","changes":[{"rev":"1-y"}],"doc":{"n":[1,2.5,{"x":"}]"}]}}\n],\n'
    '"last_seq":12345,\n"pending":678}\n'
)


def parse(chunks: list[bytes]) -> tuple[list[Any], dict[str, Any]]:
    parser = _FeedParser()
    rows: list[Any] = []
    for chunk in chunks:
        rows += parser.feed(chunk)
    rows += parser.close()
    return rows, parser.fields


def test_parser_whole_body() -> None:
    rows, fields = parse([BODY.encode()])
    assert rows == json.loads(BODY)["results"]
    assert fields == {"last_seq": 12345, "pending": 678}


def test_parser_byte_by_byte() -> None:
    data = BODY.encode()
    rows, fields = parse([data[i : i + 1] for i in range(len(data))])
    assert rows == json.loads(BODY)["results"]
    assert fields == {"last_seq": 12345, "pending": 678}


@given(st.lists(st.integers(min_value=0, max_value=len(BODY.encode())), max_size=12))
def test_parser_any_split(cuts: list[int]) -> None:
    data = BODY.encode()
    points = [0, *sorted(cuts), len(data)]
    rows, fields = parse([data[a:b] for a, b in itertools.pairwise(points)])
    assert rows == json.loads(BODY)["results"]
    assert fields == {"last_seq": 12345, "pending": 678}


def test_parser_rows_arrive_as_soon_as_complete() -> None:
    parser = _FeedParser()
    assert parser.feed(b'{"results":[{"id":"a"}') == [{"id": "a"}]
    assert parser.chars == 10
    assert parser.feed(b',{"id":"b"},') == [{"id": "b"}]
    assert parser.chars == 20
    assert parser.feed(b'],"last_seq":1') == []  # the number may go on
    assert parser.feed(b"2}") == []
    assert parser.close() == []
    assert parser.fields == {"last_seq": 12}


@pytest.mark.parametrize(
    "body",
    [
        "<html>502</html>",
        "[1, 2]",
        '{"results": 5}',
        '{"results":[{"id":"a"}',
        '{"results":[]} trailing',
        '{"results":[], "last_seq": 1',
        "",
    ],
)
def test_parser_rejects_bodies_that_are_not_a_feed(body: str) -> None:
    with pytest.raises(_BadBody):
        parse([body.encode()])


def test_parser_large_row_in_small_chunks_is_linear() -> None:
    # Counted in characters the decoder is given to read, not timed: a parser that
    # retried the cut row at every chunk would read it about 2 000 times.
    doc = {"text": "x" * 2_000_000}
    data = json.dumps({"results": [{"id": "big", "doc": doc}], "last_seq": "1"}).encode()
    read: list[int] = []

    class CountingDecoder(json.JSONDecoder):
        def raw_decode(self, s: str, idx: int = 0) -> tuple[Any, int]:
            read.append(len(s) - idx)
            return super().raw_decode(s, idx)

        def decode(self, s: str, _w: Any = None) -> Any:
            read.append(len(s))
            return super().decode(s)

    parser = _FeedParser()
    parser._json = CountingDecoder()
    rows: list[Any] = []
    for i in range(0, len(data), 1024):
        rows += parser.feed(data[i : i + 1024])
    rows += parser.close()
    assert rows[0]["doc"] == doc
    assert sum(read) < 4 * len(data)


# Rows as CouchDB sends them (",\r\n" between rows) and as PouchDB Server does (compact).
def feed_text(rows: list[Any], *, couch: bool, last_seq: Any = "9-z") -> str:
    if couch:
        inner = ",\r\n".join(json.dumps(r, separators=(",", ":")) for r in rows)
        return '{"results":[\n' + inner + '\n],\n"last_seq":' + json.dumps(last_seq) + "}\n"
    body = {"results": rows, "last_seq": last_seq}
    return json.dumps(body, separators=(",", ":"))


def doc_row(n: int, doc: Any = None, **extra: Any) -> dict[str, Any]:
    base = {"seq": f"{n}-g1AAAA", "id": f"d{n}", "changes": [{"rev": f"1-{n:x}"}]}
    if doc is not None:
        base["doc"] = doc
    return {**base, **extra}


def count_single_rows(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the values the parser decodes one at a time (rows outside a group)."""
    calls: list[int] = []
    single = _FeedParser._value

    def counted(self: _FeedParser, buf: str, pos: int, final: bool) -> tuple[Any, int]:
        value, after = single(self, buf, pos, final)
        if after >= 0 and self._state.name == "ROWS":
            calls.append(pos)
        return value, after

    monkeypatch.setattr(_FeedParser, "_value", counted)
    return calls


@pytest.mark.parametrize("couch", [True, False])
def test_parser_takes_the_rows_received_as_a_group(
    couch: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [doc_row(n, {"_id": f"d{n}", "n": n, "tags": ["a"]}) for n in range(1, 201)]
    rows[7] = doc_row(8, {"_id": "d8", "_deleted": True}, deleted=True)
    rows[9]["seq"] = None  # seq_interval
    single = count_single_rows(monkeypatch)
    parsed, fields = parse([feed_text(rows, couch=couch).encode()])
    assert parsed == rows
    assert fields == {"last_seq": "9-z"}
    assert len(single) <= 3  # the first row, the last one, and perhaps one more


def test_parser_groups_cut_anywhere_give_the_same_rows() -> None:
    rows = [doc_row(n, {"_id": f"d{n}", "text": "é✓" * (n % 7)}) for n in range(1, 120)]
    data = feed_text(rows, couch=True).encode()
    for size in (1, 7, 100, 1000, 4096, 65536):
        parsed, _ = parse([data[i : i + size] for i in range(0, len(data), size)])
        assert parsed == rows, size


def test_parser_counts_the_characters_of_its_rows() -> None:
    rows = [doc_row(n) for n in range(1, 50)]
    text = feed_text(rows, couch=False)
    parser = _FeedParser()
    assert parser.feed(text.encode()) + parser.close() == rows
    # Each row's text, and some of the separators between them (those inside a group).
    inner = text[len('{"results":[') : text.index('],"last_seq"')]
    assert len(inner) - len(rows) < parser.chars <= len(inner)


def test_parser_feed_without_a_final_newline() -> None:
    rows = [doc_row(n) for n in range(1, 30)]
    data = feed_text(rows, couch=True).rstrip("\n").encode()
    assert data.endswith(b"}")
    parsed, fields = parse([data[:-1], data[-1:]])
    assert parsed == rows
    assert fields == {"last_seq": "9-z"}


# Documents holding what a row boundary looks like: nested objects that start as rows
# do, and strings with row text in them.
_LOOKALIKES = [
    {"items": [{"seq": "1-x", "id": "a"}, {"seq": "2-y", "id": "b", "changes": []}]},
    {"history": [{"id": "a", "changes": [{"rev": "1"}]}, {"id": "b", "changes": []}]},
    {"note": '},{"seq":"3-z","id":"q","changes":[{"rev":"1-a"}]},{"seq":'},
    {"note": '"},\r\n{"id":"x","changes":'},
    {"deep": {"seq": None, "id": "n", "x": [[{"seq": 1, "id": 2}]]}},
    # More lookalikes in a row than the parser tries before it parses rows one at a time.
    {f"k{i}": [{"seq": i, "id": "x"}, {"id": "y", "changes": i}] for i in range(10)},
]


@given(
    st.lists(
        st.tuples(st.sampled_from([None, *_LOOKALIKES]), st.booleans(), st.booleans()),
        min_size=1,
        max_size=40,
    ),
    st.booleans(),
    st.lists(st.integers(min_value=0, max_value=1 << 16), max_size=8),
)
@settings(max_examples=150, deadline=None)
def test_parser_rows_that_look_like_row_boundaries_inside(
    docs: list[tuple[Any, bool, bool]], couch: bool, cuts: list[int]
) -> None:
    rows = [
        doc_row(n, doc, **({"deleted": True} if deleted else {}))
        for n, (doc, deleted, _) in enumerate(docs, 1)
    ]
    if not couch:  # PouchDB's rows begin with the id
        rows = [{"id": r["id"], **{k: v for k, v in r.items() if k != "id"}} for r in rows]
    # Some rows with their members the other way round: they don't start as the first.
    rows = [
        dict(reversed(r.items())) if flip else r for r, (_, _, flip) in zip(rows, docs, strict=True)
    ]
    data = feed_text(rows, couch=couch).encode()
    points = [0, *sorted(c % (len(data) + 1) for c in cuts), len(data)]
    parsed, fields = parse([data[a:b] for a, b in itertools.pairwise(points)])
    assert parsed == rows
    assert fields == {"last_seq": "9-z"}


def test_parser_bad_json_inside_a_group_is_refused_after_the_good_rows() -> None:
    rows = [doc_row(n) for n in range(1, 60)]
    text = feed_text(rows, couch=True)
    bad = text.replace('"id":"d30"', '"id":d30"')
    parser = _FeedParser()
    good = parser.feed(bad.encode())
    assert good == rows[:29]  # every row before the bad one
    with pytest.raises(_BadBody, match="Expecting value"):
        parser.close()


def test_retry_warnings_name_the_failure_without_the_clients_retry_hint(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The follower retries by itself and the docs advise client retries off for it: its
    # warnings must not send the reader to enable_retries().
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = CloudantV1(NoAuthAuthenticator())
    client.set_service_url(f"http://127.0.0.1:{port}")
    follower = ChangesFollower(client, db=DB, error_tolerance=timedelta(milliseconds=250))
    with (
        caplog.at_level(logging.WARNING, logger="cloudant_odm.client.follower"),
        pytest.raises(requests.ConnectionError),
    ):
        list(follower.start_one_off())
    warnings = [r.getMessage() for r in caplog.records if r.name.endswith("follower")]
    assert warnings
    for text in warnings:
        assert "connection refused" in text
        assert "enable_retries" not in text
        assert text.startswith(f"changes feed of {DB}: Could not connect to http://127.0.0.1:")

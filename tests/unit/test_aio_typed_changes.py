"""cloudant_odm.aio.follow against mocked HTTP (respx): typed changes, checkpoints stored
and resumed as the synchronous follow() does them, and stopping from another task."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import Iterator
from typing import Any

import pytest
from freezegun import freeze_time

httpx = pytest.importorskip("httpx", reason="the async extra is not installed")
respx = pytest.importorskip("respx", reason="respx is not installed (dev extra)")

import anyio  # noqa: E402

from cloudant_odm import Document  # noqa: E402
from cloudant_odm.aio import AsyncCloudantV1, AsyncDocumentChanges, AsyncSession, follow  # noqa: E402
from cloudant_odm.changes import Checkpoint, DocumentChange  # noqa: E402
from cloudant_odm.client import ConflictError, NoAuthAuthenticator  # noqa: E402

pytestmark = pytest.mark.anyio

URL = "http://couch.test"
CHANGES = f"{URL}/db/_changes"
LOCAL = f"{URL}/db/_local/cloudant-odm-checkpoint-c"
CONFLICT = {"error": "conflict", "reason": "Document update conflict."}


class Ticket(Document, doc_type="aio_tc_ticket", db="db"):
    title: str


class Bug(Ticket, doc_type="aio_tc_bug"):
    severity: int = 1


def rows(n: int, start: int = 1) -> list[dict[str, Any]]:
    return [
        {
            "id": f"t{i}",
            "seq": f"{i}-seq",
            "changes": [{"rev": "1-a"}],
            "doc": {
                "_id": f"t{i}",
                "_rev": "1-a",
                "type": "aio_tc_ticket",
                "title": "x",
            },
        }
        for i in range(start, start + n)
    ]


def feed(results: list[dict[str, Any]], last: str) -> dict[str, Any]:
    return {"results": results, "last_seq": last, "pending": 0}


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        router.get(f"{URL}/db").respond(200, json={"doc_count": 10, "sizes": {"external": 5000}})
        yield router


@pytest.fixture
def client() -> AsyncCloudantV1:
    c = AsyncCloudantV1(NoAuthAuthenticator())
    c.set_service_url(URL)
    return c


def body_of(request: httpx.Request) -> Any:
    content = request.content
    if request.headers.get("Content-Encoding") == "gzip":
        content = gzip.decompress(content)
    return json.loads(content)


def saved_seqs(mock: respx.MockRouter) -> list[str]:
    return [body_of(c.request)["seq"] for c in mock.calls if c.request.method == "PUT"]


async def collect(changes: AsyncDocumentChanges[Any]) -> list[DocumentChange[Any]]:
    with anyio.fail_after(10):
        return [change async for change in changes]


async def test_typed_changes_filtered_on_the_server(
    client: AsyncCloudantV1, mock: respx.MockRouter
) -> None:
    many = rows(5)
    many[1] = {**many[1], "doc": {**many[1]["doc"], "type": "aio_tc_bug"}}
    many[2] = {"id": "t3", "seq": "3-seq", "changes": [{"rev": "2-b"}], "deleted": True}
    route = mock.post(CHANGES).respond(200, json=feed(many, "5-seq"))
    changes = await collect(follow(client, Ticket, one_off=True, selector={"title": "x"}))
    assert [c.id for c in changes] == ["t1", "t2", "t3", "t4", "t5"]
    assert type(changes[0].doc) is Ticket
    assert type(changes[1].doc) is Bug
    assert (changes[2].deleted, changes[2].doc, changes[2].rev) == (True, None, "2-b")
    request = route.calls.last.request
    assert body_of(request) == {
        "selector": {
            "$and": [
                {"type": {"$in": ["aio_tc_bug", "aio_tc_ticket"]}},
                {"title": "x"},
            ]
        }
    }
    assert request.url.params["filter"] == "_selector"
    assert request.url.params["since"] == "0"


async def test_a_session_names_the_database(
    client: AsyncCloudantV1, mock: respx.MockRouter
) -> None:
    # An AsyncSession names the database as Session does (databases= renaming it).
    mock.get(f"{URL}/renamed").respond(200, json={})
    route = mock.post(f"{URL}/renamed/_changes").respond(200, json=feed(rows(1), "1-seq"))
    session = AsyncSession(client, databases={"db": "renamed"})
    assert [c.id for c in await collect(follow(session, [Ticket], one_off=True))] == ["t1"]
    assert route.called


def test_bad_arguments_are_refused_before_anything_is_sent(client: AsyncCloudantV1) -> None:
    with pytest.raises(ValueError, match="at least one Document class"):
        follow(client, [])
    with pytest.raises(TypeError, match="takes Document classes"):
        follow(client, [dict])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="Limit must not be negative"):
        follow(client, Ticket, limit=-1)

    class Homeless(Document, doc_type="aio_tc_homeless"):
        pass

    with pytest.raises(ValueError, match=r"No database for Homeless: give follow\(\.\.\., db="):
        follow(client, Homeless)


async def test_checkpoints_every_n_changes_and_at_the_end(
    client: AsyncCloudantV1, mock: respx.MockRouter
) -> None:
    mock.get(LOCAL).respond(404, json={"error": "not_found", "reason": "missing"})
    mock.post(CHANGES).respond(200, json=feed(rows(7), "7-seq"))
    mock.put(LOCAL).respond(200, json={"ok": True, "id": "_local/x", "rev": "0-1"})
    changes = follow(client, Ticket, one_off=True, checkpoint=Checkpoint("c", every=3))
    assert [c.id for c in await collect(changes)] == [f"t{i}" for i in range(1, 8)]
    assert saved_seqs(mock) == ["3-seq", "6-seq", "7-seq"]


async def test_resumes_from_the_stored_checkpoint_and_updates_it(
    client: AsyncCloudantV1, mock: respx.MockRouter
) -> None:
    mock.get(LOCAL).respond(200, json={"_id": "_local/x", "_rev": "0-3", "seq": "40-seq"})
    changes_route = mock.post(CHANGES).respond(200, json=feed(rows(4, start=41), "44-seq"))
    mock.put(LOCAL).respond(200, json={"ok": True, "id": "_local/x", "rev": "0-4"})
    with freeze_time("2026-11-23 12:00:00") as clock:
        changes = follow(
            client, Ticket, one_off=True, checkpoint=Checkpoint("c", every=1000, interval=5)
        )
        assert (await changes.__anext__()).id == "t41"
        clock.tick(2)
        await changes.__anext__()  # t41 handled; 2 s since the start: no save yet
        clock.tick(4)
        await changes.__anext__()  # t42 handled at 6 s: saved
        assert saved_seqs(mock) == ["42-seq"]
        await changes.aclose()  # t43 was handed over but not handled: not saved
    assert saved_seqs(mock) == ["42-seq"]
    assert changes_route.calls[0].request.url.params["since"] == "40-seq"
    put = next(c for c in mock.calls if c.request.method == "PUT")
    assert body_of(put.request)["_rev"] == "0-3"  # updates the document it read


async def test_a_checkpoint_read_that_lags_behind_its_write_is_retried(
    client: AsyncCloudantV1, mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr("cloudant_odm.aio._flows.asyncio.sleep", sleep)
    mock.get(LOCAL).mock(
        side_effect=[
            httpx.Response(200, json={"_id": "_local/x", "_rev": "0-1", "seq": "0-seq"}),
            httpx.Response(200, json={"_id": "_local/x", "_rev": "0-1", "seq": "0-seq"}),  # stale
            httpx.Response(200, json={"_id": "_local/x", "_rev": "0-2", "seq": "0-seq"}),
        ]
    )
    mock.post(CHANGES).respond(200, json=feed(rows(1), "1-seq"))
    puts = mock.put(LOCAL).mock(
        side_effect=[
            httpx.Response(409, json=CONFLICT),
            httpx.Response(409, json=CONFLICT),
            httpx.Response(200, json={"ok": True, "id": "_local/x", "rev": "0-3"}),
        ]
    )
    changes = follow(client, Ticket, one_off=True, checkpoint=Checkpoint("c", every=1))
    assert [c.id for c in await collect(changes)] == ["t1"]
    assert puts.call_count == 3
    assert body_of(puts.calls.last.request)["_rev"] == "0-2"
    assert slept == [0.1]  # no wait before the first retry, then 0.1 s


async def test_a_checkpoint_written_by_another_consumer_ends_the_loop(
    client: AsyncCloudantV1, mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def sleep(seconds: float) -> None:
        pass

    monkeypatch.setattr("cloudant_odm.aio._flows.asyncio.sleep", sleep)
    mock.get(LOCAL).respond(200, json={"_id": "_local/x", "_rev": "0-1", "seq": "0-seq"})
    mock.post(CHANGES).respond(200, json=feed(rows(2), "2-seq"))
    mock.put(LOCAL).respond(409, json=CONFLICT)
    changes = follow(client, Ticket, one_off=True, checkpoint=Checkpoint("c", every=1))
    with pytest.raises(ConflictError, match="checkpoint 'c' is being written by another"):
        await collect(changes)


async def test_a_checkpoint_not_saved_while_the_server_is_away_is_saved_later(
    client: AsyncCloudantV1, mock: respx.MockRouter
) -> None:
    mock.get(LOCAL).respond(404, json={"error": "not_found", "reason": "missing"})
    mock.post(CHANGES).respond(200, json=feed(rows(4), "4-seq"))
    mock.put(LOCAL).mock(
        side_effect=[
            httpx.Response(503, json={"error": "unavailable", "reason": "down"}),
            httpx.Response(200, json={"ok": True, "id": "_local/x", "rev": "0-1"}),
        ]
    )
    changes = follow(client, Ticket, one_off=True, checkpoint=Checkpoint("c", every=2))
    assert len(await collect(changes)) == 4
    assert saved_seqs(mock) == ["2-seq", "4-seq"]


async def test_stop_from_another_task_during_a_long_poll_stores_the_checkpoint(
    client: AsyncCloudantV1, mock: respx.MockRouter
) -> None:
    mock.get(LOCAL).respond(404, json={"error": "not_found", "reason": "missing"})
    mock.put(LOCAL).respond(200, json={"ok": True, "id": "_local/x", "rev": "0-1"})
    waiting = asyncio.Event()

    async def changes_feed(request: httpx.Request) -> httpx.Response:
        if request.url.params["since"] == "0":
            return httpx.Response(200, json={"results": rows(3), "last_seq": "3-seq"})
        waiting.set()
        await asyncio.Event().wait()  # a long poll with nothing new, ever
        raise AssertionError("unreachable")

    mock.post(CHANGES).mock(side_effect=changes_feed)
    changes = follow(client, Ticket, since="0", checkpoint=Checkpoint("c", every=100))
    seen: list[str] = []

    async def consume() -> None:
        async for change in changes:
            seen.append(change.id)

    consumer = asyncio.create_task(consume())
    with anyio.fail_after(10):
        await waiting.wait()
        changes.stop()
        await consumer
    assert seen == ["t1", "t2", "t3"]
    assert saved_seqs(mock) == ["3-seq"]  # every change handled is checkpointed


async def test_async_with_ends_the_loop_and_stores_the_checkpoint(
    client: AsyncCloudantV1, mock: respx.MockRouter
) -> None:
    mock.get(LOCAL).respond(404, json={"error": "not_found", "reason": "missing"})
    mock.post(CHANGES).respond(200, json=feed(rows(5), "5-seq"))
    mock.put(LOCAL).respond(200, json={"ok": True, "id": "_local/x", "rev": "0-1"})
    async with follow(client, Ticket, one_off=True, checkpoint=Checkpoint("c")) as changes:
        async for change in changes:
            if change.id == "t2":
                break
    assert saved_seqs(mock) == ["1-seq"]  # t2 was being handled when the loop was left


async def test_stop_before_the_loop_reads_nothing(
    client: AsyncCloudantV1, mock: respx.MockRouter
) -> None:
    changes = follow(client, Ticket, checkpoint=Checkpoint("c"))
    changes.stop()
    assert await collect(changes) == []
    assert [c.request.method for c in mock.calls] == []

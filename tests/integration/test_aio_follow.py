"""The async followers and pagination against the real server (the local PouchDB
Server, or CLOUDANT_URL): what they read is what the synchronous ones read; stop() from
another task ends a long poll the server holds open; typed changes resume from their
checkpoint. The order of a feed is not assumed (a sharded CouchDB's isn't the writes')."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import anyio
import pytest
from _server import settle, unique_db_name

pytest.importorskip("httpx", reason="the async extra is not installed")

from cloudant_odm import Document, Session
from cloudant_odm.aio import (
    AsyncChangesFollower,
    AsyncCloudantV1,
    AsyncPagination,
    follow,
)
from cloudant_odm.changes import Checkpoint
from cloudant_odm.changes import follow as sync_follow
from cloudant_odm.client import (
    ChangesFollower,
    CloudantV1,
    NotFoundError,
    PagerType,
    Pagination,
)

pytestmark = [pytest.mark.anyio, pytest.mark.server]

#: Seconds a test waits for what should be prompt before it fails (no timing target).
PATIENCE = 30


class Parcel(Document, doc_type="aio_follow_parcel"):
    n: int


class Letter(Document, doc_type="aio_follow_letter"):
    to: str


def seed(client: CloudantV1, db: str, parcels: int) -> None:
    with Session(client, db=db) as session:
        session.add_all(Parcel(id=f"p{n:04d}", n=n) for n in range(parcels))
        session.add(Letter(id="letter", to="ann"))


def by_id(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Rows by id, without their seq (a cluster numbers them anew for each request)."""
    return {row["id"]: {k: v for k, v in row.items() if k != "seq"} for row in rows}


# -- AsyncChangesFollower -------------------------------------------------------------------


async def test_one_off_reads_what_the_synchronous_follower_reads(
    aclient: AsyncCloudantV1, client: CloudantV1, db_name: str
) -> None:
    seed(client, db_name, 1200)
    follower = AsyncChangesFollower(aclient, db=db_name, include_docs=True)
    with anyio.fail_after(PATIENCE):
        items = [item.to_dict() async for item in follower.start_one_off()]
    expected = [
        i.to_dict() for i in ChangesFollower(client, db=db_name, include_docs=True).start_one_off()
    ]
    assert len(items) == 1201
    assert by_id(items) == by_id(expected)


async def test_continuous_sees_a_later_write_and_stop_from_another_task_ends_it(
    aclient: AsyncCloudantV1, db_name: str
) -> None:
    follower = AsyncChangesFollower(aclient, db=db_name)
    seen: list[str] = []

    async def consume() -> None:
        async for change in follower.start():
            seen.append(change.id)

    consumer = asyncio.create_task(consume())
    with anyio.fail_after(PATIENCE):
        # since="now": a write is seen only once the first long poll is open, which
        # nothing tells: write until one is seen.
        n = 0
        while not seen:
            await aclient.put_document(db_name, f"late-{n}", {"n": n})
            n += 1
            await asyncio.sleep(0.2)
        # Then nothing more is written: the follower waits on a long poll the server
        # holds open (57 s on CouchDB, for ever on PouchDB Server) until stopped.
        await asyncio.sleep(0.5)
        stopped_at = time.monotonic()
        follower.stop()
        await consumer
    assert time.monotonic() - stopped_at < 2.0  # generous: cancelling is immediate
    assert seen
    assert all(i.startswith("late-") for i in seen)
    assert follower._task is not None
    assert follower._task.done()


@pytest.mark.parametrize("mode", ["start", "start_one_off"])
async def test_a_missing_database_ends_at_once(aclient: AsyncCloudantV1, mode: str) -> None:
    follower = AsyncChangesFollower(aclient, db=unique_db_name("missing"))
    with anyio.fail_after(PATIENCE), pytest.raises(NotFoundError):
        async for _ in getattr(follower, mode)():
            pass


# -- typed changes --------------------------------------------------------------------------


async def test_typed_changes_are_the_synchronous_follows(
    aclient: AsyncCloudantV1, client: CloudantV1, db_name: str
) -> None:
    seed(client, db_name, 30)
    with anyio.fail_after(PATIENCE):
        changes = [c async for c in follow(aclient, Parcel, db=db_name, one_off=True)]
    expected = list(sync_follow(client, [Parcel], db=db_name, one_off=True))
    assert sorted(c.id for c in changes) == [f"p{n:04d}" for n in range(30)]  # no Letter
    assert {c.id: (c.rev, c.doc) for c in changes} == {c.id: (c.rev, c.doc) for c in expected}
    assert all(isinstance(c.doc, Parcel) for c in changes)


async def test_a_checkpoint_resumes_the_next_run_without_skipping(
    aclient: AsyncCloudantV1, client: CloudantV1, db_name: str
) -> None:
    seed(client, db_name, 40)
    handled: list[str] = []
    with anyio.fail_after(PATIENCE):
        async with follow(
            aclient, Parcel, db=db_name, one_off=True, checkpoint=Checkpoint("ship", every=10)
        ) as changes:
            async for change in changes:
                if len(handled) == 25:
                    break  # the 26th is not handled: the 25 before it are checkpointed
                handled.append(change.id)
        again = [
            c.id
            async for c in follow(
                aclient, Parcel, db=db_name, one_off=True, checkpoint=Checkpoint("ship")
            )
        ]
        third = [
            c.id
            async for c in follow(
                aclient, Parcel, db=db_name, one_off=True, checkpoint=Checkpoint("ship")
            )
        ]
    everything = [f"p{n:04d}" for n in range(40)]
    assert sorted(set(handled) | set(again)) == everything  # nothing skipped
    assert not set(handled) & set(again)  # resumed after the last handled change
    assert third == []  # a complete run stores its end
    # The synchronous follow() reads the same checkpoint document.
    assert (
        list(sync_follow(client, [Parcel], db=db_name, checkpoint=Checkpoint("ship"), one_off=True))
        == []
    )


# -- AsyncPagination ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pager_type", "options"),
    [
        (PagerType.POST_ALL_DOCS, {}),
        (PagerType.POST_FIND, {"selector": {"type": "aio_follow_parcel"}}),
        (PagerType.POST_VIEW, {"ddoc": "parcels", "view": "by_n", "start_key": 3}),
    ],
    ids=lambda v: v.name if isinstance(v, PagerType) else "",
)
async def test_async_pages_are_the_synchronous_pages(
    aclient: AsyncCloudantV1,
    client: CloudantV1,
    db_name: str,
    pager_type: PagerType,
    options: dict[str, Any],
) -> None:
    seed(client, db_name, 45)
    view = "function (doc) { if (doc.n !== undefined) { emit(doc.n, null); } }"
    client.put_design_document(db_name, "parcels", {"views": {"by_n": {"map": view}}})
    settle(client, db_name, 46)
    paged = AsyncPagination.new_pagination(aclient, pager_type, db=db_name, limit=10, **options)
    with anyio.fail_after(PATIENCE):
        pages = [[row.to_dict() for row in page] async for page in paged.pages()]
        pager = paged.pager()
        one_by_one = []
        while pager.has_next():
            one_by_one.append([row.to_dict() for row in await pager.get_next()])
    sync = Pagination.new_pagination(client, pager_type, db=db_name, limit=10, **options)
    expected = [[row.to_dict() for row in page] for page in sync.pages()]
    if pager_type is PagerType.POST_FIND:
        # _find on a sharded database merges its shards' answers: compare the documents.
        def ids(found: list[list[dict[str, Any]]]) -> list[str]:
            return sorted(doc["_id"] for page in found for doc in page)

        assert ids(pages) == ids(one_by_one) == ids(expected)
        assert len(ids(pages)) == 45
    else:
        assert pages == one_by_one == expected
        assert [len(page) for page in pages] == [10, 10, 10, 10, len(pages[-1])]
        if pager_type is PagerType.POST_VIEW:
            assert [row["key"] for page in pages for row in page] == list(range(3, 45))

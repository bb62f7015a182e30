"""AsyncSession against the real server (local PouchDB Server, or CLOUDANT_URL): the
same scenario through Session and AsyncSession stores the same documents, and the async
session's conflict handling, attachments, references and rollback work as the
synchronous one's."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from typing import Any, TypeVar

import pytest
import requests
from _server import unique_db_name

pytest.importorskip("httpx", reason="the async extra is not installed")

from cloudant_odm import (
    BulkWriteError,
    DanglingReference,
    Document,
    Ref,
    Session,
    SessionError,
    field,
)
from cloudant_odm.aio import AsyncCloudantV1, AsyncSession
from cloudant_odm.client import CloudantV1, ConflictError
from cloudant_odm.models import to_json
from cloudant_odm.session import ObjectState

pytestmark = [pytest.mark.anyio, pytest.mark.server]

T = TypeVar("T")


class Customer(Document, doc_type="aio_session_customer"):
    name: str
    tier: int = 1


class Invoice(Document, doc_type="aio_session_invoice"):
    customer: Ref[Customer]
    total: Decimal
    lines: list[str] = field(factory=list)


@pytest.fixture
def db_pair(server_url: str, server_http: requests.Session) -> Iterator[tuple[str, str]]:
    names = (unique_db_name("aio-sync"), unique_db_name("aio-async"))
    for name in names:
        server_http.put(f"{server_url}/{name}").raise_for_status()
    yield names
    for name in names:
        server_http.delete(f"{server_url}/{name}")


async def settled(value: Awaitable[T] | T) -> T:
    """A sync session's result as is, an async session's awaited: lets one scenario run
    through both."""
    if inspect.isawaitable(value):
        return await value
    return value


async def scenario(session: Session | AsyncSession) -> list[str]:
    """Writes, reads, changes, conflicts, deletes and bulk loads, as an application
    would; returns what it observed along the way (which must not depend on the API)."""
    seen: list[str] = []
    ann, bob = Customer(id="c-ann", name="Ann"), Customer(id="c-bob", name="Bob", tier=2)
    session.add_all([ann, bob])
    session.add(Invoice(id="i-1", customer=Ref(Customer, "c-ann"), total=Decimal("9.50")))
    await settled(session.commit())
    seen.append(f"written {ann.rev is not None} {session.state_of(ann).value}")

    invoice = await settled(session.get(Invoice, "i-1"))
    assert invoice is not None
    owner = await settled(session.get(invoice.customer))
    seen.append(f"ref {owner.name} same={owner is ann}")
    invoice.lines.append("tea")
    invoice.total += Decimal("1.25")
    seen.append(f"dirty {[o.id for o in session.dirty]}")
    await settled(session.flush())

    def promote(customer: Customer) -> None:
        customer.tier += 10

    updated = await settled(session.update(Customer, "c-bob", promote))
    seen.append(f"updated {updated.tier}")
    created = await settled(session.get_or_create(Customer, "c-cat", {"name": "Cat"}))
    again = await settled(session.get_or_create(Customer, "c-cat", {"name": "Other"}))
    seen.append(f"get_or_create {created[1]} {again[1]} {again[0].name}")
    _, made = await settled(session.update_or_create(Customer, "c-ann", {"tier": 5}))
    seen.append(f"update_or_create {made} {ann.tier}")

    session.delete(bob)
    await settled(session.commit())
    seen.append(f"deleted {session.state_of(bob).value}")
    missing = await settled(session.get(Customer, "c-bob"))
    seen.append(f"after delete {missing}")

    loaded = await settled(
        session.insert_many(
            Invoice(id=f"bulk-{n:03d}", customer=Ref(Customer, "c-cat"), total=Decimal(n))
            for n in range(250)
        )
    )
    seen.append(f"insert_many {loaded}")
    many = await settled(session.get_many(Invoice, ["bulk-007", "nope", "i-1"]))
    seen.append(f"get_many {[None if m is None else str(m.total) for m in many]}")
    await settled(session.put_attachment(ann, "note.txt", b"hello", "text/plain"))
    await settled(session.commit())
    body = await settled(session.get_attachment(ann, "note.txt"))
    seen.append(f"attachment {body!r}")
    return seen


def stored(client: CloudantV1, db: str) -> dict[str, Any]:
    """Every document of ``db``, its revision reduced to its generation (revision hashes
    differ between servers' writes of the same content on PouchDB) and its attachments to
    their names, lengths and types."""
    rows = client.post_all_docs(db, include_docs=True).get_result()["rows"]
    documents: dict[str, Any] = {}
    for row in rows:
        doc = dict(row["doc"])
        doc["_rev"] = doc["_rev"].split("-")[0]
        doc["_attachments"] = {
            name: (a.get("length"), a.get("content_type"))
            for name, a in (doc.get("_attachments") or {}).items()
        }
        documents[row["id"]] = doc
    return documents


async def test_the_same_scenario_stores_the_same_documents_sync_and_async(
    client: CloudantV1, aclient: AsyncCloudantV1, db_pair: tuple[str, str]
) -> None:
    sync_db, async_db = db_pair
    with Session(client, db=sync_db) as session:
        seen_sync = await scenario(session)
    async with AsyncSession(aclient, db=async_db) as asession:
        seen_async = await scenario(asession)
    assert seen_async == seen_sync
    assert "updated 12" in seen_sync
    assert "insert_many 250" in seen_sync
    assert stored(client, async_db) == stored(client, sync_db)
    assert len(stored(client, sync_db)) == 3 + 250  # Ann, Cat, i-1 and the bulk; Bob gone


async def test_update_retries_a_conflict_made_by_another_writer(
    client: CloudantV1, aclient: AsyncCloudantV1, db_name: str
) -> None:
    client.put_document(db_name, "c-1", {"type": "aio_session_customer", "name": "A"})
    calls: list[int] = []

    def rename(customer: Customer) -> None:
        calls.append(customer.tier)
        if len(calls) == 1:  # another writer gets in between our read and our write
            doc = client.get_document(db_name, "c-1").get_result()
            client.put_document(db_name, "c-1", {**doc, "tier": 7})
        customer.name += "!"

    async with AsyncSession(aclient, db=db_name) as session:
        updated = await session.update(Customer, "c-1", rename)
    assert calls == [1, 7]  # applied again to the other writer's revision
    assert (updated.name, updated.tier) == ("A!", 7)
    assert client.get_document(db_name, "c-1").get_result()["name"] == "A!"


async def test_an_async_callback_is_refused_and_changes_nothing(
    client: CloudantV1, aclient: AsyncCloudantV1, db_name: str
) -> None:
    client.put_document(db_name, "c-1", {"type": "aio_session_customer", "name": "A"})

    async def rename(customer: Customer) -> None:
        customer.name = "B"

    session = AsyncSession(aclient, db=db_name)
    change: Callable[[Customer], object] = rename
    with pytest.raises(TypeError, match="pass a plain function"):  # before any request
        await session.update(Customer, "c-1", change)
    assert list(session) == []
    # A plain function that returns a coroutine is caught when it is called.
    with pytest.raises(TypeError, match="returned an awaitable"):
        await session.update(Customer, "c-1", lambda customer: rename(customer))
    assert client.get_document(db_name, "c-1").get_result()["name"] == "A"
    assert session.dirty == []


async def test_a_failing_block_rolls_back_and_conflicts_are_reported(
    client: CloudantV1, aclient: AsyncCloudantV1, db_name: str
) -> None:
    async def handler() -> None:
        async with AsyncSession(aclient, db=db_name) as session:
            session.add(Customer(id="c-x", name="X"))
            raise RuntimeError("the handler failed")

    with pytest.raises(RuntimeError):
        await handler()
    assert client.post_all_docs(db_name).get_result()["rows"] == []

    async with AsyncSession(aclient, db=db_name) as session:
        ann = Customer(id="c-ann", name="Ann")
        session.add(ann)
        await session.flush()
        client.put_document(db_name, "c-ann", {**to_json(ann), "tier": 3})
        ann.name = "Ann B"
        with pytest.raises(BulkWriteError) as info:
            await session.flush()
        assert isinstance(info.value.failures[0].error, ConflictError)
        with pytest.raises(ConflictError):
            await session.flush_one(ann)
        await session.refresh(ann)
        assert (ann.name, ann.tier, session.is_modified(ann)) == ("Ann", 3, False)


async def test_references_prefetch_and_dangling(
    client: CloudantV1, aclient: AsyncCloudantV1, db_name: str
) -> None:
    client.post_bulk_docs(
        db_name,
        {
            "docs": [
                {"_id": "c-1", "type": "aio_session_customer", "name": "One"},
                {"_id": "c-2", "type": "aio_session_customer", "name": "Two"},
            ]
        },
    )
    session = AsyncSession(aclient, db=db_name, read_only=True)
    refs = [Ref(Customer, "c-1"), Ref(Customer, "c-2"), Ref(Customer, "c-3"), None]
    await session.prefetch(refs)
    assert {o.id for o in session} == {"c-1", "c-2"}
    one = await session.get(Ref(Customer, "c-1"))
    assert one.name == "One"
    assert session.state_of(one) is ObjectState.PERSISTENT
    assert await Ref(Customer, "c-2").get(session) is next(o for o in session if o.id == "c-2")
    assert await Ref(Customer, "c-3").get(session, default=None) is None
    assert await session.get(Ref(Customer, "c-3"), default=None) is None
    with pytest.raises(DanglingReference):
        await session.get(Ref(Customer, "c-3"))
    with pytest.raises(SessionError, match="read-only"):
        session.add(Customer(name="new"))


async def test_tasks_with_a_session_each_share_one_client(
    client: CloudantV1, aclient: AsyncCloudantV1, db_name: str
) -> None:
    async def handler(n: int) -> str:
        async with AsyncSession(aclient, db=db_name) as session:
            customer, _ = await session.get_or_create(Customer, f"c-{n % 5}", {"name": "C"})
            session.add(Invoice(customer=Ref(Customer, customer.id or ""), total=Decimal(n)))
            return customer.id or ""

    ids = await asyncio.gather(*(handler(n) for n in range(40)))
    assert sorted(set(ids)) == [f"c-{n}" for n in range(5)]
    rows = client.post_all_docs(db_name, include_docs=True).get_result()["rows"]
    kinds = [row["doc"]["type"] for row in rows]
    assert kinds.count("aio_session_customer") == 5  # get_or_create raced, no duplicate
    assert kinds.count("aio_session_invoice") == 40


async def test_concurrent_identical_changes_are_all_applied(
    client: CloudantV1, aclient: AsyncCloudantV1, db_name: str
) -> None:
    # Each task takes 1 from the same stored value: identical edits of one revision get
    # the same revision id from CouchDB, and each must still count (10 - 3 = 7).
    client.put_document(db_name, "c", {"type": "aio_session_customer", "name": "C", "tier": 10})

    def take_one(customer: Customer) -> None:
        customer.tier -= 1

    async def task() -> int:
        async with AsyncSession(aclient, db=db_name) as session:
            return (await session.update(Customer, "c", take_one)).tier

    seen = await asyncio.gather(*(task() for _ in range(3)))
    assert sorted(seen) == [7, 8, 9]
    assert client.get_document(db_name, "c").get_result()["tier"] == 7

    # Two sessions holding the same revision make the same change: the second is refused.
    first, second = AsyncSession(aclient, db=db_name), AsyncSession(aclient, db=db_name)
    mine, theirs = await first.get(Customer, "c"), await second.get(Customer, "c")
    assert mine is not None
    assert theirs is not None
    mine.tier -= 1
    theirs.tier -= 1
    await first.commit()
    with pytest.raises(ConflictError):
        await second.flush_one(theirs)
    assert client.get_document(db_name, "c").get_result()["tier"] == 6

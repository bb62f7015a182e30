"""The Session (unit of work) against a real server."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Literal

import attrs
import pytest
import requests
from _server import eventually, settle

from cloudant_odm import BulkWriteError, Document, Session, SessionError, field
from cloudant_odm.client import CloudantV1, ConflictError, ForbiddenError
from cloudant_odm.session import ObjectState


@attrs.define
class Address:
    street: str
    city: str
    geo: tuple[float, float] | None = None


class Status(enum.Enum):
    NEW = "new"
    PAID = "paid"


class Order(Document, doc_type="session_test_order"):
    customer: str
    total: Decimal = Decimal("0")
    status: Status = Status.NEW
    tags: list[str] = field(factory=list)
    shipping: Address | None = None


class PriorityOrder(Order, doc_type="session_test_priority_order"):
    level: int = 1


class Everything(Document, doc_type="session_test_everything"):
    text: str
    number: int
    ratio: float
    flag: bool
    amount: Decimal
    when: datetime
    day: date
    at: time
    key: uuid.UUID
    blob: bytes
    status: Status
    kind: Literal["a", "b"]
    maybe: str | None
    items: list[int]
    pairs: dict[str, float]
    point: tuple[int, str]
    unique: set[str]
    address: Address
    renamed: str = field(default="r", key="jsonName")


def test_create_read_update_delete(client: CloudantV1, db_name: str) -> None:
    with Session(client, db=db_name) as s:
        order = Order(customer="bob", total=Decimal("9.50"))
        s.add(order)
        assert order.id is not None
        assert len(order.id) == 32
        s.flush()
        assert order.rev is not None
        assert order.rev.startswith("1-")
        assert s.state_of(order) is ObjectState.PERSISTENT

    stored = client.get_document(db_name, order.id).get_result()
    assert stored["type"] == "session_test_order"
    assert stored["total"] == 9.5  # a JSON number: compared as one
    assert stored["customer"] == "bob"

    with Session(client, db=db_name) as s:
        again = s.get(Order, order.id)
        assert again is not None
        assert again == order
        assert s.get(Order, order.id) is again  # identity map
        again.status = Status.PAID
    assert client.get_document(db_name, order.id).get_result()["status"] == "paid"

    with Session(client, db=db_name) as s:
        doomed = s.get(Order, order.id)
        assert doomed is not None
        s.delete(doomed)
    with Session(client, db=db_name) as s:
        assert s.get(Order, order.id) is None


def test_unchanged_documents_are_not_written(client: CloudantV1, db_name: str) -> None:
    with Session(client, db=db_name) as s:
        order = Order(customer="ann")
        s.add(order)
    first_rev = order.rev
    with Session(client, db=db_name) as s:
        loaded = s.get(Order, str(order.id))
        assert loaded is not None
        assert s.dirty == []
        s.commit()
        assert loaded.rev == first_rev
        loaded.tags.append("x")  # a nested change in place is seen
        assert s.dirty == [loaded]
        s.commit()
        assert loaded.rev is not None
        assert loaded.rev.startswith("2-")


def test_bulk_of_ten_thousand_documents_in_one_commit(client: CloudantV1, db_name: str) -> None:
    with Session(client, db=db_name) as s:
        orders = [Order(customer=f"c{i}", total=Decimal(i)) for i in range(10_000)]
        s.add_all(orders)
    assert all(o.rev is not None for o in orders)
    settle(client, db_name, 10_000)  # doc_count reads one copy per shard range


def test_concurrent_writer_conflict_then_update_resolves_it(
    client: CloudantV1, db_name: str
) -> None:
    with Session(client, db=db_name) as s:
        order = Order(customer="carl", total=Decimal("10"))
        s.add(order)
    doc_id = str(order.id)

    mine = Session(client, db=db_name)
    theirs = Session(client, db=db_name)
    a = mine.get(Order, doc_id)
    b = theirs.get(Order, doc_id)
    assert a is not None
    assert b is not None
    b.total = Decimal("20")
    theirs.commit()

    a.total = Decimal("11")
    other = Order(customer="dora")
    mine.add(other)
    with pytest.raises(BulkWriteError) as info:
        mine.commit()
    (failure,) = info.value.failures
    assert failure.document is a
    assert isinstance(failure.error, ConflictError)
    assert failure.error.rev == a.rev  # the rev that was sent
    assert info.value.written == 1
    assert other.rev is not None
    assert mine.state_of(other) is ObjectState.PERSISTENT
    assert mine.is_modified(a)  # still pending: nothing is claimed saved

    # update() would read the other writer's version over it: it asks first.
    with pytest.raises(SessionError, match=r"unwritten changes .* revert\(obj\)"):
        mine.update(Order, doc_id, lambda o: setattr(o, "total", o.total + 1))
    mine.revert(a)
    updated = mine.update(Order, doc_id, lambda o: setattr(o, "total", o.total + 1))
    assert updated is a
    assert a.total == Decimal("21")  # applied to the other writer's version
    assert client.get_document(db_name, doc_id).get_result()["total"] == 21


def test_unknown_fields_survive_load_modify_save(client: CloudantV1, db_name: str) -> None:
    foreign = {
        "_id": "o-foreign",
        "type": "session_test_order",
        "customer": "eve",
        "total": "5",
        "status": "new",
        "tags": [],
        "shipping": {"street": "1 Main St", "city": "Springfield"},
        "loyalty": {"tier": "gold", "points": [1, 2, 3]},
        "legacy_flag": None,
    }
    client.put_document(db_name, "o-foreign", foreign)
    with Session(client, db=db_name) as s:
        order = s.get(Order, "o-foreign")
        assert order is not None
        order.total = Decimal("6")
    stored = client.get_document(db_name, "o-foreign").get_result()
    assert stored["loyalty"] == {"tier": "gold", "points": [1, 2, 3]}
    assert stored["legacy_flag"] is None
    assert stored["total"] == 6


def test_polymorphic_load(client: CloudantV1, db_name: str) -> None:
    with Session(client, db=db_name) as s:
        s.add(PriorityOrder(id="p1", customer="fay", level=3))
        s.add(Order(id="o1", customer="gus"))
    with Session(client, db=db_name) as s:
        loaded = s.get(Order, "p1")
        assert type(loaded) is PriorityOrder
        assert loaded.level == 3
        plain = s.get_many(Order, ["o1", "missing", "p1"])
        assert [type(x).__name__ if x else None for x in plain] == [
            "Order",
            None,
            "PriorityOrder",
        ]
        assert plain[2] is loaded


IST = timezone(timedelta(hours=5, minutes=30))


def test_every_field_type_round_trips_through_the_server(client: CloudantV1, db_name: str) -> None:
    original = Everything(
        id="everything",
        text="ünïcødé ☃",
        number=-(2**40),
        ratio=0.1,
        flag=True,
        amount=Decimal("12345.678900"),
        when=datetime(
            2026, 11, 23, 18, 19, 46, 123456, tzinfo=timezone(timedelta(hours=5, minutes=30))
        ),
        day=date(2026, 2, 28),
        at=time(23, 59, 58, 999999),
        key=uuid.UUID("12345678-1234-5678-1234-567812345678"),
        blob=b"\x00\xffbinary\n",
        status=Status.PAID,
        kind="b",
        maybe=None,
        items=[3, 1, 2],
        pairs={"a": 1.5, "b": -2.0},
        point=(7, "seven"),
        unique={"x", "y"},
        address=Address("1 High St", "Leeds", (53.8, -1.5)),
        renamed="json",
    )
    with Session(client, db=db_name) as s:
        s.add(original)
    with Session(client, db=db_name) as s:
        loaded = s.get(Everything, "everything")
    assert loaded == original
    assert loaded is not original
    raw = client.get_document(db_name, "everything").get_result()
    assert raw["jsonName"] == "json"
    assert raw["amount"] == 12345.6789


def test_validate_doc_update_rejection_is_a_forbidden_error(
    client: CloudantV1, db_name: str
) -> None:
    client.put_design_document(
        db_name,
        "rules",
        {
            "validate_doc_update": "function (doc) { if (doc.customer === 'mallory') "
            "{ throw({forbidden: 'mallory may not order'}); } }"
        },
    )

    def rejected() -> BulkWriteError:
        # On a cluster the new design document reaches every node's cache a moment
        # later: until then a write may still pass (docs/clusters.md).
        with pytest.raises(BulkWriteError) as info, Session(client, db=db_name) as s:
            s.add(Order(customer="mallory"))
        return info.value

    error = eventually(rejected, retry_on=(pytest.fail.Exception,)).failures[0].error
    assert isinstance(error, ForbiddenError)
    assert error.reason == "mallory may not order"


def test_exception_in_block_writes_nothing(client: CloudantV1, db_name: str) -> None:
    def failing_unit_of_work() -> None:
        with Session(client, db=db_name) as s:
            s.add(Order(id="never", customer="x"))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        failing_unit_of_work()
    with Session(client, db=db_name) as s:
        assert s.get(Order, "never") is None


def test_get_or_create_and_update_or_create(client: CloudantV1, db_name: str) -> None:
    s = Session(client, db=db_name)
    made, created = s.get_or_create(Order, "natural-1", {"customer": "hal"})
    assert created
    assert made.rev is not None
    same, created_again = Session(client, db=db_name).get_or_create(
        Order, "natural-1", {"customer": "other"}
    )
    assert not created_again
    assert same.customer == "hal"
    updated, created3 = Session(client, db=db_name).update_or_create(
        Order, "natural-1", {"status": Status.PAID}
    )
    assert not created3
    assert updated.status is Status.PAID
    assert updated.customer == "hal"


def test_resolve_replication_conflicts(client: CloudantV1, db_name: str) -> None:
    base = {"_id": "c1", "type": "session_test_order", "customer": "ivy", "total": "1"}
    first = client.put_document(db_name, "c1", base).get_result()["rev"]
    # Two branches on revision 1, as replication would leave them (new_edits=false
    # stores the given revision with the given history).
    for rev, total in (("2-aaaa", "2"), ("2-bbbb", "3")):
        history = {"start": 2, "ids": [rev[2:], first.split("-", 1)[1]]}
        body = {**base, "_rev": rev, "_revisions": history, "total": total}
        client.put_document(db_name, "c1", body, new_edits=False)
    s = Session(client, db=db_name)
    current = s.get(Order, "c1", conflicts=True)
    assert current is not None
    assert len(current.meta.conflicts) == 1

    def keep_highest(cur: Order, losers: list[Order]) -> Order:
        return max([cur, *losers], key=lambda o: o.total)

    winner = s.resolve_conflicts(current, keep_highest)
    assert winner.total == Decimal("3")
    after = client.get_document(db_name, "c1", conflicts=True).get_result()
    assert "_conflicts" not in after
    assert after["total"] == 3


def test_attachments_inline_and_streamed(
    client: CloudantV1, db_name: str, server_http: requests.Session
) -> None:
    s = Session(client, db=db_name)
    order = Order(customer="jo")
    s.add(order)
    s.put_attachment(order, "note.txt", b"small note", "text/plain")
    s.commit()
    big = bytes(range(256)) * 1024  # 256 KiB: uploaded through the attachment endpoint
    s.put_attachment(order, "big.bin", big, "application/octet-stream")
    assert s.get_attachment(order, "note.txt") == b"small note"
    assert s.get_attachment(order, "big.bin") == big
    order.customer = "joanne"  # a later save keeps both attachments
    s.commit()
    stored = client.get_document(db_name, str(order.id)).get_result()
    assert set(stored["_attachments"]) == {"note.txt", "big.bin"}
    s.delete_attachment(order, "note.txt")
    s.commit()
    stored = client.get_document(db_name, str(order.id)).get_result()
    assert set(stored["_attachments"]) == {"big.bin"}

"""Integrity against the server: nothing is written that its class can't read back, a
refused write sends nothing and leaves the session usable, Decimal money compares as
Python compares it, a missing database is an error naming it, queries check their
terms, and a session can point the classes at other databases."""

from __future__ import annotations

import enum
import random
from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest
from _server import eventually, settle

from cloudant_odm import (
    Document,
    DocumentTypeError,
    DocumentValidationError,
    DoesNotExist,
    Embedded,
    Index,
    Session,
    SessionError,
    View,
    field,
)
from cloudant_odm.client import CloudantV1, NotFoundError
from cloudant_odm.design import sync
from cloudant_odm.session import ObjectState

START = datetime(2024, 1, 1, tzinfo=timezone.utc)


class Status(enum.Enum):
    NEW = "new"
    PAID = "paid"


class Address(Embedded):
    street: str
    city: str


class Line(Embedded):
    sku: str
    qty: int = 1
    price: Decimal = field(default=Decimal("0"), places=2)


class Customer(Document, doc_type="ig-customer"):
    name: str


class Product(Document, doc_type="ig-product"):
    name: str
    stock: int = 0


class Order(Document, doc_type="ig-order", design="ig-orders"):
    customer_id: str
    total: Decimal = field(default=Decimal("0"), places=2)
    status: Status = Status.NEW
    created: datetime = START
    tags: list[str] = field(factory=list)
    shipping: Address | None = None
    lines: list[Line] = field(factory=list)

    by_total = Index("total")
    total_by_customer = View.emit(key="customer_id", value="total", reduce="_sum")


class ShopOrder(Document, db="ig-shop-orders", doc_type="ig-shop-order"):
    customer_id: str


@pytest.fixture
def session(client: CloudantV1, db_name: str) -> Session:
    return Session(client, db=db_name)


def stored_ids(client: CloudantV1, db: str) -> list[str]:
    rows = client.post_all_docs(db).get_result()["rows"]
    return [r["id"] for r in rows if not r["id"].startswith("_design/")]


def eventually_stored(client: CloudantV1, db: str, ids: list[str]) -> None:
    """``_all_docs`` lists exactly ``ids`` (on a cluster, once every copy has them)."""

    def listed() -> None:
        assert stored_ids(client, db) == ids

    eventually(listed, consecutive=3)


@pytest.fixture
def bulk_requests(client: CloudantV1, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The databases every _bulk_docs request was sent to."""
    sent: list[str] = []
    real = client.post_bulk_docs

    def recording(db: str, *args: Any, **kwargs: Any) -> Any:
        sent.append(db)
        return real(db, *args, **kwargs)

    monkeypatch.setattr(client, "post_bulk_docs", recording)
    return sent


# --- 1, 2: writes are checked, with errors that name class, id, field, types -------------

BAD_DOCUMENTS: list[tuple[Callable[[], Document], str]] = [
    (
        lambda: Order(id="o-1", customer_id=123),  # type: ignore[arg-type]
        "Order 'o-1': customer_id: expected str, got int 123",
    ),
    (
        lambda: Order(id="o-1", customer_id=None),  # type: ignore[arg-type]
        "Order 'o-1': customer_id: expected str, got None",
    ),
    (
        lambda: Product(id="p-1", name="x", stock="5"),  # type: ignore[arg-type]
        "Product 'p-1': stock: expected int, got str '5'",
    ),
    (
        lambda: Order(id="o-1", customer_id="c", tags="gift"),  # type: ignore[arg-type]
        "Order 'o-1': tags: expected list[str], got str 'gift'",
    ),
    (
        lambda: Order(id="o-1", customer_id="c", total=0.1),  # type: ignore[arg-type]
        "Order 'o-1': total: expected Decimal, got float 0.1",
    ),
    (
        lambda: Order(id="o-1", customer_id="c", status="paid"),  # type: ignore[arg-type]
        "Order 'o-1': status: expected Status, got str 'paid'",
    ),
    (
        lambda: Order(id="o-1", customer_id="c", created="2024-01-01"),  # type: ignore[arg-type]
        "Order 'o-1': created: expected datetime, got str '2024-01-01'",
    ),
    (
        lambda: Order(id="o-1", customer_id="c", shipping={"street": "x"}),  # type: ignore[arg-type]
        "Order 'o-1': shipping: expected Address | None, got dict {'street': 'x'}",
    ),
    (
        lambda: Order(id="o-1", customer_id="c", lines=[Line(sku="a", price=Decimal("1.234"))]),
        "Order 'o-1': lines[0].price: Decimal('1.234') has more than 2 decimal places",
    ),
]


@pytest.mark.parametrize(("make", "message"), BAD_DOCUMENTS)
def test_a_document_its_class_cant_read_back_is_refused_before_any_request(
    session: Session,
    client: CloudantV1,
    db_name: str,
    bulk_requests: list[str],
    make: Callable[[], Document],
    message: str,
) -> None:
    good = Customer(id="c-1", name="ann")
    bad = make()
    session.add_all([good, bad])
    with pytest.raises(DocumentValidationError) as caught:
        session.commit()
    assert str(caught.value) == message
    assert "AttributeError" not in str(caught.value)
    assert bulk_requests == []  # nothing sent, not even the good document
    assert stored_ids(client, db_name) == []
    # The session is still usable: drop the bad one and the rest is written.
    session.expunge(bad)
    session.commit()
    eventually_stored(client, db_name, ["c-1"])


def test_every_write_path_is_checked(
    session: Session, client: CloudantV1, db_name: str, bulk_requests: list[str]
) -> None:
    order = Order(id="o-1", customer_id="c", tags=["a"])
    session.add(order)
    session.commit()
    before = client.get_document(db_name, "o-1").get_result()
    sent = len(bulk_requests)

    with pytest.raises(DocumentValidationError, match="tags: expected list"):
        session.update(Order, "o-1", lambda o: setattr(o, "tags", "gift"))
    assert order.tags == ["a"]  # the refused change is not left behind
    assert session.dirty == []
    with pytest.raises(DocumentValidationError, match="tags: expected list"):
        Order.objects.using(session).filter(Order.customer_id == "c").update(tags="gift")
    assert order.tags == ["a"]
    assert session.dirty == []

    def half_then_fail(o: Order) -> None:
        o.customer_id = "half"
        raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        session.update(Order, "o-1", half_then_fail)
    with pytest.raises(RuntimeError):
        Order.objects.using(session).filter(Order.customer_id == "c").update(half_then_fail)
    assert order.customer_id == "c"
    session.commit()  # nothing of the failed changes is written
    with pytest.raises(DocumentValidationError, match="customer_id: expected str"):
        session.get_or_create(Order, "o-2", {"customer_id": 5})
    with pytest.raises(DocumentValidationError, match="customer_id: expected str"):
        session.update_or_create(Order, "o-3", {"customer_id": 5})
    order.tags = "gift"  # type: ignore[assignment]
    # (uploaded at once: refused while the document has unwritten changes)
    with pytest.raises(SessionError, match="has unwritten changes"):
        session.put_attachment(order, "big.bin", b"x" * 100_000, "application/octet-stream")

    assert len(bulk_requests) == sent
    assert client.get_document(db_name, "o-1").get_result() == before
    eventually_stored(client, db_name, ["o-1"])


# --- 3: Decimal money compares as Python compares it --------------------------------------


@pytest.fixture
def orders(session: Session, client: CloudantV1, db_name: str) -> list[Order]:
    sync(client, db_name, [Order])
    rng = random.Random(11)
    made = [
        Order(
            id=f"o{n:03d}",
            customer_id=f"c{n % 4}",
            total=Decimal(rng.randrange(0, 12000)) / 100,
        )
        for n in range(120)
    ]
    made[0].total = Decimal("9.50")
    made[1].total = Decimal("50")
    made[2].total = Decimal("100.00")
    with session:
        session.add_all(made)
    settle(client, db_name, len(made))
    return made


def test_decimal_range_equality_and_sorting_give_pythons_answers(
    session: Session, orders: list[Order]
) -> None:
    query = Order.objects.using(session)
    for threshold in (Decimal("50"), Decimal("9.5"), Decimal("100"), Decimal("0.01")):
        found = sorted(str(o.id) for o in query.filter(Order.total > threshold))
        assert found == sorted(str(o.id) for o in orders if o.total > threshold)
        found = sorted(str(o.id) for o in query.filter(Order.total <= threshold))
        assert found == sorted(str(o.id) for o in orders if o.total <= threshold)
    assert [o.id for o in query.filter(Order.total == Decimal("9.5"))] == ["o000"]
    assert [o.id for o in query.filter(Order.total == 50)] == ["o001"]
    in_order = [o.total for o in query.filter(Order.total >= 0).order_by(Order.total)]
    assert in_order == sorted(o.total for o in orders)
    assert str(query.get("o000").total) == "9.50"  # places=2: quantized on load


def test_a_sum_view_over_decimal_money_is_exact(session: Session, orders: list[Order]) -> None:
    sums = {r.key: r.value for r in Order.total_by_customer.query(session, group=True)}
    expected: dict[str, Decimal] = {}
    for order in orders:
        expected[order.customer_id] = expected.get(order.customer_id, Decimal(0)) + order.total
    assert sums == expected
    assert all(str(v).split(".")[1].__len__() == 2 for v in sums.values())
    total = Order.total_by_customer.query(session).scalar()
    assert total == sum(o.total for o in orders)


# --- 4: rollback and `with` after a bad value --------------------------------------------


def test_rollback_restores_an_object_holding_a_value_it_cant_store(
    session: Session, client: CloudantV1, db_name: str
) -> None:
    session.add(Order(id="o-1", customer_id="c", tags=["a"]))
    session.commit()
    loaded = Session(client, db=db_name).get(Order, "o-1")
    assert loaded is not None
    other = Session(client, db=db_name)
    order = other.get(Order, "o-1")
    assert order is not None
    order.tags = "gift"  # type: ignore[assignment]
    order.customer_id = 5  # type: ignore[assignment]
    assert other.dirty == [order]
    other.rollback()
    assert (order.tags, order.customer_id) == (["a"], "c")
    assert other.dirty == []
    other.commit()  # nothing to write, nothing refused


def test_a_with_block_raises_its_own_exception(session: Session, db_name: str) -> None:
    session.add(Order(id="o-1", customer_id="c"))
    session.commit()
    order = session.get(Order, "o-1")
    assert order is not None

    def fail_in_block() -> None:
        with session:
            order.tags = "gift"  # type: ignore[assignment]
            raise KeyError("the block's own")

    with pytest.raises(KeyError, match="the block's own"):
        fail_in_block()
    assert session.state_of(order) is ObjectState.PERSISTENT
    assert order.tags == []


# --- 5: a missing database is an error that names it --------------------------------------


def test_a_missing_database_is_an_error_naming_it(client: CloudantV1) -> None:
    missing = f"ig-missing-{random.randrange(10**9)}"
    session = Session(client, db=missing)
    calls: list[Callable[[], object]] = [
        lambda: session.get(Order, "o-1"),
        lambda: Order.objects.using(session).get("o-1"),
        lambda: session.get_many(Order, ["o-1", "o-2"]),
        lambda: Order.objects.using(session).filter(Order.customer_id == "c").all(),
        lambda: Order.objects.using(session).all(),
        lambda: session.update(Order, "o-1", lambda o: None),
    ]
    for call in calls:
        with pytest.raises(NotFoundError, match=f"database '{missing}' does not exist"):
            call()
    session.add(Order(customer_id="c"))
    with pytest.raises(NotFoundError, match=f"database '{missing}' does not exist"):
        session.commit()


def test_a_missing_document_in_an_existing_database_is_none(session: Session) -> None:
    assert session.get(Order, "nope") is None
    with pytest.raises(DoesNotExist):
        Order.objects.using(session).get("nope")
    with pytest.raises(NotFoundError, match="document 'nope' not found in database"):
        session.update(Order, "nope", lambda o: None)


# --- 6: queries check their terms before anything is sent --------------------------------


def test_query_terms_are_checked_before_any_request(session: Session, orders: list[Order]) -> None:
    with pytest.raises(TypeError, match=r"Customer\.name is a field of Customer"):
        Order.objects.using(session).filter(Customer.name == "x")
    with pytest.raises(TypeError, match=r"Order\.customer_id: expected str, got int 5"):
        Order.objects.using(session).filter(Order.customer_id == 5)
    with pytest.raises(TypeError, match="compare it with a Decimal"):
        Order.objects.using(session).filter(Order.total > 0.5)


# --- 7: one session, other databases -------------------------------------------------------


def test_a_session_points_the_classes_at_other_databases(client: CloudantV1, db_name: str) -> None:
    mapped = Session(client, databases={"ig-shop-orders": db_name})
    mapped.add(ShopOrder(id="s-1", customer_id="c"))
    mapped.commit()
    eventually_stored(client, db_name, ["s-1"])
    assert [o.id for o in ShopOrder.objects.using(mapped).all()] == ["s-1"]

    def rename(name: str) -> str:
        return db_name if name == "ig-shop-orders" else name

    by_function = Session(client, databases=rename)
    assert by_function.db_for(ShopOrder) == db_name
    assert by_function.get(ShopOrder, "s-1") is not None

    # The session's own db= wins over the class's Meta.db (it used to lose, silently).
    explicit = Session(client, db=db_name)
    explicit.add(ShopOrder(id="s-2", customer_id="c"))
    explicit.commit()
    eventually_stored(client, db_name, ["s-1", "s-2"])


# --- 8: what docs/session.md says ---------------------------------------------------------


def test_states_and_errors_the_session_docs_describe(session: Session) -> None:
    customer = Customer(id="c-1", name="ann")
    session.add(customer)
    session.commit()
    with pytest.raises(DocumentTypeError):
        Session(session.client, db=session.db).get(Order, "c-1")
    session.delete(customer)
    session.commit()
    assert session.state_of(customer) is ObjectState.DETACHED
    pending = Customer(name="bob")
    session.add(pending)
    session.expunge(pending)
    assert session.state_of(pending) is ObjectState.TRANSIENT


# --- siblings found by a new user's review --------------------------------------------------


class Event(Document, doc_type="ig-event"):
    at: datetime
    score: int | None = None
    lines: list[Line] = field(factory=list)


class ColouredLine(Line):
    colour: str = "red"


def test_datetime_ranges_compare_instants_whatever_the_offsets(session: Session) -> None:
    from datetime import timedelta

    zones = [timezone(timedelta(hours=h)) for h in (-5, 0, 2, 9)]
    events = [
        Event(id=f"e{n:02d}", at=(START + timedelta(hours=n)).astimezone(zones[n % 4]))
        for n in range(24)
    ]
    with session:
        session.add_all(events)
    query = Event.objects.using(session)
    for probe in (
        (START + timedelta(hours=10, minutes=30)).astimezone(zones[0]),
        (START + timedelta(hours=7)).astimezone(zones[3]),
    ):
        found = sorted(str(e.id) for e in query.filter(Event.at < probe))
        assert found == sorted(str(e.id) for e in events if e.at < probe)
        assert [e.id for e in query.filter(Event.at == probe)] == [
            e.id for e in events if e.at == probe
        ]


def test_a_range_on_an_optional_field_never_matches_none(session: Session) -> None:
    with session:
        session.add_all(
            [Event(id=f"e{n}", at=START, score=None if n % 3 == 0 else n) for n in range(9)]
        )
    query = Event.objects.using(session)
    found = sorted(str(e.id) for e in query.filter(Event.score < 5))
    assert found == ["e1", "e2", "e4"]  # None is never < 5 (Python can't even order it)
    with pytest.raises(TypeError, match="None has no order"):
        query.filter(Event.score > None)
    with pytest.raises(TypeError, match="can't hold None"):
        query.filter(Event.score.in_([None, 1]))


def test_values_that_would_lose_data_are_refused(session: Session) -> None:
    session.add(Event(at=START, lines=[ColouredLine(sku="x", colour="blue")]))
    with pytest.raises(DocumentValidationError, match="got its subclass ColouredLine"):
        session.flush()
    session.rollback()
    event = Event(id="e-1", at=START)
    event.extra["_deleted"] = True
    session.add(event)
    with pytest.raises(DocumentValidationError, match=r"extra\['_deleted'\]: keys starting"):
        session.flush()

"""The ODM end to end, as a small shop: typed documents, their design documents deployed
from the class declarations, a unit of work, typed queries, a view and typed changes.

Run by the README's first command (scripts/example), or against the server in
CLOUDANT_URL (with CLOUDANT_AUTH_TYPE and credentials):

    CLOUDANT_URL=http://127.0.0.1:5984 CLOUDANT_AUTH_TYPE=BASIC CLOUDANT_USERNAME=admin \
        CLOUDANT_PASSWORD=... python examples/shop.py
"""

from __future__ import annotations

import contextlib
import enum
import os
import time
from datetime import datetime, timezone
from decimal import Decimal

from cloudant_odm import (
    Document,
    DocumentValidationError,
    Embedded,
    Index,
    Session,
    View,
    field,
)
from cloudant_odm.changes import follow
from cloudant_odm.client import CloudantV1, PreconditionFailedError
from cloudant_odm.design import sync


class Status(enum.Enum):
    NEW = "new"
    PAID = "paid"


class Line(Embedded):
    sku: str
    qty: int
    price: Decimal = field(places=2)


class Customer(Document, design="shop"):
    name: str
    email: str


class Order(Document, design="shop"):
    customer_id: str
    lines: list[Line] = field(factory=list)
    total: Decimal = field(default=Decimal("0"), places=2)
    status: Status = Status.NEW
    created: datetime = field(factory=lambda: datetime.now(timezone.utc))
    tags: list[str] = field(factory=list)

    # Deployed by sync(): a Mango index to sort by total, and a view of totals.
    by_total = Index("total")
    total_by_customer = View.emit(key="customer_id", value="total", reduce="_sum")


def order(number: int, customer: Customer, *lines: Line, status: Status = Status.NEW) -> Order:
    total = sum((line.price * line.qty for line in lines), Decimal("0"))
    assert customer.id is not None
    # Fixed ids, so that running the example again finds them.
    return Order(
        id=f"order-{number}",
        customer_id=customer.id,
        lines=list(lines),
        total=total,
        status=status,
    )


def main() -> None:
    client = CloudantV1.new_instance()  # CLOUDANT_URL, CLOUDANT_AUTH_TYPE, ...
    db = os.environ.get("EXAMPLES_DB", "shop")
    with contextlib.suppress(PreconditionFailedError):  # it exists already
        client.put_database(db)

    # Design documents come from the class declarations; an unchanged one is not rewritten.
    print(f"deploy: {sync(client, db, [Customer, Order]).summary()}")

    # A unit of work: what is added is written at the end of the block, in one
    # _bulk_docs request. (get() first, so that running the example again adds nothing.)
    with Session(client, db=db) as session:
        ann = Customer(id="ann", name="Ann", email="ann@example.com")
        bob = Customer(id="bob", name="Bob", email="bob@example.com")
        for doc in [
            ann,
            bob,
            order(1, ann, Line(sku="tea", qty=2, price=Decimal("4.75"))),
            order(2, ann, Line(sku="cup", qty=1, price=Decimal("12.00")), status=Status.PAID),
            order(3, bob, Line(sku="tea", qty=10, price=Decimal("4.75")), status=Status.PAID),
        ]:
            assert doc.id is not None
            if session.get(type(doc), doc.id) is None:
                session.add(doc)
    print("stored 2 customers and 3 orders")

    # A value the class can't read back is refused before anything is sent.
    with Session(client, db=db) as session:
        try:
            session.add(Order(customer_id="ann", tags="gift"))  # type: ignore[arg-type]
            session.flush()
        except DocumentValidationError as error:
            print(f"refused: {str(error).split(': ', 1)[1]}")
            session.rollback()

    # On a cluster (Cloudant), queries, views and the changes feed read one copy of each
    # shard, which may get a write a moment after it returned: wait until they show the
    # three orders (docs/clusters.md).
    session = Session(client, db=db)
    while Order.objects.using(session).count() < 3 or len(totals(session)) < 2:
        time.sleep(0.1)

    # Typed queries compiled to Mango; Decimal totals compare as Python compares them.
    big = Order.objects.using(session).filter(Order.total > Decimal("10")).order_by(Order.total)
    print("orders over 10:", [(o.customer_id, str(o.total)) for o in big])
    paid = Order.objects.using(session).filter(status=Status.PAID).count()
    print(f"paid orders: {paid}")

    # A view: the sum of totals per customer, exact to the cent.
    print("total per customer:", totals(session))

    # Typed changes: every stored order, as Order objects.
    changed = [c.doc for c in follow(session, [Order], one_off=True) if c.doc is not None]
    print(f"changes: {len(changed)} orders, {sum(o.total for o in changed)} in all")


def totals(session: Session) -> dict[str, str]:
    """The view's sum of totals per customer."""
    sums = Order.total_by_customer.query(session, group=True)
    return {str(row.key): str(row.value) for row in sums}


if __name__ == "__main__":
    main()

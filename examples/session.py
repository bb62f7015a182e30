"""Typed documents and the unit of work, end to end.

Run against the server in CLOUDANT_URL (with CLOUDANT_AUTH_TYPE and credentials):

    CLOUDANT_URL=http://127.0.0.1:5984 CLOUDANT_AUTH_TYPE=BASIC CLOUDANT_USERNAME=admin \
        CLOUDANT_PASSWORD=... python examples/session.py
"""

from __future__ import annotations

import contextlib
import os
from datetime import datetime, timezone
from decimal import Decimal

import attrs

from cloudant_odm import BulkWriteError, Document, Session, field
from cloudant_odm.client import CloudantV1, ConflictError, PreconditionFailedError


@attrs.define
class Address:
    street: str
    city: str


class Order(Document):
    customer: str
    total: Decimal = field(default=Decimal("0"), places=2)
    status: str = "new"
    created: datetime = field(factory=lambda: datetime.now(timezone.utc))
    tags: list[str] = field(factory=list)
    shipping: Address | None = None


class PriorityOrder(Order):
    level: int = 1


def main() -> None:
    client = CloudantV1.new_instance()
    db = os.environ.get("EXAMPLES_DB", "orders")
    with contextlib.suppress(PreconditionFailedError):  # it exists already
        client.put_database(db)

    # Write: ids are made here, on the client, so a retried write can't duplicate.
    with Session(client, db=db) as session:
        order = Order(customer="bob", total=Decimal("9.50"), shipping=Address("1 High St", "Leeds"))
        rush = PriorityOrder(customer="ann", total=Decimal("120"), level=3)
        session.add_all([order, rush])
    print(f"stored {order.id} at {order.rev} and {rush.id} at {rush.rev}")

    # Read and change: only changed documents are written; the same id is the same object.
    with Session(client, db=db) as session:
        loaded = session.get(Order, rush.id)  # polymorphic: comes back as a PriorityOrder
        assert isinstance(loaded, PriorityOrder)
        assert session.get(Order, rush.id) is loaded
        loaded.status = "paid"
    print(f"{type(loaded).__name__} {loaded.id} is {loaded.status} at {loaded.rev}")

    # A stale copy conflicts instead of overwriting: nothing is silently lost.
    stale = Session(client, db=db).get(Order, order.id)
    with Session(client, db=db) as session:
        session.update(Order, order.id, lambda o: setattr(o, "total", o.total + 1))
    assert stale is not None
    stale.status = "cancelled"
    session = Session(client, db=db)
    session.add(stale)
    try:
        session.commit()
    except BulkWriteError as error:
        failure = error.failures[0]
        assert isinstance(failure.error, ConflictError)
        print(f"conflict, as expected: {failure}")

    # Read-modify-write that retries on conflict, applied to the latest version.
    updated = Session(client, db=db).update(
        Order, order.id, lambda o: setattr(o, "status", "cancelled")
    )
    print(f"{updated.id}: {updated.status}, total {updated.total}, at {updated.rev}")

    with Session(client, db=db) as session:
        for doc_id in (order.id, rush.id):
            found = session.get(Order, doc_id)
            if found is not None:
                session.delete(found)
    print("deleted both")


if __name__ == "__main__":
    main()

"""Queries end to end: expressions, sorting with an index, page cursors, a view with
reduce and group, bulk update and delete.

Run against the server in CLOUDANT_URL (with CLOUDANT_AUTH_TYPE and credentials):

    CLOUDANT_URL=http://127.0.0.1:5984 CLOUDANT_AUTH_TYPE=BASIC CLOUDANT_USERNAME=admin \
        CLOUDANT_PASSWORD=... python examples/queries.py
"""

from __future__ import annotations

import contextlib
import os
import time
from datetime import datetime, timedelta, timezone

from cloudant_odm import Document, Index, Q, Session, View, connect, disconnect, field
from cloudant_odm.client import CloudantV1, PreconditionFailedError
from cloudant_odm.design import sync

START = datetime(2024, 1, 1, tzinfo=timezone.utc)


class Order(Document):
    class Meta:
        design = "example-orders"

    customer: str
    total: float = 0.0
    status: str = "new"
    created: datetime = START
    tags: list[str] = field(factory=list)

    status_created = Index("status", "created")
    by_customer = View.emit(key="customer", value="total", reduce="_sum")


def main() -> None:
    db = os.environ.get("EXAMPLES_DB", "orders")
    client = CloudantV1.new_instance()
    with contextlib.suppress(PreconditionFailedError):  # it exists already
        client.put_database(db)
    sync(client, db, [Order])  # the index and the view, built before they are queried

    session = connect(client=client, db=db)  # the current session for Order.objects
    with session:
        for n in range(40):
            session.add(
                Order(
                    id=f"example-{n:02d}",
                    customer=["ann", "bob", "cy", "dee"][n % 4],
                    total=10.0 + n,
                    status="paid" if n % 2 else "new",
                    created=START + timedelta(hours=n),
                    tags=["gift"] if n % 10 == 0 else [],
                )
            )

    # On a cluster (Cloudant), queries read one copy of each shard, and the last copy
    # may get a write a moment after it was acknowledged (docs/clusters.md): wait for
    # the 40 orders to be queryable before counting them.
    while Order.objects.count() < 40:
        time.sleep(0.1)

    # Expressions and keyword filters compile to one Mango selector.
    big_paid = Order.objects.filter(Order.total >= 40, status="paid")
    print(f"paid orders of 40 or more: {big_paid.count()}")
    gifts = Order.objects.filter(Order.tags.contains("gift") | Q(customer="dee", total__lt=20))
    print(f"gifts or small orders of dee: {sorted(o.id for o in gifts)}")

    # Sorting uses the declared index (status, created).
    latest = Order.objects.filter(status="new").order_by(-Order.created).limit(3)
    print(f"latest new orders: {[o.id for o in latest]}")

    # A page at a time, with a cursor a web client can send back.
    query = Order.objects.filter(status="paid")
    pages, cursor = 0, None
    while True:
        page = query.using(Session(client, db=db)).page(7, cursor)
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    print(f"paid orders read in {pages} pages of 7")

    # A view: the total per customer, reduced by the server.
    totals = {row.key: row.value for row in Order.by_customer.query(session, group=True)}
    print(f"total per customer: {totals}")

    # Results are the session's objects: change one and commit, no second read.
    first = Order.objects.get("example-01")
    first.status = "refunded"
    session.commit()
    print(f"{first.id} is {Order.objects.get('example-01').status}, revision {first.rev}")

    # Bulk changes, retried per document on conflict.
    updated = Order.objects.filter(status="new", total__lt=20).update(status="cancelled")
    ours = Order.objects.filter(Order.id.regex("^example-"))
    deleted = ours.delete()
    while ours.count():  # on a cluster a query can miss a document for a moment
        deleted += ours.delete()
    print(f"cancelled {updated}, deleted {deleted}")
    disconnect()


if __name__ == "__main__":
    main()

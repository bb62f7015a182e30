"""Deploying design documents: declare views and indexes on a class, sync them, change a
view and sync again (move-and-switch: queries never wait for the rebuild).

Run against the server in CLOUDANT_URL (with CLOUDANT_AUTH_TYPE and credentials):

    CLOUDANT_URL=http://127.0.0.1:5984 CLOUDANT_AUTH_TYPE=BASIC CLOUDANT_USERNAME=admin \
        CLOUDANT_PASSWORD=... python examples/deploy.py

The same deploy from a shell (or CI) is ``cloudant-odm sync myapp.models --db orders``.
"""

from __future__ import annotations

import contextlib
import os
from decimal import Decimal

from cloudant_odm import Document, Index, Session, View, field
from cloudant_odm.client import CloudantV1, PreconditionFailedError
from cloudant_odm.design import sync


def release(totals_by: str) -> type[Document]:
    """The ``Order`` class as one release of the application declares it: its view
    totals orders by ``totals_by``. (An application has one such class; the example
    builds two releases of it.)"""

    class Order(Document):
        class Meta:
            design = "orders"  # the design document of this class's declarations
            doc_type = "order"

        customer: str
        total: Decimal = field(default=Decimal("0"), places=2)
        status: str = "new"

        # Map function generated from field names: only "order" documents, total summed.
        totals = View.emit(key=totals_by, value="total", reduce="_sum")
        # A Mango index, in a design document of its own.
        status_idx = Index("status")

    return Order


def totals(client: CloudantV1, db: str) -> dict[str, float]:
    rows = client.post_view(db, "orders", "totals", group=True).get_result()["rows"]
    return {row["key"]: row["value"] for row in rows}


def main() -> None:
    client = CloudantV1.new_instance()
    db = os.environ.get("EXAMPLES_DB", "orders")
    with contextlib.suppress(PreconditionFailedError):  # it exists already
        client.put_database(db)

    order = release(totals_by="status")
    with Session(client, db=db) as session:
        session.add_all(
            [
                order(customer="ann", total=Decimal("9.50")),
                order(customer="ann", total=Decimal("1"), status="paid"),
                order(customer="bob", total=Decimal("4"), status="paid"),
            ]
        )

    report = sync(client, db, order)
    print(f"first deploy: {report.summary()}")
    # Nothing changed: nothing is written, so no index is rebuilt.
    print(f"again: {sync(client, db, order).summary()}")
    print(f"totals by status: {totals(client, db)}")

    # The next release changes the view. The live design document keeps answering
    # while the new version builds as orders_NEW, then a COPY switches them.
    next_order = release(totals_by="customer")
    report = sync(client, db, next_order)
    print(f"changed view: {report.summary()} ({report.changes[0].method})")
    print(f"totals by customer: {totals(client, db)}")


if __name__ == "__main__":
    main()

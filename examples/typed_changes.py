"""Follow typed changes with a checkpoint: run it twice and the second run reads only
what changed since the first.

    CLOUDANT_URL=http://127.0.0.1:5984 CLOUDANT_AUTH_TYPE=BASIC CLOUDANT_USERNAME=admin \
        CLOUDANT_PASSWORD=... python examples/typed_changes.py
"""

import contextlib
import os
from decimal import Decimal

from cloudant_odm import Document, Session, field
from cloudant_odm.changes import Checkpoint, follow
from cloudant_odm.client import CloudantV1, PreconditionFailedError


class Order(Document):
    customer: str
    total: Decimal = field(default=Decimal("0"), places=2)


client = CloudantV1.new_instance()
db = os.environ.get("EXAMPLES_DB", "orders")
with contextlib.suppress(PreconditionFailedError):
    client.put_database(db)

with Session(client, db=db) as session:
    session.add_all(Order(customer=name, total=Decimal(n)) for n, name in enumerate("abc"))

session = Session(client, db=db)
for change in follow(session, [Order], one_off=True, checkpoint=Checkpoint("example")):
    if change.doc is not None:
        print(f"{change.id}: {change.doc.customer} {change.doc.total}")
    else:
        print(f"{change.id}: deleted")
print("up to date")

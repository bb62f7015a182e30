"""A plain attrs class with renamed keys and Decimal storage, written by a session and
read back from a real server: stored under its JSON keys, loaded equal, found by a
query on a renamed nested key."""

from __future__ import annotations

from decimal import Decimal

import attrs
from _server import settle

from cloudant_odm import Document, Session, field
from cloudant_odm.client import CloudantV1


@attrs.define
class Price:
    amount: Decimal = field(key="Amount", places=2)
    exact: Decimal = field(key="x", as_string=True, default=Decimal("1.10"))


class Quote(Document, doc_type="plain_fields_quote"):
    price: Price
    history: list[Price] = field(factory=list)


def test_a_plain_attrs_class_is_stored_under_its_keys_and_read_back(
    client: CloudantV1, db_name: str
) -> None:
    quote = Quote(
        id="q1",
        price=Price(amount=Decimal("9.50"), exact=Decimal("0.12345678901234567")),
        history=[Price(amount=Decimal("12"))],
    )
    with Session(client, db=db_name) as session:
        session.add_all([quote, Quote(id="q2", price=Price(amount=Decimal("1.25")))])

    stored = client.get_document(db_name, "q1").get_result()
    assert stored["price"] == {"Amount": 9.5, "x": "0.12345678901234567"}
    assert stored["history"] == [{"Amount": 12, "x": "1.10"}]

    with Session(client, db=db_name) as session:
        loaded = session.get(Quote, "q1")
        assert loaded is not None
        assert loaded == quote
        assert str(loaded.price.amount) == "9.50"
        assert not session.is_modified(loaded)  # its snapshot is what the server holds
        settle(client, db_name, 2)
        found = Quote.objects.using(session).filter(Quote.price.amount > Decimal(5)).all()
        assert [q.id for q in found] == ["q1"]

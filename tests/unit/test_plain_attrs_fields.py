"""A plain attrs class nested in a document stores its fields as ``field()`` declares
them (``key=``, ``places=``, ``as_string=``), as an ``Embedded`` class does: what a
session writes is what the class reads back, and what queries compare."""

from __future__ import annotations

import gzip
import json
from decimal import Decimal
from typing import Generic, TypeVar

import attrs
import pytest
import responses

from cloudant_odm import (
    Document,
    DocumentDefinitionError,
    DocumentValidationError,
    Session,
    field,
)
from cloudant_odm.client import CloudantV1, NoAuthAuthenticator
from cloudant_odm.models import from_json, register_tagged_union, to_json
from cloudant_odm.models.conversion import canonical_document, partial_from_json

T = TypeVar("T")

URL = "http://couch.test"
BULK = f"{URL}/db/_bulk_docs"


@attrs.define
class Price:
    amount: Decimal = field(key="Amount", places=2)
    exact: Decimal = field(key="x", as_string=True, default=Decimal("1.10"))
    note: str = ""


@attrs.define
class Card:
    last4: str = field(key="last4Digits")


@attrs.define
class Wire:
    iban: str = field(key="IBAN")


register_tagged_union(Card | Wire, tag="via")


@attrs.define
class Box(Generic[T]):
    item: T = field(key="Item")


class Quote(Document, doc_type="plain-fields-quote"):
    price: Price
    prices: list[Price] = field(factory=list)
    by_region: dict[str, Price] = field(factory=dict)
    discount: Price | None = None
    paid_by: Card | Wire | None = None
    box: Box[int] | None = None


def _quote() -> Quote:
    return Quote(
        id="q1",
        price=Price(amount=Decimal("9.50"), exact=Decimal("0.12345678901234567")),
        prices=[Price(amount=Decimal("1"))],
        by_region={"eu": Price(amount=Decimal("2.25"), note="vat")},
        discount=Price(amount=Decimal("0.5")),
        paid_by=Card(last4="1234"),
        box=Box(item=3),
    )


QUOTE_JSON = {
    "_id": "q1",
    "type": "plain-fields-quote",
    "price": {"Amount": 9.5, "x": "0.12345678901234567", "note": ""},
    "prices": [{"Amount": 1, "x": "1.10", "note": ""}],
    "by_region": {"eu": {"Amount": 2.25, "x": "1.10", "note": "vat"}},
    "discount": {"Amount": 0.5, "x": "1.10", "note": ""},
    "paid_by": {"via": "Card", "last4Digits": "1234"},
    "box": {"Item": 3},
}


def test_renamed_keys_and_decimal_storage_are_written_at_every_depth() -> None:
    quote = _quote()
    assert to_json(quote) == QUOTE_JSON
    # The session's body and snapshot (the compiled encoder) agree with to_json.
    body, rev = canonical_document(quote)
    assert json.loads(body) == QUOTE_JSON
    assert rev is None


def test_what_is_written_reads_back_equal() -> None:
    quote = _quote()
    loaded = from_json(json.loads(json.dumps(to_json(quote))), Quote)
    assert loaded == quote
    assert loaded.price.amount == Decimal("9.50")  # quantized to the field's places
    assert str(loaded.prices[0].exact) == "1.10"  # as_string keeps its digits
    assert from_json(json.loads(canonical_document(quote)[0]), Quote) == quote


def test_a_partial_load_reads_the_renamed_keys() -> None:
    partial = partial_from_json(QUOTE_JSON, Quote, ["price", "box"])
    assert partial.price == _quote().price
    assert partial.box == Box(item=3)


def test_the_write_checks_apply_the_nested_field_options_before_sending() -> None:
    quote = _quote()
    quote.prices.append(Price(amount=Decimal("1.234")))
    for write in (to_json, canonical_document):
        with pytest.raises(DocumentValidationError) as info:
            write(quote)
        assert info.value.errors == [
            ("prices[1].amount", "Decimal('1.234') has more than 2 decimal places")
        ]


@attrs.define
class Clash:
    first: int = field(key="second")
    second: int = 0


class Holder(Document, doc_type="plain-fields-holder"):
    clash: Clash


def test_two_fields_under_one_key_are_refused_naming_the_class_and_fields() -> None:
    message = "Clash: fields 'first' and 'second' both use the JSON key 'second'"
    with pytest.raises(DocumentDefinitionError, match=message):
        to_json(Holder(clash=Clash(first=1)))
    with pytest.raises(DocumentDefinitionError, match=message):
        from_json({"type": "plain-fields-holder", "clash": {"second": 1}}, Holder)


def test_queries_compare_the_stored_keys_and_forms() -> None:
    assert Quote.price.amount.path == "price.Amount"
    # (A Decimal range also excludes text, which sorts after numbers.)
    above = {"price.Amount": {"$gt": 2, "$lt": ""}}
    assert (Quote.price.amount > Decimal(2)).to_selector() == above
    assert (Quote.price.exact == Decimal("1.10")).to_selector() == {"price.x": {"$eq": "1.10"}}
    with pytest.raises(TypeError, match="stored as text"):
        _ = Quote.price.exact > Decimal(1)
    whole = Quote.discount == Price(amount=Decimal("0.5"))
    assert whole.to_selector() == {"discount": {"$eq": {"Amount": 0.5, "x": "1.10", "note": ""}}}


@responses.activate
def test_a_session_flush_writes_the_renamed_keys() -> None:
    responses.post(BULK, json=[{"ok": True, "id": "q1", "rev": "1-a"}], status=201)
    client = CloudantV1(NoAuthAuthenticator())
    client.set_service_url(URL)
    session = Session(client, db="db")
    session.add(_quote())
    session.flush()
    (call,) = responses.calls
    body = call.request.body
    assert isinstance(body, bytes)
    (sent,) = json.loads(gzip.decompress(body))["docs"]
    assert sent == QUOTE_JSON

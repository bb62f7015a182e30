# ruff: noqa: E501 - the expected signatures are long
"""What type checkers see of documents; checked with mypy by tests/unit/test_typing.py.

A trailing comment ``R`` followed by a type gives what mypy must reveal on that line;
``E`` followed by error codes gives the errors it must report there. Any other error
fails. The classes are real (importing this module defines them); the checks sit in
functions that never run.
"""

from datetime import datetime
from decimal import Decimal
from typing import Any

import attrs
from typing_extensions import reveal_type

from cloudant_odm import migrate, migration
from cloudant_odm.client import CloudantV1
from cloudant_odm.converter import from_json as load
from cloudant_odm.converter import to_json as dump
from cloudant_odm.models import Document, Embedded, field, from_json, to_json


@attrs.define
class Address:
    city: str


class Tag(Embedded):
    label: str


class Order(Document, db="typing-orders", doc_type="typing-order"):
    customer: str
    total: Decimal = Decimal("0")
    created: datetime | None = None
    tags: list[Tag] = field(factory=list)
    shipping: Address | None = None
    created_by: str = field(default="system", key="createdBy")


class PriorityOrder(Order, doc_type="typing-priority-order"):
    priority: int


# One check per line, whatever its length: the expectations are line comments.
# fmt: off


def check_init() -> None:
    reveal_type(Order.__init__)  # R: def (self: document_types.Order, *, id: str | None =, rev: str | None =, extra: dict[str, Any] =, meta: cloudant_odm.models.meta.DocumentMeta =, customer: str, total: decimal.Decimal =, created: datetime.datetime | None =, tags: list[document_types.Tag] =, shipping: document_types.Address | None =, created_by: str =)
    reveal_type(PriorityOrder.__init__)  # R: def (self: document_types.PriorityOrder, *, id: str | None =, rev: str | None =, extra: dict[str, Any] =, meta: cloudant_odm.models.meta.DocumentMeta =, customer: str, total: decimal.Decimal =, created: datetime.datetime | None =, tags: list[document_types.Tag] =, shipping: document_types.Address | None =, created_by: str =, priority: int)
    reveal_type(Tag.__init__)  # R: def (self: document_types.Tag, *, extra: dict[str, Any] =, label: str)


def check_attributes() -> None:
    order = Order(customer="bob", total=Decimal("9.50"))
    reveal_type(order.total)  # R: decimal.Decimal
    reveal_type(order.customer)  # R: str
    reveal_type(order.tags)  # R: list[document_types.Tag]
    reveal_type(order.id)  # R: str | None
    reveal_type(order.rev)  # R: str | None
    reveal_type(order.partition)  # R: str | None
    reveal_type(order.extra)  # R: dict[str, Any]
    reveal_type(order.meta.conflicts)  # R: tuple[str, ...]
    reveal_type(Order._options.new_id(order))  # R: str
    reveal_type(Order._options.db)  # R: str | None


def check_converter(data: dict[str, Any]) -> None:
    reveal_type(from_json(data))  # R: cloudant_odm.models.document.Document
    reveal_type(from_json(data, Order))  # R: document_types.Order
    reveal_type(load(data, PriorityOrder))  # R: document_types.PriorityOrder
    reveal_type(to_json(Order(customer="x")))  # R: dict[str, Any]
    reveal_type(dump)  # R: def (doc: cloudant_odm.models.document.Document) -> dict[str, Any]


def check_mistakes() -> None:
    Order(customer="bob", total="x")  # E: arg-type
    Order()  # E: call-arg
    Order("bob")  # E: call-arg
    Order(customer="bob", created_by=1)  # E: arg-type
    Order(customer="bob", createdBy="me")  # E: call-arg
    PriorityOrder(customer="bob")  # E: call-arg
    Order(customer="bob").total = "x"  # E: assignment
    Tag(label=3)  # E: arg-type
    to_json({"_id": "x"})  # E: arg-type


class WrongKeyword(Document, db=5):  # E: arg-type
    pass


class Versioned(Document, doc_type="typing-versioned", schema_version=3):
    first: str

    @migration(1)
    @staticmethod
    def split(doc: dict[str, Any]) -> dict[str, Any]:
        doc["first"] = doc.pop("name")
        return doc

    @migration(2)
    def plain(doc: dict[str, Any]) -> dict[str, Any]:  # no @staticmethod: mypy accepts it
        return doc


def check_migrations(client: CloudantV1) -> None:
    reveal_type(Versioned.split)  # R: cloudant_odm.models.versions.Migration
    reveal_type(Versioned.split({"name": "x"}))  # R: dict[str, Any]
    reveal_type(migrate(client, "db", [Versioned]).migrated)  # R: int
    migration("1")  # E: arg-type


class WrongVersion(Document, schema_version="2"):  # E: arg-type
    pass

# ruff: noqa: E501 - the expected types are long
"""What type checkers see of queries; checked with mypy (plugin cloudant_odm.mypy enabled
in pyproject.toml) by tests/unit/test_typing.py.

A trailing comment ``R`` followed by a type gives what mypy must reveal on that line;
``E`` followed by error codes gives the errors it must report there. Any other error
fails. The checks sit in functions that never run.
"""

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal

import attrs
from typing_extensions import reveal_type

from cloudant_odm import Document, Field, Page, Q, QuerySet, SearchIndex, Session, View, col, field
from cloudant_odm.query.search import search_index
from cloudant_odm.query.views import ViewRow, query_view


@attrs.define
class Address:
    city: str


class Order(Document, db="typing-query-orders", doc_type="typing-query-order"):
    customer: str
    total: Decimal = Decimal("0")
    created: datetime | None = None
    tags: list[str] = field(factory=list)
    shipping: Address | None = None


class PriorityOrder(Order, doc_type="typing-query-priority-order"):
    level: int = 1


class Inv(Document, doc_type="typing-query-invoice"):
    customer: str
    by_customer = View.emit(key="customer", reduce="_count")
    by_hand = View(map="function (doc) { emit(doc.customer, null); }")
    text = SearchIndex(fields=["customer"])


def typed_views_and_search(session: Session) -> None:
    reveal_type(Inv.by_customer)  # R: cloudant_odm.schema.declarations.View[query_types.Inv]
    reveal_type(Inv.by_hand.query(session).docs())  # R: list[query_types.Inv]
    found = Inv.text.search(session, "a*")
    reveal_type(found)  # R: cloudant_odm.query.search.SearchResults[query_types.Inv]


class FakeView:
    model = Order
    name = "by_customer"
    ddoc = "orders"
    reduce: str | None = "_sum"


# fmt: off


def check_fields() -> None:
    reveal_type(Order.total)  # R: cloudant_odm.query.expressions.Field[decimal.Decimal]
    reveal_type(Order.total > 3)  # R: cloudant_odm.query.expressions.Condition
    reveal_type(Order.customer == "bob")  # R: cloudant_odm.query.expressions.Condition
    reveal_type(Order.id)  # R: cloudant_odm.query.expressions.Field[str | None]
    reveal_type(PriorityOrder.level)  # R: cloudant_odm.query.expressions.Field[int]
    reveal_type(PriorityOrder.customer)  # R: cloudant_odm.query.expressions.Field[str]
    reveal_type(Order.tags.contains("a"))  # R: cloudant_odm.query.expressions.Condition
    reveal_type(Order.shipping.city == "Leeds")  # R: cloudant_odm.query.expressions.Condition
    reveal_type((Order.total > 3) & ~Q(customer="x"))  # R: cloudant_odm.query.expressions.Expression
    reveal_type(-Order.created)  # R: cloudant_odm.query.expressions.SortKey
    reveal_type(col(Order.total))  # R: cloudant_odm.query.expressions.Field[decimal.Decimal]


def check_instances() -> None:
    order = Order(customer="bob")
    reveal_type(order.total)  # R: decimal.Decimal
    reveal_type(order.total > 3)  # R: bool
    reveal_type(order.customer)  # R: str


def check_queries(session: Session) -> None:
    reveal_type(Order.objects)  # R: cloudant_odm.query.manager.Manager[query_types.Order]
    reveal_type(Order.objects.filter(Order.total > 3).all())  # R: list[query_types.Order]
    reveal_type(Order.objects.using(session).filter(status="new").order_by(-Order.created))  # R: cloudant_odm.query.queryset.QuerySet[query_types.Order]
    reveal_type(PriorityOrder.objects.first())  # R: query_types.PriorityOrder | None
    reveal_type(Order.objects.get("id"))  # R: query_types.Order
    reveal_type(Order.objects.get_many(["a", "b"]))  # R: list[query_types.Order]
    reveal_type(Order.objects.get_many(["a"], missing="none"))  # R: list[query_types.Order | None]
    reveal_type(Order.objects.count())  # R: int
    reveal_type(Order.objects.page(10))  # R: cloudant_odm.query.paging.Page[query_types.Order]
    reveal_type(Order.objects.page(10).next_cursor)  # R: str | None
    reveal_type(iter(Order.objects.filter(Order.total > 3)))  # R: typing.Iterator[query_types.Order]
    reveal_type(Order.objects.update(status="paid"))  # R: int


def check_views_and_search(session: Session) -> None:
    rows = query_view(FakeView(), session, key="bob")
    reveal_type(rows.all())  # R: list[cloudant_odm.query.views.ViewRow[query_types.Order]]
    reveal_type(rows.first())  # R: cloudant_odm.query.views.ViewRow[query_types.Order] | None
    row: ViewRow[Order] | None = rows.first()
    if row is not None:
        reveal_type(row.doc)  # R: query_types.Order | None
    hits = search_index(FakeView(), session, "customer:bob")
    reveal_type(hits.docs())  # R: list[query_types.Order]


def check_mistakes(session: Session) -> None:
    # mypy itself types an == of values that can't be equal as a bool: a filter() error.
    Order.objects.filter(Order.customer == 5)  # E: arg-type
    Order.objects.filter(Order.total > 0.5)  # E: query-value
    Order.objects.filter(Order.created < "2024-01-01")  # E: query-value
    Order.objects.filter(Order.total > 3, Order.customer != "x", Order.created == None)  # noqa: E711
    Order.objects.filter(PriorityOrder.level >= 2.5, Order.total <= Decimal("3"))
    Order.objects.filter(Order(customer="x").total > 3)  # E: arg-type
    Order(customer="x").objects  # noqa: B018  # E: arg-type
    Order.objects.filter(Order.total > 3).all().append(PriorityOrder(customer="x"))
    wrong: list[PriorityOrder] = Order.objects.all()  # noqa: F841  # E: assignment
    qs: QuerySet[Order] = Order.objects.limit(3)
    page: Page[Order] = qs.page(3)
    it: Iterator[Order] = iter(page)
    expression: Field[Decimal] = Order.total
    del qs, page, it, expression

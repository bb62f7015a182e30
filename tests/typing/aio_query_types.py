# ruff: noqa: E501 - the expected types are long
"""What type checkers see of async queries, views and search; checked with mypy by
tests/unit/test_typing.py. ``R`` and ``E`` comments as in query_types.py. The checks sit
in functions that never run.
"""

from typing_extensions import reveal_type

from cloudant_odm import Document, Page, SearchIndex, Session, View
from cloudant_odm.aio import AsyncQuerySet, AsyncSession

# fmt: off


class Order(Document, db="typing-aio-orders", doc_type="typing-aio-order"):
    customer: str
    total: int = 0

    by_customer = View.emit(key="customer", value="total", reduce="_sum")
    text = SearchIndex(fields=["customer"])


async def check_query_sets(s: AsyncSession, sync: Session) -> None:
    reveal_type(Order.objects.using(s))  # R: cloudant_odm.aio.queries.AsyncQuerySet[aio_query_types.Order]
    reveal_type(Order.objects.using(s).filter(customer="bob").order_by(Order.total).limit(3))  # R: cloudant_odm.aio.queries.AsyncQuerySet[aio_query_types.Order]
    reveal_type(Order.objects.filter(customer="bob").using(s))  # R: cloudant_odm.aio.queries.AsyncQuerySet[aio_query_types.Order]
    reveal_type(Order.objects.using(s).using(sync))  # R: cloudant_odm.query.queryset.QuerySet[aio_query_types.Order]
    reveal_type(await Order.objects.using(s).filter(customer="bob").all())  # R: list[aio_query_types.Order]
    reveal_type(await Order.objects.using(s).first())  # R: aio_query_types.Order | None
    reveal_type(await Order.objects.using(s).get("id"))  # R: aio_query_types.Order
    reveal_type(await Order.objects.using(s).get_many(["a"]))  # R: list[aio_query_types.Order]
    reveal_type(await Order.objects.using(s).get_many(["a"], missing="none"))  # R: list[aio_query_types.Order | None]
    reveal_type(await Order.objects.using(s).count())  # R: int
    reveal_type(await Order.objects.using(s).exists())  # R: bool
    reveal_type(await Order.objects.using(s).page(10))  # R: cloudant_odm.query.paging.Page[aio_query_types.Order]
    reveal_type(await Order.objects.using(s).update(total=3))  # R: int
    reveal_type(await Order.objects.using(s).delete())  # R: int
    async for order in Order.objects.using(s).filter(customer="bob"):
        reveal_type(order)  # R: aio_query_types.Order
    async for page in Order.objects.using(s).pages(50, track=False):
        reveal_type(page)  # R: cloudant_odm.query.paging.Page[aio_query_types.Order]
    qs: AsyncQuerySet[Order] = Order.objects.using(s).limit(2)
    listed: Page[Order] = await qs.page(2)
    del qs, listed
    for wrong in Order.objects.using(s):  # E: attr-defined
        del wrong


async def check_views_and_search(s: AsyncSession) -> None:
    rows = Order.by_customer.query(s, group=True)
    reveal_type(rows)  # R: cloudant_odm.aio.queries.AsyncViewQuery[aio_query_types.Order]
    reveal_type(await rows.all())  # R: list[cloudant_odm.query.views.ViewRow[aio_query_types.Order]]
    reveal_type(await rows.first())  # R: cloudant_odm.query.views.ViewRow[aio_query_types.Order] | None
    reveal_type(await rows.docs())  # R: list[aio_query_types.Order]
    async for row in rows:
        reveal_type(row)  # R: cloudant_odm.query.views.ViewRow[aio_query_types.Order]
    found = await Order.text.search(s, "customer:bob*")
    reveal_type(found)  # R: cloudant_odm.aio.queries.AsyncSearchResults[aio_query_types.Order]
    reveal_type(await found.next_page())  # R: cloudant_odm.aio.queries.AsyncSearchResults[aio_query_types.Order] | None
    reveal_type(found.docs())  # R: list[aio_query_types.Order]
    async for hit in found.iter_hits():
        reveal_type(hit.doc)  # R: aio_query_types.Order | None

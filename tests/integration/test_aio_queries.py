"""Async query sets, views and search against the real server (local PouchDB Server, or
CLOUDANT_URL): the same queries through QuerySet and AsyncQuerySet (ViewQuery and
AsyncViewQuery, ..., a query's changes feed) give the same results and leave the same
documents, and async iteration keeps one page in memory."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any, TypeVar

import pytest
import requests
from _both_apis import collect, settled
from _server import unique_db_name

pytest.importorskip("httpx", reason="the async extra is not installed")

from cloudant_odm import (
    Document,
    DoesNotExist,
    IndexRequiredError,
    Ref,
    SearchIndex,
    Session,
    View,
    field,
)
from cloudant_odm.aio import AsyncCloudantV1, AsyncQuerySet, AsyncSession
from cloudant_odm.client import CloudantV1, NotFoundError, ServiceUnavailableError
from cloudant_odm.design import Index, sync
from cloudant_odm.models import to_json
from cloudant_odm.query.paging import Page
from cloudant_odm.query.search import BaseSearchResults
from cloudant_odm.query.views import ViewRow

pytestmark = [pytest.mark.anyio, pytest.mark.server]

T = TypeVar("T")


class Shop(Document, doc_type="aio_query_shop"):
    class Meta:
        design = "aio_query"

    name: str


class Sale(Document, doc_type="aio_query_sale"):
    class Meta:
        design = "aio_query"

    shop: Ref[Shop]
    item: str
    total: Decimal = field(places=2)
    n: int = 0

    item_n = Index("item", "n")
    by_item = View.emit(key="item", value="total", reduce="_sum")
    fulltext = SearchIndex(fields={"item": "keyword"})


ITEMS = ("tea", "cake", "jam")


@pytest.fixture
def db_pair(
    server_url: str, server_http: requests.Session, client: CloudantV1
) -> Iterator[tuple[str, str]]:
    """Two databases with the same design documents and documents."""
    names = (unique_db_name("aioq-sync"), unique_db_name("aioq-async"))
    for name in names:
        server_http.put(f"{server_url}/{name}").raise_for_status()
        sync(client, name, [Shop, Sale])
        with Session(client, db=name) as session:
            session.add_all([Shop(id="s-1", name="North"), Shop(id="s-2", name="South")])
            for n in range(23):
                shop = Ref(Shop, f"s-{n % 2 + 1}")
                item = ITEMS[n % 3]
                session.add(Sale(id=f"x{n:02d}", shop=shop, item=item, total=Decimal(n), n=n))
    yield names
    for name in names:
        server_http.delete(f"{server_url}/{name}")


def norm(value: Any) -> Any:
    """A result as comparable data; revisions as their generation (PouchDB's hashes of
    the same content differ between databases)."""
    if isinstance(value, Document):
        data = to_json(value)
        data["_rev"] = str(data.get("_rev", "")).split("-")[0]
        return data
    if isinstance(value, Page):
        return [norm(value.items), value.next_cursor is not None]
    if isinstance(value, ViewRow):
        return [value.key, value.value, value.id, norm(value.doc)]
    if isinstance(value, BaseSearchResults):
        return [value.total_rows, sorted(h.id for h in value.hits)]
    if isinstance(value, (list, tuple)):
        return [norm(v) for v in value]
    return value


async def queries(s: Session | AsyncSession) -> list[Any]:
    """Reads, pages, views and bulk writes, as an application would; what they return."""
    seen: list[Any] = []
    sales = Sale.objects.using(s)
    seen.append(await settled(sales.filter(item="tea").order_by(-Sale.n).limit(5).all()))
    seen.append(await collect(sales.filter(Sale.n >= 10).page_size(4)))
    seen.append(await collect(sales.page_size(5)))  # _all_docs: the shops are skipped
    first = await settled(sales.filter(Sale.n < 20).page(6))
    second = await settled(sales.filter(Sale.n < 20).page(6, first.next_cursor))
    bare = await settled(sales.page(10))
    seen += [first, second, bare, await settled(sales.page(10, bare.next_cursor))]
    seen.append(await settled(sales.filter(item="jam").first()))
    seen.append(await settled(sales.get("x03")))
    seen.append(await settled(sales.get(Sale.n == 4)))
    seen.append(await settled(sales.get_many(["x01", "s-1", "nope"], missing="none")))
    seen.append(await settled(sales.count()))
    seen.append(await settled(sales.filter(Sale.n > 100).exists()))
    seen.append(sorted((await settled(sales.filter(item="cake").explain()))["selector"]))
    light = await settled(sales.filter(item="cake").fields("n").all())
    seen.append([(o.id, o.n) for o in light])
    page = await settled(sales.filter(Sale.n < 4).prefetch(Sale.shop).page(4))
    seen.append([page, sorted(o.id for o in s if isinstance(o, Shop))])
    for wrong in (
        lambda: sales.get("nope"),
        lambda: sales.filter(item="tea").order_by(Sale.total).all(),  # no index for it
    ):
        try:
            await settled(wrong())
        except (DoesNotExist, IndexRequiredError) as error:
            seen.append(type(error).__name__)
    feed = sales.filter(item="jam", total__gte=Decimal(10)).changes(one_off=True)
    seen.append(sorted((c.id, c.deleted, norm(c.doc)) for c in await collect(feed)))
    seen.append(await settled(sales.filter(item="tea").update(total=Decimal("1.50"))))
    seen.append(await settled(sales.filter(Sale.n >= 20).delete()))
    rows = Sale.by_item.query(s, reduce=False, page_size=4)
    rows_first = await settled(rows.page(4))
    seen += [
        await settled(rows.all()),
        await collect(rows),
        rows_first,
        await settled(rows.page(4, rows_first.next_cursor)),
        await settled(rows.first()),
        await settled(Sale.by_item.query(s, group=True).all()),
        await settled(Sale.by_item.query(s).scalar()),
        await settled(Sale.by_item.query(s, key="jam", include_docs=True).docs()),
    ]
    return norm(seen)


def stored(client: CloudantV1, db: str) -> dict[str, Any]:
    rows = client.post_all_docs(db, include_docs=True).get_result()["rows"]
    found = {}
    for row in rows:
        if not row["id"].startswith("_design/"):
            found[row["id"]] = {**row["doc"], "_rev": row["doc"]["_rev"].split("-")[0]}
    return found


async def test_the_same_queries_give_the_same_results_sync_and_async(
    client: CloudantV1, aclient: AsyncCloudantV1, db_pair: tuple[str, str]
) -> None:
    sync_db, async_db = db_pair
    seen_sync = await queries(Session(client, db=sync_db))
    seen_async = await queries(AsyncSession(aclient, db=async_db))
    assert seen_async == seen_sync
    tea = [sale["n"] for sale in seen_sync[0]]
    assert tea == [21, 18, 15, 12, 9]
    assert [sale["n"] for sale in seen_sync[1]] == list(range(10, 23))
    assert [sale["_id"] for sale in seen_sync[2]] == [f"x{n:02d}" for n in range(23)]
    assert "DoesNotExist" in seen_sync
    feed = seen_sync[seen_sync.index("IndexRequiredError") + 1]
    jam = [(doc_id, doc["n"]) for doc_id, _, doc in feed]
    assert jam == [("x11", 11), ("x14", 14), ("x17", 17), ("x20", 20)]
    assert "IndexRequiredError" in seen_sync
    assert stored(client, async_db) == stored(client, sync_db)
    assert len(stored(client, sync_db)) == 2 + 20  # x20, x21, x22 deleted
    assert stored(client, sync_db)["x00"]["total"] == 1.5


async def test_async_iteration_keeps_one_page_in_memory(
    aclient: AsyncCloudantV1, db_pair: tuple[str, str]
) -> None:
    session = AsyncSession(aclient, db=db_pair[1])
    query = Sale.objects.using(session).filter(Sale.n >= 0)
    assert isinstance(query, AsyncQuerySet)
    sizes = [len(page) async for page in query.pages(10, track=False)]
    assert sizes == [10, 10, 3]
    assert list(session) == []  # untracked: nothing held once the loop is over
    count = 0
    async for sale in query.page_size(7):
        count += 1
        if sale.n == 8:
            break
    assert count == 9


async def test_search_pages_through_hits(
    client: CloudantV1, aclient: AsyncCloudantV1, db_pair: tuple[str, str], is_pouchdb: bool
) -> None:
    if is_pouchdb:
        pytest.skip("PouchDB Server has no search")
    db = db_pair[1]
    session = AsyncSession(aclient, db=db)
    try:
        first = await Sale.fulltext.search(session, "item:tea", limit=3, include_docs=True)
    except ServiceUnavailableError as error:
        if "Search is not available" not in str(error):
            raise
        pytest.skip("the server has no search service: 503 Search is not available")
    except NotFoundError:  # the index is still being built
        first = await Sale.fulltext.search(session, "item:tea", limit=3, include_docs=True)
    hits = [hit.id async for hit in first.iter_hits()]
    assert sorted(hits) == [f"x{n:02d}" for n in range(0, 23, 3)]
    assert all(doc.item == "tea" for doc in first.docs())
    sync_first = Sale.fulltext.search(Session(client, db=db), "item:tea", limit=3)
    assert sync_first.total_rows == first.total_rows == len(hits)

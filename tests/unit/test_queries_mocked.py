"""Queries with mocked HTTP (``responses``): the exact requests sent and how Cloudant's
documented responses are read. Search and partitions can't run on the local server."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import attrs
import pytest
import responses
from responses import matchers

from cloudant_odm import (
    Document,
    DocumentsNotFound,
    DocumentValidationError,
    DoesNotExist,
    IndexRequiredError,
    InvalidCursorError,
    MultipleObjectsReturned,
    QueryError,
    Ref,
    Session,
    SessionError,
    connect,
    current_session,
    disconnect,
    field,
    use_session,
)
from cloudant_odm.client import CloudantV1, NoAuthAuthenticator
from cloudant_odm.design.declarations import Index, SearchIndex, View
from cloudant_odm.query.paging import KeysetState, keyset_pages

URL = "http://couch.test"
JSON = {"Content-Type": "application/json"}


class Order(Document, doc_type="m-order", design="orders"):
    customer: str
    status: str = "new"
    total: float = 0.0
    tags: list[str] = field(factory=list)

    by_customer = View.emit(key="customer", value="total", reduce="_sum")
    fulltext = SearchIndex(fields={"customer": "standard", "status": "keyword"})
    by_status = Index("status", "total")


class Part(Document, doc_type="m-part", design="parts", partitioned=True, partition_from="store"):
    store: str
    name: str

    by_name = View.emit(key="name")
    fulltext = SearchIndex(fields={"name": "standard"})


class Other(Document, doc_type="m-other"):
    label: str = ""
    rank: int = 0


@pytest.fixture
def client() -> CloudantV1:
    c = CloudantV1(NoAuthAuthenticator())
    c.set_service_url(URL)
    return c


@pytest.fixture
def session(client: CloudantV1) -> Session:
    return Session(client, db="db")


@pytest.fixture(autouse=True)
def _mocked() -> Iterator[None]:
    with responses.mock:  # the module-level responses.post(...) register on this one
        yield


def body(call: Any) -> dict[str, Any]:
    raw = call.request.body
    if isinstance(raw, str):
        raw = raw.encode()
    if call.request.headers.get("Content-Encoding") == "gzip":
        raw = gzip.decompress(raw)
    decoded: dict[str, Any] = json.loads(raw)
    return decoded


def sent(index: int = -1) -> dict[str, Any]:
    return body(responses.calls[index])


def order_doc(doc_id: str, **values: Any) -> dict[str, Any]:
    return {"_id": doc_id, "_rev": "1-a", "type": "m-order", "customer": "bob", **values}


# --- search ---------------------------------------------------------------------------

SEARCH = f"{URL}/db/_design/orders/_search/fulltext"

# The shape of Cloudant's documented search response (with counts, ranges, highlights).
SEARCH_RESPONSE = {
    "total_rows": 3,
    "bookmark": "g1AAAAEbeJzLYWBgYMlgTmFQSElKzi9KdUhJMtPLTc3",
    "rows": [
        {
            "id": "o1",
            "order": [1.3862942457199097, 0],
            "fields": {"customer": "bob"},
            "highlights": {"customer": ["<b>bob</b> smith"]},
            "doc": order_doc("o1", status="paid", total=12.5),
        },
        {
            "id": "o2",
            "order": [0.6931471824645996, 1],
            "fields": {"customer": "bobby"},
            "highlights": {"customer": ["<b>bobby</b>"]},
            "doc": order_doc("o2", customer="bobby", total=3.0),
        },
    ],
    "counts": {"status": {"new": 1, "paid": 2}},
    "ranges": {"total": {"cheap": 1, "dear": 2}},
}


def test_search_sends_cloudants_parameters_and_reads_hits_facets_and_highlights(
    session: Session,
) -> None:
    responses.post(SEARCH, json=SEARCH_RESPONSE)
    results = Order.fulltext.search(
        session,
        "customer:bob*",
        sort="-total<number>",
        limit=2,
        include_docs=True,
        counts=["status"],
        ranges={"total": {"cheap": "[0 TO 10]", "dear": "[10 TO Infinity]"}},
        drilldown={"status": ["new", "paid"]},
        highlight_fields=["customer"],
        highlight_pre_tag="<b>",
        highlight_post_tag="</b>",
        highlight_number=2,
        highlight_size=50,
        include_fields=["customer"],
        stale="ok",
    )
    assert sent() == {
        "query": "customer:bob*",
        "sort": "-total<number>",
        "limit": 2,
        "include_docs": True,
        "include_fields": ["customer"],
        "counts": ["status"],
        "ranges": {"total": {"cheap": "[0 TO 10]", "dear": "[10 TO Infinity]"}},
        "drilldown": [["status", "new", "paid"]],
        "highlight_fields": ["customer"],
        "highlight_pre_tag": "<b>",
        "highlight_post_tag": "</b>",
        "highlight_number": 2,
        "highlight_size": 50,
        "stale": "ok",
    }
    assert results.total_rows == 3
    assert results.bookmark == SEARCH_RESPONSE["bookmark"]
    assert [hit.id for hit in results] == ["o1", "o2"]
    first = results.hits[0]
    assert first.order == [1.3862942457199097, 0]
    assert first.fields == {"customer": "bob"}
    assert first.highlights == {"customer": ["<b>bob</b> smith"]}
    assert isinstance(first.doc, Order)
    assert first.doc.status == "paid"
    assert session.get(Order, "o1") is first.doc  # in the identity map: no request
    assert [d.id for d in results.docs()] == ["o1", "o2"]
    assert results.counts == {"status": {"new": 1, "paid": 2}}
    assert results.ranges == {"total": {"cheap": 1, "dear": 2}}
    assert len(results) == 2


def test_search_groups(session: Session) -> None:
    responses.post(
        SEARCH,
        json={
            "total_rows": 3,
            "groups": [
                {
                    "by": "paid",
                    "total_rows": 2,
                    "rows": [{"id": "o1", "order": [1.0, 0], "fields": {}}],
                },
                {
                    "by": "new",
                    "total_rows": 1,
                    "rows": [{"id": "o3", "order": [0.5, 2], "fields": {}}],
                },
            ],
        },
    )
    results = Order.fulltext.search(
        session, "customer:bob", group_field="status", group_limit=1, group_sort="-total<number>"
    )
    assert sent() == {
        "query": "customer:bob",
        "group_field": "status",
        "group_limit": 1,
        "group_sort": "-total<number>",
    }
    assert [(g.by, g.total_rows, [h.id for h in g.hits]) for g in results.groups] == [
        ("paid", 2, ["o1"]),
        ("new", 1, ["o3"]),
    ]
    assert results.hits == []
    assert results.next_page() is None


def test_search_pages_follow_the_bookmark(session: Session) -> None:
    page = {"total_rows": 3, "bookmark": "b1", "rows": [{"id": "a"}, {"id": "b"}]}
    responses.post(SEARCH, json=page)
    responses.post(
        SEARCH,
        json={"total_rows": 3, "bookmark": "b2", "rows": [{"id": "c"}]},
        match=[matchers.json_params_matcher({"query": "*:*", "limit": 2, "bookmark": "b1"})],
    )
    results = Order.fulltext.search(session, "*:*", limit=2)
    assert [hit.id for hit in results.iter_hits()] == ["a", "b", "c"]
    assert results.hits[0].doc is None  # no include_docs


def test_search_documents_of_another_class_are_not_loaded(session: Session) -> None:
    other = {"_id": "x", "_rev": "1-a", "type": "m-other", "label": "hi"}
    responses.post(SEARCH, json={"total_rows": 1, "rows": [{"id": "x", "doc": other}]})
    results = Order.fulltext.search(session, "label:hi", include_docs=True)
    assert results.hits[0].doc is None


def test_search_retries_once_when_the_design_document_was_switched(session: Session) -> None:
    gone = {"error": "not_found", "reason": "Design document was updated or deleted."}
    responses.post(SEARCH, status=404, json=gone)
    responses.post(SEARCH, json={"total_rows": 0, "rows": []})
    assert Order.fulltext.search(session, "*:*").total_rows == 0
    assert len(responses.calls) == 2


def test_a_search_of_a_missing_index_is_not_retried(session: Session) -> None:
    from cloudant_odm.client import NotFoundError

    responses.post(SEARCH, status=404, json={"error": "not_found", "reason": "missing"})
    with pytest.raises(NotFoundError):
        Order.fulltext.search(session, "*:*")
    assert len(responses.calls) == 1


def test_partitioned_search(session: Session) -> None:
    url = f"{URL}/db/_partition/store1/_design/parts/_search/fulltext"
    responses.post(url, json={"total_rows": 1, "bookmark": "b", "rows": [{"id": "store1:p"}]})
    results = Part.fulltext.search(session, "name:bolt", partition="store1", limit=5)
    assert sent() == {"query": "name:bolt", "limit": 5}
    assert results.hits[0].id == "store1:p"
    with pytest.raises(QueryError, match="counts"):
        Part.fulltext.search(session, "name:bolt", partition="store1", counts=["name"])


def test_search_needs_a_query(session: Session) -> None:
    with pytest.raises(ValueError, match="query"):
        Order.fulltext.search(session, "")


# --- partitions -------------------------------------------------------------------------


def test_partition_find_sends_the_selector_to_the_partition(session: Session) -> None:
    url = f"{URL}/db/_partition/store1/_find"
    doc = {"_id": "store1:a", "_rev": "1-a", "type": "m-part", "store": "store1", "name": "bolt"}
    responses.post(url, json={"docs": [doc], "bookmark": "b1"})
    found = (
        Part.objects.using(session).partition("store1").filter(Part.name == "bolt").limit(5).all()
    )
    assert sent() == {"selector": {"type": "m-part", "name": {"$eq": "bolt"}}, "limit": 5}
    assert [p.id for p in found] == ["store1:a"]
    assert found[0].partition == "store1"


def test_partition_all_docs_pages_by_id(session: Session) -> None:
    url = f"{URL}/db/_partition/store1/_all_docs"
    rows = [
        {
            "id": f"store1:{n}",
            "key": f"store1:{n}",
            "value": {"rev": "1-a"},
            "doc": {
                "_id": f"store1:{n}",
                "_rev": "1-a",
                "type": "m-part",
                "store": "store1",
                "name": str(n),
            },
        }
        for n in range(3)
    ]
    responses.post(url, json={"rows": rows})  # 3 rows for a page of 2 (+1): more follow
    responses.post(url, json={"rows": rows[2:]})
    names = [p.name for p in Part.objects.using(session).partition("store1").iterator(page_size=2)]
    assert names == ["0", "1", "2"]
    assert body(responses.calls[0]) == {"include_docs": True, "limit": 3}
    assert body(responses.calls[1]) == {"include_docs": True, "limit": 3, "start_key": "store1:2"}


def test_partition_view(session: Session) -> None:
    url = f"{URL}/db/_partition/store1/_design/parts/_view/by_name"
    responses.post(url, json={"rows": [{"id": "store1:a", "key": "bolt", "value": None}]})
    rows = Part.by_name.query(session, partition="store1", key="bolt").all()
    assert sent() == {"key": "bolt", "limit": 201}
    assert [(r.key, r.id) for r in rows] == [("bolt", "store1:a")]


def test_partitioned_views_and_indexes_need_a_partition(session: Session) -> None:
    with pytest.raises(QueryError, match="partition="):
        Part.by_name.query(session, key="bolt")
    with pytest.raises(QueryError, match="partition="):
        Part.fulltext.search(session, "name:bolt")


def test_partition_explain(session: Session) -> None:
    url = f"{URL}/db/_partition/store1/_explain"
    responses.post(url, json={"index": {"name": "_all_docs"}, "partitioned": True})
    plan = Part.objects.using(session).partition("store1").filter(name="bolt").explain()
    assert plan["partitioned"] is True
    assert sent() == {
        "selector": {"type": "m-part", "name": {"$eq": "bolt"}},
        "limit": 200,
    }


def test_partition_get_many_and_get_stay_in_the_partition(session: Session) -> None:
    doc = {"_id": "store1:a", "_rev": "1-a", "type": "m-part", "store": "store1", "name": "x"}
    responses.post(
        f"{URL}/db/_all_docs",
        json={"rows": [{"id": "store1:a", "key": "store1:a", "value": {"rev": "1-a"}, "doc": doc}]},
    )
    parts = Part.objects.using(session).partition("store1")
    assert [p.id for p in parts.get_many(["store1:a", "store2:b"], missing="skip")] == ["store1:a"]
    assert sent() == {"keys": ["store1:a"], "include_docs": True}
    with pytest.raises(DoesNotExist):
        parts.get("store2:b")


# --- Mango requests ---------------------------------------------------------------------

FIND = f"{URL}/db/_find"


def test_find_request_body(session: Session) -> None:
    responses.post(FIND, json={"docs": [order_doc("o1")], "bookmark": "b"})
    query = (
        Order.objects.using(session)
        .filter(Order.total > 2, status="paid")
        .order_by(-Order.total)
        .use_index(Order.by_status)
        .execution_stats()
        .limit(10)
    )
    page = query.page(5)
    assert sent() == {
        "selector": {"type": "m-order", "total": {"$gt": 2}, "status": {"$eq": "paid"}},
        "sort": [{"total": "desc"}],
        "use_index": [Order.by_status.ddoc, "by_status"],
        "execution_stats": True,
        "limit": 5,
    }
    assert page.execution_stats is None
    assert [o.id for o in page] == ["o1"]
    assert page.next_cursor is None  # fewer than asked: the last page


def test_fields_are_projected_with_id_rev_and_type(session: Session) -> None:
    responses.post(
        FIND, json={"docs": [{"_id": "o1", "_rev": "1-a", "type": "m-order", "total": 3}]}
    )
    (order,) = Order.objects.using(session).filter(customer="bob").fields(Order.total).all()
    assert sent()["fields"] == ["_id", "_rev", "type", "total"]
    assert order.total == 3
    assert order not in session  # partial objects are not tracked
    with pytest.raises(SessionError):
        session.add(order)


def test_bookmarks_page_through_results(session: Session) -> None:
    responses.post(
        FIND,
        json={
            "docs": [order_doc("a"), order_doc("b")],
            "bookmark": "b1",
            "execution_stats": {"results_returned": 2},
            "warning": "no matching index",
        },
    )
    responses.post(FIND, json={"docs": [order_doc("c")], "bookmark": "b2"})
    pages = list(Order.objects.using(session).filter(customer="bob").execution_stats().pages(2))
    assert [[o.id for o in p] for p in pages] == [["a", "b"], ["c"]]
    assert pages[0].execution_stats == {"results_returned": 2}
    assert pages[0].warning == "no matching index"
    assert "bookmark" not in body(responses.calls[0])
    assert body(responses.calls[1])["bookmark"] == "b1"
    assert pages[1].next_cursor is None


def test_a_cursor_resumes_the_same_query_only(session: Session) -> None:
    responses.post(FIND, json={"docs": [order_doc("a"), order_doc("b")], "bookmark": "b1"})
    query = Order.objects.using(session).filter(customer="bob")
    first = query.page(2)
    assert first.next_cursor is not None
    responses.post(FIND, json={"docs": [order_doc("c")], "bookmark": "b2"})
    second = query.page(2, first.next_cursor)
    assert [o.id for o in second] == ["c"]
    assert sent()["bookmark"] == "b1"
    with pytest.raises(InvalidCursorError, match="another query"):
        Order.objects.using(session).filter(customer="ann").page(2, first.next_cursor)
    with pytest.raises(InvalidCursorError):
        query.page(2, "not a cursor!")
    forged = base64.urlsafe_b64encode(b'{"k":"find","q":"x"}').decode()
    with pytest.raises(InvalidCursorError):
        query.page(2, forged)


def test_a_limit_spans_pages(session: Session) -> None:
    responses.post(FIND, json={"docs": [order_doc("a"), order_doc("b")], "bookmark": "b1"})
    responses.post(FIND, json={"docs": [order_doc("c")], "bookmark": "b2"})
    found = Order.objects.using(session).filter(customer="bob").limit(3).iterator(page_size=2)
    assert [o.id for o in found] == ["a", "b", "c"]
    assert body(responses.calls[1])["limit"] == 1


def test_count_reads_only_ids(session: Session) -> None:
    responses.post(FIND, json={"docs": [{"_id": "a"}, {"_id": "b"}], "bookmark": "b1"})
    assert Order.objects.using(session).filter(status="new").count() == 2
    assert sent() == {
        "selector": {"type": "m-order", "status": {"$eq": "new"}},
        "fields": ["_id"],
        "limit": 1000,
    }


def test_exists_asks_for_one_id(session: Session) -> None:
    responses.post(FIND, json={"docs": [], "bookmark": "nil"})
    assert Order.objects.using(session).filter(status="x").exists() is False
    assert sent()["limit"] == 1
    assert sent()["fields"] == ["_id"]


def test_explain(session: Session) -> None:
    responses.post(f"{URL}/db/_explain", json={"index": {"ddoc": "_design/x", "name": "by_status"}})
    plan = Order.objects.using(session).filter(status="paid").limit(3).explain()
    assert plan["index"]["name"] == "by_status"
    assert sent() == {"selector": {"type": "m-order", "status": {"$eq": "paid"}}, "limit": 3}


def test_get_exactly_one(session: Session) -> None:
    responses.post(FIND, json={"docs": [order_doc("a")]})
    assert Order.objects.using(session).get(customer="bob").id == "a"
    assert sent()["limit"] == 2
    responses.post(FIND, json={"docs": []})
    with pytest.raises(DoesNotExist):
        Order.objects.using(session).get(customer="nobody")
    responses.post(FIND, json={"docs": [order_doc("a"), order_doc("b")]})
    with pytest.raises(MultipleObjectsReturned):
        Order.objects.using(session).get(customer="bob")


def test_get_by_id_uses_the_identity_map_and_refuses_other_classes(session: Session) -> None:
    responses.get(f"{URL}/db/a", json=order_doc("a"))
    order = Order.objects.using(session).get("a")
    assert Order.objects.using(session).get("a") is order
    assert len(responses.calls) == 1
    responses.get(f"{URL}/db/x", json={"_id": "x", "_rev": "1-a", "type": "m-other"})
    with pytest.raises(DoesNotExist, match="not a Order"):
        Order.objects.using(session).get("x")
    responses.get(f"{URL}/db/nope", status=404, json={"error": "not_found", "reason": "missing"})
    with pytest.raises(DoesNotExist):
        Order.objects.using(session).get("nope")


def test_get_many_is_one_request_keeps_order_and_reports_missing(session: Session) -> None:
    rows = [
        {"id": "b", "key": "b", "value": {"rev": "1-a"}, "doc": order_doc("b")},
        {"key": "zz", "error": "not_found"},
        {"id": "a", "key": "a", "value": {"rev": "1-a"}, "doc": order_doc("a")},
        {"id": "x", "key": "x", "value": {"rev": "1-a"}, "doc": {"_id": "x", "type": "m-other"}},
        {"id": "d", "key": "d", "value": {"rev": "2-b", "deleted": True}, "doc": None},
    ]
    responses.post(f"{URL}/db/_all_docs", json={"rows": rows})
    with pytest.raises(DocumentsNotFound) as caught:
        Order.objects.using(session).get_many(["b", "zz", "a", "x", "d"])
    assert caught.value.missing == ["zz", "x", "d"]
    assert sent() == {"keys": ["b", "zz", "a", "x", "d"], "include_docs": True}
    # The found ones are in the session now: asking again needs no request.
    found = Order.objects.using(session).get_many(["a", "b", "zz"], missing="none")
    assert [o.id if o else None for o in found] == ["a", "b", None]
    assert len(responses.calls) == 2  # the second call asked only for "zz"
    assert sent() == {"keys": ["zz"], "include_docs": True}


def test_a_declared_index_puts_equality_fields_in_front_of_the_sort(session: Session) -> None:
    # Index("status", "total") serves "status == x, by total": the sort sent lists the
    # index's fields (status is fixed, so the order is the same), as index selection needs.
    responses.post(FIND, json={"docs": [order_doc("a")]})
    Order.objects.using(session).filter(status="paid").order_by(-Order.total).all()
    assert sent() == {
        "selector": {"type": "m-order", "status": {"$eq": "paid"}, "total": {"$exists": True}},
        "sort": [{"status": "desc"}, {"total": "desc"}],
        "limit": 200,
    }
    responses.post(FIND, json={"docs": []})
    Order.objects.using(session).filter(Order.total > 1).order_by(Order.total).all()
    assert sent()["sort"] == [{"total": "asc"}]  # status is not fixed: no index serves it


def test_sort_without_an_index_says_which_index_to_declare(session: Session) -> None:
    responses.post(
        FIND,
        status=400,
        json={
            "error": "no_usable_index",
            "reason": "No global index exists for this sort, try indexing by the sort fields.",
        },
    )
    responses.get(f"{URL}/db/_index", json={"indexes": []})
    with pytest.raises(IndexRequiredError) as caught:
        Order.objects.using(session).filter(customer="bob").order_by(-Order.total).all()
    message = str(caught.value)
    assert "Index('customer', 'total')" in message
    assert "by_status (status, total)" in message  # the declared index, for comparison
    assert caught.value.fields == ["customer", "total"]


def test_a_sort_refused_is_retried_with_a_server_index_that_serves_it(session: Session) -> None:
    responses.post(
        FIND,
        status=400,
        json={"error": "bad_request", "reason": 'Cannot sort on field(s) "rank"'},
    )
    responses.get(
        f"{URL}/db/_index",
        json={
            "indexes": [
                {
                    "ddoc": "_design/x",
                    "name": "by-label-rank",
                    "type": "json",
                    "def": {"fields": [{"label": "asc"}, {"rank": "asc"}]},
                },
            ]
        },
    )
    responses.post(
        FIND, json={"docs": [{"_id": "o", "type": "m-other", "label": "x"}], "bookmark": "b"}
    )
    query = Other.objects.using(session).filter(label="x").order_by(Other.rank)
    page = query.page(1)
    assert sent() == {
        "selector": {"type": "m-other", "label": {"$eq": "x"}, "rank": {"$exists": True}},
        "sort": [{"label": "asc"}, {"rank": "asc"}],
        "limit": 1,
    }
    # The cursor keeps the sort that worked: the next page asks for it straight away.
    responses.post(FIND, json={"docs": [], "bookmark": "c"})
    query.page(1, page.next_cursor)
    assert sent()["sort"] == [{"label": "asc"}, {"rank": "asc"}]
    assert sent()["bookmark"] == "b"


def test_sort_advice_lists_the_servers_indexes_without_declarations(session: Session) -> None:
    responses.post(
        FIND,
        status=400,
        json={
            "error": "bad_request",
            "reason": 'Cannot sort on field(s) "label" when using the default index',
        },
    )
    responses.get(
        f"{URL}/db/_index",
        json={
            "indexes": [
                {
                    "ddoc": None,
                    "name": "_all_docs",
                    "type": "special",
                    "def": {"fields": [{"_id": "asc"}]},
                },
                {
                    "ddoc": "_design/x",
                    "name": "by-label",
                    "type": "json",
                    "def": {"fields": [{"other": "asc"}]},
                },
            ]
        },
    )
    with pytest.raises(IndexRequiredError, match=r"by-label \(other\)"):
        Other.objects.using(session).order_by(Other.label).first()


# --- update with conflict retry ----------------------------------------------------------


def test_update_retries_a_conflicting_document(session: Session) -> None:
    bulk = f"{URL}/db/_bulk_docs"
    responses.post(FIND, json={"docs": [{"_id": "a"}, {"_id": "b"}]})  # the ids
    responses.post(FIND, json={"docs": [order_doc("a"), order_doc("b")]})  # the documents
    responses.post(
        bulk,
        json=[
            {"ok": True, "id": "a", "rev": "2-a"},
            {"id": "b", "error": "conflict", "reason": "Document update conflict."},
        ],
    )
    # "b" was our own earlier write? No: the stored one differs, so it is a real conflict.
    responses.post(
        f"{URL}/db/_all_docs",
        json={
            "rows": [
                {
                    "id": "b",
                    "key": "b",
                    "value": {"rev": "2-x"},
                    "doc": order_doc("b", _rev="2-x", status="held"),
                }
            ]
        },
    )
    responses.post(FIND, json={"docs": [{"_id": "b"}]})  # still matches
    responses.get(f"{URL}/db/b", json=order_doc("b", _rev="2-x", status="held"))
    responses.post(bulk, json=[{"ok": True, "id": "b", "rev": "3-b"}])
    assert Order.objects.using(session).filter(customer="bob").update(status="paid") == 2
    assert body(responses.calls[0])["fields"] == ["_id"]
    assert body(responses.calls[1])["selector"] == {
        "type": "m-order",
        "customer": {"$eq": "bob"},
        "_id": {"$in": ["a", "b"]},
    }
    retry = body(responses.calls[-1])["docs"][0]
    assert retry["_rev"] == "2-x"
    assert retry["status"] == "paid"
    assert len(list(session)) == 0  # read only for the update: not kept


def test_update_skips_a_conflicting_document_that_no_longer_matches(session: Session) -> None:
    bulk = f"{URL}/db/_bulk_docs"
    responses.post(FIND, json={"docs": [{"_id": "b"}]})
    responses.post(FIND, json={"docs": [order_doc("b")]})
    responses.post(
        bulk, json=[{"id": "b", "error": "conflict", "reason": "Document update conflict."}]
    )
    responses.post(
        f"{URL}/db/_all_docs",
        json={
            "rows": [
                {
                    "id": "b",
                    "key": "b",
                    "value": {"rev": "2-x"},
                    "doc": order_doc("b", _rev="2-x", customer="ann"),
                }
            ]
        },
    )
    responses.post(FIND, json={"docs": []})  # no longer matches customer == "bob"
    assert Order.objects.using(session).filter(customer="bob").update(status="paid") == 0


def test_update_refuses_unknown_fields(session: Session) -> None:
    with pytest.raises(QueryError, match="nope"):
        Order.objects.using(session).update(nope=1)
    with pytest.raises(TypeError):
        Order.objects.using(session).update()


class Till(Document, doc_type="m-till"):
    total: Decimal = Decimal(0)
    count: int = 0
    owner: Ref[Other] | None = None


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"total": 7.5}, "total: expected Decimal, got float 7.5"),
        ({"count": True}, "count: expected int, got bool True"),
        ({"count": 2**53}, "count: int 9007199254740992 is beyond"),
        ({"owner": "o1"}, r"owner: expected Ref\[Other\], got str 'o1': write Ref\(Other, 'o1'\)"),
    ],
)
def test_update_refuses_a_value_its_field_cant_store_before_sending(
    session: Session, values: dict[str, Any], problem: str
) -> None:
    # Equal to a stored value (7.5 == Decimal("7.5"), True == 1), it was not written and
    # not refused either: update() returned 1.
    with pytest.raises(DocumentValidationError, match=rf"^Till: {problem}"):
        Till.objects.using(session).update(**values)
    assert len(responses.calls) == 0


def test_update_takes_a_document_for_a_reference_field(session: Session) -> None:
    responses.post(FIND, json={"docs": []})  # the ids: none match
    assert Till.objects.using(session).update(owner=Other(id="o1")) == 0


# --- the default session ---------------------------------------------------------------


def test_connect_with_credentials_in_the_url() -> None:
    try:
        session = connect("http://alice:s3cret@couch.test", db="db")
        assert current_session() is session
        assert session.client.service_url == URL
        responses.post(FIND, json={"docs": []})
        assert Order.objects.filter(customer="bob").all() == []
        expected = "Basic " + base64.b64encode(b"alice:s3cret").decode()
        assert responses.calls[0].request.headers["Authorization"] == expected
    finally:
        disconnect()
    with pytest.raises(SessionError, match="connect"):
        current_session()


def test_connect_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDANT_URL", URL)
    monkeypatch.setenv("CLOUDANT_AUTH_TYPE", "NOAUTH")
    monkeypatch.setenv("CLOUDANT_DATABASE", "envdb")
    try:
        session = connect()
        assert session.db == "envdb"
        assert session.client.service_url == URL
    finally:
        disconnect()


def test_use_session_scopes_the_current_session(client: CloudantV1) -> None:
    outer, inner = Session(client, db="a"), Session(client, db="b")
    with use_session(outer):
        assert current_session() is outer
        with use_session(inner):
            assert current_session() is inner
        assert current_session() is outer
    with pytest.raises(SessionError):
        current_session()


def test_other_threads_get_their_own_session_from_the_default_client() -> None:
    import threading

    try:
        main = connect(URL, db="db")
        seen: list[Session] = []
        thread = threading.Thread(target=lambda: seen.append(current_session()))
        thread.start()
        thread.join()
        assert seen[0] is not main
        assert seen[0].client is main.client
        assert seen[0].db == "db"
    finally:
        disconnect()


# --- keyset paging (views, _all_docs) -------------------------------------------------

ROWS = [
    {"key": k, "id": i, "value": None}
    for k, i in [("a", "1"), ("b", "2"), ("b", "3"), ("b", "4"), ("b", "5"), ("c", "6"), ("d", "7")]
]


def _server(honours_doc_id: bool) -> tuple[list[dict[str, Any]], Any]:
    """A fake view endpoint over ROWS: CouchDB, or PouchDB (ignores start_key_doc_id)."""
    requests: list[dict[str, Any]] = []

    def fetch(request: dict[str, Any]) -> list[dict[str, Any]]:
        requests.append(dict(request))
        start = 0
        if "start_key" in request:
            start = next(n for n, r in enumerate(ROWS) if r["key"] >= request["start_key"])
            if honours_doc_id and "start_key_doc_id" in request:
                while (
                    ROWS[start]["key"] == request["start_key"]
                    and ROWS[start]["id"] < request["start_key_doc_id"]
                ):
                    start += 1
        start += request.get("skip", 0)
        return ROWS[start : start + request["limit"]]

    return requests, fetch


@pytest.mark.parametrize("honours_doc_id", [True, False])
@pytest.mark.parametrize("page_size", [1, 2, 3, 10])
def test_keyset_pages_return_every_row_once(honours_doc_id: bool, page_size: int) -> None:
    requests, fetch = _server(honours_doc_id)
    state = KeysetState()
    rows = [
        r["id"]
        for page in keyset_pages(fetch, {}, state, page_size=page_size, limit=None, by_doc_id=True)
        for r in page
    ]
    assert rows == [r["id"] for r in ROWS]
    assert state.done
    assert all("skip" not in r or not honours_doc_id for r in requests)


def test_keyset_paging_resumes_from_a_saved_state() -> None:
    _, fetch = _server(False)
    state = KeysetState()
    pages = keyset_pages(fetch, {}, state, page_size=2, limit=None, by_doc_id=True)
    first = [r["id"] for r in next(pages)]
    second = [r["id"] for r in next(pages)]
    saved = KeysetState.from_json(json.loads(json.dumps(state.to_json())))
    rest = [
        r["id"]
        for p in keyset_pages(fetch, {}, saved, page_size=2, limit=None, by_doc_id=True)
        for r in p
    ]
    assert first + second + rest == [r["id"] for r in ROWS]


def test_keyset_paging_honours_an_overall_limit() -> None:
    requests, fetch = _server(True)
    rows = [
        r
        for p in keyset_pages(fetch, {}, KeysetState(), page_size=2, limit=3, by_doc_id=True)
        for r in p
    ]
    assert [r["id"] for r in rows] == ["1", "2", "3"]
    assert [r["limit"] for r in requests] == [3, 2]


def test_view_retries_once_when_the_design_document_was_switched(session: Session) -> None:
    url = f"{URL}/db/_design/orders/_view/by_customer"
    responses.post(
        url,
        status=404,
        json={"error": "not_found", "reason": "Design document was updated or deleted."},
    )
    responses.post(url, json={"rows": [{"key": None, "value": 42}]})
    assert Order.by_customer.query(session, reduce=True).scalar() == 42
    assert sent() == {"reduce": True}


def test_view_parameters_are_converted_and_checked(session: Session) -> None:
    from datetime import datetime, timezone

    url = f"{URL}/db/_design/orders/_view/by_customer"
    responses.post(url, json={"rows": []})
    moment = datetime(2024, 1, 2, tzinfo=timezone.utc)
    Order.by_customer.query(
        session,
        start_key=["bob", moment],
        end_key=["bob", {}],
        descending=False,
        update="lazy",
        reduce=False,
    ).all()
    assert sent() == {
        "start_key": ["bob", "2024-01-02T00:00:00.000000+00:00"],
        "end_key": ["bob", {}],
        "descending": False,
        "update": "lazy",
        "reduce": False,
        "limit": 201,
    }
    responses.post(url, json={"rows": []})
    Order.by_customer.query(session, include_docs=True, stable=True, keys=["a", "b"]).all()
    assert sent() == {"keys": ["a", "b"], "include_docs": True, "stable": True, "reduce": False}
    responses.post(url, json={"rows": [{"key": None, "value": 3}]})
    assert Order.by_customer.query(session).scalar() == 3  # reduces by default: one request
    assert sent() == {"reduce": True}
    with pytest.raises(QueryError, match="include_docs"):
        Order.by_customer.query(session, include_docs=True, reduce=True)
    with pytest.raises(QueryError, match="no reduce"):
        Part.by_name.query(session, reduce=True)
    with pytest.raises(QueryError, match="group"):
        Part.by_name.query(session, group=True)


def test_view_rows_can_be_typed(session: Session) -> None:
    from decimal import Decimal

    url = f"{URL}/db/_design/orders/_view/by_customer"
    responses.post(url, json={"rows": [{"key": "bob", "value": 12.5}]})
    rows = Order.by_customer.query(session, group=True, value_type=Decimal).all()
    assert rows[0].value == Decimal("12.5")
    assert rows[0].id is None


@attrs.define
class _Money:
    amount: Decimal = field(key="Amount", places=2)


class Invoice(Document, doc_type="m-invoice"):
    price: _Money
    total_by_day = View.emit(key="price.Amount", value="price.Amount", reduce="_sum")


def test_an_emitted_nested_value_loads_as_its_field_through_renamed_keys(
    session: Session,
) -> None:
    # The path after the first dot is JSON keys (price.Amount), as the map function reads
    # them: the rows' values are the field's Decimals, not the raw numbers.
    url = f"{URL}/db/_design/m-invoice/_view/total_by_day"
    responses.post(url, json={"rows": [{"key": None, "value": 10}]})
    total = Invoice.total_by_day.query(session).scalar()
    assert isinstance(total, Decimal)
    assert str(total) == "10.00"


class Priced(Document, doc_type="m-priced"):
    price: Decimal = field(default=Decimal("0"), places=2)
    label: str = ""


def test_a_projected_decimal_field_loads_as_the_whole_document_loads_it(
    session: Session,
) -> None:
    # places=2: 10 loads as Decimal("10.00") whether the document is read whole or with
    # fields(); a stored 1.234 is refused either way, not quietly kept.
    responses.post(
        FIND, json={"docs": [{"_id": "p1", "_rev": "1-a", "type": "m-priced", "price": 10}]}
    )
    (whole,) = Priced.objects.using(session).filter(label="x").all()
    (partial,) = Priced.objects.using(session).filter(label="x").fields(Priced.price).all()
    assert str(whole.price) == str(partial.price) == "10.00"
    responses.post(
        FIND, json={"docs": [{"_id": "p2", "_rev": "1-a", "type": "m-priced", "price": 1.234}]}
    )
    with pytest.raises(ValueError, match="more than 2 decimal places"):
        Priced.objects.using(session).filter(label="y").fields(Priced.price).all()


def test_a_document_marked_for_deletion_is_left_out_of_results_as_get_leaves_it_out(
    session: Session,
) -> None:
    responses.get(f"{URL}/db/gone", json=order_doc("gone"))
    gone = session.get(Order, "gone")
    assert gone is not None
    session.delete(gone)  # not flushed yet: the server still has it
    responses.post(FIND, json={"docs": [order_doc("kept"), order_doc("gone")]})
    assert [o.id for o in Order.objects.using(session).filter(customer="bob")] == ["kept"]
    responses.post(
        f"{URL}/db/_all_docs",
        json={
            "rows": [
                {"id": i, "key": i, "value": {"rev": "1-a"}, "doc": order_doc(i)}
                for i in ("kept", "gone")
            ]
        },
    )
    found = Order.objects.using(session).get_many(["kept", "gone"], missing="none")
    assert [o.id if o else None for o in found] == ["kept", None]
    assert session.get(Order, "gone") is None  # as before


def test_a_bulk_update_in_a_read_only_session_says_what_was_refused(client: CloudantV1) -> None:
    session = Session(client, db="db", read_only=True)  # nothing mocked: nothing is sent
    with pytest.raises(SessionError, match=r"read-only: it can't update Order documents"):
        Order.objects.using(session).filter(customer="bob").update(status="x")
    with pytest.raises(SessionError, match=r"read-only: it can't delete Order documents"):
        Order.objects.using(session).filter(customer="bob").delete()

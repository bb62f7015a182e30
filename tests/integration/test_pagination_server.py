"""Pagination against a real server: 55 documents in pages of 10 hold the same rows, in
the same order, as one unpaged query (``_all_docs``, ``_find``, views; design documents,
partitions and search where the server has them)."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from _server import eventually, settle, skip_on_pouchdb, unique_db_name

from cloudant_odm.client import (
    BadRequestError,
    CloudantV1,
    NotFoundError,
    PagerType,
    Pagination,
    ServiceUnavailableError,
)

TOTAL = 55
PAGE = 10
ALL = 1000  # an unpaged query's limit: _find returns 25 by default on CouchDB

APP = {
    "views": {
        # One row per document: unique keys.
        "by_n": {"map": "function (doc) { if (doc.kind) { emit(doc.n, null); } }"},
        # 14 or so rows per key, so page boundaries fall inside runs of one key.
        "by_group": {"map": "function (doc) { if (doc.kind) { emit(doc.group, doc.n); } }"},
        # Array keys of two lengths under one reduce: [group, n % 3] and, for every
        # fifth document, [group] alone.
        "grouped": {
            "map": "function (doc) { if (doc.kind) {"
            " emit(doc.n % 5 ? [doc.group, doc.n % 3] : [doc.group], 1); } }",
            "reduce": "_count",
        },
    },
}
SEARCH = {
    "indexes": {
        "by_n": {"index": "function (doc) { if (doc.kind) { index('n', doc.n, {store: true}); } }"}
    }
}


def _docs(prefix: str = "") -> list[dict[str, Any]]:
    return [
        {"_id": f"{prefix}d{n:03d}", "n": n, "group": n % 4, "kind": "event"} for n in range(TOTAL)
    ]


def _seed(client: CloudantV1, db: str, docs: list[dict[str, Any]]) -> None:
    client.post_bulk_docs(db, {"docs": docs})
    settle(client, db, len(docs))


@pytest.fixture
def events(client: CloudantV1, db_name: str) -> str:
    client.put_design_document(db_name, "app", APP)
    client.post_index(db_name, {"fields": ["n"]}, ddoc="by-n", name="by-n", type="json")
    _seed(client, db_name, _docs())
    return db_name


def _paged(client: CloudantV1, pager_type: PagerType, **opts: Any) -> list[tuple[Any, ...]]:
    pages = list(Pagination.new_pagination(client, pager_type, limit=PAGE, **opts).pages())
    assert all(len(page) == PAGE for page in pages[:-1])
    return pages


def _same_rows(
    paged: Callable[[], list[tuple[Any, ...]]], unpaged: Callable[[], list[Any]]
) -> list[tuple[Any, ...]]:
    """The pages, once their rows are the unpaged query's (eventually, on a cluster)."""

    def check() -> list[tuple[Any, ...]]:
        pages = paged()
        assert [row for page in pages for row in page] == unpaged()
        return pages

    return eventually(check, retry_on=(AssertionError, BadRequestError))


def test_all_docs_pages(client: CloudantV1, events: str) -> None:
    def paged() -> list[tuple[Any, ...]]:
        pages = _paged(client, PagerType.POST_ALL_DOCS, db=events, include_docs=True)
        return [tuple((r.id, r.value.rev, r.doc) for r in page) for page in pages]

    def unpaged() -> list[Any]:
        rows = client.post_all_docs(events, include_docs=True).get_result()["rows"]
        return [(r["id"], r["value"]["rev"], r["doc"]) for r in rows]

    pages = _same_rows(paged, unpaged)
    rows = TOTAL + 2  # and the two design documents
    # n+1 paging: the last page is short, and no empty page follows.
    assert [len(p) for p in pages] == [PAGE] * (rows // PAGE) + [rows % PAGE]


def test_find_pages(client: CloudantV1, events: str) -> None:
    query = {"db": events, "selector": {"n": {"$gte": 3}}, "sort": [{"n": "asc"}]}

    def paged() -> list[tuple[Any, ...]]:
        pages = _paged(client, PagerType.POST_FIND, fields=["_id", "n"], **query)
        return [tuple(doc.to_dict() for doc in page) for page in pages]

    def unpaged() -> list[Any]:
        found: list[Any] = client.post_find(**query, fields=["_id", "n"], limit=ALL).get_result()[
            "docs"
        ]
        return found

    pages = _same_rows(paged, unpaged)
    assert [d["n"] for page in pages for d in page] == list(range(3, TOTAL))
    # 52 documents: 5 full pages and a short one, which shows that nothing follows.
    assert [len(p) for p in pages] == [PAGE] * 5 + [2]


def test_find_pages_ending_on_a_boundary(client: CloudantV1, events: str) -> None:
    def paged() -> list[tuple[Any, ...]]:
        return _paged(client, PagerType.POST_FIND, db=events, selector={"n": {"$lt": 20}})

    def unpaged() -> list[Any]:
        found = client.post_find(events, {"n": {"$lt": 20}}, limit=ALL).get_result()["docs"]
        return [d["_id"] for d in found]

    # A bookmark can't tell that nothing follows a full page: an empty page does.
    pages = eventually(paged, retry_on=(BadRequestError,))
    assert [len(p) for p in pages] == [PAGE, PAGE, 0]
    assert sorted(d.id for page in pages for d in page) == sorted(unpaged())


def test_view_pages(client: CloudantV1, events: str) -> None:
    def paged() -> list[tuple[Any, ...]]:
        pages = _paged(client, PagerType.POST_VIEW, db=events, ddoc="app", view="by_n")
        return [tuple((r.key, r.id) for r in page) for page in pages]

    def unpaged() -> list[Any]:
        rows = client.post_view(events, "app", "by_n").get_result()["rows"]
        return [(r["key"], r["id"]) for r in rows]

    pages = _same_rows(paged, unpaged)
    assert [len(p) for p in pages] == [PAGE] * 5 + [5]


def test_view_pages_with_descending_and_end_key(client: CloudantV1, events: str) -> None:
    opts = {"db": events, "ddoc": "app", "view": "by_n", "descending": True, "end_key": 7}
    pager = Pagination.new_pagination(client, PagerType.POST_VIEW, limit=PAGE, **opts).pager()
    keys = [row.key for row in pager.get_all()]
    assert keys == list(range(TOTAL - 1, 6, -1))
    assert not pager.has_next()


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize(
    ("group", "limit"),
    [
        ({"group_level": 1}, 1),
        ({"group_level": 1}, 3),
        ({"group_level": 2}, 2),
        ({"group": True}, 4),
    ],
)
def test_grouped_reduce_pages(
    client: CloudantV1, events: str, group: dict[str, Any], limit: int, descending: bool
) -> None:
    """Grouped rows page as the unpaged query reads, in both directions: going down, a
    group_level row's key is below the longer keys it reduces, so a page that started
    at the key itself would skip that group."""
    opts = {"db": events, "ddoc": "app", "view": "grouped", "descending": descending, **group}

    def paged() -> list[tuple[Any, ...]]:
        pagination = Pagination.new_pagination(client, PagerType.POST_VIEW, limit=limit, **opts)
        return [tuple((r.key, r.value) for r in page) for page in pagination.pages()]

    def unpaged() -> list[Any]:
        rows = client.post_view(**opts).get_result()["rows"]
        return [(r["key"], r["value"]) for r in rows]

    pages = _same_rows(paged, unpaged)
    assert sum(value for page in pages for _, value in page) == TOTAL


@skip_on_pouchdb("view_startkey_docid")
def test_view_pages_with_repeated_keys(client: CloudantV1, events: str) -> None:
    def paged() -> list[tuple[Any, ...]]:
        pages = _paged(client, PagerType.POST_VIEW, db=events, ddoc="app", view="by_group")
        return [tuple((r.key, r.id, r.value) for r in page) for page in pages]

    def unpaged() -> list[Any]:
        rows = client.post_view(events, "app", "by_group").get_result()["rows"]
        return [(r["key"], r["id"], r["value"]) for r in rows]

    pages = _same_rows(paged, unpaged)
    assert len(pages) == math.ceil(TOTAL / PAGE)


def test_repeated_keys_where_start_key_doc_id_is_ignored(
    client: CloudantV1, events: str, is_pouchdb: bool
) -> None:
    if not is_pouchdb:
        pytest.skip("only PouchDB Server ignores start_key_doc_id")
    opts = {"db": events, "ddoc": "app", "view": "by_group"}
    pages = Pagination.new_pagination(client, PagerType.POST_VIEW, limit=PAGE, **opts).pages()
    assert [row.key for row in next(pages)] == [0] * PAGE
    # The next request, for key 0 from its 11th row on, gets its first rows again.
    with pytest.raises(RuntimeError, match="the page already read"):
        next(pages)


def test_a_pager_a_page_at_a_time(client: CloudantV1, events: str) -> None:
    opts = {"db": events, "ddoc": "app", "view": "by_n"}
    pager = Pagination.new_pagination(client, PagerType.POST_VIEW, limit=PAGE, **opts).pager()
    keys: list[int] = []
    while pager.has_next():
        keys.extend(row.key for row in pager.get_next())
    assert keys == list(range(TOTAL))


@skip_on_pouchdb("design_docs")
def test_design_docs_pages(client: CloudantV1, db_name: str) -> None:
    for n in range(12):
        client.put_design_document(db_name, f"d{n:02d}", {"views": {}})
    pages = list(
        Pagination.new_pagination(client, PagerType.POST_DESIGN_DOCS, db=db_name, limit=5).pages()
    )
    assert [r.id for page in pages for r in page] == [f"_design/d{n:02d}" for n in range(12)]
    assert [len(p) for p in pages] == [5, 5, 2]


@pytest.fixture
def partitioned(client: CloudantV1) -> Iterator[str]:
    name = unique_db_name("cloudant-odm-pagination")
    client.put_database(name, partitioned=True)
    try:
        client.put_design_document(name, "app", {**APP, "options": {"partitioned": True}})
        _seed(client, name, _docs("p1:") + _docs("p2:"))
        yield name
    finally:
        with contextlib.suppress(NotFoundError):
            client.delete_database(name)


@skip_on_pouchdb("partitions")
def test_partition_pages(client: CloudantV1, partitioned: str) -> None:
    where = {"db": partitioned, "partition_key": "p1"}
    ids = [f"p1:d{n:03d}" for n in range(TOTAL)]

    def check() -> None:
        docs = _paged(client, PagerType.POST_PARTITION_ALL_DOCS, **where)
        assert [r.id for page in docs for r in page] == ids
        found = _paged(client, PagerType.POST_PARTITION_FIND, selector={"n": {"$gte": 0}}, **where)
        assert sorted(d.id for page in found for d in page) == ids
        rows = _paged(client, PagerType.POST_PARTITION_VIEW, ddoc="app", view="by_group", **where)
        unpaged = client.post_partition_view(view="by_group", ddoc="app", **where).get_result()
        assert [(r.key, r.id) for page in rows for r in page] == [
            (r["key"], r["id"]) for r in unpaged["rows"]
        ]

    eventually(check)


@skip_on_pouchdb("search")
def test_search_pages(client: CloudantV1, events: str) -> None:
    client.put_design_document(events, "search", SEARCH)
    query = {"db": events, "ddoc": "search", "index": "by_n", "query": "n:[0 TO 100]"}
    try:
        client.post_search(**query, limit=1)
    except ServiceUnavailableError as error:
        # Apache CouchDB without its search service (Clouseau) answers 503.
        if "Search is not available" not in str(error):
            raise
        pytest.skip("the server has no search service: 503 Search is not available")
    except NotFoundError:
        pass  # the index is still being built: the pages below wait for it

    def check() -> None:
        pages = _paged(client, PagerType.POST_SEARCH, **query)
        assert sorted(r.id for page in pages for r in page) == [d["_id"] for d in _docs()]

    eventually(check, retry_on=(AssertionError, NotFoundError))

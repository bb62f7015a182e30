"""A CouchDB-like paging endpoint for the pagination unit tests (the synchronous
pagination's ``responses`` callbacks, the async one's respx side effects):
``_all_docs``-like endpoints and views honour ``start_key``, ``start_key_doc_id``,
``skip`` and ``limit``; ``_find`` and search answer with bookmarks."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from cloudant_odm.client import PagerType

URL = "http://couch.test"
DB = "db"
PAGE = 10
JSON = {"Content-Type": "application/json"}
KEY_PAGERS = (
    PagerType.POST_ALL_DOCS,
    PagerType.POST_DESIGN_DOCS,
    PagerType.POST_PARTITION_ALL_DOCS,
    PagerType.POST_VIEW,
    PagerType.POST_PARTITION_VIEW,
)
DOCS_PAGERS = KEY_PAGERS[:3]
VIEW_PAGERS = KEY_PAGERS[3:]
FIND_PAGERS = (PagerType.POST_FIND, PagerType.POST_PARTITION_FIND)
SEARCH_PAGERS = (PagerType.POST_SEARCH, PagerType.POST_PARTITION_SEARCH)

# Per pager type: the path it posts to and the options that name what it queries.
ENDPOINTS: dict[PagerType, tuple[str, dict[str, Any]]] = {
    PagerType.POST_ALL_DOCS: ("/db/_all_docs", {}),
    PagerType.POST_DESIGN_DOCS: ("/db/_design_docs", {}),
    PagerType.POST_PARTITION_ALL_DOCS: ("/db/_partition/p1/_all_docs", {"partition_key": "p1"}),
    PagerType.POST_VIEW: ("/db/_design/app/_view/by_n", {"ddoc": "app", "view": "by_n"}),
    PagerType.POST_PARTITION_VIEW: (
        "/db/_partition/p1/_design/app/_view/by_n",
        {"partition_key": "p1", "ddoc": "app", "view": "by_n"},
    ),
    PagerType.POST_FIND: ("/db/_find", {"selector": {"n": {"$gte": 0}}}),
    PagerType.POST_PARTITION_FIND: (
        "/db/_partition/p1/_find",
        {"partition_key": "p1", "selector": {"n": {"$gte": 0}}},
    ),
    PagerType.POST_SEARCH: (
        "/db/_design/app/_search/idx",
        {"ddoc": "app", "index": "idx", "query": "*:*"},
    ),
    PagerType.POST_PARTITION_SEARCH: (
        "/db/_partition/p1/_design/app/_search/idx",
        {"partition_key": "p1", "ddoc": "app", "index": "idx", "query": "*:*"},
    ),
}


def doc_id(n: int, pager_type: PagerType) -> str:
    if pager_type is PagerType.POST_DESIGN_DOCS:
        return f"_design/d{n:03d}"
    if pager_type in (PagerType.POST_PARTITION_ALL_DOCS, PagerType.POST_PARTITION_FIND):
        return f"p1:d{n:03d}"
    return f"d{n:03d}"


def view_row(key: Any, row_id: str, value: Any = 1) -> dict[str, Any]:
    return {"id": row_id, "key": key, "value": value}


def dataset(pager_type: PagerType, total: int) -> list[dict[str, Any]]:
    """What the endpoint holds, in its order: rows, or documents for _find."""
    ids = [doc_id(n, pager_type) for n in range(total)]
    if pager_type in DOCS_PAGERS:
        return [{"id": i, "key": i, "value": {"rev": f"1-{n:032x}"}} for n, i in enumerate(ids)]
    if pager_type in VIEW_PAGERS:
        return [view_row(n, i) for n, i in enumerate(ids)]
    if pager_type in FIND_PAGERS:
        return [{"_id": i, "_rev": f"1-{n:032x}", "n": n} for n, i in enumerate(ids)]
    return [{"id": i, "order": [1.0, n], "fields": {"n": n}} for n, i in enumerate(ids)]


def bookmark(position: int) -> str:
    return f"g1AAAAB{position:04d}"


def row_id(row: Any) -> str:
    """The document id of a row of any pager (a Document's is ``id`` too)."""
    found: str = row.id
    return found


def expected_requests(pager_type: PagerType, total: int, size: int) -> int:
    if pager_type in KEY_PAGERS:
        # The extra row shows whether another page follows: no request for an empty one.
        return max(1, math.ceil(total / size))
    # A full page may be the last: only the (empty or short) page after it shows that.
    return total // size + 1


class PagingEndpoint:
    """A CouchDB endpoint over ``items``, recording the request bodies it gets; a test
    module's subclass puts it behind its mocked HTTP."""

    def __init__(self, pager_type: PagerType, items: list[dict[str, Any]]) -> None:
        self.pager_type = pager_type
        self.items = items
        self.bodies: list[dict[str, Any]] = []
        self.faults: dict[int, int] = {}  # request number (from 1) -> status answered
        self.ignores_doc_id = False  # as PouchDB Server's views do

    def reply(self, body: dict[str, Any]) -> tuple[int, dict[str, str], str]:
        """The answer to a request with this JSON body."""
        self.bodies.append(body)
        status = self.faults.pop(len(self.bodies), None)
        if status is not None:
            return status, {}, json.dumps({"error": "too_many_requests", "reason": "slow down"})
        return 200, JSON, json.dumps(self.answer(body))

    def answer(self, body: Mapping[str, Any]) -> dict[str, Any]:
        if self.pager_type in KEY_PAGERS:
            start = self.key_start(body) + body.get("skip", 0)
            rows = self.items[start : start + body["limit"]]
            return {"total_rows": len(self.items), "offset": start, "rows": rows}
        given = body.get("bookmark")
        start = 0 if given is None else int(given[-4:])
        found = self.items[start + body.get("skip", 0) :][: body["limit"]]
        # CouchDB gives a bookmark with every answer, also after the last match.
        end = bookmark(start + body.get("skip", 0) + len(found))
        if self.pager_type in FIND_PAGERS:
            return {"docs": found, "bookmark": end}
        return {"total_rows": len(self.items), "bookmark": end, "rows": found}

    def key_start(self, body: Mapping[str, Any]) -> int:
        """The index of the first row at or after start_key (and start_key_doc_id)."""
        if "start_key" not in body:
            return 0
        doc_id = "" if self.ignores_doc_id else body.get("start_key_doc_id", "")
        wanted = (body["start_key"], doc_id)
        for index, row in enumerate(self.items):
            if (row["key"], row["id"]) >= wanted:
                return index
        return len(self.items)

    def ids(self) -> list[str]:
        return [row.get("id", row.get("_id")) for row in self.items]

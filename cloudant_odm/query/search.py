"""Cloudant search (Lucene) queries: ``Order.fulltext.search(session, "customer:bob*")``.

``search_index`` is what ``SearchIndex.search`` (``cloudant_odm.design``) calls. One call
is one request; the result carries the bookmark of the next page
(:meth:`SearchResults.next_page`, :meth:`SearchResults.iter_hits`). With an
``AsyncSession`` the call is awaited, and gives ``cloudant_odm.aio.AsyncSearchResults``;
the request and the reading of its answer are the same flow.
"""

from __future__ import annotations

from collections.abc import Awaitable, Coroutine, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, overload

import attrs

from cloudant_odm.client.flows import Flow, Send, run
from cloudant_odm.context import current_session
from cloudant_odm.errors import naming_not_found
from cloudant_odm.models import Document
from cloudant_odm.query.drivers import drivers_for
from cloudant_odm.query.errors import QueryError
from cloudant_odm.query.expressions import model_doc_types
from cloudant_odm.query.loading import is_of, load
from cloudant_odm.query.views import retry_on_design_update
from cloudant_odm.session import BaseSession

if TYPE_CHECKING:
    from typing_extensions import Self

    from cloudant_odm.aio.queries import AsyncSearchResults
    from cloudant_odm.aio.session import AsyncSession
    from cloudant_odm.session import Session

__all__ = [
    "BaseSearchResults",
    "SearchGroup",
    "SearchHit",
    "SearchResults",
    "SearchSource",
    "search_index",
    "search_parameters",
]

D = TypeVar("D", bound=Document)
D_co = TypeVar("D_co", bound=Document, covariant=True)
R = TypeVar("R", bound="BaseSearchResults[Any]")

# Parameters Cloudant does not take on partitioned search queries.
_GLOBAL_ONLY = ("counts", "drilldown", "ranges", "group_field", "group_limit", "group_sort")


class SearchSource(Protocol[D_co]):
    """What a search needs to know of a ``SearchIndex`` declaration."""

    @property
    def model(self) -> type[D_co]: ...
    @property
    def name(self) -> str: ...
    @property
    def ddoc(self) -> str: ...


@attrs.frozen
class SearchHit(Generic[D]):
    """One hit: the document ``id``, its sort ``order`` (score first by default), the
    stored ``fields``, the ``highlights`` per field, and with ``include_docs=True`` the
    document as the index's class."""

    id: str
    order: list[Any] = attrs.field(factory=list)
    fields: dict[str, Any] = attrs.field(factory=dict)
    highlights: dict[str, list[str]] = attrs.field(factory=dict)
    doc: D | None = None


@attrs.frozen
class SearchGroup(Generic[D]):
    """The hits of one value of ``group_field``."""

    by: Any
    total_rows: int
    hits: list[SearchHit[D]]


@attrs.frozen(eq=False)
class BaseSearchResults(Generic[D]):
    """One page of search results: what :class:`SearchResults` and
    ``AsyncSearchResults`` share.

    ``total_rows`` counts every match; ``hits`` are this page's (or ``groups`` with
    ``group_field``); ``counts`` and ``ranges`` are the facet counts
    (``{"type": {"sofa": 10}}``); ``bookmark`` continues after this page.
    """

    total_rows: int
    hits: list[SearchHit[D]]
    bookmark: str | None = None
    counts: dict[str, dict[str, int]] = attrs.field(factory=dict)
    ranges: dict[str, dict[str, int]] = attrs.field(factory=dict)
    groups: list[SearchGroup[D]] = attrs.field(factory=list)
    _query: _Search[D] | None = attrs.field(default=None, repr=False)

    def __iter__(self) -> Iterator[SearchHit[D]]:
        return iter(self.hits)

    def __len__(self) -> int:
        return len(self.hits)

    def docs(self) -> list[D]:
        """This page's documents (``include_docs=True``)."""
        return [hit.doc for hit in self.hits if hit.doc is not None]

    def _next_page_flow(self) -> Flow[Self | None]:
        """The next page (same query, this page's bookmark), or None after the last."""
        if self._query is None or not self.bookmark or not self.hits:
            return None
        limit = self._query.params.get("limit")
        if len(self.hits) < (limit if isinstance(limit, int) else 25):
            return None  # a short page is the last one
        found = yield from self._query.flow(self.bookmark, type(self))
        return found


class SearchResults(BaseSearchResults[D]):
    """One page of search results; :meth:`next_page` and :meth:`iter_hits` read on."""

    def next_page(self) -> SearchResults[D] | None:
        """The next page (same query, this page's bookmark), or None after the last."""
        query = self._query
        if query is None:
            return None
        return run(self._next_page_flow(), query.session_or_current().client)

    def iter_hits(self) -> Iterator[SearchHit[D]]:
        """Every hit from this page on, following bookmarks (a request per page)."""
        page: SearchResults[D] | None = self
        while page is not None:
            yield from page.hits
            page = page.next_page()


@overload
def search_index(
    index: SearchSource[D], session: Session | None, query: str, **params: Any
) -> SearchResults[D]: ...
@overload
def search_index(
    index: SearchSource[D], session: AsyncSession, query: str, **params: Any
) -> Coroutine[Any, Any, AsyncSearchResults[D]]: ...
def search_index(
    index: SearchSource[D], session: BaseSession[Any] | None, query: str, **params: Any
) -> BaseSearchResults[D] | Awaitable[BaseSearchResults[D]]:
    """Search ``index`` with a Lucene ``query`` in ``session`` (None: the current
    session); ``params`` are :func:`search_parameters`'. One request: a ``Session``
    gives its :class:`SearchResults`, an ``AsyncSession`` an awaitable of
    ``cloudant_odm.aio.AsyncSearchResults``."""
    search = _Search(index, session, query, **search_parameters(index, query, **params))
    bound = search.session_or_current()
    drivers = drivers_for(bound)
    first = search.flow(search.params.get("bookmark"), drivers.search_results)
    results: BaseSearchResults[D] | Awaitable[BaseSearchResults[D]] = drivers.run(
        first, bound.client
    )
    return results


def search_parameters(
    index: SearchSource[Any],
    query: str,
    *,
    sort: str | Sequence[str] | None = None,
    limit: int | None = None,
    bookmark: str | None = None,
    include_docs: bool | None = None,
    include_fields: Sequence[str] | None = None,
    counts: Sequence[str] | None = None,
    drilldown: Mapping[str, Any] | Sequence[Sequence[Any]] | None = None,
    ranges: Mapping[str, Mapping[str, str]] | None = None,
    group_field: str | None = None,
    group_limit: int | None = None,
    group_sort: str | Sequence[str] | None = None,
    highlight_fields: Sequence[str] | None = None,
    highlight_pre_tag: str | None = None,
    highlight_post_tag: str | None = None,
    highlight_number: int | None = None,
    highlight_size: int | None = None,
    stale: str | None = None,
    partition: str | None = None,
    track: bool = True,
) -> dict[str, Any]:
    """The options of a search of ``index`` with a Lucene ``query`` (``"customer:bob*
    AND total:[10 TO 50]"``), checked (``_Search`` takes them).

    The parameters are Cloudant's search parameters. ``drilldown`` also takes a dict,
    ``{"type": "sofa"}`` or ``{"type": ["sofa", "chair"]}`` (either value). ``partition``
    searches one partition of a partitioned database, which does not take ``counts``,
    ``drilldown``, ``ranges`` or grouping. ``track=False`` leaves the documents out of
    the session's identity map.
    """
    if not isinstance(query, str) or not query:
        raise ValueError("search needs a non-empty Lucene query string")
    if index.model is None:
        raise QueryError(f"{index!r} is not declared on a Document class")
    params: dict[str, Any] = {
        "sort": sort if isinstance(sort, str) else _list(sort),
        "limit": limit,
        "bookmark": bookmark,
        "include_docs": include_docs,
        "include_fields": _list(include_fields),
        "counts": _list(counts),
        "drilldown": _drilldown(drilldown),
        "ranges": None if ranges is None else {k: dict(v) for k, v in ranges.items()},
        "group_field": group_field,
        "group_limit": group_limit,
        "group_sort": group_sort if isinstance(group_sort, str) else _list(group_sort),
        "highlight_fields": _list(highlight_fields),
        "highlight_pre_tag": highlight_pre_tag,
        "highlight_post_tag": highlight_post_tag,
        "highlight_number": highlight_number,
        "highlight_size": highlight_size,
        "stale": stale,
    }
    params = {k: v for k, v in params.items() if v is not None}
    if partition is None and getattr(index, "partitioned", False) is True:
        raise QueryError(
            f"{index.model.__name__}.{index.name} is in a partitioned design document: "
            "search it with partition=..."
        )
    if partition is not None:
        refused = [name for name in _GLOBAL_ONLY if name in params]
        if refused:
            raise QueryError(
                f"partitioned search queries don't take {', '.join(refused)} (Cloudant)"
            )
    return {"params": params, "partition": partition, "track": track}


def _list(values: Sequence[str] | None) -> list[str] | None:
    if values is None:
        return None
    if isinstance(values, str):
        return [values]
    return list(values)


def _drilldown(value: Mapping[str, Any] | Sequence[Sequence[Any]] | None) -> list[list[Any]] | None:
    if value is None:
        return None
    if isinstance(value, Mapping):
        out: list[list[Any]] = []
        for field, wanted in value.items():
            values = list(wanted) if isinstance(wanted, (list, tuple, set, frozenset)) else [wanted]
            out.append([field, *values])
        return out
    return [list(item) for item in value]


@attrs.frozen(eq=False)
class _Search(Generic[D]):
    """A search query, kept by its results so that they can fetch the next page."""

    index: SearchSource[D]
    session: BaseSession[Any] | None
    query: str
    params: dict[str, Any]
    partition: str | None
    track: bool

    def session_or_current(self) -> BaseSession[Any]:
        return self.session if self.session is not None else current_session()

    def flow(self, bookmark: str | None, results: type[R]) -> Flow[R]:
        """One page (one request), from ``bookmark``, as ``results`` (the results class
        of the session's kind)."""
        session = self.session_or_current()
        model = self.index.model
        db = session.db_for(model)
        request = {**self.params, "query": self.query}
        if bookmark is not None:
            request["bookmark"] = bookmark
        else:
            request.pop("bookmark", None)
        ddoc, name = self.index.ddoc, self.index.name
        if self.partition is not None:
            send = Send("post_partition_search", db, self.partition, ddoc, name, **request)
        else:
            send = Send("post_search", db, ddoc, name, **request)
        with naming_not_found(db):
            result: dict[str, Any] = (yield from retry_on_design_update(send)).get_result()
        types = model_doc_types(model)

        def hits(rows: Sequence[Mapping[str, Any]]) -> list[SearchHit[D]]:
            out: list[SearchHit[D]] = []
            for row in rows:
                data = row.get("doc")
                doc = (
                    load(model, session, db, data, self.track)
                    if isinstance(data, dict) and is_of(model, data, types)
                    else None
                )
                out.append(
                    SearchHit(
                        id=str(row.get("id")),
                        order=list(row.get("order") or []),
                        fields=dict(row.get("fields") or {}),
                        highlights={k: list(v) for k, v in (row.get("highlights") or {}).items()},
                        doc=doc,
                    )
                )
            return out

        groups = [
            SearchGroup(g.get("by"), int(g.get("total_rows", 0)), hits(g.get("rows") or []))
            for g in result.get("groups") or []
        ]
        return results(
            total_rows=int(result.get("total_rows", 0)),
            hits=hits(result.get("rows") or []),
            bookmark=result.get("bookmark"),
            counts=_facets(result.get("counts")),
            ranges=_facets(result.get("ranges")),
            groups=groups,
            query=self,
        )


def _facets(value: Any) -> dict[str, dict[str, int]]:
    if not isinstance(value, dict):
        return {}
    return {
        str(field): {str(label): int(count) for label, count in (buckets or {}).items()}
        for field, buckets in value.items()
    }

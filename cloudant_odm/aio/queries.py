"""Query sets, view queries and search results for asyncio: ``AsyncQuerySet``,
``AsyncViewQuery``, ``AsyncSearchResults``.

They are :class:`~cloudant_odm.query.QuerySet`, :class:`~cloudant_odm.query.ViewQuery`
and :class:`~cloudant_odm.query.search.SearchResults` with their reads awaited. The
building, the compilation to Mango, the paging state and cursors, and the work of each
read (sort errors and index advice, partial loads, the prefetch, the conflict retries
of ``update`` and ``delete``) are the shared base classes' flows (``client/flows.py``),
the same code as the synchronous classes'; each method here awaits one with the
session's ``AsyncCloudantV1``. You get them from an ``AsyncSession``::

    async with AsyncSession(client, db="orders") as s:
        paid = await Order.objects.using(s).filter(status="paid").all()
        async for order in Order.objects.using(s).filter(Order.total > 10):
            ...
        rows = await Order.by_customer.query(s, group=True).all()
        found = await Order.fulltext.search(s, "customer:bob*")
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING, Any, Concatenate, Literal, ParamSpec, TypeVar, overload

import attrs

from cloudant_odm.aio._checks import check_plain_callback
from cloudant_odm.aio._flows import arun
from cloudant_odm.aio.changes import AsyncDocumentChanges, follow
from cloudant_odm.aio.session import AsyncSession
from cloudant_odm.client.flows import Flow
from cloudant_odm.client.follower import FOREVER_MS
from cloudant_odm.models import Document
from cloudant_odm.query.base import BaseQuerySet
from cloudant_odm.query.drivers import Drivers, register_drivers
from cloudant_odm.query.paging import Page
from cloudant_odm.query.search import BaseSearchResults, SearchHit
from cloudant_odm.query.views import BaseViewQuery, ViewRow
from cloudant_odm.session import BaseSession

if TYPE_CHECKING:
    from datetime import timedelta

    from cloudant_odm.changes import Checkpoint
    from cloudant_odm.query.expressions import Expression

__all__ = ["AsyncQuerySet", "AsyncSearchResults", "AsyncViewQuery"]

D = TypeVar("D", bound=Document)
T = TypeVar("T")
P = ParamSpec("P")


class AsyncDriver:
    """What the async query classes add to the shared ones: their ``AsyncSession`` and
    awaiting a flow with its ``AsyncCloudantV1``."""

    __slots__ = ()

    _session: BaseSession[Any] | None

    @property
    def session(self) -> AsyncSession:
        """The session the query runs in."""
        session = self._session
        if not isinstance(session, AsyncSession):
            # Made only by using(async_session) / View.query(async_session): never so.
            raise TypeError(
                f"a {type(self).__name__} runs in an AsyncSession, not {type(session).__name__}"
            )
        return session

    async def _run(
        self,
        flow: Callable[Concatenate[BaseSession[Any], P], Flow[T]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """``flow(session, ...)`` awaited with the session's client."""
        session = self.session
        return await arun(flow(session, *args, **kwargs), session.client)


@attrs.frozen(eq=False, repr=False)
class AsyncQuerySet(BaseQuerySet[D], AsyncDriver):
    """A query over ``model``'s documents in an ``AsyncSession``
    (``Order.objects.using(session)``). Build it as a :class:`QuerySet` (the same
    methods, not awaited); read it with ``async for``, ``await all()``, ``await
    first()``, ``await get(...)``, ``await count()``, ``await page(...)``, ..."""

    # -- following changes ------------------------------------------------------------

    def changes(
        self,
        *,
        since: str | int | None = None,
        include_docs: bool = True,
        one_off: bool = False,
        checkpoint: Checkpoint | None = None,
        error_tolerance: float | timedelta | None = FOREVER_MS,
        limit: int | None = None,
    ) -> AsyncDocumentChanges[D]:
        """``QuerySet.changes``: the typed changes of the documents this query matches,
        filtered on the server (``async for change in ...``); see
        :func:`cloudant_odm.aio.follow`."""
        return follow(
            self.session,
            [self.model],
            since=since,
            include_docs=include_docs,
            selector=self._changes_selector(),
            one_off=one_off,
            checkpoint=checkpoint,
            error_tolerance=error_tolerance,
            limit=limit,
        )

    # -- reading --------------------------------------------------------------------

    async def pages(
        self, page_size: int | None = None, *, track: bool = True
    ) -> AsyncGenerator[Page[D], None]:
        """``QuerySet.pages``: the results page by page (each one request), with each
        page's cursor; one page in memory at a time. (Pages are not read ahead: the
        event loop's other tasks use the time the server takes.)"""
        session = self.session
        db = session.db_for(self.model)
        pager = self._pager(db, page_size or self._page_size, None)
        while True:
            found = await arun(self._next_page_flow(session, db, pager, track), session.client)
            if found is None:
                return
            yield found

    async def page(self, size: int, cursor: str | None = None, *, track: bool = True) -> Page[D]:
        """``QuerySet.page``: one page of at most ``size`` documents from ``cursor``."""
        return await self._run(self._page_flow, size, cursor, track)

    def iterator(self, page_size: int | None = None, *, track: bool = True) -> AsyncIterator[D]:
        """``QuerySet.iterator``: the matching documents, a page at a time as the loop
        advances."""
        return _items(self.pages(page_size, track=track))

    def __aiter__(self) -> AsyncIterator[D]:
        return self.iterator()

    async def all(self) -> list[D]:
        """``QuerySet.all``: every matching document, as a list."""
        return [item async for item in self.iterator()]

    async def first(self) -> D | None:
        """``QuerySet.first``: the first matching document, or None."""
        return await self._run(self._first_flow)

    async def get(self, *args: str | Expression, **lookups: Any) -> D:
        """``QuerySet.get``: exactly one document."""
        return await self._run(self._get_flow, args, lookups)

    @overload
    async def get_many(
        self, ids: Sequence[str], *, missing: Literal["raise", "skip"] = ...
    ) -> list[D]: ...
    @overload
    async def get_many(self, ids: Sequence[str], *, missing: Literal["none"]) -> list[D | None]: ...
    async def get_many(
        self, ids: Sequence[str], *, missing: Literal["raise", "skip", "none"] = "raise"
    ) -> list[D] | list[D | None]:
        """``QuerySet.get_many``: the documents with these ids, in order."""
        return await self._run(self._get_many_flow, ids, missing)

    async def count(self) -> int:
        """``QuerySet.count``: how many documents match (reading their ids)."""
        return await self._run(self._count_flow)

    async def exists(self) -> bool:
        """``QuerySet.exists``: whether a document matches (one request)."""
        return await self._run(self._exists_flow)

    async def explain(self) -> dict[str, Any]:
        """``QuerySet.explain``: the server's ``_explain`` of the first page's request."""
        return await self._run(self._explain_flow)

    # -- writing ------------------------------------------------------------------

    async def update(
        self,
        change: Callable[[D], object] | None = None,
        /,
        *,
        max_retries: int = 10,
        **values: Any,
    ) -> int:
        """``QuerySet.update``: set ``values`` (and/or apply ``change(doc)``, a plain
        function: an ``async def`` one raises TypeError before any request) on every
        matching document and write them, retrying conflicts."""
        check_plain_callback(change, "AsyncQuerySet.update(change)")
        return await self._run(self._update_flow, change, max_retries, values)

    async def delete(self, *, max_retries: int = 10) -> int:
        """``QuerySet.delete``: delete every matching document, retrying conflicts."""
        return await self._run(self._delete_flow, max_retries)


class AsyncViewQuery(BaseViewQuery[D], AsyncDriver):
    """The rows of a view query in an ``AsyncSession`` (``Order.by_customer.query(s,
    ...)``): :class:`ViewQuery` with its reads awaited (``async for row in ...``)."""

    async def pages(self, page_size: int | None = None) -> AsyncGenerator[Page[ViewRow[D]], None]:
        """``ViewQuery.pages``: the rows page by page, each with the cursor of the next."""
        session = self.session
        pager = self._pager(session, page_size or self._page_size, None)
        while (found := await arun(pager.page_flow(), session.client)) is not None:
            yield found

    async def page(self, size: int, cursor: str | None = None) -> Page[ViewRow[D]]:
        """``ViewQuery.page``: one page of at most ``size`` rows from ``cursor``."""
        return await self._run(self._page_flow, size, cursor)

    def __aiter__(self) -> AsyncIterator[ViewRow[D]]:
        return _items(self.pages())

    async def all(self) -> list[ViewRow[D]]:
        """``ViewQuery.all``: every row, as a list."""
        return await self._run(self._all_flow)

    async def first(self) -> ViewRow[D] | None:
        """``ViewQuery.first``: the first row, or None."""
        return await self._run(self._first_flow)

    async def docs(self) -> list[D]:
        """``ViewQuery.docs``: the rows' documents (``include_docs=True``)."""
        return await self._run(self._docs_flow)

    async def scalar(self) -> Any:
        """``ViewQuery.scalar``: the value of the only row, or None for no rows."""
        return await self._run(self._scalar_flow)


class AsyncSearchResults(BaseSearchResults[D]):
    """One page of search results in an ``AsyncSession`` (``await
    Order.fulltext.search(s, ...)``): :class:`SearchResults` with the next pages
    awaited."""

    async def next_page(self) -> AsyncSearchResults[D] | None:
        """``SearchResults.next_page``: the next page, or None after the last."""
        query = self._query
        if query is None:
            return None
        return await arun(self._next_page_flow(), query.session_or_current().client)

    async def iter_hits(self) -> AsyncIterator[SearchHit[D]]:
        """``SearchResults.iter_hits``: every hit from this page on, following bookmarks."""
        page: AsyncSearchResults[D] | None = self
        while page is not None:
            for hit in page.hits:
                yield hit
            page = await page.next_page()


async def _items(pages: AsyncGenerator[Page[T], None]) -> AsyncIterator[T]:
    """The items of ``pages``, a page read as the loop reaches it; leaving the loop
    early closes ``pages``."""
    try:
        async for found in pages:
            for item in found.items:
                yield item
    finally:
        await pages.aclose()


register_drivers(AsyncSession, Drivers(AsyncQuerySet, AsyncViewQuery, AsyncSearchResults, arun))

"""``AsyncPagination``: the SDK's pagination feature (``cloudant_odm.client.Pagination``)
for asyncio, with ``AsyncCloudantV1``.

The options' checks, each page's request and where the next page starts (the key and
document id after a page, or its bookmark; the boundaries that can't be paged) are the
synchronous pagination's own (``client/pagination.py``): each page is a flow, awaited
here.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, overload

from cloudant_odm.aio._flows import arun
from cloudant_odm.client.flows import check_client
from cloudant_odm.client.models import DocsResultRow, Document, SearchResultRow, ViewResultRow
from cloudant_odm.client.pagination import (
    PagerType,
    _BasePageIterator,
    _checked_spec,
    _DocsPagerType,
    _FindPagerType,
    _PageIteratorFactory,
    _PagerStates,
    _SearchPagerType,
    _ViewPagerType,
)

if TYPE_CHECKING:
    from cloudant_odm.aio.service import AsyncCloudantV1

__all__ = ["AsyncPager", "AsyncPagination"]

_RowT = TypeVar("_RowT")
_RowT_co = TypeVar("_RowT_co", covariant=True)


class AsyncPager(Protocol[_RowT_co]):
    """``Pager`` for asyncio: a page at a time (``await get_next()``), or everything at
    once (``await get_all()``); ``has_next()`` asks nothing of the server.

    A pager is used once: either ``get_next()`` until ``has_next()`` is False, or one
    ``get_all()``. For another pass, make another pager from the ``AsyncPagination``.
    """

    @abstractmethod
    def has_next(self) -> bool:
        """False when there is no page left to get."""

    @abstractmethod
    async def get_next(self) -> Sequence[_RowT_co]:
        """The next page. After an error, calling again retries the same page."""

    @abstractmethod
    async def get_all(self) -> Sequence[_RowT_co]:
        """The rows of every page. After an error, calling again starts from the first
        page."""


class _AsyncIteratorPager(_PagerStates[_RowT], AsyncPager[_RowT]):
    """The async ``AsyncPager``: each page a request of the async client."""

    async def get_next(self) -> tuple[_RowT, ...]:
        return await arun(self._next_page(), self._iterator._client)

    async def get_all(self) -> tuple[_RowT, ...]:
        rows = [row async for page in _AsyncPages(self._all_pages()) for row in page]
        self._consumed()
        return tuple(rows)


class _AsyncPages(AsyncIterator[tuple[_RowT, ...]]):
    """The pages of a page iterator, each one's request awaited. A failed request
    changes nothing: the next ``__anext__`` asks for the same page again."""

    def __init__(self, iterator: _BasePageIterator[Any, _RowT]) -> None:
        self._iterator = iterator

    def __aiter__(self) -> _AsyncPages[_RowT]:
        return self

    async def __anext__(self) -> tuple[_RowT, ...]:
        iterator = self._iterator
        if not iterator._has_next:
            raise StopAsyncIteration
        return tuple(await arun(iterator._next_page(), iterator._client))


class AsyncPagination(Generic[_RowT]):
    """The pages of one operation with fixed options, for asyncio; make one with
    `new_pagination` (as ``Pagination.new_pagination``, with an ``AsyncCloudantV1``).

    Reusable: each of `pages`, `rows` and `pager` starts from the first page.
    """

    def __init__(
        self,
        client: AsyncCloudantV1,
        page_iterator: _PageIteratorFactory[_RowT],
        opts: Mapping[str, Any],
    ) -> None:
        self._client = client
        self._page_iterator = page_iterator
        self._initial_opts = dict(opts)  # the caller's dict may change later; these don't

    def pager(self) -> AsyncPager[_RowT]:
        """A new single-use `AsyncPager`, for a page per call."""
        return _AsyncIteratorPager(self._new_page_iterator)

    def pages(self) -> AsyncIterator[tuple[_RowT, ...]]:
        """A new async iterator of the pages (tuples of rows), a request per page."""
        return _AsyncPages(self._new_page_iterator())

    async def rows(self) -> AsyncIterator[_RowT]:
        """A new async iterator of the rows of every page, a request per page."""
        async for page in self.pages():
            for row in page:
                yield row

    def _new_page_iterator(self) -> _BasePageIterator[Any, _RowT]:
        return self._page_iterator(self._client, self._initial_opts)

    @overload
    @classmethod
    def new_pagination(
        cls, client: AsyncCloudantV1, type: _DocsPagerType, **kwargs: Any
    ) -> AsyncPagination[DocsResultRow]: ...
    @overload
    @classmethod
    def new_pagination(
        cls, client: AsyncCloudantV1, type: _FindPagerType, **kwargs: Any
    ) -> AsyncPagination[Document]: ...
    @overload
    @classmethod
    def new_pagination(
        cls, client: AsyncCloudantV1, type: _SearchPagerType, **kwargs: Any
    ) -> AsyncPagination[SearchResultRow]: ...
    @overload
    @classmethod
    def new_pagination(
        cls, client: AsyncCloudantV1, type: _ViewPagerType, **kwargs: Any
    ) -> AsyncPagination[ViewResultRow]: ...
    @overload
    @classmethod
    def new_pagination(
        cls, client: AsyncCloudantV1, type: PagerType, **kwargs: Any
    ) -> AsyncPagination[Any]: ...
    @classmethod
    def new_pagination(
        cls, client: AsyncCloudantV1, type: PagerType, **kwargs: Any
    ) -> AsyncPagination[Any]:
        """An async pagination of the operation ``type`` called with ``kwargs`` (its
        options, ``db`` included), ``limit`` being the page size; the options are checked
        as ``Pagination.new_pagination`` checks them."""
        where, other = "AsyncPagination.new_pagination()", "cloudant_odm.client.Pagination"
        check_client(client, awaited=True, where=where, instead=other)
        return AsyncPagination(client, _checked_spec(client, type, kwargs).page_iterator, kwargs)

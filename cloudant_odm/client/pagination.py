"""Paging through a query's results a request per page: the SDK's Pagination feature.

``Pagination.new_pagination(client, PagerType.POST_VIEW, db=..., ddoc=..., view=...,
limit=50)`` takes the options of one operation, with ``limit`` as the page size (1 to 200,
200 when not given). From it come, each starting again from the first page:

- ``pages()``: an iterator of pages (tuples of rows), one request each;
- ``rows()``: an iterator of the rows of every page;
- ``pager()``: a single-use ``Pager`` (``has_next()``, ``get_next()``, ``get_all()``).

How the next page is found depends on the operation:

- ``_all_docs``, ``_design_docs`` and views ask for one row more than the page. That row
  is not returned: its key (and, for views, whose keys repeat, its document id, as
  ``start_key_doc_id``) is where the next page starts. A page shorter than that ends the
  paging, so the last page needs no extra request.
- ``_find`` and search follow the ``bookmark`` of the previous page. The server can't
  say that nothing follows a full page, so a result that ends exactly at a page boundary
  is followed by an empty page.

Behaves as the official SDK's feature (names, options refused, messages, limits, states
of a pager), with these differences:

- an option given as ``None`` (``limit=None``, ``skip=None``) counts as not given, and a
  falsy first-page option (``skip=0``, ``start_key=0`` or ``""``) is sent, not dropped;
- a ``limit`` that is not an integer is refused (``TypeError``) when the pagination is made;
- where the SDK would ask for the same page for ever, paging ends or raises instead:
  it ends when a full ``_find`` or search page comes without a bookmark; it raises
  (``RuntimeError``, on the request after the page) when a view page's next row has a
  ``null`` key (a ``null`` ``start_key`` can't be sent), and at once when an answer
  ends where it starts, being the page already read (a server that ignores
  ``start_key_doc_id``, such as PouchDB Server, on a key repeated in more rows than a
  page);
- ``has_next()`` is False once ``get_all()`` has read everything;
- misuse and boundary errors are ``RuntimeError`` (the SDK raises ``Exception``).
"""

from __future__ import annotations

import enum
import inspect
from abc import abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, Final, Generic, Literal, Protocol, TypeVar, overload

import attrs

from cloudant_odm.client._operations import CALL_OPTIONS
from cloudant_odm.client.flows import Flow, Send, check_client, run
from cloudant_odm.client.models import (
    AllDocsResult,
    DocsResultRow,
    Document,
    FindResult,
    SearchResult,
    SearchResultRow,
    ViewResult,
    ViewResultRow,
)

if TYPE_CHECKING:
    from cloudant_odm.client.service import CloudantV1

__all__ = ["Pager", "PagerType", "Pagination"]

#: The largest page: search answers at most 200 rows a request.
_MAX_LIMIT: Final = 200
_MIN_LIMIT: Final = 1
_DOCS_KEY_ERROR: Final = "No need to paginate as 'key' returns a single result for an ID."
_VIEW_KEY_ERROR: Final = "Use 'start_key' and 'end_key' instead."
# Search options whose results (facets, groups) are not pages of rows.
_SEARCH_FACETS: Final = ("counts", "group_field", "group_limit", "group_sort", "ranges")

_ResultT = TypeVar("_ResultT")
_RowT = TypeVar("_RowT")
_RowT_co = TypeVar("_RowT_co", covariant=True)


class PagerType(enum.Enum):
    """The operations that can be paged."""

    POST_ALL_DOCS = enum.auto()
    POST_DESIGN_DOCS = enum.auto()
    POST_FIND = enum.auto()
    POST_PARTITION_ALL_DOCS = enum.auto()
    POST_PARTITION_FIND = enum.auto()
    POST_PARTITION_SEARCH = enum.auto()
    POST_PARTITION_VIEW = enum.auto()
    POST_SEARCH = enum.auto()
    POST_VIEW = enum.auto()


class Pager(Protocol[_RowT_co]):
    """The IBM Cloud SDKs' pager: a page at a time, or everything at once.

    A pager is used once: either ``get_next()`` until ``has_next()`` is False, or one
    ``get_all()``. For another pass, make another pager from the ``Pagination``.
    """

    @abstractmethod
    def has_next(self) -> bool:
        """False when there is no page left to get."""

    @abstractmethod
    def get_next(self) -> Sequence[_RowT_co]:
        """The next page. After an error, calling again retries the same page."""

    @abstractmethod
    def get_all(self) -> Sequence[_RowT_co]:
        """The rows of every page. After an error, calling again starts from the first
        page."""


# -- page iterators: one pass over the pages, a request per page -----------------------


class _BasePageIterator(Iterator[tuple[_RowT, ...]], Generic[_ResultT, _RowT]):
    """The pages of one query. Subclasses say how a result becomes rows
    (``_result_converter``, ``_items``) and where the page after a full one starts
    (``_get_next_page_options``).

    Each page is a flow (``_next_page``: its request, and what its answer means), which
    ``next()`` sends with the synchronous client and ``cloudant_odm.aio``'s pages with
    the async one. A failed request changes nothing: the next call asks for the same
    page again.
    """

    def __init__(
        self,
        client: Any,
        operation: str | Callable[..., Any],
        page_opts: Iterable[str],
        opts: Mapping[str, Any],
    ) -> None:
        self._client = client
        self._has_next = True
        self._page_size: int = self._page_size_from_opts_limit(opts)
        fixed = {k: v for k, v in opts.items() if v is not None}
        fixed["limit"] = self._page_size
        # The options saying where a page starts are the caller's for the first page only;
        # every other option is sent with every request.
        self._next_page_opts: dict[str, Any] = {}
        for name in page_opts:
            if name in fixed:
                self._next_page_opts[name] = fixed.pop(name)
        # The operation with every option but where the page starts (as the SDK's
        # iterators keep it): called, or awaited with the async client, for each page.
        call = getattr(client, operation) if isinstance(operation, str) else operation
        self._next_request_function = partial(call, **fixed)

    def __iter__(self) -> _BasePageIterator[_ResultT, _RowT]:
        return self

    def __next__(self) -> tuple[_RowT, ...]:
        if not self._has_next:
            raise StopIteration
        return tuple(self._next_request())

    def _next_request(self) -> list[_RowT]:
        """The next page's rows, asked for with the synchronous client."""
        return run(self._next_page(), self._client)

    def _next_page(self) -> Flow[list[_RowT]]:
        """The next page: its request, then its rows."""
        self._check_next()
        response = yield Send(self._next_request_function, **self._next_page_opts)
        return self._take_page(response.get_result())

    def _check_next(self) -> None:
        """Raise if the next page can't be asked for."""

    def _take_page(self, answer: Any) -> list[_RowT]:
        """The rows of the answer to the page's request; where the next page starts."""
        result = self._result_converter()(answer)
        items = self._items(result)
        if len(items) < self._page_size:
            self._has_next = False  # a short page is the last
        else:
            following = self._get_next_page_options(result)
            if following is None:
                self._has_next = False
            else:
                self._next_page_opts = following
        return items

    def _page_size_from_opts_limit(self, opts: Mapping[str, Any]) -> int:
        """How many rows to ask for in each request."""
        limit = opts.get("limit")
        return _MAX_LIMIT if limit is None else int(limit)

    @abstractmethod
    def _result_converter(self) -> Callable[[Any], _ResultT]:
        """Turns the JSON of a response into a result model."""

    @abstractmethod
    def _items(self, result: _ResultT) -> list[_RowT]:
        """The rows of a result."""

    @abstractmethod
    def _get_next_page_options(self, result: _ResultT) -> dict[str, Any] | None:
        """The options of the page after ``result``, a full page; None if there's none."""


class _KeyedRow(Protocol):
    @property
    def key(self) -> Any: ...
    @property
    def id(self) -> str | None: ...


_KeyedRowT = TypeVar("_KeyedRowT", bound=_KeyedRow)


class _KeyPageIterator(_BasePageIterator[_ResultT, _KeyedRowT]):
    """Pages of ``_all_docs``-like rows, asking for one row more than a page: that row
    (not returned) is where the next page starts, so a short answer is the last page."""

    def __init__(
        self, client: Any, operation: str | Callable[..., Any], opts: Mapping[str, Any]
    ) -> None:
        super().__init__(client, operation, ("skip", "start_key", "start_key_doc_id"), opts)
        # Why the next page can't be asked for; raised when it is.
        self._boundary_failure: str | None = None

    def _check_next(self) -> None:
        if self._boundary_failure is not None:
            raise RuntimeError(self._boundary_failure)

    def _take_page(self, answer: Any) -> list[_KeyedRowT]:
        sent = self._next_page_opts
        rows = super()._take_page(answer)
        if self._has_next:
            if self._next_page_opts == sent:
                # The answer ends where it starts: the page already read, which every
                # request would return again.
                self._boundary_failure = (
                    f"Cannot paginate: the server answered {sent} with the page already read "
                    "(does it ignore start_key_doc_id?)"
                )
                raise RuntimeError(self._boundary_failure)
            boundary = rows.pop()  # the first row of the next page
            if rows:
                self._boundary_failure = self.check_boundary(rows[-1], boundary)
        return rows

    def _page_size_from_opts_limit(self, opts: Mapping[str, Any]) -> int:
        return super()._page_size_from_opts_limit(opts) + 1

    def _get_next_page_options(self, result: _ResultT) -> dict[str, Any] | None:
        first = self._items(result)[-1]
        following = {"start_key": first.key}
        if first.id is not None:  # a grouped reduce row has no id; its key is unique
            following["start_key_doc_id"] = first.id
        return following

    @abstractmethod
    def check_boundary(self, penultimate_item: _KeyedRowT, last_item: _KeyedRowT) -> str | None:
        """Why the next page, starting at ``last_item``, can't be asked for (the last
        row of this page being ``penultimate_item``); None when it can."""


class _BookmarkPageIterator(_BasePageIterator[_ResultT, _RowT]):
    """Pages that follow the ``bookmark`` of the previous page."""

    def __init__(
        self,
        client: Any,
        operation: str | Callable[..., Any],
        opts: Mapping[str, Any],
        extra_page_opts: Sequence[str] = (),
    ) -> None:
        super().__init__(client, operation, ("bookmark", *extra_page_opts), opts)

    def _get_next_page_options(self, result: _ResultT) -> dict[str, Any] | None:
        bookmark = getattr(result, "bookmark", None)
        # Without a bookmark the next request would start over at the first page.
        return None if not bookmark else {"bookmark": bookmark}


class _AllDocsPageIterator(_KeyPageIterator[AllDocsResult, DocsResultRow]):
    """``_all_docs``, ``_design_docs`` and a partition's ``_all_docs``."""

    def _result_converter(self) -> Callable[[Any], AllDocsResult]:
        return AllDocsResult.from_dict

    def _items(self, result: AllDocsResult) -> list[DocsResultRow]:
        return result.rows

    def _get_next_page_options(self, result: AllDocsResult) -> dict[str, Any] | None:
        # The key is the id, so it alone is where the next page starts.
        return {"start_key": result.rows[-1].key}

    def check_boundary(self, penultimate_item: DocsResultRow, last_item: DocsResultRow) -> None:
        return None  # ids are unique: any row can start a page


class _ViewPageIterator(_KeyPageIterator[ViewResult, ViewResultRow]):
    """A view, global or of a partition."""

    def __init__(
        self, client: Any, operation: str | Callable[..., Any], opts: Mapping[str, Any]
    ) -> None:
        super().__init__(client, operation, opts)
        level = opts.get("group_level")
        self._group_level = int(level) if level is not None and opts.get("descending") else None

    def _get_next_page_options(self, result: ViewResult) -> dict[str, Any] | None:
        following = super()._get_next_page_options(result)
        if following is None or self._group_level is None:
            return following
        key = following["start_key"]
        if isinstance(key, list) and len(key) >= self._group_level:
            # A group_level row's key may be a prefix of the keys it reduces, which sort
            # after it: going down, the page must start above them all ({} sorts after
            # every value), or the group would be skipped. A key shorter than the level
            # was emitted whole and starts its page as it is.
            following["start_key"] = [*key, {}]
        return following

    def _result_converter(self) -> Callable[[Any], ViewResult]:
        return ViewResult.from_dict

    def _items(self, result: ViewResult) -> list[ViewResultRow]:
        return result.rows

    def check_boundary(
        self, penultimate_item: ViewResultRow, last_item: ViewResultRow
    ) -> str | None:
        key, doc_id = last_item.key, last_item.id
        if penultimate_item.key == key and penultimate_item.id == doc_id:
            # A document emitting one key twice: start_key and start_key_doc_id name the
            # first of those rows, so the next page would repeat the ones already returned.
            return (
                f"Cannot paginate on a boundary containing identical keys {key} "
                f"and document IDs {doc_id}"
            )
        if key is None:
            # None options are not sent: the request would be for the first page again.
            return f"Cannot paginate on a boundary with a null key (document ID {doc_id})"
        return None


class _FindPageIterator(_BookmarkPageIterator[FindResult, Document]):
    """``_find``, global or of a partition."""

    def __init__(
        self, client: Any, operation: str | Callable[..., Any], opts: Mapping[str, Any]
    ) -> None:
        # _find takes skip, which must apply to the first page only.
        super().__init__(client, operation, opts, extra_page_opts=("skip",))

    def _result_converter(self) -> Callable[[Any], FindResult]:
        return FindResult.from_dict

    def _items(self, result: FindResult) -> list[Document]:
        # The SDK's pages hold Document models (FindResult.docs holds plain dicts here).
        return [Document.from_dict(doc) for doc in result.docs]


class _SearchPageIterator(_BookmarkPageIterator[SearchResult, SearchResultRow]):
    """A search index, global or of a partition."""

    def _result_converter(self) -> Callable[[Any], SearchResult]:
        return SearchResult.from_dict

    def _items(self, result: SearchResult) -> list[SearchResultRow]:
        return result.rows or []


# -- pagers ------------------------------------------------------------------------------


class _PagerState(enum.Enum):
    NEW = enum.auto()
    GET_NEXT = enum.auto()
    GET_ALL = enum.auto()
    CONSUMED = enum.auto()


class _PagerStates(Generic[_RowT]):
    """What a pager over the page iterators ``iterable_func`` makes decides, without
    I/O: ``get_next()`` walks one of them, each ``get_all()`` a new one (so that a
    failed one can start over), and a pager is used one way, once. ``_IteratorPager``
    and ``cloudant_odm.aio``'s pager send its pages."""

    _state_consumed_msg: Final = "This pager has been consumed, use a new Pager."
    _state_mixed_msg: Final = (
        "Cannot mix get_all() and get_next() use only one method or make a new Pager."
    )

    def __init__(self, iterable_func: Callable[[], _BasePageIterator[Any, _RowT]]) -> None:
        self._iterable_func = iterable_func
        self._iterator = iterable_func()
        self._state = _PagerState.NEW

    def has_next(self) -> bool:
        return self._state is not _PagerState.CONSUMED and self._iterator._has_next

    def _next_page(self) -> Flow[tuple[_RowT, ...]]:
        """``get_next()``'s page."""
        self._check_state(_PagerState.GET_NEXT)
        page = tuple((yield from self._iterator._next_page()))
        if not self._iterator._has_next:
            self._state = _PagerState.CONSUMED
        return page

    def _all_pages(self) -> _BasePageIterator[Any, _RowT]:
        """``get_all()``'s pages: read them all, then call ``_consumed()``."""
        self._check_state(_PagerState.GET_ALL)
        return self._iterable_func()

    def _consumed(self) -> None:
        self._state = _PagerState.CONSUMED

    def _check_state(self, wanted: _PagerState) -> None:
        if self._state is _PagerState.NEW:
            self._state = wanted
        elif self._state is _PagerState.CONSUMED:
            raise RuntimeError(self._state_consumed_msg)
        elif self._state is not wanted:
            raise RuntimeError(self._state_mixed_msg)


class _IteratorPager(_PagerStates[_RowT], Pager[_RowT]):
    """The synchronous ``Pager``: each page a request of the synchronous client."""

    def get_next(self) -> tuple[_RowT, ...]:
        return run(self._next_page(), self._iterator._client)

    def get_all(self) -> tuple[_RowT, ...]:
        rows = [row for page in self._all_pages() for row in page]
        self._consumed()
        return tuple(rows)


# -- the entry point ---------------------------------------------------------------------

# Makes the page iterator of a client (synchronous or async) and options.
_PageIteratorFactory = Callable[[Any, Mapping[str, Any]], _BasePageIterator[Any, _RowT]]
_DocsPagerType = Literal[
    PagerType.POST_ALL_DOCS, PagerType.POST_DESIGN_DOCS, PagerType.POST_PARTITION_ALL_DOCS
]
_FindPagerType = Literal[PagerType.POST_FIND, PagerType.POST_PARTITION_FIND]
_SearchPagerType = Literal[PagerType.POST_SEARCH, PagerType.POST_PARTITION_SEARCH]
_ViewPagerType = Literal[PagerType.POST_VIEW, PagerType.POST_PARTITION_VIEW]


class Pagination(Generic[_RowT]):
    """The pages of one operation with fixed options; make one with `new_pagination`.

    Reusable: each of `pages`, `rows` and `pager` starts from the first page.
    """

    def __init__(
        self,
        client: CloudantV1,
        page_iterator: _PageIteratorFactory[_RowT],
        opts: Mapping[str, Any],
    ) -> None:
        self._client = client
        self._page_iterator = page_iterator
        self._initial_opts = dict(opts)  # the caller's dict may change later; these don't

    def pager(self) -> Pager[_RowT]:
        """A new single-use `Pager`, for a page per call."""
        return _IteratorPager(self._new_page_iterator)

    def pages(self) -> Iterator[tuple[_RowT, ...]]:
        """A new iterator of the pages (tuples of rows), a request per page."""
        return self._new_page_iterator()

    def rows(self) -> Iterator[_RowT]:
        """A new iterator of the rows of every page, a request per page."""
        for page in self.pages():
            yield from page

    def _new_page_iterator(self) -> _BasePageIterator[Any, _RowT]:
        return self._page_iterator(self._client, self._initial_opts)

    @overload
    @classmethod
    def new_pagination(
        cls, client: CloudantV1, type: _DocsPagerType, **kwargs: Any
    ) -> Pagination[DocsResultRow]: ...
    @overload
    @classmethod
    def new_pagination(
        cls, client: CloudantV1, type: _FindPagerType, **kwargs: Any
    ) -> Pagination[Document]: ...
    @overload
    @classmethod
    def new_pagination(
        cls, client: CloudantV1, type: _SearchPagerType, **kwargs: Any
    ) -> Pagination[SearchResultRow]: ...
    @overload
    @classmethod
    def new_pagination(
        cls, client: CloudantV1, type: _ViewPagerType, **kwargs: Any
    ) -> Pagination[ViewResultRow]: ...
    @overload
    @classmethod
    def new_pagination(
        cls, client: CloudantV1, type: PagerType, **kwargs: Any
    ) -> Pagination[Any]: ...
    @classmethod
    def new_pagination(cls, client: CloudantV1, type: PagerType, **kwargs: Any) -> Pagination[Any]:
        """A pagination of the operation ``type`` called with ``kwargs`` (its options,
        ``db`` included), ``limit`` being the page size.

        Options that can't be paged are refused with ``ValueError``: a ``limit`` outside
        1 to 200; ``key`` and ``keys`` for ``_all_docs``, ``_design_docs`` and views; the
        facet and group options of search.
        """
        where, other = "Pagination.new_pagination()", "cloudant_odm.aio.AsyncPagination"
        check_client(client, awaited=False, where=where, instead=other)
        return Pagination(client, _checked_spec(client, type, kwargs).page_iterator, kwargs)


def _checked_spec(client: Any, type: PagerType, opts: Mapping[str, Any]) -> _Spec:
    """What pages ``type`` (with its checks made on ``opts``, as ``new_pagination``
    says), for the synchronous or async ``client``."""
    spec = _SPECS[type]
    spec.check_option_names(client, opts)
    _validate_limit(opts.get("limit"))
    if spec.key_error is not None:
        _refuse("key", opts, spec.key_error)
    for name in spec.refused:
        _refuse(name, opts)
    return spec


def _validate_limit(limit: object) -> None:
    if limit is None:
        return  # the largest page
    if not isinstance(limit, int) or isinstance(limit, bool):
        raise TypeError(f"The provided limit must be an integer, not {type(limit).__name__}.")
    if limit > _MAX_LIMIT:
        raise ValueError(
            f"The provided limit {limit} exceeds the maximum page size value of {_MAX_LIMIT}."
        )
    if limit < _MIN_LIMIT:
        raise ValueError(
            f"The provided limit {limit} is lower than the minimum page size value of {_MIN_LIMIT}."
        )


def _refuse(name: str, opts: Mapping[str, Any], why: str | None = None) -> None:
    """Refuse an option that can't be paged, whatever its value (even None)."""
    if name in opts:
        suffix = f" {why}" if why else ""
        raise ValueError(f"The option '{name}' is invalid when using pagination.{suffix}")


_IteratorKind = Callable[[Any, str, Mapping[str, Any]], _BasePageIterator[Any, Any]]


@attrs.frozen
class _Spec:
    #: The page iterator class, and the name of the client's method it pages.
    kind: _IteratorKind
    operation: str
    #: Refuse ``key``, with this reason.
    key_error: str | None = None
    #: Other options refused.
    refused: tuple[str, ...] = ()

    def page_iterator(self, client: Any, opts: Mapping[str, Any]) -> _BasePageIterator[Any, Any]:
        # The method is looked up at each request, on the client given.
        return self.kind(client, self.operation, opts)

    def check_option_names(self, client: Any, opts: Mapping[str, Any]) -> None:
        """A misspelt option is a TypeError now, not at the first page."""
        method = getattr(type(client), self.operation, None)
        if not inspect.isfunction(method):
            return  # replaced (a test's mock): its parameters are unknown
        parameters = inspect.signature(method).parameters
        known = {n for n, p in parameters.items() if p.kind is not p.VAR_KEYWORD}
        unknown = sorted(set(opts) - known - {"self"} - CALL_OPTIONS)
        if unknown:
            raise TypeError(f"{self.operation}() has no options {unknown}")


_SPECS: Final[Mapping[PagerType, _Spec]] = {
    PagerType.POST_ALL_DOCS: _Spec(
        _AllDocsPageIterator, "post_all_docs", _DOCS_KEY_ERROR, ("keys",)
    ),
    PagerType.POST_DESIGN_DOCS: _Spec(
        _AllDocsPageIterator, "post_design_docs", _DOCS_KEY_ERROR, ("keys",)
    ),
    PagerType.POST_PARTITION_ALL_DOCS: _Spec(
        _AllDocsPageIterator, "post_partition_all_docs", _DOCS_KEY_ERROR, ("keys",)
    ),
    PagerType.POST_FIND: _Spec(_FindPageIterator, "post_find"),
    PagerType.POST_PARTITION_FIND: _Spec(_FindPageIterator, "post_partition_find"),
    PagerType.POST_SEARCH: _Spec(_SearchPageIterator, "post_search", None, _SEARCH_FACETS),
    PagerType.POST_PARTITION_SEARCH: _Spec(_SearchPageIterator, "post_partition_search"),
    PagerType.POST_VIEW: _Spec(_ViewPageIterator, "post_view", _VIEW_KEY_ERROR, ("keys",)),
    PagerType.POST_PARTITION_VIEW: _Spec(
        _ViewPageIterator, "post_partition_view", _VIEW_KEY_ERROR, ("keys",)
    ),
}

"""Querying MapReduce views: ``Order.by_customer.query(session, key="bob")``.

``query_view`` is what ``View.query`` (``cloudant_odm.design``) calls. It returns a lazy
:class:`ViewQuery` (``cloudant_odm.aio.AsyncViewQuery`` for an ``AsyncSession``):
iterating it reads the rows a page at a time, starting each page at the key and document
id of the row after the previous page (never with ``skip``). The paging and the reading
are :class:`BaseViewQuery`'s flows, shared by both.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import (
    TYPE_CHECKING,
    Any,
    Generic,
    NoReturn,
    Protocol,
    TypeVar,
    overload,
)

import attrs

from cloudant_odm._typing import strip_optional
from cloudant_odm.client import DetailedResponse, NotFoundError
from cloudant_odm.client.flows import Flow, Send, run
from cloudant_odm.errors import naming_not_found
from cloudant_odm.models import Document
from cloudant_odm.models.conversion import converter, policy_for
from cloudant_odm.models.fields import decimal_storage, json_key
from cloudant_odm.query.drivers import SyncDriver, drivers_for
from cloudant_odm.query.errors import QueryError
from cloudant_odm.query.expressions import dump_value, model_doc_types
from cloudant_odm.query.loading import is_of, load
from cloudant_odm.query.paging import (
    DEFAULT_PAGE_SIZE,
    KeysetState,
    Page,
    decode_cursor,
    encode_cursor,
    fingerprint,
    keyset_page,
)
from cloudant_odm.session import BaseSession, Session

if TYPE_CHECKING:
    from cloudant_odm.aio.queries import AsyncViewQuery
    from cloudant_odm.aio.session import AsyncSession

__all__ = [
    "BaseViewQuery",
    "ViewQuery",
    "ViewRow",
    "ViewSource",
    "query_view",
    "view_parameters",
]

log = logging.getLogger("cloudant_odm.query")

D = TypeVar("D", bound=Document)
D_co = TypeVar("D_co", bound=Document, covariant=True)

_UNSET: Any = object()


class ViewSource(Protocol[D_co]):
    """What a view query needs to know of a ``View`` declaration."""

    @property
    def model(self) -> type[D_co]: ...
    @property
    def name(self) -> str: ...
    @property
    def ddoc(self) -> str: ...
    @property
    def reduce(self) -> str | None: ...


@attrs.frozen
class ViewRow(Generic[D]):
    """One row: the emitted ``key`` and ``value``, the ``id`` of the document that
    emitted it (None for reduce rows), and with ``include_docs=True`` the document as the
    view's class (None if it is gone, or is not one of the class's documents)."""

    key: Any
    value: Any
    id: str | None = None
    doc: D | None = None


def retry_on_design_update(send: Send) -> Flow[DetailedResponse]:
    """Make the call ``send``; make it once more if the server answered 404 "Design
    document was updated or deleted": a deploy switched the design document while the
    query waited for its index, and the new one answers the same query."""
    try:
        response: DetailedResponse = yield send
    except NotFoundError as exc:
        if "updated or deleted" not in f"{exc.reason} {exc.message}".lower():
            raise
        log.info("design document switched during a query; retrying once")
        response = yield send
    return response


@overload
def query_view(
    view: ViewSource[D], session: Session | None = None, **params: Any
) -> ViewQuery[D]: ...
@overload
def query_view(view: ViewSource[D], session: AsyncSession, **params: Any) -> AsyncViewQuery[D]: ...
def query_view(
    view: ViewSource[D], session: BaseSession[Any] | None = None, **params: Any
) -> BaseViewQuery[D]:
    """A lazy query of ``view`` in ``session`` (None: the current session); ``params``
    are :func:`view_parameters`'. A ``Session`` gives a :class:`ViewQuery`, an
    ``AsyncSession`` a ``cloudant_odm.aio.AsyncViewQuery``."""
    cls = ViewQuery if session is None else drivers_for(session).view_query
    return cls(view, session, **view_parameters(view, **params))


def view_parameters(
    view: ViewSource[Any],
    *,
    key: Any = _UNSET,
    keys: Sequence[Any] | None = None,
    start_key: Any = _UNSET,
    end_key: Any = _UNSET,
    start_key_doc_id: str | None = None,
    end_key_doc_id: str | None = None,
    inclusive_end: bool | None = None,
    descending: bool | None = None,
    reduce: bool | None = None,
    group: bool | None = None,
    group_level: int | None = None,
    include_docs: bool | None = None,
    conflicts: bool | None = None,
    update: str | bool | None = None,
    stable: bool | None = None,
    limit: int | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
    partition: str | None = None,
    key_type: Any = None,
    value_type: Any = None,
    track: bool = True,
) -> dict[str, Any]:
    """The options of a query of ``view``, checked (``BaseViewQuery``'s constructor
    takes them); the parameters are CouchDB's view parameters.

    Keys are converted like document values (a datetime as its ISO string, a Decimal
    as its string, ...). ``reduce`` defaults to the server's default (reduce when the
    view has a reduce function), except with ``include_docs=True``, which needs
    ``reduce=False`` and gets it. ``key_type`` / ``value_type`` load keys and values
    with the document converter (``value_type=Decimal``). ``partition`` queries one
    partition (``/_partition/{key}/_design/...``). ``track=False`` leaves the documents
    out of the session's identity map (flat memory for long iterations).
    """
    model = view.model
    if model is None:
        raise QueryError(f"{view!r} is not declared on a Document class")
    has_reduce = view.reduce is not None
    if reduce and not has_reduce:
        raise QueryError(f"{model.__name__}.{view.name} has no reduce function")
    if include_docs and reduce:
        raise QueryError("include_docs=True needs reduce=False (reduced rows have no document)")
    reducing = has_reduce and (reduce if reduce is not None else not include_docs)
    if (group or group_level is not None) and not reducing:
        raise QueryError("group and group_level apply to reduced results only")
    if partition is not None and stable is not None:
        raise QueryError("stable is not a parameter of partitioned view queries")
    if partition is None and getattr(view, "partitioned", False) is True:
        # CouchDB refuses a global query of a view in a partitioned design document.
        raise QueryError(
            f"{model.__name__}.{view.name} is in a partitioned design document: "
            "query it with partition=..."
        )
    params: dict[str, Any] = {}
    for name, value in (("key", key), ("start_key", start_key), ("end_key", end_key)):
        if value is not _UNSET:
            params[name] = dump_value(value, Any)
    if keys is not None:
        if isinstance(keys, (str, bytes)):
            raise TypeError("keys takes a list of keys")
        params["keys"] = [dump_value(k, Any) for k in keys]
    for name, value in (
        ("start_key_doc_id", start_key_doc_id),
        ("end_key_doc_id", end_key_doc_id),
        ("inclusive_end", inclusive_end),
        ("descending", descending),
        ("group", group),
        ("group_level", group_level),
        ("include_docs", include_docs),
        ("conflicts", conflicts),
        ("update", update),
        ("stable", stable),
    ):
        if value is not None:
            params[name] = value
    if has_reduce:
        params["reduce"] = bool(reducing)
    if limit is not None and (not isinstance(limit, int) or limit < 0):
        raise ValueError(f"limit must be an int >= 0, got {limit!r}")
    if not isinstance(page_size, int) or page_size < 1:
        raise ValueError(f"page_size must be an int >= 1, got {page_size!r}")
    grouped = reducing and (bool(group) or group_level is not None)
    if value_type is None or value_type is Decimal:
        value_type = _decimal_values(view, reducing) or value_type
    return {
        "params": params,
        "limit": limit,
        "page_size": page_size,
        "partition": partition,
        "paged": keys is None and (not reducing or grouped),
        "unique_keys": grouped,
        "key_type": key_type,
        "value_type": value_type,
        "track": track,
    }


@attrs.frozen
class _DecimalValues:
    """Row values of a view over one Decimal field: Decimals, at the field's places."""

    quantum: Decimal | None

    def load(self, value: Any) -> Any:
        if value is None:
            return None
        number: Decimal = converter.structure(value, Decimal)
        return number.quantize(self.quantum) if self.quantum is not None else number


def _decimal_values(view: ViewSource[Any], reducing: bool) -> _DecimalValues | None:
    """For a view emitting one Decimal field (its map rows, or their ``_sum``): a loader
    giving Decimals, rounded to the field's ``places`` when it declares them. The server
    sums JSON numbers as doubles (``4164.449999999999``); rounded to the places every
    addend had, the sum is exact again (while it is below 2**53 units of the last place).
    """
    if reducing and view.reduce != "_sum":
        return None
    path: str | None = getattr(view, "value_field", None)  # View.emit declarations have it
    attribute = _attribute_at(view.model, path) if path else None
    if attribute is None or strip_optional(attribute.type) is not Decimal:
        return None
    storage = decimal_storage(attribute)
    return _DecimalValues(storage.quantum if storage is not None else None)


def _attribute_at(model: type[Document], path: str) -> attrs.Attribute[Any] | None:
    """The attribute a ``View.emit`` value path names: its first part is an attribute of
    the model, the parts after a ``.`` JSON keys of the nested objects (as the map
    function reads them: ``Declaration.json_path``)."""
    cls: Any = model
    attribute: attrs.Attribute[Any] | None = None
    head, *keys = path.split(".")
    for index, part in enumerate([head, *keys]):
        if not (isinstance(cls, type) and attrs.has(cls)):
            return None
        fields = attrs.fields(attrs.resolve_types(cls))
        attribute = next(
            (a for a in fields if (a.name if index == 0 else json_key(a)) == part), None
        )
        if attribute is None:
            return None
        cls = strip_optional(attribute.type)
    return attribute


class BaseViewQuery(Generic[D]):
    """The rows of a view query: what :class:`ViewQuery` and ``AsyncViewQuery`` share,
    the paging state and the work of reading (flows)."""

    def __init__(
        self,
        view: ViewSource[D],
        session: BaseSession[Any] | None,
        *,
        params: Mapping[str, Any],
        limit: int | None,
        page_size: int,
        partition: str | None,
        paged: bool,
        unique_keys: bool,
        key_type: Any,
        value_type: Any,
        track: bool,
    ) -> None:
        self.view = view
        self.params = dict(params)
        self._session = session
        self._limit = limit
        self._page_size = page_size
        self._partition = partition
        self._paged = paged
        self._unique_keys = unique_keys
        self._key_type = key_type
        self._value_type = value_type
        self._track = track

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.view.ddoc}/{self.view.name} {self.params}>"

    def __bool__(self) -> NoReturn:
        raise TypeError(f"a {type(self).__name__} is not a bool: use .first() is not None")

    # -- requests (flows) -----------------------------------------------------------

    def _fetch_flow(self, db: str, request: dict[str, Any]) -> Flow[list[dict[str, Any]]]:
        ddoc, name = self.view.ddoc, self.view.name
        if self._partition is not None:
            send = Send("post_partition_view", db, self._partition, ddoc, name, **request)
        else:
            send = Send("post_view", db, ddoc, name, **request)
        with naming_not_found(db):
            response = yield from retry_on_design_update(send)
        rows: list[dict[str, Any]] = response.get_result()["rows"]
        return rows

    def _row(
        self, session: BaseSession[Any], db: str, raw: Mapping[str, Any], types: frozenset[str]
    ) -> ViewRow[D]:
        model = self.view.model
        doc: D | None = None
        data = raw.get("doc")
        if isinstance(data, dict) and is_of(model, data, types):
            doc = load(model, session, db, data, self._track)
        key, value = raw.get("key"), raw.get("value")
        if self._key_type is not None or self._value_type is not None:
            with policy_for(model):
                if self._key_type is not None:
                    key = converter.structure(key, self._key_type)
                if isinstance(self._value_type, _DecimalValues):
                    value = self._value_type.load(value)
                elif self._value_type is not None:
                    value = converter.structure(value, self._value_type)
        return ViewRow(key, value, raw.get("id"), doc)

    def _query_id(self, db: str) -> str:
        return fingerprint(
            {
                "db": db,
                "ddoc": self.view.ddoc,
                "view": self.view.name,
                "p": self._partition,
                "params": self.params,
                "limit": self._limit,
            }
        )

    def _pager(self, session: BaseSession[Any], size: int, cursor: str | None) -> _ViewPager[D]:
        return _ViewPager(self, session, size, cursor)

    # -- reading (flows) --------------------------------------------------------------

    def _page_flow(
        self, session: BaseSession[Any], size: int, cursor: str | None
    ) -> Flow[Page[ViewRow[D]]]:
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"page() takes a size >= 1, got {size!r}")
        found = yield from self._pager(session, size, cursor).page_flow()
        return found if found is not None else Page([], None)

    def _all_flow(self, session: BaseSession[Any]) -> Flow[list[ViewRow[D]]]:
        pager = self._pager(session, self._page_size, None)
        rows: list[ViewRow[D]] = []
        while (page := (yield from pager.page_flow())) is not None:
            rows.extend(page.items)
        return rows

    def _first_flow(self, session: BaseSession[Any]) -> Flow[ViewRow[D] | None]:
        page = yield from self._page_flow(session, 1, None)
        return page.items[0] if page.items else None

    def _docs_flow(self, session: BaseSession[Any]) -> Flow[list[D]]:
        pager = self._pager(session, self._page_size, None)
        docs: list[D] = []
        while (page := (yield from pager.page_flow())) is not None:
            docs.extend(row.doc for row in page.items if row.doc is not None)
        return docs

    def _scalar_flow(self, session: BaseSession[Any]) -> Flow[Any]:
        if self._paged:
            rows = (yield from self._page_flow(session, 2, None)).items
        else:
            rows = yield from self._all_flow(session)
        if len(rows) > 1:
            raise QueryError("scalar() needs a result of at most one row; this has more")
        return rows[0].value if rows else None


class _ViewPager(Generic[D]):
    """Where paging through a view query stands. Each page starts at the key and
    document id of the row after the previous page (never with ``skip``); a reduce to
    one value, or a ``keys=`` query, is one request."""

    __slots__ = ("db", "done", "query", "query_id", "session", "size", "state", "types")

    def __init__(
        self, query: BaseViewQuery[D], session: BaseSession[Any], size: int, cursor: str | None
    ) -> None:
        self.query = query
        self.session = session
        self.db = session.db_for(query.view.model)
        self.size = size
        self.types = model_doc_types(query.view.model)
        self.query_id = query._query_id(self.db)
        self.state = KeysetState()
        if cursor is not None and query._paged:
            self.state = KeysetState.from_json(decode_cursor(cursor, "view", self.query_id))
        self.done = False

    def _fetch_flow(self, request: dict[str, Any]) -> Flow[list[dict[str, Any]]]:
        return self.query._fetch_flow(self.db, request)

    def page_flow(self) -> Flow[Page[ViewRow[D]] | None]:
        """The next page of rows, with the cursor of the one after; None after the last."""
        query, session, db = self.query, self.session, self.db
        if not query._paged:
            if self.done:
                return None
            self.done = True
            request = dict(query.params)
            if query._limit is not None:
                request["limit"] = query._limit
            rows = yield from query._fetch_flow(db, request)
            return Page(
                [query._row(session, db, r, self.types) for r in rows if "error" not in r], None
            )
        raw = yield from keyset_page(
            self._fetch_flow,
            query.params,
            self.state,
            page_size=self.size,
            limit=query._limit,
            by_doc_id=not query._unique_keys,
        )
        if raw is None:
            return None
        state = self.state
        nxt = None if state.done else encode_cursor("view", self.query_id, state.to_json())
        return Page([query._row(session, db, r, self.types) for r in raw], nxt)


class ViewQuery(BaseViewQuery[D], SyncDriver):
    """The rows of a view query, read when iterated (a page per request)."""

    # -- reading ------------------------------------------------------------------

    def pages(self, page_size: int | None = None) -> Iterator[Page[ViewRow[D]]]:
        """The rows page by page, each with the cursor of the next."""
        session = self.session
        pager = self._pager(session, page_size or self._page_size, None)
        while (page := run(pager.page_flow(), session.client)) is not None:
            yield page

    def page(self, size: int, cursor: str | None = None) -> Page[ViewRow[D]]:
        """One page of at most ``size`` rows from ``cursor`` (a previous page's
        ``next_cursor``; None for the first)."""
        return self._run(self._page_flow, size, cursor)

    def __iter__(self) -> Iterator[ViewRow[D]]:
        for found in self.pages():
            yield from found.items

    def all(self) -> list[ViewRow[D]]:
        """Every row, as a list."""
        return self._run(self._all_flow)

    def first(self) -> ViewRow[D] | None:
        """The first row, or None."""
        return self._run(self._first_flow)

    def docs(self) -> list[D]:
        """The rows' documents (``include_docs=True``), skipping rows without one."""
        return self._run(self._docs_flow)

    def scalar(self) -> Any:
        """The value of the only row (a reduce without grouping), or None for no rows."""
        return self._run(self._scalar_flow)

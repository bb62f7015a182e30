"""``QuerySet``: a lazy, immutable description of a query over one document class.

Each method returns a new QuerySet; nothing is sent until results are asked for. With
filters (or a sort, fields, an index) the query is a Mango ``_find`` paged with
bookmarks; a bare ``Order.objects`` reads ``_all_docs`` (no index needed) paged by id,
keeping the model's documents. Results are Document instances registered in the
session's identity map, so changing one and committing needs no second read.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, Literal, NoReturn, TypeVar, overload

import attrs

from cloudant_odm.client import BadRequestError, ConflictError, NotFoundError
from cloudant_odm.client.follower import FOREVER_MS
from cloudant_odm.client.overlap import read_ahead
from cloudant_odm.context import current_session
from cloudant_odm.errors import (
    BulkWriteError,
    DoesNotExist,
    MultipleObjectsReturned,
    SessionError,
    WriteFailure,
    document_error,
    naming_not_found,
)
from cloudant_odm.models import Document
from cloudant_odm.models.errors import DocumentTypeError
from cloudant_odm.query.errors import DocumentsNotFound, IndexRequiredError, QueryError
from cloudant_odm.query.expressions import (
    And,
    Expression,
    Field,
    Not,
    Q,
    SortKey,
    iter_conditions,
    merge_selectors,
    model_doc_types,
    type_selector,
)
from cloudant_odm.query.loading import (
    is_of,
    known,
    load,
    load_partials,
    unwritten,
    version_keys,
)
from cloudant_odm.query.paging import (
    DEFAULT_PAGE_SIZE,
    KeysetState,
    Page,
    decode_cursor,
    encode_cursor,
    fingerprint,
    keyset_pages,
)
from cloudant_odm.query.prefetch import Path, collect_refs, prefetch_path
from cloudant_odm.session import Session

if TYPE_CHECKING:
    from datetime import timedelta

    from cloudant_odm.changes import Checkpoint, DocumentChange
    from cloudant_odm.client import CloudantV1

__all__ = ["QuerySet"]

log = logging.getLogger("cloudant_odm.query")

D = TypeVar("D", bound=Document)

#: Documents per batch when update() and delete() read the matches back and write them.
_ID_BATCH = 200
#: Documents per request when only ids are read (count, update, delete).
_ID_PAGE = 1000
#: Ids per _all_docs request of get_many (a POST body, so no URL length limit).
_KEYS_PER_REQUEST = 1000


@attrs.frozen(eq=False, repr=False)
class _Find:
    """One raw Mango page."""

    docs: list[dict[str, Any]]
    bookmark: str | None
    stats: Mapping[str, Any] | None
    warning: str | None


#: A raw Mango page as _find_pages yields it: the page, the running count, whether
#: another page may follow, and the sort columns sent (for cursors).
_FindPage = tuple[_Find, int, bool, "tuple[str, ...] | None"]


@attrs.frozen(eq=False, repr=False)
class QuerySet(Generic[D]):
    """A query over ``model``'s documents. Build it with :meth:`filter`,
    :meth:`exclude`, :meth:`order_by`, :meth:`limit`, :meth:`fields`, ...; read it with
    iteration, :meth:`all`, :meth:`first`, :meth:`get`, :meth:`count`, :meth:`page`."""

    model: type[D]
    _session: Session | None = None
    _where: tuple[Expression, ...] = ()
    _sort: tuple[SortKey, ...] = ()
    _limit: int | None = None
    _fields: tuple[str, ...] | None = None
    _use_index: str | tuple[str, str] | None = None
    _execution_stats: bool = False
    _partition: str | None = None
    _page_size: int = DEFAULT_PAGE_SIZE
    # The sort as sent, when an index needs equality-filtered fields in front of the
    # sort fields (Mango paths); None: decided from the declared indexes.
    _sort_columns: tuple[str, ...] | None = None
    # Reference fields whose documents each page reads along (attribute paths).
    _prefetch: tuple[Path, ...] = ()

    def __repr__(self) -> str:
        where = f" partition={self._partition!r}" if self._partition is not None else ""
        return f"<QuerySet {self.model.__name__}{where} {self.selector()}>"

    # -- building -----------------------------------------------------------------

    def using(self, session: Session) -> QuerySet[D]:
        """Run with ``session`` instead of the current one."""
        if not isinstance(session, Session):
            raise TypeError(f"using() takes a Session, got {type(session).__name__}")
        return attrs.evolve(self, session=session)

    def filter(self, *expressions: Expression, **lookups: Any) -> QuerySet[D]:
        """Keep the documents matching every expression and keyword lookup:
        ``filter(Order.total > 10, status="new", shipping__city="Leeds")``."""
        return attrs.evolve(self, where=(*self._where, *self._bind(expressions, lookups)))

    def exclude(self, *expressions: Expression, **lookups: Any) -> QuerySet[D]:
        """Drop the documents matching all of the expressions and lookups together."""
        bound = self._bind(expressions, lookups)
        if not bound:
            return self
        matching = bound[0] if len(bound) == 1 else And(*bound)
        return attrs.evolve(self, where=(*self._where, Not(matching)))

    def _bind(
        self, expressions: Sequence[Expression], lookups: Mapping[str, Any]
    ) -> tuple[Expression, ...]:
        bound: list[Expression] = []
        for expression in expressions:
            if not isinstance(expression, Expression):
                raise TypeError(
                    f"filter() takes query expressions such as Order.total > 3, got "
                    f"{type(expression).__name__} {expression!r}"
                )
            resolved = expression.resolve(self.model)
            if resolved.relative:
                raise QueryError(
                    f"{resolved!r} is about a list element: use it inside elem_match()"
                )
            bound.append(resolved)
        if lookups:
            bound.append(Q(**lookups).resolve(self.model))
        return tuple(bound)

    def order_by(self, *keys: Field[Any] | SortKey | str) -> QuerySet[D]:
        """Sort by fields: ``order_by(-Order.created, Order.id)`` or
        ``order_by("-created")``. CouchDB sorts with an index covering the sort fields,
        in one direction; without one the query raises :class:`IndexRequiredError`."""
        sort: list[SortKey] = []
        for key in keys:
            if isinstance(key, str):
                descending = key.startswith("-")
                name = key.lstrip("-+")
                field = Field._root(self.model)
                for part in name.split("__"):
                    field = field[part]
                sort.append(SortKey(field, descending))
            elif isinstance(key, Field):
                sort.append(key.asc())
            elif isinstance(key, SortKey):
                sort.append(key)
            else:
                raise TypeError(f"order_by() takes fields or sort keys, got {key!r}")
        if len({k.descending for k in sort}) > 1:
            raise QueryError(
                "CouchDB sorts all fields in one direction: use all ascending or all "
                f"descending keys, got {sort}"
            )
        return attrs.evolve(self, sort=tuple(sort))

    def limit(self, count: int | None) -> QuerySet[D]:
        """Return at most ``count`` documents in all (None: no limit)."""
        if count is not None and (not isinstance(count, int) or count < 0):
            raise ValueError(f"limit() takes an int >= 0 or None, got {count!r}")
        return attrs.evolve(self, limit=count)

    def fields(self, *fields: Field[Any] | str) -> QuerySet[D]:
        """Load only these top-level fields. The objects are *partial*: the other fields
        hold a placeholder that refuses to be used, they are not tracked by the session,
        and ``session.add()`` refuses them (so a partial can't overwrite a document)."""
        names: list[str] = []
        members = self.model._options.keys
        for item in fields:
            if isinstance(item, Field):
                if len(item._names) != 1:
                    raise QueryError(f"fields() takes top-level fields, not {item!r}")
                name = item._names[0]
            elif isinstance(item, str):
                name = item
            else:
                raise TypeError(f"fields() takes fields or names, got {item!r}")
            if name not in members and name not in ("id", "rev"):
                raise QueryError(f"{self.model.__name__} has no field {name!r}")
            names.append(name)
        loaded = tuple(names) if names else None
        _check_prefetch_loaded(self._prefetch, loaded)
        return attrs.evolve(self, fields=loaded)

    def use_index(self, design_doc: str | Any, name: str | None = None) -> QuerySet[D]:
        """Ask Mango to use this index: a design document name, or the design document
        and the index name, or a declared index (anything with ``ddoc`` and ``name``)."""
        if not isinstance(design_doc, str):
            ddoc, index = getattr(design_doc, "ddoc", None), getattr(design_doc, "name", None)
            if not isinstance(ddoc, str) or not isinstance(index, str):
                raise TypeError(f"use_index() takes a design document name, got {design_doc!r}")
            design_doc, name = ddoc, index
        value: str | tuple[str, str] = design_doc if name is None else (design_doc, name)
        return attrs.evolve(self, use_index=value)

    def execution_stats(self, enabled: bool = True) -> QuerySet[D]:
        """Ask for Mango's execution statistics; each :class:`Page` carries them, and
        they are logged at debug level while iterating."""
        return attrs.evolve(self, execution_stats=enabled)

    def partition(self, key: str) -> QuerySet[D]:
        """Query one partition of a partitioned model (``/_partition/{key}/...``)."""
        if not self.model._options.partitioned:
            raise QueryError(f"{self.model.__name__} is not partitioned (Meta.partitioned)")
        if not isinstance(key, str) or not key or key.startswith("_") or ":" in key:
            raise ValueError(f"invalid partition key {key!r}")
        return attrs.evolve(self, partition=key)

    def page_size(self, size: int) -> QuerySet[D]:
        """Documents per request while iterating (default 200)."""
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"page_size() takes an int >= 1, got {size!r}")
        return attrs.evolve(self, page_size=size)

    def prefetch(self, *fields: Field[Any] | str) -> QuerySet[D]:
        """Read the documents these reference fields name along with each page of
        results: ``prefetch(Order.customer)``, ``prefetch("lines__product")`` (through
        the elements of a list). After each page, the ids the session doesn't hold yet
        are read with one ``_all_docs`` request per class referred to, so resolving the
        references (``order.customer.get(session)``) makes no request; missing ones
        then raise ``DanglingReference`` without one. The documents go into the session
        (also with ``track=False``)."""
        paths = [prefetch_path(self.model, item) for item in fields]
        prefetched = tuple(dict.fromkeys([*self._prefetch, *paths]))
        _check_prefetch_loaded(prefetched, self._fields)
        return attrs.evolve(self, prefetch=prefetched)

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
    ) -> Iterator[DocumentChange[D]]:
        """Follow the changes of the documents this query matches (typed ``DocumentChange``
        events, filtered on the server); see :func:`cloudant_odm.changes.follow`. Sort,
        limit and fields don't apply to a feed."""
        from cloudant_odm.changes import follow

        if self._sort or self._limit is not None or self._fields is not None:
            raise QueryError("changes() follows a filter only: drop order_by, limit, fields")
        filters = [e.to_selector() for e in self._where]
        return follow(
            self.session,
            [self.model],
            since=since,
            include_docs=include_docs,
            selector=merge_selectors(filters) if filters else None,
            one_off=one_off,
            checkpoint=checkpoint,
            error_tolerance=error_tolerance,
            limit=limit,
        )

    # -- what is sent ---------------------------------------------------------------

    @property
    def session(self) -> Session:
        """The session the query runs in: ``using(...)``'s, else the current one."""
        return self._session if self._session is not None else current_session()

    def selector(self) -> dict[str, Any]:
        """The Mango selector: the type field, the filters and, for a sort, conditions
        that the sort fields exist (an index serves a sort only for fields the selector
        mentions; the fields a class declares are always stored)."""
        parts = [type_selector(self.model), *(e.to_selector() for e in self._where)]
        if self._sort:
            mentioned = self._mentioned_paths()
            for path in self._sort_paths():
                if path not in mentioned:
                    parts.append({path: {"$exists": True}})
        return merge_selectors(parts)

    def _mentioned_paths(self) -> set[str]:
        paths = {c.field._mango_path for e in self._where for c in iter_conditions(e)}
        paths.add(self.model._options.type_field)
        return paths

    def _equality_paths(self) -> set[str]:
        """Fields the selector fixes to one value: sorting on them changes nothing."""
        paths = {
            c.field._mango_path
            for e in self._where
            for c in iter_conditions(e)
            if c.operator == "$eq"
        }
        if len(model_doc_types(self.model)) == 1:
            paths.add(self.model._options.type_field)
        return paths

    def _sort_paths(self) -> list[str]:
        """The sort as sent. CouchDB's index selection (and PouchDB's) wants the sort to
        list an index's fields; an index whose leading fields are fixed by equality
        filters gives the same order, so those go in front of the user's sort fields."""
        if self._sort_columns is not None:
            return list(self._sort_columns)
        wanted = [k.field._mango_path for k in self._sort]
        if self._use_index is None and wanted:
            declared = _declared_indexes(self.model)
            if declared:
                return self._serving_columns(declared) or wanted
        return wanted

    def _serving_columns(self, indexes: Sequence[tuple[str, list[str]]]) -> list[str] | None:
        """The fields of an index that serves the sort: they end with the sort fields
        and the ones before are fixed by equality filters."""
        wanted = [k.field._mango_path for k in self._sort]
        fixed = self._equality_paths()
        count = len(wanted)
        for _, columns in indexes:
            head, tail = columns[: len(columns) - count], columns[len(columns) - count :]
            if tail == wanted and fixed.issuperset(head):
                return list(columns)
        return None

    def _mango_fields(self) -> list[str] | None:
        if self._fields is None:
            return None
        options = self.model._options
        keys = options.keys
        wanted = [keys.get(n, "_" + n if n in ("id", "rev") else n) for n in self._fields]
        # Versioned classes: the version tells which documents must be read whole to be
        # upgraded (loading.load_partials).
        versions = version_keys(self.model)
        return list(dict.fromkeys(["_id", "_rev", options.type_field, *versions, *wanted]))

    def _find_body(self, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The _find request body (without limit and bookmark); ``overrides`` replace
        members, and a None value drops one."""
        body: dict[str, Any] = {"selector": self.selector()}
        fields = self._mango_fields()
        if fields is not None:
            body["fields"] = fields
        if self._sort:
            direction = "desc" if self._sort[0].descending else "asc"
            body["sort"] = [{path: direction} for path in self._sort_paths()]
        if self._use_index is not None:
            body["use_index"] = (
                self._use_index if isinstance(self._use_index, str) else list(self._use_index)
            )
        if self._execution_stats:
            body["execution_stats"] = True
        for key, value in (overrides or {}).items():
            if value is None:
                body.pop(key, None)
            else:
                body[key] = value
        return body

    @property
    def _bare(self) -> bool:
        """No filter, sort, projection or index: read _all_docs instead of _find."""
        return (
            not self._where
            and not self._sort
            and self._fields is None
            and self._use_index is None
            and not self._execution_stats
        )

    def _fingerprint(self, db: str) -> str:
        """What defines the query as the user wrote it (not the sort as sent, which
        depends on the indexes), so a cursor stays valid while indexes change."""
        definition = {
            "m": "all_docs" if self._bare else "find",
            "db": db,
            "p": self._partition,
            "types": type_selector(self.model),
            "where": [e.to_selector() for e in self._where],
            "sort": [k.to_json() for k in self._sort],
            "fields": self._fields,
            "index": self._use_index,
            "limit": self._limit,
        }
        return fingerprint(definition)

    # -- requests -----------------------------------------------------------------

    def _client_db(self) -> tuple[Session, CloudantV1, str]:
        session = self.session
        return session, session.client, session.db_for(self.model)

    def _find(
        self, client: CloudantV1, db: str, body: Mapping[str, Any], limit: int, bookmark: str | None
    ) -> _Find:
        request = dict(body)
        request["limit"] = limit  # always: PouchDB returns every match without one
        if bookmark is not None:
            request["bookmark"] = bookmark
        try:
            with naming_not_found(db):
                if self._partition is not None:
                    result = client.post_partition_find(db, self._partition, **request)
                else:
                    result = client.post_find(db, **request)
            result = result.get_result()
        except BadRequestError as exc:
            if "sort" in request and _is_sort_error(exc):
                raise _SortError(exc) from exc
            raise
        warning = result.get("warning")
        if warning:
            log.info("%s query: %s", self.model.__name__, warning)
        stats = result.get("execution_stats")
        if stats is not None:
            log.debug("%s query execution stats: %s", self.model.__name__, stats)
        return _Find(result.get("docs", []), result.get("bookmark"), stats, warning)

    def _find_pages(
        self,
        client: CloudantV1,
        db: str,
        *,
        page_size: int,
        overrides: Mapping[str, Any] | None = None,
        bookmark: str | None = None,
        returned: int = 0,
    ) -> Generator[_FindPage, None, None]:
        """Raw pages following bookmarks (see ``_FindPage``)."""
        body = self._find_body(overrides)
        columns = tuple(self._sort_paths()) if self._sort else None
        first = True
        while True:
            want = page_size if self._limit is None else min(page_size, self._limit - returned)
            if want <= 0:
                return
            try:
                page = self._find(client, db, body, want, bookmark)
            except _SortError as error:
                # The server's own indexes may serve it with a longer sort: look once.
                found = None
                if first and self._sort_columns is None:
                    found = self._serving_columns(_server_indexes(client, db))
                if found is None or tuple(found) == columns:
                    raise self._index_advice(client, db, error.exc) from error.exc
                wider = attrs.evolve(self, sort_columns=tuple(found))
                yield from wider._find_pages(
                    client,
                    db,
                    page_size=page_size,
                    overrides=overrides,
                    bookmark=bookmark,
                    returned=returned,
                )
                return
            first = False
            returned += len(page.docs)
            more = (
                len(page.docs) == want
                and bool(page.bookmark)
                and (self._limit is None or returned < self._limit)
            )
            yield page, returned, more, columns
            if not more:
                return
            bookmark = page.bookmark

    def _find_from(
        self,
        client: CloudantV1,
        db: str,
        size: int,
        bookmark: str | None,
        returned: int,
        columns: Sequence[str] | None,
    ) -> Generator[_FindPage, None, None]:
        """Raw pages from ``bookmark`` (``returned`` documents before it), sending the
        sort ``columns`` that a cursor or the page before recorded."""
        me = attrs.evolve(self, sort_columns=tuple(columns)) if columns else self
        return me._find_pages(client, db, page_size=size, bookmark=bookmark, returned=returned)

    def _all_docs_rows(
        self, client: CloudantV1, db: str, state: KeysetState, page_size: int
    ) -> Generator[tuple[list[dict[str, Any]], KeysetState], None, None]:
        """_all_docs pages (with documents), paged by id, each with a copy of the state
        after it."""

        def fetch(request: dict[str, Any]) -> list[dict[str, Any]]:
            with naming_not_found(db):
                if self._partition is not None:
                    result = client.post_partition_all_docs(db, self._partition, **request)
                else:
                    result = client.post_all_docs(db, **request)
            rows: list[dict[str, Any]] = result.get_result()["rows"]
            return rows

        params = {"include_docs": True}
        for rows in keyset_pages(
            fetch, params, state, page_size=page_size, limit=None, by_doc_id=False
        ):
            # With the state after these rows, as it was then: read ahead, the next
            # request moves ``state`` on while these rows are still being used.
            yield rows, attrs.evolve(state)

    def _load_page(
        self, session: Session, db: str, docs: Sequence[Mapping[str, Any]], track: bool
    ) -> list[D]:
        if self._fields is not None:
            items = load_partials(self.model, session, db, docs, self._fields)
        else:
            items = [load(self.model, session, db, d, track) for d in docs]
        self._read_refs(session, items)
        return items

    def _read_refs(self, session: Session, items: Sequence[D]) -> None:
        """The prefetch: the documents ``items`` refer to at the prefetched fields."""
        if not self._prefetch or not items:
            return
        session.prefetch(collect_refs(items, self._prefetch))

    # -- reading --------------------------------------------------------------------

    def pages(
        self, page_size: int | None = None, *, track: bool = True
    ) -> Generator[Page[D], None, None]:
        """The results page by page (each one request), with each page's cursor.

        While a page is being used, the next one is already asked for, in a thread of
        its own (one page ahead at most; an error reading it is raised where it would
        be read, and stopping early waits for that request and drops its page).

        ``track=False`` returns detached objects instead of registering them in the
        session, so memory stays flat however many documents match."""
        yield from self._pages(page_size or self._page_size, None, track, ahead=True)

    def _pages(
        self, size: int, cursor: str | None, track: bool, *, ahead: bool = False
    ) -> Iterator[Page[D]]:
        """Pages from ``cursor``; ``ahead``: each next request is sent while the current
        page's objects are built and used (:func:`read_ahead`), for reading on and on,
        not for one page."""
        session, client, db = self._client_db()
        query = self._fingerprint(db)
        if self._bare:
            yield from self._all_docs_pages(session, client, db, query, size, cursor, track, ahead)
            return
        bookmark: str | None = None
        returned = 0
        sort_sent: Sequence[str] | None = None
        if cursor is not None:
            saved = decode_cursor(cursor, "find", query)
            bookmark, returned, sort_sent = saved.get("b"), int(saved.get("n", 0)), saved.get("c")
        found = self._find_from(client, db, size, bookmark, returned, sort_sent)

        def resume(after: _FindPage) -> Iterator[_FindPage]:
            page, count, more, sent = after
            return (
                self._find_from(client, db, size, page.bookmark, count, sent) if more else iter(())
            )

        if ahead:
            found = read_ahead(found, resume=resume, version=lambda: session.write_count)
        with contextlib.closing(found) as fetched:
            for raw, count, more, columns in fetched:
                state = {"b": raw.bookmark, "n": count, "c": columns}
                nxt = encode_cursor("find", query, state) if more else None
                items = self._load_page(session, db, raw.docs, track)
                yield Page(items, nxt, raw.stats, raw.warning)

    def _all_docs_pages(
        self,
        session: Session,
        client: CloudantV1,
        db: str,
        query: str,
        size: int,
        cursor: str | None,
        track: bool,
        ahead: bool,
    ) -> Iterator[Page[D]]:
        # _all_docs holds every class's documents (and design documents): rows of others
        # are dropped, and requests go on until a page of this model's is full. A page
        # that ends inside a request's rows resumes at the id of the first one left.
        state = KeysetState()
        kept = 0
        if cursor is not None:
            saved = decode_cursor(cursor, "all_docs", query)
            state = KeysetState.from_json(saved)
            kept = int(saved.get("kept", 0))
        doc_types = model_doc_types(self.model)
        pending: list[dict[str, Any]] = []
        found = self._all_docs_rows(client, db, state, size)
        if ahead:
            found = read_ahead(
                found,
                resume=lambda after: self._all_docs_rows(client, db, attrs.evolve(after[1]), size),
                version=lambda: session.write_count,
            )
        with contextlib.closing(found) as fetched:
            for rows, after in fetched:
                pending.extend(
                    r["doc"]
                    for r in rows
                    if r.get("doc") and is_of(self.model, r["doc"], doc_types)
                )
                if self._limit is not None:
                    del pending[self._limit - kept :]
                while len(pending) >= size or (
                    self._limit is not None and pending and kept + len(pending) >= self._limit
                ):
                    items, pending = pending[:size], pending[size:]
                    kept += len(items)
                    finished = self._limit is not None and kept >= self._limit
                    if finished or (not pending and after.done):
                        nxt = None
                    else:
                        resume = KeysetState(start_key=pending[0]["_id"]) if pending else after
                        state_json = {**resume.to_json(), "kept": kept}
                        nxt = encode_cursor("all_docs", query, state_json)
                    yield Page(self._load_page(session, db, items, track), nxt)
                    if finished:
                        return
        if pending:
            yield Page(self._load_page(session, db, pending, track), None)

    def page(self, size: int, cursor: str | None = None, *, track: bool = True) -> Page[D]:
        """One page of at most ``size`` documents, starting at ``cursor`` (from a previous
        page's ``next_cursor``; None for the first page). For web pagination."""
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"page() takes a size >= 1, got {size!r}")
        for found in self._pages(size, cursor, track):
            return found
        return Page([], None)

    def iterator(self, page_size: int | None = None, *, track: bool = True) -> Iterator[D]:
        """The matching documents, fetched a page at a time as the loop advances (the
        next page is asked for while the loop goes through one: see :meth:`pages`)."""
        with contextlib.closing(self.pages(page_size, track=track)) as pages:
            for found in pages:
                yield from found.items

    def __iter__(self) -> Iterator[D]:
        return self.iterator()

    def __bool__(self) -> NoReturn:
        raise TypeError("a QuerySet is not a bool: use .exists() (or .first() is not None)")

    def all(self) -> list[D]:
        """Every matching document, as a list."""
        return list(self)

    def first(self) -> D | None:
        """The first matching document (in the query's order), or None."""
        limit = 1 if self._limit is None else min(1, self._limit)
        # _all_docs holds other classes' documents too: read it in full-size requests.
        size = self._page_size if self._bare else 1
        # One page, not read ahead: the first document ends it.
        for page in attrs.evolve(self, limit=limit)._pages(size, None, True):
            for found in page.items:
                return found
        return None

    def get(self, *args: str | Expression, **lookups: Any) -> D:
        """Exactly one document: ``get(doc_id)``, or ``get(Order.ref == "x")`` /
        ``get(ref="x")``. Raises :class:`DoesNotExist` or
        :class:`MultipleObjectsReturned`."""
        ids = [a for a in args if isinstance(a, str)]
        expressions = [a for a in args if not isinstance(a, str)]
        if len(ids) > 1:
            raise TypeError("get() takes one document id")
        if ids and not expressions and not lookups and not self._where and self._bare:
            return self._get_by_id(ids[0])
        query = self.filter(*expressions, **lookups)
        if ids:
            query = query.filter(Field._root(self.model)["id"] == ids[0])
        found = query.limit(2).page(2).items
        if not found:
            raise DoesNotExist(f"no {self.model.__name__} matches {query.selector()}")
        if len(found) > 1:
            raise MultipleObjectsReturned(
                f"more than one {self.model.__name__} matches {query.selector()}"
            )
        return found[0]

    def _get_by_id(self, doc_id: str) -> D:
        session = self.session
        if self._partition is not None and not doc_id.startswith(f"{self._partition}:"):
            raise DoesNotExist(f"{doc_id!r} is not in partition {self._partition!r}")
        try:
            found = session.get(self.model, doc_id)
        except (DocumentTypeError, SessionError):
            # Another class's document (or another class's object in the identity map).
            raise DoesNotExist(f"{doc_id!r} is not a {self.model.__name__}") from None
        if found is None:
            raise DoesNotExist(f"no {self.model.__name__} with id {doc_id!r}")
        self._read_refs(session, [found])
        return found

    @overload
    def get_many(
        self, ids: Sequence[str], *, missing: Literal["raise", "skip"] = ...
    ) -> list[D]: ...
    @overload
    def get_many(self, ids: Sequence[str], *, missing: Literal["none"]) -> list[D | None]: ...
    def get_many(
        self, ids: Sequence[str], *, missing: Literal["raise", "skip", "none"] = "raise"
    ) -> list[D] | list[D | None]:
        """The documents with these ids, in the order given, read in one ``_all_docs``
        request (ids the session already holds are not asked for).

        An id with no document of this model (none at all, deleted, or of another class)
        raises :class:`DocumentsNotFound` listing every such id; ``missing="skip"`` leaves
        them out and ``missing="none"`` puts None in their place.
        """
        if isinstance(ids, str):
            raise TypeError("get_many() takes a list of ids, not one id")
        if missing not in ("raise", "skip", "none"):
            raise ValueError(f"missing must be 'raise', 'skip' or 'none', got {missing!r}")
        session, client, db = self._client_db()
        doc_types = model_doc_types(self.model)
        found: dict[str, D] = {}
        wanted: list[str] = []
        for doc_id in dict.fromkeys(ids):
            if self._partition is not None and not doc_id.startswith(f"{self._partition}:"):
                continue  # not in this partition: missing
            obj = known(session, db, doc_id)
            if obj is None:
                wanted.append(doc_id)
            elif isinstance(obj, self.model):
                found[doc_id] = obj
        for start in range(0, len(wanted), _KEYS_PER_REQUEST):
            keys = wanted[start : start + _KEYS_PER_REQUEST]
            with naming_not_found(db):
                response = client.post_all_docs(db, keys=keys, include_docs=True)
            rows = response.get_result()["rows"]
            for row in rows:
                doc = row.get("doc")
                if doc and "error" not in row and is_of(self.model, doc, doc_types):
                    found[doc["_id"]] = load(self.model, session, db, doc, True)
        self._read_refs(session, list(found.values()))
        absent = [i for i in dict.fromkeys(ids) if i not in found]
        if missing == "raise":
            if absent:
                raise DocumentsNotFound(self.model.__name__, absent)
            return [found[i] for i in ids]
        if missing == "skip":
            return [found[i] for i in ids if i in found]
        return [found.get(i) for i in ids]

    def count(self) -> int:
        """How many documents match. Mango has no count: this reads the matching ids
        (only ids, 1000 per request). For large counts, declare a view with the
        ``_count`` reduce and query it with ``reduce=True``."""
        _, client, db = self._client_db()
        unsorted = attrs.evolve(self, sort=(), sort_columns=None)  # the order can't matter
        overrides = {"fields": ["_id"], "execution_stats": None}
        total = 0
        for page, *_ in unsorted._find_pages(client, db, page_size=_ID_PAGE, overrides=overrides):
            total += len(page.docs)
        return total

    def exists(self) -> bool:
        """True if at least one document matches (one request, for one id)."""
        _, client, db = self._client_db()
        unsorted = attrs.evolve(self, sort=(), sort_columns=None)
        body = unsorted._find_body({"fields": ["_id"], "execution_stats": None})
        return bool(unsorted._find(client, db, body, 1, None).docs)

    def explain(self) -> dict[str, Any]:
        """The server's ``_explain`` of the first page's request: which index it uses
        (``result["index"]``), the selector and options as it reads them."""
        _, client, db = self._client_db()
        body = self._find_body()
        body["limit"] = (
            self._page_size if self._limit is None else min(self._limit, self._page_size)
        )
        with naming_not_found(db):
            if self._partition is not None:
                result = client.post_partition_explain(db, self._partition, **body).get_result()
            else:
                result = client.post_explain(db, **body).get_result()
        explained: dict[str, Any] = result
        return explained

    # -- writing ------------------------------------------------------------------

    def update(
        self,
        change: Callable[[D], object] | None = None,
        /,
        *,
        max_retries: int = 10,
        **values: Any,
    ) -> int:
        """Set ``values`` (and/or apply ``change(doc)``) on every matching document and
        write them, a batch at a time, through the session. A document that conflicts
        (changed since it was read) is read again and, if it still matches, changed and
        written again. Returns how many matching documents now hold the change (one that
        already held it counts, without a write).

        Raises :class:`BulkWriteError` for documents that could not be written for
        another reason (``validate_doc_update`` refused, ...), after doing the rest.
        """
        names = self.model._options.keys
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise QueryError(f"{self.model.__name__} has no field(s) {', '.join(unknown)}")
        if change is None and not values:
            raise TypeError("update() needs field values or a change function")

        def apply(doc: D) -> None:
            for name, value in values.items():
                setattr(doc, name, value)
            if change is not None:
                change(doc)

        return self._rewrite(apply, delete=False, max_retries=max_retries)

    def delete(self, *, max_retries: int = 10) -> int:
        """Delete every matching document (``_bulk_docs``, a batch at a time); returns
        how many were deleted."""

        def noop(_: D) -> None:
            return None

        return self._rewrite(noop, delete=True, max_retries=max_retries)

    def _rewrite(self, apply: Callable[[D], object], *, delete: bool, max_retries: int) -> int:
        # The ids are read first, then the documents a batch at a time: on servers whose
        # bookmarks are positions (PouchDB), writing while paging would shift the pages.
        session, client, db = self._client_db()
        # The sort matters only with a limit (which documents); without one, drop it.
        ordered = self if self._limit is not None else attrs.evolve(self, sort=())
        overrides = {"fields": ["_id"], "execution_stats": None}
        ids = [
            d["_id"]
            for page, *_ in ordered._find_pages(client, db, page_size=_ID_PAGE, overrides=overrides)
            for d in page.docs
        ]
        pending = unwritten(session, db, ids)
        if pending:
            # Writing them would push those changes out with the bulk write, and a
            # conflict retry would refresh them away: refuse before writing anything.
            shown = ", ".join(repr(i) for i in pending[:5])
            raise SessionError(
                f"{len(pending)} matching document(s) have unwritten changes in this session "
                f"({shown}): commit or roll back before a bulk update() or delete()"
            )
        plain = attrs.evolve(
            self, fields=None, sort=(), sort_columns=None, execution_stats=False, limit=None
        )
        written = 0
        failures: list[WriteFailure] = []
        for start in range(0, len(ids), _ID_BATCH):
            batch = ids[start : start + _ID_BATCH]
            written += plain._rewrite_batch(
                session, client, db, batch, apply, delete, max_retries, failures
            )
        if failures:
            raise BulkWriteError(failures, written)
        return written

    def _rewrite_batch(
        self,
        session: Session,
        client: CloudantV1,
        db: str,
        batch: list[str],
        apply: Callable[[D], object],
        delete: bool,
        max_retries: int,
        failures: list[WriteFailure],
    ) -> int:
        selector = merge_selectors([self.selector(), {"_id": {"$in": batch}}])
        body = {**self._find_body(), "selector": selector}
        docs = self._find(client, db, body, len(batch), None).docs
        held = {i for i in batch if known(session, db, i) is not None}
        objs = [load(self.model, session, db, d, True) for d in docs]
        # Counted: the documents that now hold the change (one that already held the
        # values is not written, and is counted all the same, as a matched row).
        done = len(objs)
        try:
            for obj in objs:
                if delete:
                    session.delete(obj)
                else:
                    apply(obj)
            session.flush(objs)
        except BulkWriteError as exc:
            for failure in exc.failures:
                done -= 1
                failed = failure.document
                if not isinstance(failure.error, ConflictError) or not isinstance(
                    failed, self.model
                ):
                    failures.append(failure)
                    continue
                obj = failed
                try:
                    retried = self._retry(session, client, db, obj, apply, delete, max_retries)
                except ConflictError as error:
                    failures.append(WriteFailure(obj, error))
                    continue
                if retried:
                    done += 1
                elif obj.id in held:
                    _restore(session, obj)
        except BaseException:
            # The change raised, or was refused (a value that can't be stored): nothing
            # was written, and no object keeps a part of it.
            for obj in objs:
                if obj in session:
                    session.add(obj)  # unmarks a deletion
                    session.revert(obj)
                    if obj.id not in held:
                        session.expunge(obj)
            raise
        # Objects read only for this batch are let go, keeping memory flat; the ones the
        # session held before stay (written, or with the failure's changes pending).
        for obj in objs:
            if obj.id not in held and obj in session:
                session.expunge(obj)
        return done

    def _retry(
        self,
        session: Session,
        client: CloudantV1,
        db: str,
        obj: D,
        apply: Callable[[D], object],
        delete: bool,
        max_retries: int,
    ) -> bool:
        """Read a conflicted document again and, if it still matches, change and write
        it; False if it no longer matches (or is gone)."""
        assert obj.id is not None
        for _ in range(max_retries):
            selector = merge_selectors([self.selector(), {"_id": obj.id}])
            body = {**self._find_body(), "selector": selector, "fields": ["_id"]}
            if not self._find(client, db, body, 1, None).docs:
                return False
            try:
                session.refresh(obj)
            except NotFoundError:
                return False
            if delete:
                session.delete(obj)
            else:
                apply(obj)
            try:
                session.flush_one(obj)
            except ConflictError:
                log.debug("%s %r conflicted again; retrying", self.model.__name__, obj.id)
                continue
            return True
        raise document_error(
            obj.id, obj.rev, "conflict", f"still conflicting after {max_retries} retries"
        )

    # -- index advice -----------------------------------------------------------------

    def _index_advice(
        self, client: CloudantV1, db: str, exc: BadRequestError
    ) -> IndexRequiredError:
        # Named as Index(...) declarations take them: attribute names, then JSON keys.
        equal = [
            _declared_name(c.field)
            for e in self._where
            for c in iter_conditions(e)
            if c.operator == "$eq"
        ]
        sort = [_declared_name(k.field) for k in self._sort]
        fields = list(dict.fromkeys([*equal, *sort]))
        args = ", ".join(repr(f) for f in fields)
        declared = _declared_indexes(self.model)
        if declared is None:
            declared = _server_indexes(client, db)
        found = ""
        if declared:
            shown = "; ".join(f"{name} ({', '.join(cols)})" for name, cols in declared)
            found = f" Indexes found: {shown}."
        direction = "desc" if self._sort[0].descending else "asc"
        attribute = "_".join(f.replace(".", "_") for f in fields)
        message = (
            f"{self.model.__name__}: no index can serve the sort by {', '.join(sort)} "
            f"({direction}). Declare one on the class, e.g. `{attribute}_idx = Index({args})` "
            "(equality-filtered fields first, then the sort fields), deploy it "
            f"(cloudant_odm.design.sync), or name one with use_index().{found} "
            f"Server said: {exc.reason or exc.message}"
        )
        return IndexRequiredError(message, fields)


def _check_prefetch_loaded(prefetch: Sequence[Sequence[str]], fields: Sequence[str] | None) -> None:
    """Refuse, when the query set is built, a prefetch through a field fields() leaves
    out: its references would never be read."""
    if fields is None:
        return
    unloaded = [path[0] for path in prefetch if path[0] not in fields]
    if unloaded:
        raise QueryError(f"prefetch() follows {', '.join(unloaded)}, which fields() does not load")


def _declared_name(field: Field[Any]) -> str:
    """``shipping.city`` for Order.shipping.city: the attribute, then JSON keys."""
    if not field._names:
        return field._mango_path
    return ".".join([field._names[0], *field._keys[1:]])


class _SortError(Exception):
    """The server refused a sort for want of an index (inside the query set only)."""

    def __init__(self, exc: BadRequestError) -> None:
        super().__init__(str(exc))
        self.exc = exc


def _restore(session: Session, obj: Document) -> None:
    """A session's own object that no longer matches: back to the server's version."""
    try:
        session.refresh(obj)
    except NotFoundError:
        session.expunge(obj)


def _is_sort_error(exc: BadRequestError) -> bool:
    text = f"{exc.error} {exc.reason} {exc.message}".lower()
    return "sort" in text or "no_usable_index" in text


def _declared_indexes(model: type[Document]) -> list[tuple[str, list[str]]] | None:
    """Mango JSON indexes declared on the model's classes, as (name, Mango paths), or
    None if there are none. Duck-typed (``cloudant_odm.design.Index``): attributes with
    ``fields`` and ``kind == "json"``; ``json_fields()`` gives the paths when present."""
    found: list[tuple[str, list[str]]] = []
    for cls in model.__mro__:
        for name, value in list(vars(cls).items()):
            if getattr(value, "kind", None) != "json" or not hasattr(value, "fields"):
                continue
            specs: Any = getattr(value, "fields", ())
            paths = getattr(value, "json_fields", None)
            if callable(paths):
                with contextlib.suppress(Exception):  # a broken declaration: its own error
                    specs = paths()
            columns = [f if isinstance(f, str) else str(next(iter(f), "?")) for f in specs]
            found.append((str(getattr(value, "name", None) or name), columns))
    return found or None


def _server_indexes(client: CloudantV1, db: str) -> list[tuple[str, list[str]]]:
    try:
        result = client.get_indexes_information(db).get_result()
    except Exception:  # only advice: never hide the real error behind this one
        return []
    out: list[tuple[str, list[str]]] = []
    for index in result.get("indexes", []):
        if index.get("type") != "json":
            continue
        cols = [
            next(iter(f)) for f in index.get("def", {}).get("fields", []) if isinstance(f, dict)
        ]
        out.append((str(index.get("name")), cols))
    return out

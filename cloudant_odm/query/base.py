"""``BaseQuerySet``: a query over one document class, built once for both drivers.

The building (``filter``, ``order_by``, ``fields``, ...), the compilation to Mango
(``selector``, the ``_find`` body, the sort as sent), the paging state (bookmarks for
``_find``, start keys for ``_all_docs``, cursors) and the work of every terminal
operation are here. The work is written as flows (``client/flows.py``): generators
that name the client calls they need and decide what the answers mean (a sort refused
for want of an index, partial loads of older documents, the prefetch, conflict retries
of ``update`` and ``delete``). :class:`~cloudant_odm.query.queryset.QuerySet` runs them
with ``CloudantV1``, ``cloudant_odm.aio.AsyncQuerySet`` awaits them with
``AsyncCloudantV1``; neither decides anything of its own.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, Literal, NoReturn, Protocol, TypeVar, overload

import attrs

from cloudant_odm.client import BadRequestError, ConflictError, NotFoundError
from cloudant_odm.client.flows import Flow, Send
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
from cloudant_odm.query.drivers import drivers_for
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
    load_all,
    load_partials_flow,
    of_model,
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
    keyset_page,
)
from cloudant_odm.query.prefetch import Path, collect_refs, prefetch_path
from cloudant_odm.session import _RAISE, BaseSession, _called_back, _check_field_values

if TYPE_CHECKING:
    from typing_extensions import Self

    from cloudant_odm.aio.queries import AsyncQuerySet
    from cloudant_odm.aio.session import AsyncSession
    from cloudant_odm.query.queryset import QuerySet
    from cloudant_odm.session import Session

__all__ = ["BaseQuerySet"]

log = logging.getLogger("cloudant_odm.query")

D = TypeVar("D", bound=Document)

#: Documents per batch when update() and delete() read the matches back and write them.
_ID_BATCH = 200
#: Documents per request when only ids are read (count, update, delete).
_ID_PAGE = 1000
#: Ids per _all_docs request of get_many (a POST body, so no URL length limit).
_KEYS_PER_REQUEST = 1000
#: What a _find body gets to read only the ids.
_IDS_ONLY: Mapping[str, Any] = {"fields": ["_id"], "execution_stats": None}


@attrs.frozen(eq=False, repr=False)
class _Find:
    """One raw Mango page."""

    docs: list[dict[str, Any]]
    bookmark: str | None
    stats: Mapping[str, Any] | None
    warning: str | None


@attrs.frozen(eq=False, repr=False)
class RawPage:
    """A page of JSON documents as read, with the cursor of the next page (None after
    the last); :meth:`page` makes it a :class:`Page` of the objects made from them."""

    docs: Sequence[dict[str, Any]]
    next_cursor: str | None
    stats: Mapping[str, Any] | None = None
    warning: str | None = None

    def page(self, items: list[D]) -> Page[D]:
        return Page(items, self.next_cursor, self.stats, self.warning)


@attrs.frozen(eq=False, repr=False)
class BaseQuerySet(Generic[D]):
    """A query over ``model``'s documents: what :class:`QuerySet` and ``AsyncQuerySet``
    share. Build it with :meth:`filter`, :meth:`exclude`, :meth:`order_by`,
    :meth:`limit`, :meth:`fields`, ...; each returns a new query set of the same class."""

    model: type[D]
    _session: BaseSession[Any] | None = None
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
        return f"<{type(self).__name__} {self.model.__name__}{where} {self.selector()}>"

    def __bool__(self) -> NoReturn:
        raise TypeError(
            f"a {type(self).__name__} is not a bool: use .exists() (or .first() is not None)"
        )

    @overload
    def using(self, session: Session) -> QuerySet[D]: ...
    @overload
    def using(self, session: AsyncSession) -> AsyncQuerySet[D]: ...
    def using(self, session: BaseSession[Any]) -> BaseQuerySet[D]:
        """Run with ``session`` instead of the current one. A ``Session`` gives a
        :class:`QuerySet`, a ``cloudant_odm.aio.AsyncSession`` an ``AsyncQuerySet``
        (whose reads are awaited), with the same query."""
        return self._rebind(session)

    def _rebind(self, session: BaseSession[Any]) -> BaseQuerySet[D]:
        if not isinstance(session, BaseSession):
            raise TypeError(
                f"using() takes a Session or an AsyncSession, got {type(session).__name__}"
            )
        cls = drivers_for(session).query_set
        if cls is type(self):
            return attrs.evolve(self, session=session)
        values = {a.alias: getattr(self, a.name) for a in attrs.fields(type(self))}
        values["session"] = session
        return cls(**values)

    # -- building -----------------------------------------------------------------

    def filter(self, *expressions: Expression, **lookups: Any) -> Self:
        """Keep the documents matching every expression and keyword lookup:
        ``filter(Order.total > 10, status="new", shipping__city="Leeds")``."""
        return attrs.evolve(self, where=(*self._where, *self._bind(expressions, lookups)))

    def exclude(self, *expressions: Expression, **lookups: Any) -> Self:
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

    def order_by(self, *keys: Field[Any] | SortKey | str) -> Self:
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

    def limit(self, count: int | None) -> Self:
        """Return at most ``count`` documents in all (None: no limit)."""
        if count is not None and (not isinstance(count, int) or count < 0):
            raise ValueError(f"limit() takes an int >= 0 or None, got {count!r}")
        return attrs.evolve(self, limit=count)

    def fields(self, *fields: Field[Any] | str) -> Self:
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

    def use_index(self, design_doc: str | Any, name: str | None = None) -> Self:
        """Ask Mango to use this index: a design document name, or the design document
        and the index name, or a declared index (anything with ``ddoc`` and ``name``)."""
        if not isinstance(design_doc, str):
            ddoc, index = getattr(design_doc, "ddoc", None), getattr(design_doc, "name", None)
            if not isinstance(ddoc, str) or not isinstance(index, str):
                raise TypeError(f"use_index() takes a design document name, got {design_doc!r}")
            design_doc, name = ddoc, index
        value: str | tuple[str, str] = design_doc if name is None else (design_doc, name)
        return attrs.evolve(self, use_index=value)

    def execution_stats(self, enabled: bool = True) -> Self:
        """Ask for Mango's execution statistics; each :class:`Page` carries them, and
        they are logged at debug level while iterating."""
        return attrs.evolve(self, execution_stats=enabled)

    def partition(self, key: str) -> Self:
        """Query one partition of a partitioned model (``/_partition/{key}/...``)."""
        if not self.model._options.partitioned:
            raise QueryError(f"{self.model.__name__} is not partitioned (Meta.partitioned)")
        if not isinstance(key, str) or not key or key.startswith("_") or ":" in key:
            raise ValueError(f"invalid partition key {key!r}")
        return attrs.evolve(self, partition=key)

    def page_size(self, size: int) -> Self:
        """Documents per request while iterating (default 200)."""
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"page_size() takes an int >= 1, got {size!r}")
        return attrs.evolve(self, page_size=size)

    def prefetch(self, *fields: Field[Any] | str) -> Self:
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

    def _changes_selector(self) -> dict[str, Any] | None:
        """The server-side filter of ``changes()``: the query's filters, or None."""
        if self._sort or self._limit is not None or self._fields is not None:
            raise QueryError("changes() follows a filter only: drop order_by, limit, fields")
        filters = [e.to_selector() for e in self._where]
        return merge_selectors(filters) if filters else None

    # -- what is sent ---------------------------------------------------------------

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

    # -- requests (flows) -----------------------------------------------------------

    def _find_flow(
        self, db: str, body: Mapping[str, Any], limit: int, bookmark: str | None
    ) -> Flow[_Find]:
        request = dict(body)
        request["limit"] = limit  # always: PouchDB returns every match without one
        if bookmark is not None:
            request["bookmark"] = bookmark
        try:
            with naming_not_found(db):
                if self._partition is not None:
                    response = yield Send("post_partition_find", db, self._partition, **request)
                else:
                    response = yield Send("post_find", db, **request)
        except BadRequestError as exc:
            if "sort" in request and _is_sort_error(exc):
                raise _SortError(exc) from exc
            raise
        result = response.get_result()
        warning = result.get("warning")
        if warning:
            log.info("%s query: %s", self.model.__name__, warning)
        stats = result.get("execution_stats")
        if stats is not None:
            log.debug("%s query execution stats: %s", self.model.__name__, stats)
        return _Find(result.get("docs", []), result.get("bookmark"), stats, warning)

    def _pager(self, db: str, size: int, cursor: str | None) -> Pager:
        """Where paging through the results stands, from ``cursor`` (None: the start)."""
        query = self._fingerprint(db)
        if self._bare:
            return _AllDocsPager(self, db, size, query, cursor)
        return _FindPager.from_cursor(self, db, size, query, cursor)

    def _load_flow(
        self, session: BaseSession[Any], db: str, docs: Sequence[Mapping[str, Any]], track: bool
    ) -> Flow[list[D]]:
        """The objects of a page: the session's (``track``), detached, or partial; then
        the prefetch."""
        if self._fields is not None:
            items = yield from load_partials_flow(self.model, session, db, docs, self._fields)
        else:
            items = load_all(self.model, session, db, docs, track)
        yield from self._read_refs_flow(session, items)
        return items

    def _read_refs_flow(self, session: BaseSession[Any], items: Sequence[D]) -> Flow[None]:
        """The prefetch: the documents ``items`` refer to at the prefetched fields."""
        if self._prefetch and items:
            yield from session._prefetch_flow(collect_refs(items, self._prefetch))

    def _next_page_flow(
        self, session: BaseSession[Any], db: str, pager: Pager, track: bool
    ) -> Flow[Page[D] | None]:
        """The next page of ``pager`` as objects; None after the last."""
        raw = yield from pager.fetch_flow()
        if raw is None:
            return None
        return raw.page((yield from self._load_flow(session, db, raw.docs, track)))

    # -- reading (flows) --------------------------------------------------------------

    def _page_flow(
        self, session: BaseSession[Any], size: int, cursor: str | None, track: bool
    ) -> Flow[Page[D]]:
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"page() takes a size >= 1, got {size!r}")
        db = session.db_for(self.model)
        found = yield from self._next_page_flow(session, db, self._pager(db, size, cursor), track)
        return found if found is not None else Page([], None)

    def _first_flow(self, session: BaseSession[Any]) -> Flow[D | None]:
        limit = 1 if self._limit is None else min(1, self._limit)
        # _all_docs holds other classes' documents too: read it in full-size requests.
        size = self._page_size if self._bare else 1
        # One page, not read ahead: the first document ends it.
        page = yield from attrs.evolve(self, limit=limit)._page_flow(session, size, None, True)
        return page.items[0] if page.items else None

    def _get_flow(
        self,
        session: BaseSession[Any],
        args: Sequence[str | Expression],
        lookups: Mapping[str, Any],
    ) -> Flow[D]:
        ids = [a for a in args if isinstance(a, str)]
        expressions = [a for a in args if not isinstance(a, str)]
        if len(ids) > 1:
            raise TypeError("get() takes one document id")
        if ids and not expressions and not lookups and not self._where and self._bare:
            return (yield from self._get_by_id_flow(session, ids[0]))
        query = self.filter(*expressions, **lookups)
        if ids:
            query = query.filter(Field._root(self.model)["id"] == ids[0])
        found = (yield from query.limit(2)._page_flow(session, 2, None, True)).items
        if not found:
            raise DoesNotExist(f"no {self.model.__name__} matches {query.selector()}")
        if len(found) > 1:
            raise MultipleObjectsReturned(
                f"more than one {self.model.__name__} matches {query.selector()}"
            )
        return found[0]

    def _get_by_id_flow(self, session: BaseSession[Any], doc_id: str) -> Flow[D]:
        if self._partition is not None and not doc_id.startswith(f"{self._partition}:"):
            raise DoesNotExist(f"{doc_id!r} is not in partition {self._partition!r}")
        try:
            found = yield from session._get_flow(self.model, doc_id, False, _RAISE)
        except (DocumentTypeError, SessionError):
            # Another class's document (or another class's object in the identity map).
            raise DoesNotExist(f"{doc_id!r} is not a {self.model.__name__}") from None
        if found is None:
            raise DoesNotExist(f"no {self.model.__name__} with id {doc_id!r}")
        yield from self._read_refs_flow(session, [found])
        result: D = found
        return result

    def _get_many_flow(
        self,
        session: BaseSession[Any],
        ids: Sequence[str],
        missing: Literal["raise", "skip", "none"],
    ) -> Flow[list[D] | list[D | None]]:
        if isinstance(ids, str):
            raise TypeError("get_many() takes a list of ids, not one id")
        if missing not in ("raise", "skip", "none"):
            raise ValueError(f"missing must be 'raise', 'skip' or 'none', got {missing!r}")
        db = session.db_for(self.model)
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
                response = yield Send("post_all_docs", db, keys=keys, include_docs=True)
            for row in response.get_result()["rows"]:
                doc = row.get("doc")
                if doc and "error" not in row and is_of(self.model, doc, doc_types):
                    obj = load(self.model, session, db, doc, True)
                    if obj is not None:  # (None: marked for deletion here)
                        found[doc["_id"]] = obj
        yield from self._read_refs_flow(session, list(found.values()))
        absent = [i for i in dict.fromkeys(ids) if i not in found]
        if missing == "raise":
            if absent:
                raise DocumentsNotFound(self.model.__name__, absent)
            return [found[i] for i in ids]
        if missing == "skip":
            return [found[i] for i in ids if i in found]
        return [found.get(i) for i in ids]

    def _count_flow(self, session: BaseSession[Any]) -> Flow[int]:
        unsorted = attrs.evolve(self, sort=(), sort_columns=None)  # the order can't matter
        pager = _FindPager(unsorted, session.db_for(self.model), _ID_PAGE, overrides=_IDS_ONLY)
        total = 0
        while (page := (yield from pager.fetch_flow())) is not None:
            total += len(page.docs)
        return total

    def _exists_flow(self, session: BaseSession[Any]) -> Flow[bool]:
        unsorted = attrs.evolve(self, sort=(), sort_columns=None)
        body = unsorted._find_body(_IDS_ONLY)
        found = yield from unsorted._find_flow(session.db_for(self.model), body, 1, None)
        return bool(found.docs)

    def _explain_flow(self, session: BaseSession[Any]) -> Flow[dict[str, Any]]:
        db = session.db_for(self.model)
        body = self._find_body()
        body["limit"] = (
            self._page_size if self._limit is None else min(self._limit, self._page_size)
        )
        with naming_not_found(db):
            if self._partition is not None:
                response = yield Send("post_partition_explain", db, self._partition, **body)
            else:
                response = yield Send("post_explain", db, **body)
        explained: dict[str, Any] = response.get_result()
        return explained

    # -- writing (flows) ----------------------------------------------------------------

    def _update_flow(
        self,
        session: BaseSession[Any],
        change: Callable[[D], object] | None,
        max_retries: int,
        values: Mapping[str, Any],
    ) -> Flow[int]:
        names = self.model._options.keys
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise QueryError(f"{self.model.__name__} has no field(s) {', '.join(unknown)}")
        if change is None and not values:
            raise TypeError("update() needs field values or a change function")
        _check_field_values(self.model, values, None)

        def apply(doc: D) -> None:
            for name, value in values.items():
                setattr(doc, name, value)
            if change is not None:
                _called_back(change(doc), "update()")

        return (yield from self._rewrite_flow(session, apply, False, max_retries))

    def _delete_flow(self, session: BaseSession[Any], max_retries: int) -> Flow[int]:
        def noop(_: D) -> None:
            return None

        return (yield from self._rewrite_flow(session, noop, True, max_retries))

    def _rewrite_flow(
        self,
        session: BaseSession[Any],
        apply: Callable[[D], object],
        delete: bool,
        max_retries: int,
    ) -> Flow[int]:
        doing = "delete" if delete else "update"
        session.check_writable(f"{doing} {self.model.__name__} documents ({doing}() of a query)")
        # The ids are read first, then the documents a batch at a time: on servers whose
        # bookmarks are positions (PouchDB), writing while paging would shift the pages.
        db = session.db_for(self.model)
        # The sort matters only with a limit (which documents); without one, drop it.
        ordered = self if self._limit is not None else attrs.evolve(self, sort=())
        pager = _FindPager(ordered, db, _ID_PAGE, overrides=_IDS_ONLY)
        ids: list[str] = []
        while (page := (yield from pager.fetch_flow())) is not None:
            ids.extend(d["_id"] for d in page.docs)
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
            written += yield from plain._rewrite_batch_flow(
                session, db, batch, apply, delete, max_retries, failures
            )
        if failures:
            raise BulkWriteError(failures, written)
        return written

    def _rewrite_batch_flow(
        self,
        session: BaseSession[Any],
        db: str,
        batch: list[str],
        apply: Callable[[D], object],
        delete: bool,
        max_retries: int,
        failures: list[WriteFailure],
    ) -> Flow[int]:
        selector = merge_selectors([self.selector(), {"_id": {"$in": batch}}])
        body = {**self._find_body(), "selector": selector}
        docs = (yield from self._find_flow(db, body, len(batch), None)).docs
        held = {i for i in batch if known(session, db, i) is not None}
        objs = load_all(self.model, session, db, docs, True)
        # Counted: the documents that now hold the change (one that already held the
        # values is not written, and is counted all the same, as a matched row).
        done = len(objs)
        try:
            for obj in objs:
                if delete:
                    session.delete(obj)
                else:
                    apply(obj)
            yield from session._flush_flow(objs)
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
                    retried = yield from self._retry_flow(
                        session, db, obj, apply, delete, max_retries
                    )
                except ConflictError as error:
                    failures.append(WriteFailure(obj, error))
                    continue
                if retried:
                    done += 1
                elif obj.id in held:
                    yield from _restore_flow(session, obj)
        except BaseException:
            # The change raised, or was refused (a value that can't be stored), or the
            # work was stopped: nothing was written, and no object keeps a part of it.
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

    def _retry_flow(
        self,
        session: BaseSession[Any],
        db: str,
        obj: D,
        apply: Callable[[D], object],
        delete: bool,
        max_retries: int,
    ) -> Flow[bool]:
        """Read a conflicted document again and, if it still matches, change and write
        it; False if it no longer matches (or is gone)."""
        assert obj.id is not None
        for _ in range(max_retries):
            selector = merge_selectors([self.selector(), {"_id": obj.id}])
            body = {**self._find_body(), "selector": selector, "fields": ["_id"]}
            if not (yield from self._find_flow(db, body, 1, None)).docs:
                return False
            try:
                yield from session._refresh_flow(obj)
            except NotFoundError:
                return False
            if delete:
                session.delete(obj)
            else:
                apply(obj)
            try:
                yield from session._flush_one_flow(obj)
            except ConflictError:
                log.debug("%s %r conflicted again; retrying", self.model.__name__, obj.id)
                continue
            return True
        raise document_error(
            obj.id, obj.rev, "conflict", f"still conflicting after {max_retries} retries"
        )

    # -- index advice -----------------------------------------------------------------

    def _index_advice_flow(self, db: str, exc: BadRequestError) -> Flow[IndexRequiredError]:
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
            declared = yield from _server_indexes_flow(db)
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


def _restore_flow(session: BaseSession[Any], obj: Document) -> Flow[None]:
    """A session's own object that no longer matches: back to the server's version."""
    try:
        yield from session._refresh_flow(obj)
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


def _server_indexes_flow(db: str) -> Flow[list[tuple[str, list[str]]]]:
    try:
        result = (yield Send("get_indexes_information", db)).get_result()
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


# --- paging state ------------------------------------------------------------------------


class Pager(Protocol):
    """Where paging through a query's results stands."""

    def fetch_flow(self) -> Flow[RawPage | None]:
        """The next page of JSON documents, with the cursor after it; None after the
        last. A flow: the caller's driver sends its requests."""
        ...


class _FindPager(Generic[D]):
    """Mango ``_find`` pages, following bookmarks. When the server refuses the sort for
    want of an index, its own indexes are read once for one that serves it with a longer
    sort (equality-filtered fields in front); without one, the error says which index to
    declare."""

    __slots__ = (
        "body",
        "bookmark",
        "columns",
        "db",
        "done",
        "first",
        "overrides",
        "query",
        "query_id",
        "returned",
        "size",
    )

    def __init__(
        self,
        query: BaseQuerySet[D],
        db: str,
        size: int,
        *,
        overrides: Mapping[str, Any] | None = None,
        query_id: str | None = None,
        bookmark: str | None = None,
        returned: int = 0,
        columns: Sequence[str] | None = None,
    ) -> None:
        self.db = db
        self.size = size
        self.overrides = overrides
        #: The query's fingerprint, for the cursors (None: no cursors wanted).
        self.query_id = query_id
        self.bookmark = bookmark
        self.returned = returned
        self.first = True
        self.done = False
        # The sort columns a cursor or the page before recorded.
        self._use(attrs.evolve(query, sort_columns=tuple(columns)) if columns else query)

    @classmethod
    def from_cursor(
        cls, query: BaseQuerySet[D], db: str, size: int, query_id: str, cursor: str | None
    ) -> _FindPager[D]:
        if cursor is None:
            return cls(query, db, size, query_id=query_id)
        saved = decode_cursor(cursor, "find", query_id)
        return cls(
            query,
            db,
            size,
            query_id=query_id,
            bookmark=saved.get("b"),
            returned=int(saved.get("n", 0)),
            columns=saved.get("c"),
        )

    def _use(self, query: BaseQuerySet[D]) -> None:
        self.query = query
        self.body = query._find_body(self.overrides)
        self.columns = tuple(query._sort_paths()) if query._sort else None

    def fetch_flow(self) -> Flow[RawPage | None]:
        query, limit = self.query, self.query._limit
        want = self.size if limit is None else min(self.size, limit - self.returned)
        if self.done or want <= 0:
            return None
        try:
            page = yield from query._find_flow(self.db, self.body, want, self.bookmark)
        except _SortError as error:
            # The server's own indexes may serve it with a longer sort: look once.
            found = None
            if self.first and query._sort_columns is None:
                found = query._serving_columns((yield from _server_indexes_flow(self.db)))
            if found is None or tuple(found) == self.columns:
                raise (yield from query._index_advice_flow(self.db, error.exc)) from error.exc
            self._use(attrs.evolve(query, sort_columns=tuple(found)))
            return (yield from self.fetch_flow())
        self.first = False
        self.returned += len(page.docs)
        more = (
            len(page.docs) == want
            and bool(page.bookmark)
            and (limit is None or self.returned < limit)
        )
        self.done = not more
        self.bookmark = page.bookmark
        nxt = None
        if more and self.query_id is not None:
            state = {"b": page.bookmark, "n": self.returned, "c": self.columns}
            nxt = encode_cursor("find", self.query_id, state)
        return RawPage(page.docs, nxt, page.stats, page.warning)


class _AllDocsPager(Generic[D]):
    """Pages of a bare query's documents from ``_all_docs``, paged by id. It holds every
    class's documents (and design documents): rows of others are dropped, and requests
    go on until a page of this model's is full. A page that ends inside a request's
    rows resumes at the id of the first one left."""

    __slots__ = (
        "db",
        "doc_types",
        "finished",
        "kept",
        "pending",
        "query",
        "query_id",
        "size",
        "state",
    )

    def __init__(
        self, query: BaseQuerySet[D], db: str, size: int, query_id: str, cursor: str | None
    ) -> None:
        self.query = query
        self.db = db
        self.size = size
        self.query_id = query_id
        self.state = KeysetState()
        #: The model's documents returned so far (for the limit).
        self.kept = 0
        if cursor is not None:
            saved = decode_cursor(cursor, "all_docs", query_id)
            self.state = KeysetState.from_json(saved)
            self.kept = int(saved.get("kept", 0))
        self.doc_types = model_doc_types(query.model)
        #: The model's documents read and not yet returned.
        self.pending: list[dict[str, Any]] = []
        self.finished = query._limit is not None and self.kept >= query._limit

    def _rows_flow(self, request: dict[str, Any]) -> Flow[list[dict[str, Any]]]:
        partition = self.query._partition
        with naming_not_found(self.db):
            if partition is not None:
                response = yield Send("post_partition_all_docs", self.db, partition, **request)
            else:
                response = yield Send("post_all_docs", self.db, **request)
        rows: list[dict[str, Any]] = response.get_result()["rows"]
        return rows

    def fetch_flow(self) -> Flow[RawPage | None]:
        limit, size = self.query._limit, self.size
        model, doc_types = self.query.model, self.doc_types
        while not self.finished:
            pending = self.pending
            if len(pending) >= size or (
                limit is not None and pending and self.kept + len(pending) >= limit
            ):
                items, self.pending = pending[:size], pending[size:]
                self.kept += len(items)
                nxt = None
                if (limit is not None and self.kept >= limit) or (
                    not self.pending and self.state.done
                ):
                    self.finished = True
                else:
                    after = (
                        KeysetState(start_key=self.pending[0]["_id"])
                        if self.pending
                        else self.state
                    )
                    nxt = encode_cursor(
                        "all_docs", self.query_id, {**after.to_json(), "kept": self.kept}
                    )
                return RawPage(items, nxt)
            if self.state.done:
                self.finished = True
                return RawPage(pending, None) if pending else None
            rows = yield from keyset_page(
                self._rows_flow,
                {"include_docs": True},
                self.state,
                page_size=size,
                limit=None,
                by_doc_id=False,
            )
            pending.extend(of_model(model, (r.get("doc") for r in rows or ()), doc_types))
            if limit is not None:
                del pending[limit - self.kept :]
        return None

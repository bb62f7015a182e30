"""``QuerySet``: a lazy, immutable description of a query over one document class.

Each method returns a new QuerySet; nothing is sent until results are asked for. With
filters (or a sort, fields, an index) the query is a Mango ``_find`` paged with
bookmarks; a bare ``Order.objects`` reads ``_all_docs`` (no index needed) paged by id,
keeping the model's documents. Results are Document instances registered in the
session's identity map, so changing one and committing needs no second read.

The building, the compilation and the work of each operation are
:class:`~cloudant_odm.query.base.BaseQuerySet`'s (flows, shared with
``cloudant_odm.aio.AsyncQuerySet``); a QuerySet runs them with the session's
``CloudantV1``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

import attrs

from cloudant_odm.client.flows import run
from cloudant_odm.client.follower import FOREVER_MS
from cloudant_odm.client.overlap import read_ahead
from cloudant_odm.models import Document
from cloudant_odm.query.base import BaseQuerySet, Pager, RawPage
from cloudant_odm.query.drivers import SyncDriver
from cloudant_odm.query.paging import Page

if TYPE_CHECKING:
    from datetime import timedelta

    from cloudant_odm.changes import Checkpoint, DocumentChange
    from cloudant_odm.query.expressions import Expression

__all__ = ["QuerySet"]

D = TypeVar("D", bound=Document)


@attrs.frozen(eq=False, repr=False)
class QuerySet(BaseQuerySet[D], SyncDriver):
    """A query over ``model``'s documents. Build it with :meth:`filter`,
    :meth:`exclude`, :meth:`order_by`, :meth:`limit`, :meth:`fields`, ...; read it with
    iteration, :meth:`all`, :meth:`first`, :meth:`get`, :meth:`count`, :meth:`page`."""

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

        selector = self._changes_selector()
        return follow(
            self.session,
            [self.model],
            since=since,
            include_docs=include_docs,
            selector=selector,
            one_off=one_off,
            checkpoint=checkpoint,
            error_tolerance=error_tolerance,
            limit=limit,
        )

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
        session = self.session
        client = session.client
        db = session.db_for(self.model)
        size = page_size or self._page_size

        def fetched(pager: Pager) -> Iterator[RawPage]:
            while (raw := run(pager.fetch_flow(), client)) is not None:
                yield raw

        def resume(after: RawPage) -> Iterator[RawPage]:
            if after.next_cursor is None:
                return iter(())
            return fetched(self._pager(db, size, after.next_cursor))

        # The next page is read (in a thread) while this one's objects are made and used.
        raws = read_ahead(
            fetched(self._pager(db, size, None)),
            resume=resume,
            version=lambda: session.write_count,
        )
        with contextlib.closing(raws):
            for raw in raws:
                yield raw.page(run(self._load_flow(session, db, raw.docs, track), client))

    def page(self, size: int, cursor: str | None = None, *, track: bool = True) -> Page[D]:
        """One page of at most ``size`` documents, starting at ``cursor`` (from a previous
        page's ``next_cursor``; None for the first page). For web pagination."""
        return self._run(self._page_flow, size, cursor, track)

    def iterator(self, page_size: int | None = None, *, track: bool = True) -> Iterator[D]:
        """The matching documents, fetched a page at a time as the loop advances (the
        next page is asked for while the loop goes through one: see :meth:`pages`)."""
        with contextlib.closing(self.pages(page_size, track=track)) as pages:
            for found in pages:
                yield from found.items

    def __iter__(self) -> Iterator[D]:
        return self.iterator()

    def all(self) -> list[D]:
        """Every matching document, as a list."""
        return list(self)

    def first(self) -> D | None:
        """The first matching document (in the query's order), or None."""
        return self._run(self._first_flow)

    def get(self, *args: str | Expression, **lookups: Any) -> D:
        """Exactly one document: ``get(doc_id)``, or ``get(Order.ref == "x")`` /
        ``get(ref="x")``. Raises :class:`DoesNotExist` or
        :class:`MultipleObjectsReturned`."""
        return self._run(self._get_flow, args, lookups)

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
        return self._run(self._get_many_flow, ids, missing)

    def count(self) -> int:
        """How many documents match. Mango has no count: this reads the matching ids
        (only ids, 1000 per request). For large counts, declare a view with the
        ``_count`` reduce and query it with ``reduce=True``."""
        return self._run(self._count_flow)

    def exists(self) -> bool:
        """True if at least one document matches (one request, for one id)."""
        return self._run(self._exists_flow)

    def explain(self) -> dict[str, Any]:
        """The server's ``_explain`` of the first page's request: which index it uses
        (``result["index"]``), the selector and options as it reads them."""
        return self._run(self._explain_flow)

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
        return self._run(self._update_flow, change, max_retries, values)

    def delete(self, *, max_retries: int = 10) -> int:
        """Delete every matching document (``_bulk_docs``, a batch at a time); returns
        how many were deleted."""
        return self._run(self._delete_flow, max_retries)

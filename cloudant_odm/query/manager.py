"""``Order.objects``: the entry point of queries over a document class."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, overload

from cloudant_odm.client.follower import FOREVER_MS
from cloudant_odm.models import Document
from cloudant_odm.query.queryset import QuerySet

if TYPE_CHECKING:
    from datetime import timedelta

    from cloudant_odm.aio.queries import AsyncQuerySet
    from cloudant_odm.aio.session import AsyncSession
    from cloudant_odm.changes import Checkpoint, DocumentChange
    from cloudant_odm.query.base import BaseQuerySet
    from cloudant_odm.query.expressions import Expression, Field, SortKey
    from cloudant_odm.query.paging import Page
    from cloudant_odm.session import BaseSession, Session

__all__ = ["Manager"]

D = TypeVar("D", bound=Document)


class Manager(Generic[D]):
    """Starts queries over ``model``'s documents (and its subclasses'): every method
    is the same-named :class:`QuerySet` method on a query with no filter yet.

    Without ``using(session)`` a query runs in the current session (``connect()``,
    ``use_session()``), which is a synchronous ``Session``; async code passes its
    ``AsyncSession`` with ``using()``, which gives an ``AsyncQuerySet``."""

    __slots__ = ("model",)

    def __init__(self, model: type[D]) -> None:
        self.model = model

    def __repr__(self) -> str:
        return f"<Manager of {self.model.__name__}>"

    def query(self) -> QuerySet[D]:
        """A QuerySet matching all of the model's documents."""
        return QuerySet(self.model)

    # -- building -----------------------------------------------------------------

    @overload
    def using(self, session: Session) -> QuerySet[D]: ...
    @overload
    def using(self, session: AsyncSession) -> AsyncQuerySet[D]: ...
    def using(self, session: BaseSession[Any]) -> BaseQuerySet[D]:
        """A query set running in ``session``: a QuerySet for a ``Session``, an
        ``AsyncQuerySet`` (awaited reads) for a ``cloudant_odm.aio.AsyncSession``."""
        return self.query()._rebind(session)

    def filter(self, *expressions: Expression, **lookups: Any) -> QuerySet[D]:
        return self.query().filter(*expressions, **lookups)

    def exclude(self, *expressions: Expression, **lookups: Any) -> QuerySet[D]:
        return self.query().exclude(*expressions, **lookups)

    def order_by(self, *keys: Field[Any] | SortKey | str) -> QuerySet[D]:
        return self.query().order_by(*keys)

    def limit(self, count: int | None) -> QuerySet[D]:
        return self.query().limit(count)

    def fields(self, *fields: Field[Any] | str) -> QuerySet[D]:
        return self.query().fields(*fields)

    def use_index(self, design_doc: str | Any, name: str | None = None) -> QuerySet[D]:
        return self.query().use_index(design_doc, name)

    def execution_stats(self, enabled: bool = True) -> QuerySet[D]:
        return self.query().execution_stats(enabled)

    def partition(self, key: str) -> QuerySet[D]:
        return self.query().partition(key)

    def page_size(self, size: int) -> QuerySet[D]:
        return self.query().page_size(size)

    def prefetch(self, *fields: Field[Any] | str) -> QuerySet[D]:
        return self.query().prefetch(*fields)

    # -- reading --------------------------------------------------------------------

    def __iter__(self) -> Iterator[D]:
        return iter(self.query())

    def iterator(self, page_size: int | None = None, *, track: bool = True) -> Iterator[D]:
        return self.query().iterator(page_size, track=track)

    def pages(self, page_size: int | None = None, *, track: bool = True) -> Iterator[Page[D]]:
        return self.query().pages(page_size, track=track)

    def page(self, size: int, cursor: str | None = None, *, track: bool = True) -> Page[D]:
        return self.query().page(size, cursor, track=track)

    def all(self) -> list[D]:
        return self.query().all()

    def first(self) -> D | None:
        return self.query().first()

    def get(self, *args: str | Expression, **lookups: Any) -> D:
        return self.query().get(*args, **lookups)

    @overload
    def get_many(
        self, ids: Sequence[str], *, missing: Literal["raise", "skip"] = ...
    ) -> list[D]: ...
    @overload
    def get_many(self, ids: Sequence[str], *, missing: Literal["none"]) -> list[D | None]: ...
    def get_many(
        self, ids: Sequence[str], *, missing: Literal["raise", "skip", "none"] = "raise"
    ) -> list[D] | list[D | None]:
        return self.query().get_many(ids, missing=missing)

    def count(self) -> int:
        return self.query().count()

    def exists(self) -> bool:
        return self.query().exists()

    def explain(self) -> dict[str, Any]:
        return self.query().explain()

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
        return self.query().changes(
            since=since,
            include_docs=include_docs,
            one_off=one_off,
            checkpoint=checkpoint,
            error_tolerance=error_tolerance,
            limit=limit,
        )

    def selector(self) -> dict[str, Any]:
        return self.query().selector()

    # -- writing ------------------------------------------------------------------

    def update(
        self,
        change: Callable[[D], object] | None = None,
        /,
        *,
        max_retries: int = 10,
        **values: Any,
    ) -> int:
        return self.query().update(change, max_retries=max_retries, **values)

    def delete(self, *, max_retries: int = 10) -> int:
        return self.query().delete(max_retries=max_retries)

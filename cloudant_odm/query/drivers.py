"""Which classes serve a session's queries, and which driver sends their flows.

A query's work is written once, as flows (``client/flows.py``), in the base classes
(``BaseQuerySet``, ``BaseViewQuery``, ``BaseSearchResults``); the classes users hold run
those flows for one kind of session: ``QuerySet``, ``ViewQuery`` and ``SearchResults``
with ``flows.run`` for a :class:`~cloudant_odm.session.Session`, their async twins with
``arun`` for a ``cloudant_odm.aio.AsyncSession``. The query layer registers the first;
``cloudant_odm.aio``, above it, registers its own when it is imported (an upper layer
extending a lower one, as in docs/architecture.md). ``using(session)``,
``View.query(session)`` and ``SearchIndex.search(session)`` ask here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

import attrs

from cloudant_odm.client.flows import Flow, run
from cloudant_odm.context import current_session
from cloudant_odm.session import BaseSession, Session

if TYPE_CHECKING:
    from cloudant_odm.query.base import BaseQuerySet
    from cloudant_odm.query.search import BaseSearchResults
    from cloudant_odm.query.views import BaseViewQuery

__all__ = ["Drivers", "SyncDriver", "drivers_for", "register_drivers"]

T = TypeVar("T")
P = ParamSpec("P")


@attrs.frozen
class Drivers:
    """The query classes of one kind of session, and its flow driver (``flows.run``, or
    ``arun``, which returns an awaitable)."""

    query_set: type[BaseQuerySet[Any]]
    view_query: type[BaseViewQuery[Any]]
    search_results: type[BaseSearchResults[Any]]
    run: Callable[[Flow[Any], Any], Any]


_registered: dict[type, Drivers] = {}


def register_drivers(session_type: type[BaseSession[Any]], drivers: Drivers) -> None:
    """Serve the queries of ``session_type``'s sessions (and its subclasses') with
    ``drivers``."""
    _registered[session_type] = drivers


def drivers_for(session: BaseSession[Any]) -> Drivers:
    """The drivers of ``session``'s kind; a TypeError for anything but a session."""
    for cls in type(session).__mro__:
        found = _registered.get(cls)
        if found is not None:
            return found
    raise TypeError(
        "queries run in a Session or a cloudant_odm.aio.AsyncSession, "
        f"got {type(session).__name__} {session!r}"
    )


class SyncDriver:
    """What the synchronous query classes add to the shared ones: the session (the
    one given, else the current one) and running a flow with its ``CloudantV1``."""

    __slots__ = ()

    _session: BaseSession[Any] | None

    @property
    def session(self) -> Session:
        """The session the query runs in: the one given, else the current one."""
        session = self._session
        if session is None:
            return current_session()
        if not isinstance(session, Session):
            raise TypeError(
                f"a {type(self).__name__} runs in a Session, not {type(session).__name__}: "
                "use Order.objects.using(session), View.query(session), ... for it"
            )
        return session

    def _run(
        self,
        flow: Callable[Concatenate[BaseSession[Any], P], Flow[T]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """``flow(session, ...)`` run with the session's client."""
        session = self.session
        return run(flow(session, *args, **kwargs), session.client)

"""The default session: ``cloudant_odm.connect(...)`` and the context-local current session.

``connect()`` remembers a client and a database for the process and gives the calling
context (thread, or asyncio task) a session. Another thread that queries without
``using(...)`` gets a session of its own from the same client on first use: a session
is not thread-safe, the client is. ``use_session(s)`` makes ``s`` current for a block
(one per web request, say).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from urllib.parse import unquote, urlsplit, urlunsplit

import attrs

from cloudant_odm.client import (
    Authenticator,
    BasicAuthenticator,
    CloudantV1,
    NoAuthAuthenticator,
)
from cloudant_odm.errors import SessionError
from cloudant_odm.session import BaseSession, Session

__all__ = ["connect", "current_session", "disconnect", "use_session"]


@attrs.frozen
class _Defaults:
    client: CloudantV1
    db: str | None


_defaults: _Defaults | None = None
_current: ContextVar[Session | None] = ContextVar("cloudant_odm_session", default=None)


def connect(
    url: str | None = None,
    *,
    db: str | None = None,
    client: CloudantV1 | None = None,
    authenticator: Authenticator | None = None,
    service_name: str = "CLOUDANT",
) -> Session:
    """Set the default client and database, and return the current context's session.

    - ``connect()`` reads the environment as ``CloudantV1.new_instance(service_name)``
      does (``CLOUDANT_URL``, ``CLOUDANT_AUTH_TYPE``, ``CLOUDANT_APIKEY``, ...), and the
      database from ``CLOUDANT_DATABASE`` when ``db`` is not given.
    - ``connect("http://user:pass@localhost:5984", db="orders")``: Basic auth from the
      URL's user info (removed from the URL), no auth without it, or ``authenticator=``.
    - ``connect(client=existing_client, db="orders")`` uses a client you built.
    """
    global _defaults
    if client is None:
        client = _make_client(url, authenticator, service_name)
    elif url is not None or authenticator is not None:
        raise TypeError("connect() takes a client, or a url / authenticator, not both")
    if db is None:
        db = os.environ.get(f"{service_name.upper()}_DATABASE") or None
    _defaults = _Defaults(client, db)
    session = Session(client, db=db)
    _current.set(session)
    return session


def _make_client(
    url: str | None, authenticator: Authenticator | None, service_name: str
) -> CloudantV1:
    if url is None and authenticator is None:
        return CloudantV1.new_instance(service_name)
    if url is None:
        raise TypeError("connect(authenticator=...) also needs the url")
    parts = urlsplit(url)
    if parts.username is not None:
        if authenticator is not None:
            raise TypeError("give credentials in the URL or as an authenticator, not both")
        authenticator = BasicAuthenticator(unquote(parts.username), unquote(parts.password or ""))
        url = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
    client = CloudantV1(authenticator or NoAuthAuthenticator())
    client.set_service_url(url)
    return client


def disconnect() -> None:
    """Forget the default client and this context's session."""
    global _defaults
    _defaults = None
    _current.set(None)


def current_session() -> Session:
    """The session queries use when none is given with ``using(...)``."""
    session = _current.get()
    if session is None:
        if _defaults is None:
            raise SessionError(
                "No session for this query: call cloudant_odm.connect(...), run it inside "
                "`with use_session(session):`, or pass one with .using(session)"
            )
        session = Session(_defaults.client, db=_defaults.db)
        _current.set(session)
    return session


@contextmanager
def use_session(session: Session) -> Iterator[Session]:
    """Make ``session`` the current one inside the block::

    with use_session(Session(client, db="orders")) as s:
        Order.objects.filter(status="new").all()    # uses s
    """
    if not isinstance(session, Session):
        if isinstance(session, BaseSession):  # an AsyncSession: queries can't use it unasked
            raise TypeError(
                f"use_session() takes a Session, got {type(session).__name__}: the current "
                "session is synchronous; give an AsyncSession to each query with "
                ".using(session) (Order.objects.using(session).filter(...))"
            )
        raise TypeError(f"use_session() takes a Session, got {type(session).__name__}")
    token = _current.set(session)
    try:
        yield session
    finally:
        _current.reset(token)

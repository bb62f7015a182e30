"""AsyncSession is Session with its requests awaited: the same public names and
parameters, each request-making method a coroutine that drives the same flow, the rest
shared."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

pytest.importorskip("httpx", reason="the async extra is not installed")

from cloudant_odm import Session
from cloudant_odm.aio import AsyncSession
from cloudant_odm.session import BaseSession

#: The methods that make requests: coroutines in AsyncSession.
REQUESTING = {
    "commit",
    "flush",
    "flush_one",
    "get",
    "get_attachment",
    "get_many",
    "get_or_create",
    "insert_many",
    "open_attachment",
    "prefetch",
    "put_attachment",
    "refresh",
    "resolve_conflicts",
    "update",
    "update_or_create",
}
#: Context managers: ``with`` for one, ``async with`` for the other.
CONTEXT = {("__enter__", "__aenter__"), ("__exit__", "__aexit__")}


def public(cls: type) -> set[str]:
    return {name for name in dir(cls) if not name.startswith("_")}


def parameters(function: Any) -> list[tuple[str, Any, Any]]:
    signature = inspect.signature(function)
    return [(p.name, p.kind, p.default) for p in signature.parameters.values()]


def test_both_sessions_have_the_same_public_names() -> None:
    assert public(AsyncSession) == public(Session)


def test_the_requesting_methods_are_coroutines_with_the_same_parameters() -> None:
    for name in sorted(public(Session)):
        sync, awaited = getattr(Session, name), getattr(AsyncSession, name)
        if name in REQUESTING:
            assert inspect.iscoroutinefunction(awaited), name
            assert not inspect.iscoroutinefunction(sync), name
            assert parameters(awaited) == parameters(sync), name
        else:  # shared: the very same attribute
            assert inspect.getattr_static(AsyncSession, name) is inspect.getattr_static(
                Session, name
            ), name


def test_each_session_defines_only_the_requesting_methods_the_rest_is_shared() -> None:
    # What a session class defines itself is how it sends; everything else (state,
    # planning, answers) is BaseSession's, once.
    own = {name for name in vars(Session) if not name.startswith("_")}
    assert own == REQUESTING
    assert {name for name in vars(AsyncSession) if not name.startswith("_")} == REQUESTING
    assert not REQUESTING & {n for n in vars(BaseSession) if not n.startswith("_")}
    for sync_name, async_name in CONTEXT:
        assert sync_name in vars(Session)
        assert async_name in vars(AsyncSession)


def test_the_constructors_take_the_same_parameters() -> None:
    assert parameters(AsyncSession.__init__) == parameters(Session.__init__)

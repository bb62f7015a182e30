"""The async followers and pagination have the synchronous ones' API: the same names,
parameters, defaults and types, awaited (iterators are async iterators, the client is
``AsyncCloudantV1``)."""

from __future__ import annotations

import inspect
import re
from typing import Any

import pytest

pytest.importorskip("httpx", reason="the async extra is not installed")

from cloudant_odm import aio, changes
from cloudant_odm.client import ChangesFollower, Pager, Pagination

# The synchronous spelling of an async annotation.
_SYNC_SPELLING = {
    r"\bAsyncIterator\b": "Iterator",
    r"\bAsyncCloudantV1\b": "CloudantV1",
    r"\bAsyncPager\b": "Pager",
    r"\bAsyncPagination\b": "Pagination",
    r"\bAsyncChangesFollower\b": "ChangesFollower",
    r"\bAsyncDocumentChanges\[T\]": "Iterator[DocumentChange[T]]",
    r"\bAsyncSessionLike\b": "Session",
}
# Context managers: ``async with`` for ``with``.
_DUNDERS = {"__aenter__": "__enter__", "__aexit__": "__exit__"}


def as_sync(annotation: Any) -> str:
    text = str(annotation)
    for pattern, sync in _SYNC_SPELLING.items():
        text = re.sub(pattern, sync, text)
    return text


def shape(function: Any) -> list[tuple[str, Any, Any, str]]:
    """The parameters (name, kind, default, annotation) and the return annotation."""
    signature = inspect.signature(function)
    params = [
        (p.name, p.kind, p.default, as_sync(p.annotation)) for p in signature.parameters.values()
    ]
    return [*params, ("return", None, None, as_sync(signature.return_annotation))]


def public(cls: type) -> dict[str, Any]:
    """The class's methods, its own and those of the library's bases (``AsyncClosing``
    gives the async classes ``async with``); ``aclose``, the async way to close, has no
    synchronous twin (those stop with ``stop()`` or ``with``)."""
    dunders = ("__init__", *_DUNDERS, *_DUNDERS.values())
    ours = [c for c in cls.__mro__ if c.__module__.startswith("cloudant_odm")]
    names = {
        n
        for c in ours
        for n in vars(c)
        if (not n.startswith("_") or n in dunders) and n != "aclose"
    }
    return {_DUNDERS.get(n, n): getattr(cls, n) for n in names}


@pytest.mark.parametrize(
    ("sync", "async_"),
    [
        (ChangesFollower, aio.AsyncChangesFollower),
        (Pagination, aio.AsyncPagination),
        (Pager, aio.AsyncPager),
    ],
    ids=lambda c: c.__name__,
)
def test_the_classes_have_the_same_methods_and_signatures(sync: type, async_: type) -> None:
    sync_api, async_api = public(sync), public(async_)
    assert sorted(async_api) == sorted(sync_api)
    for name, method in sync_api.items():
        if name == "__exit__":
            continue  # ``*exc`` there, the three named arguments here: both take any
        assert shape(async_api[name]) == shape(method), name


def test_every_method_that_sends_is_awaited_or_iterated_asynchronously() -> None:
    assert inspect.iscoroutinefunction(aio.AsyncPager.get_next)
    assert inspect.iscoroutinefunction(aio.AsyncPager.get_all)
    assert not inspect.iscoroutinefunction(aio.AsyncPager.has_next)  # asks no server
    assert inspect.isasyncgenfunction(aio.AsyncPagination.rows)
    assert not inspect.iscoroutinefunction(aio.AsyncChangesFollower.stop)  # from any task


def test_follow_takes_the_same_arguments() -> None:
    assert shape(aio.follow) == shape(changes.follow)

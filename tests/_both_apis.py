"""Running one scenario through the synchronous and the async API: a synchronous call's
result as is, an async one's awaited; iteration with ``for`` or ``async for``."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable
from typing import Any, TypeVar

T = TypeVar("T")


async def settled(value: Awaitable[T] | T) -> T:
    """A synchronous query's result as is, an async one's awaited."""
    if inspect.isawaitable(value):
        return await value
    return value


async def collect(items: Any) -> list[Any]:
    """Iterate a query: ``for``, or ``async for`` for the async classes."""
    if hasattr(items, "__aiter__"):
        return [item async for item in items]
    return list(items)

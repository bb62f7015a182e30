"""Argument checks of the async drivers of the deploy and migration flows, made before
anything is sent."""

from __future__ import annotations

import inspect
from typing import Any

from cloudant_odm.aio.service import AsyncCloudantV1
from cloudant_odm.client.flows import check_client

__all__ = ["check_async_client", "check_plain_callback"]


def check_async_client(client: Any, function: str, synchronous: str) -> None:
    """Refuse anything but an ``AsyncCloudantV1`` (``synchronous``: the function that
    takes the synchronous client)."""
    if not isinstance(client, AsyncCloudantV1):
        where, instead = f"cloudant_odm.aio.{function}()", f"{synchronous}()"
        check_client(client, awaited=True, where=where, instead=instead)  # a CloudantV1
        raise TypeError(f"{where} takes an AsyncCloudantV1, got {client!r} (or use {instead})")


def check_plain_callback(callback: Any, where: str) -> None:
    """Refuse an ``async def`` callback: the flows call it in line between requests, so
    it would never run."""
    if callback is not None and (
        inspect.iscoroutinefunction(callback)
        or inspect.iscoroutinefunction(type(callback).__call__)
    ):
        raise TypeError(
            f"{where}: pass a plain function (it is called between requests, not "
            f"awaited), got the coroutine function {callback!r}"
        )

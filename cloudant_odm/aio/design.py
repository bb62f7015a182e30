"""Deploying design documents from asyncio: :func:`sync_design` and
:func:`rollback_design` are ``cloudant_odm.design``'s ``sync`` and ``rollback`` with
their requests awaited.

The deploy (planning, the lock and its heartbeats, move-and-switch, waiting for the
builds, the switch and the clean-up) is ``cloudant_odm.design.sync``'s flow, the same
code the synchronous functions run; here it is awaited with an ``AsyncCloudantV1``, and
the waits between polls of a build are ``asyncio.sleep``: the event loop's other tasks
go on meanwhile.

(Named ``sync_design`` rather than ``sync``: in ``cloudant_odm.aio`` a bare ``sync``
reads as "synchronous", and ``rollback`` is already the session's word for forgetting
unwritten changes.)
"""

from __future__ import annotations

from collections.abc import Sequence

from cloudant_odm.aio._checks import check_async_client, check_plain_callback
from cloudant_odm.aio._flows import arun
from cloudant_odm.aio.service import AsyncCloudantV1
from cloudant_odm.design.sync import (
    ProgressCallback,
    Strategy,
    SyncReport,
    rollback_flow,
    sync_flow,
)
from cloudant_odm.schema.generate import Generated, Models

__all__ = ["rollback_design", "sync_design"]


async def sync_design(
    client: AsyncCloudantV1,
    db: str,
    models: Models | Generated,
    *,
    strategy: Strategy = "move-and-switch",
    dry_run: bool = False,
    prune: bool = False,
    progress: ProgressCallback | None = None,
    keep_old: bool = False,
    resume: bool = False,
    timeout: float | None = None,
    poll_interval: float = 2.0,
    lock_timeout: float = 900.0,
) -> SyncReport:
    """Make the design documents and Mango indexes of ``db`` match ``models``:
    :func:`cloudant_odm.design.sync`, awaited (the same parameters, report, errors and
    deploy lock, which keeps it apart from synchronous deploys too). ``progress`` is a
    plain function, called between requests; an ``async def`` one raises
    ``TypeError``."""
    check_async_client(client, "sync_design", "cloudant_odm.design.sync")
    check_plain_callback(progress, "sync_design(progress=...)")
    flow = sync_flow(
        db,
        models,
        strategy=strategy,
        dry_run=dry_run,
        prune=prune,
        progress=progress,
        keep_old=keep_old,
        resume=resume,
        timeout=timeout,
        poll_interval=poll_interval,
        lock_timeout=lock_timeout,
    )
    return await arun(flow, client)


async def rollback_design(
    client: AsyncCloudantV1,
    db: str,
    ddocs: Sequence[str] | None = None,
    *,
    force: bool = False,
    progress: ProgressCallback | None = None,
    lock_timeout: float = 900.0,
) -> SyncReport:
    """Restore design documents from the ``<ddoc>_OLD`` copies a deploy kept:
    :func:`cloudant_odm.design.rollback`, awaited."""
    check_async_client(client, "rollback_design", "cloudant_odm.design.rollback")
    check_plain_callback(progress, "rollback_design(progress=...)")
    flow = rollback_flow(db, ddocs, force=force, progress=progress, lock_timeout=lock_timeout)
    return await arun(flow, client)

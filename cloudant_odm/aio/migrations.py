"""``migrate`` for asyncio: :func:`cloudant_odm.migrate` with its requests awaited.

The run (paging by id, upgrading, the ``_bulk_docs`` writes and their conflicts, the
``_local`` checkpoint) is ``cloudant_odm.migrations``' flow, the same code the
synchronous ``migrate`` runs; here it is awaited with an ``AsyncCloudantV1``.
"""

from __future__ import annotations

from cloudant_odm.aio._checks import check_async_client, check_plain_callback
from cloudant_odm.aio._flows import arun
from cloudant_odm.aio.service import AsyncCloudantV1
from cloudant_odm.aio.session import AsyncSession
from cloudant_odm.migrations import (
    DEFAULT_BATCH_SIZE,
    MigrationReport,
    ProgressCallback,
    migrate_flow,
)
from cloudant_odm.schema.generate import Models

__all__ = ["migrate"]


async def migrate(
    target: AsyncCloudantV1 | AsyncSession,
    db: str | None,
    models: Models,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    dry_run: bool = False,
    progress: ProgressCallback | None = None,
    restart: bool = False,
    max_retries: int = 5,
) -> MigrationReport:
    """Rewrite every document of ``models`` stored at an older schema version:
    :func:`cloudant_odm.migrate`, awaited.

    ``target`` is an ``AsyncCloudantV1``, or an ``AsyncSession`` (its client, database
    mapping and write settings; its own objects are not touched). The other parameters,
    the checkpoint (``_local/cloudant-odm-migrate-<doc_type>``, shared with the
    synchronous ``migrate``: either resumes the other's stopped run) and the report are
    the synchronous function's. ``progress`` is a plain function, called between
    requests; an ``async def`` one raises ``TypeError``.
    """
    session = target if isinstance(target, AsyncSession) else None
    client = session.client if session is not None else target
    check_async_client(client, "migrate", "cloudant_odm.migrate")
    check_plain_callback(progress, "migrate(progress=...)")
    flow = migrate_flow(
        client,
        session,
        db,
        models,
        batch_size=batch_size,
        dry_run=dry_run,
        progress=progress,
        restart=restart,
        max_retries=max_retries,
    )
    return await arun(flow, client)

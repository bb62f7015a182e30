"""The typed changes follower for asyncio: ``follow()`` as ``cloudant_odm.changes``'s,
its ``DocumentChange``s read with ``AsyncChangesFollower``.

What it decides is ``cloudant_odm.changes``'s, written once: the plan of a ``follow()``
call (database, type filter, options, where to start), the checkpoint's document and
when it is written (``_CheckpointStore``), its requests (``LocalDocumentFlows``), and
how a row becomes a typed change. This module sends and waits.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from cloudant_odm.aio._flows import arun
from cloudant_odm.aio._transport import AsyncClosing
from cloudant_odm.aio.follower import AsyncChangesFollower
from cloudant_odm.changes import (
    Checkpoint,
    DocumentChange,
    LocalDocumentFlows,
    _change_maker,
    _CheckpointStore,
    _FollowPlan,
    _plan,
)
from cloudant_odm.client.follower import FOREVER_MS
from cloudant_odm.errors import naming_not_found
from cloudant_odm.models import Document

if TYPE_CHECKING:
    from cloudant_odm.aio.service import AsyncCloudantV1

__all__ = ["AsyncDocumentChanges", "AsyncLocalDocument", "AsyncSessionLike", "follow"]

T = TypeVar("T", bound=Document)


class AsyncSessionLike(Protocol):
    """What ``follow()`` needs of an async session: its client, and each class's
    database (as ``Session.db_for`` names it)."""

    @property
    def client(self) -> AsyncCloudantV1: ...

    def db_for(self, model: type[Document], /) -> str: ...


class AsyncLocalDocument(LocalDocumentFlows):
    """A ``_local`` document read and written with the async ``client`` (see
    ``cloudant_odm.changes.LocalDocumentFlows``)."""

    def __init__(self, client: AsyncCloudantV1, db: str, doc_id: str, what: str) -> None:
        super().__init__(db, doc_id, what)
        self.client = client

    async def load(self) -> dict[str, Any] | None:
        """The document, or None if there is none."""
        return await arun(self.reading(), self.client)

    async def save(self, body: dict[str, Any]) -> None:
        await arun(self.saving(body), self.client)


class AsyncDocumentChanges(AsyncClosing, AsyncIterator[DocumentChange[T]], Generic[T]):
    """The typed changes ``follow()`` returns: ``async for change in changes``.

    ``stop()`` ends the loop from any task (or thread), also while it waits for the
    server; ``aclose()`` (or ``async with``) ends it and stores the last checkpoint
    before it returns. Leaving the loop early without either stores it when the
    iterator is closed by the event loop, a moment later.
    """

    def __init__(
        self,
        follower: AsyncChangesFollower,
        changes: AsyncGenerator[DocumentChange[T], None],
    ) -> None:
        self._follower = follower
        self._changes = changes

    def __aiter__(self) -> AsyncDocumentChanges[T]:
        return self

    def __anext__(self) -> Awaitable[DocumentChange[T]]:
        return self._changes.__anext__()

    def stop(self) -> None:
        """End the loop before the next change is delivered (the changes handled so far
        are checkpointed). Returns at once."""
        self._follower.stop()

    async def aclose(self) -> None:
        """Stop, and store the checkpoint of the changes handled."""
        self._follower.stop()
        await self._changes.aclose()


def follow(
    session: AsyncSessionLike | AsyncCloudantV1,
    models: type[T] | Sequence[type[T]],
    *,
    db: str | None = None,
    since: str | int | None = None,
    include_docs: bool = True,
    selector: Mapping[str, Any] | Any = None,
    one_off: bool = False,
    checkpoint: Checkpoint | None = None,
    error_tolerance: float | timedelta | None = FOREVER_MS,
    limit: int | None = None,
) -> AsyncDocumentChanges[T]:
    """Follow the changes of ``models``' documents as typed ``DocumentChange`` events,
    as ``cloudant_odm.changes.follow`` does, with an ``AsyncCloudantV1`` (``session``:
    the client, the database then being ``db`` or the class's ``Meta.db``, or an async
    session, which names the database as a ``Session`` does)::

        async for change in follow(client, Order, checkpoint=Checkpoint("billing")):
            await bill(change.doc)

    The options are checked now; the checkpoint is read when the loop starts.
    """
    plan = _plan(
        session,
        models,
        db=db,
        since=since,
        include_docs=include_docs,
        selector=selector,
        one_off=one_off,
        checkpoint=checkpoint,
        error_tolerance=error_tolerance,
        limit=limit,
        awaited=True,
    )
    client: AsyncCloudantV1 = plan.client
    follower = AsyncChangesFollower(client, **plan.options)
    store = None
    if plan.checkpoint is not None:
        document = AsyncLocalDocument(client, *plan.checkpoint_document())
        store = _CheckpointStore(document, plan.checkpoint)
    return AsyncDocumentChanges(follower, _typed_changes(follower, plan, store))


async def _typed_changes(
    follower: AsyncChangesFollower,
    plan: _FollowPlan[T],
    store: _CheckpointStore[AsyncLocalDocument] | None,
) -> AsyncGenerator[DocumentChange[T], None]:
    if follower._stopped:
        return  # stopped before the loop began: not even the checkpoint is read
    stored = None if store is None else store.seq_in(await store.document.load())
    follower._core.resume_from(plan.start_from(stored))
    models = plan.models
    chunks = follower._start_rows(plan.one_off)
    try:
        with naming_not_found(plan.database):  # (the feed's 404: no database)
            to_change = _change_maker(models)
            async for chunk in chunks:
                for row in chunk:
                    change = to_change(row)
                    yield change
                    # Control is back here: the consumer has handled ``change``.
                    if store is not None and change.seq is not None and store.handle(change.seq):
                        store.stored(await _save(store, change.seq))
                    if follower._stopped:
                        return  # stop() while the consumer handled it: deliver nothing more
    finally:
        follower.stop()
        await chunks.aclose()
        if store is not None:
            seq = store.unsaved()
            if seq is not None:
                await _save(store, seq)


async def _save(store: _CheckpointStore[AsyncLocalDocument], seq: str | int) -> bool:
    """Store a checkpoint with the async client: whether it was stored."""
    try:
        await store.document.save(store.body(seq))
    except Exception as error:
        store.save_failed(error)
        return False
    return True

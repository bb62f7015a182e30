"""``AsyncSession``: the unit of work for asyncio, on ``AsyncCloudantV1``.

It is :class:`~cloudant_odm.session.Session` with its requests awaited: the identity
map, snapshots, dirty tracking, batching and the handling of every answer are
``BaseSession``'s, the same code as the synchronous session's; each method here awaits
the flow that the synchronous method runs (``client/flows.py``). Methods that make no
request (``add``, ``delete``, ``expunge``, ``rollback``, ``revert``, ``state_of``,
``is_modified``, ``dirty`` ...) are the shared ones, not awaited.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import IO, Any, TypeVar, overload

from cloudant_odm.aio._checks import check_plain_callback
from cloudant_odm.aio._flows import arun
from cloudant_odm.aio._transport import AsyncStream
from cloudant_odm.aio.service import AsyncCloudantV1
from cloudant_odm.models import Document
from cloudant_odm.models.refs import Ref
from cloudant_odm.session import _RAISE, BaseSession

__all__ = ["AsyncSession"]

D = TypeVar("D", bound=Document)
T = TypeVar("T")


class AsyncSession(BaseSession[AsyncCloudantV1]):
    """A unit of work over one ``AsyncCloudantV1``: ``add``, ``await get``, ``delete``,
    then ``await commit()``.

    ``async with AsyncSession(client, db="orders") as s:`` commits when the block ends
    normally and rolls back when it raises. One session per task (as SQLAlchemy's
    ``AsyncSession``): tasks share the client, not a session. The constructor takes
    :class:`~cloudant_odm.session.Session`'s parameters, and each method does what the
    synchronous one of the same name does.
    """

    _ASYNC = True

    async def __aenter__(self) -> AsyncSession:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        if exc_type is None:
            await self.commit()
        else:
            self._roll_back_after_error()

    # -- reading ------------------------------------------------------------------

    @overload
    async def get(self, model: type[D], doc_id: str, *, conflicts: bool = False) -> D | None: ...
    @overload
    async def get(self, model: Ref[D]) -> D: ...
    @overload
    async def get(self, model: Ref[D], *, default: T) -> D | T: ...
    async def get(
        self,
        model: type[D] | Ref[D],
        doc_id: str | None = None,
        *,
        conflicts: bool = False,
        default: Any = _RAISE,
    ) -> Any:
        """``Session.get``, awaited: the document with this id (or the one a ``Ref``
        names), the same object for the same id within the session."""
        return await arun(self._get_flow(model, doc_id, conflicts, default), self.client)

    async def get_many(self, model: type[D], ids: Sequence[str]) -> list[D | None]:
        """``Session.get_many``, awaited."""
        return await arun(self._get_many_flow(model, ids), self.client)

    async def prefetch(self, refs: Iterable[Ref[Document] | None]) -> None:
        """``Session.prefetch``, awaited: resolving the references afterwards
        (``await session.get(ref)``) makes no request."""
        await arun(self._prefetch_flow(refs), self.client)

    async def refresh(self, obj: Document) -> None:
        """``Session.refresh``, awaited."""
        await arun(self._refresh_flow(obj), self.client)

    # -- writing ------------------------------------------------------------------

    async def flush(self, objects: Iterable[Document] | None = None) -> None:
        """``Session.flush``, awaited: the batches go out one after the other."""
        await arun(self._flush_flow(objects), self.client)

    async def commit(self) -> None:
        """``Session.commit``, awaited (a flush)."""
        await arun(self._flush_flow(None), self.client)

    async def flush_one(self, obj: Document) -> None:
        """``Session.flush_one``, awaited."""
        await arun(self._flush_one_flow(obj), self.client)

    async def insert_many(self, objs: Iterable[Document]) -> int:
        """``Session.insert_many``, awaited: untracked, batch after batch."""
        return await arun(self._insert_many_flow(objs), self.client)

    # -- conflict handling ----------------------------------------------------------

    async def update(
        self, model: type[D], doc_id: str, change: Callable[[D], object], *, max_retries: int = 10
    ) -> D:
        """``Session.update``, awaited. ``change`` is a plain function (it is called
        between the requests, not awaited); an ``async def`` one raises TypeError."""
        check_plain_callback(change, "AsyncSession.update(..., change)")
        return await arun(self._update_flow(model, doc_id, change, max_retries), self.client)

    async def get_or_create(
        self, model: type[D], doc_id: str, defaults: dict[str, Any] | None = None
    ) -> tuple[D, bool]:
        """``Session.get_or_create``, awaited."""
        return await arun(self._get_or_create_flow(model, doc_id, defaults), self.client)

    async def update_or_create(
        self, model: type[D], doc_id: str, values: dict[str, Any], *, max_retries: int = 10
    ) -> tuple[D, bool]:
        """``Session.update_or_create``, awaited."""
        flow = self._update_or_create_flow(model, doc_id, values, max_retries)
        return await arun(flow, self.client)

    async def resolve_conflicts(self, obj: D, choose: Callable[[D, list[D]], D]) -> D:
        """``Session.resolve_conflicts``, awaited; ``choose`` is a plain function."""
        check_plain_callback(choose, "AsyncSession.resolve_conflicts(..., choose)")
        return await arun(self._resolve_conflicts_flow(obj, choose), self.client)

    # -- attachments --------------------------------------------------------------

    async def put_attachment(
        self, obj: Document, name: str, data: bytes | IO[bytes], content_type: str
    ) -> None:
        """``Session.put_attachment``, awaited."""
        await arun(self._put_attachment_flow(obj, name, data, content_type), self.client)

    async def get_attachment(self, obj: Document, name: str) -> bytes:
        """The attachment's bytes (read whole; :meth:`open_attachment` streams it)."""
        stream = await self.open_attachment(obj, name)
        async with stream:
            return await stream.aread()

    async def open_attachment(self, obj: Document, name: str) -> AsyncStream:
        """The attachment as an unread ``AsyncStream``: iterate it (``async for``), then
        close it (``async with``)."""
        stream: AsyncStream = await arun(self._open_attachment_flow(obj, name), self.client)
        return stream

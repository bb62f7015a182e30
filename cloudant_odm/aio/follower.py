"""``AsyncChangesFollower``: ``ChangesFollower`` for asyncio.

The decisions are the synchronous follower's own (``client/follower.py``'s
``_FollowerCore``: options, requests, ``since``, retries and back-off, the end of a
one-off run, the limit; ``_PageReader``: a streamed body into chunks of rows); this
module only sends and waits. One producer task per started follower makes the requests
and parses the bodies, and hands chunks of rows to the consumer (the task iterating)
through a small bounded buffer, as the synchronous follower's thread does. ``stop()``
cancels that task, which ends a long poll at once, whatever it is waiting for.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import httpx

from cloudant_odm.aio._flows import arun
from cloudant_odm.aio._http import connection_failure
from cloudant_odm.aio._transport import AsyncClosing
from cloudant_odm.client.follower import (
    _BUFFER_CHUNKS,
    _READ_SIZE,
    FOREVER_MS,
    Seq,
    _build_item,
    _Checked,
    _FollowerCore,
    _Handed,
    _Mode,
    _Page,
    _PageReader,
    _Signal,
)
from cloudant_odm.client.models import ChangesResultItem

if TYPE_CHECKING:
    from cloudant_odm.aio._transport import AsyncStream
    from cloudant_odm.aio.service import AsyncCloudantV1

__all__ = ["AsyncChangesFollower"]


class _AsyncHandoff:
    """The bounded hand-over from the producer task to the consumer (one of each).
    ``close()`` wakes both at once, whatever they are waiting for."""

    def __init__(self, capacity: int) -> None:
        self._items: deque[_Handed] = deque()
        self._capacity = capacity
        self._closed = False
        self._ready = asyncio.Event()  # an item, or closed
        self._room = asyncio.Event()  # room for an item, or closed

    async def put(self, item: _Handed) -> bool:
        """Queue ``item``, waiting for room; False (item dropped) once closed."""
        while len(self._items) >= self._capacity and not self._closed:
            self._room.clear()
            await self._room.wait()
        if self._closed:
            return False
        self._items.append(item)
        self._ready.set()
        return True

    async def get(self) -> _Handed:
        """The next item, waiting for one; ``_Signal.CLOSED`` once closed."""
        while not self._items and not self._closed:
            self._ready.clear()
            await self._ready.wait()
        if self._closed:
            return _Signal.CLOSED
        item = self._items.popleft()
        self._room.set()
        return item

    def close(self) -> None:
        self._closed = True
        self._items.clear()
        self._ready.set()
        self._room.set()


class AsyncChangesFollower(AsyncClosing):
    """Follows the changes feed of one database from asyncio, as ``ChangesFollower``
    does: the same options (``AsyncChangesFollower(client, db="orders",
    include_docs=True)``), the same errors, error tolerance and back-off, the same
    ``ChangesResultItem``s.

    ``start()`` follows the feed until stopped, ``start_one_off()`` reads it to its end;
    both return an async iterator (``async for change in follower.start()``). A follower
    starts once; ``stop()`` ends it from any task of the event loop (or any thread),
    also while a long poll waits for the server.
    """

    def __init__(
        self,
        service: AsyncCloudantV1,
        *,
        error_tolerance: float | timedelta | None = FOREVER_MS,
        **params: Any,
    ) -> None:
        self._core = _FollowerCore(service, error_tolerance, params, kind="AsyncChangesFollower")
        self._service = service
        self._db = self._core.db
        self._started = False
        self._stopped = False
        self._handoff = _AsyncHandoff(_BUFFER_CHUNKS)
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        state = "stopped" if self._stopped else "running" if self._started else "new"
        return f"<AsyncChangesFollower db={self._db!r} {state}>"

    async def aclose(self) -> None:
        """Stop, and wait for the request in flight to end (``async with`` does this)."""
        self.stop()
        await self._finished()

    # -- the public API ----------------------------------------------------------

    def start(self) -> AsyncIterator[ChangesResultItem]:
        """Follow the feed from ``since`` (default ``"now"``) with long polls, until
        ``stop()``, the ``limit``, or an error that ends the follower."""
        return self._items(self._start(_Mode.LISTEN))

    def start_one_off(self) -> AsyncIterator[ChangesResultItem]:
        """Read the feed from ``since`` (default ``"0"``, the beginning) to its end."""
        return self._items(self._start(_Mode.FINITE))

    def stop(self) -> None:
        """End the follower: iteration stops before the next item is delivered, from any
        task (including the one iterating) or thread; a request in flight is cancelled.
        Returns at once; does nothing if the follower has ended already."""
        self._stopped = True
        loop = self._loop
        if loop is not None and _running_loop() is not loop:
            # A closed loop (RuntimeError) runs nothing any more: nothing to stop there.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._stop_here)
            return
        self._stop_here()

    def latest_sequence_from(self, checkpoint_seq: Seq) -> Seq:
        """As ``ChangesFollower.latest_sequence_from``: ``checkpoint_seq``, or the
        ``last_seq`` of the pages after it that brought no rows."""
        return self._core.latest_sequence_from(checkpoint_seq)

    # -- the consumer side ---------------------------------------------------------

    def _start_rows(self, one_off: bool) -> AsyncGenerator[list[_Checked], None]:
        """As ``ChangesFollower._start_rows``: the chunks of rows, for the typed
        follower."""
        return self._start(_Mode.FINITE if one_off else _Mode.LISTEN)

    def _start(self, mode: _Mode) -> AsyncGenerator[list[_Checked], None]:
        if self._started:
            raise RuntimeError("Cannot start a feed that has already started.")
        self._started = True
        if not self._stopped:
            self._core.begin(mode)
        return self._chunks()

    async def _chunks(self) -> AsyncGenerator[list[Any], None]:
        """The chunks the producer hands over, until the end, an error or stop()."""
        if self._stopped:
            return  # stopped before it was started: nothing to follow
        self._loop = asyncio.get_running_loop()
        self._task = self._loop.create_task(self._run(), name=f"AsyncChangesFollower({self._db})")
        try:
            while True:
                handed = await self._handoff.get()
                if isinstance(handed, _Signal):
                    return  # END, or CLOSED by stop()
                if isinstance(handed, BaseException):
                    raise handed
                yield handed
        finally:
            # Also when the consumer leaves the loop early: the producer ends with it.
            self.stop()
            await self._finished()

    async def _items(
        self, chunks: AsyncGenerator[list[_Checked], None]
    ) -> AsyncIterator[ChangesResultItem]:
        try:
            async for chunk in chunks:
                for row in chunk:
                    yield _build_item(row) if isinstance(row, dict) else row
                    if self._stopped:
                        return  # stop() from inside the loop: deliver nothing more
        finally:
            self.stop()
            await chunks.aclose()

    def _stop_here(self) -> None:
        self._stopped = True
        self._handoff.close()
        task = self._task
        if task is not None and not task.done():
            task.cancel()

    async def _finished(self) -> None:
        """Wait until the producer task has ended (it was cancelled, or is ending)."""
        task = self._task
        if task is not None and task is not asyncio.current_task():
            await asyncio.wait([task])

    # -- the producer task -------------------------------------------------------

    async def _run(self) -> None:
        try:
            await self._follow()
        except asyncio.CancelledError:
            self._handoff.close()  # stop(), or the loop is ending: no more rows
            raise
        except Exception as error:
            # Everything reaches the consumer, who raises it from the loop.
            await self._handoff.put(error)
        else:
            await self._handoff.put(_Signal.END)

    async def _pause(self, seconds: float) -> bool:
        """Wait ``seconds``; True if the follower was stopped meanwhile (stop() also
        cancels the wait)."""
        await asyncio.sleep(seconds)
        return self._stopped

    async def _follow(self) -> None:
        core = self._core
        batch_size: int | None = None
        while not self._stopped:
            if core.limit_reached:
                return
            try:
                if batch_size is None:
                    batch_size = await arun(core.batch_size(), self._service)
                page = await self._fetch(core.request_limit(batch_size))
            except Exception as error:
                if self._stopped:
                    return
                delay = core.retry_delay(error)
                if delay is None:
                    raise
                if await self._pause(delay):
                    return
                continue
            if core.ended(page):
                return

    async def _fetch(self, limit: int) -> _Page | None:
        """One request: stream its rows to the consumer; None if stopped meanwhile."""
        stream: AsyncStream = (await arun(self._core.changes(limit), self._service)).get_result()
        reader = _PageReader(self._core, limit, stream.response)
        put = self._handoff.put
        try:
            try:
                async for data in stream.aiter_bytes(_READ_SIZE):
                    handed = reader.feed(data)
                    if handed is not None and not await put(handed):
                        return None
                    if reader.at_limit:
                        return reader.finish()
            except httpx.TransportError as exc:
                raise _broken_off(exc, stream.response) from exc
            reader.end()
            if self._stopped:
                return None
            page = reader.finish()
            handed = reader.take()
            if handed and not await put(handed):
                return None
            return page
        finally:
            await stream.aclose()
            broken_off = reader.take()
            if broken_off and not self._stopped:
                # The page broke off: the rows read so far are good, and `since` has
                # moved past them, so they must still be delivered.
                await put(broken_off)


def _broken_off(error: httpx.TransportError, response: httpx.Response) -> Exception:
    """The client's error for a body that broke off while being read: a transient
    ``ConnectionFailed``, as the synchronous follower's is a ``requests`` error."""
    request = response.request
    failure = connection_failure(
        error,
        method=request.method,
        url=str(request.url),
        attempts=1,
        retries=False,
        read_timeout=None,
        body_started=True,
    )
    return failure if failure is not None else error


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None

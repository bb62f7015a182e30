"""Overlapping the client's work with the server's: one call in a thread of its own.

A bulk write sends batch N while the next batch is encoded, and an iteration asks for
page N+1 while page N's objects are built. ``requests`` releases the GIL while it waits
on the socket, so the caller's Python work fills time that was spent waiting.

Each :class:`Call` runs in a new thread that ends with the call: nothing is left running
or idle once its answer is taken (or abandoned), whatever the caller does, and a forked
child inherits no pool. Starting a thread costs tens of microseconds, next to a request
for a page or a batch of documents. The callers keep at most one call in flight, so the
order of requests and the memory held stay as without overlap.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Generator, Iterator
from typing import Any, Generic, TypeVar

from cloudant_odm.client.transport import request_sending

__all__ = ["Call", "read_ahead"]

T = TypeVar("T")

_END: Any = object()


class Call(Generic[T]):
    """``fn(*args)``, started at once in a thread of its own, in a copy of the caller's
    context (context variables read the same as in the caller). :meth:`result` waits
    for it and returns its value or raises its exception, in the caller's thread.

    The constructor returns once ``fn``'s request is written to its connection (or
    ``fn`` has ended without one, or through a SOCKS proxy): until then the caller
    waits, GIL released. Otherwise the caller's Python work would hold the GIL while
    the request is prepared, and each time the thread let go of it (a system call,
    compressing) it would wait a switch interval (5 ms) to get it back, before the
    server even had the request.
    """

    __slots__ = ("_error", "_thread", "_value")

    def __init__(self, fn: Callable[..., T], *args: Any) -> None:
        self._value: T | None = None
        self._error: BaseException | None = None
        sending = threading.Event()
        context = contextvars.copy_context()
        context.run(request_sending.set, sending)
        # A daemon: a call abandoned at exit (an iteration left unfinished) doesn't
        # hold the interpreter up for its answer.
        self._thread = threading.Thread(
            target=self._run,
            args=(context, sending, fn, args),
            name="cloudant_odm-overlap",
            daemon=True,
        )
        self._thread.start()
        try:
            sending.wait()
        except BaseException:
            self._end()
            raise

    def _run(
        self,
        context: contextvars.Context,
        sending: threading.Event,
        fn: Callable[..., T],
        args: Any,
    ) -> None:
        try:
            self._value = context.run(fn, *args)
        except BaseException as exc:  # raised again by result(), in the caller's thread
            self._error = exc
        finally:
            sending.set()  # (no request, or it failed before it was sent)

    def wait(self) -> None:
        """Wait for the call to end, whatever its outcome."""
        try:
            self._thread.join()
        except BaseException:
            self._end()
            raise

    def _end(self) -> None:
        # The caller was interrupted (Ctrl-C) while waiting: the call still ends before
        # the interruption is raised, so nothing of it runs on behind the caller's back
        # (a second interruption stops waiting).
        self._thread.join()

    def result(self) -> T:
        self.wait()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]  # set: the call returned


def read_ahead(
    source: Iterator[T],
    *,
    resume: Callable[[T], Iterator[T]],
    version: Callable[[], object],
) -> Generator[T, None, None]:
    """The items of ``source``, the next one fetched in the background while the caller
    works on the current one: one item ahead at most.

    The first item is fetched in the caller's thread (a single page costs no thread).
    An error fetching an item is raised where the caller asks for that item. When the
    caller stops early (``break``, an exception, ``close()``), the fetch in progress is
    waited for and its item dropped, then ``source`` is closed: no thread or connection
    outlives the iteration. ``source`` is never advanced by two threads at once.

    ``version()`` tells whether the caller changed what the items show (a session that
    wrote): when it changed while the next item was fetched, that item may not show the
    change. It is dropped and the items go on from ``resume(current item)``, fetched
    as they are asked for, without reading ahead: the caller writes as it goes.
    """
    item = next(source, _END)
    ahead: Call[T] | None = None
    try:
        while item is not _END:
            seen = version()
            ahead = Call(next, source, _END)
            yield item
            if version() != seen:
                ahead.wait()
                ahead = None
                _close(source)
                source = resume(item)
                yield from source
                return
            item = ahead.result()
            ahead = None
    finally:
        if ahead is not None:
            ahead.wait()  # stopped early: the fetch must end before source is closed
        _close(source)


def _close(source: Iterator[Any]) -> None:
    close = getattr(source, "close", None)
    if close is not None:
        close()

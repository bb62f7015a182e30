"""Work described without sending: a flow names the client calls it needs, and a driver
makes them, with the synchronous client or (``cloudant_odm.aio``) awaited.

A flow is a generator. It yields a :class:`Send` (an operation of the client, by name,
with its arguments) and is sent the operation's ``DetailedResponse``, or has its error
thrown in where it yielded; what it returns is the result of the work. The decisions
(what to ask, what the answer means, what to keep) are the flow's, written once; the
drivers only send. So the session's unit of work, the query sets' paging and the
followers' state are the same code for ``CloudantV1`` and ``AsyncCloudantV1``, whose
operations have the same names and parameters.

A flow that waits (polling until an index is built) yields :class:`Sleep`: the
synchronous driver sleeps, the async one awaits ``asyncio.sleep``.

A flow that wants a call to run while it goes on (the next batch encoded while the
server writes one) yields :class:`Begin` and is sent a :class:`Pending`; the
synchronous driver runs the call in a thread of its own (``overlap.Call``), the async
driver awaits it there and then (its tasks overlap each other instead).
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Generator
from typing import Any, Protocol, TypeVar

from cloudant_odm.client.overlap import Call
from cloudant_odm.client.transport import DetailedResponse

__all__ = [
    "Begin",
    "Done",
    "Flow",
    "Pending",
    "Send",
    "Sleep",
    "check_client",
    "operation_of",
    "run",
]

T = TypeVar("T")


class Send:
    """One operation of the client: ``client.<operation>(*args, **kwargs)``. An
    ``operation`` given as a function (the SDK's page iterators take the client's bound
    method, or a stand-in for it) is called as it is."""

    __slots__ = ("args", "kwargs", "operation")

    def __init__(self, operation: str | Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self.operation = operation
        self.args = args
        self.kwargs = kwargs

    def __repr__(self) -> str:
        return f"Send({self.operation!r}, *{self.args!r}, **{self.kwargs!r})"


class Pending(Protocol):
    """A call begun by :class:`Begin`: :meth:`result` waits for its answer (or raises
    its error)."""

    def result(self) -> DetailedResponse: ...


class Begin:
    """Start ``send`` and go on; the flow is sent a :class:`Pending` for its answer."""

    __slots__ = ("send",)

    def __init__(self, send: Send) -> None:
        self.send = send


class Sleep:
    """Wait ``seconds`` before going on; the flow is sent None."""

    __slots__ = ("seconds",)

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds


class Done:
    """A :class:`Pending` whose call has already ended (the async driver's)."""

    __slots__ = ("_error", "_value")

    def __init__(self, value: DetailedResponse | None, error: BaseException | None) -> None:
        self._value = value
        self._error = error

    def result(self) -> DetailedResponse:
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        assert self._value is not None
        return self._value


#: A flow: yields ``Send`` (sent the response), ``Begin`` (sent a ``Pending``) or
#: ``Sleep`` (sent None).
Flow = Generator["Send | Begin | Sleep", Any, T]

#: What the synchronous driver sleeps with (tests replace it with a fake clock's).
sleep = time.sleep


def run(flow: Flow[T], client: Any) -> T:
    """Drive ``flow`` with the synchronous client ``client``; return what it returns.

    Every error of a call is thrown into the flow, ``KeyboardInterrupt`` too: its
    ``finally`` blocks (a batch in flight waited for, its revs taken) run while it can
    still make requests, as they would in plain synchronous code."""
    try:
        step = next(flow)
        while True:
            try:
                if isinstance(step, Send):
                    answer: Any = operation_of(client, step)(*step.args, **step.kwargs)
                elif isinstance(step, Begin):
                    answer = Call(_call, operation_of(client, step.send), step.send)
                else:
                    answer = sleep(step.seconds)
            except BaseException as exc:  # the flow decides what an error means
                step = flow.throw(exc)
            else:
                step = flow.send(answer)
    except StopIteration as stop:
        value: T = stop.value
        return value


def operation_of(client: Any, send: Send) -> Callable[..., Any]:
    """What ``send`` calls: the client's operation of that name, or the function given."""
    operation = send.operation
    return getattr(client, operation) if isinstance(operation, str) else operation


def _call(operation: Any, send: Send) -> Any:
    return operation(*send.args, **send.kwargs)


def check_client(client: Any, *, awaited: bool, where: str, instead: str) -> None:
    """Refuse, before anything is sent, a client of the other kind than ``where`` drives
    (``awaited``: the async one). The synchronous drivers would get coroutines; the async
    ones would send with the synchronous client, blocking the event loop, then fail to
    await its answer. ``instead``: what takes that client. A stand-in without the
    client's operations (a test's) is not checked."""
    operation = getattr(type(client), "get_document", None)
    if operation is None or inspect.iscoroutinefunction(operation) == awaited:
        return
    wanted = "an AsyncCloudantV1" if awaited else "a CloudantV1"
    raise TypeError(f"{where} takes {wanted}, got {client!r}; with that client, use {instead}")

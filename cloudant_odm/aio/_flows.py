"""The async driver of flows (``client/flows.py``): each ``Send`` awaited."""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

from cloudant_odm.client.flows import Done, Flow, Send, Sleep, operation_of

__all__ = ["arun"]

T = TypeVar("T")


async def arun(flow: Flow[T], client: Any) -> T:
    """Drive ``flow`` with the async client ``client``; return what it returns. A
    ``Begin`` is awaited at once: the event loop's other tasks overlap it. A
    cancellation is thrown into the flow like any error, so its ``finally`` blocks run
    while it can still make requests."""
    try:
        step = next(flow)
        while True:
            if isinstance(step, Sleep):
                try:
                    await asyncio.sleep(step.seconds)
                except BaseException as exc:
                    step = flow.throw(exc)
                else:
                    step = flow.send(None)
                continue
            send = step if isinstance(step, Send) else step.send
            try:
                answer: Any = await operation_of(client, send)(*send.args, **send.kwargs)
            except BaseException as exc:
                if isinstance(step, Send) or not isinstance(exc, Exception):
                    step = flow.throw(exc)  # (a cancellation at once, begun or not)
                    continue
                answer = Done(None, exc)
            else:
                if not isinstance(step, Send):
                    answer = Done(answer, None)
            step = flow.send(answer)
    except StopIteration as stop:
        value: T = stop.value
        return value

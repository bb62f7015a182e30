"""Flows (client/flows.py) and their two drivers: the same flow, driven with a
synchronous and an async client, makes the same calls and ends the same way; errors
reach the flow where it yielded; a begun call's error waits for its result."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import anyio
import pytest

pytest.importorskip("httpx", reason="the async extra is not installed")

from cloudant_odm.aio._flows import arun
from cloudant_odm.client import ConflictError, DetailedResponse, NotFoundError
from cloudant_odm.client.flows import Begin, Flow, Pending, Send, Sleep, run


class Recorder:
    """A client whose every operation records its call and answers from ``answers``:
    a value is the result, an exception is raised, a list gives its items in turn."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self.threads: list[str] = []

    def answer(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        self.calls.append((name, args, kwargs))
        self.threads.append(threading.current_thread().name)
        answer = self.answers[name]
        if isinstance(answer, list):
            answer = answer.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return DetailedResponse(response=answer, status_code=200)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        return lambda *args, **kwargs: self.answer(name, args, kwargs)


class AsyncRecorder(Recorder):
    def __getattr__(self, name: str) -> Callable[..., Any]:
        async def call(*args: Any, **kwargs: Any) -> Any:
            return self.answer(name, args, kwargs)

        return call


def missing() -> NotFoundError:
    return NotFoundError(404, "not_found: missing")


def reading(log: list[str]) -> Flow[str]:
    """Reads two documents, treats the missing one as absent, begins a write and takes
    its error after more work."""
    first = yield Send("get_document", "db", "a", conflicts=True)
    log.append(first.get_result()["_id"])
    try:
        yield Send("get_document", "db", "b")
    except NotFoundError:
        log.append("b missing")
    pending: Pending = yield Begin(Send("post_bulk_docs", "db", b"{}"))
    log.append("encoding while the write is out")
    try:
        pending.result()
    except ConflictError:
        log.append("conflict")
    return "done"


ANSWERS = {
    "get_document": {"_id": "a"},
    "post_bulk_docs": ConflictError(409, "conflict: Document update conflict."),
}


def test_sync_and_async_drivers_make_the_same_calls_and_end_the_same() -> None:
    def script() -> dict[str, Any]:
        return {**ANSWERS, "get_document": [{"_id": "a"}, missing()]}

    sync_log: list[str] = []
    sync_client = Recorder(script())
    assert run(reading(sync_log), sync_client) == "done"

    async_log: list[str] = []
    async_client = AsyncRecorder(script())
    assert anyio.run(arun, reading(async_log), async_client) == "done"

    assert sync_log == ["a", "b missing", "encoding while the write is out", "conflict"]
    assert async_log == sync_log
    assert sync_client.calls == async_client.calls
    assert sync_client.calls[0] == ("get_document", ("db", "a"), {"conflicts": True})
    # Begun calls run in a thread of their own with the synchronous client.
    assert sync_client.threads[2] == "cloudant_odm-overlap"
    assert async_client.threads[2] == threading.current_thread().name


@pytest.mark.parametrize("driver", ["sync", "async"])
def test_an_error_the_flow_does_not_catch_is_raised_and_the_flow_is_closed(driver: str) -> None:
    closed: list[bool] = []

    def flow() -> Flow[None]:
        try:
            yield Send("get_document", "db", "a")
        finally:
            closed.append(True)

    answers = {"get_document": missing()}

    def drive() -> None:
        if driver == "sync":
            run(flow(), Recorder(answers))
        else:
            anyio.run(arun, flow(), AsyncRecorder(answers))

    with pytest.raises(NotFoundError):
        drive()
    assert closed == [True]


@pytest.mark.parametrize("driver", ["sync", "async"])
def test_a_flow_that_sends_nothing_returns_without_a_call(driver: str) -> None:
    def flow() -> Flow[int]:
        return 7
        yield  # a generator all the same

    client = Recorder({}) if driver == "sync" else AsyncRecorder({})
    value = run(flow(), client) if driver == "sync" else anyio.run(arun, flow(), client)
    assert value == 7
    assert client.calls == []


def test_a_cancelled_flow_runs_its_finally_with_requests_then_is_cancelled() -> None:
    import asyncio

    made: list[str] = []

    class Slow:
        async def get_document(self, db: str, doc_id: str) -> DetailedResponse:
            made.append(doc_id)
            if doc_id == "slow":
                await asyncio.sleep(10)
            return DetailedResponse(response={"_id": doc_id}, status_code=200)

    def flow() -> Flow[None]:
        try:
            yield Send("get_document", "db", "slow")
        finally:  # e.g. a batch in flight whose revs must be taken
            yield Send("get_document", "db", "cleanup")

    async def main() -> None:
        task = asyncio.ensure_future(arun(flow(), Slow()))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert made == ["slow", "cleanup"]


def test_an_interrupt_reaches_the_flow_so_its_finally_runs_with_requests() -> None:
    made: list[str] = []

    class Interrupted:
        def get_document(self, db: str, doc_id: str) -> DetailedResponse:
            made.append(doc_id)
            if doc_id == "slow":
                raise KeyboardInterrupt
            return DetailedResponse(response={"_id": doc_id}, status_code=200)

    def flow() -> Flow[None]:
        try:
            yield Send("get_document", "db", "slow")
        finally:
            yield Send("get_document", "db", "cleanup")

    with pytest.raises(KeyboardInterrupt):
        run(flow(), Interrupted())
    assert made == ["slow", "cleanup"]


@pytest.mark.parametrize("driver", ["sync", "async"])
def test_a_sleep_waits_then_the_flow_goes_on(driver: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    from cloudant_odm.client import flows

    slept: list[float] = []
    monkeypatch.setattr(flows, "sleep", slept.append)

    async def fake_async_sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(asyncio, "sleep", fake_async_sleep)

    def polling() -> Flow[int]:
        polls = 0
        while True:
            polls += 1
            if (yield Send("get_document", "db", "build")).get_result()["done"]:
                return polls
            assert (yield Sleep(0.5)) is None

    answers = {"get_document": [{"done": False}, {"done": False}, {"done": True}]}
    if driver == "sync":
        assert run(polling(), Recorder(answers)) == 3
    else:
        assert anyio.run(arun, polling(), AsyncRecorder(answers)) == 3
    assert slept == [0.5, 0.5]

"""cloudant_odm.aio's deploy functions are design.sync's with their requests awaited:
the same parameters, and the same requests, reports, progress, waits and lock heartbeats
as the synchronous ones against the same fake CouchDB (tests/_design_couch.py), served
to ``AsyncCloudantV1`` through respx."""

from __future__ import annotations

import asyncio
import importlib
import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import requests
from _design_couch import DB, URL, FakeCouch, models

httpx = pytest.importorskip("httpx", reason="the async extra is not installed")
respx = pytest.importorskip("respx", reason="respx is not installed (dev extra)")

from cloudant_odm import Session, migrate  # noqa: E402
from cloudant_odm import aio as cloudant_aio  # noqa: E402
from cloudant_odm.aio import (  # noqa: E402
    AsyncCloudantV1,
    AsyncSession,
    rollback_design,
    sync_design,
)
from cloudant_odm.client import CloudantV1, NoAuthAuthenticator, flows  # noqa: E402
from cloudant_odm.design import (  # noqa: E402
    DeployLockedError,
    Index,
    Progress,
    SyncReport,
    rollback,
    sync,
)

pytestmark = pytest.mark.anyio

# The package's ``sync`` is the function; the module is reached through sys.modules.
sync_module = importlib.import_module("cloudant_odm.design.sync")

#: Each synchronous deploy and migration function and its async counterpart.
COUNTERPARTS: list[tuple[Callable[..., Any], Callable[..., Any]]] = [
    (sync, sync_design),
    (rollback, rollback_design),
    (migrate, cloudant_aio.migrate),
]


def parameters(function: Callable[..., Any]) -> list[tuple[str, Any, Any]]:
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]


@pytest.mark.parametrize(("synchronous", "awaited"), COUNTERPARTS)
def test_the_async_functions_take_the_same_parameters_with_the_same_defaults(
    synchronous: Callable[..., Any], awaited: Callable[..., Any]
) -> None:
    assert inspect.iscoroutinefunction(awaited)
    assert not inspect.iscoroutinefunction(synchronous)
    assert parameters(awaited) == parameters(synchronous)


def test_every_requesting_function_of_design_has_its_counterpart_in_aio() -> None:
    # What cloudant_odm.design exports that makes requests (the rest is declarations,
    # generation and reports, shared as they are).
    import cloudant_odm.design as design

    requesting = {
        name
        for name in design.__all__
        if inspect.isfunction(getattr(design, name))
        and "client" in inspect.signature(getattr(design, name)).parameters
    }
    assert requesting == {"sync", "rollback"}
    assert {f"{name}_design" for name in requesting} <= set(cloudant_aio.__all__)


# --- the same fake server through both clients ------------------------------------------


class _Seen:
    """What FakeCouch.handle reads of a request, from an ``httpx.Request``."""

    def __init__(self, request: Any) -> None:
        self.method = request.method
        self.url = str(request.url)
        self.body = request.read()
        self.headers = request.headers


def serve_httpx(couch: FakeCouch, request: Any) -> Any:
    try:
        status, headers, text = couch.handle(_Seen(request))
    except requests.ReadTimeout as exc:  # the fake's "index still building" answer
        raise httpx.ReadTimeout(str(exc), request=request) from exc
    return httpx.Response(status, headers=headers, text=text)


@pytest.fixture
def couch() -> Iterator[FakeCouch]:
    fake = FakeCouch()
    with fake.mock:
        yield fake


@pytest.fixture
def acouch() -> Iterator[FakeCouch]:
    fake = FakeCouch()
    with respx.mock(assert_all_called=False) as router:
        router.route(host="couch.test").mock(side_effect=lambda r: serve_httpx(fake, r))
        yield fake


@pytest.fixture
def client() -> CloudantV1:
    service = CloudantV1(authenticator=NoAuthAuthenticator())
    service.set_service_url(URL)
    return service


@pytest.fixture
async def aclient() -> AsyncIterator[AsyncCloudantV1]:
    service = AsyncCloudantV1(authenticator=NoAuthAuthenticator())
    service.set_service_url(URL)
    async with service:
        yield service


class Clock:
    """A monotonic clock that only the waits move: deploys decide heartbeats and
    deadlines by it, so both drivers decide the same."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.naps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def nap(self, seconds: float) -> None:
        self.naps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    real_sleep = asyncio.sleep

    async def asleep(seconds: float) -> None:
        fake.nap(seconds)
        await real_sleep(0)

    monkeypatch.setattr(sync_module, "_monotonic", fake.monotonic)
    monkeypatch.setattr(flows, "sleep", fake.nap)
    monkeypatch.setattr(asyncio, "sleep", asleep)
    return fake


#: One deploy's life: create (with a Mango index), nothing to do, a changed view moved
#: and switched while it builds over several polls (heartbeats on the way), rollback to
#: the kept copy, a dry run with prune. (function, kwargs); models are made per run.
STEPS: list[tuple[str, str, dict[str, Any]]] = [
    ("sync", "status+index", {}),
    ("sync", "status+index", {}),
    ("sync", "customer", {"keep_old": True, "lock_timeout": 60.0, "poll_interval": 10.0}),
    ("rollback", "", {}),
    ("sync", "customer", {"prune": True, "dry_run": True}),
    ("sync", "customer", {"prune": True, "strategy": "in-place"}),
]


def declared(which: str) -> Any:
    if which == "status+index":
        return models("status", extra={"by_status": Index("status")})
    return models(which)


def outcome(report: SyncReport) -> tuple[Any, ...]:
    return (report.changes, report.warnings, report.resumed_from, report.dry_run)


def stored(couch: FakeCouch) -> dict[str, Any]:
    """The design documents and indexes, and what the state document says apart from
    its owner, hosts and times."""
    docs = {k: v for k, v in couch.docs.items() if k.startswith("_design/")}
    state = couch.docs.get("_local/cloudant_odm.design") or {}
    last = state.get("last_deploy") or {}
    kept = {k: last.get(k) for k in ("result", "created", "updated", "removed")}
    return {
        "docs": docs,
        "indexes": couch.indexes,
        "state": (state.get("indexes"), state.get("lock"), kept, state.get("_rev")),
    }


def requests_made(couch: FakeCouch) -> list[tuple[str, str, Any]]:
    """Method, path and body of every request; the state document's bodies without
    the owner and times."""
    made = []
    for method, path, body in couch.bodies:
        if path.endswith("/_local/cloudant_odm.design") and isinstance(body, dict):
            lock = body.get("lock") or {}
            body = (body.get("indexes"), lock.get("step"), lock.get("ddocs"))
        made.append((method, path, body))
    return made


async def test_a_deploys_life_makes_the_same_requests_and_stores_the_same_through_both(
    couch: FakeCouch,
    acouch: FakeCouch,
    client: CloudantV1,
    aclient: AsyncCloudantV1,
    clock: Clock,
) -> None:
    for fake in (couch, acouch):
        fake.build_polls = 4
    seen: dict[str, list[Any]] = {"sync": [], "async": []}
    naps: dict[str, list[float]] = {}
    for api in ("sync", "async"):
        fake = couch if api == "sync" else acouch
        clock.naps = []
        for function, which, options in STEPS:
            events: list[Progress] = []
            kwargs: dict[str, Any] = {"progress": events.append, **options}
            if function == "sync":
                kwargs.setdefault("poll_interval", 0.0)
                report = (
                    sync(client, DB, declared(which), **kwargs)
                    if api == "sync"
                    else await sync_design(aclient, DB, declared(which), **kwargs)
                )
            else:
                report = (
                    rollback(client, DB, ["orders"], **kwargs)
                    if api == "sync"
                    else await rollback_design(aclient, DB, ["orders"], **kwargs)
                )
            seen[api].append((function, outcome(report), events))
        naps[api] = clock.naps
        seen[api].append(("requests", requests_made(fake)))
        seen[api].append(("stored", stored(fake)))
    assert seen["async"] == seen["sync"]
    assert naps["async"] == naps["sync"]
    assert 10.0 in naps["sync"]  # the changed view's build was waited for
    moved = seen["sync"][2][1][0]
    assert [(c.id, c.method) for c in moved if c.action != "unchanged"] == [
        ("_design/orders", "move-and-switch")
    ]
    # Polls 10 s apart, heartbeat due every 20 s (lock_timeout / 3): the lock was
    # renewed while the build was waited for.
    beats = [
        body
        for method, path, body in requests_made(acouch)
        if method == "PUT" and path.endswith("_local/cloudant_odm.design")
        if body[1] and body[1].startswith("building")
    ]
    assert beats


async def test_losing_the_lock_midway_stops_the_async_deploy_too(
    acouch: FakeCouch, aclient: AsyncCloudantV1, clock: Clock
) -> None:
    await sync_design(aclient, DB, models("status"), poll_interval=0)
    acouch.build_polls = 50

    def steal(method: str, path: str, body: Any) -> None:
        if method == "GET" and path == "/_active_tasks":
            state = acouch.docs["_local/cloudant_odm.design"]
            thief = {**state["lock"], "host": "thief", "owner": "someone else"}
            acouch.put("_local/cloudant_odm.design", {**state, "lock": thief})

    acouch.on_request = steal
    with pytest.raises(DeployLockedError, match="taken over by thief"):
        # A heartbeat at every poll (lock_timeout / 3 < 10 s): the first one finds out.
        await sync_design(aclient, DB, models("customer"), lock_timeout=1.0, poll_interval=10)
    assert acouch.docs["_local/cloudant_odm.design"]["lock"]["host"] == "thief"
    assert acouch.design("orders_NEW") is not None  # never switched


async def test_a_cancelled_deploy_releases_its_lock(
    acouch: FakeCouch, aclient: AsyncCloudantV1
) -> None:
    await sync_design(aclient, DB, models("status"), poll_interval=0)
    acouch.build_polls = 10_000  # never built: the deploy waits until cancelled
    acouch.log.clear()
    task = asyncio.ensure_future(sync_design(aclient, DB, models("customer"), poll_interval=0.01))
    while not any(p == "/_active_tasks" for _, p in acouch.log):
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    state = acouch.docs["_local/cloudant_odm.design"]
    assert state["lock"] is None  # released on the way out, not left for lock_timeout
    assert state["last_deploy"]["result"].startswith("failed: CancelledError")


async def test_refused_before_anything_is_sent(
    acouch: FakeCouch, aclient: AsyncCloudantV1, client: CloudantV1
) -> None:
    async def show(event: Progress) -> None:  # would never run: refused
        raise AssertionError(event)

    with pytest.raises(TypeError, match=r"sync_design\(progress=...\): pass a plain function"):
        await sync_design(aclient, DB, models(), progress=show)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"use cloudant_odm.design.sync\(\)"):
        await sync_design(client, DB, models())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"use cloudant_odm.design.rollback\(\)"):
        await rollback_design(client, DB)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"use cloudant_odm.migrate\(\)"):
        await cloudant_aio.migrate(Session(client, db=DB), None, [])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="strategy must be one of"):
        await sync_design(aclient, DB, models(), strategy="sideways")  # type: ignore[arg-type]
    assert acouch.log == []
    # And the synchronous migrate refuses the async session.
    with pytest.raises(TypeError, match="takes a CloudantV1 client or a Session"):
        migrate(AsyncSession(aclient, db=DB), None, [])  # type: ignore[arg-type]

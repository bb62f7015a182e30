"""cloudant_odm.aio's sync_design, rollback_design and migrate against the real server
(local PouchDB Server, or CLOUDANT_URL): one database deployed and migrated through the
synchronous API, another through the async one, and what each stores is the same."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import attrs
import pytest
import requests
from _contacts import Contact, older, upgraded
from _design_couch import models
from _server import REQUEST_TIMEOUT, settle, unique_db_name

pytest.importorskip("httpx", reason="the async extra is not installed")

from cloudant_odm import Session, migrate
from cloudant_odm import aio as cloudant_aio
from cloudant_odm.aio import AsyncCloudantV1, AsyncSession
from cloudant_odm.client import CloudantV1
from cloudant_odm.design import (
    Generated,
    Index,
    Progress,
    SyncReport,
    generate,
    rollback,
    sync,
)
from cloudant_odm.migrations import CHECKPOINT_PREFIX, MigrationProgress

pytestmark = [pytest.mark.anyio, pytest.mark.server]

FAST = {"poll_interval": 0.05}


@pytest.fixture
def adb(server_url: str, server_http: requests.Session) -> Iterator[str]:
    """A second database, for the async API (the ``db_name`` fixture's is the sync
    API's)."""
    name = unique_db_name("cloudant-odm-aio-deploy")
    server_http.put(f"{server_url}/{name}", timeout=REQUEST_TIMEOUT).raise_for_status()
    yield name
    server_http.delete(f"{server_url}/{name}", timeout=REQUEST_TIMEOUT)


def design_state(client: CloudantV1, db: str) -> dict[str, Any]:
    """The design documents (without revisions), the Mango indexes and the indexes the
    deploy state records."""
    rows = client.post_all_docs(
        db, start_key="_design/", end_key="_design0", include_docs=True
    ).get_result()["rows"]
    docs = {r["id"]: {k: v for k, v in r["doc"].items() if k != "_rev"} for r in rows}
    indexes = client.get_indexes_information(db).get_result()["indexes"]
    state = client.get_local_document(db, "cloudant_odm.design").get_result()
    last = state["last_deploy"]
    return {
        "docs": docs,
        "indexes": sorted(indexes, key=lambda i: (str(i["ddoc"]), i["name"])),
        "recorded": state["indexes"],
        "lock": state["lock"],
        "last": (last["result"], last["created"], last["updated"], last["removed"]),
    }


def outcome(report: SyncReport) -> tuple[Any, ...]:
    return (report.changes, report.warnings, report.dry_run)


async def test_a_deploys_life_through_both_apis_stores_the_same(
    client: CloudantV1, aclient: AsyncCloudantV1, db_name: str, adb: str
) -> None:
    """Create (a view and a Mango index), nothing to do, a changed view moved and
    switched with the old copy kept, rollback to it, then a prune."""
    v1 = models("status", extra={"by_status": Index("status")})
    v2 = models("customer")
    with Session(client, db=db_name) as s:
        s.add_all([v1(customer="ann", total=Decimal(3)), v1(customer="bob", status="paid")])
    with Session(client, db=adb) as s:
        s.add_all([v1(customer="ann", total=Decimal(3)), v1(customer="bob", status="paid")])
    settle(client, db_name, 2)
    settle(client, adb, 2)

    seen: dict[str, list[Any]] = {}
    for api, db in (("sync", db_name), ("async", adb)):
        events: list[Progress] = []
        steps = []
        for declared, options in (
            (v1, {}),
            (v1, {}),
            (v2, {"keep_old": True}),
        ):
            kwargs: dict[str, Any] = {**FAST, "progress": events.append, **options}
            report = (
                sync(client, db, declared, **kwargs)
                if api == "sync"
                else await cloudant_aio.sync_design(aclient, db, declared, **kwargs)
            )
            steps.append(outcome(report))
        steps.append(("stored after the switch", design_state(client, db)))
        back = (
            rollback(client, db, ["orders"])
            if api == "sync"
            else await cloudant_aio.rollback_design(aclient, db, ["orders"])
        )
        steps.append(outcome(back))
        pruned = (
            sync(client, db, v2, prune=True, strategy="in-place", **FAST)
            if api == "sync"
            else await cloudant_aio.sync_design(
                aclient, db, v2, prune=True, strategy="in-place", **FAST
            )
        )
        steps.append(outcome(pruned))
        steps.append(("stored at the end", design_state(client, db)))
        grouped = client.post_view(db, "orders", "by_key", group=True).get_result()["rows"]
        steps.append(("view", grouped))
        # (Without the repeated "building" events, whose number depends on the timing,
        # and sorted: two builds may end in either order.)
        phases = sorted((e.target, e.phase) for e in events if e.phase != "building")
        steps.append(("progress", phases))
        seen[api] = steps

    assert seen["async"] == seen["sync"]
    created, unchanged, switched = (step[0] for step in seen["async"][:3])
    assert [c.action for c in created] == ["create", "create"]
    assert {c.action for c in unchanged} == {"unchanged"}
    assert [(c.id, c.method) for c in switched if c.action == "update"] == [
        ("_design/orders", "move-and-switch")
    ]
    assert "_design/orders_OLD" in seen["async"][3][1]["docs"]
    assert seen["async"][-2] == ("view", [{"key": "ann", "value": 3}, {"key": "bob", "value": 0}])


def stored_contacts(client: CloudantV1, db: str) -> dict[str, dict[str, Any]]:
    rows = client.post_all_docs(db, include_docs=True).get_result()["rows"]
    return {r["id"]: r["doc"] for r in rows if not r["id"].startswith("_design/")}


class Stop(Exception):
    """Ends a run midway, after a page's checkpoint is stored."""


async def stopped_run(
    api: str, client: CloudantV1, aclient: AsyncCloudantV1, db: str, progress: Any
) -> None:
    """A run of pages of 50 through ``api`` that ``progress`` stops."""
    if api == "sync":
        migrate(client, db, [Contact], batch_size=50, progress=progress)
    else:
        await cloudant_aio.migrate(aclient, db, [Contact], batch_size=50, progress=progress)


async def test_migrating_through_both_apis_stores_the_same_and_they_resume_each_other(
    client: CloudantV1, aclient: AsyncCloudantV1, db_name: str, adb: str
) -> None:
    total = 240
    others = [{"_id": f"x{n:02d}", "type": "invoice", "name": "Not Mine"} for n in range(5)]
    docs = [older(n) for n in range(total)] + [older(n, "mig-vip") for n in (900, 901)]
    indexes = Generated((), generate([Contact]).indexes)  # the indexes of older documents
    for db in (db_name, adb):
        client.post_bulk_docs(db, {"docs": [*docs, *others]})
        settle(client, db, len(docs) + len(others))
    sync(client, db_name, indexes, **FAST)
    await cloudant_aio.sync_design(aclient, adb, indexes, **FAST)
    assert design_state(client, adb)["indexes"] == design_state(client, db_name)["indexes"]

    def stop_after(pages: int, events: list[MigrationProgress]) -> Any:
        def progress(event: MigrationProgress) -> None:
            events.append(event)
            if event.model == "Contact" and event.done >= pages * 50 and not event.finished:
                raise Stop

        return progress

    seen: dict[str, Any] = {}
    for api, db in (("sync", db_name), ("async", adb)):
        events: list[MigrationProgress] = []
        # Stopped after two pages by one API, resumed by the other (the checkpoint is
        # the same document), then nothing left for the first.
        with pytest.raises(Stop):
            await stopped_run(api, client, aclient, db, stop_after(2, events))
        if api == "sync":
            report = await cloudant_aio.migrate(
                AsyncSession(aclient, db=db), None, [Contact], batch_size=50
            )
            again = migrate(client, db, [Contact])
        else:
            report = migrate(Session(client, db=db), None, [Contact], batch_size=50)
            again = await cloudant_aio.migrate(aclient, db, [Contact])
        checkpoint = client.get_local_document(db, f"{CHECKPOINT_PREFIX}mig-contact")
        kept = {k: v for k, v in checkpoint.get_result().items() if k not in ("_rev", "started")}
        kept.pop("updated")
        stored = stored_contacts(client, db)
        seen[api] = {
            "stopped": [(e.model, e.done, e.total, e.migrated) for e in events],
            "report": {**attrs.asdict(report), "db": report.db == db},
            "again": {**attrs.asdict(again), "db": again.db == db},
            "checkpoint": kept,
            "stored": {k: {f: v for f, v in d.items() if f != "_rev"} for k, d in stored.items()},
            "revs": sorted({d["_rev"].split("-")[0] for d in stored.values()}),
        }

    assert seen["async"] == seen["sync"]
    report = seen["async"]["report"]
    contact, vip = report["models"]
    assert contact["resumed"] is True
    assert (contact["scanned"], contact["migrated"], contact["failed"]) == (total, total, 0)
    assert (vip["scanned"], vip["migrated"]) == (2, 2)
    assert seen["async"]["again"]["models"][0]["scanned"] == 0
    assert seen["async"]["revs"] == ["1", "2"]  # each older document written once
    stored = seen["async"]["stored"]
    assert all(stored[f"c{n:05d}"] == upgraded(n) for n in range(total))
    assert all(stored[f"x{n:02d}"]["name"] == "Not Mine" for n in range(5))

"""design.sync against a fake CouchDB 3 / Cloudant (tests/_design_couch.py) served
through ``responses``."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import unquote

import pytest
from _design_couch import DB, SHARD_RANGES, URL, FakeCouch, fast, models

from cloudant_odm import Document
from cloudant_odm.client import CloudantV1, NoAuthAuthenticator, flows
from cloudant_odm.design import (
    BuildTimeoutError,
    DeployConflictError,
    DeployError,
    DeployLockedError,
    Filter,
    Index,
    Progress,
    SearchIndex,
    View,
    generate,
    rollback,
    sync,
)


@pytest.fixture
def couch() -> Iterator[FakeCouch]:
    fake = FakeCouch()
    with fake.mock:
        yield fake


@pytest.fixture
def client() -> CloudantV1:
    service = CloudantV1(authenticator=NoAuthAuthenticator())
    service.set_service_url(URL)
    return service


def deploy_v1(couch: FakeCouch, client: CloudantV1) -> type[Document]:
    v1 = models("status")
    sync(client, DB, v1, **fast())
    couch.log.clear()
    couch.bodies.clear()
    return v1


# --- create, unchanged -------------------------------------------------------------------


def test_first_sync_creates_then_a_second_writes_nothing(
    couch: FakeCouch, client: CloudantV1
) -> None:
    order = models(extra={"idx": Index("status")})
    report = sync(client, DB, order, **fast())
    index_id = f"_design/{order.idx.ddoc}/json/idx"  # type: ignore[attr-defined]
    assert report.created == ["_design/orders", index_id]
    assert report.updated == report.removed == []
    stored = couch.design("orders")
    assert stored is not None
    assert stored["meta"] == {"generated_by": "cloudant_odm", "models": ["Order"]}
    expected = generate(order)["orders"].content
    assert {k: v for k, v in stored.items() if k not in ("_id", "_rev")} == expected
    state = couch.docs["_local/cloudant_odm.design"]
    assert state["lock"] is None
    assert state["last_deploy"]["result"] == "ok"
    assert state["indexes"] == [
        {"ddoc": order.idx.ddoc, "name": "idx", "type": "json", "group": "orders-idx"}  # type: ignore[attr-defined]
    ]

    couch.log.clear()
    again = sync(client, DB, order, **fast())
    assert again.unchanged == ["_design/orders", f"_design/{order.idx.ddoc}/json/idx"]  # type: ignore[attr-defined]
    assert not again.changed
    assert couch.writes() == []
    assert [m for m, _ in couch.log] == ["POST", "GET", "GET"]  # _all_docs, _index, _local


def test_put_bodies_name_their_own_target(couch: FakeCouch, client: CloudantV1) -> None:
    # PouchDB Server stores a body's _id over the URL's: a _NEW upload carrying the live
    # id would overwrite the live design document.
    deploy_v1(couch, client)
    sync(client, DB, models("customer"), **fast())
    puts = [(p, b) for m, p, b in couch.bodies if m == "PUT" and "/_design/" in p]
    assert puts
    for path, body in puts:
        assert body["_id"] == unquote(path.split(f"/{DB}/", 1)[1])


def test_dry_run_writes_nothing(couch: FakeCouch, client: CloudantV1) -> None:
    deploy_v1(couch, client)
    report = sync(client, DB, models("customer"), dry_run=True)
    assert report.dry_run
    assert report.updated == ["_design/orders"]
    assert report.changes[0].method == "move-and-switch"
    assert '-      var key0 = doc["status"];' in report.diff()
    assert '+      var key0 = doc["customer"];' in report.diff()
    assert couch.writes() == []
    assert "would be updated" in report.summary()


def test_missing_database(couch: FakeCouch, client: CloudantV1) -> None:
    with pytest.raises(DeployError, match="database 'nope' does not exist"):
        sync(client, "nope", models(), **fast())


# --- move and switch ---------------------------------------------------------------------


def test_move_and_switch_request_sequence(couch: FakeCouch, client: CloudantV1) -> None:
    deploy_v1(couch, client)
    live_rev = couch.design("orders")["_rev"]  # type: ignore[index]
    live_sig = couch.signature("_design/orders")
    couch.build_polls = 3
    report = sync(client, DB, models("customer"), **fast())

    writes = couch.writes()
    assert writes[0] == ("PUT", f"/{DB}/_local/cloudant_odm.design")  # the lock first
    design_writes = [w for w in writes if "_local" not in w[1]]
    assert design_writes[0] == ("COPY", f"/{DB}/_design/orders?rev={live_rev}")
    assert design_writes[1] == ("PUT", f"/{DB}/_design/orders_NEW")
    assert design_writes[2][0] == "COPY"
    assert design_writes[2][1].startswith(f"/{DB}/_design/orders_NEW?rev=1-")
    assert design_writes[3][0] == "DELETE"
    assert "orders_NEW" in design_writes[3][1]
    assert design_writes[4][0] == "DELETE"
    assert "orders_OLD" in design_writes[4][1]
    assert writes[-1] == ("PUT", f"/{DB}/_local/cloudant_odm.design")  # released last

    # The switch named the live revision in Destination, the backup none (new _OLD).
    # The backup made a new _OLD (no rev); the switch named the live revision.
    assert couch.destinations == ["_design/orders_OLD", f"_design/orders?rev={live_rev}"]
    # The trigger came before any waiting query, and view cleanup at the end.
    paths = [p for _, p in couch.log]
    trigger = paths.index(f"/{DB}/_design/orders_NEW/_view/by_key")
    assert paths.index("/_active_tasks") > trigger
    assert paths[-2] == f"/{DB}/_view_cleanup"
    trigger_body = next(b for m, p, b in couch.bodies if p.endswith("orders_NEW/_view/by_key"))
    assert trigger_body == {"limit": 0, "update": "lazy"}

    # Same signature before and after the COPY: the switch kept the built index.
    new_sig = couch.signature("_design/orders")
    assert new_sig != live_sig
    assert report.changes[0].method == "move-and-switch"
    assert report.changes[0].signature == new_sig
    assert report.warnings == []
    assert couch.design("orders_NEW") is None
    assert couch.design("orders_OLD") is None
    assert 'doc["customer"]' in couch.design("orders")["views"]["by_key"]["map"]  # type: ignore[index]


def test_signature_checked_after_the_switch(couch: FakeCouch, client: CloudantV1) -> None:
    deploy_v1(couch, client)
    # A server whose copy does not keep the index (e.g. different options).
    couch.sig_salt["_design/orders"] = "other"
    report = sync(client, DB, models("customer"), **fast())
    assert any("queries will wait for a rebuild" in w for w in report.warnings)


def test_a_query_during_the_build_uses_the_live_index(couch: FakeCouch, client: CloudantV1) -> None:
    deploy_v1(couch, client)
    couch.build_polls = 4
    live_sig = couch.signature("_design/orders")
    seen: list[tuple[str, bool]] = []

    def progress(event: Progress) -> None:
        if event.phase == "building":
            live = couch.design("orders")
            assert live is not None
            # The live document is untouched and its index built while _NEW builds.
            seen.append((couch.signature("_design/orders"), live_sig in couch.built))

    sync(client, DB, models("customer"), progress=progress, **fast())
    assert seen
    assert all(s == (live_sig, True) for s in seen)


def test_progress_from_active_tasks_and_info(couch: FakeCouch, client: CloudantV1) -> None:
    deploy_v1(couch, client)
    couch.build_polls = 4
    events: list[Progress] = []
    sync(client, DB, models("customer"), progress=events.append, **fast())
    building = [e for e in events if e.phase == "building" and e.total_changes]
    # Two shard tasks of 100 changes each, summed; the other database's task ignored.
    assert [(e.changes_done, e.total_changes) for e in building] == [
        (50, 200),
        (100, 200),
        (150, 200),
    ]
    assert [e.fraction for e in building] == [0.25, 0.5, 0.75]
    phases = [e.phase for e in events]
    assert phases.index("backup") < phases.index("stage") < phases.index("building")
    assert phases.index("built") < phases.index("switch") < phases.index("done")
    # No verification query while _active_tasks / _info said the build was running.
    verifications = [
        i
        for i, (m, p, b) in enumerate(couch.bodies)
        if p.endswith("orders_NEW/_view/by_key") and b == {"limit": 1}
    ]
    assert len(verifications) == 1
    last_tasks = max(i for i, (_, p, _b) in enumerate(couch.bodies) if p == "/_active_tasks")
    assert verifications[0] > last_tasks


def test_without_active_tasks_info_says_when_the_build_ends(
    couch: FakeCouch, client: CloudantV1
) -> None:
    deploy_v1(couch, client)
    couch.tasks_status = 403  # not a server admin
    couch.build_polls = 3
    events: list[Progress] = []
    report = sync(client, DB, models("customer"), progress=events.append, **fast())
    assert report.updated == ["_design/orders"]
    assert all(e.total_changes is None for e in events)
    assert [p for _, p in couch.log].count("/_active_tasks") == 1  # not asked again
    # _info said "updater running" until the end: one verification query only.
    verifications = [b for _, p, b in couch.bodies if p.endswith("orders_NEW/_view/by_key")]
    assert verifications == [{"limit": 0, "update": "lazy"}, {"limit": 1}]


def test_without_any_progress_data_the_waiting_query_measures_the_build(
    couch: FakeCouch, client: CloudantV1
) -> None:
    # PouchDB Server: _active_tasks always [], _info "Not implemented.".
    deploy_v1(couch, client)
    couch.tasks_status = 404
    couch.info_available = False
    couch.slow_queries = True
    couch.build_polls = 3
    report = sync(client, DB, models("customer"), **fast())
    assert report.updated == ["_design/orders"]
    assert report.changes[0].signature is None  # nothing to compare
    waits = [b for _, p, b in couch.bodies if p.endswith("orders_NEW/_view/by_key")]
    assert waits[1:] == [{"limit": 1}] * 3  # timed out twice while building, then answered


def test_in_place_strategy(couch: FakeCouch, client: CloudantV1) -> None:
    deploy_v1(couch, client)
    live_rev = couch.design("orders")["_rev"]  # type: ignore[index]
    report = sync(client, DB, models("customer"), strategy="in-place", **fast())
    assert report.changes[0].method == "in-place"
    design_writes = [w for w in couch.writes() if "_local" not in w[1]]
    assert design_writes == [("PUT", f"/{DB}/_design/orders")]
    put = next(b for m, p, b in couch.bodies if m == "PUT" and p.endswith("_design/orders"))
    assert put["_rev"] == live_rev
    with pytest.raises(ValueError, match="strategy"):
        sync(client, DB, models(), strategy="yolo")  # type: ignore[arg-type]


def test_a_change_without_index_changes_is_written_in_place(
    couch: FakeCouch, client: CloudantV1
) -> None:
    deploy_v1(couch, client)
    with_filter = models(extra={"paid": Filter("function (doc, req) { return true; }")})
    report = sync(client, DB, with_filter, **fast())
    assert report.changes[0].method == "in-place"
    assert [w for w in couch.writes() if "_local" not in w[1]] == [("PUT", f"/{DB}/_design/orders")]
    assert not any("_view/" in p for _, p in couch.log)  # nothing to build


def test_partitioned_design_document_options(couch: FakeCouch, client: CloudantV1) -> None:
    class Part(Document):
        class Meta:
            partitioned = True
            partition_from = "shop"
            design = "parts"

        shop: str
        by_shop = View.emit(key="shop", reduce="_count")

    sync(client, DB, Part, **fast())
    assert couch.design("parts")["options"] == {"partitioned": True}  # type: ignore[index]
    # Verified with partition queries (a global one is refused), one partition in each
    # shard range, so that every shard's index is built.
    assert not any(p.startswith(f"/{DB}/_design/parts/_view") for _, p in couch.log)
    queried = sorted(set(couch.partitions))
    ranges = {SHARD_RANGES[zlib.crc32(key.encode()) % 2] for key in queried}
    assert ranges == set(SHARD_RANGES)
    assert len(queried) == 2


def test_design_documents_default_to_partitioned_in_a_partitioned_database(
    couch: FakeCouch, client: CloudantV1
) -> None:
    couch.partitioned = True  # a design document without options is partitioned here
    sync(client, DB, models("customer"), **fast())
    assert couch.partitions  # so its views were verified per partition
    assert not any("/_design/orders/_view" in p and "_partition" not in p for _, p in couch.log)


# --- failures ------------------------------------------------------------------------------


def test_a_failed_verification_switches_nothing(couch: FakeCouch, client: CloudantV1) -> None:
    deploy_v1(couch, client)
    live = dict(couch.design("orders") or {})
    couch.fail[("POST", rf"/{DB}/_design/orders_NEW/_view/by_key")] = (
        500,
        {"error": "os_process_error", "reason": "ReferenceError: x is not defined"},
    )
    with pytest.raises(DeployError, match=r"verification query .* failed"):
        sync(client, DB, models("customer"), **fast())
    assert couch.design("orders") == live
    assert couch.design("orders_NEW") is not None  # kept for a later sync
    state = couch.docs["_local/cloudant_odm.design"]
    assert state["lock"] is None
    assert state["last_deploy"]["result"].startswith("failed: DeployError")


def test_build_timeout(couch: FakeCouch, client: CloudantV1) -> None:
    deploy_v1(couch, client)
    couch.build_polls = 1000
    with pytest.raises(BuildTimeoutError, match="were not built within"):
        sync(client, DB, models("customer"), timeout=0.05, poll_interval=0.01)
    assert couch.docs["_local/cloudant_odm.design"]["lock"] is None


def test_the_live_document_changing_during_the_build(couch: FakeCouch, client: CloudantV1) -> None:
    deploy_v1(couch, client)

    def meddle(method: str, path: str, body: Any) -> None:
        if method == "GET" and path == "/_active_tasks":
            couch.put("_design/orders", {**couch.docs["_design/orders"], "x": 1})

    couch.on_request = meddle
    with pytest.raises(DeployConflictError, match="changed by someone else"):
        sync(client, DB, models("customer"), **fast())
    assert couch.design("orders")["x"] == 1  # type: ignore[index]


def test_unexpected_index_answer(couch: FakeCouch, client: CloudantV1) -> None:
    couch.fail[("POST", rf"/{DB}/_index")] = (200, {"result": "weird"})
    with pytest.raises(DeployError, match="unexpected answer"):
        sync(client, DB, models(extra={"idx": Index("status")}), **fast())


def test_refuses_to_replace_a_mango_design_document(couch: FakeCouch, client: CloudantV1) -> None:
    couch.seed("_design/orders", {"language": "query", "views": {"x": {}}})
    with pytest.raises(DeployError, match="Mango"):
        sync(client, DB, models(), **fast())


def test_search_without_a_search_service(couch: FakeCouch, client: CloudantV1) -> None:
    couch.search = False
    order = models(extra={"fulltext": SearchIndex(fields=["customer"])})
    report = sync(client, DB, order, **fast())
    assert report.created == ["_design/orders"]
    assert any("search indexes could not be verified" in w for w in report.warnings)

    couch.search = True
    couch.fail[("POST", rf"/{DB}/_design/orders_NEW/_search/fulltext")] = (
        400,
        {"error": "bad_request", "reason": "index function: SyntaxError"},
    )
    changed = models("customer", extra={"fulltext": SearchIndex(fields=["customer", "status"])})
    with pytest.raises(DeployError, match="verification query"):
        sync(client, DB, changed, **fast())


# --- lock, resume, rollback ------------------------------------------------------------------


def lock_record(age: float, host: str = "ci-1") -> dict[str, Any]:
    beat = (datetime.now(timezone.utc) - timedelta(seconds=age)).isoformat(timespec="seconds")
    return {
        "owner": "someone",
        "host": host,
        "pid": 42,
        "acquired_at": beat,
        "heartbeat_at": beat,
        "ddocs": ["orders"],
        "step": "building orders_NEW",
    }


def test_a_held_lock_refuses_a_second_deploy(couch: FakeCouch, client: CloudantV1) -> None:
    couch.seed("_local/cloudant_odm.design", {"format": 1, "lock": lock_record(10)})
    with pytest.raises(DeployLockedError, match="in progress: ci-1") as info:
        sync(client, DB, models(), **fast())
    assert info.value.holder["host"] == "ci-1"
    assert "--resume" in str(info.value)
    assert list(couch.writes()) == []
    # Nothing to do needs no lock: an unchanged sync still answers.
    couch.docs.pop("_local/cloudant_odm.design")
    sync(client, DB, models(), **fast())
    couch.seed("_local/cloudant_odm.design", {"format": 1, "lock": lock_record(10)})
    assert not sync(client, DB, models(), **fast()).changed


def test_a_stale_lock_is_taken_over(couch: FakeCouch, client: CloudantV1) -> None:
    couch.seed("_local/cloudant_odm.design", {"format": 1, "lock": lock_record(3600)})
    report = sync(client, DB, models(), lock_timeout=600, **fast())
    assert report.resumed_from is not None
    assert report.resumed_from["host"] == "ci-1"
    assert couch.docs["_local/cloudant_odm.design"]["lock"] is None


def test_resume_takes_over_and_reuses_the_staged_copy(couch: FakeCouch, client: CloudantV1) -> None:
    v1 = deploy_v1(couch, client)
    v2 = models("customer")
    # A deploy that crashed after staging _NEW (and building it).
    live = couch.docs["_design/orders"]
    couch.seed("_design/orders_OLD", dict(live))
    couch.seed("_design/orders_NEW", generate(v2)["orders"].content)
    couch.seed(
        "_local/cloudant_odm.design", {"format": 1, "lock": lock_record(120)}
    )  # crashed: no heartbeat for 2 min
    couch.log.clear()
    with pytest.raises(DeployLockedError):
        sync(client, DB, v2, **fast())
    report = sync(client, DB, v2, resume=True, **fast())
    assert report.resumed_from is not None
    design_writes = [w for w in couch.writes() if "_local" not in w[1]]
    # No new backup (identical _OLD), no new upload (identical _NEW): just the switch.
    assert design_writes[0][0] == "COPY"
    assert "orders_NEW" in design_writes[0][1]
    assert ("PUT", f"/{DB}/_design/orders_NEW") not in design_writes
    assert v1 is not v2


def test_resume_never_takes_over_a_live_deploy(couch: FakeCouch, client: CloudantV1) -> None:
    deploy_v1(couch, client)
    couch.seed("_local/cloudant_odm.design", {"format": 1, "lock": lock_record(5)})
    with pytest.raises(DeployLockedError):  # its heartbeat is 5 s old: it is running
        sync(client, DB, models("customer"), resume=True, **fast())


def test_losing_the_lock_midway_stops_the_deploy(couch: FakeCouch, client: CloudantV1) -> None:
    deploy_v1(couch, client)
    couch.build_polls = 50

    def steal(method: str, path: str, body: Any) -> None:
        if method == "GET" and path == "/_active_tasks":
            state = couch.docs["_local/cloudant_odm.design"]
            couch.put("_local/cloudant_odm.design", {**state, "lock": lock_record(0, "thief")})

    couch.on_request = steal
    with pytest.raises(DeployLockedError, match="taken over by thief"):
        # heartbeat every poll: lock_timeout / 3 = 0
        sync(client, DB, models("customer"), lock_timeout=0.001, **fast())
    assert couch.docs["_local/cloudant_odm.design"]["lock"]["host"] == "thief"
    assert couch.design("orders_NEW") is not None  # never switched


def test_two_deploys_racing_for_the_lock(couch: FakeCouch, client: CloudantV1) -> None:
    def race(method: str, path: str, body: Any) -> None:
        if method == "PUT" and path.endswith("_local/cloudant_odm.design") and couch.on_request:
            couch.on_request = None
            couch.put("_local/cloudant_odm.design", {"format": 1, "lock": lock_record(0, "b")})

    couch.on_request = race
    with pytest.raises(DeployLockedError, match="took the lock just now"):
        sync(client, DB, models(), **fast())


def test_rollback_restores_the_old_copy(couch: FakeCouch, client: CloudantV1) -> None:
    v1 = deploy_v1(couch, client)
    sync(client, DB, models("customer"), keep_old=True, **fast())
    assert couch.design("orders_OLD") is not None
    couch.log.clear()
    report = rollback(client, DB, ["orders"])
    restored = couch.design("orders")
    assert restored is not None
    assert 'doc["status"]' in restored["views"]["by_key"]["map"]
    assert {k: v for k, v in restored.items() if k not in ("_id", "_rev")} == generate(v1)[
        "orders"
    ].content
    assert couch.design("orders_OLD") is None
    assert report.updated == ["_design/orders"]
    assert report.changes[0].method == "rollback"
    assert report.removed == ["_design/orders_OLD"]
    assert (f"/{DB}/_view_cleanup") in [p for _, p in couch.log]
    assert couch.docs["_local/cloudant_odm.design"]["last_deploy"]["result"] == "rolled back"


def test_rollback_of_a_crashed_deploy(couch: FakeCouch, client: CloudantV1) -> None:
    deploy_v1(couch, client)
    live = dict(couch.docs["_design/orders"])
    couch.seed("_design/orders_OLD", live)
    couch.seed("_design/orders_NEW", generate(models("customer"))["orders"].content)
    couch.seed("_local/cloudant_odm.design", {"format": 1, "lock": lock_record(120)})
    with pytest.raises(DeployLockedError):
        rollback(client, DB)
    report = rollback(client, DB, force=True)
    # The live document was never switched: nothing to restore, only clean up.
    assert report.unchanged == ["_design/orders"]
    assert sorted(report.removed) == ["_design/orders_NEW", "_design/orders_OLD"]
    assert couch.docs["_design/orders"]["_rev"] == live["_rev"]
    assert rollback(client, DB, ["nothing"]).warnings == [
        "_design/nothing: no _OLD copy to roll back to"
    ]


# --- Mango indexes, prune, leftovers -----------------------------------------------------


def test_a_changed_mango_index_is_built_beside_the_old_one(
    couch: FakeCouch, client: CloudantV1
) -> None:
    v1 = models(extra={"idx": Index("status")})
    sync(client, DB, v1, **fast())
    old_ddoc = v1.idx.ddoc  # type: ignore[attr-defined]
    # An index in the same database that this library did not create.
    couch.indexes[("theirs", "x")] = {
        "ddoc": "_design/theirs",
        "name": "x",
        "type": "json",
        "def": {},
    }
    couch.log.clear()
    couch.bodies.clear()
    v2 = models(extra={"idx": Index("status", "customer")})
    new_ddoc = v2.idx.ddoc  # type: ignore[attr-defined]
    report = sync(client, DB, v2, **fast())
    assert new_ddoc != old_ddoc
    assert report.created == [f"_design/{new_ddoc}/json/idx"]
    assert report.removed == [f"_design/{old_ddoc}/json/idx"]
    paths = [p for _, p in couch.log]
    created = paths.index(f"/{DB}/_index")
    verified = paths.index(f"/{DB}/_find")
    deleted = paths.index(f"/{DB}/_index/_design/{old_ddoc}/json/idx")
    assert created < verified < deleted  # the old one goes once the new one answers
    find = next(b for m, p, b in couch.bodies if p.endswith("/_find"))
    assert find["use_index"] == [new_ddoc, "idx"]
    assert find["selector"] == {"status": {"$exists": True}, "customer": {"$exists": True}}
    assert ("theirs", "x") in couch.indexes
    registry = couch.docs["_local/cloudant_odm.design"]["indexes"]
    assert [e["ddoc"] for e in registry] == [new_ddoc]


def test_an_existing_index_is_success(couch: FakeCouch, client: CloudantV1) -> None:
    order = models(extra={"idx": Index("status")})
    # Created by a deploy that crashed before recording it.
    couch.post_index(order.idx.definition())  # type: ignore[attr-defined]
    report = sync(client, DB, [order], **fast())
    assert report.unchanged[-1].endswith("/json/idx")
    assert report.created == ["_design/orders"]
    registry = couch.docs["_local/cloudant_odm.design"]["indexes"]
    assert [e["name"] for e in registry] == ["idx"]


def test_prune_removes_only_what_this_library_deployed(
    couch: FakeCouch, client: CloudantV1
) -> None:
    class Old(Document):
        class Meta:
            design = "old-stuff"

        name: str
        v = View.emit(key="name")
        idx = Index("name")

    sync(client, DB, Old, **fast())
    couch.seed("_design/handmade", {"views": {"x": {"map": "function (doc) {}"}}})
    order = models()

    kept = sync(client, DB, order, **fast())
    assert couch.design("old-stuff") is not None
    assert any("no longer declared" in w and "old-stuff" in w for w in kept.warnings)
    assert any("Mango index 'idx'" in w for w in kept.warnings)

    dry = sync(client, DB, order, prune=True, dry_run=True)
    assert sorted(dry.removed) == ["_design/old-stuff", f"_design/{Old.idx.ddoc}/json/idx"]
    assert "-views.v.map:" in dry.diff()

    report = sync(client, DB, order, prune=True, **fast())
    assert sorted(report.removed) == sorted(dry.removed)
    assert couch.design("old-stuff") is None
    assert couch.design("handmade") is not None  # not ours: never touched
    assert (Old.idx.ddoc, "idx") not in couch.indexes
    assert couch.docs["_local/cloudant_odm.design"]["indexes"] == []


def test_a_leftover_staging_copy_is_removed(couch: FakeCouch, client: CloudantV1) -> None:
    v1 = deploy_v1(couch, client)
    couch.seed("_design/orders_NEW", generate(models("customer"))["orders"].content)
    report = sync(client, DB, v1, **fast())
    assert report.removed == ["_design/orders_NEW"]
    assert report.unchanged == ["_design/orders"]
    assert couch.design("orders_NEW") is None


def test_take_over_of_a_hand_made_design_document_is_reported(
    couch: FakeCouch, client: CloudantV1
) -> None:
    couch.seed(
        "_design/orders", {"language": "javascript", "views": {"x": {"map": "function (doc) {}"}}}
    )
    report = sync(client, DB, models(), **fast())
    assert any("not deployed by cloudant_odm" in w for w in report.warnings)
    assert report.updated == ["_design/orders"]


def test_sleep_between_polls(
    couch: FakeCouch, client: CloudantV1, monkeypatch: pytest.MonkeyPatch
) -> None:
    naps: list[float] = []
    monkeypatch.setattr(flows, "sleep", naps.append)
    deploy_v1(couch, client)
    couch.build_polls = 3
    sync(client, DB, models("customer"), poll_interval=1.5)
    assert naps
    assert set(naps) == {1.5}

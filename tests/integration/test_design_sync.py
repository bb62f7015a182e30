"""design.sync against the test server (PouchDB Server unless CLOUDANT_URL is set).

What PouchDB can't show (``_info`` signatures, ``_active_tasks`` progress, search) is
covered with ``responses`` in tests/unit/test_design_sync_mocked.py; here the whole
procedure runs for real: create, no-op, move-and-switch with queries during the build,
the lock, prune, dry run, rollback, Mango index versions, validate_doc_update and
filters.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import types
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from _server import ServerConfig, eventually, settle

from cloudant_odm import BulkWriteError, Document, Session
from cloudant_odm.client import CloudantV1, ForbiddenError, NotFoundError
from cloudant_odm.design import (
    DeployLockedError,
    Filter,
    Index,
    Progress,
    SearchIndex,
    ValidateDocUpdate,
    View,
    generate,
    rollback,
    sync,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
WRITE_METHODS = {"PUT", "DELETE", "COPY"}
FAST = {"poll_interval": 0.05}


def order_model(key: str = "status", **extra: Any) -> type[Document]:
    """A fresh Order class whose view ``by_key`` emits ``key`` with ``total`` summed."""
    namespace: dict[str, Any] = {
        "__annotations__": {"customer": "str", "total": "Decimal", "status": "str"},
        "total": Decimal("0"),
        "status": "new",
        "Meta": type("Meta", (), {"design": "orders", "doc_type": "order"}),
        "__module__": __name__,
        # A class "defined in a function": the registry lets such classes replace
        # each other (every test defines its own Order).
        "__qualname__": "order_model.<locals>.Order",
        "by_key": View.emit(key=key, value="total", reduce="_sum"),
        **extra,
    }
    return types.new_class("Order", (Document,), exec_body=lambda ns: ns.update(namespace))


def record_requests(client: CloudantV1) -> list[tuple[str, str]]:
    """Every request the client sends from now on, as (method, path)."""
    seen: list[tuple[str, str]] = []

    def hook(response: Any, *args: Any, **kwargs: Any) -> None:
        seen.append((response.request.method, response.request.path_url))

    client.get_http_client().hooks["response"].append(hook)
    return seen


def writes(seen: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [
        (m, p)
        for m, p in seen
        if m in WRITE_METHODS or (m == "POST" and p.split("?")[0].endswith("/_index"))
    ]


def add_orders(client: CloudantV1, db: str, model: type[Document], total: int = 3) -> None:
    """Three more orders; ``total``: how many the database holds then (views read one
    copy per shard range: on a cluster, wait until every copy lists them)."""
    with Session(client, db=db) as session:
        session.add_all(
            [
                model(customer="ann", total=Decimal("9.50"), status="new"),
                model(customer="bob", total=Decimal("2"), status="paid"),
                model(customer="ann", total=Decimal("1"), status="paid"),
            ]
        )
    settle(client, db, total)


def grouped(client: CloudantV1, db: str) -> dict[Any, Any]:
    result = client.post_view(db, "orders", "by_key", group=True).get_result()
    return {row["key"]: row["value"] for row in result["rows"]}


def test_first_sync_creates_and_the_second_writes_nothing(client: CloudantV1, db_name: str) -> None:
    order = order_model(status_idx=Index("status"))
    add_orders(client, db_name, order)
    report = sync(client, db_name, order, **FAST)
    index_id = f"_design/{order.status_idx.ddoc}/json/status_idx"  # type: ignore[attr-defined]
    assert report.created == ["_design/orders", index_id]
    assert grouped(client, db_name) == {"new": 9.5, "paid": 3}

    seen = record_requests(client)
    again = sync(client, db_name, order, **FAST)
    assert again.unchanged == ["_design/orders", index_id]
    assert not again.changed
    assert writes(seen) == []
    assert not any(m == "PUT" for m, _ in seen)
    live = client.get_design_document(db_name, "orders").get_result()
    assert live["_rev"].startswith("1-")


def assert_grouped(client: CloudantV1, db: str, expected: dict[str, Any]) -> None:
    assert grouped(client, db) == expected


def test_a_changed_view_is_moved_and_switched_while_queries_keep_answering(
    client: CloudantV1, db_name: str
) -> None:
    v1 = order_model("status")
    add_orders(client, db_name, v1)
    sync(client, db_name, v1, **FAST)
    old_rows = grouped(client, db_name)
    assert old_rows == {"new": 9.5, "paid": 3}

    v2 = order_model("customer")
    paused, go_on = threading.Event(), threading.Event()
    events: list[Progress] = []
    outcome: dict[str, Any] = {}

    def progress(event: Progress) -> None:
        events.append(event)
        if event.phase == "building" and event.target == "orders" and not paused.is_set():
            paused.set()
            assert go_on.wait(60)

    def deploy() -> None:
        try:
            outcome["report"] = sync(client, db_name, v2, progress=progress, **FAST)
        except BaseException as exc:  # reported below, in the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=deploy)
    thread.start()
    try:
        assert paused.wait(60), outcome
        # Mid-deploy: the new version is staged, the live one still answers, with the
        # old index, and a second deploy is refused by the lock.
        staged = client.get_design_document(db_name, "orders_NEW").get_result()
        assert 'doc["customer"]' in staged["views"]["by_key"]["map"]
        assert client.get_design_document(db_name, "orders_OLD").get_result()
        assert_grouped(client, db_name, old_rows)
        add_orders(client, db_name, v1, total=6)
        assert_grouped(client, db_name, {"new": 19.0, "paid": 6})
        with pytest.raises(DeployLockedError, match="in progress"):
            sync(client, db_name, order_model("total"), **FAST)
    finally:
        go_on.set()
        thread.join(60)
    assert "error" not in outcome, outcome.get("error")
    report = outcome["report"]
    assert report.updated == ["_design/orders"]
    assert report.changes[0].method == "move-and-switch"
    eventually(lambda: assert_grouped(client, db_name, {"ann": 21.0, "bob": 4.0}))
    with pytest.raises(NotFoundError):
        client.get_design_document(db_name, "orders_NEW")
    with pytest.raises(NotFoundError):
        client.get_design_document(db_name, "orders_OLD")
    phases = [e.phase for e in events if e.target == "orders"]
    assert phases[:2] == ["backup", "stage"]
    assert phases[-2:] == ["built", "switch"]
    live = client.get_design_document(db_name, "orders").get_result()
    assert {k: v for k, v in live.items() if k not in ("_id", "_rev")} == generate(v2)[
        "orders"
    ].content


def test_dry_run(client: CloudantV1, db_name: str) -> None:
    v1 = order_model("status")
    seen = record_requests(client)
    plan = sync(client, db_name, v1, dry_run=True)
    assert plan.created == ["_design/orders"]
    assert '+views.by_key.reduce: "_sum"' in plan.diff()
    assert writes(seen) == []
    with pytest.raises(NotFoundError):
        client.get_design_document(db_name, "orders")
    sync(client, db_name, v1, **FAST)
    plan = sync(client, db_name, order_model("customer"), dry_run=True)
    assert plan.updated == ["_design/orders"]
    assert '+      var key0 = doc["customer"];' in plan.diff()
    assert not sync(client, db_name, v1, dry_run=True).changed


def test_prune(client: CloudantV1, db_name: str) -> None:
    class Legacy(Document):
        class Meta:
            design = "legacy"
            doc_type = "legacy"

        name: str
        by_name = View.emit(key="name")
        name_idx = Index("name")

    sync(client, db_name, [Legacy, order_model()], **FAST)
    client.put_design_document(
        db_name, "handmade", {"views": {"all": {"map": "function (doc) { emit(doc._id); }"}}}
    )
    current = order_model()
    kept = sync(client, db_name, current, **FAST)
    assert not kept.changed
    assert any("_design/legacy is no longer declared" in w for w in kept.warnings)

    report = sync(client, db_name, current, prune=True, **FAST)
    legacy_index = f"_design/{Legacy.name_idx.ddoc}/json/name_idx"
    assert sorted(report.removed) == ["_design/legacy", legacy_index]
    with pytest.raises(NotFoundError):
        client.get_design_document(db_name, "legacy")
    names = {i["name"] for i in client.get_indexes_information(db_name).get_result()["indexes"]}
    assert "name_idx" not in names
    assert client.get_design_document(db_name, "handmade").get_result()  # not ours
    assert client.get_design_document(db_name, "orders").get_result()


def test_a_changed_mango_index_replaces_the_old_version(client: CloudantV1, db_name: str) -> None:
    v1 = order_model(by_status=Index("status"))
    add_orders(client, db_name, v1)
    sync(client, db_name, v1, **FAST)
    old_ddoc = v1.by_status.ddoc  # type: ignore[attr-defined]
    v2 = order_model(by_status=Index("status", "customer"))
    new_ddoc = v2.by_status.ddoc  # type: ignore[attr-defined]
    report = sync(client, db_name, v2, **FAST)
    assert report.created == [f"_design/{new_ddoc}/json/by_status"]
    assert report.removed == [f"_design/{old_ddoc}/json/by_status"]
    indexes = client.get_indexes_information(db_name).get_result()["indexes"]
    assert {(i["ddoc"], i["name"]) for i in indexes if i["ddoc"]} == {
        (f"_design/{new_ddoc}", "by_status")
    }
    found = client.post_find(
        db_name,
        selector={"status": "paid", "customer": {"$gt": None}},
        use_index=v2.by_status.use_index,  # type: ignore[attr-defined]
    ).get_result()
    assert sorted(d["customer"] for d in found["docs"]) == ["ann", "bob"]


def test_validate_doc_update_rejects_through_the_session(client: CloudantV1, db_name: str) -> None:
    checks = ValidateDocUpdate(
        """
        function (newDoc, oldDoc, userCtx, secObj) {
            if (newDoc.type === "order" && !(Number(newDoc.total) > 0)) {
                throw({forbidden: "an order needs a positive total"});
            }
        }
        """
    )
    order = order_model(checks=checks)
    sync(client, db_name, order, **FAST)

    session = Session(client, db=db_name)
    session.add(order(customer="ann", total=Decimal("5")))
    session.add(order(customer="eve", total=Decimal("-1")))
    with pytest.raises(BulkWriteError) as info:
        session.commit()
    assert info.value.written == 1
    (failure,) = info.value.failures
    assert isinstance(failure.error, ForbiddenError)
    assert "an order needs a positive total" in str(failure.error)

    with pytest.raises(ForbiddenError, match="positive total"):
        Session(client, db=db_name).get_or_create(order, "bad", {"customer": "x"})


def test_a_declared_filter_filters_the_changes_feed(client: CloudantV1, db_name: str) -> None:
    with_status = Filter(
        """
        function (doc, req) {
            return doc.type === "order" && doc.status === req.query.status;
        }
        """
    )
    order = order_model(with_status=with_status)
    sync(client, db_name, order, **FAST)
    add_orders(client, db_name, order)
    params = order.with_status.changes_params(status="paid")  # type: ignore[attr-defined]
    assert params == {"filter": "orders/with_status", "filter_params": {"status": "paid"}}
    result = client.post_changes(db_name, include_docs=True, **params).get_result()
    docs = [r["doc"] for r in result["results"]]
    assert sorted((d["customer"], d["status"]) for d in docs) == [("ann", "paid"), ("bob", "paid")]


def test_rollback_restores_the_kept_old_copy(client: CloudantV1, db_name: str) -> None:
    v1 = order_model("status")
    add_orders(client, db_name, v1)
    sync(client, db_name, v1, **FAST)
    sync(client, db_name, order_model("customer"), keep_old=True, **FAST)
    assert grouped(client, db_name) == {"ann": 10.5, "bob": 2}
    assert client.get_design_document(db_name, "orders_OLD").get_result()

    report = rollback(client, db_name, ["orders"])
    assert report.updated == ["_design/orders"]
    assert report.removed == ["_design/orders_OLD"]
    assert grouped(client, db_name) == {"new": 9.5, "paid": 3}
    with pytest.raises(NotFoundError):
        client.get_design_document(db_name, "orders_OLD")


def test_search_index_declarations_deploy(
    client: CloudantV1, db_name: str, is_pouchdb: bool
) -> None:
    order = order_model(fulltext=SearchIndex(fields={"customer": "keyword"}))
    report = sync(client, db_name, order, **FAST)
    assert report.created == ["_design/orders"]
    live = client.get_design_document(db_name, "orders").get_result()
    assert live["indexes"]["fulltext"]["analyzer"] == "keyword" or live["indexes"]["fulltext"][
        "analyzer"
    ] == {"name": "perfield", "default": "standard", "fields": {"customer": "keyword"}}
    if is_pouchdb:  # no search service: deployed, not verified, and said so
        assert any("search indexes could not be verified" in w for w in report.warnings)


def test_the_switch_keeps_the_index_signature(
    client: CloudantV1, db_name: str, requires: Callable[..., None]
) -> None:
    requires("ddoc_info")
    v1 = order_model("status")
    add_orders(client, db_name, v1)
    sync(client, db_name, v1, **FAST)
    v2 = order_model("customer")
    signatures: dict[str, str] = {}

    def progress(event: Progress) -> None:
        if event.phase == "built" and event.target == "orders":
            info = client.get_design_document_information(db_name, "orders_NEW").get_result()
            signatures["new"] = info["view_index"]["signature"]

    report = sync(client, db_name, v2, progress=progress, **FAST)
    after = client.get_design_document_information(db_name, "orders").get_result()
    assert after["view_index"]["signature"] == signatures["new"]
    assert report.changes[0].signature == signatures["new"]
    assert report.warnings == []


def test_deploy_example(server_config: ServerConfig, db_name: str) -> None:
    env = dict(os.environ, EXAMPLES_DB=db_name, **server_config.environment())
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "deploy.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "first deploy: 2 created, 0 updated, 0 unchanged, 0 removed"
    assert lines[1] == "again: 0 created, 0 updated, 2 unchanged, 0 removed"
    assert lines[2] == "totals by status: {'new': 9.5, 'paid': 5}"
    assert (
        lines[3] == "changed view: 0 created, 1 updated, 1 unchanged, 0 removed (move-and-switch)"
    )
    assert lines[4] == "totals by customer: {'ann': 10.5, 'bob': 4}"

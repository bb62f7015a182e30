"""design.sync against a fake CouchDB 3 / Cloudant served through ``responses``.

The fake answers with CouchDB's documented shapes for what PouchDB Server can't show:
``_info`` with a content ``signature``, ``updater_running`` and ``updates_pending``;
``_active_tasks`` with one ``indexer`` task per shard (``shards/<range>/<db>.<stamp>``);
COPY answering ``{ok, id, rev}``; ``_local`` documents with ``0-N`` revisions. An index
"builds" over a few ``_active_tasks`` polls after a query starts it.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib
import json
import re
import types
import zlib
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import requests
import responses

from cloudant_odm import Document
from cloudant_odm.client import CloudantV1, NoAuthAuthenticator
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

# The package's ``sync`` is the function; the module is reached through sys.modules.
sync_module = importlib.import_module("cloudant_odm.design.sync")

URL = "http://couch.test"
DB = "orders"
WRITES = ("PUT", "DELETE", "COPY")


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


SHARD_RANGES = ["00000000-7fffffff", "80000000-ffffffff"]


class FakeCouch:
    """Enough of CouchDB for design.sync, in memory."""

    def __init__(self, db: str = DB) -> None:
        self.db = db
        self.docs: dict[str, dict[str, Any]] = {}  # design and local documents
        self.indexes: dict[tuple[str, str], dict[str, Any]] = {}
        self.built: set[str] = set()
        self.building: dict[str, int] = {}  # signature -> polls left
        self.build_polls = 0
        self.total_changes = 200
        self.log: list[tuple[str, str]] = []
        self.bodies: list[tuple[str, str, Any]] = []
        self.search = True
        self.destinations: list[str] = []
        self.tasks_status = 200
        self.info_available = True
        self.slow_queries = False  # a waiting view query times out while building
        self.fail: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
        self.on_request: Any = None
        self.sig_salt: dict[str, str] = {}
        self.partitioned = False  # the database's default for design documents
        self.partitions: list[str] = []  # partitions queried (/_partition/{key}/...)
        self.mock = responses.RequestsMock(assert_all_requests_are_fired=False)
        for method in ("GET", "PUT", "POST", "DELETE", "COPY", "HEAD"):
            self.mock.add_callback(method, re.compile(re.escape(URL) + r"/.*"), self.handle)

    # -- helpers -------------------------------------------------------------------

    def rev(self, doc_id: str, body: dict[str, Any]) -> str:
        old = self.docs.get(doc_id)
        if doc_id.startswith("_local/"):
            n = int(old["_rev"].split("-")[1]) + 1 if old else 1
            return f"0-{n}"
        n = int(old["_rev"].split("-")[0]) + 1 if old else 1
        return f"{n}-{hashlib.md5(_canonical(body).encode()).hexdigest()}"

    def signature(self, doc_id: str) -> str:
        doc = self.docs[doc_id]
        part = {k: doc.get(k) for k in ("views", "language", "options")}
        salt = self.sig_salt.get(doc_id, "")
        return hashlib.md5((_canonical(part) + salt).encode()).hexdigest()

    def put(self, doc_id: str, body: dict[str, Any]) -> str:
        content = {k: v for k, v in body.items() if k not in ("_id", "_rev")}
        rev = self.rev(doc_id, content)
        self.docs[doc_id] = {**content, "_id": doc_id, "_rev": rev}
        return rev

    def seed(self, doc_id: str, body: dict[str, Any], *, built: bool = True) -> str:
        rev = self.put(doc_id, body)
        if built and doc_id.startswith("_design/"):
            self.built.add(self.signature(doc_id))
        return rev

    def writes(self) -> list[tuple[str, str]]:
        return [(m, p) for m, p in self.log if m in WRITES or (m, p[-7:]) == ("POST", "/_index")]

    def design(self, name: str) -> dict[str, Any] | None:
        return self.docs.get(f"_design/{name}")

    # -- the server ------------------------------------------------------------------

    def handle(self, request: Any) -> tuple[int, dict[str, str], str]:
        parts = urlsplit(request.url)
        path = parts.path
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        body: Any = None
        if request.body:
            raw = request.body if isinstance(request.body, bytes) else request.body.encode()
            if request.headers.get("Content-Encoding") == "gzip":
                raw = gzip.decompress(raw)
            body = json.loads(raw)
        shown = path + (f"?{parts.query}" if parts.query else "")
        self.log.append((request.method, shown))
        self.bodies.append((request.method, path, body))
        if self.on_request is not None:
            self.on_request(request.method, path, body)
        for (method, pattern), (status, answer) in list(self.fail.items()):
            if method == request.method and re.fullmatch(pattern, path):
                return status, {"Content-Type": "application/json"}, json.dumps(answer)
        status, answer = self.route(request, path, query, body)
        return status, {"Content-Type": "application/json"}, json.dumps(answer)

    def route(self, request: Any, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        method = request.method
        segs = [unquote(s) for s in path.strip("/").split("/")]
        missing = (404, {"error": "not_found", "reason": "missing"})
        if segs == ["_active_tasks"]:
            return self.active_tasks()
        if segs[0] != self.db:
            return 404, {"error": "not_found", "reason": "Database does not exist."}
        rest = segs[1:]
        if rest == [] and method == "GET":
            props = {"partitioned": True} if self.partitioned else {}
            return 200, {"db_name": self.db, "props": props}
        if rest == ["_shards"]:
            return 200, {"shards": {r: ["node1"] for r in SHARD_RANGES}}
        if rest[:1] == ["_shards"]:  # the range of a document id, by its partition
            partition = rest[1].split(":", 1)[0]
            return 200, {"range": SHARD_RANGES[zlib.crc32(partition.encode()) % 2]}
        if rest[:1] == ["_partition"]:
            self.partitions.append(rest[1])
            rest = rest[2:]
        if rest == ["_all_docs"] and method == "POST":
            start, end = body.get("start_key", ""), body.get("end_key", "\uffff")
            rows = [
                {"id": i, "key": i, "value": {"rev": d["_rev"]}, "doc": d}
                for i, d in sorted(self.docs.items())
                if not i.startswith("_local/") and start <= i <= end
            ]
            return 200, {"total_rows": len(rows), "offset": 0, "rows": rows}
        if rest == ["_index"] and method == "GET":
            special = {"ddoc": None, "name": "_all_docs", "type": "special", "def": {}}
            found = [special, *self.indexes.values()]
            return 200, {"indexes": found, "total_rows": len(found)}
        if rest == ["_index"] and method == "POST":
            return self.post_index(body)
        if rest[:2] == ["_index", "_design"] and method == "DELETE":
            key = (rest[2], rest[4])
            if key not in self.indexes:
                return missing
            del self.indexes[key]
            if not any(d == key[0] for d, _ in self.indexes):
                self.docs.pop(f"_design/{key[0]}", None)
            return 200, {"ok": True}
        if rest == ["_view_cleanup"]:
            return 202, {"ok": True}
        if rest == ["_find"]:
            return 200, {"docs": [], "bookmark": "nil"}
        if rest[:1] == ["_local"]:
            return self.document(method, f"_local/{rest[1]}", body, query)
        if rest[:1] == ["_design"]:
            doc_id = f"_design/{rest[1]}"
            if len(rest) == 2:
                if method == "COPY":
                    return self.copy(doc_id, request, query)
                return self.document(method, doc_id, body, query)
            if doc_id not in self.docs:
                return missing
            if rest[2] == "_info":
                if not self.info_available:  # PouchDB Server's answer
                    return 200, {"view_index": "Not implemented."}
                if self.tasks_status != 200:
                    self.tick()  # the build goes on whoever watches it
                return 200, self.info(doc_id, rest[1])
            if rest[2] == "_view":
                return self.view(doc_id, rest[3], body or {})
            if rest[2] == "_search":
                if not self.search:
                    return 400, {"error": "bad_request", "reason": "only_multipart_accepted"}
                return 200, {"total_rows": 0, "rows": [], "bookmark": "g1AAAA"}
        return missing

    def document(
        self, method: str, doc_id: str, body: Any, query: dict[str, str]
    ) -> tuple[int, Any]:
        doc = self.docs.get(doc_id)
        conflict = (409, {"error": "conflict", "reason": "Document update conflict."})
        if method == "GET":
            if doc is None:
                return 404, {"error": "not_found", "reason": "missing"}
            return 200, doc
        if method == "PUT":
            if body.get("_id") not in (None, doc_id):
                return 400, {"error": "bad_request", "reason": "Document id must match"}
            if (doc["_rev"] if doc else None) != body.get("_rev"):
                return conflict
            return 201, {"ok": True, "id": doc_id, "rev": self.put(doc_id, body)}
        if method == "DELETE":
            if doc is None:
                return 404, {"error": "not_found", "reason": "missing"}
            if query.get("rev") != doc["_rev"]:
                return conflict
            del self.docs[doc_id]
            return 200, {"ok": True, "id": doc_id, "rev": "x"}
        return 405, {"error": "method_not_allowed", "reason": method}

    def copy(self, doc_id: str, request: Any, query: dict[str, str]) -> tuple[int, Any]:
        source = self.docs.get(doc_id)
        if source is None or ("rev" in query and query["rev"] != source["_rev"]):
            return 404, {"error": "not_found", "reason": "missing"}
        destination = request.headers["Destination"]
        if isinstance(destination, bytes):
            destination = destination.decode()
        self.destinations.append(destination)
        target, _, rev = destination.partition("?rev=")
        current = self.docs.get(target)
        if (current["_rev"] if current else None) != (rev or None):
            return 409, {"error": "conflict", "reason": "Document update conflict."}
        new_rev = self.put(target, dict(source))
        return 201, {"ok": True, "id": target, "rev": new_rev}

    def post_index(self, body: dict[str, Any]) -> tuple[int, Any]:
        ddoc, name = body["ddoc"], body["name"]
        entry = {
            "ddoc": f"_design/{ddoc}",
            "name": name,
            "type": body.get("type", "json"),
            "def": body["index"],
        }
        found = self.indexes.get((ddoc, name))
        result = "exists" if found == entry else "created"
        self.indexes[(ddoc, name)] = entry
        if result == "created":
            self.put(f"_design/{ddoc}", {"language": "query", "views": {name: body["index"]}})
        return 200, {"result": result, "id": f"_design/{ddoc}", "name": name}

    def start(self, sig: str) -> None:
        if sig not in self.built and sig not in self.building:
            if self.build_polls <= 0:
                self.built.add(sig)
            else:
                self.building[sig] = self.build_polls

    def view(self, doc_id: str, view: str, body: dict[str, Any]) -> tuple[int, Any]:
        doc = self.docs[doc_id]
        if view not in (doc.get("views") or {}):
            return 404, {"error": "not_found", "reason": f"missing_named_view {view}"}
        sig = self.signature(doc_id)
        self.start(sig)
        if body.get("update") == "lazy" or sig in self.built:
            return 200, {"total_rows": 0, "offset": 0, "rows": []}
        if self.slow_queries:
            if self.tasks_status != 200 and not self.info_available:
                self.tick()
            if sig not in self.built:
                raise requests.ReadTimeout("read timed out (index building)")
            return 200, {"total_rows": 0, "offset": 0, "rows": []}
        self.building.pop(sig, None)
        self.built.add(sig)
        return 200, {"total_rows": 0, "offset": 0, "rows": []}

    def info(self, doc_id: str, name: str) -> dict[str, Any]:
        sig = self.signature(doc_id)
        left = self.building.get(sig, 0)
        return {
            "name": name,
            "view_index": {
                "compact_running": False,
                "language": self.docs[doc_id].get("language", "javascript"),
                "purge_seq": 0,
                "signature": sig,
                "sizes": {"active": 0, "external": 0, "file": 0},
                "update_seq": 10,
                "updater_running": left > 0,
                "updates_pending": {"minimum": left * 10, "preferred": left * 10, "total": left},
                "waiting_clients": 0,
                "waiting_commit": False,
            },
        }

    def tick(self) -> list[str]:
        """One step of every running build; the signatures still building."""
        for sig in list(self.building):
            self.building[sig] -= 1
            if self.building[sig] <= 0:
                del self.building[sig]
                self.built.add(sig)
        return list(self.building)

    def active_tasks(self) -> tuple[int, Any]:
        if self.tasks_status != 200:
            return self.tasks_status, {
                "error": "forbidden",
                "reason": "You are not a server admin.",
            }
        tasks: list[dict[str, Any]] = [
            {"type": "replication", "database": "shards/0-1/other.1", "changes_done": 5},
            {  # the same ddoc name in another database: not ours
                "type": "indexer",
                "database": "shards/00000000-7fffffff/other.1690000000",
                "design_document": "_design/orders_NEW",
                "changes_done": 1,
                "total_changes": 1000,
            },
        ]
        for sig in self.tick():
            done_fraction = 1 - self.building[sig] / self.build_polls
            for doc_id, doc in self.docs.items():
                if not doc_id.startswith("_design/") or doc.get("language") == "query":
                    continue
                if self.signature(doc_id) != sig:
                    continue
                for shard in ("00000000-7fffffff", "80000000-ffffffff"):
                    half = self.total_changes // 2
                    tasks.append(
                        {
                            "type": "indexer",
                            "node": "node1@127.0.0.1",
                            "pid": "<0.1.0>",
                            "database": f"shards/{shard}/{self.db}.1690000000",
                            "design_document": doc_id,
                            "changes_done": int(half * done_fraction),
                            "total_changes": half,
                            "progress": int(done_fraction * 100),
                            "started_on": 1690000000,
                            "updated_on": 1690000010,
                        }
                    )
        return 200, tasks


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


def models(key: str = "status", *, extra: dict[str, Any] | None = None) -> type[Document]:
    """An Order class whose view ``by_key`` emits ``key``."""
    namespace: dict[str, Any] = {
        "__annotations__": {"customer": "str", "total": "Decimal", "status": "str"},
        "total": Decimal("0"),
        "status": "new",
        "Meta": type("Meta", (), {"design": "orders", "doc_type": "order"}),
        "__module__": __name__,
        # A class "defined in a function": the registry lets such classes replace
        # each other (every test defines its own Order).
        "__qualname__": "models.<locals>.Order",
        "by_key": View.emit(key=key, value="total", reduce="_sum"),
        **(extra or {}),
    }
    return types.new_class("Order", (Document,), exec_body=lambda ns: ns.update(namespace))


def fast(**kwargs: Any) -> dict[str, Any]:
    return {"poll_interval": 0, **kwargs}


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
    monkeypatch.setattr(sync_module, "_sleep", naps.append)
    deploy_v1(couch, client)
    couch.build_polls = 3
    sync(client, DB, models("customer"), poll_interval=1.5)
    assert naps
    assert set(naps) == {1.5}

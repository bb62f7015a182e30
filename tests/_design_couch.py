"""An in-memory CouchDB 3 / Cloudant for ``design.sync``'s unit tests, served through
``responses`` (``FakeCouch.mock``) or any other mock that hands it a request
(``FakeCouch.handle``).

The fake answers with CouchDB's documented shapes for what PouchDB Server can't show:
``_info`` with a content ``signature``, ``updater_running`` and ``updates_pending``;
``_active_tasks`` with one ``indexer`` task per shard (``shards/<range>/<db>.<stamp>``);
COPY answering ``{ok, id, rev}``; ``_local`` documents with ``0-N`` revisions. An index
"builds" over a few ``_active_tasks`` polls after a query starts it.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import types
import zlib
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import requests
import responses

from cloudant_odm import Document
from cloudant_odm.design import View

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

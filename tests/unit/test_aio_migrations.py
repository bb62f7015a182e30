"""cloudant_odm.aio.migrate is cloudant_odm.migrate with its requests awaited: against
the same fake server (served through ``responses`` to ``CloudantV1`` and through respx
to ``AsyncCloudantV1``), the same requests, report, progress, stored documents and
checkpoints; conflicts read again, a stopped run resumed, a contended checkpoint waited
for, and sessions' settings and refusals as the synchronous ones'."""

from __future__ import annotations

import asyncio
import copy
import gzip
import json
import re
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

import attrs
import pytest
import responses
from _contacts import Contact, older, upgraded

httpx = pytest.importorskip("httpx", reason="the async extra is not installed")
respx = pytest.importorskip("respx", reason="respx is not installed (dev extra)")

from cloudant_odm import SessionError, migrate  # noqa: E402
from cloudant_odm import aio as cloudant_aio  # noqa: E402
from cloudant_odm.aio import AsyncCloudantV1, AsyncSession  # noqa: E402
from cloudant_odm.client import CloudantV1, ConflictError, NoAuthAuthenticator, flows  # noqa: E402
from cloudant_odm.migrations import CHECKPOINT_PREFIX, MigrationProgress  # noqa: E402
from cloudant_odm.schema.stale import stale_index  # noqa: E402

pytestmark = pytest.mark.anyio

URL = "http://couch.test"
DB = "contacts"
CHECKPOINT = f"_local/{CHECKPOINT_PREFIX}mig-contact"


class FakeDocs:
    """Enough of CouchDB for migrate(), in memory: ``_index``; ``_find`` by id of the
    documents of a type below a version (what the stale selector asks); ``_bulk_docs``
    and ``_local`` documents with revisions; ``_all_docs`` by keys."""

    def __init__(self, docs: list[dict[str, Any]]) -> None:
        self.docs = {d["_id"]: {**copy.deepcopy(d), "_rev": "1-a"} for d in docs}
        self.deleted: set[str] = set()
        self.local: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str, Any]] = []
        #: Called with the body of each ``_bulk_docs`` before it is applied.
        self.before_bulk: Callable[[FakeDocs, dict[str, Any]], None] | None = None
        self.local_conflicts = 0  # _local writes to answer with 409

    def bump(self, doc_id: str, doc: dict[str, Any]) -> str:
        n = int(self.docs[doc_id]["_rev"].split("-")[0]) + 1 if doc_id in self.docs else 1
        rev = f"{n}-x"
        self.docs[doc_id] = {**doc, "_id": doc_id, "_rev": rev}
        return rev

    def handle(self, method: str, url: str, raw: bytes | None, gzipped: bool) -> tuple[int, Any]:
        body = json.loads(gzip.decompress(raw) if gzipped else raw) if raw else None
        path = urlsplit(url).path
        self.requests.append((method, path, body))
        segs = [unquote(s) for s in path.strip("/").split("/")]
        assert segs[0] == DB, path
        rest = segs[1:]
        if rest == ["_index"]:
            index = stale_index(Contact)
            assert index is not None
            entry = {"ddoc": f"_design/{index.ddoc}", "name": index.name, "type": "json"}
            return 200, {"indexes": [entry], "total_rows": 1}
        if rest == ["_find"]:
            return 200, {"docs": self.find(body), "bookmark": "nil"}
        if rest == ["_bulk_docs"]:
            if self.before_bulk is not None:
                self.before_bulk(self, body)
            return 201, [self.write(doc) for doc in body["docs"]]
        if rest == ["_all_docs"]:
            return 200, {"rows": [self.row(key) for key in body["keys"]]}
        if rest[0] == "_local":
            return self.local_document(method, rest[1], body)
        raise AssertionError(f"unexpected {method} {path}")

    def find(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        selector = query["selector"]
        after, below = selector["_id"]["$gt"], selector["$or"][1]["schema_version"]["$lt"]
        found = [
            doc
            for doc_id, doc in sorted(self.docs.items())
            if doc_id > after
            and doc_id not in self.deleted
            and doc.get("type") == selector["type"]
            and doc.get("schema_version", 1) < below
        ][: query["limit"]]
        if query.get("fields"):
            return [{f: d[f] for f in query["fields"]} for d in found]
        return copy.deepcopy(found)

    def write(self, doc: dict[str, Any]) -> dict[str, Any]:
        doc_id = doc["_id"]
        current = self.docs.get(doc_id)
        if current is None or current["_rev"] != doc.get("_rev") or doc_id in self.deleted:
            return {"id": doc_id, "error": "conflict", "reason": "Document update conflict."}
        return {"ok": True, "id": doc_id, "rev": self.bump(doc_id, doc)}

    def row(self, key: str) -> dict[str, Any]:
        if key in self.deleted:
            return {"id": key, "key": key, "value": {"rev": "9-d", "deleted": True}, "doc": None}
        doc = self.docs[key]
        return {"id": key, "key": key, "value": {"rev": doc["_rev"]}, "doc": copy.deepcopy(doc)}

    def local_document(self, method: str, name: str, body: Any) -> tuple[int, Any]:
        doc_id = f"_local/{name}"
        current = self.local.get(doc_id)
        if method == "GET":
            return (200, current) if current else (404, {"error": "not_found"})
        if self.local_conflicts:
            self.local_conflicts -= 1
            return 409, {"error": "conflict", "reason": "Document update conflict."}
        if (current or {}).get("_rev") != body.get("_rev"):
            return 409, {"error": "conflict", "reason": "Document update conflict."}
        rev = f"0-{int(current['_rev'][2:]) + 1 if current else 1}"
        self.local[doc_id] = {**body, "_id": doc_id, "_rev": rev}
        return 201, {"ok": True, "id": doc_id, "rev": rev}

    def made(self) -> list[tuple[str, str, Any]]:
        """The requests, the checkpoints' bodies without their times."""
        return [(m, p, _timeless(b) if "/_local/" in p else b) for m, p, b in self.requests]


def _timeless(body: Any) -> Any:
    if not isinstance(body, dict):
        return body
    return {k: v for k, v in body.items() if k not in ("started", "updated")}


def seeded() -> list[dict[str, Any]]:
    """Older contacts, a VIP, a current one, someone else's, and one no step can
    upgrade (version 1 without a name)."""
    broken = {"_id": "c00009", "type": "mig-contact", "phone": "555"}
    current = {**upgraded(8), "phones": []}
    other = {"_id": "x1", "type": "invoice", "name": "Not A Contact"}
    return [*(older(n) for n in range(1, 7)), older(7, "mig-vip"), current, broken, other]


def interfere(fake: FakeDocs, body: dict[str, Any]) -> None:
    """Another writer, before the first write: one document changed (still older), one
    upgraded by someone else, one deleted."""
    fake.before_bulk = None
    fake.bump("c00001", {**fake.docs["c00001"], "phone": "999"})
    fake.bump("c00002", {**upgraded(2), "phones": ["777"]})
    fake.deleted.add("c00003")


@pytest.fixture
def server() -> Iterator[FakeDocs]:
    fake = FakeDocs(seeded())

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        gzipped = request.headers.get("Content-Encoding") == "gzip"
        body = request.body.encode() if isinstance(request.body, str) else request.body
        status, result = fake.handle(request.method, request.url, body, gzipped)
        return status, {"Content-Type": "application/json"}, json.dumps(result)

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.GET, re.compile(f"{URL}/.*"), answer)
        mock.add_callback(responses.POST, re.compile(f"{URL}/.*"), answer)
        mock.add_callback(responses.PUT, re.compile(f"{URL}/.*"), answer)
        yield fake


@pytest.fixture
def aserver() -> Iterator[FakeDocs]:
    fake = FakeDocs(seeded())

    def answer(request: Any) -> Any:
        gzipped = request.headers.get("Content-Encoding") == "gzip"
        status, result = fake.handle(request.method, str(request.url), request.read(), gzipped)
        return httpx.Response(status, json=result)

    with respx.mock(assert_all_called=False) as router:
        router.route(host="couch.test").mock(side_effect=answer)
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


def observed(report: Any, events: list[MigrationProgress], fake: FakeDocs) -> dict[str, Any]:
    return {
        "report": attrs.asdict(report),
        "progress": events,
        "requests": fake.made(),
        "docs": fake.docs,
        "deleted": fake.deleted,
        "checkpoints": {k: _timeless(v) for k, v in fake.local.items()},
    }


async def test_a_run_with_conflicts_and_failures_is_the_same_through_both(
    server: FakeDocs, aserver: FakeDocs, client: CloudantV1, aclient: AsyncCloudantV1
) -> None:
    seen = {}
    for api, fake in (("sync", server), ("async", aserver)):
        fake.before_bulk = interfere
        events: list[MigrationProgress] = []
        options: dict[str, Any] = {"batch_size": 3, "progress": events.append}
        if api == "sync":
            report = migrate(client, DB, [Contact], **options)
        else:
            report = await cloudant_aio.migrate(aclient, DB, [Contact], **options)
        seen[api] = observed(report, events, fake)
    assert seen["async"] == seen["sync"]

    report = seen["async"]["report"]
    contact, vip = report["models"]
    assert (contact["model"], vip["model"]) == ("Contact", "Vip")
    assert contact["total"] == 7  # counted first, for the progress
    assert (contact["scanned"], contact["migrated"], contact["conflicts_retried"]) == (7, 4, 3)
    assert (contact["already_current"], contact["deleted"], contact["failed"]) == (1, 1, 1)
    assert contact["failures"][0]["doc_id"] == "c00009"
    assert (vip["scanned"], vip["migrated"]) == (1, 1)
    docs = aserver.docs
    assert docs["c00001"]["phones"] == ["999"]  # the other writer's change, upgraded again
    assert docs["c00002"]["phones"] == ["777"]  # upgraded meanwhile: left as it is
    assert {k: v for k, v in docs["c00004"].items() if k != "_rev"} == upgraded(4)
    assert aserver.local[CHECKPOINT]["finished"] is True
    assert seen["async"]["progress"][-1].finished


async def test_a_stopped_run_is_resumed_from_its_checkpoint_through_both(
    server: FakeDocs, aserver: FakeDocs, client: CloudantV1, aclient: AsyncCloudantV1
) -> None:
    migrate(client, DB, [Contact], batch_size=2)
    stopped = server.local[CHECKPOINT]
    stopped = {**stopped, "finished": False, "last_id": "c00002"}
    stopped["counts"] = {**stopped["counts"], "migrated": 2, "scanned": 2}
    seen = {}
    for api, fake in (("sync", server), ("async", aserver)):
        fake.docs = FakeDocs(seeded()).docs
        fake.local = {CHECKPOINT: copy.deepcopy(stopped)}
        fake.requests.clear()
        if api == "sync":
            report = migrate(client, DB, [Contact], batch_size=2)
        else:
            report = await cloudant_aio.migrate(aclient, DB, [Contact], batch_size=2)
        seen[api] = observed(report, [], fake)
    assert seen["async"] == seen["sync"]
    contact = seen["async"]["report"]["models"][0]
    assert contact["resumed"] is True
    finds = [b for _, p, b in aserver.requests if p.endswith("/_find")]
    assert finds[0]["selector"]["_id"] == {"$gt": "c00002"}
    assert aserver.docs["c00001"]["_rev"] == "1-a"  # before the checkpoint: not read again


async def test_a_contended_checkpoint_is_tried_again_after_waits_then_refused(
    server: FakeDocs,
    aserver: FakeDocs,
    client: CloudantV1,
    aclient: AsyncCloudantV1,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    naps: dict[str, list[float]] = {"sync": [], "async": []}
    monkeypatch.setattr(flows, "sleep", naps["sync"].append)
    real_sleep = asyncio.sleep

    async def asleep(seconds: float) -> None:
        naps["async"].append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", asleep)
    server.local_conflicts = aserver.local_conflicts = 100  # another run writes it all along
    refused = "is being written by another consumer"
    with pytest.raises(ConflictError, match=refused):
        migrate(client, DB, [Contact], batch_size=100)
    with pytest.raises(ConflictError, match=refused):
        await cloudant_aio.migrate(aclient, DB, [Contact], batch_size=100)
    made = {"sync": server.made(), "async": aserver.made()}
    assert made["async"] == made["sync"]
    assert naps["async"] == naps["sync"] == [0.1, 0.2, 0.4]


async def test_through_an_async_session_its_database_and_write_settings(
    aserver: FakeDocs, aclient: AsyncCloudantV1
) -> None:
    session = AsyncSession(aclient, db=DB, batch_size=2)
    report = await cloudant_aio.migrate(session, None, [Contact])
    assert report.db == DB
    assert report.migrated == 7  # six contacts and the VIP (the broken one fails)
    writes = [b for m, p, b in aserver.requests if p.endswith("/_bulk_docs")]
    assert writes
    assert all(len(b["docs"]) <= 2 for b in writes)
    assert list(session) == []  # the session's own objects are not touched


async def test_refusals_come_before_any_request(
    aserver: FakeDocs, aclient: AsyncCloudantV1, client: CloudantV1
) -> None:
    def show(event: MigrationProgress) -> None:
        raise AssertionError(event)

    async def ashow(event: MigrationProgress) -> None:
        raise AssertionError(event)

    read_only = AsyncSession(aclient, db=DB, read_only=True)
    with pytest.raises(SessionError, match="read-only: it can't migrate documents"):
        await cloudant_aio.migrate(read_only, None, [Contact])
    with pytest.raises(TypeError, match=r"migrate\(progress=...\): pass a plain function"):
        await cloudant_aio.migrate(aclient, DB, [Contact], progress=ashow)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"use cloudant_odm.migrate\(\)"):
        await cloudant_aio.migrate(client, DB, [Contact])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        await cloudant_aio.migrate(aclient, DB, [Contact], batch_size=0, progress=show)
    assert aserver.requests == []
    dry = await cloudant_aio.migrate(read_only, None, [Contact], dry_run=True)
    assert dry.migrated == 7
    assert not any(m == "PUT" or p.endswith("_bulk_docs") for m, p, _ in aserver.requests)
    with pytest.raises(TypeError, match="takes a CloudantV1 client or a Session"):
        migrate(read_only, None, [Contact], dry_run=True)  # type: ignore[arg-type]

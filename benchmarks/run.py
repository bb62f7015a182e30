"""Client benchmarks: cloudant_odm against the official SDK, couchdb-python and raw HTTP.

    .venv/bin/pip install -e '.[dev,bench]'
    .venv/bin/python benchmarks/run.py                 # everything, 100 000 documents, 3 runs
    .venv/bin/python benchmarks/run.py --quick         # a small smoke run (seconds)
    .venv/bin/python benchmarks/run.py --only insert --libs raw,odm,sdk --docs 20000
    .venv/bin/python benchmarks/run.py --compare before.json after.json   # a change's effect

Workloads (``--only``): ``insert`` (batched ``_bulk_docs``), ``read`` (page through
``_all_docs``), ``query`` (a Mango query returning a tenth of the documents as objects),
``changes`` (a one-off changes feed with documents), ``memory`` (peak RSS of a child
process paging through 10k and then 200k documents) and ``documents`` (load and dump of
one 10-field nested document, no server, with pydantic v2 as the reference).

Libraries (``--libs``): ``raw`` (``http.client`` on one keep-alive connection,
pre-serialised request bodies, ``json.loads`` of responses: the limit), ``rawjson``
(raw with ``json.dumps`` of the bodies in the timed region: insert only), ``client``
(``cloudant_odm.client`` with dicts), ``odm`` (``Document`` classes and ``Session``),
``sdk`` (the official ``ibmcloudant`` SDK with its models) and ``couchdb``
(couchdb-python with its ``couchdb.mapping`` layer).

Each workload runs library after library, then again (``--repeat``), rotating the order,
against one server: a PouchDB Server started here, in memory, unless ``CLOUDANT_URL`` is
set. Writes go to a fresh database per run; reads use databases loaded once. Each run
checks its result (counts and a checksum), then reports wall time and the client
process's own CPU time (``time.process_time()``: user + system of this process and its
threads, not the server's) per document. Medians are printed as a table, with ratios to
``raw``, and written to ``benchmarks/results/latest.json`` (and ``latest.md``); ``--chart``
draws client CPU per document as a PNG.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import gc
import http.client
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE.parent))  # run from a checkout without installing

LIBS = ("raw", "rawjson", "client", "odm", "sdk", "couchdb")
WORKLOADS = ("insert", "read", "query", "changes", "memory", "documents")
#: Which libraries take part in which workload ("rawjson" differs from "raw" only when
#: writing; "client" has no model layer to load or dump with).
APPLIES: dict[str, tuple[str, ...]] = {
    "insert": LIBS,
    "read": ("raw", "client", "odm", "odm-tracked", "sdk", "couchdb"),
    "query": ("raw", "client", "odm", "odm-tracked", "sdk", "couchdb"),
    "changes": ("raw", "client", "odm", "sdk", "couchdb"),
    "memory": ("raw", "client", "odm", "odm-tracked", "sdk", "couchdb"),
    "documents": ("raw", "odm", "sdk", "couchdb", "pydantic"),
}
GROUPS = 10  # documents have group = n % GROUPS; the query asks for one group
QUERY_GROUP = 3


# --- the data ---------------------------------------------------------------------------


def make_rows(n: int, seed: int = 0) -> list[tuple[Any, ...]]:
    """The documents every library writes: (id, name, n, group, price, tags, active)."""
    rng = random.Random(seed)  # uuid4-like ids, the same in every run
    return [
        (
            f"{rng.getrandbits(128):032x}",
            f"item-{i:06d}",
            i,
            i % GROUPS,
            i * 0.25,
            ["red", "small"] if i % 2 else ["blue"],
            i % 3 == 0,
        )
        for i in range(n)
    ]


def row_dict(r: tuple[Any, ...]) -> dict[str, Any]:
    return {
        "_id": r[0],
        "type": "item",
        "name": r[1],
        "n": r[2],
        "group": r[3],
        "price": r[4],
        "tags": list(r[5]),
        "active": r[6],
    }


def checksum(n: int, group: int | None = None) -> int:
    """Sum of the ``n`` fields of the documents read (of one group for the query)."""
    return sum(i for i in range(n) if group is None or i % GROUPS == group)


# --- the server ---------------------------------------------------------------------------


class Server:
    """Where the benchmarks run: CLOUDANT_URL, or a local PouchDB Server in memory."""

    def __init__(self, url: str | None = None, *, pin: bool = False) -> None:
        self.local: Any = None
        self.pinned: dict[str, list[int]] | None = None
        url = url or os.environ.get("CLOUDANT_URL")
        if url is None:
            from cloudant_odm.testing.server import LocalServer

            self.local = LocalServer(memory=True)
            cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
            if pin and len(cpus) >= 2:
                # The server (and every thread it starts) on one half of the CPUs, this
                # process (and its memory children) on the other: the server's work
                # (its garbage collector uses several threads) then doesn't slow the
                # client's, and each library's client CPU is measured alone.
                half = len(cpus) // 2
                os.sched_setaffinity(0, cpus[:half])
                url = self.local.start()
                os.sched_setaffinity(0, cpus[half:])
                self.pinned = {"server": cpus[:half], "client": cpus[half:]}
            else:
                url = self.local.start()
        self.url = url.rstrip("/")
        parts = urlsplit(self.url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.https = parts.scheme == "https"
        if self.local is not None:  # its generated admin
            user, password = self.local.username, self.local.password
        else:
            user = os.environ.get("CLOUDANT_USERNAME") or parts.username
            password = os.environ.get("CLOUDANT_PASSWORD") or parts.password
        self.auth = (user, password) if user and password else None
        self.headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.auth:
            token = base64.b64encode(f"{self.auth[0]}:{self.auth[1]}".encode()).decode()
            self.headers["Authorization"] = "Basic " + token

    def connection(self) -> http.client.HTTPConnection:
        cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        return cls(self.host, self.port, timeout=300)

    def request(self, method: str, path: str, body: Any = None) -> Any:
        conn = self.connection()
        try:
            data = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
            conn.request(method, path, body=data, headers=self.headers)
            response = conn.getresponse()
            payload = response.read()
            if response.status >= 400 and not (method == "DELETE" and response.status == 404):
                raise RuntimeError(f"{method} {path}: {response.status} {payload[:200]!r}")
            return json.loads(payload) if payload else None
        finally:
            conn.close()

    def create(self, db: str) -> None:
        self.request("DELETE", f"/{db}")
        self.request("PUT", f"/{db}")

    def drop(self, db: str) -> None:
        self.request("DELETE", f"/{db}")

    def load(self, db: str, rows: list[tuple[Any, ...]], batch: int = 1000) -> None:
        """Fill a database (outside any measurement)."""
        self.create(db)
        conn = self.connection()
        try:
            for start in range(0, len(rows), batch):
                body = json.dumps({"docs": [row_dict(r) for r in rows[start : start + batch]]})
                conn.request("POST", f"/{db}/_bulk_docs", body=body.encode(), headers=self.headers)
                response = conn.getresponse()
                results = json.loads(response.read())
                if response.status >= 400 or any("error" in r for r in results):
                    raise RuntimeError(f"loading {db} failed: {str(results)[:200]}")
        finally:
            conn.close()

    def stop(self) -> None:
        if self.local is not None:
            self.local.stop()


def database_name(tag: str) -> str:
    return f"bench-{tag}-{uuid.uuid4().hex[:8]}"


# --- the libraries' clients and models ------------------------------------------------------


def odm_model() -> type:
    from cloudant_odm import Document, field

    class Item(Document, doc_type="item"):
        name: str
        n: int
        group: int
        price: float
        tags: list[str] = field(factory=list)
        active: bool = False

    return Item


def odm_client(server: Server) -> Any:
    from cloudant_odm.client import BasicAuthenticator, CloudantV1, NoAuthAuthenticator

    auth = BasicAuthenticator(*server.auth) if server.auth else NoAuthAuthenticator()
    client = CloudantV1(auth)
    client.set_service_url(server.url)
    return client


def sdk_client(server: Server) -> Any:
    from ibm_cloud_sdk_core.authenticators import BasicAuthenticator, NoAuthAuthenticator
    from ibmcloudant.cloudant_v1 import CloudantV1

    auth = BasicAuthenticator(*server.auth) if server.auth else NoAuthAuthenticator()
    client = CloudantV1(authenticator=auth)
    client.set_service_url(server.url)
    return client


def couchdb_server(server: Server) -> Any:
    import couchdb

    parts = urlsplit(server.url)
    url = server.url
    if server.auth and not parts.username:
        netloc = f"{quote(server.auth[0])}:{quote(server.auth[1])}@{parts.netloc}"
        url = parts._replace(netloc=netloc).geturl()
    return couchdb.Server(url)


def couchdb_model() -> type:
    from couchdb.mapping import (
        BooleanField,
        Document,
        FloatField,
        IntegerField,
        ListField,
        TextField,
    )

    class CItem(Document):  # type: ignore[misc]
        type = TextField(default="item")
        name = TextField()
        n = IntegerField()
        group = IntegerField()
        price = FloatField()
        tags = ListField(TextField())
        active = BooleanField()

    return CItem


# --- the workloads ---------------------------------------------------------------------------
#
# Each workload function gets (lib, ctx) and returns a callable that runs one measured
# run and returns (documents handled, checksum); setup (building request bodies for
# raw, creating the database) happens before that callable is returned.


class Context:
    def __init__(self, server: Server, args: argparse.Namespace) -> None:
        self.server = server
        self.args = args
        self.n = args.docs
        self.batch = args.batch
        self.page = args.page_size
        self.rows = make_rows(self.n, seed=1)
        self.read_db = ""
        self.Item = odm_model()
        self.CItem: type | None = None

    def citem(self) -> type:
        if self.CItem is None:
            self.CItem = couchdb_model()
        return self.CItem


def insert_run(lib: str, ctx: Context) -> tuple[Callable[[], tuple[int, int]], Callable[[], None]]:
    server, rows, batch = ctx.server, ctx.rows, ctx.batch
    db = database_name("insert")
    server.create(db)
    chunks = [rows[s : s + batch] for s in range(0, len(rows), batch)]

    def cleanup() -> None:
        server.drop(db)

    if lib in ("raw", "rawjson"):
        headers = server.headers
        path = f"/{db}/_bulk_docs"
        bodies: list[bytes] = []
        if lib == "raw":  # serialised before the clock starts: the limit
            bodies = [json.dumps({"docs": [row_dict(r) for r in c]}).encode() for c in chunks]

        def run() -> tuple[int, int]:
            conn = server.connection()
            written = 0
            for index, chunk in enumerate(chunks):
                if lib == "raw":
                    body = bodies[index]
                else:
                    body = json.dumps({"docs": [row_dict(r) for r in chunk]}).encode()
                conn.request("POST", path, body=body, headers=headers)
                results = json.loads(conn.getresponse().read())
                written += sum(1 for r in results if "rev" in r)
            conn.close()
            return written, 0

        return run, cleanup

    if lib == "client":
        client = odm_client(server)

        def run() -> tuple[int, int]:
            written = 0
            for chunk in chunks:
                results = client.post_bulk_docs(db, {"docs": [row_dict(r) for r in chunk]})
                written += sum(1 for r in results.get_result() if "rev" in r)
            return written, 0

        return run, cleanup

    if lib == "odm":
        from cloudant_odm import Session

        client = odm_client(server)
        Item = ctx.Item

        def run() -> tuple[int, int]:
            # Typed documents, ids made by the session (uuid4), written as docs/session.md
            # advises for bulk loads: insert_many() of a generator, batch_size documents
            # per _bulk_docs request, each batch made while the one before is written.
            session = Session(client, db=db, batch_size=batch)
            items = (
                Item(name=r[1], n=r[2], group=r[3], price=r[4], tags=list(r[5]), active=r[6])
                for r in rows
            )
            return session.insert_many(items), 0

        return run, cleanup

    if lib == "sdk":
        from ibmcloudant.cloudant_v1 import BulkDocs, Document

        client = sdk_client(server)

        def run() -> tuple[int, int]:
            written = 0
            for chunk in chunks:
                docs = [
                    Document(
                        _id=r[0],
                        type="item",
                        name=r[1],
                        n=r[2],
                        group=r[3],
                        price=r[4],
                        tags=list(r[5]),
                        active=r[6],
                    )
                    for r in chunk
                ]
                results = client.post_bulk_docs(db=db, bulk_docs=BulkDocs(docs=docs))
                written += sum(1 for r in results.get_result() if "rev" in r)
            return written, 0

        return run, cleanup

    if lib == "couchdb":
        couch = couchdb_server(server)[db]
        CItem = ctx.citem()

        def run() -> tuple[int, int]:
            written = 0
            for chunk in chunks:
                docs = [
                    CItem(
                        id=r[0],
                        name=r[1],
                        n=r[2],
                        group=r[3],
                        price=r[4],
                        tags=list(r[5]),
                        active=r[6],
                    )
                    for r in chunk
                ]
                written += sum(1 for ok, _, _ in couch.update(docs) if ok)
            return written, 0

        return run, cleanup

    raise ValueError(lib)


def read_run(lib: str, ctx: Context) -> tuple[Callable[[], tuple[int, int]], Callable[[], None]]:
    """Page through every document of the read database with _all_docs (include_docs).
    ``odm`` reads with ``track=False`` (docs/pagination.md: going through many documents
    without keeping them); ``odm-tracked`` keeps every object in the session (the
    default), as a variant."""
    track = lib == "odm-tracked"
    reader = paging_reader(
        "odm" if track else lib, ctx.server, ctx.read_db, ctx.page, ctx, track=track
    )
    return reader, _nothing


def _nothing() -> None:
    pass


def start_key_pages(
    fetch: Callable[[str | None], list[Any]], page: int, row_id: Callable[[Any], str]
) -> Iterator[list[Any]]:
    """The pages of ``_all_docs``: ``fetch(start_key)`` asks for ``page + 1`` rows, and
    the extra row's id is where the next page starts."""
    start: str | None = None
    while True:
        rows = fetch(start)
        yield rows[:page]
        if len(rows) <= page:
            return
        start = row_id(rows[page])


def tally_dicts(pages: Iterator[list[Any]]) -> tuple[int, int]:
    """(count, sum of n) of the item documents in rows that are dicts."""
    count = total = 0
    for rows in pages:
        for row in rows:
            doc = row["doc"]
            if doc.get("type") == "item":
                count += 1
                total += doc["n"]
    return count, total


def paging_reader(
    lib: str, server: Server, db: str, page: int, ctx: Context | None, *, track: bool
) -> Callable[[], tuple[int, int]]:
    """A run reading every document of ``db`` through ``_all_docs``, page by page (start
    key = the id after the previous page), as the library's objects; (count, sum of n)."""

    if lib == "raw":
        headers = server.headers

        def run() -> tuple[int, int]:
            conn = server.connection()

            def fetch(start: str | None) -> list[Any]:
                query = {"include_docs": "true", "limit": page + 1}
                if start is not None:
                    query["start_key"] = json.dumps(start)
                conn.request("GET", f"/{db}/_all_docs?{urlencode(query)}", headers=headers)
                rows: list[Any] = json.loads(conn.getresponse().read())["rows"]
                return rows

            try:
                return tally_dicts(start_key_pages(fetch, page, lambda row: row["id"]))
            finally:
                conn.close()

        return run

    if lib == "client":
        client = odm_client(server)

        def fetch_dicts(start: str | None) -> list[Any]:
            result = client.post_all_docs(db, include_docs=True, limit=page + 1, start_key=start)
            rows: list[Any] = result.get_result()["rows"]
            return rows

        def run() -> tuple[int, int]:
            return tally_dicts(start_key_pages(fetch_dicts, page, lambda row: row["id"]))

        return run

    if lib == "odm":
        from cloudant_odm import Session

        client = odm_client(server)
        Item = ctx.Item if ctx is not None else odm_model()

        def run() -> tuple[int, int]:
            session = Session(client, db=db)
            count = total = 0
            for item in Item.objects.using(session).iterator(page_size=page, track=track):
                count += 1
                total += item.n
            return count, total

        return run

    if lib == "sdk":
        from ibmcloudant.cloudant_v1 import AllDocsResult

        client = sdk_client(server)

        def fetch_models(start: str | None) -> list[Any]:
            result = client.post_all_docs(
                db=db, include_docs=True, limit=page + 1, start_key=start
            ).get_result()
            rows: list[Any] = AllDocsResult.from_dict(result).rows
            return rows

        def run() -> tuple[int, int]:
            count = total = 0
            for rows in start_key_pages(fetch_models, page, lambda row: row.id):
                for row in rows:
                    doc = row.doc
                    if getattr(doc, "type", None) == "item":
                        count += 1
                        total += doc.n
            return count, total

        return run

    if lib == "couchdb":
        couch = couchdb_server(server)[db]
        CItem = couchdb_model() if ctx is None else ctx.citem()

        def run() -> tuple[int, int]:
            count = total = 0
            # iterview pages with startkey + startkey_docid; its wrapper= would hide the
            # row keys it pages by, so the rows are wrapped here.
            for row in couch.iterview("_all_docs", page, include_docs=True):
                if row.doc.get("type") == "item":  # (CItem.type defaults to "item")
                    item = CItem.wrap(row.doc)
                    count += 1
                    total += item.n
            return count, total

        return run

    raise ValueError(lib)


def query_run(lib: str, ctx: Context) -> tuple[Callable[[], tuple[int, int]], Callable[[], None]]:
    """A Mango query (one group in ten) read page by page with bookmarks, as objects."""
    server, db, page = ctx.server, ctx.read_db, ctx.page
    selector = {"type": "item", "group": QUERY_GROUP}
    Item = ctx.Item

    if lib in ("raw", "client", "sdk", "couchdb"):
        # Results as dicts (raw, client); the SDK and couchdb-python replace these two.
        def docs_of(result: dict[str, Any]) -> list[Any]:
            return list(result["docs"])

        def n_of(doc: Any) -> int:
            return int(doc["n"])

        if lib == "raw":
            headers = server.headers
            conn_box: list[http.client.HTTPConnection] = []

            def find(body: dict[str, Any]) -> dict[str, Any]:
                conn = conn_box[0]
                conn.request(
                    "POST", f"/{db}/_find", body=json.dumps(body).encode(), headers=headers
                )
                result: dict[str, Any] = json.loads(conn.getresponse().read())
                return result

        elif lib == "client":
            client = odm_client(server)

            def find(body: dict[str, Any]) -> dict[str, Any]:
                result: dict[str, Any] = client.post_find(db, **body).get_result()
                return result

        elif lib == "sdk":
            from ibmcloudant.cloudant_v1 import FindResult

            sdk = sdk_client(server)

            def find(body: dict[str, Any]) -> dict[str, Any]:
                result: dict[str, Any] = sdk.post_find(db=db, **body).get_result()
                return result

            def docs_of(result: dict[str, Any]) -> list[Any]:
                return list(FindResult.from_dict(result).docs)

            def n_of(doc: Any) -> int:
                return int(doc.n)

        else:
            couch = couchdb_server(server)[db]
            CItem = ctx.citem()

            def find(body: dict[str, Any]) -> dict[str, Any]:
                # Database.find() returns the documents without the bookmark, so page
                # with the resource it uses itself.
                _, _, result = couch.resource.post_json("_find", body=body)
                return result  # type: ignore[no-any-return]

            def docs_of(result: dict[str, Any]) -> list[Any]:
                return [CItem.wrap(d) for d in result["docs"]]

            def n_of(doc: Any) -> int:
                return int(doc.n)

        def run() -> tuple[int, int]:
            if lib == "raw":
                conn_box[:] = [server.connection()]
            count = total = 0
            bookmark: str | None = None
            while True:
                body: dict[str, Any] = {"selector": selector, "limit": page}
                if bookmark:
                    body["bookmark"] = bookmark
                result = find(body)
                docs = docs_of(result)
                for doc in docs:
                    count += 1
                    total += n_of(doc)
                bookmark = result.get("bookmark")
                if len(docs) < page or not bookmark:
                    break
            if lib == "raw":
                conn_box[0].close()
            return count, total

        return run, _nothing

    if lib in ("odm", "odm-tracked"):
        from cloudant_odm import Session

        client = odm_client(server)
        track = lib == "odm-tracked"

        def run() -> tuple[int, int]:
            session = Session(client, db=db)
            count = total = 0
            query = Item.objects.using(session).filter(group=QUERY_GROUP)
            for item in query.iterator(page_size=page, track=track):
                count += 1
                total += item.n
            return count, total

        return run, _nothing

    raise ValueError(lib)


def changes_run(lib: str, ctx: Context) -> tuple[Callable[[], tuple[int, int]], Callable[[], None]]:
    """Every change of the read database, from the start, with documents (one-off)."""
    server, db = ctx.server, ctx.read_db
    batch = 10_000

    def item_n(doc: Any) -> int | None:
        if isinstance(doc, dict):
            return doc["n"] if doc.get("type") == "item" else None
        return None

    if lib == "raw":
        headers = server.headers

        def run() -> tuple[int, int]:
            conn = server.connection()
            count = total = 0
            since: Any = 0
            while True:
                query = urlencode({"include_docs": "true", "limit": batch, "since": since})
                conn.request("GET", f"/{db}/_changes?{query}", headers=headers)
                feed = json.loads(conn.getresponse().read())
                for change in feed["results"]:
                    n = item_n(change.get("doc"))
                    if n is not None:
                        count += 1
                        total += n
                since = feed["last_seq"]
                if len(feed["results"]) < batch:
                    break
            conn.close()
            return count, total

        return run, _nothing

    if lib == "client":
        from cloudant_odm.client import ChangesFollower

        client = odm_client(server)

        def run() -> tuple[int, int]:
            count = total = 0
            for change in ChangesFollower(client, db=db, include_docs=True).start_one_off():
                n = item_n(change.doc)
                if n is not None:
                    count += 1
                    total += n
            return count, total

        return run, _nothing

    if lib == "odm":
        from cloudant_odm import Session
        from cloudant_odm.changes import follow

        client = odm_client(server)
        Item = ctx.Item

        def run() -> tuple[int, int]:
            count = total = 0
            for change in follow(Session(client, db=db), [Item], one_off=True):
                count += 1
                total += change.doc.n
            return count, total

        return run, _nothing

    if lib == "sdk":
        from ibmcloudant import ChangesFollower as SdkFollower

        sdk = sdk_client(server)
        # The SDK's one-off follower ends on "pending": 0, which PouchDB Server never
        # sends (it would follow for ever): it is told how many changes there are (one
        # per document, deleted ones included), which ends it on every server.
        info = ctx.server.request("GET", f"/{db}")
        limit = info.get("doc_count", 0) + info.get("doc_del_count", 0)

        def run() -> tuple[int, int]:
            count = total = 0
            follower = SdkFollower(sdk, db=db, include_docs=True, limit=limit)
            for change in follower.start_one_off():
                doc = change.doc
                n = item_n(doc if isinstance(doc, dict) else getattr(doc, "to_dict", dict)())
                if n is not None:
                    count += 1
                    total += n
            return count, total

        return run, _nothing

    if lib == "couchdb":
        couch = couchdb_server(server)[db]

        def run() -> tuple[int, int]:
            count = total = 0
            since: Any = 0
            while True:
                feed = couch.changes(include_docs=True, limit=batch, since=since)
                for change in feed["results"]:
                    n = item_n(change.get("doc"))
                    if n is not None:
                        count += 1
                        total += n
                since = feed["last_seq"]
                if len(feed["results"]) < batch:
                    break
            return count, total

        return run, _nothing

    raise ValueError(lib)


RUNNERS = {"insert": insert_run, "read": read_run, "query": query_run, "changes": changes_run}


# --- memory: a child process per run ---------------------------------------------------------


def peak_rss_kib() -> int:
    """This process's peak resident set size, KiB. Linux's VmHWM belongs to the process
    image; ru_maxrss would carry the peak of the parent that forked it over exec()."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def memory_child(lib: str, db: str, n: int, page: int) -> None:
    """Run in a fresh interpreter: page through ``db`` and print the peak RSS."""
    server = Server(os.environ["BENCH_URL"])
    track = lib == "odm-tracked"
    run = paging_reader("odm" if track else lib, server, db, page, None, track=track)
    gc.collect()
    before = peak_rss_kib()
    count, total = run()
    after = peak_rss_kib()
    print(json.dumps({"count": count, "sum": total, "before_kib": before, "peak_kib": after}))


def memory_workload(
    ctx: Context, libs: list[str], repeat: int, sizes: tuple[int, int]
) -> dict[str, Any]:
    server = ctx.server
    dbs = {}
    for size in sizes:
        db = database_name(f"mem{size}")
        print(f"  loading {size} documents into {db} ...", flush=True)
        server.load(db, make_rows(size, seed=2))
        dbs[size] = db
    runs: dict[str, dict[int, list[dict[str, Any]]]] = {lib: {s: [] for s in sizes} for lib in libs}
    env = {**os.environ, "BENCH_URL": server.url}
    try:
        for rep in range(repeat):
            for lib in rotate(libs, rep):
                for size in sizes:
                    out = subprocess.run(
                        [
                            sys.executable,
                            __file__,
                            f"--json={ctx.args.json}",
                            f"--page-size={ctx.page}",
                            "--child-memory",
                            lib,
                            dbs[size],
                            str(size),
                        ],
                        env=env,
                        capture_output=True,
                        text=True,
                        timeout=1800,
                        check=False,
                    )
                    if out.returncode != 0:
                        raise RuntimeError(f"memory child {lib} {size}: {out.stderr[-2000:]}")
                    result = json.loads(out.stdout.strip().splitlines()[-1])
                    if result["count"] != size or result["sum"] != checksum(size):
                        raise RuntimeError(f"memory child {lib} {size}: wrong result {result}")
                    runs[lib][size].append(result)
                    print(
                        f"  memory {lib:<12} {size:>7} docs: peak {result['peak_kib'] / 1024:7.1f}"
                        f" MiB (at start {result['before_kib'] / 1024:.1f} MiB)",
                        flush=True,
                    )
    finally:
        for db in dbs.values():
            server.drop(db)
    summary: dict[str, Any] = {}
    small, large = sizes
    for lib in libs:
        peak = {s: statistics.median(r["peak_kib"] for r in runs[lib][s]) / 1024 for s in sizes}
        start = {s: statistics.median(r["before_kib"] for r in runs[lib][s]) / 1024 for s in sizes}
        summary[lib] = {
            "peak_mib": {str(s): round(peak[s], 1) for s in sizes},
            "start_mib": {str(s): round(start[s], 1) for s in sizes},
            "growth_mib": round(peak[large] - peak[small], 1),
            "growth_ratio": round(peak[large] / peak[small], 2),
        }
    return {"sizes": list(sizes), "results": summary}


# --- documents: load and dump, no server ------------------------------------------------------


def document_codecs(lib: str) -> tuple[Callable[[], Any], Callable[[], Any]] | None:
    """(load, dump) of the sample document for one library: load turns the decoded JSON
    into the library's object, dump turns the object back into JSON-ready data."""
    sys.path.insert(0, str(HERE))
    from bench_documents import SAMPLE, BenchOrder

    if lib == "raw":
        # The cost of JSON itself: the document's text to a dict and back.
        text = json.dumps(SAMPLE)
        data = json.loads(text)
        return (lambda: json.loads(text)), (lambda: json.dumps(data))
    if lib == "odm":
        from cloudant_odm.models import from_json, to_json

        order = from_json(SAMPLE, BenchOrder)
        assert from_json(to_json(order), BenchOrder) == order
        return (lambda: from_json(SAMPLE, BenchOrder)), (lambda: to_json(order))
    if lib == "sdk":
        from ibmcloudant.cloudant_v1 import Document as SdkDocument

        doc = SdkDocument.from_dict(SAMPLE)
        assert doc.to_dict() == SAMPLE
        return (lambda: SdkDocument.from_dict(SAMPLE)), doc.to_dict
    if lib == "couchdb":
        corder = couchdb_order_model()
        wrapped = corder.wrap(dict(SAMPLE))
        names = list(corder._fields)

        def load_couch() -> Any:
            # The mapping layer keeps the JSON and converts on attribute access: read
            # every field, so that the values are really loaded.
            obj = corder.wrap(SAMPLE)
            for name in names:
                getattr(obj, name)
            return obj

        return load_couch, (lambda: dict(wrapped.items()))
    return None


def documents_workload(number: int, repeat: int, libs: list[str]) -> dict[str, Any]:
    """Best of ``repeat`` timings of ``number`` calls, as bench_documents.py measures."""
    sys.path.insert(0, str(HERE))
    from bench_documents import measure, pydantic_timings

    rows: dict[str, dict[str, float]] = {}
    for lib in libs:
        if lib == "pydantic":
            found = pydantic_timings(number, repeat)
            if found is not None:
                rows["pydantic"] = found
            continue
        codecs = document_codecs(lib)
        if codecs is not None:
            load, dump = codecs
            rows[lib] = {
                "load_us": measure(load, number, repeat),
                "dump_us": measure(dump, number, repeat),
            }
    for row in rows.values():
        row["total_us"] = row["load_us"] + row["dump_us"]
    return {"number": number, "results": rows}


def documents_in_child(args: argparse.Namespace, libs: list[str]) -> dict[str, Any]:
    """The documents workload in a fresh interpreter: in this one, the other workloads'
    data (100 000 rows and more) would make every garbage collection walk a heap that
    has nothing to do with the codecs measured, slowing the libraries that allocate
    Python objects (all but pydantic's Rust core) by up to 2x."""
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            f"--json={args.json}",
            f"--number={args.number}",
            f"--libs={','.join(libs)}",
            "--child-documents",
        ],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"documents child: {out.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def couchdb_order_model() -> Any:
    from couchdb.mapping import (
        BooleanField,
        DecimalField,
        DictField,
        Document,
        FloatField,
        IntegerField,
        ListField,
        Mapping,
        TextField,
    )

    class COrder(Document):  # type: ignore[misc]
        type = TextField()
        customer = TextField()
        email = TextField()
        total = DecimalField()
        quantity = IntegerField()
        paid = BooleanField()
        # DateTimeField can't read a UTC offset ("+00:00" raises "Invalid ISO
        # date/time"): the timestamp stays text here, so this model does less work.
        created = TextField()
        tags = ListField(TextField())
        shipping = DictField(
            Mapping.build(street=TextField(), city=TextField(), postcode=TextField())
        )
        notes = TextField()
        rating = FloatField()

    return COrder


# --- running and reporting ----------------------------------------------------------------------


def rotate(items: list[str], k: int) -> list[str]:
    k %= max(1, len(items))
    return items[k:] + items[:k]


def timed(run: Callable[[], tuple[int, int]]) -> tuple[float, float, int, int]:
    gc.collect()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    count, total = run()
    cpu1, wall1 = time.process_time(), time.perf_counter()
    return wall1 - wall0, cpu1 - cpu0, count, total


def server_workload(
    name: str, ctx: Context, libs: list[str], repeat: int, expected: tuple[int, int | None]
) -> dict[str, Any]:
    runs: dict[str, list[tuple[float, float]]] = {lib: [] for lib in libs}
    want_count, want_sum = expected
    for rep in range(repeat):
        for lib in rotate(libs, rep):
            run, cleanup = RUNNERS[name](lib, ctx)
            try:
                wall, cpu, count, total = timed(run)
            finally:
                cleanup()
            if count != want_count or (want_sum is not None and total != want_sum):
                raise RuntimeError(
                    f"{name}/{lib}: got {count} documents (sum {total}), "
                    f"expected {want_count} (sum {want_sum})"
                )
            runs[lib].append((wall, cpu))
            print(
                f"  {name:<8} {lib:<8} run {rep + 1}: {wall:7.2f} s wall, {cpu:6.2f} s CPU, "
                f"{1e6 * wall / count:8.2f} / {1e6 * cpu / count:6.2f} µs/doc",
                flush=True,
            )
    results: dict[str, Any] = {}
    for lib in libs:
        walls = [w for w, _ in runs[lib]]
        cpus = [c for _, c in runs[lib]]
        results[lib] = {
            "wall_s": round(statistics.median(walls), 4),
            "cpu_s": round(statistics.median(cpus), 4),
            "wall_us_doc": round(1e6 * statistics.median(walls) / want_count, 3),
            "cpu_us_doc": round(1e6 * statistics.median(cpus) / want_count, 3),
            "docs_per_s": round(want_count / statistics.median(walls)),
            "runs": [{"wall_s": round(w, 4), "cpu_s": round(c, 4)} for w, c in runs[lib]],
        }
    base = results.get("raw")
    for row in results.values():
        if base:
            row["wall_ratio"] = round(row["wall_us_doc"] / base["wall_us_doc"], 2)
            row["cpu_ratio"] = round(row["cpu_us_doc"] / base["cpu_us_doc"], 2)
            row["throughput_ratio"] = round(base["wall_us_doc"] / row["wall_us_doc"], 2)
    return {"docs": want_count, "results": results}


DESCRIPTIONS = {
    "insert": "bulk insert, batches of {batch} (_bulk_docs)",
    "read": "read every document, _all_docs pages of {page}",
    "query": "Mango query, {matches} matches as objects, pages of {page}",
    "changes": "one-off changes feed with documents",
}


def markdown(report: dict[str, Any]) -> str:
    out: list[str] = []
    for name, section in report["workloads"].items():
        if name == "memory":
            sizes = section["sizes"]
            out.append(f"### memory: peak RSS paging through {sizes[0]} vs {sizes[1]} documents\n")
            out.append(
                f"| library | MiB before reading | peak MiB, {sizes[0]} docs | "
                f"peak MiB, {sizes[1]} docs | peak {sizes[1]} - peak {sizes[0]} |"
            )
            out.append("|---|---:|---:|---:|---:|")
            for lib, row in section["results"].items():
                peak = row["peak_mib"]
                out.append(
                    f"| {lib} | {row['start_mib'][str(sizes[0])]} | {peak[str(sizes[0])]} | "
                    f"{peak[str(sizes[1])]} | {row['growth_mib']:+} MiB |"
                )
        elif name == "documents":
            out.append("### documents: load + dump of one 10-field nested document, no server\n")
            out.append("| library | load µs | dump µs | load+dump µs | ratio to pydantic |")
            out.append("|---|---:|---:|---:|---:|")
            ref = section["results"].get("pydantic", {}).get("total_us")
            for lib, row in section["results"].items():
                ratio = f"{row['total_us'] / ref:.2f}" if ref else "—"
                out.append(
                    f"| {lib} | {row['load_us']:.2f} | {row['dump_us']:.2f} | "
                    f"{row['total_us']:.2f} | {ratio} |"
                )
        else:
            title = section.get("title", name)
            out.append(f"### {name}: {title} ({section['docs']} documents)\n")
            out.append(
                "| library | wall µs/doc | CPU µs/doc | docs/s | wall ÷ raw | CPU ÷ raw "
                "| CPU ÷ sdk |"
            )
            out.append("|---|---:|---:|---:|---:|---:|---:|")
            sdk = section["results"].get("sdk")
            for lib, row in section["results"].items():
                vs_sdk = f"{row['cpu_us_doc'] / sdk['cpu_us_doc']:.2f}" if sdk else "—"
                out.append(
                    f"| {lib} | {row['wall_us_doc']:.1f} | {row['cpu_us_doc']:.2f} | "
                    f"{row['docs_per_s']} | {row.get('wall_ratio', '—')} | "
                    f"{row.get('cpu_ratio', '—')} | {vs_sdk} |"
                )
        out.append("")
    return "\n".join(out)


def compare(before: dict[str, Any], after: dict[str, Any], reference: str = "sdk") -> str:
    """A before/after table of two results files (the same workloads, measured at
    different times): client CPU per document, the change, and each run's ratio to
    ``reference``, which was measured in the same run and so corrects for a machine
    that was faster or slower that day."""
    out = [
        f"| workload | library | CPU µs/doc before | after | change | ÷ {reference} before "
        f"| ÷ {reference} after |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, section in after["workloads"].items():
        old = before["workloads"].get(name)
        if old is None or name == "memory":
            continue
        key = "total_us" if name == "documents" else "cpu_us_doc"
        old_ref = old["results"].get(reference, {}).get(key)
        new_ref = section["results"].get(reference, {}).get(key)
        for lib, row in section["results"].items():
            was = old["results"].get(lib)
            if was is None or lib == reference:
                continue
            a, b = was[key], row[key]
            ratios = [
                f"{value / ref:.2f}" if ref else "—" for value, ref in ((a, old_ref), (b, new_ref))
            ]
            out.append(
                f"| {name} | {lib} | {a:.2f} | {b:.2f} | {100 * (b - a) / a:+.0f} % "
                f"| {ratios[0]} | {ratios[1]} |"
            )
    return "\n".join(out)


def chart(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [
        n for n in ("insert", "read", "query", "changes", "documents") if n in report["workloads"]
    ]
    libs = ["raw", "rawjson", "client", "odm", "sdk", "couchdb", "pydantic"]
    colours = {
        "raw": "#999999",
        "rawjson": "#cccccc",
        "client": "#6baed6",
        "odm": "#08519c",
        "sdk": "#e6550d",
        "couchdb": "#31a354",
        "pydantic": "#756bb1",
    }
    from matplotlib.ticker import FuncFormatter

    fig, ax = plt.subplots(figsize=(10, 5.2))
    width = 0.8 / len(libs)
    for j, lib in enumerate(libs):
        xs, ys = [], []
        for i, name in enumerate(names):
            row = report["workloads"][name]["results"].get(lib)
            if row is None:
                continue
            value = row["total_us"] if name == "documents" else row["cpu_us_doc"]
            xs.append(i + (j - len(libs) / 2 + 0.5) * width)
            ys.append(value)
        if xs:
            ax.bar(xs, ys, width, label=lib, color=colours[lib])
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels([("documents\n(load+dump, µs)" if n == "documents" else n) for n in names])
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(
        FuncFormatter(lambda v, _: f"{v:g}" if round(v, 6) in (2, 3, 5, 20, 30) else "")
    )
    ax.set_ylabel("client CPU µs per document (log scale)")
    docs = report["settings"]["docs"]
    ax.set_title(f"Client CPU per document, {docs} documents (lower is better)")
    ax.legend(ncol=7, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14))
    ax.grid(axis="y", which="both", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def available(lib: str) -> str | None:
    """Why a library can't run here, or None."""
    modules = {"sdk": "ibmcloudant", "couchdb": "couchdb.mapping", "pydantic": "pydantic"}
    module = modules.get(lib)
    if module is None:
        return None
    try:
        __import__(module)
    except ImportError as exc:
        return f"{exc} (pip install -e '.[bench]')"
    return None


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        info["node"] = subprocess.run(
            ["node", "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout.strip()
    versions = {}
    for dist in ("cloudant-odm", "ibmcloudant", "CouchDB", "pydantic", "requests", "orjson"):
        with contextlib.suppress(Exception):
            from importlib.metadata import version

            versions[dist] = version(dist)
    info["versions"] = versions
    return info


def json_backend() -> str:
    try:
        from cloudant_odm.client import encoding
    except ImportError:  # a cloudant_odm from before the choice existed
        try:
            from cloudant_odm.client import _json as encoding  # type: ignore[no-redef]
        except ImportError:
            return "json"
    return str(encoding.BACKEND)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--docs", type=int, default=100_000, help="documents per workload")
    parser.add_argument("--repeat", type=int, default=3, help="runs per library (median)")
    parser.add_argument(
        "--only", action="append", choices=WORKLOADS, help="run only this workload (repeatable)"
    )
    parser.add_argument("--libs", default=",".join((*LIBS, "pydantic", "odm-tracked")))
    parser.add_argument("--batch", type=int, default=1000, help="documents per _bulk_docs")
    parser.add_argument("--page-size", type=int, default=1000, help="documents per page read")
    parser.add_argument(
        "--memory-sizes", default="10000,200000", help="document counts for the memory workload"
    )
    parser.add_argument("--number", type=int, default=20_000, help="documents workload: calls")
    parser.add_argument(
        "--json",
        choices=("stdlib", "auto"),
        default="stdlib",
        help="cloudant_odm's JSON backend: stdlib (the default measured), or auto (orjson "
        "when installed)",
    )
    parser.add_argument(
        "--no-pin",
        action="store_true",
        help="don't put the local server and the client on separate CPUs",
    )
    parser.add_argument(
        "--gc-threshold",
        type=int,
        default=None,
        help="the garbage collector's first threshold for every library (gc.set_threshold; "
        "Python's default is 700): what tuning the collector does to each",
    )
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.json")
    parser.add_argument("--chart", type=Path, default=None, help="write the PNG chart here")
    parser.add_argument(
        "--from-json",
        type=Path,
        default=None,
        help="measure nothing: print the tables (and draw --chart) from a results file",
    )
    parser.add_argument(
        "--compare",
        nargs=2,
        type=Path,
        metavar=("BEFORE", "AFTER"),
        help="measure nothing: print a before/after table of two results files",
    )
    parser.add_argument("--child-documents", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--child-memory", nargs=3, metavar=("LIB", "DB", "N"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)

    # Before cloudant_odm is imported (and inherited by the memory children).
    os.environ["CLOUDANT_ODM_JSON"] = "stdlib" if args.json == "stdlib" else "auto"
    if args.gc_threshold is not None:
        gc.set_threshold(args.gc_threshold, *gc.get_threshold()[1:])
    if args.child_memory:
        lib, db, n = args.child_memory
        memory_child(lib, db, int(n), args.page_size)
        return 0
    if args.child_documents:
        libs = [lib for lib in args.libs.split(",") if lib and available(lib) is None]
        print(json.dumps(documents_workload(args.number, 5, libs)))
        return 0
    if args.compare is not None:
        before, after = (json.loads(path.read_text()) for path in args.compare)
        print(compare(before, after))
        return 0
    if args.from_json is not None:
        saved = json.loads(args.from_json.read_text())
        print(markdown(saved))
        if args.chart is not None:
            chart(saved, args.chart)
            print(f"wrote {args.chart}")
        return 0
    if args.quick:
        args.docs = min(args.docs, 2000)
        args.repeat = 1
        args.memory_sizes = "500,2000"
        args.number = 2000
    sizes = tuple(int(s) for s in args.memory_sizes.split(","))
    if len(sizes) != 2:
        parser.error("--memory-sizes takes two counts")
    wanted = [lib.strip() for lib in args.libs.split(",") if lib.strip()]
    skipped = {}
    for lib in wanted:
        why = available(lib)
        if why:
            skipped[lib] = why
            print(f"skipping {lib}: {why}", file=sys.stderr)
    libs_ok = [lib for lib in wanted if lib not in skipped]
    workloads = args.only or list(WORKLOADS)

    report: dict[str, Any] = {
        "machine": machine(),
        "settings": {
            "docs": args.docs,
            "repeat": args.repeat,
            "batch": args.batch,
            "page_size": args.page_size,
            "memory_sizes": list(sizes),
            "server": "CLOUDANT_URL"
            if os.environ.get("CLOUDANT_URL")
            else "PouchDB Server (memory)",
            "json": json_backend(),
            "gc_threshold": list(gc.get_threshold()),
        },
        "skipped": skipped,
        "workloads": {},
    }
    needs_server = any(w != "documents" for w in workloads)
    server = Server(pin=not args.no_pin) if needs_server else None
    if server is not None:
        report["settings"]["cpus"] = server.pinned or "not pinned"
    try:
        ctx = Context(server, args) if server else None
        for name in workloads:
            libs = [lib for lib in APPLIES[name] if lib in libs_ok]
            if not libs:
                continue
            print(f"\n== {name}: {', '.join(libs)}", flush=True)
            if name == "documents":
                report["workloads"][name] = documents_in_child(args, libs)
                continue
            assert ctx is not None
            assert server is not None
            if name == "memory":
                report["workloads"][name] = memory_workload(ctx, libs, args.repeat, sizes)
                continue
            if name in ("read", "query", "changes") and not ctx.read_db:
                ctx.read_db = database_name("read")
                print(f"  loading {ctx.n} documents into {ctx.read_db} ...", flush=True)
                server.load(ctx.read_db, ctx.rows)
                # The Mango query's index (without one, each page scans every document).
                # Built now, before any workload reads the database, so every library
                # sees the same database (its design document included).
                server.request(
                    "POST",
                    f"/{ctx.read_db}/_index",
                    {"index": {"fields": ["type", "group"]}, "name": "by-group", "ddoc": "bench"},
                )
                warm, _ = query_run("raw", ctx)
                warm()
            if name == "query":
                expected: tuple[int, int | None] = (
                    sum(1 for i in range(ctx.n) if i % GROUPS == QUERY_GROUP),
                    checksum(ctx.n, QUERY_GROUP),
                )
            elif name == "insert":
                expected = (ctx.n, None)
            else:
                expected = (ctx.n, checksum(ctx.n))
            section = server_workload(name, ctx, libs, args.repeat, expected)
            section["title"] = DESCRIPTIONS[name].format(
                batch=args.batch, page=args.page_size, matches=expected[0]
            )
            report["workloads"][name] = section
        if ctx is not None and ctx.read_db:
            server.drop(ctx.read_db)
    finally:
        if server is not None:
            server.stop()

    table = markdown(report)
    print("\n" + table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(table + "\n")
    print(f"wrote {args.out} and {args.out.with_suffix('.md')}")
    if args.chart is not None:
        chart(report, args.chart)
        print(f"wrote {args.chart}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

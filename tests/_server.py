"""The CouchDB-compatible server that integration tests talk to.

Which server (first match wins):

1. ``CLOUDANT_URL`` set: that server (IBM Cloudant or Apache CouchDB), with the
   credentials from ``CLOUDANT_AUTH_TYPE`` / ``CLOUDANT_USERNAME`` /
   ``CLOUDANT_PASSWORD`` / ``CLOUDANT_APIKEY`` / ``CLOUDANT_BEARER_TOKEN``.
2. ``CLOUDANT_TEST_SERVER_URL`` set: an already running local test server
   (``scripts/couch-server/couch-server start`` or ``... run -- pytest``), as the admin
   in ``CLOUDANT_TEST_SERVER_USERNAME`` / ``CLOUDANT_TEST_SERVER_PASSWORD``.
3. Otherwise the local PouchDB test server is started here
   (``node scripts/couch-server/server.js --memory --port 0``) with a random admin,
   and stopped at the end of the session.

What PouchDB Server does not support is listed once, in :data:`POUCHDB_GAPS`
(details and exact responses: ``docs/compatibility.md``); tests say which of those
features they need with :func:`skip_on_pouchdb` or the ``requires`` fixture.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import pytest
import requests

from cloudant_odm.client import BasicAuthenticator, CloudantV1

if TYPE_CHECKING:
    from cloudant_odm.aio import AsyncCloudantV1

# Re-exported: tests start extra servers with it (the launcher logic ships in the package).
from cloudant_odm.testing.server import LocalServer as LocalServer

START_TIMEOUT = float(os.environ.get("COUCH_SERVER_START_TIMEOUT", "30"))
REQUEST_TIMEOUT = 30.0
IAM_TOKEN_URL = "https://iam.cloud.ibm.com/identity/token"

# Features that PouchDB Server (express-pouchdb 4.2.0 on pouchdb-node 9.0.0, as
# pinned in scripts/couch-server/package.json) lacks or gets wrong, compared with
# CouchDB 3.x / Cloudant. Keys are the names used with skip_on_pouchdb() and the
# `requires` fixture; values are the skip reasons. Source: docs/compatibility.md.
POUCHDB_GAPS: dict[str, str] = {
    # server level
    "up": "GET /_up is 404 (treated as a database name)",
    "dbs_info": "/_dbs_info is 404",
    "db_updates": "/_db_updates answers 400 with an empty body",
    "scheduler": "/_scheduler/jobs and /_scheduler/docs are 404",
    "active_tasks": "/_active_tasks is always []",
    "node_api": "/_node/{node}/... (config, stats, system) is 404",
    "cloudant_api_v2": "/_api/v2/... (CORS, API keys, throughput, activity tracker) is 404",
    "cors": "no CORS: no Access-Control-* headers, OPTIONS is 404",
    "iam": "no IAM: /_iam_session is 404",
    "search": "no Lucene search: _search, _search_info, _search_analyze",
    "geo": "no geospatial indexes (_geo)",
    "partitions": "no partitioned databases: ?partitioned=true ignored, /_partition/... 404/400",
    "server_admins": "the launcher's generated admin is the only server admin (express-pouchdb "
    "stays in admin party behind its authentication gate); PUT /{db} by a _users user is "
    "a 500, not 401",
    "replication_errors": "a failing replication (bad source) still reports status 'complete'",
    # database level
    "db_name_rules": "illegal database names are accepted: PUT /Bad-Name creates it (CouchDB: 400)",
    "db_name_slash": "'/' is dropped from database names: PUT /a%2Fb creates 'ab'",
    "db_info_fields": "db info lacks sizes, props, purge_seq, doc_del_count, cluster; "
    "update_seq is an integer",
    "opaque_seqs": "sequences are integers, not opaque strings",
    "design_docs": "/{db}/_design_docs is 404 (GET) / 400 (POST)",
    "local_docs_list": "/{db}/_local_docs is 404 (GET) / 400 (POST)",
    "multi_queries": "_all_docs/queries and _view/{view}/queries are 400 only_multipart_accepted",
    "purge": "_purge is 400 only_multipart_accepted",
    "revs_limit": "GET /{db}/_revs_limit is 404, PUT is 400 invalid_json",
    "compact_ddoc": "POST /{db}/_compact/{ddoc} is 400 only_multipart_accepted",
    "missing_revs": "_missing_revs is 400 only_multipart_accepted",
    "shards": "/{db}/_shards is 404",
    "security_admins": "_security members are enforced only for named _users users; "
    "_security admins are not",
    # documents
    "delete_requires_rev": "DELETE of a document without (or with a stale) rev is not 409: "
    "no rev deletes the current revision, a stale rev is 404",
    "doc_etag": "GET/HEAD of a document: ETag is a weak body hash, not the rev; "
    "If-None-Match is ignored",
    "url_id_wins": "PUT /{db}/{id} with a different _id in the body stores the body's _id",
    "doc_validation_status": "bad special members (_foo) are 500 doc_validation, not 400",
    "non_json_bodies": "a body without Content-Type: application/json is silently ignored",
    "copy_response": "COPY answers {ok: true} only: no id/rev, no ETag",
    "bulk_docs_order": "_bulk_docs puts design documents first in its result array",
    "bulk_get_errors": "_bulk_get: missing/deleted docs give {} (no error object); "
    "repeated ids collapse to one result",
    "attachment_range": "attachment Range requests are ignored (200, whole body)",
    "conflicts_in_find": "_find ignores conflicts: true",
    # queries
    "find_default_limit": "_find without limit returns every match (CouchDB: at most 25)",
    "find_execution_stats": "_find execution_stats is emulated by the launcher: "
    "total_keys_examined / total_docs_examined are only lower bounds (skip + docs returned)",
    "explain_shape": "_explain returns PouchDB's own shape (no mrargs, fields, covering)",
    "index_delete": "DELETE /{db}/_index/{ddoc}/json/{name} of an index that does not "
    "exist is not 404: 200 (unknown name in an existing ddoc) or 500 (unknown ddoc)",
    "text_indexes": "type: text indexes are silently created as json indexes",
    "ddoc_info": "GET /{db}/_design/{ddoc}/_info is {view_index: 'Not implemented.'}",
    "view_startkey_docid": "views ignore startkey_docid / endkey_docid",
    "view_errors": "a view whose map function throws or does not compile returns no rows "
    "(no error)",
    # _changes
    "changes_design_filter": "filter=_design is 404",
    "changes_timeout": "feed=longpoll/continuous ignore timeout; continuous ignores limit "
    "and never sends last_seq",
    "seq_interval": "seq_interval is ignored",
}


_Client = TypeVar("_Client", "CloudantV1", "AsyncCloudantV1")


@dataclass(frozen=True)
class ServerConfig:
    """Where the test server is and how to authenticate to it."""

    url: str
    source: str  # "CLOUDANT_URL", "CLOUDANT_TEST_SERVER_URL" or "launched"
    auth_type: str = "NOAUTH"
    username: str | None = None
    password: str | None = None
    apikey: str | None = None
    bearer_token: str | None = None
    iam_url: str = IAM_TOKEN_URL

    @property
    def external(self) -> bool:
        """True when the server comes from ``CLOUDANT_URL`` (a real Cloudant/CouchDB)."""
        return self.source == "CLOUDANT_URL"

    def environment(self) -> dict[str, str]:
        """The ``CLOUDANT_*`` variables a subprocess needs to reach this server (for
        ``CloudantV1.new_instance()``)."""
        if self.external:
            return {k: v for k, v in os.environ.items() if k.startswith("CLOUDANT_")}
        return {
            "CLOUDANT_URL": self.url,
            "CLOUDANT_AUTH_TYPE": "BASIC",
            "CLOUDANT_USERNAME": self.username or "",
            "CLOUDANT_PASSWORD": self.password or "",
        }

    def client(self, url: str | None = None) -> CloudantV1:
        """A ``CloudantV1`` authenticated as the tests are, for the server, or for ``url``
        (a proxy in front of it)."""
        return self._configured(CloudantV1, url)

    def async_client(self, url: str | None = None) -> AsyncCloudantV1:
        """``client()``'s ``AsyncCloudantV1`` (needs the async extra)."""
        from cloudant_odm.aio import AsyncCloudantV1

        return self._configured(AsyncCloudantV1, url)

    def _configured(self, cls: type[_Client], url: str | None) -> _Client:
        if self.external:
            client = cls.new_instance()
        else:
            credentials = BasicAuthenticator(self.username or "", self.password or "")
            client = cls(authenticator=credentials)
            client.set_service_url(self.url)
        if url is not None:
            client.set_service_url(url)
        quorum = self.write_quorum()
        if quorum is not None:
            write_to_every_copy(client, quorum)
        return client

    def write_quorum(self) -> int | None:
        """On a cluster (CouchDB with several nodes), how many copies the tests' own writes
        ask for (``w``): every copy, so that what a test reads next sees what it wrote;
        None on one node, PouchDB, or where ``/_membership`` isn't readable (Cloudant)."""
        if not self.external:
            return None
        if self.url not in _QUORUMS:
            nodes: list[Any] = []
            try:
                session = http_session(self)
                answer = session.get(f"{self.url}/_membership", timeout=REQUEST_TIMEOUT)
                if answer.status_code == 200:
                    nodes = answer.json().get("cluster_nodes") or []
            except (requests.RequestException, ValueError):
                nodes = []
            _QUORUMS[self.url] = min(len(nodes), 3) if len(nodes) > 1 else None
        return _QUORUMS[self.url]


_QUORUMS: dict[str, int | None] = {}
# /{db}/{id}, /{db}/_design/{name}, /{db}/_local/{name}: one document.
_WRITES_BY_ID = re.compile(r"^/[^/]+/(?:[^/_][^/]*|_design/[^/]+|_local/[^/]+)$")
# POST /{db}: a new document.
_DATABASE = re.compile(r"^/[^/]+$")


def write_to_every_copy(client: CloudantV1 | AsyncCloudantV1, quorum: int) -> None:
    """Make ``client`` ask for ``w=quorum`` on document writes (``_bulk_docs``, ``POST
    /{db}``, and PUT and DELETE of one document): CouchDB answers once that many copies
    have the write.

    On a cluster a write returns when a quorum of copies (2 of 3) has it, and views,
    Mango, ``_all_docs`` and ``_changes`` read one copy per shard range, which may be
    the one still without it (docs/clusters.md). The suite tests the library, not the
    replication delay, so on a cluster its writes wait for every copy; what ``w``
    doesn't cover (a new index or design document reaching every node) is waited for
    where it is used."""
    send = client._transport.send

    def send_to_every_copy(method: str, path: str, **kwargs: Any) -> Any:
        bare = path.split("?", 1)[0]
        is_write = (
            method == "POST" and (bare.endswith("/_bulk_docs") or _DATABASE.match(bare))
        ) or (method in ("PUT", "DELETE") and _WRITES_BY_ID.match(bare))
        if is_write:
            kwargs["params"] = {**(kwargs.get("params") or {}), "w": str(quorum)}
        return send(method, path, **kwargs)

    client._transport.send = send_to_every_copy  # type: ignore[method-assign]


def launched(server: LocalServer) -> ServerConfig:
    """The configuration of a local server started by the tests."""
    assert server.url is not None, "start the server first"
    return ServerConfig(
        url=server.url,
        source="launched",
        auth_type="BASIC",
        username=server.username,
        password=server.password,
    )


def config_from_env(environ: Mapping[str, str] | None = None) -> ServerConfig | None:
    """The configured server, or None when a local server has to be started."""
    env = os.environ if environ is None else environ
    url = env.get("CLOUDANT_URL", "").strip()
    if url:
        username = env.get("CLOUDANT_USERNAME") or None
        apikey = env.get("CLOUDANT_APIKEY") or None
        bearer = env.get("CLOUDANT_BEARER_TOKEN") or None
        auth_type = (env.get("CLOUDANT_AUTH_TYPE") or "").strip().upper()
        if not auth_type:
            auth_type = (
                "IAM" if apikey else "BEARERTOKEN" if bearer else "BASIC" if username else "NOAUTH"
            )
        return ServerConfig(
            url=url.rstrip("/"),
            source="CLOUDANT_URL",
            auth_type=auth_type,
            username=username,
            password=env.get("CLOUDANT_PASSWORD") or None,
            apikey=apikey,
            bearer_token=bearer,
            iam_url=env.get("CLOUDANT_AUTH_URL") or IAM_TOKEN_URL,
        )
    url = env.get("CLOUDANT_TEST_SERVER_URL", "").strip()
    if url:
        return ServerConfig(
            url=url.rstrip("/"),
            source="CLOUDANT_TEST_SERVER_URL",
            auth_type="BASIC",
            username=env.get("CLOUDANT_TEST_SERVER_USERNAME") or None,
            password=env.get("CLOUDANT_TEST_SERVER_PASSWORD") or None,
        )
    return None


def http_session(config: ServerConfig) -> requests.Session:
    """A plain ``requests`` session that is authenticated to the server."""
    session = requests.Session()
    session.headers["Accept"] = "application/json"
    auth = config.auth_type
    if auth in {"BASIC", "COUCHDB_SESSION"} and config.username:
        session.auth = (config.username, config.password or "")
    elif auth == "BEARERTOKEN" and config.bearer_token:
        session.headers["Authorization"] = f"Bearer {config.bearer_token}"
    elif auth == "IAM" and config.apikey:
        response = requests.post(
            config.iam_url,
            data={
                "grant_type": "urn:ibm:params:oauth:grant-type:apikey",
                "apikey": config.apikey,
            },
            headers={"Accept": "application/json"},
            timeout=REQUEST_TIMEOUT,
        )
        response.raise_for_status()
        session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
    return session


def is_pouchdb(server_info: Mapping[str, Any]) -> bool:
    """Whether ``GET /`` came from PouchDB Server (express-pouchdb)."""
    vendor = server_info.get("vendor")
    vendor_name = vendor.get("name") if isinstance(vendor, Mapping) else None
    return "express-pouchdb" in server_info or vendor_name == "PouchDB authors"


def unique_db_name(prefix: str = "cloudant-odm-test") -> str:
    """A fresh, valid CouchDB database name."""
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def skip_on_pouchdb(*features: str) -> pytest.MarkDecorator:
    """Mark a test as needing features that PouchDB Server lacks.

    ``@skip_on_pouchdb("partitions")`` skips the test when the server is PouchDB
    Server and runs it against CouchDB / Cloudant. Feature names are the keys of
    :data:`POUCHDB_GAPS`; an unknown name is an error at import time.
    """
    if not features:
        raise ValueError("skip_on_pouchdb() needs at least one feature name")
    unknown = [name for name in features if name not in POUCHDB_GAPS]
    if unknown:
        raise KeyError(f"unknown PouchDB gap(s) {unknown}; known: {sorted(POUCHDB_GAPS)}")
    return pytest.mark.skip_on_pouchdb(*features)


def pouchdb_skip_reason(features: tuple[str, ...] | list[str]) -> str:
    """The skip message for tests that need ``features``."""
    unknown = [name for name in features if name not in POUCHDB_GAPS]
    if unknown:
        raise KeyError(f"unknown PouchDB gap(s) {unknown}; known: {sorted(POUCHDB_GAPS)}")
    details = "; ".join(f"{name}: {POUCHDB_GAPS[name]}" for name in features)
    return f"not supported by PouchDB Server ({details}); see docs/compatibility.md"


T = TypeVar("T")


def eventually(
    check: Callable[[], T],
    timeout: float = 30.0,
    retry_on: tuple[type[BaseException], ...] = (AssertionError,),
    consecutive: int = 1,
) -> T:
    """``check()``'s result once it stops raising ``retry_on`` (by default a failed
    assert), ``consecutive`` times in a row, polling up to ``timeout`` seconds; then its
    last error.

    For reads that are eventually consistent on a cluster (Cloudant, CouchDB with n > 1):
    views, Mango, ``_all_docs`` ranges and ``_changes`` read one copy per shard range,
    which may not have a write yet when the write returns (docs/clusters.md). On one
    node the first try passes."""
    deadline = time.monotonic() + timeout
    pause = 0.05
    passed = 0
    while True:
        try:
            result = check()
            passed += 1
            if passed >= consecutive:
                return result
            continue  # ask again at once: another copy may answer
        except retry_on:
            passed = 0
            if time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 1.0)


def settle(client: CloudantV1, db: str, count: int, timeout: float = 30.0) -> None:
    """Wait until ``_all_docs`` of ``db`` lists ``count`` documents (design documents
    not counted), read several times
    in a row (each read may ask other copies): after seeding a database that tests then
    query through indexes, on a cluster where the last copies get writes a moment late."""

    def listed() -> None:
        rows = client.post_all_docs(db).get_result()["rows"]
        found = sum(1 for row in rows if not row["id"].startswith("_design/"))
        assert found == count, f"{found} of {count} documents listed so far"

    eventually(listed, timeout=timeout, consecutive=5)


def wait_until_up(
    session: requests.Session, url: str, timeout: float = START_TIMEOUT
) -> dict[str, Any]:
    """``GET /`` until it answers 200; return the JSON body."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            response = session.get(url + "/", timeout=REQUEST_TIMEOUT)
            if response.status_code == 200:
                body = response.json()
                if isinstance(body, dict):
                    return body
            last_error = RuntimeError(f"GET / -> {response.status_code}: {response.text[:200]}")
        except requests.RequestException as error:
            last_error = error
        time.sleep(0.2)
    raise RuntimeError(f"server at {url} is not answering: {last_error}")

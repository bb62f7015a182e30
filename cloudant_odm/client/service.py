"""``CloudantV1``: every endpoint of the official SDK, plus the ones it lacks.

The class body is the endpoint catalogue: one ``Op`` declaration per operation (see
``_operations``), in the SDK's areas and order. Configuration methods and the few
endpoints that need more than a declaration (COPY, compaction, session) follow.
"""

from __future__ import annotations

from typing import Any

import requests

from cloudant_odm.client._operations import Op
from cloudant_odm.client.auth import Authenticator
from cloudant_odm.client.config import get_authenticator_from_environment, service_config
from cloudant_odm.client.errors import redact_url
from cloudant_odm.client.transport import DetailedResponse, Transport

__all__ = ["CloudantV1"]

_DOC_READ = (
    "attachments",
    "att_encoding_info",
    "conflicts",
    "deleted_conflicts",
    "latest",
    "local_seq",
    "meta",
    "rev",
    "revs",
    "revs_info",
)
_ALL_DOCS = (
    "att_encoding_info",
    "attachments",
    "conflicts",
    "descending",
    "include_docs",
    "inclusive_end",
    "limit",
    "skip",
    "update_seq",
    "end_key",
    "key",
    "keys",
    "start_key",
)
_VIEW_BASE = (
    "att_encoding_info",
    "attachments",
    "conflicts",
    "descending",
    "include_docs",
    "inclusive_end",
    "limit",
    "skip",
    "update_seq",
    "end_key",
    "end_key_doc_id",
    "group",
    "group_level",
    "key",
    "keys",
    "reduce",
)
_VIEW = (*_VIEW_BASE, "stable", "start_key", "start_key_doc_id", "update")
_PARTITION_VIEW = (*_VIEW_BASE, "start_key", "start_key_doc_id", "update")
_PARTITION_FIND = (
    "selector",
    "allow_fallback",
    "bookmark",
    "conflicts",
    "execution_stats",
    "fields",
    "limit",
    "skip",
    "sort",
    "stable",
    "update",
    "use_index",
)
_FIND = (*_PARTITION_FIND, "r")
_PARTITION_SEARCH = (
    "query",
    "bookmark",
    "highlight_fields",
    "highlight_number",
    "highlight_post_tag",
    "highlight_pre_tag",
    "highlight_size",
    "include_docs",
    "include_fields",
    "limit",
    "sort",
    "stale",
)
_SEARCH = (
    *_PARTITION_SEARCH,
    "counts",
    "drilldown",
    "group_field",
    "group_limit",
    "group_sort",
    "ranges",
)
_CHANGES = (
    "att_encoding_info",
    "attachments",
    "conflicts",
    "descending",
    "feed",
    "filter",
    "heartbeat",
    "include_docs",
    "limit",
    "seq_interval",
    "since",
    "style",
    "timeout",
    "view",
)


class CloudantV1:
    """The Cloudant / CouchDB endpoint client, call-compatible with ``ibmcloudant``'s.

    Every operation returns a ``DetailedResponse``. Instances are thread-safe and hold one
    pooled connection set.
    """

    DEFAULT_SERVICE_URL = "https://~replace-with-cloudant-host~.cloudantnosqldb.appdomain.cloud"
    DEFAULT_SERVICE_NAME = "cloudant"

    def __init__(self, authenticator: Authenticator | None = None) -> None:
        if authenticator is None:
            raise ValueError("authenticator must be provided")
        authenticator.validate()
        self.authenticator = authenticator
        self._transport = Transport(authenticator)
        self._transport.set_service_url(self.DEFAULT_SERVICE_URL)

    @classmethod
    def new_instance(cls, service_name: str = DEFAULT_SERVICE_NAME) -> CloudantV1:
        """A client configured from the credentials file, the environment or VCAP_SERVICES
        (``<SERVICE_NAME>_URL``, ``_AUTH_TYPE``, ``_APIKEY``, ``_USERNAME``, ...)."""
        authenticator = get_authenticator_from_environment(service_name)
        if authenticator is None:
            prefix = service_name.upper().replace("-", "_").replace(" ", "_")
            raise ValueError(
                f"No configuration found for service {service_name!r}: set {prefix}_URL and "
                f"{prefix}_AUTH_TYPE (with its credentials) in the environment, a credentials "
                "file or VCAP_SERVICES"
            )
        service = cls(authenticator)
        config = service_config(service_name)
        if config.url:
            service.set_service_url(config.url)
        if config.disable_ssl:
            service.set_disable_ssl_verification(True)
        if config.enable_gzip is not None:
            service.set_enable_gzip_compression(config.enable_gzip)
        if config.enable_retries:
            service.enable_retries(
                max_retries=config.max_retries if config.max_retries is not None else 4,
                retry_interval=config.retry_interval if config.retry_interval is not None else 30.0,
            )
        return service

    def __repr__(self) -> str:
        url = redact_url(self._transport.service_url)
        return f"CloudantV1(service_url={url!r}, authenticator={self.authenticator!r})"

    # -- configuration, as the SDK names it ---------------------------------------

    @property
    def service_url(self) -> str:
        return self._transport.service_url

    def set_service_url(self, service_url: str) -> None:
        self._transport.set_service_url(service_url)

    def get_authenticator(self) -> Authenticator:
        return self.authenticator

    def set_default_headers(self, headers: dict[str, str]) -> None:
        """Headers sent on every request; they override the operation's own."""
        if not isinstance(headers, dict):
            raise TypeError("headers must be a dict")
        self._transport.default_headers = dict(headers)

    def set_http_config(self, http_config: dict[str, Any]) -> None:
        """``requests`` options for every call: ``timeout`` (keeps 60 s / 150 s unless
        given), ``proxies``, ``verify``, ``cert``."""
        if not isinstance(http_config, dict):
            raise TypeError("http_config must be a dict")
        self._transport.set_http_config(http_config)

    def set_disable_ssl_verification(self, status: bool = False) -> None:
        self._transport.set_disable_ssl_verification(status)

    def set_max_response_size(self, size: int | None) -> None:
        """The largest response body (in bytes, after gzip decompression) a call reads
        into memory; a larger one raises ``ResponseTooLarge`` and is not read further.
        64 MiB by default; None for no limit. Streamed results (``*_as_stream``, the
        changes follower) are never limited."""
        self._transport.set_max_response_size(size)

    def get_max_response_size(self) -> int | None:
        return self._transport.max_response_size

    def set_enable_gzip_compression(self, should_enable_compression: bool = False) -> None:
        self._transport.gzip_requests = bool(should_enable_compression)

    def get_enable_gzip_compression(self) -> bool:
        return self._transport.gzip_requests

    def enable_retries(self, max_retries: int = 4, retry_interval: float = 30.0) -> None:
        """Retry 429, 500, 502, 503, 504 and connection errors up to ``max_retries`` times
        with exponential back-off capped at ``retry_interval`` seconds, honouring
        ``Retry-After``. When retries run out the last error is raised as ApiException."""
        self._transport.enable_retries(max_retries, retry_interval)

    def disable_retries(self) -> None:
        self._transport.disable_retries()

    def set_http_client(self, http_client: requests.Session) -> None:
        self._transport.set_http_client(http_client)

    def get_http_client(self) -> requests.Session:
        return self._transport.session

    def close(self) -> None:
        """Close pooled connections."""
        self._transport.session.close()

    def __enter__(self) -> CloudantV1:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the SDK's operations -----------------------------------------------------

    # -- Server --
    get_server_information = Op("GET /")
    get_capacity_throughput_information = Op("GET /_api/v2/user/capacity/throughput")
    put_capacity_throughput_configuration = Op(
        "PUT /_api/v2/user/capacity/throughput", body=("blocks",), required=("blocks",)
    )
    get_uuids = Op("GET /_uuids", query=("count",))

    # -- Databases --
    get_db_updates = Op(
        "GET /_db_updates", query=("descending", "feed", "heartbeat", "limit", "timeout", "since")
    )
    post_changes = Op(
        "POST /{db}/_changes",
        body=("doc_ids", "fields", "selector"),
        headers=("last_event_id",),
        query=_CHANGES,
        extra_query="filter_params",
    )
    post_changes_as_stream = post_changes.variant(stream=True)
    head_database = Op("HEAD /{db}")
    get_all_dbs = Op("GET /_all_dbs", query=("descending", "end_key", "limit", "skip", "start_key"))
    post_dbs_info = Op("POST /_dbs_info", body=("keys",), required=("keys",))
    delete_database = Op("DELETE /{db}")
    get_database_information = Op("GET /{db}")
    put_database = Op("PUT /{db}", query=("partitioned", "q"))

    # -- Documents --
    head_document = Op("HEAD /{db}/{doc_id}", headers=("if_none_match",), query=("latest", "rev"))
    post_document = Op("POST /{db}", raw="document", headers=("content_type",), query=("batch",))
    post_all_docs = Op("POST /{db}/_all_docs", body=_ALL_DOCS)
    post_all_docs_as_stream = post_all_docs.variant(stream=True)
    post_all_docs_queries = Op(
        "POST /{db}/_all_docs/queries", body=("queries",), required=("queries",)
    )
    post_all_docs_queries_as_stream = post_all_docs_queries.variant(stream=True)
    post_bulk_docs = Op("POST /{db}/_bulk_docs", raw="bulk_docs")
    post_bulk_get = Op(
        "POST /{db}/_bulk_get",
        body=("docs",),
        required=("docs",),
        query=("attachments", "att_encoding_info", "latest", "revs"),
    )
    post_bulk_get_as_mixed = post_bulk_get.variant(accept="multipart/mixed")
    post_bulk_get_as_related = post_bulk_get.variant(accept="multipart/related")
    post_bulk_get_as_stream = post_bulk_get.variant(stream=True)
    delete_document = Op("DELETE /{db}/{doc_id}", headers=("if_match",), query=("batch", "rev"))
    get_document = Op("GET /{db}/{doc_id}", headers=("if_none_match",), query=_DOC_READ)
    get_document_as_mixed = get_document.variant(accept="multipart/mixed")
    get_document_as_related = get_document.variant(accept="multipart/related")
    get_document_as_stream = get_document.variant(stream=True)
    put_document = Op(
        "PUT /{db}/{doc_id}",
        raw="document",
        headers=("content_type", "if_match"),
        query=("batch", "new_edits", "rev"),
    )

    # -- Design Documents --
    head_design_document = Op("HEAD /{db}/_design/{ddoc}", headers=("if_none_match",))
    delete_design_document = Op(
        "DELETE /{db}/_design/{ddoc}", headers=("if_match",), query=("batch", "rev")
    )
    get_design_document = Op(
        "GET /{db}/_design/{ddoc}", headers=("if_none_match",), query=_DOC_READ
    )
    put_design_document = Op(
        "PUT /{db}/_design/{ddoc}",
        raw="design_document",
        headers=("if_match",),
        query=("batch", "new_edits", "rev"),
    )
    get_design_document_information = Op("GET /{db}/_design/{ddoc}/_info")
    post_design_docs = Op("POST /{db}/_design_docs", body=_ALL_DOCS)
    post_design_docs_queries = Op(
        "POST /{db}/_design_docs/queries",
        body=("queries",),
        required=("queries",),
        headers=("accept",),  # JSON unless the caller asks otherwise (the SDK sends none)
    )

    # -- Views --
    post_view = Op("POST /{db}/_design/{ddoc}/_view/{view}", body=_VIEW)
    post_view_as_stream = post_view.variant(stream=True)
    post_view_queries = Op(
        "POST /{db}/_design/{ddoc}/_view/{view}/queries", body=("queries",), required=("queries",)
    )
    post_view_queries_as_stream = post_view_queries.variant(stream=True)

    # -- Queries --
    get_partition_information = Op("GET /{db}/_partition/{partition_key}")
    post_partition_all_docs = Op("POST /{db}/_partition/{partition_key}/_all_docs", body=_ALL_DOCS)
    post_partition_all_docs_as_stream = post_partition_all_docs.variant(stream=True)
    post_partition_search = Op(
        "POST /{db}/_partition/{partition_key}/_design/{ddoc}/_search/{index}",
        body=_PARTITION_SEARCH,
        required=("query",),
    )
    post_partition_search_as_stream = post_partition_search.variant(stream=True)
    post_partition_view = Op(
        "POST /{db}/_partition/{partition_key}/_design/{ddoc}/_view/{view}", body=_PARTITION_VIEW
    )
    post_partition_view_as_stream = post_partition_view.variant(stream=True)
    post_partition_explain = Op(
        "POST /{db}/_partition/{partition_key}/_explain",
        body=_PARTITION_FIND,
        required=("selector",),
    )
    post_partition_find = Op(
        "POST /{db}/_partition/{partition_key}/_find", body=_PARTITION_FIND, required=("selector",)
    )
    post_partition_find_as_stream = post_partition_find.variant(stream=True)
    post_explain = Op("POST /{db}/_explain", body=_FIND, required=("selector",))
    post_find = Op("POST /{db}/_find", body=_FIND, required=("selector",))
    post_find_as_stream = post_find.variant(stream=True)
    get_indexes_information = Op("GET /{db}/_index")
    post_index = Op(
        "POST /{db}/_index",
        body=("index", "ddoc", "name", "partitioned", "type"),
        required=("index",),
    )
    delete_index = Op("DELETE /{db}/_index/_design/{ddoc}/{type}/{index}")

    # -- Searches --
    post_search_analyze = Op(
        "POST /_search_analyze", body=("analyzer", "text"), required=("analyzer", "text")
    )
    post_search = Op("POST /{db}/_design/{ddoc}/_search/{index}", body=_SEARCH, required=("query",))
    post_search_as_stream = post_search.variant(stream=True)
    get_search_disk_size = Op("GET /{db}/_design/{ddoc}/_search_disk_size/{index}")
    get_search_info = Op("GET /{db}/_design/{ddoc}/_search_info/{index}")

    # -- Replication --
    head_replication_document = Op("HEAD /_replicator/{doc_id}", headers=("if_none_match",))
    head_scheduler_document = Op("HEAD /_scheduler/docs/_replicator/{doc_id}")
    head_scheduler_job = Op("HEAD /_scheduler/jobs/{job_id}")
    post_replicator = Op("POST /_replicator", raw="replication_document", query=("batch",))
    delete_replication_document = Op(
        "DELETE /_replicator/{doc_id}", headers=("if_match",), query=("batch", "rev")
    )
    get_replication_document = Op(
        "GET /_replicator/{doc_id}", headers=("if_none_match",), query=_DOC_READ
    )
    put_replication_document = Op(
        "PUT /_replicator/{doc_id}",
        raw="replication_document",
        headers=("if_match",),
        query=("batch", "new_edits", "rev"),
    )
    get_scheduler_docs = Op("GET /_scheduler/docs", query=("limit", "skip", "states"))
    get_scheduler_document = Op("GET /_scheduler/docs/_replicator/{doc_id}")
    get_scheduler_jobs = Op("GET /_scheduler/jobs", query=("limit", "skip"))
    get_scheduler_job = Op("GET /_scheduler/jobs/{job_id}")

    # -- Authentication --
    get_session_information = Op("GET /_session")

    # -- Authorization --
    post_api_keys = Op("POST /_api/v2/api_keys")
    put_cloudant_security_configuration = Op(
        "PUT /_api/v2/db/{db}/_security",
        body=("cloudant", "admins", "couchdb_auth_only", "members"),
        required=("cloudant",),
    )
    get_security = Op("GET /{db}/_security")
    put_security = Op(
        "PUT /{db}/_security", body=("admins", "cloudant", "couchdb_auth_only", "members")
    )

    # -- CORS --
    get_cors_information = Op("GET /_api/v2/user/config/cors")
    put_cors_configuration = Op(
        "PUT /_api/v2/user/config/cors",
        body=("origins", "allow_credentials", "enable_cors"),
        required=("origins",),
    )

    # -- Attachments --
    head_attachment = Op(
        "HEAD /{db}/{doc_id}/{attachment_name}",
        headers=("if_match", "if_none_match"),
        query=("rev",),
    )
    delete_attachment = Op(
        "DELETE /{db}/{doc_id}/{attachment_name}", headers=("if_match",), query=("rev", "batch")
    )
    get_attachment = Op(
        "GET /{db}/{doc_id}/{attachment_name}",
        headers=("if_match", "if_none_match", "range"),
        query=("rev",),
        accept="*/*",
    )
    put_attachment = Op(
        "PUT /{db}/{doc_id}/{attachment_name}",
        raw="attachment",
        required=("content_type",),
        headers=("content_type", "if_match"),
        query=("rev",),
        # Not gzipped: servers store an encoded attachment body as it comes (PouchDB
        # Server does), and binary data rarely shrinks.
        compress=False,
    )

    # -- Local Documents --
    head_local_document = Op("HEAD /{db}/_local/{doc_id}", headers=("if_none_match",))
    delete_local_document = Op("DELETE /{db}/_local/{doc_id}", query=("batch",))
    get_local_document = Op(
        "GET /{db}/_local/{doc_id}",
        headers=("accept", "if_none_match"),  # JSON unless asked otherwise (the SDK sends none)
        query=("attachments", "att_encoding_info", "local_seq"),
    )
    put_local_document = Op(
        "PUT /{db}/_local/{doc_id}", raw="document", headers=("content_type",), query=("batch",)
    )

    # -- Database Details --
    post_revs_diff = Op("POST /{db}/_revs_diff", raw="document_revisions")
    get_shards_information = Op("GET /{db}/_shards")
    get_document_shards_info = Op("GET /{db}/_shards/{doc_id}")

    # -- Monitoring --
    head_up_information = Op("HEAD /_up")
    get_active_tasks = Op("GET /_active_tasks")
    get_activity_tracker_events = Op("GET /_api/v2/user/activity_tracker/events")
    post_activity_tracker_events = Op(
        "POST /_api/v2/user/activity_tracker/events", body=("types",), required=("types",)
    )
    get_capacity_databases_information = Op("GET /_api/v2/user/capacity/databases")
    get_current_databases_information = Op("GET /_api/v2/user/current/databases")
    get_current_throughput_information = Op("GET /_api/v2/user/current/throughput")
    get_membership_information = Op("GET /_membership")
    get_up_information = Op("GET /_up")

    # -- beyond the SDK -----------------------------------------------------------

    _copy = Op(
        "COPY /{db}/{doc_id}",
        required=("destination",),
        headers=("destination",),
        query=("rev", "batch"),
    )
    _copy_design = Op(
        "COPY /{db}/_design/{ddoc}",
        required=("destination",),
        headers=("destination",),
        query=("rev", "batch"),
    )
    post_purge = Op("POST /{db}/_purge", raw="document_revisions")
    get_revs_limit = Op("GET /{db}/_revs_limit")
    put_revs_limit = Op("PUT /{db}/_revs_limit", raw="revs_limit")
    post_view_cleanup = Op("POST /{db}/_view_cleanup", content_type="application/json")
    _compact_db = Op("POST /{db}/_compact", content_type="application/json")
    _compact_views = Op("POST /{db}/_compact/{ddoc}", content_type="application/json")
    _post_session = Op("POST /_session", body=("name", "password"), required=("name", "password"))
    delete_session = Op("DELETE /_session")

    def copy_document(
        self,
        db: str,
        doc_id: str,
        destination: str,
        *,
        rev: str | None = None,
        destination_rev: str | None = None,
        batch: str | None = None,
        **kwargs: Any,
    ) -> DetailedResponse:
        """``COPY /{db}/{doc_id}``: copy a document (the revision ``rev``, else the
        current one) to ``destination``; overwriting an existing destination needs its
        current revision as ``destination_rev``."""
        return self._copy(
            db,
            doc_id,
            copy_destination(destination, destination_rev),
            rev=rev,
            batch=batch,
            **kwargs,
        )

    def copy_design_document(
        self,
        db: str,
        ddoc: str,
        destination: str,
        *,
        rev: str | None = None,
        destination_rev: str | None = None,
        batch: str | None = None,
        **kwargs: Any,
    ) -> DetailedResponse:
        """``COPY /{db}/_design/{ddoc}`` to the design document ``destination`` (with or
        without ``_design/``); the index files are kept, so the copy needs no rebuild."""
        target = destination if destination.startswith("_design/") else f"_design/{destination}"
        return self._copy_design(
            db,
            ddoc,
            copy_destination(target, destination_rev),
            rev=rev,
            batch=batch,
            **kwargs,
        )

    def post_compact(self, db: str, *, ddoc: str | None = None, **kwargs: Any) -> DetailedResponse:
        """``POST /{db}/_compact``, or ``/{db}/_compact/{ddoc}`` for a design document's
        view indexes."""
        if ddoc is None:
            return self._compact_db(db, **kwargs)
        return self._compact_views(db, ddoc, **kwargs)

    def post_session(self, username: str, password: str, **kwargs: Any) -> DetailedResponse:
        """``POST /_session``: log in; the ``AuthSession`` cookie is in the result's
        ``Set-Cookie`` header (the client itself does not keep it)."""
        return self._post_session(username, password, **kwargs)


def copy_destination(doc_id: str, rev: str | None) -> bytes:
    """The ``Destination`` header of a COPY. CouchDB reads the id from it literally (no
    percent-decoding) and splits off ``?rev=`` at the first ``?``, so an id holding ``?``
    or a control character can't be named there."""
    if not doc_id:
        raise ValueError("destination must be provided")
    if "?" in doc_id or any(ord(c) < 32 or ord(c) == 127 for c in doc_id):
        raise ValueError(
            f"COPY destination {doc_id!r} contains '?' or a control character, which the "
            "Destination header cannot carry"
        )
    if doc_id.startswith("_") and not doc_id.startswith(("_design/", "_local/")):
        raise ValueError(f"COPY destination {doc_id!r} starts with '_', which CouchDB reserves")
    value = doc_id if rev is None else f"{doc_id}?rev={rev}"
    return value.encode()

"""The endpoint catalogue: one ``Op`` per operation of ``CloudantV1``, in the SDK's areas
and order, and the types of their parameters.

This is the one source of truth for the operations: ``_operations.Op`` builds and sends
their requests, and ``python -m cloudant_odm.client._generate`` writes their typed methods
into ``_methods.py`` (the mixin ``CloudantV1`` inherits) and ``aio/_methods.py`` from
``OPERATIONS`` and ``PARAMETER_TYPES``. After changing either, run it again: a unit test
fails until then. An operation that needs more than a declaration is a ``Compound``: a
function of its parameters returning the ``Op`` to send and its arguments (those ``Op``s
are named with a leading ``_``: they are no methods of their own).
"""

from __future__ import annotations

from typing import Any

from cloudant_odm.client._operations import (
    Compound,
    Op,
    Routed,
    collect_operations,
    copy_destination,
    design_id,
)

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
post_all_docs_queries = Op("POST /{db}/_all_docs/queries", body=("queries",), required=("queries",))
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
get_design_document = Op("GET /{db}/_design/{ddoc}", headers=("if_none_match",), query=_DOC_READ)
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

# -- beyond the SDK --

_copy = Op(
    "COPY /{db}/{doc_id}",
    required=("destination",),
    headers=("destination",),
    query=("rev", "batch"),
)


@Compound
def copy_document(
    db: Any,
    doc_id: Any,
    destination: Any,
    rev: Any = None,
    destination_rev: Any = None,
    batch: Any = None,
) -> Routed:
    """``COPY /{db}/{doc_id}``: copy a document (the revision ``rev``, else the
    current one) to ``destination``; overwriting an existing destination needs its
    current revision as ``destination_rev``."""
    return _copy, (db, doc_id, copy_destination(destination, destination_rev), rev, batch)


_copy_design = Op(
    "COPY /{db}/_design/{ddoc}",
    required=("destination",),
    headers=("destination",),
    query=("rev", "batch"),
)


@Compound
def copy_design_document(
    db: Any,
    ddoc: Any,
    destination: Any,
    rev: Any = None,
    destination_rev: Any = None,
    batch: Any = None,
) -> Routed:
    """``COPY /{db}/_design/{ddoc}`` to the design document ``destination`` (with or
    without ``_design/``); the index files are kept, so the copy needs no rebuild."""
    destination_header = copy_destination(design_id(destination), destination_rev)
    return _copy_design, (db, ddoc, destination_header, rev, batch)


post_purge = Op("POST /{db}/_purge", raw="document_revisions")
get_revs_limit = Op("GET /{db}/_revs_limit")
put_revs_limit = Op("PUT /{db}/_revs_limit", raw="revs_limit")
post_view_cleanup = Op("POST /{db}/_view_cleanup", content_type="application/json")
_compact_db = Op("POST /{db}/_compact", content_type="application/json")
_compact_views = Op("POST /{db}/_compact/{ddoc}", content_type="application/json")


@Compound
def post_compact(db: Any, ddoc: Any = None) -> Routed:
    """``POST /{db}/_compact``, or ``/{db}/_compact/{ddoc}`` for a design document's
    view indexes."""
    if ddoc is None:
        return _compact_db, (db,)
    return _compact_views, (db, ddoc)


_post_session = Op("POST /_session", body=("name", "password"), required=("name", "password"))


@Compound
def post_session(username: Any, password: Any) -> Routed:
    """``POST /_session``: log in; the ``AuthSession`` cookie is in the result's
    ``Set-Cookie`` header (the client itself does not keep it)."""
    return _post_session, (username, password)


delete_session = Op("DELETE /_session")

OPERATIONS = collect_operations(globals())

# -- the parameters' types ------------------------------------------------------------

# What a parameter accepts, by name, as the generated signatures spell it (an optional
# parameter gets ``| None = None``). Where the SDK has an enum for a parameter, its
# members are named beside ``str``: they are str enums, and any str the server takes is
# still accepted, as with the SDK. A model parameter takes the model or its dict.
_WHOLE_BODY = "dict[str, Any] | bytes | IO[bytes]"
PARAMETER_TYPES: dict[str, str] = {
    # path
    "attachment_name": "str",
    "db": "str",
    "ddoc": "str",
    "doc_id": "str",
    "index": "str",
    "job_id": "str",
    "partition_key": "str",
    "type": "IndexType | str",
    "view": "str",
    # whole bodies
    "attachment": "bytes | IO[bytes]",
    "bulk_docs": f"BulkDocs | {_WHOLE_BODY}",
    "design_document": f"DesignDocument | {_WHOLE_BODY}",
    "document": f"Document | {_WHOLE_BODY}",
    "document_revisions": "dict[str, list[str]]",
    "replication_document": f"ReplicationDocument | {_WHOLE_BODY}",
    "revs_limit": "int",
    # headers
    "accept": "DocumentContentType | str",
    "content_type": "DocumentContentType | str",
    "destination": "str",
    "destination_rev": "str",
    "if_match": "str",
    "if_none_match": "str",
    "last_event_id": "str",
    "range": "str",
    # documents, all_docs, views
    "att_encoding_info": "bool",
    "attachments": "bool",
    "batch": "WriteBatch | str",
    "conflicts": "bool",
    "deleted_conflicts": "bool",
    "descending": "bool",
    "docs": "Sequence[BulkGetQueryDocument | dict[str, Any]]",
    "end_key": "str",
    "end_key_doc_id": "str",
    "group": "bool",
    "group_level": "int",
    "include_docs": "bool",
    "inclusive_end": "bool",
    "key": "str",
    "keys": "list[str]",
    "latest": "bool",
    "limit": "int",
    "local_seq": "bool",
    "meta": "bool",
    "new_edits": "bool",
    "queries": "Sequence[AllDocsQuery | dict[str, Any]]",
    "reduce": "bool",
    "rev": "str",
    "revs": "bool",
    "revs_info": "bool",
    "skip": "int",
    "stable": "bool",
    "start_key": "str",
    "start_key_doc_id": "str",
    "update": "str",
    "update_seq": "bool",
    # changes and db updates
    "doc_ids": "list[str]",
    "feed": "ChangesFeed | str",
    "filter": "str",
    "filter_params": "Mapping[str, Any]",
    "heartbeat": "int",
    "seq_interval": "int",
    "since": "str",
    "style": "ChangesStyle | str",
    "timeout": "int",
    # Mango queries and indexes
    "allow_fallback": "bool",
    "bookmark": "str",
    "execution_stats": "bool",
    "fields": "list[str]",
    "name": "str",
    "partitioned": "bool",
    "r": "int",
    "selector": "dict[str, Any]",
    "sort": "list[dict[str, str] | str]",
    "use_index": "list[str]",
    # searches
    "analyzer": "str",
    "counts": "list[str]",
    "drilldown": "list[list[str]]",
    "group_field": "str",
    "group_limit": "int",
    "group_sort": "list[str]",
    "highlight_fields": "list[str]",
    "highlight_number": "int",
    "highlight_post_tag": "str",
    "highlight_pre_tag": "str",
    "highlight_size": "int",
    "include_fields": "list[str]",
    "query": "str",
    "ranges": "dict[str, Any]",
    "stale": "str",
    "text": "str",
    # server, databases, replication, security, CORS, monitoring
    "allow_credentials": "bool",
    "admins": "SecurityObject | dict[str, Any]",
    "blocks": "int",
    "cloudant": "dict[str, list[str]]",
    "count": "int",
    "couchdb_auth_only": "bool",
    "enable_cors": "bool",
    "members": "SecurityObject | dict[str, Any]",
    "origins": "list[str]",
    "password": "str",
    "q": "int",
    "states": "Sequence[ReplicationState | str]",
    "types": "Sequence[str]",
    "username": "str",
}

# Where a name means another type in some operations (a variant, ``post_view_as_stream``,
# follows its operation, ``post_view``).
_VIEW_KEYS = {"key": "object", "start_key": "object", "end_key": "object", "keys": "list[Any]"}
_SEARCH_SORT = {"sort": "list[str]"}
_COPY = {"batch": "str"}
TYPE_OVERRIDES: dict[str, dict[str, str]] = {
    "post_view": _VIEW_KEYS,
    "post_partition_view": _VIEW_KEYS,
    "post_search": _SEARCH_SORT,
    "post_partition_search": _SEARCH_SORT,
    "post_index": {"index": "IndexDefinition | dict[str, Any]"},
    "post_view_queries": {"queries": "Sequence[ViewQuery | dict[str, Any]]"},
    "post_design_docs_queries": {"accept": "DesignDocsAccept | str"},
    "put_attachment": {"content_type": "str"},
    "copy_document": _COPY,
    "copy_design_document": _COPY,
}

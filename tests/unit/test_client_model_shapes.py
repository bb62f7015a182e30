"""The client models against the answers real servers send (CouchDB 3.4 unless a test says
otherwise; Cloudant for the ``/_api/v2`` ones): round trips, nested enums, date-times,
and the SDK's constructor shapes."""

from __future__ import annotations

import copy
import datetime
import inspect
import json
import typing
from typing import Any

import attrs
import pytest
import responses

from cloudant_odm.client import (
    CloudantV1,
    DeleteIndexEnums,
    GetSchedulerDocsEnums,
    NoAuthAuthenticator,
)
from cloudant_odm.client.models import (
    ActiveTask,
    ActivityTrackerEvents,
    AllDocsQueriesResult,
    AllDocsQuery,
    Analyzer,
    AnalyzerConfiguration,
    ApiKeysResult,
    CapacityDatabasesInformation,
    CapacityThroughputInformation,
    CorsInformation,
    CurrentDatabasesInformation,
    CurrentThroughputInformation,
    DatabaseInformation,
    DbsInfoResult,
    DbUpdates,
    DesignDocumentInformation,
    DocumentResult,
    DocumentRevisionStatus,
    DocumentShardInfo,
    ExplainResult,
    ExplainResultMrArgs,
    FindResult,
    IndexAnalysisExclusionReason,
    IndexesInformation,
    IndexField,
    IndexInformation,
    IndexResult,
    MembershipInformation,
    Model,
    PartitionInformation,
    ReplicationDatabaseAuthBasic,
    ReplicationDatabaseAuthIam,
    RevsDiff,
    SchedulerDocsResult,
    SchedulerDocument,
    SchedulerJobEvent,
    SchedulerJobsResult,
    SearchAnalyzeResult,
    SearchDiskSizeInformation,
    SearchInfoResult,
    SearchResultRow,
    Security,
    SelectorHint,
    ServerVendor,
    SessionAuthentication,
    SessionAuthenticationInfo,
    SessionInformation,
    ShardsInformation,
    UpInformation,
    UserContext,
    UuidsResult,
    ViewQueriesResult,
    ViewQuery,
)

NODE = "couchdb@127.0.0.1"
SEQ = "12-g1AAAACLeJzLYWBgYMpgTmHgzcvPy09JdcjLz8gvLskBCScyJNX___8_K4M5kYEBAEnqDd4"
SHARD = "shards/00000000-7fffffff/orders.1733361038"

ACTIVE_TASKS: list[dict[str, Any]] = [
    {
        "node": NODE,
        "pid": "<0.3105.0>",
        "process_status": "waiting",
        "bulk_get_attempts": 12,
        "bulk_get_docs": 12,
        "changes_pending": 0,
        "checkpoint_interval": 30000,
        "checkpointed_source_seq": SEQ,
        "continuous": True,
        "database": "shards/00000000-ffffffff/_replicator.1733361000",
        "doc_id": "orders-backup",
        "doc_write_failures": 0,
        "docs_read": 12,
        "docs_written": 12,
        "missing_revisions_found": 12,
        "replication_id": "8e55df0e1e0e8ff7c3e1a79d3ee54d2d+continuous",
        "revisions_checked": 12,
        "source": "http://127.0.0.1:5984/orders/",
        "source_seq": SEQ,
        "started_on": 1733361200,
        "target": "http://127.0.0.1:5984/orders-backup/",
        "through_seq": SEQ,
        "type": "replication",
        "updated_on": 1733361230,
        "user": "admin",
    },
    {
        "node": NODE,
        "pid": "<0.2155.0>",
        "process_status": "running",
        "changes_done": 1500,
        "database": SHARD,
        "design_document": "_design/reports",
        "indexer_pid": "<0.2153.0>",
        "progress": 37,
        "started_on": 1733361100,
        "total_changes": 4000,
        "type": "indexer",
        "updated_on": 1733361105,
    },
    {
        "node": NODE,
        "pid": "<0.2201.0>",
        "process_status": "waiting",
        "changes_done": 100,
        "database": SHARD,
        "phase": "document_copy",
        "progress": 25,
        "started_on": 1733361300,
        "total_changes": 400,
        "type": "database_compaction",
        "updated_on": 1733361301,
    },
    {
        "node": NODE,
        "pid": "<0.2230.0>",
        "process_status": "waiting",
        "changes_done": 0,
        "database": SHARD,
        "design_document": "_design/reports",
        "phase": "view",
        "view": 1,
        "progress": 0,
        "started_on": 1733361400,
        "total_changes": 4000,
        "type": "view_compaction",
        "updated_on": 1733361400,
    },
]

SCHEDULER_INFO = {
    "revisions_checked": 12,
    "missing_revisions_found": 12,
    "docs_read": 12,
    "docs_written": 12,
    "changes_pending": 0,
    "doc_write_failures": 0,
    "bulk_get_docs": 12,
    "bulk_get_attempts": 12,
    "checkpointed_source_seq": SEQ,
    "source_seq": SEQ,
    "through_seq": SEQ,
}

SCHEDULER_DOCS = {
    "total_rows": 2,
    "offset": 0,
    "docs": [
        {
            "database": "_replicator",
            "doc_id": "orders-backup",
            "id": "8e55df0e1e0e8ff7c3e1a79d3ee54d2d+continuous",
            "node": NODE,
            "source": "http://127.0.0.1:5984/orders/",
            "target": "http://127.0.0.1:5984/orders-backup/",
            "state": "running",
            "info": SCHEDULER_INFO,
            "error_count": 0,
            "last_updated": "2024-12-05T01:20:30Z",
            "start_time": "2024-12-05T01:20:00Z",
        },
        {
            "database": "_replicator",
            "doc_id": "from-nowhere",
            "id": None,
            "state": "failed",
            "info": {"error": "Replication `from-nowhere` specification is invalid"},
            "error_count": 1,
            "node": NODE,
            "last_updated": "2024-12-05T01:21:00Z",
            "start_time": "2024-12-05T01:21:00Z",
        },
    ],
}

SCHEDULER_JOBS = {
    "total_rows": 1,
    "offset": 0,
    "jobs": [
        {
            "database": "_replicator",
            "id": "8e55df0e1e0e8ff7c3e1a79d3ee54d2d+continuous",
            "pid": "<0.3105.0>",
            "source": "http://127.0.0.1:5984/orders/",
            "target": "http://127.0.0.1:5984/orders-backup/",
            "user": None,
            "doc_id": "orders-backup",
            "info": SCHEDULER_INFO,
            "history": [
                {"timestamp": "2024-12-05T01:20:05Z", "type": "started"},
                {
                    "timestamp": "2024-12-05T01:20:04Z",
                    "type": "crashed",
                    "reason": "db_not_found: could not open http://127.0.0.1:5984/orders/",
                },
                {"timestamp": "2024-12-05T01:19:59Z", "type": "added"},
            ],
            "node": NODE,
            "start_time": "2024-12-05T01:19:59Z",
        }
    ],
}

ALL_DOCS_INDEX = {
    "ddoc": None,
    "name": "_all_docs",
    "type": "special",
    "def": {"fields": [{"_id": "asc"}]},
}
STATUS_INDEX = {
    "ddoc": "_design/by-status",
    "name": "status-json",
    "type": "json",
    "partitioned": False,
    "def": {"fields": [{"status": "asc"}, {"created": "asc"}]},
}
TEXT_INDEX = {
    "ddoc": "_design/text",
    "name": "status-text",
    "type": "text",
    "partitioned": False,
    "def": {
        "default_analyzer": {"name": "english", "stopwords": ["a", "the"]},
        "default_field": {"enabled": True, "analyzer": "standard"},
        "selector": {},
        "fields": [{"status": "string"}],
        "index_array_lengths": True,
    },
}

EXPLAIN = {
    "dbname": "orders",
    "index": STATUS_INDEX,
    "partitioned": False,
    "selector": {"status": {"$eq": "open"}},
    "opts": {
        "use_index": [],
        "bookmark": "nil",
        "limit": 25,
        "skip": 0,
        "sort": {},
        "fields": [],
        "partition": "",
        "r": 1,
        "conflicts": False,
        "stale": False,
        "update": True,
        "stable": False,
        "execution_stats": False,
        "allow_fallback": True,
    },
    "limit": 25,
    "skip": 0,
    "fields": [],
    "index_candidates": [
        {
            "index": ALL_DOCS_INDEX,
            "analysis": {
                "usable": True,
                "reasons": [{"name": "unfavored_type"}],
                "ranking": 1,
                "covering": None,
            },
        }
    ],
    "selector_hints": [{"type": "json", "indexable_fields": ["status"], "unindexable_fields": []}],
    "mrargs": {
        "include_docs": True,
        "view_type": "map",
        "reduce": False,
        "partition": None,
        "start_key": ["open"],
        "end_key": ["open", "<MAX>"],
        "direction": "fwd",
        "stable": False,
        "update": True,
        "conflicts": "undefined",
    },
    "covering": False,
}

DB_INFO = {
    "instance_start_time": "1733361038",
    "db_name": "orders",
    "purge_seq": "0-g1AAAACLeJzLYWBgYMpgTmHgzcvPy09JdcjLz8gvLskBCScyJNX",
    "update_seq": SEQ,
    "sizes": {"file": 135418, "external": 2145, "active": 6702},
    "props": {},
    "doc_del_count": 0,
    "doc_count": 12,
    "disk_format_version": 8,
    "compact_running": False,
    "cluster": {"q": 2, "n": 1, "w": 1, "r": 1},
}

PARTITION_INFO = {
    "db_name": "sensors",
    "sizes": {"active": 1032, "external": 291},
    "partition": "sensor-1",
    "doc_count": 3,
    "doc_del_count": 0,
}

# (model, the JSON answer, the endpoint it came from)
ANSWERS: list[tuple[type[Model], dict[str, Any], str]] = [
    *[(ActiveTask, task, "GET /_active_tasks") for task in ACTIVE_TASKS],
    (SchedulerDocsResult, SCHEDULER_DOCS, "GET /_scheduler/docs"),
    (SchedulerJobsResult, SCHEDULER_JOBS, "GET /_scheduler/jobs"),
    (ExplainResult, EXPLAIN, "POST /{db}/_explain"),
    (
        IndexesInformation,
        {"total_rows": 3, "indexes": [ALL_DOCS_INDEX, STATUS_INDEX, TEXT_INDEX]},
        "GET /{db}/_index",
    ),
    (
        DesignDocumentInformation,
        {
            "name": "reports",
            "view_index": {
                "updates_pending": {"minimum": 0, "preferred": 0, "total": 0},
                "waiting_commit": False,
                "waiting_clients": 0,
                "updater_running": False,
                "update_seq": 12,
                "sizes": {"file": 4270, "external": 62, "active": 401},
                "signature": "f0a1e7b3b2c3d4e5f60718293a4b5c6d",
                "purge_seq": 0,
                "language": "javascript",
                "compact_running": False,
                "collator_versions": ["153.112"],
            },
        },
        "GET /{db}/_design/{ddoc}/_info",
    ),
    (PartitionInformation, PARTITION_INFO, "GET /{db}/_partition/{partition}"),
    (
        PartitionInformation,
        {
            **PARTITION_INFO,
            "partitioned_indexes": {"count": 1, "indexes": {"search": 0, "view": 1}, "limit": 10},
        },
        "Cloudant GET /{db}/_partition/{partition}",
    ),
    (
        DatabaseInformation,
        {
            **DB_INFO,
            "props": {"partitioned": True},
            "compacted_seq": "11-g1AAAACLeJzLYWBgYMpgTmHgzcvPy09JdcjLz8",
            "uuid": "b9e1e2bf7e2a4c0d8d3f1d5c6a7b8c9d",
            "engine": "couch_bt_engine",
            "partitioned_indexes": {"count": 2, "indexes": {"search": 1, "view": 1}, "limit": 10},
        },
        "Cloudant GET /{db}",
    ),
    (UpInformation, {"status": "ok", "seeds": {}}, "GET /_up"),
    (
        MembershipInformation,
        {"all_nodes": [NODE], "cluster_nodes": [NODE]},
        "GET /_membership",
    ),
    (UuidsResult, {"uuids": ["6e1295ed6c29495e54cc05947f18c8af"]}, "GET /_uuids"),
    (
        DbUpdates,
        {
            "results": [
                {"db_name": "orders", "type": "created", "seq": "1-g1AAAA"},
                {"db_name": "orders", "type": "updated", "seq": "2-g1AAAA"},
                {"db_name": "scratch", "type": "deleted", "seq": "3-g1AAAA"},
            ],
            "last_seq": "3-g1AAAA",
        },
        "GET /_db_updates",
    ),
    (DbsInfoResult, {"key": "orders", "info": DB_INFO}, "POST /_dbs_info"),
    (DbsInfoResult, {"key": "missing", "error": "not_found"}, "POST /_dbs_info"),
    (
        ShardsInformation,
        {"shards": {"00000000-7fffffff": [NODE], "80000000-ffffffff": [NODE]}},
        "GET /{db}/_shards",
    ),
    (
        DocumentShardInfo,
        {"range": "80000000-ffffffff", "nodes": [NODE]},
        "GET /{db}/_shards/{doc_id}",
    ),
    (RevsDiff, {"missing": ["3-b7c1"], "possible_ancestors": ["2-a5e0"]}, "POST /{db}/_revs_diff"),
    (
        SessionInformation,
        {
            "ok": True,
            "userCtx": {"name": "admin", "roles": ["_admin"]},
            "info": {"authentication_handlers": ["cookie", "default"], "authenticated": "default"},
        },
        "GET /_session",
    ),
    (
        AllDocsQueriesResult,
        {
            "results": [
                {
                    "total_rows": 12,
                    "offset": 0,
                    "rows": [
                        {
                            "id": "a",
                            "key": "a",
                            "value": {"rev": "1-967a00dff5e02add41819138abb3284d"},
                        }
                    ],
                },
                {"total_rows": 12, "offset": 11, "rows": []},
            ]
        },
        "POST /{db}/_all_docs/queries",
    ),
    (
        ViewQueriesResult,
        {
            "results": [
                {
                    "total_rows": 3,
                    "offset": 0,
                    "rows": [{"id": "a", "key": ["2024", 12], "value": 1}],
                },
                {"rows": [{"key": None, "value": 3}]},
            ]
        },
        "POST /{db}/_design/{ddoc}/_view/{view}/queries",
    ),
    (
        SearchInfoResult,
        {
            "name": "_design/search/idx",
            "search_index": {
                "pending_seq": 12,
                "doc_del_count": 0,
                "doc_count": 12,
                "disk_size": 5092,
                "committed_seq": 12,
                "signature": "7f6f2e3a4b5c6d7e8f90a1b2c3d4e5f6",
            },
        },
        "GET /{db}/_design/{ddoc}/_search_info/{index}",
    ),
    (
        SearchDiskSizeInformation,
        {"name": "_design/search/idx", "search_index": {"disk_size": 5092}},
        "GET /{db}/_design/{ddoc}/_search_disk_size/{index}",
    ),
    (SearchAnalyzeResult, {"tokens": ["run", "fast"]}, "POST /_search_analyze"),
    (ActivityTrackerEvents, {"types": ["management", "data"]}, "Cloudant activity tracker"),
    (ApiKeysResult, {"ok": True, "key": "thiskey", "password": "thepassword"}, "Cloudant"),
    (
        CorsInformation,
        {"enable_cors": True, "allow_credentials": True, "origins": ["https://example.com"]},
        "Cloudant GET /_api/v2/user/config/cors",
    ),
    (
        CapacityThroughputInformation,
        {
            "current": {"throughput": {"blocks": 1, "query": 5, "read": 100, "write": 50}},
            "target": {"throughput": {"blocks": 2, "query": 10, "read": 200, "write": 100}},
        },
        "Cloudant GET /_api/v2/user/capacity/throughput",
    ),
    (
        CurrentThroughputInformation,
        {"throughput": {"query": 0, "read": 3, "write": 1}},
        "Cloudant GET /_api/v2/user/current/throughput",
    ),
    (
        CapacityDatabasesInformation,
        {"current": {"databases": {"total": 500}}},
        "Cloudant GET /_api/v2/user/capacity/databases",
    ),
    (
        CurrentDatabasesInformation,
        {"databases": {"total": 12}},
        "Cloudant GET /_api/v2/user/current/databases",
    ),
]
ANSWERS_BY_ENDPOINT = {where: data for _, data, where in ANSWERS}


def _models_in(value: Any) -> set[str]:
    """The names of the model classes in a decoded value, nested ones included."""
    if isinstance(value, Model):
        found = {type(value).__name__}
        for field in attrs.fields(type(value)):
            found |= _models_in(getattr(value, field.name))
        return found
    if isinstance(value, dict):
        return set().union(*map(_models_in, value.values()))
    if isinstance(value, list):
        return set().union(*map(_models_in, value))
    return set()


@pytest.mark.parametrize(
    ("cls", "data"),
    [(cls, data) for cls, data, _ in ANSWERS],
    ids=[f"{cls.__name__}:{where}" for cls, _, where in ANSWERS],
)
def test_real_answers_round_trip(cls: type[Model], data: dict[str, Any]) -> None:
    original = copy.deepcopy(data)
    model = cls.from_dict(data)
    assert model.to_dict() == original
    assert data == original  # the JSON given is not changed
    assert cls(**model.__dict__) == model
    assert json.loads(str(model)) == original


def _reachable(cls: type[Model]) -> set[str]:
    """The names of ``cls`` and of every model its fields can hold, however deep."""
    seen: set[str] = set()
    todo: list[Any] = [cls]
    while todo:
        tp = todo.pop()
        if isinstance(tp, type) and issubclass(tp, Model):
            if tp.__name__ not in seen:
                seen.add(tp.__name__)
                todo.extend(typing.get_type_hints(tp).values())
        else:
            todo.extend(typing.get_args(tp))
    return seen


def test_the_answers_hold_every_model_their_classes_can_hold() -> None:
    answered = {cls for cls, _, _ in ANSWERS}
    expected = set().union(*map(_reachable, answered))
    found = set().union(*(_models_in(cls.from_dict(data)) for cls, data, _ in ANSWERS))
    assert expected - found == set()
    assert len(expected) > 60


def test_keys_the_sdk_does_not_declare_are_kept() -> None:
    docs = SchedulerDocsResult.from_dict(SCHEDULER_DOCS)
    assert docs._extra == {"offset": 0}
    assert docs.docs[0].info is not None
    assert docs.docs[0].info._extra == {"bulk_get_docs": 12, "bulk_get_attempts": 12}
    explain = ExplainResult.from_dict(EXPLAIN)
    assert explain.opts._extra == {"allow_fallback": True}


# -- values the server sends as null ----------------------------------------------------


def test_nulls_of_required_fields_are_kept_and_written_back() -> None:
    explain = ExplainResult.from_dict(EXPLAIN)
    assert explain.mrargs is not None
    assert explain.mrargs.partition is None
    assert explain.index_candidates is not None
    candidate = explain.index_candidates[0]
    assert candidate.index.ddoc is None
    assert candidate.analysis.covering is None
    assert candidate.index.to_dict()["ddoc"] is None
    failed = SchedulerDocsResult.from_dict(SCHEDULER_DOCS).docs[1]
    assert failed.id is None
    assert failed.to_dict()["id"] is None
    job = SchedulerJobsResult.from_dict(SCHEDULER_JOBS).jobs[0]
    assert job.user is None
    assert job.to_dict()["user"] is None


def test_a_transient_replication_has_no_database() -> None:
    # POST /_replicate: the task and the job name no _replicator database or document
    task = {**ACTIVE_TASKS[0], "database": None, "doc_id": None}
    parsed = ActiveTask.from_dict(task)
    assert parsed.database is None
    assert parsed.doc_id is None
    written = parsed.to_dict()
    assert written["database"] is None  # required: kept as null
    assert "doc_id" not in written  # optional: null is left out, as everywhere
    job = {**SCHEDULER_JOBS["jobs"][0], "database": None, "doc_id": None}
    assert SchedulerJobsResult.from_dict({"total_rows": 1, "jobs": [job]}).to_dict() == {
        "total_rows": 1,
        "jobs": [job],
    }


def test_null_proxies_of_a_running_document_are_left_out() -> None:
    running = {**SCHEDULER_DOCS["docs"][0], "source_proxy": None, "target_proxy": None}
    assert SchedulerDocument.from_dict(running).to_dict() == SCHEDULER_DOCS["docs"][0]


# -- fields some servers leave out --------------------------------------------------------


def test_older_explain_answers_read_without_the_34_fields() -> None:
    older = {
        k: v
        for k, v in EXPLAIN.items()
        if k not in ("covering", "index_candidates", "selector_hints")
    }
    older["fields"] = "all_fields"  # CouchDB 3.3 and before
    explain = ExplainResult.from_dict(older)
    assert (explain.covering, explain.index_candidates, explain.selector_hints) == (
        None,
        None,
        None,
    )
    assert explain.fields == "all_fields"
    assert explain.to_dict() == older


def test_a_text_index_explain_has_no_mrargs_or_covering() -> None:
    text = {k: v for k, v in EXPLAIN.items() if k not in ("mrargs", "covering")}
    text["index"] = TEXT_INDEX
    text["query"] = "(status_3a:open)"
    explain = ExplainResult.from_dict(text)
    assert explain.mrargs is None
    assert explain.covering is None
    assert explain._extra == {"query": "(status_3a:open)"}
    assert explain.to_dict() == text


def test_missing_keys_the_sdk_requires_still_raise() -> None:
    with pytest.raises(ValueError, match="'dbname' not present in ExplainResult JSON"):
        ExplainResult.from_dict({k: v for k, v in EXPLAIN.items() if k != "dbname"})
    with pytest.raises(ValueError, match="'start_time' not present in SchedulerDocument JSON"):
        SchedulerDocument.from_dict(
            {k: v for k, v in SCHEDULER_DOCS["docs"][0].items() if k != "start_time"}
        )
    with pytest.raises(ValueError, match="'status' not present in UpInformation JSON"):
        UpInformation.from_dict({"seeds": {}})


def test_pouchdb_shapes_read_with_the_fields_it_omits_as_none() -> None:
    pouch = {"db_name": "orders", "doc_count": 0, "update_seq": 0, "backend_adapter": "LevelDOWN"}
    info = DatabaseInformation.from_dict(pouch)
    assert (info.cluster, info.sizes, info.compact_running) == (None, None, None)
    assert info.to_dict() == pouch
    session = SessionInformation.from_dict({"ok": True, "userCtx": {"name": None}})
    assert session.info is None
    assert session.user_ctx == UserContext(None, None)
    assert FindResult.from_dict({"docs": []}).bookmark is None


def test_design_document_info_before_collator_versions() -> None:
    answer = copy.deepcopy(ANSWERS_BY_ENDPOINT["GET /{db}/_design/{ddoc}/_info"])
    del answer["view_index"]["collator_versions"]  # CouchDB before 3.2
    info = DesignDocumentInformation.from_dict(answer)
    assert info.view_index.collator_versions is None
    assert info.to_dict() == answer


# -- date-times -------------------------------------------------------------------------


def test_scheduler_times_are_datetimes_and_iso_strings_in_json() -> None:
    doc = SchedulerDocsResult.from_dict(SCHEDULER_DOCS).docs[0]
    utc = datetime.timezone.utc
    assert doc.start_time == datetime.datetime(2024, 12, 5, 1, 20, 0, tzinfo=utc)
    assert doc.last_updated == datetime.datetime(2024, 12, 5, 1, 20, 30, tzinfo=utc)
    assert doc.to_dict()["start_time"] == "2024-12-05T01:20:00Z"
    job = SchedulerJobsResult.from_dict(SCHEDULER_JOBS).jobs[0]
    assert [e.timestamp.second for e in job.history] == [5, 4, 59]
    assert isinstance(job.start_time, datetime.datetime)


def test_datetimes_with_an_offset_or_naive_are_written_in_utc() -> None:
    event = SchedulerJobEvent.from_dict({"timestamp": "2024-12-05T02:20:00+01:00", "type": "added"})
    assert event.timestamp == datetime.datetime(2024, 12, 5, 1, 20, tzinfo=datetime.timezone.utc)
    assert event.to_dict() == {"timestamp": "2024-12-05T01:20:00Z", "type": "added"}
    naive = SchedulerJobEvent(datetime.datetime(2024, 12, 5, 1, 20), "started")  # taken as UTC
    assert naive.to_dict()["timestamp"] == "2024-12-05T01:20:00Z"


def test_a_bad_datetime_names_the_key() -> None:
    with pytest.raises(ValueError, match="'timestamp' in SchedulerJobEvent"):
        SchedulerJobEvent.from_dict({"timestamp": "yesterday", "type": "added"})
    with pytest.raises(ValueError, match="'timestamp' in SchedulerJobEvent"):
        SchedulerJobEvent.from_dict({"timestamp": 1733361200, "type": "added"})


# -- nested enums -----------------------------------------------------------------------

ENUMS: dict[tuple[type[Model], str], list[str]] = {
    (ActiveTask, "PhaseEnum"): ["docid_sort", "docid_copy", "document_copy", "ids", "view"],
    (ActiveTask, "ProcessStatusEnum"): [
        "exiting",
        "garbage_collecting",
        "runnable",
        "running",
        "suspended",
        "waiting",
    ],
    (ActiveTask, "TypeEnum"): [
        "database_compaction",
        "indexer",
        "replication",
        "search_indexer",
        "view_compaction",
    ],
    (ActivityTrackerEvents, "TypesEnum"): ["management", "data"],
    (DocumentRevisionStatus, "StatusEnum"): ["available", "missing", "deleted"],
    (ExplainResultMrArgs, "DirectionEnum"): ["fwd", "rev"],
    (ExplainResultMrArgs, "ViewTypeEnum"): ["map", "reduce"],
    (IndexField, "TypeEnum"): ["boolean", "number", "string"],
    (IndexInformation, "TypeEnum"): ["json", "special", "text"],
    (IndexResult, "ResultEnum"): ["created", "exists"],
    (SchedulerDocument, "StateEnum"): [
        "initializing",
        "error",
        "pending",
        "running",
        "crashing",
        "completed",
        "failed",
    ],
    (Security, "CloudantEnum"): [
        "_reader",
        "_writer",
        "_admin",
        "_replicator",
        "_db_updates",
        "_design",
        "_shards",
        "_security",
    ],
    (SelectorHint, "TypeEnum"): ["json", "text"],
    (ServerVendor, "VariantEnum"): ["paas"],
    (UpInformation, "StatusEnum"): ["maintenance_mode", "nolb", "ok"],
    (ViewQuery, "UpdateEnum"): ["true", "false", "lazy"],
}


@pytest.mark.parametrize(
    ("key", "values"), ENUMS.items(), ids=[f"{cls.__name__}.{name}" for cls, name in ENUMS]
)
def test_nested_enums_have_the_sdk_members(key: tuple[type[Model], str], values: list[str]) -> None:
    cls, name = key
    enum = getattr(cls, name)
    assert [m.value for m in enum] == values
    assert [m.name for m in enum] == [v.lstrip("_").upper() for v in values]
    assert all(isinstance(m, str) and m == m.value for m in enum)
    assert name not in {f.name for f in attrs.fields(cls)}  # not a field


def test_db_event_and_analysis_reason_enums() -> None:
    assert DbUpdates.from_dict(ANSWERS_BY_ENDPOINT["GET /_db_updates"]).results[2].type == (
        "deleted"
    )
    assert [m.value for m in IndexAnalysisExclusionReason.NameEnum][:3] == [
        "alphabetically_comes_after",
        "empty_selector",
        "excluded_by_user",
    ]
    assert len(Analyzer.NameEnum) == 42
    assert Analyzer.NameEnum.SIMPLE_ASCIIFOLDING == "simple_asciifolding"


def test_a_shared_value_set_is_one_enum() -> None:
    assert UserContext.RolesEnum is Security.CloudantEnum
    assert AnalyzerConfiguration.NameEnum is Analyzer.NameEnum
    assert IndexInformation.TypeEnum is DeleteIndexEnums.Type
    assert SchedulerDocument.StateEnum is GetSchedulerDocsEnums.States


def test_enum_members_serialise_as_their_values() -> None:
    security = Security(cloudant={"bob": [Security.CloudantEnum.READER, "_writer"]})
    assert json.dumps(security.to_dict()) == '{"cloudant": {"bob": ["_reader", "_writer"]}}'
    field = IndexField("address", IndexField.TypeEnum.STRING)
    assert json.loads(str(field)) == {"name": "address", "type": "string"}
    query = ViewQuery(update=ViewQuery.UpdateEnum.LAZY)
    assert json.dumps(query.to_dict()) == '{"update": "lazy"}'


# -- request bodies ---------------------------------------------------------------------


def test_query_models_as_request_bodies() -> None:
    assert AllDocsQuery(keys=["a", "b"], include_docs=True).to_dict() == {
        "keys": ["a", "b"],
        "include_docs": True,
    }
    view = ViewQuery(start_key=["2024"], end_key=["2024", {}], group_level=1, reduce=True)
    assert view.to_dict() == {
        "start_key": ["2024"],
        "end_key": ["2024", {}],
        "group_level": 1,
        "reduce": True,
    }
    assert ViewQuery(key=None).to_dict() == {}  # None is "not given", as in the SDK


@responses.activate
def test_the_client_sends_query_models_as_json() -> None:
    client = CloudantV1(authenticator=NoAuthAuthenticator())
    client.set_service_url("http://couch.test")
    client.set_enable_gzip_compression(False)
    responses.post("http://couch.test/db/_all_docs/queries", json={"results": []})
    responses.post("http://couch.test/db/_design/app/_view/by_day/queries", json={"results": []})
    client.post_all_docs_queries("db", [AllDocsQuery(limit=2), AllDocsQuery(key="k")])
    client.post_view_queries(
        "db", "app", "by_day", [ViewQuery(keys=[["2024", 1]], update=ViewQuery.UpdateEnum.FALSE)]
    )
    bodies = [json.loads(call.request.body) for call in responses.calls]
    assert bodies == [
        {"queries": [{"limit": 2}, {"key": "k"}]},
        {"queries": [{"keys": [["2024", 1]], "update": "false"}]},
    ]


# -- the SDK's constructor shapes ---------------------------------------------------------


def test_required_fields_are_positional_in_the_sdk_order() -> None:
    assert ReplicationDatabaseAuthBasic("secret", "bob").username == "bob"
    assert UserContext("bob", ["_admin"]).roles == ["_admin"]
    assert FindResult("g1AAAA", []).bookmark == "g1AAAA"
    assert list(inspect.signature(DatabaseInformation).parameters)[:4] == [
        "cluster",
        "compact_running",
        "db_name",
        "disk_format_version",
    ]
    assert SelectorHint(["a"], "json", []).type == "json"


def test_optional_fields_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        DocumentResult("a", "1-x")  # type: ignore[misc]
    with pytest.raises(TypeError):
        SearchResultRow({}, "a", None)  # type: ignore[misc]
    assert SearchResultRow({}, "a").order is None  # optional, as in the SDK (which lacks it)


def test_fields_the_constructor_requires_even_if_the_json_may_omit_them() -> None:
    with pytest.raises(TypeError, match="roles"):
        UserContext("bob")  # type: ignore[call-arg]
    assert UserContext.from_dict({"name": "bob"}).roles is None


def test_session_authentication_is_the_old_session_authentication_info() -> None:
    assert SessionAuthenticationInfo is SessionAuthentication
    assert SessionAuthentication(["cookie"], authenticated="cookie").to_dict() == {
        "authentication_handlers": ["cookie"],
        "authenticated": "cookie",
    }


def test_secrets_stay_out_of_repr() -> None:
    keys = ApiKeysResult(True, "thiskey", "thepassword")
    assert "thepassword" not in repr(keys)
    assert "thiskey" in repr(keys)
    assert "pw" not in repr(ReplicationDatabaseAuthBasic("pw", "bob"))
    assert "k3y" not in repr(ReplicationDatabaseAuthIam("k3y"))

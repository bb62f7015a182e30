"""The operations' parameter choices, under the SDK's names (``PostChangesEnums.Feed.LONGPOLL``).

Each choice set is one ``str`` enum, shared by every operation that takes it; an operation's
``*Enums`` class names the sets it takes. A member can be passed wherever the plain string
can: ``client.post_changes(db, feed=PostChangesEnums.Feed.LONGPOLL)`` sends ``feed=longpoll``.
"""

from __future__ import annotations

from enum import Enum

__all__ = [
    "ChangesFeed",
    "ChangesStyle",
    "DeleteAttachmentEnums",
    "DeleteDesignDocumentEnums",
    "DeleteDocumentEnums",
    "DeleteIndexEnums",
    "DeleteLocalDocumentEnums",
    "DeleteReplicationDocumentEnums",
    "DesignDocsAccept",
    "DocumentContentType",
    "GetDbUpdatesEnums",
    "GetLocalDocumentEnums",
    "GetSchedulerDocsEnums",
    "IndexType",
    "PostChangesAsStreamEnums",
    "PostChangesEnums",
    "PostDesignDocsQueriesEnums",
    "PostDocumentEnums",
    "PostReplicatorEnums",
    "PutDesignDocumentEnums",
    "PutDocumentEnums",
    "PutLocalDocumentEnums",
    "PutReplicationDocumentEnums",
    "ReplicationState",
    "WriteBatch",
]


class ChangesFeed(str, Enum):
    """``feed`` of ``_changes`` and ``_db_updates``."""

    CONTINUOUS = "continuous"
    EVENTSOURCE = "eventsource"
    LONGPOLL = "longpoll"
    NORMAL = "normal"


class ChangesStyle(str, Enum):
    """``style`` of ``_changes``: the winning revision only, or every leaf."""

    MAIN_ONLY = "main_only"
    ALL_DOCS = "all_docs"


class DocumentContentType(str, Enum):
    """``Content-Type`` of a document body, and ``Accept`` of a local document read."""

    APPLICATION_JSON = "application/json"
    MULTIPART_MIXED = "multipart/mixed"
    MULTIPART_RELATED = "multipart/related"
    APPLICATION_OCTET_STREAM = "application/octet-stream"


class WriteBatch(str, Enum):
    """``batch=ok``: the server acknowledges the write before storing it (202)."""

    OK = "ok"


class DesignDocsAccept(str, Enum):
    APPLICATION_JSON = "application/json"
    APPLICATION_OCTET_STREAM = "application/octet-stream"


class IndexType(str, Enum):
    """``type`` of a Mango index."""

    JSON = "json"
    SPECIAL = "special"
    TEXT = "text"


class ReplicationState(str, Enum):
    """``states`` of ``_scheduler/docs``."""

    INITIALIZING = "initializing"
    ERROR = "error"
    PENDING = "pending"
    RUNNING = "running"
    CRASHING = "crashing"
    COMPLETED = "completed"
    FAILED = "failed"


class GetDbUpdatesEnums:
    Feed = ChangesFeed


class PostChangesEnums:
    Feed = ChangesFeed
    Style = ChangesStyle


class PostChangesAsStreamEnums:
    Feed = ChangesFeed
    Style = ChangesStyle


class PostDocumentEnums:
    ContentType = DocumentContentType
    Batch = WriteBatch


class DeleteDocumentEnums:
    Batch = WriteBatch


class PutDocumentEnums:
    ContentType = DocumentContentType
    Batch = WriteBatch


class DeleteDesignDocumentEnums:
    Batch = WriteBatch


class PutDesignDocumentEnums:
    Batch = WriteBatch


class PostDesignDocsQueriesEnums:
    Accept = DesignDocsAccept


class DeleteIndexEnums:
    Type = IndexType


class PostReplicatorEnums:
    Batch = WriteBatch


class DeleteReplicationDocumentEnums:
    Batch = WriteBatch


class PutReplicationDocumentEnums:
    Batch = WriteBatch


class GetSchedulerDocsEnums:
    States = ReplicationState


class DeleteAttachmentEnums:
    Batch = WriteBatch


class DeleteLocalDocumentEnums:
    Batch = WriteBatch


class GetLocalDocumentEnums:
    Accept = DocumentContentType


class PutLocalDocumentEnums:
    ContentType = DocumentContentType
    Batch = WriteBatch

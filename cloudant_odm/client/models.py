"""Typed request and response models, as in the official SDK, built on attrs.

Every model has ``from_dict(d)`` (a classmethod), ``to_dict()`` and a ``__str__`` that
prints pretty JSON. Wherever the client takes a body, a model or a plain dict will do, and
a dict can stand in for a model nested inside another model.

The SDK's 107 model classes are all here, under its names, with its constructor shapes:
the fields it requires come first, positional, in its order; every other field is
keyword-only and defaults to ``None``. Choices are nested ``str`` enums, as in the SDK
(``ActiveTask.TypeEnum.REPLICATION``, ``Security.CloudantEnum.READER``); a value set used
in two places is one enum (``UserContext.RolesEnum is Security.CloudantEnum``).

One mechanism serialises all of them: ``Model.from_dict`` and ``Model.to_dict`` read the
attrs fields of the class. A field's JSON key is its attribute name unless its metadata
names another (``id`` <-> ``_id``, ``headers_`` <-> ``headers``, ``def_`` <-> ``def``). Its
type annotation says how to decode it: a model, a list or dict of models, ``bytes`` (base64
in JSON), a ``datetime`` (an ISO 8601 string in JSON, written in UTC with a ``Z``), a union
of a model and a plain value (a model when the JSON is an object), or plain JSON.

Rules shared by every model:

- ``to_dict`` leaves out fields that are ``None``, except *nullable* ones, which the server
  sends as JSON ``null`` (``ViewResultRow.key``/``value`` of reduce rows,
  ``ChangesResultItem.seq`` under ``seq_interval``, ``IndexInformation.ddoc`` of the
  ``_all_docs`` index, ...); those are always written.
- ``from_dict`` treats ``null`` in a field that is not nullable as absent, and raises
  ``ValueError`` naming the key and the model when a required key is missing. It never
  requires a key the SDK does not; some it reads as ``None`` when absent, because a server
  we support leaves them out (PouchDB Server's ``GET /{db}``, CouchDB before 3.4's
  ``_explain``, ...): the constructor still takes them, as the SDK's does.
- Keys a model does not declare are kept in ``_extra`` and written back by ``to_dict``, so
  nothing a newer server adds is lost.
- Models are plain attrs classes, not slotted: ``m.__dict__`` holds the fields by attribute
  name (and ``_extra``), so ``type(m)(**m.__dict__)`` rebuilds ``m``, as SDK code expects.
- Documents inside results (``ViewResultRow.doc``, ``FindResult.docs``, ...) stay plain
  dicts, where the SDK builds `Document` models.

*Open* models (`Document`, `DesignDocument`, `ReplicationDocument`, `IndexField`,
`ServerVendor`) also take free-form fields as keyword arguments and as attributes.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from enum import Enum
from typing import Any, ClassVar

import attrs

from cloudant_odm.client._modelbase import Model, OpenModel, convert_model
from cloudant_odm.client._modelbase import meta as _meta
from cloudant_odm.client.enums import IndexType, ReplicationState

__all__ = [
    "ActiveTask",
    "ActivityTrackerEvents",
    "AllDocsQueriesResult",
    "AllDocsQuery",
    "AllDocsResult",
    "Analyzer",
    "AnalyzerConfiguration",
    "ApiKeysResult",
    "Attachment",
    "BulkDocs",
    "BulkGetQueryDocument",
    "BulkGetResult",
    "BulkGetResultDocument",
    "BulkGetResultItem",
    "CapacityDatabasesInformation",
    "CapacityDatabasesInformationCurrent",
    "CapacityThroughputInformation",
    "CapacityThroughputInformationCurrent",
    "CapacityThroughputInformationTarget",
    "Change",
    "ChangesResult",
    "ChangesResultItem",
    "ContentInformationSizes",
    "CorsInformation",
    "CurrentDatabasesInformation",
    "CurrentThroughputInformation",
    "CurrentThroughputInformationThroughput",
    "DatabaseInformation",
    "DatabaseInformationCluster",
    "DatabaseInformationProps",
    "DatabasesCountInformation",
    "DbEvent",
    "DbUpdates",
    "DbsInfoResult",
    "DesignDocument",
    "DesignDocumentInformation",
    "DesignDocumentOptions",
    "DesignDocumentViewIndex",
    "DesignDocumentViewsMapReduce",
    "DocsResultRow",
    "DocsResultRowValue",
    "Document",
    "DocumentResult",
    "DocumentRevisionStatus",
    "DocumentShardInfo",
    "ExecutionStats",
    "ExplainResult",
    "ExplainResultMrArgs",
    "ExplainResultOpts",
    "FindResult",
    "IndexAnalysis",
    "IndexAnalysisExclusionReason",
    "IndexCandidate",
    "IndexDefinition",
    "IndexField",
    "IndexInformation",
    "IndexResult",
    "IndexTextOperatorDefaultField",
    "IndexesInformation",
    "MembershipInformation",
    "Model",
    "Ok",
    "OpenModel",
    "PartitionInformation",
    "PartitionInformationIndexes",
    "PartitionInformationIndexesIndexes",
    "PartitionInformationSizes",
    "PartitionedIndexesDetailedInformation",
    "PartitionedIndexesInformation",
    "ReplicationCreateTargetParameters",
    "ReplicationDatabase",
    "ReplicationDatabaseAuth",
    "ReplicationDatabaseAuthBasic",
    "ReplicationDatabaseAuthIam",
    "ReplicationDocument",
    "Revisions",
    "RevsDiff",
    "SchedulerDocsResult",
    "SchedulerDocument",
    "SchedulerInfo",
    "SchedulerJob",
    "SchedulerJobEvent",
    "SchedulerJobsResult",
    "SearchAnalyzeResult",
    "SearchDiskSizeInformation",
    "SearchIndexDefinition",
    "SearchIndexDiskSize",
    "SearchIndexInfo",
    "SearchInfoResult",
    "SearchResult",
    "SearchResultProperties",
    "SearchResultRow",
    "Security",
    "SecurityObject",
    "SelectorHint",
    "ServerInformation",
    "ServerVendor",
    "SessionAuthentication",
    "SessionAuthenticationInfo",
    "SessionInformation",
    "ShardsInformation",
    "ThroughputInformation",
    "UpInformation",
    "UpdatesPending",
    "UserContext",
    "UuidsResult",
    "ViewQueriesResult",
    "ViewQuery",
    "ViewResult",
    "ViewResultRow",
    "convert_model",
]

# Field metadata used again and again (see `meta`).
_ABSENT_OK = _meta(absent_ok=True)
"""Required by the constructor, as in the SDK; ``None`` when a server leaves it out."""
_NULLABLE = _meta(nullable=True, absent_ok=True)
"""The server may send ``null`` (or, as the SDK allows, nothing): ``None``, and
``to_dict`` writes it as ``null``."""


# -- documents ------------------------------------------------------------------------


@attrs.define(slots=False, kw_only=True)
class Attachment(Model):
    """An entry of ``_attachments``; ``data`` is bytes here and base64 in JSON."""

    content_type: str | None = None
    data: bytes | None = None
    digest: str | None = None
    encoded_length: int | None = None
    encoding: str | None = None
    follows: bool | None = None
    length: int | None = None
    revpos: int | None = None
    stub: bool | None = None


@attrs.define(slots=False, kw_only=True)
class Revisions(Model):
    ids: list[str] = attrs.field(kw_only=False)
    start: int = attrs.field(kw_only=False)


@attrs.define(slots=False, kw_only=True)
class DocumentRevisionStatus(Model):
    class StatusEnum(str, Enum):
        AVAILABLE = "available"
        MISSING = "missing"
        DELETED = "deleted"

    rev: str = attrs.field(kw_only=False)
    status: str = attrs.field(kw_only=False)


@attrs.define(slots=False, init=False)
class Document(OpenModel):
    """A document: the CouchDB metadata fields plus free-form fields.

    ``Document(id="example", name="Bob")`` is ``{"_id": "example", "name": "Bob"}``: the
    attributes ``id``, ``rev``, ``deleted``, ``attachments``, ``conflicts``,
    ``deleted_conflicts``, ``local_seq``, ``revisions`` and ``revs_info`` are the JSON
    ``_id``, ``_rev``, ... The JSON names work too: ``Document(_id="x")``, ``doc._rev``.

    A user field literally called ``id`` (or ``rev``, ``deleted``, ...) in JSON, beside
    ``_id``, is a free-form field: ``from_dict`` keeps it, ``to_dict`` writes it back, and
    ``get_properties()["id"]`` / ``set_properties({"id": ...})`` reach it. The constructor
    and attribute access never do, since there ``id`` means ``_id``. The same goes for any
    free-form key that is not a Python identifier or that names a method. ``_extra`` is the
    attribute holding the free-form fields.
    """

    id: str | None = attrs.field(default=None, metadata=_meta("_id"))
    rev: str | None = attrs.field(default=None, metadata=_meta("_rev"))
    attachments: dict[str, Attachment] | None = attrs.field(
        default=None, metadata=_meta("_attachments")
    )
    conflicts: list[str] | None = attrs.field(default=None, metadata=_meta("_conflicts"))
    deleted: bool | None = attrs.field(default=None, metadata=_meta("_deleted"))
    deleted_conflicts: list[str] | None = attrs.field(
        default=None, metadata=_meta("_deleted_conflicts")
    )
    local_seq: str | int | None = attrs.field(default=None, metadata=_meta("_local_seq"))
    revisions: Revisions | None = attrs.field(default=None, metadata=_meta("_revisions"))
    revs_info: list[DocumentRevisionStatus] | None = attrs.field(
        default=None, metadata=_meta("_revs_info")
    )


@attrs.define(slots=False, kw_only=True)
class BulkDocs(Model):
    """The body of ``_bulk_docs``; ``docs`` may mix `Document` models and dicts."""

    docs: list[Document | dict[str, Any]] = attrs.field(kw_only=False)
    new_edits: bool | None = None


@attrs.define(slots=False, kw_only=True)
class BulkGetQueryDocument(Model):
    id: str = attrs.field(kw_only=False)
    atts_since: list[str] | None = None
    rev: str | None = None


@attrs.define(slots=False, kw_only=True)
class RevsDiff(Model):
    """One document's entry in the answer of ``POST /{db}/_revs_diff``."""

    missing: list[str] | None = None
    possible_ancestors: list[str] | None = None


@attrs.define(slots=False, kw_only=True)
class DocumentShardInfo(Model):
    """``GET /{db}/_shards/{doc_id}``: the shard range holding a document, and its nodes."""

    nodes: list[str] = attrs.field(kw_only=False)
    range: str = attrs.field(kw_only=False)


# -- design documents and indexes -----------------------------------------------------


@attrs.define(slots=False, kw_only=True)
class Analyzer(Model):
    class NameEnum(str, Enum):
        CLASSIC = "classic"
        EMAIL = "email"
        KEYWORD = "keyword"
        PERFIELD = "perfield"
        SIMPLE = "simple"
        SIMPLE_ASCIIFOLDING = "simple_asciifolding"
        STANDARD = "standard"
        WHITESPACE = "whitespace"
        ARABIC = "arabic"
        ARMENIAN = "armenian"
        BASQUE = "basque"
        BRAZILIAN = "brazilian"
        BULGARIAN = "bulgarian"
        CATALAN = "catalan"
        CHINESE = "chinese"
        CJK = "cjk"
        CZECH = "czech"
        DANISH = "danish"
        DUTCH = "dutch"
        ENGLISH = "english"
        FINNISH = "finnish"
        FRENCH = "french"
        GALICIAN = "galician"
        GERMAN = "german"
        GREEK = "greek"
        HINDI = "hindi"
        HUNGARIAN = "hungarian"
        INDONESIAN = "indonesian"
        IRISH = "irish"
        ITALIAN = "italian"
        JAPANESE = "japanese"
        LATVIAN = "latvian"
        NORWEGIAN = "norwegian"
        PERSIAN = "persian"
        POLISH = "polish"
        PORTUGUESE = "portuguese"
        ROMANIAN = "romanian"
        RUSSIAN = "russian"
        SPANISH = "spanish"
        SWEDISH = "swedish"
        THAI = "thai"
        TURKISH = "turkish"

    name: str = attrs.field(kw_only=False)
    stopwords: list[str] | None = None


@attrs.define(slots=False, kw_only=True)
class AnalyzerConfiguration(Model):
    """A search analyzer with options, e.g. ``perfield`` with ``default`` and ``fields``;
    an analyzer inside it may also be just its name."""

    NameEnum = Analyzer.NameEnum

    name: str = attrs.field(kw_only=False)
    stopwords: list[str] | None = None
    default: Analyzer | str | None = None
    fields: dict[str, Analyzer | str] | None = None


@attrs.define(slots=False, kw_only=True)
class SearchIndexDefinition(Model):
    index: str = attrs.field(kw_only=False)
    analyzer: AnalyzerConfiguration | str | None = None


@attrs.define(slots=False, kw_only=True)
class DesignDocumentViewsMapReduce(Model):
    """A view. ``map`` is JavaScript source, or an object in ``language: query`` indexes."""

    map: str | dict[str, Any] = attrs.field(kw_only=False)
    reduce: str | None = None


@attrs.define(slots=False, kw_only=True)
class DesignDocumentOptions(Model):
    partitioned: bool | None = None


@attrs.define(slots=False, init=False)
class DesignDocument(Document):
    """A design document; ``shows``, ``lists``, ``updates``, ... are free-form fields.

    A keyword spelt nearly as a field (``viewz=``) is refused with ``TypeError``: stored,
    it would leave the design document without its views."""

    _refuse_near_misses: ClassVar[bool] = True

    autoupdate: bool | None = None
    filters: dict[str, str] | None = None
    indexes: dict[str, SearchIndexDefinition] | None = None
    language: str | None = None
    options: DesignDocumentOptions | None = None
    validate_doc_update: str | None = None
    views: dict[str, DesignDocumentViewsMapReduce] | None = None


@attrs.define(slots=False, kw_only=True)
class UpdatesPending(Model):
    minimum: int = attrs.field(kw_only=False)
    preferred: int = attrs.field(kw_only=False)
    total: int = attrs.field(kw_only=False)


@attrs.define(slots=False, kw_only=True)
class DesignDocumentViewIndex(Model):
    """The ``view_index`` of a design document's ``_info``. ``collator_versions`` is
    ``None`` from servers older than CouchDB 3.2."""

    collator_versions: list[str] | None = attrs.field(kw_only=False, metadata=_ABSENT_OK)
    compact_running: bool = attrs.field(kw_only=False)
    language: str = attrs.field(kw_only=False)
    signature: str = attrs.field(kw_only=False)
    sizes: ContentInformationSizes = attrs.field(kw_only=False)
    updater_running: bool = attrs.field(kw_only=False)
    updates_pending: UpdatesPending = attrs.field(kw_only=False)
    waiting_clients: int = attrs.field(kw_only=False)
    waiting_commit: bool = attrs.field(kw_only=False)


@attrs.define(slots=False, kw_only=True)
class DesignDocumentInformation(Model):
    """``GET /{db}/_design/{ddoc}/_info``."""

    name: str = attrs.field(kw_only=False)
    view_index: DesignDocumentViewIndex = attrs.field(kw_only=False)


_SORT_DIRECTIONS = ("asc", "desc")


@attrs.define(slots=False, init=False)
class IndexField(OpenModel):
    """A field of a Mango index.

    ``IndexField("created", "asc")`` is the JSON-index sort form ``{"created": "asc"}``
    (so is the SDK's ``IndexField(created="asc")``); with any other type, such as a text
    index's ``IndexField("address", "string")``, it is ``{"name": "address", "type":
    "string"}``. ``from_dict`` reads a one-key ``{field: "asc"|"desc"}`` as name and type.
    """

    class TypeEnum(str, Enum):
        """The ``type`` of a text index field."""

        BOOLEAN = "boolean"
        NUMBER = "number"
        STRING = "string"

    _positional: ClassVar[tuple[str, ...] | None] = ("name", "type")

    name: str | None = None
    type: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        if self.name is not None and self.type in _SORT_DIRECTIONS:
            del out["name"], out["type"]
            return {self.name: self.type, **out}
        return out

    @classmethod
    def _prepare_json(cls, d: Mapping[str, Any]) -> Mapping[str, Any]:
        if len(d) == 1:
            ((key, value),) = d.items()
            if value in _SORT_DIRECTIONS:
                return {"name": key, "type": value}
        return d


@attrs.define(slots=False, kw_only=True)
class IndexTextOperatorDefaultField(Model):
    analyzer: Analyzer | str | None = None
    enabled: bool | None = None


@attrs.define(slots=False, kw_only=True)
class IndexDefinition(Model):
    """The ``index`` of ``POST /{db}/_index``; a field may also be a plain name.
    ``fields`` may be left out (a text index of every field)."""

    fields: list[IndexField | str] | None = attrs.field(default=None, kw_only=False)
    default_analyzer: Analyzer | str | None = None
    default_field: IndexTextOperatorDefaultField | None = None
    index_array_lengths: bool | None = None
    partial_filter_selector: dict[str, Any] | None = None


@attrs.define(slots=False, kw_only=True)
class IndexInformation(Model):
    """A Mango index, as ``GET /{db}/_index`` lists it; ``ddoc`` is ``None`` for the
    built-in ``_all_docs`` index."""

    TypeEnum = IndexType

    ddoc: str | None = attrs.field(kw_only=False, metadata=_NULLABLE)
    def_: IndexDefinition = attrs.field(kw_only=False, metadata=_meta("def"))
    name: str = attrs.field(kw_only=False)
    type: str = attrs.field(kw_only=False)
    partitioned: bool | None = None


@attrs.define(slots=False, kw_only=True)
class IndexesInformation(Model):
    """``GET /{db}/_index``."""

    total_rows: int = attrs.field(kw_only=False)
    indexes: list[IndexInformation] = attrs.field(kw_only=False)


@attrs.define(slots=False, kw_only=True)
class IndexResult(Model):
    """The result of ``POST /{db}/_index``."""

    class ResultEnum(str, Enum):
        CREATED = "created"
        EXISTS = "exists"

    id: str = attrs.field(kw_only=False)
    name: str = attrs.field(kw_only=False)
    result: str = attrs.field(kw_only=False)


@attrs.define(slots=False, kw_only=True)
class SearchIndexInfo(Model):
    """The ``search_index`` of ``_search_info``; ``signature`` is ``None`` from servers
    that don't send it."""

    committed_seq: int = attrs.field(kw_only=False)
    disk_size: int = attrs.field(kw_only=False)
    doc_count: int = attrs.field(kw_only=False)
    doc_del_count: int = attrs.field(kw_only=False)
    pending_seq: int = attrs.field(kw_only=False)
    signature: str | None = attrs.field(kw_only=False, metadata=_ABSENT_OK)


@attrs.define(slots=False, kw_only=True)
class SearchInfoResult(Model):
    """``GET /{db}/_design/{ddoc}/_search_info/{index}``."""

    name: str = attrs.field(kw_only=False)
    search_index: SearchIndexInfo = attrs.field(kw_only=False)


@attrs.define(slots=False, kw_only=True)
class SearchIndexDiskSize(Model):
    disk_size: int | None = None


@attrs.define(slots=False, kw_only=True)
class SearchDiskSizeInformation(Model):
    """``GET /{db}/_design/{ddoc}/_search_disk_size/{index}``."""

    name: str = attrs.field(kw_only=False)
    search_index: SearchIndexDiskSize = attrs.field(kw_only=False)


@attrs.define(slots=False, kw_only=True)
class SearchAnalyzeResult(Model):
    """``POST /_search_analyze``: the tokens an analyzer makes of a text."""

    tokens: list[str] = attrs.field(kw_only=False)


# -- replication, security and sessions -----------------------------------------------


@attrs.define(slots=False, kw_only=True)
class ReplicationDatabaseAuthBasic(Model):
    password: str = attrs.field(kw_only=False, repr=False)
    username: str = attrs.field(kw_only=False)


@attrs.define(slots=False, kw_only=True)
class ReplicationDatabaseAuthIam(Model):
    api_key: str = attrs.field(kw_only=False, repr=False)


@attrs.define(slots=False, kw_only=True)
class ReplicationDatabaseAuth(Model):
    basic: ReplicationDatabaseAuthBasic | None = None
    iam: ReplicationDatabaseAuthIam | None = None


@attrs.define(slots=False, kw_only=True)
class ReplicationDatabase(Model):
    """A replication endpoint. ``headers_`` is the JSON ``headers``."""

    url: str = attrs.field(kw_only=False)
    auth: ReplicationDatabaseAuth | None = None
    headers_: dict[str, str] | None = attrs.field(
        default=None, repr=False, metadata=_meta("headers")
    )


@attrs.define(slots=False, kw_only=True)
class ReplicationCreateTargetParameters(Model):
    n: int | None = None
    partitioned: bool | None = None
    q: int | None = None


@attrs.define(slots=False, kw_only=True)
class SecurityObject(Model):
    names: list[str] | None = None
    roles: list[str] | None = None


@attrs.define(slots=False, kw_only=True)
class Security(Model):
    """A ``_security`` document; ``cloudant`` maps user names to roles."""

    class CloudantEnum(str, Enum):
        """A role: in ``Security.cloudant`` and ``UserContext.roles``."""

        READER = "_reader"
        WRITER = "_writer"
        ADMIN = "_admin"
        REPLICATOR = "_replicator"
        DB_UPDATES = "_db_updates"
        DESIGN = "_design"
        SHARDS = "_shards"
        SECURITY = "_security"

    admins: SecurityObject | None = None
    cloudant: dict[str, list[str]] | None = None
    couchdb_auth_only: bool | None = None
    members: SecurityObject | None = None


@attrs.define(slots=False, kw_only=True)
class UserContext(Model):
    """``userCtx``: ``name`` is ``null`` for an anonymous session."""

    RolesEnum = Security.CloudantEnum

    name: str | None = attrs.field(kw_only=False, metadata=_NULLABLE)
    roles: list[str] | None = attrs.field(kw_only=False, metadata=_ABSENT_OK)
    db: str | None = None


# Required keyword-only source/target narrow the attrs-generated __attrs_init__ of Document.
@attrs.define(slots=False, init=False)
class ReplicationDocument(Document):  # type: ignore[override]
    """A ``_replicator`` document. ``source``/``target`` may also be plain URLs."""

    source: ReplicationDatabase | str = attrs.field(kw_only=True)
    target: ReplicationDatabase | str = attrs.field(kw_only=True)
    cancel: bool | None = None
    checkpoint_interval: int | None = None
    connection_timeout: int | None = None
    continuous: bool | None = None
    create_target: bool | None = None
    create_target_params: ReplicationCreateTargetParameters | None = None
    doc_ids: list[str] | None = None
    filter: str | None = None
    http_connections: int | None = None
    owner: str | None = None
    query_params: dict[str, str] | None = None
    retries_per_request: int | None = None
    selector: dict[str, Any] | None = None
    since_seq: str | None = None
    socket_options: str | None = None
    source_proxy: str | None = None
    target_proxy: str | None = None
    use_bulk_get: bool | None = None
    use_checkpoints: bool | None = None
    user_ctx: UserContext | None = None
    winning_revs_only: bool | None = None
    worker_batch_size: int | None = None
    worker_processes: int | None = None


@attrs.define(slots=False, kw_only=True)
class SchedulerInfo(Model):
    """A replication's progress (or its ``error``), in ``_scheduler/docs`` and ``jobs``."""

    changes_pending: int | None = None
    checkpointed_source_seq: str | int | None = None
    doc_write_failures: int | None = None
    docs_read: int | None = None
    docs_written: int | None = None
    error: str | None = None
    missing_revisions_found: int | None = None
    revisions_checked: int | None = None
    source_seq: str | int | None = None
    through_seq: str | int | None = None


@attrs.define(slots=False, kw_only=True)
class SchedulerDocument(Model):
    """A replication document's state in ``GET /_scheduler/docs``. ``id`` (the
    replication id) and ``info`` are ``None`` until the replication is scheduled."""

    StateEnum = ReplicationState

    database: str = attrs.field(kw_only=False)
    doc_id: str = attrs.field(kw_only=False)
    error_count: int = attrs.field(kw_only=False)
    id: str | None = attrs.field(kw_only=False, metadata=_NULLABLE)
    info: SchedulerInfo | None = attrs.field(kw_only=False, metadata=_NULLABLE)
    last_updated: datetime.datetime = attrs.field(kw_only=False)
    start_time: datetime.datetime = attrs.field(kw_only=False)
    state: str = attrs.field(kw_only=False)
    node: str | None = None
    source: str | None = None
    source_proxy: str | None = None
    target: str | None = None
    target_proxy: str | None = None


@attrs.define(slots=False, kw_only=True)
class SchedulerDocsResult(Model):
    """``GET /_scheduler/docs``."""

    total_rows: int = attrs.field(kw_only=False)
    docs: list[SchedulerDocument] = attrs.field(kw_only=False)


@attrs.define(slots=False, kw_only=True)
class SchedulerJobEvent(Model):
    """An entry of a replication job's ``history`` (``added``, ``started``, ``crashed``...)."""

    timestamp: datetime.datetime = attrs.field(kw_only=False)
    type: str = attrs.field(kw_only=False)
    reason: str | None = None


@attrs.define(slots=False, kw_only=True)
class SchedulerJob(Model):
    """A running replication in ``GET /_scheduler/jobs``. ``database`` and ``doc_id`` are
    ``None`` for a replication started with ``POST /_replicate``."""

    database: str | None = attrs.field(kw_only=False, metadata=_NULLABLE)
    doc_id: str | None = attrs.field(kw_only=False, metadata=_NULLABLE)
    history: list[SchedulerJobEvent] = attrs.field(kw_only=False)
    id: str = attrs.field(kw_only=False)
    info: SchedulerInfo | None = attrs.field(kw_only=False, metadata=_NULLABLE)
    node: str = attrs.field(kw_only=False)
    pid: str | None = attrs.field(kw_only=False, metadata=_NULLABLE)
    source: str = attrs.field(kw_only=False)
    start_time: datetime.datetime = attrs.field(kw_only=False)
    target: str = attrs.field(kw_only=False)
    user: str | None = attrs.field(kw_only=False, metadata=_NULLABLE)


@attrs.define(slots=False, kw_only=True)
class SchedulerJobsResult(Model):
    """``GET /_scheduler/jobs``."""

    total_rows: int = attrs.field(kw_only=False)
    jobs: list[SchedulerJob] = attrs.field(kw_only=False)


@attrs.define(slots=False, kw_only=True)
class SessionAuthentication(Model):
    """The ``info`` of ``GET /_session``."""

    authentication_handlers: list[str] | None = attrs.field(kw_only=False, metadata=_ABSENT_OK)
    authenticated: str | None = None
    authentication_db: str | None = None


SessionAuthenticationInfo = SessionAuthentication
"""The earlier name of `SessionAuthentication`."""


@attrs.define(slots=False, kw_only=True)
class SessionInformation(Model):
    """``GET /_session``; ``user_ctx`` is the JSON ``userCtx``."""

    ok: bool | None = attrs.field(kw_only=False, metadata=_ABSENT_OK)
    info: SessionAuthentication | None = attrs.field(kw_only=False, metadata=_ABSENT_OK)
    user_ctx: UserContext | None = attrs.field(
        kw_only=False, metadata=_meta("userCtx", absent_ok=True)
    )


# -- query bodies and results ---------------------------------------------------------


@attrs.define(slots=False, kw_only=True)
class Ok(Model):
    ok: bool | None = None


@attrs.define(slots=False, kw_only=True)
class DocumentResult(Model):
    """One write result (``_bulk_docs``, PUT, DELETE) or one error."""

    id: str = attrs.field(kw_only=False)
    rev: str | None = None
    ok: bool | None = None
    caused_by: str | None = None
    error: str | None = None
    reason: str | None = None
    ref: int | None = None


@attrs.define(slots=False, kw_only=True)
class BulkGetResultDocument(Model):
    """One entry of a ``_bulk_get`` result: a document (as a dict) or an error."""

    error: DocumentResult | None = None
    ok: dict[str, Any] | None = None


@attrs.define(slots=False, kw_only=True)
class BulkGetResultItem(Model):
    docs: list[BulkGetResultDocument] = attrs.field(kw_only=False)
    id: str = attrs.field(kw_only=False)


@attrs.define(slots=False, kw_only=True)
class BulkGetResult(Model):
    results: list[BulkGetResultItem] = attrs.field(kw_only=False)


@attrs.define(slots=False, kw_only=True)
class Change(Model):
    rev: str = attrs.field(kw_only=False)


@attrs.define(slots=False, kw_only=True)
class ChangesResultItem(Model):
    """A row of the changes feed. ``seq`` is ``null`` for most rows under
    ``seq_interval``; ``doc`` is the raw document."""

    changes: list[Change] = attrs.field(kw_only=False)
    id: str = attrs.field(kw_only=False)
    seq: str | int | None = attrs.field(kw_only=False, metadata=_meta(nullable=True))
    deleted: bool | None = None
    doc: dict[str, Any] | None = None


@attrs.define(slots=False, kw_only=True)
class ChangesResult(Model):
    """A changes feed page; ``pending`` is ``None`` from PouchDB Server."""

    last_seq: str | int = attrs.field(kw_only=False)
    pending: int | None = attrs.field(kw_only=False, metadata=_ABSENT_OK)
    results: list[ChangesResultItem] = attrs.field(kw_only=False)


@attrs.define(slots=False, kw_only=True)
class AllDocsQuery(Model):
    """One query of ``POST /{db}/_all_docs/queries`` (and ``_design_docs/queries``)."""

    att_encoding_info: bool | None = None
    attachments: bool | None = None
    conflicts: bool | None = None
    descending: bool | None = None
    include_docs: bool | None = None
    inclusive_end: bool | None = None
    limit: int | None = None
    skip: int | None = None
    update_seq: bool | None = None
    end_key: str | None = None
    key: str | None = None
    keys: list[str] | None = None
    start_key: str | None = None


@attrs.define(slots=False, kw_only=True)
class DocsResultRowValue(Model):
    rev: str = attrs.field(kw_only=False)
    deleted: bool | None = None


@attrs.define(slots=False, kw_only=True)
class DocsResultRow(Model):
    """A row of ``_all_docs`` / ``_design_docs``; ``error`` rows have no ``id``/``value``."""

    key: str = attrs.field(kw_only=False)
    caused_by: str | None = None
    error: str | None = None
    reason: str | None = None
    ref: int | None = None
    doc: dict[str, Any] | None = None
    id: str | None = None
    value: DocsResultRowValue | None = None


@attrs.define(slots=False, kw_only=True)
class AllDocsResult(Model):
    total_rows: int = attrs.field(kw_only=False)
    rows: list[DocsResultRow] = attrs.field(kw_only=False)
    update_seq: str | int | None = None


@attrs.define(slots=False, kw_only=True)
class AllDocsQueriesResult(Model):
    """``POST /{db}/_all_docs/queries``: one result per query."""

    results: list[AllDocsResult] = attrs.field(kw_only=False)


@attrs.define(slots=False, kw_only=True)
class ViewQuery(Model):
    """One query of ``POST /{db}/_design/{ddoc}/_view/{view}/queries``. ``key``,
    ``start_key`` and ``end_key`` are any JSON value."""

    class UpdateEnum(str, Enum):
        TRUE = "true"
        FALSE = "false"
        LAZY = "lazy"

    att_encoding_info: bool | None = None
    attachments: bool | None = None
    conflicts: bool | None = None
    descending: bool | None = None
    include_docs: bool | None = None
    inclusive_end: bool | None = None
    limit: int | None = None
    skip: int | None = None
    update_seq: bool | None = None
    end_key: Any = None
    end_key_doc_id: str | None = None
    group: bool | None = None
    group_level: int | None = None
    key: Any = None
    keys: list[Any] | None = None
    reduce: bool | None = None
    stable: bool | None = None
    start_key: Any = None
    start_key_doc_id: str | None = None
    update: str | None = None


@attrs.define(slots=False, kw_only=True)
class ViewResultRow(Model):
    """A view row; ``key`` and ``value`` are ``null`` in a reduce row, and stay so."""

    key: Any = attrs.field(kw_only=False, metadata=_NULLABLE)
    value: Any = attrs.field(kw_only=False, metadata=_NULLABLE)
    caused_by: str | None = None
    error: str | None = None
    reason: str | None = None
    ref: int | None = None
    doc: dict[str, Any] | None = None
    id: str | None = None


@attrs.define(slots=False, kw_only=True)
class ViewResult(Model):
    rows: list[ViewResultRow] = attrs.field(kw_only=False)
    total_rows: int | None = None
    update_seq: str | int | None = None


@attrs.define(slots=False, kw_only=True)
class ViewQueriesResult(Model):
    """``POST /{db}/_design/{ddoc}/_view/{view}/queries``: one result per query."""

    results: list[ViewResult] = attrs.field(kw_only=False)


@attrs.define(slots=False, kw_only=True)
class ExecutionStats(Model):
    """``execution_stats`` of a Mango query; PouchDB Server sends fewer keys."""

    execution_time_ms: float | None = attrs.field(kw_only=False, metadata=_ABSENT_OK)
    results_returned: int | None = attrs.field(kw_only=False, metadata=_ABSENT_OK)
    total_docs_examined: int | None = attrs.field(kw_only=False, metadata=_ABSENT_OK)
    total_keys_examined: int | None = attrs.field(kw_only=False, metadata=_ABSENT_OK)
    total_quorum_docs_examined: int | None = attrs.field(kw_only=False, metadata=_ABSENT_OK)


@attrs.define(slots=False, kw_only=True)
class FindResult(Model):
    """``POST /{db}/_find``; ``bookmark`` is ``None`` from PouchDB Server."""

    bookmark: str | None = attrs.field(kw_only=False, metadata=_ABSENT_OK)
    docs: list[dict[str, Any]] = attrs.field(kw_only=False)
    execution_stats: ExecutionStats | None = None
    warning: str | None = None


@attrs.define(slots=False, kw_only=True)
class IndexAnalysisExclusionReason(Model):
    class NameEnum(str, Enum):
        ALPHABETICALLY_COMES_AFTER = "alphabetically_comes_after"
        EMPTY_SELECTOR = "empty_selector"
        EXCLUDED_BY_USER = "excluded_by_user"
        FIELD_MISMATCH = "field_mismatch"
        IS_PARTIAL = "is_partial"
        LESS_OVERLAP = "less_overlap"
        NEEDS_TEXT_SEARCH = "needs_text_search"
        SCOPE_MISMATCH = "scope_mismatch"
        SORT_ORDER_MISMATCH = "sort_order_mismatch"
        TOO_MANY_FIELDS = "too_many_fields"
        UNFAVORED_TYPE = "unfavored_type"

    name: str = attrs.field(kw_only=False)


@attrs.define(slots=False, kw_only=True)
class IndexAnalysis(Model):
    """Why ``_explain`` did or did not choose an index; ``covering`` is ``None`` for
    indexes other than JSON ones."""

    covering: bool | None = attrs.field(kw_only=False, metadata=_NULLABLE)
    ranking: int = attrs.field(kw_only=False)
    reasons: list[IndexAnalysisExclusionReason] = attrs.field(kw_only=False)
    usable: bool = attrs.field(kw_only=False)


@attrs.define(slots=False, kw_only=True)
class IndexCandidate(Model):
    analysis: IndexAnalysis = attrs.field(kw_only=False)
    index: IndexInformation = attrs.field(kw_only=False)


@attrs.define(slots=False, kw_only=True)
class SelectorHint(Model):
    """Which fields of the selector an index of ``type`` could or could not serve."""

    class TypeEnum(str, Enum):
        JSON = "json"
        TEXT = "text"

    indexable_fields: list[str] = attrs.field(kw_only=False)
    type: str = attrs.field(kw_only=False)
    unindexable_fields: list[str] = attrs.field(kw_only=False)


@attrs.define(slots=False, kw_only=True)
class ExplainResultMrArgs(Model):
    """The view arguments of a JSON-index query (``mrargs``). ``partition``,
    ``conflicts`` (``"undefined"`` when not asked for), ``end_key`` and ``update`` are
    sent as they are, ``null`` included."""

    class DirectionEnum(str, Enum):
        FWD = "fwd"
        REV = "rev"

    class ViewTypeEnum(str, Enum):
        MAP = "map"
        REDUCE = "reduce"

    conflicts: Any = attrs.field(kw_only=False, metadata=_NULLABLE)
    direction: str = attrs.field(kw_only=False)
    end_key: Any = attrs.field(kw_only=False, metadata=_NULLABLE)
    include_docs: bool = attrs.field(kw_only=False)
    partition: str | None = attrs.field(kw_only=False, metadata=_NULLABLE)
    reduce: bool = attrs.field(kw_only=False)
    stable: bool = attrs.field(kw_only=False)
    update: Any = attrs.field(kw_only=False, metadata=_NULLABLE)
    view_type: str = attrs.field(kw_only=False)
    start_key: Any = None


@attrs.define(slots=False, kw_only=True)
class ExplainResultOpts(Model):
    """The query options as the server understood them (``opts`` of ``_explain``)."""

    bookmark: str = attrs.field(kw_only=False)
    conflicts: bool = attrs.field(kw_only=False)
    execution_stats: bool = attrs.field(kw_only=False)
    fields: list[str] = attrs.field(kw_only=False)
    limit: int = attrs.field(kw_only=False)
    partition: str = attrs.field(kw_only=False)
    r: int = attrs.field(kw_only=False)
    skip: int = attrs.field(kw_only=False)
    sort: Any = attrs.field(kw_only=False, metadata=_NULLABLE)
    stable: bool = attrs.field(kw_only=False)
    stale: bool = attrs.field(kw_only=False)
    update: bool = attrs.field(kw_only=False)
    use_index: list[str] = attrs.field(kw_only=False)


@attrs.define(slots=False, kw_only=True)
class ExplainResult(Model):
    """``POST /{db}/_explain``. ``covering``, ``index_candidates`` and
    ``selector_hints`` are ``None`` from servers older than CouchDB 3.4 (and ``covering``
    for a text index); ``fields`` is ``"all_fields"`` from older servers."""

    covering: bool | None = attrs.field(kw_only=False, metadata=_ABSENT_OK)
    dbname: str = attrs.field(kw_only=False)
    fields: list[str] | str = attrs.field(kw_only=False)
    index: IndexInformation | None = attrs.field(kw_only=False, metadata=_NULLABLE)
    index_candidates: list[IndexCandidate] | None = attrs.field(kw_only=False, metadata=_ABSENT_OK)
    limit: int = attrs.field(kw_only=False)
    opts: ExplainResultOpts = attrs.field(kw_only=False)
    selector: dict[str, Any] = attrs.field(kw_only=False)
    selector_hints: list[SelectorHint] | None = attrs.field(kw_only=False, metadata=_ABSENT_OK)
    skip: int = attrs.field(kw_only=False)
    mrargs: ExplainResultMrArgs | None = None
    partitioned: Any = None


@attrs.define(slots=False, kw_only=True)
class SearchResultRow(Model):
    """A search hit. ``order`` is its sort position (the SDK does not declare it)."""

    fields: dict[str, Any] = attrs.field(kw_only=False)
    id: str = attrs.field(kw_only=False)
    doc: dict[str, Any] | None = None
    highlights: dict[str, list[str]] | None = None
    order: list[Any] | None = None


@attrs.define(slots=False, kw_only=True)
class SearchResultProperties(Model):
    """A group of a grouped search (``group_field``)."""

    total_rows: int | None = attrs.field(kw_only=False, metadata=_ABSENT_OK)
    rows: list[SearchResultRow] | None = attrs.field(kw_only=False, metadata=_ABSENT_OK)
    bookmark: str | None = None
    by: str | None = None
    counts: dict[str, dict[str, int]] | None = None
    ranges: dict[str, dict[str, int]] | None = None


@attrs.define(slots=False, kw_only=True)
class SearchResult(Model):
    """A search result; a grouped search has ``groups`` and no ``rows``."""

    total_rows: int = attrs.field(kw_only=False)
    rows: list[SearchResultRow] | None = attrs.field(kw_only=False, metadata=_ABSENT_OK)
    bookmark: str | None = None
    by: str | None = None
    counts: dict[str, dict[str, int]] | None = None
    ranges: dict[str, dict[str, int]] | None = None
    groups: list[SearchResultProperties] | None = None


# -- databases ------------------------------------------------------------------------


@attrs.define(slots=False, kw_only=True)
class ContentInformationSizes(Model):
    active: int | None = attrs.field(kw_only=False, metadata=_ABSENT_OK)
    external: int | None = attrs.field(kw_only=False, metadata=_ABSENT_OK)
    file: int | None = attrs.field(kw_only=False, metadata=_ABSENT_OK)


@attrs.define(slots=False, kw_only=True)
class DatabaseInformationCluster(Model):
    n: int | None = attrs.field(kw_only=False, metadata=_ABSENT_OK)
    q: int | None = attrs.field(kw_only=False, metadata=_ABSENT_OK)
    r: int | None = attrs.field(kw_only=False, metadata=_ABSENT_OK)
    w: int | None = attrs.field(kw_only=False, metadata=_ABSENT_OK)


@attrs.define(slots=False, kw_only=True)
class DatabaseInformationProps(Model):
    partitioned: bool | None = None


@attrs.define(slots=False, kw_only=True)
class PartitionedIndexesDetailedInformation(Model):
    search: int | None = None
    view: int | None = None


@attrs.define(slots=False, kw_only=True)
class PartitionedIndexesInformation(Model):
    """How many partitioned indexes a database has, and how many it may have."""

    count: int | None = None
    indexes: PartitionedIndexesDetailedInformation | None = None
    limit: int | None = None


@attrs.define(slots=False, kw_only=True)
class DatabaseInformation(Model):
    """``GET /{db}``. Only ``db_name`` must be in the JSON: PouchDB Server sends far fewer
    fields than CouchDB or Cloudant, and ``from_dict`` reads the missing ones as ``None``."""

    cluster: DatabaseInformationCluster | None = attrs.field(kw_only=False, metadata=_ABSENT_OK)
    compact_running: bool | None = attrs.field(kw_only=False, metadata=_ABSENT_OK)
    db_name: str = attrs.field(kw_only=False)
    disk_format_version: int | None = attrs.field(kw_only=False, metadata=_ABSENT_OK)
    doc_count: int | None = attrs.field(kw_only=False, metadata=_ABSENT_OK)
    doc_del_count: int | None = attrs.field(kw_only=False, metadata=_ABSENT_OK)
    instance_start_time: str | None = attrs.field(kw_only=False, metadata=_ABSENT_OK)
    props: DatabaseInformationProps | None = attrs.field(kw_only=False, metadata=_ABSENT_OK)
    sizes: ContentInformationSizes | None = attrs.field(kw_only=False, metadata=_ABSENT_OK)
    update_seq: str | int | None = attrs.field(kw_only=False, metadata=_ABSENT_OK)
    committed_update_seq: str | int | None = None
    compacted_seq: str | None = None
    engine: str | None = None
    partitioned_indexes: PartitionedIndexesInformation | None = None
    purge_seq: str | int | None = None
    uuid: str | None = None


@attrs.define(slots=False, kw_only=True)
class DbsInfoResult(Model):
    """One entry of ``POST /_dbs_info``: the database's ``info``, or an ``error``."""

    key: str = attrs.field(kw_only=False)
    error: str | None = None
    info: DatabaseInformation | None = None


@attrs.define(slots=False, kw_only=True)
class DbEvent(Model):
    """A row of ``GET /_db_updates``."""

    class TypeEnum(str, Enum):
        CREATED = "created"
        DELETED = "deleted"
        UPDATED = "updated"

    db_name: str = attrs.field(kw_only=False)
    seq: str = attrs.field(kw_only=False)
    type: str = attrs.field(kw_only=False)


@attrs.define(slots=False, kw_only=True)
class DbUpdates(Model):
    """``GET /_db_updates``."""

    last_seq: str = attrs.field(kw_only=False)
    results: list[DbEvent] = attrs.field(kw_only=False)


@attrs.define(slots=False, kw_only=True)
class PartitionInformationSizes(Model):
    active: int | None = None
    external: int | None = None


# The same shapes as the database's counts, under the SDK's names for a partition's.
@attrs.define(slots=False, kw_only=True)
class PartitionInformationIndexesIndexes(PartitionedIndexesDetailedInformation):
    pass


@attrs.define(slots=False, kw_only=True)
class PartitionInformationIndexes(Model):
    count: int | None = None
    indexes: PartitionInformationIndexesIndexes | None = None
    limit: int | None = None


@attrs.define(slots=False, kw_only=True)
class PartitionInformation(Model):
    """``GET /{db}/_partition/{partition_key}``."""

    db_name: str = attrs.field(kw_only=False)
    doc_count: int = attrs.field(kw_only=False)
    doc_del_count: int = attrs.field(kw_only=False)
    partition: str = attrs.field(kw_only=False)
    sizes: PartitionInformationSizes = attrs.field(kw_only=False)
    partitioned_indexes: PartitionInformationIndexes | None = None


@attrs.define(slots=False, kw_only=True)
class ShardsInformation(Model):
    """``GET /{db}/_shards``: each shard range and the nodes holding it."""

    shards: dict[str, list[str]] = attrs.field(kw_only=False)


# -- the server -----------------------------------------------------------------------


@attrs.define(slots=False, init=False)
class ServerVendor(OpenModel):
    class VariantEnum(str, Enum):
        PAAS = "paas"

    name: str | None = None
    variant: str | None = None
    version: str | None = None

    _positional: ClassVar[tuple[str, ...] | None] = ("name", "variant", "version")


@attrs.define(slots=False, kw_only=True)
class ServerInformation(Model):
    """``GET /``. Every field may be absent from the JSON: PouchDB Server has no
    ``couchdb`` welcome and sends ``vendor`` only when configured."""

    couchdb: str | None = attrs.field(kw_only=False, metadata=_ABSENT_OK)
    features: list[str] | None = attrs.field(kw_only=False, metadata=_ABSENT_OK)
    features_flags: list[str] | None = attrs.field(kw_only=False, metadata=_ABSENT_OK)
    vendor: ServerVendor | None = attrs.field(kw_only=False, metadata=_ABSENT_OK)
    version: str | None = attrs.field(kw_only=False, metadata=_ABSENT_OK)
    uuid: str | None = None


@attrs.define(slots=False, kw_only=True)
class UpInformation(Model):
    """``GET /_up``."""

    class StatusEnum(str, Enum):
        MAINTENANCE_MODE = "maintenance_mode"
        NOLB = "nolb"
        OK = "ok"

    status: str = attrs.field(kw_only=False)
    cluster: str | None = None
    seeds: dict[str, Any] | None = None


@attrs.define(slots=False, kw_only=True)
class MembershipInformation(Model):
    """``GET /_membership``."""

    all_nodes: list[str] = attrs.field(kw_only=False)
    cluster_nodes: list[str] = attrs.field(kw_only=False)


@attrs.define(slots=False, kw_only=True)
class UuidsResult(Model):
    """``GET /_uuids``."""

    uuids: list[str] = attrs.field(kw_only=False)


@attrs.define(slots=False, kw_only=True)
class ActiveTask(Model):
    """An entry of ``GET /_active_tasks``: a compaction, an indexer or a replication.
    ``database`` is ``None`` for a replication started with ``POST /_replicate``."""

    class PhaseEnum(str, Enum):
        DOCID_SORT = "docid_sort"
        DOCID_COPY = "docid_copy"
        DOCUMENT_COPY = "document_copy"
        IDS = "ids"
        VIEW = "view"

    class ProcessStatusEnum(str, Enum):
        EXITING = "exiting"
        GARBAGE_COLLECTING = "garbage_collecting"
        RUNNABLE = "runnable"
        RUNNING = "running"
        SUSPENDED = "suspended"
        WAITING = "waiting"

    class TypeEnum(str, Enum):
        DATABASE_COMPACTION = "database_compaction"
        INDEXER = "indexer"
        REPLICATION = "replication"
        SEARCH_INDEXER = "search_indexer"
        VIEW_COMPACTION = "view_compaction"

    database: str | None = attrs.field(kw_only=False, metadata=_NULLABLE)
    node: str = attrs.field(kw_only=False)
    pid: str = attrs.field(kw_only=False)
    started_on: int = attrs.field(kw_only=False)
    type: str = attrs.field(kw_only=False)
    updated_on: int = attrs.field(kw_only=False)
    bulk_get_attempts: int | None = None
    bulk_get_docs: int | None = None
    changes_done: int | None = None
    changes_pending: int | None = None
    checkpoint_interval: int | None = None
    checkpointed_source_seq: str | int | None = None
    continuous: bool | None = None
    design_document: str | None = None
    doc_id: str | None = None
    doc_write_failures: int | None = None
    docs_read: int | None = None
    docs_written: int | None = None
    index: str | None = None
    indexer_pid: str | None = None
    missing_revisions_found: int | None = None
    phase: str | None = None
    process_status: str | None = None
    progress: int | None = None
    replication_id: str | None = None
    retry: bool | None = None
    revisions_checked: int | None = None
    source: str | None = None
    source_seq: str | int | None = None
    target: str | None = None
    through_seq: str | int | None = None
    total_changes: int | None = None
    user: str | None = None
    view: int | None = None


# -- IBM Cloudant account endpoints (/_api/v2/...) ------------------------------------


@attrs.define(slots=False, kw_only=True)
class ActivityTrackerEvents(Model):
    """The Activity Tracker event types a Cloudant instance sends."""

    class TypesEnum(str, Enum):
        MANAGEMENT = "management"
        DATA = "data"

    types: list[str] = attrs.field(kw_only=False)


@attrs.define(slots=False, kw_only=True)
class ApiKeysResult(Model):
    """A generated Cloudant API key; ``password`` is left out of ``repr()``."""

    ok: bool = attrs.field(kw_only=False)
    key: str = attrs.field(kw_only=False)
    password: str = attrs.field(kw_only=False, repr=False)


@attrs.define(slots=False, kw_only=True)
class CorsInformation(Model):
    allow_credentials: bool = attrs.field(kw_only=False)
    enable_cors: bool = attrs.field(kw_only=False)
    origins: list[str] = attrs.field(kw_only=False)


@attrs.define(slots=False, kw_only=True)
class DatabasesCountInformation(Model):
    total: int | None = None


@attrs.define(slots=False, kw_only=True)
class CapacityDatabasesInformationCurrent(Model):
    databases: DatabasesCountInformation | None = None


@attrs.define(slots=False, kw_only=True)
class CapacityDatabasesInformation(Model):
    """How many databases the plan allows."""

    current: CapacityDatabasesInformationCurrent | None = None


@attrs.define(slots=False, kw_only=True)
class CurrentDatabasesInformation(Model):
    """How many databases there are."""

    databases: DatabasesCountInformation | None = None


@attrs.define(slots=False, kw_only=True)
class ThroughputInformation(Model):
    """Provisioned throughput: ``blocks`` and the reads, writes and queries per second
    they buy."""

    query: int = attrs.field(kw_only=False)
    read: int = attrs.field(kw_only=False)
    write: int = attrs.field(kw_only=False)
    blocks: int | None = None


@attrs.define(slots=False, kw_only=True)
class CapacityThroughputInformationCurrent(Model):
    throughput: ThroughputInformation = attrs.field(kw_only=False)


@attrs.define(slots=False, kw_only=True)
class CapacityThroughputInformationTarget(Model):
    throughput: ThroughputInformation = attrs.field(kw_only=False)


@attrs.define(slots=False, kw_only=True)
class CapacityThroughputInformation(Model):
    """The provisioned throughput, and the ``target`` of a change under way."""

    current: CapacityThroughputInformationCurrent = attrs.field(kw_only=False)
    target: CapacityThroughputInformationTarget | None = None


@attrs.define(slots=False, kw_only=True)
class CurrentThroughputInformationThroughput(Model):
    query: int = attrs.field(kw_only=False)
    read: int = attrs.field(kw_only=False)
    write: int = attrs.field(kw_only=False)


@attrs.define(slots=False, kw_only=True)
class CurrentThroughputInformation(Model):
    """The throughput used in the current second."""

    throughput: CurrentThroughputInformationThroughput = attrs.field(kw_only=False)

"""Typed request and response models, as in the official SDK, built on attrs.

Every model has ``from_dict(d)`` (a classmethod), ``to_dict()`` and a ``__str__`` that
prints pretty JSON. Wherever the client takes a body, a model or a plain dict will do, and
a dict can stand in for a model nested inside another model.

One mechanism serialises all of them: ``Model.from_dict`` and ``Model.to_dict`` read the
attrs fields of the class. A field's JSON key is its attribute name unless its metadata
names another (``id`` <-> ``_id``, ``headers_`` <-> ``headers``). Its type annotation says
how to decode it: a model, a list or dict of models, ``bytes`` (base64 in JSON), a union of
a model and a plain value (a model when the JSON is an object), or plain JSON.

Rules shared by every model:

- ``to_dict`` leaves out fields that are ``None``, except *nullable* ones, which the server
  sends as JSON ``null`` (``ViewResultRow.key``/``value`` of reduce rows,
  ``ChangesResultItem.seq`` under ``seq_interval``); those are always written.
- ``from_dict`` treats ``null`` in a field that is not nullable as absent, and raises
  ``ValueError`` naming the key and the model when a required key is missing.
- Keys a model does not declare are kept in ``_extra`` and written back by ``to_dict``, so
  nothing a newer server adds is lost.
- Required fields come first and may be positional; optional fields default to ``None``.
- Models are plain attrs classes, not slotted: ``m.__dict__`` holds the fields by attribute
  name (and ``_extra``), so ``type(m)(**m.__dict__)`` rebuilds ``m``, as SDK code expects.

*Open* models (`Document`, `DesignDocument`, `ReplicationDocument`, `IndexField`,
`ServerVendor`) also take free-form fields as keyword arguments and as attributes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import attrs

from cloudant_odm.client._modelbase import Model, OpenModel, convert_model
from cloudant_odm.client._modelbase import meta as _meta

__all__ = [
    "AllDocsResult",
    "Analyzer",
    "AnalyzerConfiguration",
    "Attachment",
    "BulkDocs",
    "BulkGetQueryDocument",
    "BulkGetResult",
    "BulkGetResultDocument",
    "BulkGetResultItem",
    "Change",
    "ChangesResult",
    "ChangesResultItem",
    "ContentInformationSizes",
    "DatabaseInformation",
    "DatabaseInformationCluster",
    "DatabaseInformationProps",
    "DesignDocument",
    "DesignDocumentOptions",
    "DesignDocumentViewsMapReduce",
    "DocsResultRow",
    "DocsResultRowValue",
    "Document",
    "DocumentResult",
    "DocumentRevisionStatus",
    "ExecutionStats",
    "FindResult",
    "IndexDefinition",
    "IndexField",
    "IndexResult",
    "IndexTextOperatorDefaultField",
    "Model",
    "Ok",
    "OpenModel",
    "ReplicationCreateTargetParameters",
    "ReplicationDatabase",
    "ReplicationDatabaseAuth",
    "ReplicationDatabaseAuthBasic",
    "ReplicationDatabaseAuthIam",
    "ReplicationDocument",
    "Revisions",
    "SearchIndexDefinition",
    "SearchResult",
    "SearchResultProperties",
    "SearchResultRow",
    "Security",
    "SecurityObject",
    "ServerInformation",
    "ServerVendor",
    "SessionAuthenticationInfo",
    "SessionInformation",
    "UserContext",
    "ViewResult",
    "ViewResultRow",
    "convert_model",
]

# -- documents ------------------------------------------------------------------------


@attrs.define(slots=False)
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


@attrs.define(slots=False)
class Revisions(Model):
    ids: list[str]
    start: int


@attrs.define(slots=False)
class DocumentRevisionStatus(Model):
    rev: str
    status: str


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


@attrs.define(slots=False)
class BulkDocs(Model):
    """The body of ``_bulk_docs``; ``docs`` may mix `Document` models and dicts."""

    docs: list[Document | dict[str, Any]]
    new_edits: bool | None = None


@attrs.define(slots=False)
class BulkGetQueryDocument(Model):
    id: str
    atts_since: list[str] | None = None
    rev: str | None = None


# -- design documents and indexes -----------------------------------------------------


@attrs.define(slots=False)
class Analyzer(Model):
    name: str
    stopwords: list[str] | None = None


@attrs.define(slots=False)
class AnalyzerConfiguration(Model):
    """A search analyzer with options, e.g. ``perfield`` with ``default`` and ``fields``;
    an analyzer inside it may also be just its name."""

    name: str
    stopwords: list[str] | None = None
    default: Analyzer | str | None = None
    fields: dict[str, Analyzer | str] | None = None


@attrs.define(slots=False)
class SearchIndexDefinition(Model):
    index: str
    analyzer: AnalyzerConfiguration | str | None = None


@attrs.define(slots=False)
class DesignDocumentViewsMapReduce(Model):
    """A view. ``map`` is JavaScript source, or an object in ``language: query`` indexes."""

    map: str | dict[str, Any]
    reduce: str | None = None


@attrs.define(slots=False)
class DesignDocumentOptions(Model):
    partitioned: bool | None = None


@attrs.define(slots=False, init=False)
class DesignDocument(Document):
    """A design document; ``shows``, ``lists``, ``updates``, ... are free-form fields."""

    autoupdate: bool | None = None
    filters: dict[str, str] | None = None
    indexes: dict[str, SearchIndexDefinition] | None = None
    language: str | None = None
    options: DesignDocumentOptions | None = None
    validate_doc_update: str | None = None
    views: dict[str, DesignDocumentViewsMapReduce] | None = None


_SORT_DIRECTIONS = ("asc", "desc")


@attrs.define(slots=False, init=False)
class IndexField(OpenModel):
    """A field of a Mango index.

    ``IndexField("created", "asc")`` is the JSON-index sort form ``{"created": "asc"}``
    (so is the SDK's ``IndexField(created="asc")``); with any other type, such as a text
    index's ``IndexField("address", "string")``, it is ``{"name": "address", "type":
    "string"}``. ``from_dict`` reads a one-key ``{field: "asc"|"desc"}`` as name and type.
    """

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


@attrs.define(slots=False)
class IndexTextOperatorDefaultField(Model):
    analyzer: Analyzer | str | None = None
    enabled: bool | None = None


@attrs.define(slots=False)
class IndexDefinition(Model):
    """The ``index`` of ``POST /{db}/_index``; a field may also be a plain name."""

    fields: list[IndexField | str] | None = None
    default_analyzer: Analyzer | str | None = None
    default_field: IndexTextOperatorDefaultField | None = None
    index_array_lengths: bool | None = None
    partial_filter_selector: dict[str, Any] | None = None


# -- replication and security ---------------------------------------------------------


@attrs.define(slots=False)
class ReplicationDatabaseAuthBasic(Model):
    username: str
    password: str


@attrs.define(slots=False)
class ReplicationDatabaseAuthIam(Model):
    api_key: str


@attrs.define(slots=False)
class ReplicationDatabaseAuth(Model):
    basic: ReplicationDatabaseAuthBasic | None = None
    iam: ReplicationDatabaseAuthIam | None = None


@attrs.define(slots=False)
class ReplicationDatabase(Model):
    """A replication endpoint. ``headers_`` is the JSON ``headers``."""

    url: str
    auth: ReplicationDatabaseAuth | None = None
    headers_: dict[str, str] | None = attrs.field(default=None, metadata=_meta("headers"))


@attrs.define(slots=False)
class ReplicationCreateTargetParameters(Model):
    n: int | None = None
    partitioned: bool | None = None
    q: int | None = None


@attrs.define(slots=False)
class UserContext(Model):
    """``userCtx``: ``name`` is ``null`` for an anonymous session."""

    name: str | None = attrs.field(metadata=_meta(nullable=True))
    db: str | None = None
    roles: list[str] | None = None


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


@attrs.define(slots=False)
class SecurityObject(Model):
    names: list[str] | None = None
    roles: list[str] | None = None


@attrs.define(slots=False)
class Security(Model):
    """A ``_security`` document; ``cloudant`` maps user names to roles."""

    admins: SecurityObject | None = None
    members: SecurityObject | None = None
    cloudant: dict[str, list[str]] | None = None
    couchdb_auth_only: bool | None = None


# -- results --------------------------------------------------------------------------


@attrs.define(slots=False)
class Ok(Model):
    ok: bool | None = None


@attrs.define(slots=False)
class DocumentResult(Model):
    """One write result (``_bulk_docs``, PUT, DELETE) or one error."""

    id: str
    rev: str | None = None
    ok: bool | None = None
    error: str | None = None
    reason: str | None = None
    caused_by: str | None = None
    ref: int | None = None


@attrs.define(slots=False)
class BulkGetResultDocument(Model):
    """One entry of a ``_bulk_get`` result: a document (as a dict) or an error."""

    ok: dict[str, Any] | None = None
    error: DocumentResult | None = None


@attrs.define(slots=False)
class BulkGetResultItem(Model):
    docs: list[BulkGetResultDocument]
    id: str


@attrs.define(slots=False)
class BulkGetResult(Model):
    results: list[BulkGetResultItem]


@attrs.define(slots=False)
class Change(Model):
    rev: str


@attrs.define(slots=False)
class ChangesResultItem(Model):
    """A row of the changes feed. ``seq`` is ``null`` for most rows under
    ``seq_interval``; ``doc`` is the raw document."""

    changes: list[Change]
    id: str
    seq: str | int | None = attrs.field(metadata=_meta(nullable=True))
    deleted: bool | None = None
    doc: dict[str, Any] | None = None


@attrs.define(slots=False)
class ChangesResult(Model):
    last_seq: str | int
    pending: int | None = None
    results: list[ChangesResultItem] = attrs.field(factory=list)


@attrs.define(slots=False)
class DocsResultRowValue(Model):
    rev: str
    deleted: bool | None = None


@attrs.define(slots=False)
class DocsResultRow(Model):
    """A row of ``_all_docs`` / ``_design_docs``; ``error`` rows have no ``id``/``value``."""

    key: str
    id: str | None = None
    value: DocsResultRowValue | None = None
    doc: dict[str, Any] | None = None
    error: str | None = None
    reason: str | None = None
    caused_by: str | None = None
    ref: int | None = None


@attrs.define(slots=False)
class AllDocsResult(Model):
    total_rows: int
    rows: list[DocsResultRow]
    update_seq: str | int | None = None


@attrs.define(slots=False)
class ViewResultRow(Model):
    """A view row; ``key`` and ``value`` are ``null`` in a reduce row, and stay so."""

    key: Any = attrs.field(metadata=_meta(nullable=True))
    value: Any = attrs.field(metadata=_meta(nullable=True))
    id: str | None = None
    doc: dict[str, Any] | None = None
    error: str | None = None
    reason: str | None = None
    caused_by: str | None = None
    ref: int | None = None


@attrs.define(slots=False)
class ViewResult(Model):
    rows: list[ViewResultRow]
    total_rows: int | None = None
    update_seq: str | int | None = None


@attrs.define(slots=False)
class ExecutionStats(Model):
    execution_time_ms: float | None = None
    results_returned: int | None = None
    total_docs_examined: int | None = None
    total_keys_examined: int | None = None
    total_quorum_docs_examined: int | None = None


@attrs.define(slots=False)
class FindResult(Model):
    docs: list[dict[str, Any]]
    bookmark: str | None = None
    execution_stats: ExecutionStats | None = None
    warning: str | None = None


@attrs.define(slots=False)
class SearchResultRow(Model):
    fields: dict[str, Any]
    id: str
    order: list[Any]
    doc: dict[str, Any] | None = None
    highlights: dict[str, list[str]] | None = None


@attrs.define(slots=False)
class SearchResultProperties(Model):
    """A group of a grouped search (``group_field``)."""

    total_rows: int | None = None
    bookmark: str | None = None
    by: str | None = None
    counts: dict[str, dict[str, int]] | None = None
    ranges: dict[str, dict[str, int]] | None = None
    rows: list[SearchResultRow] | None = None


@attrs.define(slots=False)
class SearchResult(Model):
    """A search result; a grouped search has ``groups`` and no ``rows``."""

    total_rows: int
    rows: list[SearchResultRow] | None = None
    bookmark: str | None = None
    by: str | None = None
    counts: dict[str, dict[str, int]] | None = None
    ranges: dict[str, dict[str, int]] | None = None
    groups: list[SearchResultProperties] | None = None


@attrs.define(slots=False)
class IndexResult(Model):
    """The result of ``POST /{db}/_index``."""

    id: str
    name: str
    result: str


@attrs.define(slots=False)
class ContentInformationSizes(Model):
    active: int | None = None
    external: int | None = None
    file: int | None = None


@attrs.define(slots=False)
class DatabaseInformationCluster(Model):
    n: int | None = None
    q: int | None = None
    r: int | None = None
    w: int | None = None


@attrs.define(slots=False)
class DatabaseInformationProps(Model):
    partitioned: bool | None = None


@attrs.define(slots=False)
class DatabaseInformation(Model):
    """``GET /{db}``. Only ``db_name`` is required: PouchDB Server sends far fewer fields
    than CouchDB or Cloudant."""

    db_name: str
    doc_count: int | None = None
    doc_del_count: int | None = None
    update_seq: str | int | None = None
    purge_seq: str | int | None = None
    sizes: ContentInformationSizes | None = None
    props: DatabaseInformationProps | None = None
    cluster: DatabaseInformationCluster | None = None
    compact_running: bool | None = None
    disk_format_version: int | None = None
    instance_start_time: str | None = None
    committed_update_seq: str | int | None = None
    partitioned_indexes: dict[str, Any] | None = None
    engine: str | None = None


@attrs.define(slots=False, init=False)
class ServerVendor(OpenModel):
    name: str | None = None
    variant: str | None = None
    version: str | None = None

    _positional: ClassVar[tuple[str, ...] | None] = ("name", "variant", "version")


@attrs.define(slots=False)
class ServerInformation(Model):
    """``GET /``. Every field is optional: PouchDB Server has no ``couchdb`` welcome and
    sends ``vendor`` only when configured."""

    couchdb: str | None = None
    version: str | None = None
    vendor: ServerVendor | None = None
    features: list[str] | None = None
    features_flags: list[str] | None = None
    uuid: str | None = None


@attrs.define(slots=False)
class SessionAuthenticationInfo(Model):
    authentication_handlers: list[str] | None = None
    authenticated: str | None = None
    authentication_db: str | None = None


@attrs.define(slots=False)
class SessionInformation(Model):
    """``GET /_session``; ``user_ctx`` is the JSON ``userCtx``."""

    ok: bool | None = None
    info: SessionAuthenticationInfo | None = None
    user_ctx: UserContext | None = attrs.field(default=None, metadata=_meta("userCtx"))

"""cloudant_odm: typed documents, a unit-of-work session and queries for Cloudant and
CouchDB, on a complete endpoint client (``cloudant_odm.client``)."""

from cloudant_odm._version import __version__
from cloudant_odm.errors import (
    AcceptedWriteError,
    BulkWriteError,
    DoesNotExist,
    MigrationError,
    MultipleObjectsReturned,
    OdmError,
    SchemaVersionError,
    SessionError,
    WriteFailure,
)
from cloudant_odm.migrations import MigrationReport, migrate
from cloudant_odm.models import (
    Document,
    DocumentDefinitionError,
    DocumentTypeError,
    DocumentValidationError,
    Embedded,
    field,
)
from cloudant_odm.models.versions import migration
from cloudant_odm.query import (
    DocumentsNotFound,
    Field,
    IndexRequiredError,
    InvalidCursorError,
    Manager,
    Page,
    Q,
    QueryError,
    QuerySet,
    QueryWarning,
    col,
    connect,
    current_session,
    disconnect,
    use_session,
)
from cloudant_odm.query.search import SearchGroup, SearchHit, SearchResults
from cloudant_odm.query.views import ViewQuery, ViewRow
from cloudant_odm.schema.declarations import (
    DesignOptions,
    Filter,
    Index,
    SearchIndex,
    ValidateDocUpdate,
    View,
)
from cloudant_odm.session import ObjectState, Session

__all__ = [
    "AcceptedWriteError",
    "BulkWriteError",
    "DesignOptions",
    "Document",
    "DocumentDefinitionError",
    "DocumentTypeError",
    "DocumentValidationError",
    "DocumentsNotFound",
    "DoesNotExist",
    "Embedded",
    "Field",
    "Filter",
    "Index",
    "IndexRequiredError",
    "InvalidCursorError",
    "Manager",
    "MigrationError",
    "MigrationReport",
    "MultipleObjectsReturned",
    "ObjectState",
    "OdmError",
    "Page",
    "Q",
    "QueryError",
    "QuerySet",
    "QueryWarning",
    "SchemaVersionError",
    "SearchGroup",
    "SearchHit",
    "SearchIndex",
    "SearchResults",
    "Session",
    "SessionError",
    "ValidateDocUpdate",
    "View",
    "ViewQuery",
    "ViewRow",
    "WriteFailure",
    "__version__",
    "col",
    "connect",
    "current_session",
    "disconnect",
    "field",
    "migrate",
    "migration",
    "use_session",
]

"""cloudant_odm: typed documents, a unit-of-work session and queries for Cloudant and
CouchDB, on a complete endpoint client (``cloudant_odm.client``)."""

from cloudant_odm._version import __version__
from cloudant_odm.errors import (
    BulkWriteError,
    DoesNotExist,
    MultipleObjectsReturned,
    OdmError,
    SessionError,
    WriteFailure,
)
from cloudant_odm.models import (
    Document,
    DocumentDefinitionError,
    DocumentTypeError,
    DocumentValidationError,
    Embedded,
    field,
)
from cloudant_odm.session import ObjectState, Session

__all__ = [
    "BulkWriteError",
    "Document",
    "DocumentDefinitionError",
    "DocumentTypeError",
    "DocumentValidationError",
    "DoesNotExist",
    "Embedded",
    "MultipleObjectsReturned",
    "ObjectState",
    "OdmError",
    "Session",
    "SessionError",
    "WriteFailure",
    "__version__",
    "field",
]

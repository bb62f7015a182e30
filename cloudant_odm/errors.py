"""Every error of the ODM, in one tree. ``except OdmError`` catches them all::

    OdmError
    ├── DocumentDefinitionError (also TypeError)   a class is declared wrongly
    │   └── DesignDefinitionError                  a view, index, filter ... declared wrongly
    ├── DocumentValidationError (also ValueError)  a value can't be loaded or stored
    │   ├── DocumentTypeError                      the type field is missing or wrong
    │   ├── SchemaVersionError                     a stored schema version the class can't load
    │   └── MigrationError                         an upgrade step failed on a document
    ├── SessionError                               the session used in a way that can't work
    ├── DoesNotExist (also LookupError)            no result where one is needed
    │   ├── DocumentsNotFound                      get_many: some ids not found
    │   └── DanglingReference                      a Ref whose document is missing or deleted
    ├── MultipleObjectsReturned (also LookupError)
    ├── BulkWriteError                             some documents of a flush not written
    ├── AcceptedWriteError                         written to fewer copies than the quorum
    ├── QueryError                                 a query can't run as written
    │   ├── IndexRequiredError                     no index serves the sort
    │   └── InvalidCursorError (also ValueError)   a page cursor this query didn't issue
    └── DeployError                                a deploy could not be completed
        ├── DeployLockedError                      another deploy holds the lock
        ├── DeployConflictError                    a design document changed meanwhile
        └── BuildTimeoutError                      indexes not built within the timeout

Server errors stay the client's ``ApiException`` subclasses (``ConflictError``,
``ForbiddenError``, ...), shaped like the official SDK's, so one ``except`` covers both
layers' HTTP failures; a ``BulkWriteError`` carries them per document.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import attrs

from cloudant_odm.client.errors import ApiException, NotFoundError, exception_class

if TYPE_CHECKING:
    from cloudant_odm.models import Document

__all__ = [
    "AcceptedWriteError",
    "BuildTimeoutError",
    "BulkWriteError",
    "DanglingReference",
    "DeployConflictError",
    "DeployError",
    "DeployLockedError",
    "DesignDefinitionError",
    "DocumentDefinitionError",
    "DocumentTypeError",
    "DocumentValidationError",
    "DocumentsNotFound",
    "DoesNotExist",
    "IndexRequiredError",
    "InvalidCursorError",
    "MigrationError",
    "MultipleObjectsReturned",
    "OdmError",
    "QueryError",
    "SchemaVersionError",
    "SessionError",
    "WriteFailure",
    "document_error",
    "is_missing_document",
    "naming_not_found",
    "not_found",
]

# CouchDB's per-document ``error`` values in a _bulk_docs result -> the HTTP status the
# same error has on a single-document request.
_DOCUMENT_ERROR_STATUS = {
    "bad_request": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "document_too_large": 413,
    "too_large": 413,
}


class OdmError(Exception):
    """Base of the ODM's own errors."""


# -- declaring and converting documents ---------------------------------------------------


class DocumentDefinitionError(OdmError, TypeError):
    """A document class is declared wrongly (a bad ``Meta`` option, a reserved field name, ...).

    Raised when the ``class`` statement runs, so mistakes surface at import time.
    """


class DesignDefinitionError(DocumentDefinitionError):
    """A view, index, filter or design-document option is declared wrongly.

    Raised by the ``class`` statement for mistakes one class shows, and by
    :func:`~cloudant_odm.design.generate` for conflicts between classes.
    """


class DocumentValidationError(OdmError, ValueError):
    """A document could not be loaded from, or dumped to, JSON.

    ``errors`` lists every problem found as ``(path, message)`` pairs; the path uses the
    Python attribute names (``shipping.city``, ``lines[2].qty``, ``prices['EUR']``) and is
    ``""`` for the document itself. ``str()`` gives one line, for example::

        Order 'abc': shipping.city: expected str, got int; total: invalid Decimal 'x'
    """

    def __init__(
        self,
        model: str,
        doc_id: str | None,
        errors: Iterable[tuple[str, str]],
    ) -> None:
        self.model = model
        self.doc_id = doc_id
        self.errors: list[tuple[str, str]] = list(errors)
        super().__init__(self._message())

    def _message(self) -> str:
        subject = self.model if self.doc_id is None else f"{self.model} {self.doc_id!r}"
        problems = "; ".join(f"{path}: {msg}" if path else msg for path, msg in self.errors)
        return f"{subject}: {problems}"

    def __reduce__(self) -> tuple[Any, ...]:
        # Exceptions pickle their args by default; ours has a custom __init__ signature.
        # Members of subclasses (keyword-only arguments) travel as state, into __dict__.
        return (type(self), (self.model, self.doc_id, self.errors), self.__dict__.copy())


class DocumentTypeError(DocumentValidationError):
    """The type field of a JSON document is missing, unknown, or names the wrong class.

    It is a :class:`DocumentValidationError`, so one ``except`` catches every load failure.
    """


class SchemaVersionError(DocumentValidationError):
    """A document's stored schema version is one its class can't load: newer than the
    class (written by newer code: never downgraded), older than its oldest migration,
    or not a version at all. ``stored_version`` is what the document holds (None when
    it holds no version key, an older-than-supported version 1) and
    ``supported_version`` the class's ``Meta.schema_version``."""

    def __init__(
        self,
        model: str,
        doc_id: str | None,
        errors: Iterable[tuple[str, str]],
        *,
        stored_version: Any = None,
        supported_version: int | None = None,
    ) -> None:
        self.stored_version = stored_version
        self.supported_version = supported_version
        super().__init__(model, doc_id, errors)


class MigrationError(DocumentValidationError):
    """An upgrade step (``@migration(from_version)``) raised, or returned something
    other than a dict, while a document was loaded. ``from_version`` is the step's
    version; the step's own exception is ``__cause__``."""

    def __init__(
        self,
        model: str,
        doc_id: str | None,
        errors: Iterable[tuple[str, str]],
        *,
        from_version: int | None = None,
    ) -> None:
        self.from_version = from_version
        super().__init__(model, doc_id, errors)


# -- the session ----------------------------------------------------------------------------


class SessionError(OdmError):
    """The session was used in a way that can't work (two objects for one id, an object
    from another session, a document without a database, ...)."""


class DoesNotExist(OdmError, LookupError):
    """A query that needs exactly one result found none."""


class DocumentsNotFound(DoesNotExist):
    """``get_many`` found no document of the model for some ids; ``missing`` lists them
    in the order asked."""

    def __init__(self, model: str, missing: Sequence[str]) -> None:
        self.missing = list(missing)
        shown = ", ".join(repr(i) for i in self.missing[:10])
        more = f" and {len(self.missing) - 10} more" if len(self.missing) > 10 else ""
        super().__init__(f"no {model} with id {shown}{more}")


class DanglingReference(DoesNotExist):
    """A reference (``Ref``) names a document that is not there: deleted, never stored,
    or marked for deletion in the session. ``model`` is the class referred to (its
    name), ``doc_id`` the id, ``database`` where it was looked for, and ``deleted``
    whether the server keeps a deletion of it."""

    def __init__(self, model: str, doc_id: str, database: str, reason: str, deleted: bool) -> None:
        self.model = model
        self.doc_id = doc_id
        self.database = database
        self.reason = reason
        self.deleted = deleted
        super().__init__(
            f"{model} {doc_id!r} {reason} (database {database!r}): a dangling reference; "
            "ref.get(session, default=None) gives None instead"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            type(self),
            (self.model, self.doc_id, self.database, self.reason, self.deleted),
        )


class MultipleObjectsReturned(OdmError, LookupError):
    """A query that needs exactly one result found more."""


@attrs.frozen(eq=False)
class WriteFailure:
    """One document a bulk write could not store, and why."""

    document: Document
    error: ApiException

    def __str__(self) -> str:
        return f"{type(self.document).__name__} {self.document.id!r}: {self.error.message}"


class BulkWriteError(OdmError):
    """Some documents of a flush were not written. ``failures`` says which and why (each
    ``error`` is the typed exception: ``ConflictError`` carries the revision that was
    sent, ``ForbiddenError`` the reason a ``validate_doc_update`` gave). The documents
    that were written keep their new revisions and are not written again; the failed ones
    stay pending in the session."""

    def __init__(self, failures: Sequence[WriteFailure], written: int) -> None:
        self.failures = list(failures)
        self.written = written
        shown = "; ".join(str(f) for f in self.failures[:5])
        more = f" (and {len(self.failures) - 5} more)" if len(self.failures) > 5 else ""
        super().__init__(
            f"{len(self.failures)} document(s) not written, {written} written: {shown}{more}"
        )

    def __reduce__(self) -> tuple[type[BulkWriteError], tuple[list[WriteFailure], int]]:
        return (type(self), (self.failures, self.written))  # picklable across processes


class AcceptedWriteError(OdmError):
    """A flush whose documents the server only *accepted* (HTTP 202: fewer copies wrote
    them than the write quorum, as on a cluster with nodes down), raised by a session
    made with ``accepted_writes="raise"``. They are stored, have their new revisions and
    are not written again; but they could be lost if the copies holding them fail before
    the others catch up. ``documents`` are the objects, ``ids`` their ids."""

    def __init__(self, documents: Sequence[Any]) -> None:
        self.documents = list(documents)
        self.ids = [str(getattr(d, "id", d)) for d in self.documents]
        shown = ", ".join(repr(i) for i in self.ids[:10])
        more = f" (and {len(self.ids) - 10} more)" if len(self.ids) > 10 else ""
        super().__init__(
            f"{len(self.ids)} document(s) written to fewer copies than the write quorum "
            f"(202 Accepted): {shown}{more}"
        )

    def __reduce__(self) -> tuple[type[AcceptedWriteError], tuple[list[Any]]]:
        return (type(self), (self.documents,))


# -- queries ------------------------------------------------------------------------------


class QueryError(OdmError):
    """A query can't run as written (see the message for what to change)."""


class IndexRequiredError(QueryError):
    """The server has no index that can serve the query's sort. ``fields`` is the index
    to declare (equality-filtered fields first, then the sort fields)."""

    def __init__(self, message: str, fields: Sequence[str]) -> None:
        super().__init__(message)
        self.fields = list(fields)


class InvalidCursorError(QueryError, ValueError):
    """A page cursor that this query did not issue (another query, or tampered with)."""


# -- deploys --------------------------------------------------------------------------------


class DeployError(OdmError):
    """A deploy could not be completed; the message says what was done and what to do.

    A failed deploy never leaves the live design documents half-switched: each one is
    either the old or the new version. Staged ``_NEW`` copies are kept (a later sync
    reuses them, with whatever index they built) and ``rollback`` restores ``_OLD``.
    """


class DeployLockedError(DeployError):
    """Another deploy holds the lock (``holder`` is its lock record)."""

    def __init__(self, message: str, holder: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.holder = dict(holder or {})


class DeployConflictError(DeployError):
    """A design document changed on the server while the deploy ran."""


class BuildTimeoutError(DeployError):
    """Indexes did not finish building within ``timeout``."""


# -- helpers for server errors ---------------------------------------------------------------


def document_error(doc_id: str, sent_rev: str | None, error: str, reason: str) -> ApiException:
    """The typed exception for a per-document error of ``_bulk_docs``."""
    status = _DOCUMENT_ERROR_STATUS.get(error, 500)
    where = f"document {doc_id!r}" + (f" at rev {sent_rev}" if sent_rev else " (new)")
    exc = exception_class(status)(
        status, f"{error}: {reason} ({where})", error=error, reason=reason
    )
    exc.doc_id = doc_id
    exc.rev = sent_rev
    return exc


# The reasons of a 404 that mean the document itself is not there (CouchDB and PouchDB
# alike). Any other 404 reason on a document request is about the database or the
# design document: a missing database ("Database does not exist.", PouchDB's
# "no_db_file") must never read as a missing document.
_MISSING_DOCUMENT = frozenset({"missing", "deleted"})
_MISSING_DATABASE = frozenset({"Database does not exist.", "no_db_file"})


def is_missing_document(exc: NotFoundError) -> bool:
    """Whether a 404 says the document is missing (or deleted) in a database that exists."""
    return exc.reason in _MISSING_DOCUMENT


def not_found(exc: NotFoundError, db: str, doc_id: str | None = None) -> NotFoundError:
    """``exc`` again, with a message that names the database (and the document)."""
    if exc.reason in _MISSING_DATABASE:
        what = f"database {db!r} does not exist"
    elif doc_id is not None and exc.reason in _MISSING_DOCUMENT:
        what = f"document {doc_id!r} not found in database {db!r}"
    else:
        what = f"not found in database {db!r}"
    named = type(exc)(
        exc.status_code,
        f"{what} ({exc.message})",
        exc.http_response,
        error=exc.error,
        reason=exc.reason,
    )
    named.doc_id = doc_id
    named.database = db
    return named


@contextmanager
def naming_not_found(db: str, doc_id: str | None = None) -> Iterator[None]:
    """Re-raise a ``NotFoundError`` from the block with the database (and document) named."""
    try:
        yield
    except NotFoundError as exc:
        if exc.database is not None:
            raise  # named already, by an inner block
        raise not_found(exc, db, doc_id) from exc

"""Errors of the query layer (``DoesNotExist`` and ``MultipleObjectsReturned`` live in
``cloudant_odm.errors``, shared with the session)."""

from __future__ import annotations

from collections.abc import Sequence

from cloudant_odm.errors import DoesNotExist, OdmError

__all__ = ["DocumentsNotFound", "IndexRequiredError", "InvalidCursorError", "QueryError"]


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


class DocumentsNotFound(DoesNotExist):
    """``get_many`` found no document of the model for some ids; ``missing`` lists them
    in the order asked."""

    def __init__(self, model: str, missing: Sequence[str]) -> None:
        self.missing = list(missing)
        shown = ", ".join(repr(i) for i in self.missing[:10])
        more = f" and {len(self.missing) - 10} more" if len(self.missing) > 10 else ""
        super().__init__(f"no {model} with id {shown}{more}")

"""Errors of the query layer, defined with the rest in :mod:`cloudant_odm.errors`."""

from __future__ import annotations

from cloudant_odm.errors import (
    DocumentsNotFound,
    IndexRequiredError,
    InvalidCursorError,
    QueryError,
)

__all__ = ["DocumentsNotFound", "IndexRequiredError", "InvalidCursorError", "QueryError"]

"""Errors raised while declaring, loading and saving documents (defined, with the rest
of the ODM's errors, in :mod:`cloudant_odm.errors`), and the paths their messages use."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from cloudant_odm.errors import (
    DocumentDefinitionError,
    DocumentTypeError,
    DocumentValidationError,
    MigrationError,
    SchemaVersionError,
)

__all__ = [
    "DocumentDefinitionError",
    "DocumentTypeError",
    "DocumentValidationError",
    "MigrationError",
    "SchemaVersionError",
]


def prefixed(prefix: str, errors: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """Re-root ``errors`` found inside a nested value at ``prefix``."""
    return [(join_path(prefix, path), msg) for path, msg in errors]


def join_path(prefix: str, path: str) -> str:
    if not prefix:
        return path
    if not path:
        return prefix
    return prefix + path if path.startswith("[") else f"{prefix}.{path}"


def add_note(exc: BaseException, note: str) -> None:
    """``exc.add_note(note)``, also on Python 3.10."""
    if sys.version_info >= (3, 11):
        exc.add_note(note)
    else:  # pragma: no cover
        exc.__notes__ = [*getattr(exc, "__notes__", []), note]  # type: ignore[attr-defined]

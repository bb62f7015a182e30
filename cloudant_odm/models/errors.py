"""Errors raised while declaring, loading and saving documents."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "DocumentDefinitionError",
    "DocumentTypeError",
    "DocumentValidationError",
]


class DocumentDefinitionError(TypeError):
    """A document class is declared wrongly (a bad ``Meta`` option, a reserved field name, ...).

    Raised when the ``class`` statement runs, so mistakes surface at import time.
    """


class DocumentValidationError(ValueError):
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
        return (type(self), (self.model, self.doc_id, self.errors))


class DocumentTypeError(DocumentValidationError):
    """The type field of a JSON document is missing, unknown, or names the wrong class.

    It is a :class:`DocumentValidationError`, so one ``except`` catches every load failure.
    """


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

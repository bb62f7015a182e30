"""Turning JSON from the server into documents: through the session's identity map,
detached, or as partial objects (``QuerySet.fields``).

The query layer reaches into the session's identity map here, and only here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from cloudant_odm.models import Document, from_json
from cloudant_odm.models.conversion import partial_from_json
from cloudant_odm.models.document import NOT_LOADED, PARTIAL
from cloudant_odm.session import ObjectState, Session

__all__ = ["NOT_LOADED", "is_partial", "load", "load_partial", "loaded_fields"]

D = TypeVar("D", bound=Document)


def is_partial(obj: Document) -> bool:
    """True for an object loaded with only some of its fields (``QuerySet.fields``)."""
    return PARTIAL in obj.__dict__


def loaded_fields(obj: Document) -> frozenset[str] | None:
    """The fields a partial object holds, or None for a whole document."""
    found: frozenset[str] | None = obj.__dict__.get(PARTIAL)
    return found


def known(session: Session, db: str, doc_id: str) -> Document | None:
    """The session's object for an id, without a request (None if it holds none, or
    holds it deleted)."""
    obj = session.held(db, doc_id)
    if obj is None or session.state_of(obj) is ObjectState.DELETED:
        return None
    return obj


def unwritten(session: Session, db: str, ids: Iterable[str]) -> list[str]:
    """The ids among ``ids`` whose object in the session has changes not yet written
    (new, changed or marked for deletion)."""
    found = []
    for doc_id in ids:
        obj = session.held(db, doc_id)
        if obj is not None and (
            session.state_of(obj) is not ObjectState.PERSISTENT or session.is_modified(obj)
        ):
            found.append(doc_id)
    return found


def is_of(model: type[Document], data: Mapping[str, Any], doc_types: frozenset[str]) -> bool:
    """The JSON document is one of ``model``'s (its type field names the model or a
    subclass)."""
    return data.get(model._options.type_field) in doc_types


def load(model: type[D], session: Session, db: str, data: Mapping[str, Any], track: bool) -> D:
    """A whole document: the identity map's object when ``track``, else a detached one."""
    if track:
        return session.load_json(model, db, dict(data))
    return from_json(data, model)


def load_partial(model: type[D], data: Mapping[str, Any], names: Iterable[str]) -> D:
    """An object holding only the fields ``names`` (and id and rev); the others are
    :data:`NOT_LOADED`. It can't be added to a session."""
    return partial_from_json(data, model, names)

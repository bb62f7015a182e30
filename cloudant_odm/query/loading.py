"""Turning JSON from the server into documents: through the session's identity map,
detached, or as partial objects (``QuerySet.fields``).

The query layer reaches into the session's identity map here, and only here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from cloudant_odm.client.flows import Flow, Send, run
from cloudant_odm.errors import naming_not_found
from cloudant_odm.models import Document, from_json
from cloudant_odm.models.conversion import document_loader, partial_from_json
from cloudant_odm.models.document import NOT_LOADED, is_partial, loaded_fields
from cloudant_odm.models.errors import DocumentTypeError
from cloudant_odm.models.registry import registry
from cloudant_odm.models.versions import needs_upgrade
from cloudant_odm.session import BaseSession, ObjectState, Session

__all__ = [
    "NOT_LOADED",
    "is_partial",
    "load",
    "load_all",
    "load_partial",
    "load_partials",
    "load_partials_flow",
    "loaded_fields",
    "of_model",
    "version_keys",
]

D = TypeVar("D", bound=Document)


def known(session: BaseSession[Any], db: str, doc_id: str) -> Document | None:
    """The session's object for an id, without a request (None if it holds none, or
    holds it deleted)."""
    obj = session.held(db, doc_id)
    if obj is None or session.state_of(obj) is ObjectState.DELETED:
        return None
    return obj


def unwritten(session: BaseSession[Any], db: str, ids: Iterable[str]) -> list[str]:
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


def of_model(
    model: type[Document], docs: Iterable[dict[str, Any] | None], doc_types: frozenset[str]
) -> list[dict[str, Any]]:
    """The documents of ``docs`` that are ``model``'s (:func:`is_of` for a page's rows
    at once: a full scan tests every row), leaving out Nones and empty ones."""
    type_field = model._options.type_field
    return [d for d in docs if d and d.get(type_field) in doc_types]


def load(
    model: type[D],
    session: BaseSession[Any],
    db: str,
    data: Mapping[str, Any],
    track: bool,
    loader: Callable[[Mapping[str, Any], type[D]], D] | None = None,
) -> D | None:
    """A whole document: the identity map's object when ``track``, else a detached one;
    None for one the session holds marked for deletion (gone once it flushes, as
    ``Session.get`` and ``get_many`` already say). ``loader``: ``model``'s, taken for a
    page (``document_loader``)."""
    if track:
        doc = data if data.__class__ is dict else dict(data)
        return session._load_json(model, db, doc, skip_deleted=True, load=loader)
    return from_json(data, model) if loader is None else loader(data, model)


def load_all(
    model: type[D],
    session: BaseSession[Any],
    db: str,
    docs: Iterable[Mapping[str, Any]],
    track: bool,
) -> list[D]:
    """:func:`load` of each of a page's documents, leaving out the Nones."""
    # The class's loader taken once for the page, not dispatched per document.
    loader = document_loader(model)
    if track:
        found = (load(model, session, db, d, True, loader) for d in docs)
        return [obj for obj in found if obj is not None]
    return [loader(d, model) for d in docs]


def load_partial(model: type[D], data: Mapping[str, Any], names: Iterable[str]) -> D:
    """An object holding only the fields ``names`` (and id and rev); the others are
    :data:`NOT_LOADED`. It can't be added to a session."""
    return partial_from_json(data, model, names)


def load_partials_flow(
    model: type[D],
    session: BaseSession[Any],
    db: str,
    docs: Sequence[Mapping[str, Any]],
    names: Iterable[str],
) -> Flow[list[D]]:
    """Partial objects of a page, as a flow. A document stored at an older schema
    version is read whole first (one ``_all_docs`` request for the page's such
    documents): its steps need the whole JSON, and the fields asked for may exist only
    after them."""
    wanted = list(names)
    older = [str(d.get("_id")) for d in docs if _needs_upgrade(model, d)] if docs else []
    if older:
        with naming_not_found(db):
            result = yield Send("post_all_docs", db, keys=older, include_docs=True)
        whole = {r["id"]: r["doc"] for r in result.get_result()["rows"] if r.get("doc")}
        # A document deleted since the page was read is not in the page any more: its
        # partial JSON can't be upgraded, and it no longer exists.
        gone = {i for i in older if i not in whole}
        docs = [whole.get(str(d.get("_id")), d) for d in docs if str(d.get("_id")) not in gone]
    return [partial_from_json(d, model, wanted) for d in docs]


def load_partials(
    model: type[D],
    session: Session,
    db: str,
    docs: Sequence[Mapping[str, Any]],
    names: Iterable[str],
) -> list[D]:
    """:func:`load_partials_flow` run with ``session``'s client."""
    return run(load_partials_flow(model, session, db, docs, names), session.client)


def version_keys(model: type[Document]) -> list[str]:
    """The schema version keys of ``model`` and its registered subclasses that are
    versioned (what a partial query fetches besides the fields asked for)."""
    found = {
        cls._options.schema_version_key
        for cls in (model, *registry.classes())
        if issubclass(cls, model) and cls._options.schema_version is not None
    }
    return sorted(found)


def _needs_upgrade(model: type[Document], data: Mapping[str, Any]) -> bool:
    try:
        resolved = registry.resolve(data, model)
    except DocumentTypeError:
        return False  # partial_from_json says what is wrong with it
    return needs_upgrade(resolved, data)

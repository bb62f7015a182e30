"""Turning JSON from the server into documents: through the session's identity map,
detached, or as partial objects (``QuerySet.fields``).

The query layer reaches into the session's identity map here, and only here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from typing import Any, NoReturn, TypeVar

import attrs

from cloudant_odm.models import Document, from_json
from cloudant_odm.models.conversion import converter, policy_for
from cloudant_odm.models.document import PARTIAL
from cloudant_odm.models.meta import EMPTY_META
from cloudant_odm.models.options import DOCUMENT_KEYS
from cloudant_odm.models.registry import registry
from cloudant_odm.session import ObjectState, Session

__all__ = ["NOT_LOADED", "is_partial", "load", "load_partial", "loaded_fields"]

D = TypeVar("D", bound=Document)


class _NotLoaded:
    """The value of a field a partial object was not loaded with.

    It shows in ``repr`` and refuses to be used as a value, so code that reads such a
    field fails with a message instead of computing with a placeholder."""

    __slots__ = ()
    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "<not loaded>"

    def _fail(self, *_: object, **__: object) -> NoReturn:
        raise AttributeError(
            "this field was not loaded: the object is partial (QuerySet.fields(...)); "
            "query without fields() to get whole documents"
        )

    def __getattr__(self, name: str) -> NoReturn:
        self._fail()

    __bool__ = __str__ = __len__ = __iter__ = __eq__ = __ne__ = _fail
    __lt__ = __le__ = __gt__ = __ge__ = _fail
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _fail
    __truediv__ = __rtruediv__ = __getitem__ = __contains__ = __float__ = __int__ = _fail


NOT_LOADED: Any = _NotLoaded()


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
    resolved = registry.resolve(data, model)
    cls: type = resolved  # an attrs class
    with contextlib.suppress(Exception):  # unresolvable annotations: cattrs reports them
        attrs.resolve_types(cls)
    wanted = set(names)
    values: dict[str, Any] = {}
    keys = resolved._options.json_keys
    with policy_for(cls):
        for attribute in attrs.fields(cls):
            name = attribute.name
            key = keys.get(name)
            if name in DOCUMENT_KEYS:  # id and rev, always there
                values[name] = data.get(DOCUMENT_KEYS[name])
            elif name == "extra":
                values[name] = {}
            elif name == "meta":
                values[name] = EMPTY_META
            elif name in wanted and key is not None and key in data:
                values[name] = converter.structure(data[key], attribute.type)
            else:
                values[name] = NOT_LOADED
    obj: D = object.__new__(cls)
    # Bypass __init__ (and its validators): the missing fields are placeholders.
    obj.__dict__.update(values)
    obj.__dict__[PARTIAL] = frozenset(n for n, v in values.items() if v is not NOT_LOADED)
    return obj

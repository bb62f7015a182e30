"""``QuerySet.prefetch(Order.customer)``: which reference fields to follow, and the
references a page of results holds there.

A path is a tuple of attribute names from the queried class to a field whose type is
``Ref[X]``, ``Ref[X] | None`` or a list of them; it may pass through nested objects and
through lists of them (``"lines__product"``: the ``product`` of every element of
``lines``). Reading the documents the references name is the session's
(:meth:`~cloudant_odm.session.Session.prefetch`): one ``_all_docs`` request per class
referred to, per page.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

import attrs

from cloudant_odm._typing import SEQUENCE_ORIGINS, origin, strip_optional
from cloudant_odm.models import Document
from cloudant_odm.models.checks import type_name
from cloudant_odm.models.refs import Ref, ref_targets
from cloudant_odm.query.errors import QueryError
from cloudant_odm.query.expressions import Field, check_model

__all__ = ["Path", "collect_refs", "prefetch_path"]

#: Attribute names from a document to a reference field.
Path = tuple[str, ...]


def _items(tp: Any) -> Any:
    """The type of the values a field of type ``tp`` holds, through ``| None`` and
    lists (``Line`` for ``list[Line] | None``)."""
    while True:
        tp = strip_optional(tp)
        if origin(tp) not in SEQUENCE_ORIGINS:
            return tp
        args = getattr(tp, "__args__", ())
        tp = args[0] if args else Any


def _member_type(owner: Any, name: str) -> Any:
    if not (isinstance(owner, type) and attrs.has(owner)):
        return None
    with contextlib.suppress(Exception):  # unresolvable annotations: reported on load
        attrs.resolve_types(owner)
    found = attrs.fields_dict(owner).get(name)
    if found is None or (issubclass(owner, Document) and name in ("extra", "meta")):
        return None
    return found.type


def prefetch_path(model: type[Document], item: Field[Any] | str) -> Path:
    """The path ``item`` (``Order.customer``, ``Order.shipping.contact`` or
    ``"lines__product"``) stands for; refused unless it ends at a reference field."""
    if isinstance(item, Field):
        if item._relative or not item._names or item._indexed:
            raise QueryError(
                f"prefetch() takes a field of {model.__name__} such as {model.__name__}."
                f"<field>, not {item._display}; for references inside list elements, "
                "name the path: prefetch('lines__product')"
            )
        check_model(item, model)
        names: Path = item._names
    elif isinstance(item, str) and item:
        names = tuple(item.split("__"))
    else:
        raise TypeError(f"prefetch() takes reference fields or their names, got {item!r}")
    where = model.__name__
    tp: Any = model
    for name in names:
        member = _member_type(_items(tp), name)
        if member is None:
            raise QueryError(f"{where} has no field {name!r} (prefetch({item!r}))")
        where, tp = f"{where}.{name}", member
    if not ref_targets(tp):
        raise QueryError(
            f"prefetch() follows reference fields (Ref[...]); {where} is {type_name(tp)}"
        )
    return names


def collect_refs(objects: Iterable[Any], paths: Iterable[Path]) -> list[Ref[Document]]:
    """Every reference found at ``paths`` in ``objects`` (None and empty lists skipped)."""
    found: list[Ref[Document]] = []
    for path in paths:
        for obj in objects:
            _walk(obj, path, 0, found)
    return found


def _walk(value: Any, path: Path, depth: int, found: list[Ref[Document]]) -> None:
    if value is None:
        return
    if isinstance(value, (list, tuple)):
        for item in value:
            _walk(item, path, depth, found)
    elif depth == len(path):
        if value.__class__ is Ref:
            found.append(value)
    else:
        _walk(getattr(value, path[depth], None), path, depth + 1, found)

"""Reading type annotations: the few helpers the client models, the converter, the
write checks and the query expressions all need, written once."""

from __future__ import annotations

import types
from collections.abc import MutableSequence, Sequence
from typing import Annotated, Any, Literal, Union, get_args, get_origin

__all__ = ["SEQUENCE_ORIGINS", "origin", "strip_optional", "type_name", "union_members"]

#: The origins of the list-like types a field may hold items in (``list[X]``,
#: ``tuple[X, ...]``, ``Sequence[X]``).
SEQUENCE_ORIGINS = (list, tuple, Sequence, MutableSequence)


def origin(tp: Any) -> Any:
    """``list`` for ``list[int]``; a type without parameters as it is."""
    return get_origin(tp) or tp


def union_members(tp: Any) -> list[Any] | None:
    """The members of a union other than None (``[A, B]`` for ``A | B | None``), or None
    when ``tp`` is not a union."""
    if get_origin(tp) is not Union and not isinstance(tp, types.UnionType):
        return None
    return [a for a in get_args(tp) if a is not type(None)]


def strip_optional(tp: Any) -> Any:
    """``X | None`` -> ``X``; any other type as it is."""
    members = union_members(tp)
    return members[0] if members is not None and len(members) == 1 else tp


def type_name(tp: Any) -> str:
    """``list[str]``, ``Decimal | None``, ``Literal['a', 'b']``: a type as people write it."""
    if tp is Any:
        return "Any"
    if tp is None or tp is type(None):
        return "None"
    origin = get_origin(tp)
    if origin is Annotated:
        return type_name(get_args(tp)[0])
    if origin is Union or isinstance(tp, types.UnionType):
        return " | ".join(type_name(a) for a in get_args(tp))
    if origin is Literal:
        return f"Literal[{', '.join(repr(a) for a in get_args(tp))}]"
    if origin is not None:
        args = get_args(tp)
        base = getattr(origin, "__name__", repr(origin))
        if not args:
            return str(base)
        return f"{base}[{', '.join('...' if a is Ellipsis else type_name(a) for a in args)}]"
    if isinstance(tp, type):
        return tp.__name__
    return repr(tp)

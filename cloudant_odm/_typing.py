"""Reading type annotations: the few helpers the client models, the converter, the
write checks and the query expressions all need, written once."""

from __future__ import annotations

import types
from collections.abc import MutableSequence, Sequence
from typing import Any, Union, get_args, get_origin

__all__ = ["SEQUENCE_ORIGINS", "origin", "strip_optional", "union_members"]

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

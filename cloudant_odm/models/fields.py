"""``field()``: declare a document attribute with a default, a validator or a JSON key."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import date, time
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any, Literal, TypeVar, get_args, get_origin, overload
from uuid import UUID

import attrs

from cloudant_odm._typing import type_name, union_members
from cloudant_odm.models.errors import DocumentDefinitionError, add_note
from cloudant_odm.models.refs import is_ref_type

if TYPE_CHECKING:
    from attrs import Attribute

__all__ = [
    "DecimalStorage",
    "check_decimal_storage",
    "decimal_storage",
    "field",
    "json_key",
    "refuse_ambiguous_unions",
    "refuse_shared_keys",
]

_T = TypeVar("_T")

# Where the JSON key is kept in attrs metadata; namespaced so it can't clash with the user's.
KEY = "cloudant_odm.key"
# Where a Decimal field's storage options are kept (field(places=..., as_string=...)).
DECIMAL = "cloudant_odm.decimal"


class DecimalStorage:
    """How a ``Decimal`` field is stored: ``field(places=2)``, ``field(as_string=True)``."""

    __slots__ = ("as_string", "places", "quantum")

    def __init__(self, places: int | None, as_string: bool) -> None:
        self.places = places
        self.as_string = as_string
        #: ``Decimal("0.01")`` for two places: what values are quantized to on load.
        self.quantum = Decimal(1).scaleb(-places) if places is not None else None

    def __repr__(self) -> str:
        return f"DecimalStorage(places={self.places!r}, as_string={self.as_string!r})"


Validator = Callable[[Any, "Attribute[Any]", Any], Any]


class FieldNote(str):
    """Exception note naming the field whose validator failed.

    attrs runs validators inside ``__init__``, after cattrs has lost track of which field it
    was structuring; the note lets validation errors still point at the field.
    """

    name: str

    def __new__(cls, name: str) -> FieldNote:
        note = super().__new__(cls, f"while validating field {name!r}")
        note.name = name
        return note


def _noted(validator: Validator) -> Validator:
    def check(instance: Any, attribute: Attribute[Any], value: Any) -> None:
        try:
            validator(instance, attribute, value)
        except (ValueError, TypeError) as exc:
            add_note(exc, FieldNote(attribute.name))
            raise

    return check


@overload
def field(
    *,
    default: None = ...,
    validator: Validator | list[Validator] | None = ...,
    key: str | None = ...,
    places: int | None = ...,
    as_string: bool = ...,
    repr: bool = ...,
    eq: bool = ...,
    metadata: Mapping[Any, Any] | None = ...,
) -> Any: ...


@overload
def field(
    *,
    default: _T,
    validator: Validator | list[Validator] | None = ...,
    key: str | None = ...,
    places: int | None = ...,
    as_string: bool = ...,
    repr: bool = ...,
    eq: bool = ...,
    metadata: Mapping[Any, Any] | None = ...,
) -> _T: ...


@overload
def field(
    *,
    factory: Callable[[], _T],
    validator: Validator | list[Validator] | None = ...,
    key: str | None = ...,
    places: int | None = ...,
    as_string: bool = ...,
    repr: bool = ...,
    eq: bool = ...,
    metadata: Mapping[Any, Any] | None = ...,
) -> _T: ...


def field(
    *,
    default: Any = attrs.NOTHING,
    factory: Callable[[], Any] | None = None,
    validator: Validator | list[Validator] | None = None,
    key: str | None = None,
    places: int | None = None,
    as_string: bool = False,
    repr: bool = True,
    eq: bool = True,
    metadata: Mapping[Any, Any] | None = None,
) -> Any:
    """Declare a field of a :class:`Document` or :class:`Embedded` class.

    :param default: the value used when the argument (or the JSON key) is missing.
    :param factory: called to make a fresh default (``factory=list``), for mutable values.
    :param validator: an attrs validator ``(instance, attribute, value)`` or a list of
        them; runs on construction, on load and on assignment.
    :param key: the JSON key when it differs from the attribute name
        (``key="createdAt"``). It is not called ``alias`` because type checkers read
        ``alias`` as the ``__init__`` parameter name (PEP 681).
    :param places: for a ``Decimal`` field, the number of decimal places it holds
        (``places=2`` for money): a value with more is refused on save, values are
        quantized to it on load (``9.5`` stored loads as ``Decimal("9.50")``), and so are
        the sums a view returns over the field.
    :param as_string: for a ``Decimal`` field, store it as a JSON string instead of a
        number: exact to any number of digits, but the server can't compare it as a
        number, so range queries and sorting on the field are refused.
    :param repr: include the field in ``repr()``.
    :param eq: compare the field in ``==``.
    :param metadata: extra attrs metadata, for your own tools.
    """
    if default is not attrs.NOTHING and factory is not None:
        raise TypeError("field() takes either default= or factory=, not both")
    if key is not None and (not isinstance(key, str) or not key):
        raise TypeError(f"field(key=...) must be a non-empty string, got {key!r}")
    meta = dict(metadata or {})
    if key is not None:
        meta[KEY] = key
    if places is not None and (
        not isinstance(places, int) or isinstance(places, bool) or not 0 <= places <= 30
    ):
        raise TypeError(f"field(places=...) must be an int from 0 to 30, got {places!r}")
    if places is not None or as_string:
        meta[DECIMAL] = DecimalStorage(places, bool(as_string))
    if isinstance(validator, list):
        validator = attrs.validators.and_(*validator)
    return attrs.field(
        default=default,
        factory=factory,
        validator=None if validator is None else _noted(validator),
        repr=repr,
        eq=eq,
        metadata=meta,
    )


def json_key(attribute: Attribute[Any]) -> str:
    """The JSON key an attrs attribute is stored under."""
    key: str = attribute.metadata.get(KEY, attribute.name)
    return key


def refuse_shared_keys(cls: type, keys: Mapping[str, str]) -> None:
    """Refuse two fields of ``cls`` stored under one JSON key (``keys``: attribute ->
    key): one value would overwrite the other on save."""
    by_key: dict[str, str] = {}
    for name, key in keys.items():
        if key in by_key:
            raise DocumentDefinitionError(
                f"{cls.__name__}: fields {by_key[key]!r} and {name!r} both use the JSON key {key!r}"
            )
        by_key[key] = name


def decimal_storage(attribute: Attribute[Any]) -> DecimalStorage | None:
    """The ``places`` / ``as_string`` options of a Decimal field, or None."""
    found: DecimalStorage | None = attribute.metadata.get(DECIMAL)
    return found


def check_decimal_storage(cls: type, attribute: Attribute[Any]) -> DecimalStorage | None:
    """The field's Decimal options, refused on a field that is not ``Decimal`` or
    ``Decimal | None``. A string annotation (not resolved yet) passes here; the converter
    calls this again once it has resolved the types."""
    storage = decimal_storage(attribute)
    tp = attribute.type
    if storage is None or tp is None or isinstance(tp, str):
        return storage
    if tp is not Decimal and set(get_args(tp)) != {Decimal, type(None)}:
        raise DocumentDefinitionError(
            f"{cls.__qualname__}.{attribute.name}: field(places=..., as_string=...) applies "
            f"to Decimal fields, not {getattr(tp, '__name__', tp)}"
        )
    return storage


#: What the converter stores as a JSON string (subclasses too: ``datetime`` is a
#: ``date``, a str Enum a ``str``); bytes as base64 text.
_TEXT_TYPES = (str, date, time, UUID, bytes)


def _stored_as_text(tp: Any) -> bool:
    if is_ref_type(tp):  # stored as the id
        return True
    if not isinstance(tp, type):
        return False
    if issubclass(tp, Enum):  # stored as its value
        return any(isinstance(member.value, str) for member in tp)
    return issubclass(tp, _TEXT_TYPES)


def _unions_in(tp: Any) -> Iterator[Any]:
    """``tp`` if it is a union, and every union among its type arguments."""
    if union_members(tp) is not None:
        yield tp
    if get_origin(tp) is Literal:  # its arguments are values
        return
    for argument in get_args(tp):
        yield from _unions_in(argument)


def refuse_ambiguous_unions(cls: type, attribute: Attribute[Any]) -> None:
    """Refuse a union (anywhere in the field's type) of more than one type stored as a
    JSON string: the stored text can't say which it was (a ``datetime | str`` would load
    back as the str). A string annotation (not resolved yet) passes here; the converter
    calls this again once it has resolved the types."""
    tp = attribute.type
    if tp is None or isinstance(tp, str):
        return
    for union in _unions_in(tp):
        texts = [type_name(m) for m in union_members(union) or () if _stored_as_text(m)]
        if len(texts) > 1:
            raise DocumentDefinitionError(
                f"{cls.__qualname__}.{attribute.name}: in {type_name(union)}, "
                f"{' and '.join(texts)} are {'both' if len(texts) == 2 else 'all'} stored as "
                "JSON strings, which can't say which of them a value was: it could load back "
                "as another. Use separate fields, "
                "or Embedded classes told apart by a tag (register_tagged_union)"
            )

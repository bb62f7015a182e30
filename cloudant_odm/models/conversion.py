"""The one cattrs converter between documents and CouchDB JSON, and its hooks.

Per class, cattrs generates a specialised function once (``make_dict_structure_fn`` /
``make_dict_unstructure_fn``) and caches it in its dispatch table; registering a hook
clears that cache, so later loads regenerate with the new hook. Nothing here reflects on
a class per call.

Loading is strict about JSON types (a str field refuses ``5``, a list field refuses
``"abc"``) so that bad data is reported, with its path, instead of being coerced.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import weakref
from collections.abc import (
    Callable,
    Iterable,
    Iterator,
    Mapping,
    MutableMapping,
    MutableSequence,
    MutableSet,
    Sequence,
)
from collections.abc import Set as AbstractSet
from contextvars import ContextVar
from datetime import date, datetime, time, timezone
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any, Literal, NoReturn, TypeVar, Union, cast, get_args, get_origin, overload
from uuid import UUID

import attrs
import cattrs
from cattrs.errors import (
    AttributeValidationNote,
    BaseValidationError,
    CattrsError,
    ForbiddenExtraKeysError,
    IterableValidationError,
    IterableValidationNote,
)
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override
from cattrs.strategies import configure_union_passthrough

from cloudant_odm._typing import origin, union_members
from cloudant_odm.client.encoding import canonical
from cloudant_odm.models.checks import (
    attribute_checker,
    check_registered,
    class_checker,
    decimal_as_number,
    decimal_errors,
    describe,
    encodes,
    holds_lone_surrogate,
    parse_datetime,
)
from cloudant_odm.models.codecs import (
    ClassHooks,
    Encoder,
    FieldHooks,
    Hooks,
    compile_dumper,
    compile_encoder,
    compile_loader,
)
from cloudant_odm.models.document import NOT_LOADED, PARTIAL, Document, Embedded, _Model
from cloudant_odm.models.errors import (
    DocumentDefinitionError,
    DocumentValidationError,
    add_note,
    join_path,
    prefixed,
)
from cloudant_odm.models.fields import (
    DecimalStorage,
    FieldNote,
    check_decimal_storage,
    decimal_storage,
    json_key,
    refuse_ambiguous_unions,
    refuse_shared_keys,
)
from cloudant_odm.models.meta import EMPTY_META, META_KEYS, DocumentMeta
from cloudant_odm.models.options import DOCUMENT_KEYS
from cloudant_odm.models.refs import Ref, dump_ref, is_ref_type, ref_loader
from cloudant_odm.models.registry import registry
from cloudant_odm.models.versions import upgrade

__all__ = [
    "converter",
    "from_json",
    "partial_from_json",
    "policy_for",
    "register_tagged_union",
    "register_type",
    "to_json",
]

T = TypeVar("T")
D = TypeVar("D", bound=Document)
H = TypeVar("H", bound=Callable[..., Any])

StructureHook = Callable[[Any, Any], Any]
UnstructureHook = Callable[[Any], Any]


# --- the policy in force while a document is loaded or dumped --------------------------


@attrs.frozen
class _Policy:
    allow_naive_datetime: bool = False
    drop_unknown: bool = False


_STRICT = _Policy()
# Hooks for nested values (a datetime, a plain attrs class) are shared by every document
# class, so the options of the document being converted reach them through this variable.
# It is read only on the rare path (a naive datetime, an unknown key).
_policy: ContextVar[_Policy] = ContextVar("cloudant_odm_policy", default=_STRICT)


#: The hooks the converter makes itself. A type converted by these alone (none registered
#: for it since) is converted inline by the compiled codecs, which follow these hooks.
_BUILTIN_HOOKS: weakref.WeakSet[Callable[..., Any]] = weakref.WeakSet()


def _builtin(hook: H) -> H:
    _BUILTIN_HOOKS.add(hook)
    return hook


def _converts_builtin(tp: Any) -> bool:
    """Whether the converter loads and dumps ``tp`` with hooks of its own making."""
    try:
        return (
            converter.get_structure_hook(tp) in _BUILTIN_HOOKS
            and converter.get_unstructure_hook(tp) in _BUILTIN_HOOKS
        )
    except RecursionError:  # a class that holds itself
        return False


def _type_name(value: Any) -> str:
    return "None" if value is None else type(value).__name__


# --- scalars ---------------------------------------------------------------------------


# The str, int and float hooks also receive subclasses of their type (cattrs dispatches
# on the MRO): str- and int-valued Enums, and classes like `class UserId(str)`.


def _load_str(value: Any, tp: Any) -> Any:
    if tp is not str:
        return _load_subclass(value, tp, str)
    if isinstance(value, str):
        return value
    raise TypeError(f"expected str, got {_type_name(value)}")


def _load_int(value: Any, tp: Any) -> Any:
    if tp is not int:
        return _load_subclass(value, tp, int)
    if value.__class__ is int:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        # Some JSON writers emit 3.0 for 3.
        return int(value)
    raise TypeError(f"expected int, got {_type_name(value)}")


def _load_float(value: Any, tp: Any) -> Any:
    if tp is not float:
        return _load_subclass(value, tp, float)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return _int_as_float(value)
    raise TypeError(f"expected float, got {_type_name(value)}")


def _int_as_float(value: int) -> float:
    """A JSON integer in a float field, loaded only when it is a double's own value: the
    double's exact value, or its shortest form as JavaScript writes a large one (1e19 as
    10000000000000000000, 6.909734842321921e16 as 69097348423219210). Another one would
    be read rounded, and written back so."""
    try:
        number = float(value)
    except OverflowError:
        problem = "is beyond the largest float"
    else:
        # (decimal_as_number: whether it is the double's shortest form, as for a Decimal)
        if number == value or decimal_as_number(Decimal(value)) is not None:
            return number
        problem = f"is not held exactly by a float (it would read as {number!r}, and be saved so)"
    raise ValueError(
        f"{describe(int(value))} {problem}; declare the field int or Decimal to keep it exact"
    )


def _load_bool(value: Any, _: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise TypeError(f"expected bool, got {_type_name(value)}")


def _load_subclass(value: Any, tp: Any, base: type) -> Any:
    if isinstance(tp, type) and issubclass(tp, Enum):
        return _load_enum(value, tp)
    return tp(_BASE_LOADERS[base](value, base))


def _dump_enum(value: Enum) -> Any:
    return value.value


_str_enums: set[type] = set()


def _register_str_enums(tp: Any) -> None:
    """Dump str-valued Enums found in ``tp`` as their value.

    cattrs dispatches on the MRO, where ``str`` (passed through as is) comes before
    ``Enum``; a hook for ``str`` itself would cost every str field a call, so each
    such Enum gets its own hook instead, when a class using it is first converted.
    """
    if isinstance(tp, type) and issubclass(tp, Enum) and issubclass(tp, str):
        if tp not in _str_enums:
            _str_enums.add(tp)
            converter.register_unstructure_hook(tp, _dump_enum)
        return
    for arg in get_args(tp):
        if isinstance(arg, Enum):  # Literal[Color.RED]
            arg = type(arg)
        _register_str_enums(arg)


def _load_enum(value: Any, tp: type[Enum]) -> Enum:
    try:
        return tp(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a valid {tp.__name__}") from None


@_builtin
def _load_decimal(value: Any, _: Any) -> Decimal:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # How we store them: JSON numbers. repr() of a float is its shortest exact
        # decimal form: 0.1 -> Decimal('0.1'), not 0.1000000000000000055...
        number = Decimal(repr(value) if isinstance(value, float) else value)
    elif isinstance(value, str):
        # Written as text by earlier versions, or by a field(as_string=True).
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise ValueError(f"invalid Decimal {value!r}") from None
    else:
        raise TypeError(f"expected a number or a decimal string, got {_type_name(value)}")
    if number.is_finite():
        return number
    raise ValueError(f"invalid Decimal {value!r}: not a finite number")


@_builtin
def _dump_decimal(value: Decimal) -> int | float:
    number = decimal_as_number(value)
    if number is None:
        # Only reached past the write checks (a Decimal inside an Any value, say).
        errors = decimal_errors(value, None) or [("", f"can't store Decimal {value}")]
        raise ValueError(errors[0][1])
    return number


def _decimal_hooks(
    cls: type, attribute: attrs.Attribute[Any], storage: DecimalStorage
) -> tuple[StructureHook, UnstructureHook]:
    """Load and dump hooks for a Decimal field declared with ``places`` / ``as_string``."""
    check_decimal_storage(cls, attribute)  # again: a string annotation is resolved now
    quantum = storage.quantum
    places = storage.places

    def load_decimal_field(value: Any, tp: Any) -> Any:
        if value is None and tp is not Decimal:
            return None
        number = _load_decimal(value, Decimal)
        if quantum is None:
            return number
        try:
            exact = number.quantize(quantum)
        except InvalidOperation:
            exact = None
        if exact is None or exact != number:
            raise ValueError(f"{value!r} has more than {places} decimal places")
        return exact

    def dump_decimal_field(value: Any) -> Any:
        if value is None:
            return None
        return str(value) if storage.as_string else _dump_decimal(value)

    return load_decimal_field, dump_decimal_field


def _naive(kind: str, text: str) -> ValueError:
    return ValueError(
        f"naive {kind} {text!r} has no UTC offset; give it a timezone, or set "
        "allow_naive_datetime=True on the document class to accept naive values"
    )


@_builtin
def _load_datetime(value: Any, _: Any) -> datetime:
    if not isinstance(value, str):
        raise TypeError(f"expected an ISO 8601 datetime string, got {_type_name(value)}")
    try:
        moment = parse_datetime(value)
    except ValueError:
        raise ValueError(f"invalid ISO 8601 datetime {value!r}") from None
    if moment.tzinfo is None and not _policy.get().allow_naive_datetime:
        raise _naive("datetime", value)
    return moment


@_builtin
def _dump_datetime(value: datetime) -> str:
    offset = value.utcoffset()
    if offset is None:
        if not _policy.get().allow_naive_datetime:
            raise _naive("datetime", value.isoformat())
    elif offset:
        # Stored in UTC: the server compares these strings as text, which is time order
        # only within one offset. (Python compares aware datetimes by instant, so the
        # loaded value == the saved one; the offset it was written with is not kept.)
        try:
            value = value.astimezone(timezone.utc)
        except OverflowError:
            raise ValueError(f"datetime {value.isoformat()} is out of range in UTC") from None
    # Always six fractional digits: fixed-width strings sort in time order, which views
    # and Mango range queries rely on.
    return value.isoformat("T", "microseconds")  # positional: measurably faster


def _load_date(value: Any, _: Any) -> date:
    if not isinstance(value, str):
        raise TypeError(f"expected an ISO 8601 date string, got {_type_name(value)}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"invalid ISO 8601 date {value!r}") from None


def _load_time(value: Any, _: Any) -> time:
    if not isinstance(value, str):
        raise TypeError(f"expected an ISO 8601 time string, got {_type_name(value)}")
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise ValueError(f"invalid ISO 8601 time {value!r}") from None


def _dump_time(value: time) -> str:
    return value.isoformat(timespec="microseconds")


def _load_uuid(value: Any, _: Any) -> UUID:
    if not isinstance(value, str):
        raise TypeError(f"expected a UUID string, got {_type_name(value)}")
    try:
        return UUID(value)
    except ValueError:
        raise ValueError(f"invalid UUID {value!r}") from None


def _load_bytes(value: Any, _: Any) -> bytes:
    if not isinstance(value, str):
        raise TypeError(f"expected a base64 string, got {_type_name(value)}")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"invalid base64 {value[:40]!r}") from None


def _dump_bytes(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


_BASE_LOADERS: dict[type, StructureHook] = {str: _load_str, int: _load_int, float: _load_float}

# Hooks that accept exactly one class and return the value as is: containers of these
# are checked with a class test per item instead of a call.
_EXACT: dict[Any, type] = {_load_str: str, _load_bool: bool}


# --- Literal ---------------------------------------------------------------------------


def _is_literal(tp: Any) -> bool:
    return get_origin(tp) is Literal


def _literal_hook(tp: Any) -> StructureHook:
    # Keyed by (class, value) so that Literal[1] refuses True and Literal[True] refuses 1.
    allowed: dict[tuple[type, Any], Any] = {}
    for choice in get_args(tp):
        raw = choice.value if isinstance(choice, Enum) else choice
        allowed[(type(raw), raw)] = choice
    expected = ", ".join(repr(c.value if isinstance(c, Enum) else c) for c in get_args(tp))

    def load_literal(value: Any, _: Any) -> Any:
        try:
            return allowed[(value.__class__, value)]
        except (KeyError, TypeError):
            raise ValueError(f"expected one of {expected}, got {value!r}") from None

    return load_literal


# --- containers ------------------------------------------------------------------------

_LISTS = (list, Sequence, MutableSequence)
_SETS = (set, frozenset, AbstractSet, MutableSet)
_MAPPINGS = (dict, Mapping, MutableMapping)


def _is_list(tp: Any) -> bool:
    return origin(tp) in _LISTS


def _is_set(tp: Any) -> bool:
    return origin(tp) in _SETS


def _is_tuple(tp: Any) -> bool:
    return origin(tp) is tuple


def _is_mapping(tp: Any) -> bool:
    return origin(tp) in _MAPPINGS


def _elem_hook(tp: Any) -> StructureHook:
    try:
        return converter.get_structure_hook(tp)
    except RecursionError:
        # A recursive type (Node with children: list[Node]): bind late.
        return converter.structure


def _item_errors(values: Iterable[Any], hook: StructureHook, elem: Any, container: Any) -> NoReturn:
    """Raise an error naming each bad element by index (after the fast path failed)."""
    errors: list[Exception] = []
    for index, value in enumerate(values):
        try:
            hook(value, elem)
        except Exception as exc:
            add_note(
                exc, IterableValidationNote(f"Structuring {container} @ index {index}", index, elem)
            )
            errors.append(exc)
    raise IterableValidationError(f"While structuring {container!r}", errors, container)


def _not_array(value: Any) -> TypeError:
    return TypeError(f"expected list, got {_type_name(value)}")


def _items_loader(elem: Any, container: Any) -> Callable[[Any], list[Any]]:
    """Load a JSON array whose items are all ``elem``."""
    hook = _elem_hook(elem)
    # Only for exactly str/bool: a str Enum shares the str hook but must be converted.
    exact = elem if _EXACT.get(hook) is elem else None

    def load_items(value: Any) -> list[Any]:
        if value.__class__ is not list and not isinstance(value, (list, tuple)):
            raise _not_array(value)
        if exact is not None:
            # list[str] and friends: a class check per item, no call.
            for item in value:
                if item.__class__ is not exact:
                    break
            else:
                return list(value)
        try:
            return [hook(item, elem) for item in value]
        except Exception:
            pass  # the slow pass below says which items failed
        _item_errors(value, hook, elem, container)

    return load_items


def _elem_type(tp: Any) -> Any:
    args = get_args(tp)
    return args[0] if args else Any


def _list_hook(tp: Any) -> StructureHook:
    load_items = _items_loader(_elem_type(tp), tp)

    def load_list(value: Any, _: Any) -> list[Any]:
        return load_items(value)

    return load_list


def _set_hook(tp: Any) -> StructureHook:
    load_items = _items_loader(_elem_type(tp), tp)
    make: Callable[[list[Any]], Any] = frozenset if origin(tp) is frozenset else set

    def load_set(value: Any, _: Any) -> Any:
        return make(load_items(value))

    return load_set


def _tuple_hook(tp: Any) -> StructureHook:
    args = get_args(tp)
    if not args or (len(args) == 2 and args[1] is Ellipsis):
        load_items = _items_loader(_elem_type(tp), tp)

        def load_tuple(value: Any, _: Any) -> tuple[Any, ...]:
            return tuple(load_items(value))

        return load_tuple

    if args == ((),):  # tuple[()]
        args = ()
    hooks = [_elem_hook(a) for a in args]

    def load_fixed_tuple(value: Any, _: Any) -> tuple[Any, ...]:
        if not isinstance(value, (list, tuple)):
            raise _not_array(value)
        if len(value) != len(hooks):
            raise ValueError(f"expected {len(hooks)} items, got {len(value)}")
        errors: list[Exception] = []
        out = []
        for index, (hook, elem, item) in enumerate(zip(hooks, args, value, strict=True)):
            try:
                out.append(hook(item, elem))
            except Exception as exc:
                add_note(
                    exc, IterableValidationNote(f"Structuring {tp} @ index {index}", index, elem)
                )
                errors.append(exc)
        if errors:
            raise IterableValidationError(f"While structuring {tp!r}", errors, tp)
        return tuple(out)

    return load_fixed_tuple


def _load_int_key(value: Any, _: Any) -> int:
    # JSON object keys are always strings; int keys come back as "1".
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            raise ValueError(f"expected an integer key, got {value!r}") from None
    number: int = _load_int(value, int)
    return number


def _mapping_hook(tp: Any) -> StructureHook:
    args = get_args(tp)
    key_type, value_type = args if len(args) == 2 else (Any, Any)
    key_hook = _load_int_key if key_type is int else _elem_hook(key_type)
    value_hook = _elem_hook(value_type)

    def load_mapping(value: Any, _: Any) -> dict[Any, Any]:
        if not isinstance(value, dict):
            raise TypeError(f"expected dict, got {_type_name(value)}")
        try:
            return {key_hook(k, key_type): value_hook(v, value_type) for k, v in value.items()}
        except Exception:
            pass  # the slow pass below says which entries failed
        errors: list[Exception] = []
        for k, v in value.items():
            for part, hook, item, part_type in (
                ("key", key_hook, k, key_type),
                ("value", value_hook, v, value_type),
            ):
                try:
                    hook(item, part_type)
                except Exception as exc:
                    note = IterableValidationNote(
                        f"Structuring mapping {part} @ key {k!r}", k, part_type
                    )
                    add_note(exc, note)
                    errors.append(exc)
        raise IterableValidationError(f"While structuring {tp!r}", errors, tp)

    return load_mapping


def _has_non_str_keys(tp: Any) -> bool:
    args = get_args(tp)
    return _is_mapping(tp) and len(args) == 2 and args[0] not in (str, Any)


def _mapping_dump_hook(tp: Any) -> UnstructureHook:
    key_type, value_type = get_args(tp)
    key_dump = converter.get_unstructure_hook(key_type)
    value_dump = converter.get_unstructure_hook(value_type)

    def dump_mapping(value: Mapping[Any, Any]) -> dict[str, Any]:
        # JSON object keys must be strings; int and other keys are written as their str.
        return {_as_key(key_dump(k)): value_dump(v) for k, v in value.items()}

    return dump_mapping


def _as_key(key: Any) -> str:
    return key if isinstance(key, str) else str(key)


def _sorted_list(items: Iterable[Any]) -> list[Any]:
    # Sets are written as sorted lists, so saving the same set twice gives the same JSON.
    out = list(items)
    with contextlib.suppress(TypeError):  # mixed types don't sort; keep their order
        out.sort()
    return out


def _is_fixed_tuple(tp: Any) -> bool:
    args = get_args(tp)
    return _is_tuple(tp) and bool(args) and not (len(args) == 2 and args[1] is Ellipsis)


def _fixed_tuple_dump_hook(tp: Any) -> UnstructureHook:
    dumps = [converter.get_unstructure_hook(a) for a in get_args(tp) if a != ()]

    def dump_tuple(value: tuple[Any, ...]) -> list[Any]:
        return [dump(item) for dump, item in zip(dumps, value, strict=True)]

    return dump_tuple


# --- attrs classes, Embedded and Document ----------------------------------------------


class UnknownKeysError(ForbiddenExtraKeysError):
    """JSON keys a class does not declare, where it can't or won't keep them."""

    def __init__(self, cls: type, keys: set[str], reason: str) -> None:
        super().__init__(f"unknown keys {sorted(keys)} for {cls.__name__}", cls, keys)
        self.reason = reason


def _is_plain_attrs(tp: Any) -> bool:
    return attrs.has(tp) and not (isinstance(tp, type) and issubclass(tp, _Model))


def _is_embedded(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, Embedded)


def _is_document(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, Document)


def _renames(tp: Any) -> dict[str, Any]:
    # A generic class's fields (Box[int]: Box's), which cattrs types with the arguments.
    cls: type = get_origin(tp) or tp
    try:
        attrs.resolve_types(cls)
    except NameError as exc:
        raise DocumentDefinitionError(
            f"{cls.__qualname__}: can't resolve the annotation {exc.name!r}. String "
            "annotations (from __future__ import annotations) are evaluated in the module's "
            "namespace: define the classes they name at module level"
        ) from exc
    overrides: dict[str, Any] = {}
    # The class's field map (attribute -> JSON key), as queries and declarations read
    # it; id and rev get their _id / _rev in the document hooks, with the meta fields.
    options = getattr(cls, "_options", None)
    keys: Mapping[str, str] = options.keys if options is not None else {}
    if options is None:  # a plain attrs class, checked here (a model is when defined)
        refuse_shared_keys(cls, {a.name: json_key(a) for a in attrs.fields(cls)})
    for attribute in attrs.fields(cls):
        refuse_ambiguous_unions(cls, attribute)  # again: string annotations are resolved now
        _register_str_enums(attribute.type)
        key = keys.get(attribute.name) or json_key(attribute)
        storage = decimal_storage(attribute)
        if storage is not None:
            load, dump = _decimal_hooks(cls, attribute, storage)
            overrides[attribute.name] = override(
                rename=None if key == attribute.name else key,
                struct_hook=load,
                unstruct_hook=dump,
            )
        elif key != attribute.name:
            overrides[attribute.name] = override(rename=key)
    return overrides


def _generated(cls: type, overrides: dict[str, Any]) -> tuple[StructureHook, StructureHook]:
    """cattrs' generated loaders for ``cls``: a fast one, and a detailed one for errors.

    The fast one stops at the first error without saying where; only when it fails does
    the detailed one run again, to collect every error with its path.
    """
    fast: StructureHook = make_dict_structure_fn(
        cls, converter, _cattrs_detailed_validation=False, **overrides
    )
    detailed: StructureHook = make_dict_structure_fn(
        cls, converter, _cattrs_detailed_validation=True, **overrides
    )
    return fast, detailed


def _refuse(cls: type, error: Exception, detailed: StructureHook, value: Any, tp: Any) -> NoReturn:
    """Raise ``error`` (unknown keys) together with whatever else is wrong in ``value``."""
    errors = [error]
    try:
        detailed(value, tp)
    except cattrs.ClassValidationError as exc:
        errors.extend(exc.exceptions)
    raise cattrs.ClassValidationError(f"While structuring {cls.__name__}", errors, cls)


def _plain_structure_hook(cls: type) -> StructureHook:
    fast, detailed = _generated(cls, _renames(cls))
    known = frozenset(json_key(a) for a in attrs.fields(cls))
    reason = (
        f"{cls.__name__} is a plain attrs class and can't keep it: derive it from "
        "Embedded, or set unknown='drop' on the document"
    )

    def load_attrs(value: Any, tp: Any) -> Any:
        if not isinstance(value, dict):
            raise TypeError(f"expected dict, got {_type_name(value)}")
        # issuperset walks the keys without building a set: cheap on the common path.
        if not known.issuperset(value) and not _policy.get().drop_unknown:
            _refuse(cls, UnknownKeysError(cls, set(value) - known, reason), detailed, value, tp)
        try:
            return fast(value, tp)
        except Exception:
            return detailed(value, tp)

    return _builtin(load_attrs)


def _plain_unstructure_hook(cls: type) -> UnstructureHook:
    # Written under the JSON keys and with the Decimal storage its loader reads.
    return _builtin(make_dict_unstructure_fn(cls, converter, **_renames(cls)))


def _embedded_structure_hook(cls: type[Embedded]) -> StructureHook:
    fast, detailed = _generated(cls, {**_renames(cls), "extra": override(omit=True)})
    known = frozenset(cls._options.keys.values())
    unknown_policy = cls._options.unknown

    def load_embedded(value: Any, tp: Any) -> Any:
        if not isinstance(value, dict):
            raise TypeError(f"expected dict, got {_type_name(value)}")
        extra = (
            None if known.issuperset(value) else {k: v for k, v in value.items() if k not in known}
        )
        if extra and unknown_policy == "forbid":
            error = UnknownKeysError(cls, set(extra), f"{cls.__name__} forbids them")
            _refuse(cls, error, detailed, value, tp)
        try:
            obj = fast(value, tp)
        except Exception:
            obj = detailed(value, tp)
        if extra and unknown_policy == "preserve":
            obj.extra = extra
        return obj

    return _builtin(load_embedded)


def _embedded_unstructure_hook(cls: type[Embedded]) -> UnstructureHook:
    overrides = {**_renames(cls), "extra": override(omit=True)}
    base = make_dict_unstructure_fn(cls, converter, **overrides)

    def dump_embedded(obj: Any) -> dict[str, Any]:
        out = base(obj)
        if obj.extra:
            for key, value in obj.extra.items():
                out.setdefault(key, value)  # a declared field wins over a stray extra key
        return out

    return _builtin(dump_embedded)


def _field_hooks(cls: type[Document], overrides: Mapping[str, Any]) -> Hooks:
    """The converter's hooks for each declared field of ``cls`` (with its overrides), for
    the compiled codecs; None when the class's policy isn't the default one, which the
    hooks would have to read from the context."""
    if _document_policy(cls) is not _STRICT:
        return None
    fields: dict[str, FieldHooks] = {}
    for attribute in attrs.fields(cast(Any, cls)):
        if attribute.name in ("id", "rev", "extra", "meta"):
            continue
        override_ = overrides.get(attribute.name)
        try:
            load = getattr(override_, "struct_hook", None) or converter.get_structure_hook(
                attribute.type
            )
            dump = getattr(override_, "unstruct_hook", None) or converter.get_unstructure_hook(
                attribute.type
            )
        except RecursionError:  # a class that holds itself: cattrs binds it late
            continue
        fields[attribute.name] = FieldHooks(load, dump, attribute_checker(attribute))
    return ClassHooks(fields, _converts_builtin)


def _document_policy(cls: type[Document]) -> _Policy:
    options = cls._options
    if not options.allow_naive_datetime and options.unknown != "drop":
        return _STRICT
    return _Policy(options.allow_naive_datetime, options.unknown == "drop")


@contextlib.contextmanager
def policy_for(model: type[Document] | None) -> Iterator[None]:
    """Within the block, the converter reads and writes values as ``model``'s options say
    (naive datetimes allowed, unknown keys dropped), as it does inside ``model``'s own
    documents: for values converted on their own (query terms, view keys, partial
    documents). ``None`` changes nothing."""
    if model is None:
        yield
        return
    policy = _document_policy(model)
    token = _policy.set(policy) if _policy.get() is not policy else None
    try:
        yield
    finally:
        if token is not None:
            _policy.reset(token)


def _document_structure_hook(cls: type[Document]) -> StructureHook:
    options = cls._options
    overrides = {
        **_renames(cls),
        "id": override(rename="_id"),
        "rev": override(rename="_rev"),
        "extra": override(omit=True),
        "meta": override(omit=True),
    }
    fast, detailed = _generated(cls, overrides)
    quick = compile_loader(cls, _field_hooks(cls, overrides))
    type_field = options.type_field
    # An abstract class never matches: its data always names a concrete subclass.
    doc_type: object = object() if options.abstract else options.doc_type
    known = frozenset({"_id", "_rev", type_field, *options.keys.values()})
    unknown_policy = options.unknown
    policy = _document_policy(cls)
    model = cls.__name__
    # A versioned class: stored JSON of an older version is upgraded first (versions.py).
    current, version_key = options.schema_version, options.schema_version_key
    if current is not None:
        known |= {version_key}

    def load_generally(value: Any) -> Any:
        token = _policy.set(policy) if _policy.get() is not policy else None
        try:
            return fast(value, cls)
        except Exception:
            try:
                return detailed(value, cls)
            except Exception as exc:
                errors = _errors(exc)
                if unknown_policy == "forbid":
                    errors += _forbidden(value, known)
                raise DocumentValidationError(model, _doc_id(value), errors) from exc
        finally:
            if token is not None:
                _policy.reset(token)

    def load_document(value: Any, _: Any) -> Any:
        if value.__class__ is not dict and not isinstance(value, Mapping):
            raise DocumentValidationError(
                model, None, [("", f"expected a JSON object, got {_type_name(value)}")]
            )
        if value.get(type_field) != doc_type:
            target = registry.resolve(value, cls)
            return converter.get_structure_hook(target)(value, target)
        if current is not None:
            value = upgrade(cls, value)
        obj = quick(value) if quick is not None else None
        if obj is None:
            obj = load_generally(value)
        if not known.issuperset(value):
            _keep_unknown(obj, value, known, unknown_policy, model)
        return obj

    return load_document


def _forbidden(value: Mapping[str, Any], known: frozenset[str]) -> list[tuple[str, str]]:
    return [
        (key, "unknown key (the class forbids keys it does not declare)")
        for key in value
        if key not in known and not key.startswith("_")
    ]


def _keep_unknown(
    obj: Document, value: Mapping[str, Any], known: frozenset[str], policy: str, model: str
) -> None:
    extra: dict[str, Any] = {}
    meta: dict[str, Any] = {}
    for key, item in value.items():
        if key in known:
            continue
        if key in META_KEYS or key.startswith("_"):  # the server's, never the user's
            meta[key] = item
        else:
            extra[key] = item
    if extra:
        if policy == "forbid":
            raise DocumentValidationError(model, _doc_id(value), _forbidden(value, known))
        if policy == "preserve":
            obj.extra = extra
    if meta:
        obj.meta = DocumentMeta.from_json(meta)


def _id_of(obj: Any) -> str | None:
    doc_id = obj.__dict__.get("id")
    return doc_id if isinstance(doc_id, str) else None


def _doc_id(value: Mapping[str, Any]) -> str | None:
    doc_id = value.get("_id")
    return doc_id if isinstance(doc_id, str) else None


def _document_unstructure_hook(cls: type[Document]) -> UnstructureHook:
    options = cls._options
    overrides = {
        **_renames(cls),
        "id": override(omit=True),
        "rev": override(omit=True),
        "extra": override(omit=True),
        "meta": override(omit=True),
    }
    base = make_dict_unstructure_fn(cls, converter, **overrides)
    type_field, doc_type, abstract = options.type_field, options.doc_type, options.abstract
    policy = _document_policy(cls)
    model = cls.__name__
    check = class_checker(cls)
    current, version_key = options.schema_version, options.schema_version_key
    # Compiled here, so they are made again with the hook when hooks are registered later
    # (cattrs then drops the hooks it made).
    hooks = _field_hooks(cls, overrides)
    compiled_dump = compile_dumper(cls, hooks)

    def dump_document(obj: Any) -> dict[str, Any]:
        if compiled_dump is not None:
            found = compiled_dump(obj)
            if found is not None:
                return found
        if obj.__class__ is not cls:
            # A field declared as Order may hold a PriorityOrder: dump what it is.
            return converter.get_unstructure_hook(obj.__class__)(obj)  # type: ignore[no-any-return]
        if abstract:
            raise DocumentValidationError(
                model, obj.id, [("", f"{model} is abstract; save one of its subclasses")]
            )
        # What is written must load back: values are checked against the declared types
        # first (cattrs would dump "gift" for a list[str] as ["g", "i", "f", "t"]).
        bad = check(obj)
        if bad:
            raise DocumentValidationError(model, _id_of(obj), bad)
        out: dict[str, Any] = {}
        if obj.id is not None:
            out["_id"] = obj.id
        if obj.rev is not None:
            out["_rev"] = obj.rev
        out[type_field] = doc_type
        if current is not None:
            out[version_key] = current
        token = _policy.set(policy) if _policy.get() is not policy else None
        try:
            out.update(base(obj))
        except Exception as exc:
            errors = _dump_errors(obj, "") or [("", _describe(exc))]
            raise DocumentValidationError(model, obj.id, errors) from exc
        finally:
            if token is not None:
                _policy.reset(token)
        if obj.extra:
            for key, value in obj.extra.items():
                out.setdefault(key, value)  # a declared field wins over a stray extra key
        attachments = obj.meta.attachments
        if attachments is not None:
            # Stubs keep the attachments: a body without _attachments deletes them.
            out["_attachments"] = attachments
        refuse_lone_surrogates(obj, out)  # (the compiled dumper steps aside for one)
        return out

    _ENCODERS[dump_document] = compile_encoder(cls, hooks)
    return dump_document


# --- errors ----------------------------------------------------------------------------


def _errors(exc: BaseException, path: str = "") -> list[tuple[str, str]]:
    """Flatten cattrs' nested exception groups into ``(path, message)`` pairs."""
    if isinstance(exc, DocumentValidationError):
        return prefixed(path, exc.errors)
    if isinstance(exc, UnknownKeysError):
        problem = f"unknown key ({exc.reason})"
        return [(join_path(path, key), problem) for key in sorted(exc.extra_fields)]
    if isinstance(exc, BaseValidationError):
        out: list[tuple[str, str]] = []
        for sub in exc.exceptions:
            out.extend(_errors(sub, join_path(path, _segment(sub))))
        return out
    return [(path, _describe(exc))]


def _segment(exc: BaseException) -> str:
    parts: list[str] = []
    # Notes are appended from the inside out; the path reads from the outside in.
    for note in reversed(getattr(exc, "__notes__", [])):
        if isinstance(note, AttributeValidationNote):
            parts.append(note.name)
        elif isinstance(note, IterableValidationNote):
            parts.append(f"[{note.index!r}]")
        elif isinstance(note, FieldNote):
            parts.append(note.name)
    segment = ""
    for part in parts:
        segment = join_path(segment, part)
    return segment


def _describe(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return "required field missing"
    if isinstance(exc, (ValueError, TypeError, CattrsError)):
        return str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {exc}"


def _dump_errors(value: Any, path: str) -> list[tuple[str, str]]:
    """Find which nested values fail to dump. Slow; only runs after a failure."""
    out: list[tuple[str, str]] = []
    items: Iterable[tuple[str, Any, Any]]
    if attrs.has(type(value)):
        items = (
            (join_path(path, a.name), getattr(value, a.name), a.type)
            for a in attrs.fields(type(value))
            if not (isinstance(value, _Model) and a.name in ("extra", "meta"))
        )
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = ((f"{path}[{i}]", item, type(item)) for i, item in enumerate(value))
    elif isinstance(value, dict):
        items = ((f"{path}[{k!r}]", item, type(item)) for k, item in value.items())
    else:
        return out
    for where, item, tp in items:
        try:
            converter.unstructure(item, tp)
        except Exception as exc:
            out.extend(_dump_errors(item, where) or [(where, _describe(exc))])
    return out


# --- the converter ---------------------------------------------------------------------


def _fast_optional_str(conv: cattrs.Converter) -> None:
    """``str | None`` (every document's ``id`` and ``rev``, and common fields): a class
    test for the usual values instead of the union machinery (3x faster); anything else
    goes to the general hook, so errors read the same."""
    general = conv.get_structure_hook(str | None)  # equal to Optional[str], same hash

    def load_optional_str(value: Any, tp: Any) -> Any:
        if value is None or value.__class__ is str:
            return value
        return general(value, tp)

    conv.register_structure_hook(str | None, load_optional_str)


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(
        unstruct_collection_overrides={AbstractSet: _sorted_list},
        detailed_validation=True,
    )
    # Later registrations win in cattrs, so these replace its lenient defaults.
    for tp, load in (
        (str, _load_str),
        (int, _load_int),
        (float, _load_float),
        (bool, _load_bool),
        (Decimal, _load_decimal),
        (datetime, _load_datetime),
        (date, _load_date),
        (time, _load_time),
        (UUID, _load_uuid),
        (bytes, _load_bytes),
    ):
        conv.register_structure_hook(tp, load)
    conv.register_unstructure_hook(Decimal, _dump_decimal)
    conv.register_unstructure_hook(datetime, _dump_datetime)
    conv.register_unstructure_hook(date, date.isoformat)
    conv.register_unstructure_hook(time, _dump_time)
    conv.register_unstructure_hook(UUID, str)
    conv.register_unstructure_hook(bytes, _dump_bytes)
    configure_union_passthrough(Union[str, int, float, bool, None], conv)  # noqa: UP007
    _fast_optional_str(conv)

    conv.register_structure_hook_factory(is_ref_type, ref_loader)
    conv.register_unstructure_hook_factory(is_ref_type, lambda _: dump_ref)
    conv.register_structure_hook_factory(_is_literal, _literal_hook)
    conv.register_structure_hook_factory(_is_list, _list_hook)
    conv.register_structure_hook_factory(_is_set, _set_hook)
    conv.register_structure_hook_factory(_is_tuple, _tuple_hook)
    conv.register_structure_hook_factory(_is_mapping, _mapping_hook)
    conv.register_unstructure_hook_factory(_is_fixed_tuple, _fixed_tuple_dump_hook)
    conv.register_unstructure_hook_factory(_has_non_str_keys, _mapping_dump_hook)

    conv.register_structure_hook_factory(_is_plain_attrs, _plain_structure_hook)
    conv.register_unstructure_hook_factory(_is_plain_attrs, _plain_unstructure_hook)
    conv.register_structure_hook_factory(_is_embedded, _embedded_structure_hook)
    conv.register_unstructure_hook_factory(_is_embedded, _embedded_unstructure_hook)
    conv.register_structure_hook_factory(_is_document, _document_structure_hook)
    conv.register_unstructure_hook_factory(_is_document, _document_unstructure_hook)
    return conv


#: The converter every document goes through. Register hooks for your own types on it
#: (``converter.register_structure_hook(T, fn)``) or with :func:`register_type`.
converter: cattrs.Converter = _make_converter()


# --- public verbs ----------------------------------------------------------------------


def to_json(doc: Document) -> dict[str, Any]:
    """The CouchDB JSON body of ``doc``.

    ``_id`` and ``_rev`` when set, the type field, every declared field under its JSON key,
    the unknown keys kept in ``doc.extra`` and the ``_attachments`` stubs. Raises
    :class:`DocumentValidationError` for values that can't be stored (a naive datetime, a
    NaN Decimal, a lone surrogate, ...).
    """
    if not isinstance(doc, Document):
        raise TypeError(f"to_json() takes a Document, got {_type_name(doc)}")
    out: dict[str, Any] = converter.unstructure(doc, doc.__class__)
    return out


def encode_body(body: Mapping[str, Any], doc_id: str | None) -> bytes:
    """A document body as canonical JSON (sorted keys, compact, UTF-8), or ValueError
    naming the document."""
    try:
        return canonical(body)
    except (ValueError, TypeError, RecursionError) as exc:
        raise ValueError(f"Document {doc_id!r} can't be written as JSON: {exc}") from exc


#: The compiled encoder of each document class, by the unstructure hook made with it.
_ENCODERS: dict[UnstructureHook, Encoder | None] = {}


def canonical_document(doc: Document) -> tuple[bytes, str | None]:
    """``doc``'s JSON body without ``_rev``, as canonical JSON, and its rev: what a
    session sends and keeps as the snapshot to tell whether ``doc`` changed.

    The class's compiled encoder (codecs.py) writes the usual values in one pass; the
    rest goes through :func:`to_json`, which also raises for what can't be stored."""
    encode = _ENCODERS.get(converter.get_unstructure_hook(doc.__class__))
    if encode is not None:
        found = encode(doc)
        if found is not None:
            try:
                return found[0].encode(), found[1]
            except UnicodeEncodeError:  # a lone surrogate: the general path says so
                pass
    return body_bytes(doc, to_json(doc))


def body_bytes(doc: Document, body: dict[str, Any]) -> tuple[bytes, str | None]:
    """``body``, ``doc``'s JSON from :func:`to_json`, as canonical JSON without its
    ``_rev`` (taken out of ``body``), and the rev."""
    rev = body.pop("_rev", None)
    try:
        return encode_body(body, doc.id), rev
    except ValueError as exc:
        _refuse_lone_surrogate(doc, exc)
        raise


def refuse_lone_surrogates(doc: Document, body: dict[str, Any]) -> None:
    """Refuse ``body``, ``doc``'s JSON, if it holds a str that JSON text (UTF-8) can't
    carry, as a commit would (a walk of its strings: no encoding of the whole body)."""
    if holds_lone_surrogate(body):
        _refuse_lone_surrogate(doc, None)


def _refuse_lone_surrogate(doc: Document, exc: Exception | None) -> None:
    """A DocumentValidationError naming the str of ``doc`` that UTF-8 can't encode, if
    there is one (``exc``: the failed encoding that led here)."""
    where = _lone_surrogate_at(doc, "")
    if where is not None:
        message = "holds a lone surrogate (half of a UTF-16 pair), which JSON text can't carry"
        raise DocumentValidationError(type(doc).__name__, doc.id, [(where, message)]) from exc


def _lone_surrogate_at(value: Any, path: str) -> str | None:
    """The path of a str in ``value`` (a document, and what it holds) that UTF-8 can't
    encode, written as validation errors write paths: attribute names (``extra`` too),
    ``[index]`` and ``['key']``."""
    if isinstance(value, str):
        return None if encodes(value) else path
    items: Iterable[tuple[str, Any]]
    if value.__class__ is Ref:
        return _lone_surrogate_at(value.id, path)
    if attrs.has(type(value)):
        items = (
            (join_path(path, a.name), getattr(value, a.name, None))
            for a in attrs.fields(type(value))
        )
    elif isinstance(value, dict):
        items = (
            pair
            for key, item in value.items()
            for pair in ((f"{path}[{key!r}]", key), (f"{path}[{key!r}]", item))
        )
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = ((f"{path}[{index}]", item) for index, item in enumerate(value))
    else:
        return None
    for where, item in items:
        found = _lone_surrogate_at(item, where)
        if found is not None:
            return found
    return None


@overload
def from_json(data: Mapping[str, Any]) -> Document: ...


@overload
def from_json(data: Mapping[str, Any], cls: type[D]) -> D: ...


def from_json(data: Mapping[str, Any], cls: type[Document] = Document) -> Document:
    """Load a JSON document as the class its type field names.

    With ``cls``, the document must be of that class or a subclass of it; otherwise
    :class:`DocumentTypeError`. Invalid values raise :class:`DocumentValidationError`
    listing every problem with its path.
    """
    doc: Document = converter.structure(data, cls)
    return doc


def document_loader(cls: type[D]) -> Callable[[Mapping[str, Any], type[D]], D]:
    """What :func:`from_json` calls to load a document as ``cls``, taken once: for
    loading many documents of one class (a page, a feed) without the converter's
    dispatch for each. Call it as ``load(data, cls)``."""
    found: Callable[[Mapping[str, Any], type[D]], D] = converter.get_structure_hook(cls)
    return found


def register_type(cls: type[T], *, dump: Callable[[T], Any], load: Callable[[Any], T]) -> None:
    """Teach the converter a type of your own.

    ``dump(value)`` returns its JSON form; ``load(json_value)`` builds it back and raises
    ``ValueError`` or ``TypeError`` for bad input (the message ends up in the validation
    error, with the field's path).
    """
    check_registered(cls, dump, load)
    converter.register_unstructure_hook(cls, dump)
    converter.register_structure_hook(cls, lambda value, _: load(value))


def _union_members(tp: Any) -> frozenset[Any] | None:
    members = union_members(tp)
    return None if members is None else frozenset(members)


def register_tagged_union(
    union: Any, *, tag: str = "type", tags: Mapping[type, str] | None = None
) -> None:
    """Store a union of attrs classes with a tag key naming the member class.

    ``register_tagged_union(Card | Transfer, tag="kind")`` writes
    ``{"kind": "Card", ...}``; ``tags={Card: "card"}`` picks other tag values. The hook
    applies to every union of exactly these classes, with or without None.
    (A union whose members each declare a distinct ``Literal`` field needs no registration:
    that field already tells them apart.)
    """
    members = _union_members(union)
    if not members:
        raise TypeError(f"register_tagged_union() takes a union of attrs classes, got {union!r}")
    for member in members:
        if not attrs.has(member):
            raise TypeError(f"{member!r} in {union!r} is not an attrs class")
        if tag in {json_key(a) for a in attrs.fields(member)}:
            raise TypeError(f"{member.__name__} already has a field stored as {tag!r}")
    to_tag = {m: (tags or {}).get(m, m.__name__) for m in members}
    by_tag = {value: m for m, value in to_tag.items()}
    if len(by_tag) != len(to_tag):
        raise TypeError(f"tag values must be distinct, got {sorted(to_tag.values())}")
    choices = ", ".join(repr(t) for t in sorted(by_tag))

    def load_tagged(value: Any, _: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise TypeError(f"expected dict, got {_type_name(value)}")
        if tag not in value:
            raise ValueError(f"missing tag {tag!r} (one of {choices})")
        member = by_tag.get(value[tag])
        if member is None:
            raise ValueError(f"unknown {tag} {value[tag]!r}, expected one of {choices}")
        rest = {k: v for k, v in value.items() if k != tag}
        return converter.get_structure_hook(member)(rest, member)

    def dump_tagged(value: Any) -> Any:
        if value is None:
            return None
        member = type(value)
        if member not in to_tag:
            raise TypeError(f"{member.__name__} is not a member of {union!r}")
        out = {tag: to_tag[member]}
        out.update(converter.get_unstructure_hook(member)(value))
        return out

    def matches(tp: Any) -> bool:
        return _union_members(tp) == members

    converter.register_structure_hook_func(matches, load_tagged)
    converter.register_unstructure_hook_func(matches, dump_tagged)


def _load_field(cls: type, attribute: attrs.Attribute[Any], value: Any) -> Any:
    """One field's value loaded as the whole document's loader loads it (a Decimal
    field's ``places`` included)."""
    tp: Any = attribute.type
    storage = decimal_storage(attribute)
    if storage is not None:
        return _decimal_hooks(cls, attribute, storage)[0](value, tp)
    return converter.structure(value, tp)


def partial_from_json(data: Mapping[str, Any], model: type[D], names: Iterable[str]) -> D:
    """An object of ``model`` (or the subclass ``data``'s type field names) holding only
    the fields ``names``, converted as :func:`from_json` converts them, and id and rev;
    the others are :data:`~cloudant_odm.models.document.NOT_LOADED`. Built without
    ``__init__``, whose validators would refuse the placeholders."""
    resolved = registry.resolve(data, model)
    data = upgrade(resolved, data)
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
                values[name] = _load_field(cls, attribute, data[key])
            else:
                values[name] = NOT_LOADED
    obj: D = object.__new__(cls)
    obj.__dict__.update(values)
    obj.__dict__[PARTIAL] = frozenset(n for n, v in values.items() if v is not NOT_LOADED)
    return obj

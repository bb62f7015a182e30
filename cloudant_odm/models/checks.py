"""Write checks: is a Python value one its declared type can store and read back?

cattrs' unstructure hooks trust the declared types: a ``str`` given for a ``list[str]``
is dumped as a list of its characters, an ``int`` for a ``str`` field as a number that
the same class then refuses to load. Before a document is dumped, its values are checked
here against the declared types, with the rules the loaders use (``conversion.py``), so
that what is written is exactly what loads back.

One checker is made per type (and per class), cached, and returns None for a good value,
or ``(path, message)`` pairs naming every bad one. The good path builds no strings.
"""

from __future__ import annotations

import math
import sys
import types
from collections.abc import Callable, Mapping, MutableMapping, MutableSequence, MutableSet, Sequence
from collections.abc import Set as AbstractSet
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import attrs

from cloudant_odm._typing import strip_optional, type_name
from cloudant_odm.client.encoding import MIN_NORMAL_FLOAT, is_subnormal
from cloudant_odm.models.document import Document
from cloudant_odm.models.errors import prefixed
from cloudant_odm.models.fields import DecimalStorage, decimal_storage
from cloudant_odm.models.refs import Ref, is_document, is_ref_type, ref_target

__all__ = [
    "MAX_EXACT_INT",
    "Errors",
    "attribute_checker",
    "class_checker",
    "decimal_as_number",
    "decimal_errors",
    "describe",
    "float_errors",
    "parse_datetime",
    "stored_decimal",
    "strip_optional",
    "type_checker",
    "type_name",
]

Errors = list[tuple[str, str]]
Check = Callable[[Any], "Errors | None"]

#: The largest integer every JSON reader holds exactly (2**53 - 1): beyond it,
#: JavaScript (CouchDB's views, PouchDB) and many JSON libraries round to a double.
MAX_EXACT_INT = 2**53 - 1

# Document attributes that are not values of the document's JSON body.
_NOT_CHECKED = frozenset({"extra", "meta"})


# --- naming types and values -----------------------------------------------------------


def encodes(text: str) -> bool:
    """Whether JSON text (UTF-8) can carry ``text``: no lone surrogate (half of a UTF-16
    pair) in it."""
    if text.isascii():
        return True
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def holds_lone_surrogate(value: Any) -> bool:
    """Whether a JSON value (what a dump gives) holds a str, or an object key, that
    :func:`encodes` refuses."""
    if isinstance(value, str):
        return not encodes(value)
    if isinstance(value, dict):
        return any(holds_lone_surrogate(k) or holds_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(map(holds_lone_surrogate, value))
    return False


def describe(value: Any) -> str:
    """``str 'gift'``, ``int 5``, ``None``: a given value, shortened, with its class."""
    if value is None:
        return "None"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


def _expected(tp: Any, value: Any) -> Errors:
    return [("", f"expected {type_name(tp)}, got {describe(value)}")]


# --- scalars ---------------------------------------------------------------------------


def _exact(cls: type, tp: Any) -> Check:
    def check_exact(value: Any) -> Errors | None:
        return None if value.__class__ is cls else _expected(tp, value)

    return check_exact


def _instance(cls: type | tuple[type, ...], tp: Any) -> Check:
    def check_instance(value: Any) -> Errors | None:
        return None if isinstance(value, cls) else _expected(tp, value)

    return check_instance


def _int_range(value: int) -> Errors | None:
    if -MAX_EXACT_INT <= value <= MAX_EXACT_INT:
        return None
    return [
        (
            "",
            f"int {value} is beyond ±{MAX_EXACT_INT} (2**53 - 1), the range JSON numbers "
            "hold exactly for every reader (JavaScript views, PouchDB); store it in a str "
            "field, or a Decimal field with as_string=True",
        )
    ]


def _check_int(tp: Any) -> Check:
    def check_int(value: Any) -> Errors | None:
        if value.__class__ is int or (isinstance(value, int) and not isinstance(value, bool)):
            return _int_range(value)
        return _expected(tp, value)

    return check_int


def float_errors(value: float) -> Errors | None:
    """Why a float can't be stored as a JSON number every reader reads back, or None."""
    if not math.isfinite(value):
        return [("", f"float {value!r} can't be stored: JSON has no NaN or infinity")]
    if is_subnormal(value):
        return [
            (
                "",
                f"float {value!r} is subnormal (below {MIN_NORMAL_FLOAT!r}): JSON readers "
                "disagree on such numbers (CouchDB reads 5e-324 as 0)",
            )
        ]
    return None


def _check_float(tp: Any) -> Check:
    def check_float(value: Any) -> Errors | None:
        if value.__class__ is float or (isinstance(value, float) and not isinstance(value, bool)):
            if -1e300 < value < 1e300 and (value > 1e-300 or value < -1e-300 or value == 0.0):
                return None  # the usual numbers: two comparisons
            return float_errors(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return _int_range(value)
        return _expected(tp, value)

    return check_float


def decimal_as_number(value: Decimal) -> int | float | None:
    """The JSON number that stores ``value`` exactly, or None if there is none.

    A Decimal is stored as the double whose shortest decimal form has the same value:
    integers within ±2**53 as integers, and any value of at most 15 significant digits
    (more only where the double happens to be exact, as for ``0.5``).
    """
    try:
        number = float(value)
    except ValueError:  # a signalling NaN
        return None
    if number.is_integer() and -MAX_EXACT_INT <= number <= MAX_EXACT_INT:
        return int(number) if number == value else None
    if not math.isfinite(number) or is_subnormal(number):
        return None
    text = str(value)
    if len(text) <= 15:
        # At most 15 significant digits: every such decimal is the shortest form of the
        # double nearest to it (a double holds 15 digits, DBL_DIG), so the double's own
        # shortest form has the same value; no need to write it out and compare.
        return number
    shortest = repr(number)
    if shortest == text or Decimal(shortest) == value:
        return number
    return None


def _fits_places(value: Decimal, storage: DecimalStorage | None) -> bool:
    """Whether a finite ``value`` has no more decimal places than ``storage`` keeps."""
    if storage is None or storage.quantum is None:
        return True
    try:
        return value == value.quantize(storage.quantum)
    except InvalidOperation:
        return False


def stored_decimal(value: Decimal, storage: DecimalStorage | None) -> int | float | str | None:
    """What a Decimal field with ``storage`` stores for ``value``: the JSON number (its
    text with ``as_string``), or None when it can't be stored (decimal_errors says why)."""
    if not value.is_finite() or not _fits_places(value, storage):
        return None
    if storage is not None and storage.as_string:
        return str(value)
    return decimal_as_number(value)


def decimal_errors(value: Decimal, storage: DecimalStorage | None) -> Errors | None:
    if stored_decimal(value, storage) is not None:
        return None
    if not value.is_finite():
        return [("", f"Decimal {value} can't be stored: not a finite number")]
    if not _fits_places(value, storage):
        return [("", f"{value!r} has more than {storage.places} decimal places")]  # type: ignore[union-attr]
    if storage is None or not storage.as_string:
        number = float(value)
        if not math.isfinite(number) or is_subnormal(number):
            return [
                (
                    "",
                    f"{value!r} is outside the range a JSON number holds exactly (about "
                    "2.2e-308 to 1.8e308 in size); declare the field with "
                    "field(as_string=True) to store it as text",
                )
            ]
        return [
            (
                "",
                f"{value!r} can't be stored exactly as a JSON number (more significant "
                "digits than a double holds, 15 in general); declare the field with "
                "field(as_string=True) to store it as text",
            )
        ]
    return None


if sys.version_info >= (3, 11):
    parse_datetime = datetime.fromisoformat
else:  # pragma: no cover - 3.10's fromisoformat does not take a "Z" suffix

    def parse_datetime(text: str) -> datetime:
        """An ISO 8601 datetime (``Z`` for UTC too), as the loader reads one."""
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        return datetime.fromisoformat(text)


def _check_decimal(tp: Any, storage: DecimalStorage | None) -> Check:
    def check_decimal(value: Any) -> Errors | None:
        if value.__class__ is not Decimal and not isinstance(value, Decimal):
            return _expected(tp, value)
        return decimal_errors(value, storage)

    return check_decimal


def _check_date(tp: Any) -> Check:
    def check_date(value: Any) -> Errors | None:
        # A datetime is a date, but is stored with its time, which a date field can't load.
        if isinstance(value, date) and not isinstance(value, datetime):
            return None
        return _expected(tp, value)

    return check_date


def _check_literal(tp: Any) -> Check:
    allowed = {(type(choice), choice) for choice in get_args(tp)}

    def check_literal(value: Any) -> Errors | None:
        try:
            if (value.__class__, value) in allowed:
                return None
        except TypeError:  # unhashable
            pass
        return _expected(tp, value)

    return check_literal


def _check_extra(extra: dict[str, Any], document: bool) -> Errors | None:
    """Unknown keys kept in ``extra`` (written back as they are): JSON values, and at a
    document's top level no ``_`` keys, which are CouchDB's (``_deleted`` would delete
    the document). Numbers are not held to the typed fields' range: these values are
    usually what the server itself sent."""
    errors: Errors | None = None
    for key, item in extra.items():
        where = f"[{key!r}]"
        if not isinstance(key, str):
            problem = f"JSON object keys are strings, got {describe(key)}"
        elif document and key.startswith("_"):
            problem = "keys starting with '_' are CouchDB's and can't be set through extra"
        else:
            found = _check_structure(item)
            if not found:
                continue
            errors = errors or []
            errors.extend(prefixed(where, found))
            continue
        errors = errors or []
        errors.append((where, problem))
    return errors


def _check_structure(value: Any) -> Errors | None:
    """A JSON value, numbers of any size (but finite)."""
    return _json_errors(value, exact_numbers=False)


def _check_json(value: Any) -> Errors | None:
    """Any JSON value (a field typed ``Any``): what the JSON encoder writes as given,
    numbers within what every reader holds exactly."""
    return _json_errors(value, exact_numbers=True)


def _json_errors(value: Any, exact_numbers: bool) -> Errors | None:
    if isinstance(value, str) or value is None:  # a str Enum is written as its text
        return None
    if isinstance(value, (int, float)):  # bool, int and float, and their subclasses
        if isinstance(value, bool):
            return None
        if isinstance(value, int):
            return _int_range(int(value)) if exact_numbers else None
        # Never a NaN or a subnormal, whoever sent it: CouchDB would store 5e-324 as 0
        # (and no server sends one: it flattened it already).
        return float_errors(float(value))
    errors: Errors = []
    if isinstance(value, tuple):
        # Written as a JSON array, it would read back as a list, an unequal value.
        return [
            (
                "",
                "a tuple is stored as a JSON array and reads back as a list: use a list, "
                f"got {describe(value)}",
            )
        ]
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _json_errors(item, exact_numbers)
            if found:
                errors.extend(prefixed(f"[{index}]", found))
        return errors or None
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                errors.append((f"[{key!r}]", f"JSON object keys are strings, got {describe(key)}"))
                continue
            found = _json_errors(item, exact_numbers)
            if found:
                errors.extend(prefixed(f"[{key!r}]", found))
        return errors or None
    return [("", f"expected a JSON value, got {describe(value)}")]


# --- containers ------------------------------------------------------------------------


def _items(values: Any, check: Check) -> Errors | None:
    errors: Errors | None = None
    for index, item in enumerate(values):
        found = check(item)
        if found:
            errors = errors or []
            errors.extend(prefixed(f"[{index}]", found))
    return errors


def _element_check(tp: Any) -> tuple[Check, type | None]:
    element = get_args(tp)[0] if get_args(tp) else Any
    exact = element if element in (str, bool) else None
    return type_checker(element), exact


def _check_sequence(tp: Any, kinds: tuple[type[Any], ...]) -> Check:
    element, exact = _element_check(tp)

    def check_sequence(value: Any) -> Errors | None:
        if not isinstance(value, kinds) or isinstance(value, (str, bytes)):
            return _expected(tp, value)
        if exact is not None:
            for item in value:
                if item.__class__ is not exact:
                    break
            else:
                return None
        for item in value:
            if element(item) is not None:
                return _items(value, element)  # again, naming every bad item
        return None

    return check_sequence


def _check_fixed_tuple(tp: Any) -> Check:
    args = [a for a in get_args(tp) if a != ()]
    checks = [type_checker(a) for a in args]

    def check_fixed_tuple(value: Any) -> Errors | None:
        if not isinstance(value, tuple):
            return _expected(tp, value)
        if len(value) != len(checks):
            return [("", f"expected {len(checks)} items ({type_name(tp)}), got {len(value)}")]
        errors: Errors | None = None
        for index, (check, item) in enumerate(zip(checks, value, strict=True)):
            found = check(item)
            if found:
                errors = errors or []
                errors.extend(prefixed(f"[{index}]", found))
        return errors

    return check_fixed_tuple


def _check_mapping(tp: Any) -> Check:
    args = get_args(tp)
    key_type, value_type = args if len(args) == 2 else (str, Any)
    key_check = type_checker(key_type)
    value_check = type_checker(value_type)
    plain_keys = key_type is str or key_type is Any

    def check_mapping(value: Any) -> Errors | None:
        if not isinstance(value, Mapping):
            return _expected(tp, value)
        errors: Errors | None = None
        for key, item in value.items():
            where = f"[{key!r}]"
            if plain_keys:
                bad_key = None if isinstance(key, str) else _expected(str, key)
            else:
                bad_key = key_check(key)
            if bad_key:
                errors = errors or []
                errors.extend((where, f"key: {message}") for _, message in bad_key)
            found = value_check(item)
            if found:
                errors = errors or []
                errors.extend(prefixed(where, found))
        return errors

    return check_mapping


def _check_union(tp: Any) -> Check:
    members = [a for a in get_args(tp) if a is not type(None)]
    optional = len(members) < len(get_args(tp))
    checks = [type_checker(m) for m in members]

    if len(checks) == 1:
        only, member = checks[0], members[0]

        def check_optional(value: Any) -> Errors | None:
            if value is None:
                return None
            found = only(value)
            if found and len(found) == 1 and found[0] == _expected(member, value)[0]:
                return _expected(tp, value)  # "expected str | None", not "expected str"
            return found  # a message of its own (what to write instead, ...) is kept

        return check_optional

    def check_union(value: Any) -> Errors | None:
        if value is None and optional:
            return None
        best: Errors | None = None
        for check in checks:
            found = check(value)
            if not found:
                return None
            if found[0][0] != "" or "expected" not in found[0][1]:
                best = found  # the right kind of value, with a problem inside
        return best or _expected(tp, value)

    return check_union


# --- references --------------------------------------------------------------------


def _check_ref(tp: Any) -> Check:
    """A ``Ref`` to the field's class or a subclass; the usual mistakes named with what
    to write instead."""
    target = ref_target(tp)
    name = target.__name__

    def check_ref(value: Any) -> Errors | None:
        if value.__class__ is Ref:
            if value.model is target or issubclass(value.model, target):
                return None
            return [("", f"expected {type_name(tp)}, got {value!r}")]
        if isinstance(value, target):
            if value.id is None:
                problem = (
                    f"a {type(value).__name__} with no id yet: add it to a session first "
                    "(Session.add gives it its id), then refer to it"
                )
            else:
                problem = (
                    f"the {type(value).__name__} {value.id!r} itself: store Ref.to(it) (a "
                    "field converts a document assigned to it; one put into a list or dict "
                    "is not converted)"
                )
            return [("", f"expected {type_name(tp)}, got {problem}")]
        if isinstance(value, str):
            return [
                ("", f"expected {type_name(tp)}, got str {value!r}: write Ref({name}, {value!r})")
            ]
        if is_document(value):
            return [("", f"expected {type_name(tp)}, got {type(value).__name__} {value.id!r}")]
        return _expected(tp, value)

    return check_ref


# --- attrs classes ---------------------------------------------------------------------


def _check_attrs(tp: type) -> Check:
    # A Document field is dumped as the class it holds; a nested attrs class as the
    # declared one, so a subclass there would lose its own fields.
    subclasses_kept = isinstance(tp, type) and issubclass(tp, Document)
    own: list[Check] = []  # tp's class checker, found on first use (tp may be recursive)

    def check_attrs(value: Any) -> Errors | None:
        if value.__class__ is tp:
            if not own:
                own.append(class_checker(tp))
            return own[0](value)
        if not (subclasses_kept and isinstance(value, tp)):
            if isinstance(value, tp):
                return [
                    (
                        "",
                        f"expected {type_name(tp)}, got its subclass {type(value).__name__}: "
                        f"only {type_name(tp)}'s fields would be stored; declare the field "
                        f"as {type(value).__name__}, or as a union of the classes with "
                        "register_tagged_union()",
                    )
                ]
            return _expected(tp, value)
        return class_checker(type(value))(value)

    return check_attrs


_CLASS_CHECKERS: dict[type, Check] = {}


def class_checker(cls: type) -> Check:
    """The checker of every declared field of an attrs class (a Document's too).

    Two functions: ``check_fields`` runs every field's checker and collects the errors;
    in front of it, a function generated for the class tests the usual values inline (a
    class test for ``str``, a class and range test for ``int``, a loop of class tests
    for ``list[str]``, ...) and calls ``check_fields`` only when one of them is not
    plainly right. Saving pays for a few comparisons per field, not a call per value.
    """
    found = _CLASS_CHECKERS.get(cls)
    if found is not None:
        return found
    fields: list[tuple[str, Check]] = []

    def check_fields(obj: Any) -> Errors | None:
        errors: Errors | None = None
        for name, check in fields:
            value = getattr(obj, name, _MISSING)
            if value is not _MISSING:  # built without __init__: nothing to check
                found = check(value)
                if found:
                    errors = errors or []
                    errors.extend(prefixed(name, found))
        if keeps_extra:
            extra = getattr(obj, "extra", None)
            found = _check_extra(extra, is_document) if extra else None
            if found:
                errors = errors or []
                errors.extend(prefixed("extra", found))
        return errors

    # Registered before the fields are read, so a recursive class finds itself.
    _CLASS_CHECKERS[cls] = check_fields
    attrs.resolve_types(cls)
    keeps_extra = "extra" in attrs.fields_dict(cls)
    is_document = issubclass(cls, Document)
    for attribute in attrs.fields(cls):
        if attribute.name not in _NOT_CHECKED:
            fields.append((attribute.name, attribute_checker(attribute)))
    fast = _generated_check(cls, fields, keeps_extra, is_document, check_fields)
    _CLASS_CHECKERS[cls] = fast
    return fast


def _generated_check(
    cls: type,
    fields: list[tuple[str, Check]],
    keeps_extra: bool,
    is_document: bool,
    check_fields: Check,
) -> Check:
    namespace: dict[str, Any] = {
        "full": check_fields,
        "check_extra": _check_extra,
        "is_document": is_document,
        "Decimal": Decimal,
        "MAX": MAX_EXACT_INT,
        "MIN": -MAX_EXACT_INT,
    }
    body: list[str] = []
    attributes = attrs.fields_dict(cls)
    # Documents and Embedded classes keep their values in __dict__: a dict lookup is
    # cheaper than attribute access (which first looks for a descriptor on the class).
    in_dict = (
        "__slots__" not in vars(cls)
        and isinstance(cls, type)
        and not any("__slots__" in vars(base) for base in cls.__mro__[:-1])
    )
    load = "d[{name!r}]" if in_dict else "obj.{name}"
    if in_dict:
        body.append("d = obj.__dict__")
    for index, (name, check) in enumerate(fields):
        attribute = attributes[name]
        body.append("v = " + load.format(name=name))
        body.extend(_inline_test(attribute.type, decimal_storage(attribute), f"check{index}"))
        namespace[f"check{index}"] = check
    if keeps_extra:
        body.append("v = " + load.format(name="extra"))
        body.append("if v and check_extra(v, is_document) is not None: return full(obj)")
    source = ["def check_class(obj):", "    try:"]
    source.extend(f"        {line}" for line in body or ["pass"])
    source.append("    except (AttributeError, KeyError):")  # built without __init__
    source.append("        return full(obj)")
    source.append("    return None")
    exec("\n".join(source), namespace)  # code made here, from the field types alone
    generated: Check = namespace["check_class"]
    return generated


#: Per scalar type, a test (of the value ``{v}``) that it is plainly right to store: the
#: generated checks here and the compiled encoder (codecs.py) write these inline.
SCALAR_TESTS = {
    str: "{v}.__class__ is str",
    bool: "{v}.__class__ is bool",
    int: "{v}.__class__ is int and MIN <= {v} <= MAX",
    # Finite and not subnormal, in comparisons for the usual magnitudes.
    float: (
        "{v}.__class__ is float and -1e300 < {v} < 1e300 "
        "and ({v} > 1e-300 or {v} < -1e-300 or {v} == 0.0)"
    ),
}


def _inline_test(tp: Any, storage: DecimalStorage | None, check: str) -> list[str]:
    """Lines that ``return full(obj)`` unless the value ``v`` is plainly right."""
    bare = strip_optional(tp)
    optional = "v is None or " if bare is not tp else ""
    if storage is not None and storage.places is not None:
        # The dump writes the number (and refuses what a double can't hold exactly).
        return [
            f"if not ({optional}(v.__class__ is Decimal and v.is_finite() "
            f"and v.as_tuple().exponent >= -{storage.places})): return full(obj)"
        ]
    if bare is Decimal:
        # A Decimal stored as a number is refused by its dump if no double holds it; one
        # stored as text (as_string) would be written whatever it is, NaN included.
        finite = " and v.is_finite()" if storage is not None else ""
        return [f"if not ({optional}(v.__class__ is Decimal{finite})): return full(obj)"]
    scalar = SCALAR_TESTS.get(bare)
    if scalar is not None:
        return [f"if not ({optional}({scalar.format(v='v')})): return full(obj)"]
    element = get_args(bare)[0] if get_args(bare) else None
    if get_origin(bare) is list and element in SCALAR_TESTS and not optional:
        item = SCALAR_TESTS[element].format(v="x")
        return [
            "if v.__class__ is not list: return full(obj)",
            "for x in v:",
            f"    if not ({item}): return full(obj)",
        ]
    return [f"if {check}(v) is not None: return full(obj)"]


_MISSING: Any = object()


def attribute_checker(attribute: attrs.Attribute[Any]) -> Check:
    """The checker for one declared field, with its field options (Decimal storage)."""
    storage = decimal_storage(attribute)
    if storage is None:
        return type_checker(attribute.type)
    tp = attribute.type
    check = _check_decimal(tp, storage)
    if strip_optional(tp) is not tp:

        def check_optional_decimal(value: Any) -> Errors | None:
            return None if value is None else check(value)

        return check_optional_decimal
    return check


# --- dispatch --------------------------------------------------------------------------

_LISTS = (list, Sequence, MutableSequence)
_SETS = (set, frozenset, AbstractSet, MutableSet)
_MAPPINGS = (dict, Mapping, MutableMapping)

_TYPE_CHECKERS: dict[Any, Check] = {}


def _sequence_kinds(origin: Any) -> tuple[type[Any], ...]:
    # A list field loads a list: a tuple given for it would come back as another value
    # (``[1] != (1,)``). A field declared as the abstract Sequence takes either.
    return (list, tuple) if origin is Sequence else (list,)


def _no_check(value: Any) -> Errors | None:
    return None


def type_checker(tp: Any) -> Check:
    """The checker for values of ``tp`` (cached)."""
    try:
        return _TYPE_CHECKERS[tp]
    except KeyError:
        pass
    except TypeError:  # an unhashable type argument
        return _make_checker(tp)
    check = _make_checker(tp)
    _TYPE_CHECKERS[tp] = check
    return check


#: Types taught to the converter with ``register_type``: their checkers.
_REGISTERED: dict[type, Check] = {}


def check_registered(tp: type, dump: Callable[[Any], Any], load: Callable[[Any], Any]) -> None:
    """From now on, check a value for a field of ``tp`` (a type given to
    ``register_type``) by writing and reading it back, unless it is exactly a ``tp``:
    a plain ``str`` for a ``class Sku(str)`` whose ``load`` refuses it would be written
    and then not load."""

    def check_round_trip(value: Any) -> Errors | None:
        if value.__class__ is tp:
            return None
        try:
            load(dump(value))
        except Exception as exc:
            return [("", f"{value!r} doesn't read back as {tp.__name__}: {exc}")]
        return None

    _REGISTERED[tp] = check_round_trip
    # Checkers made before hold the old one.
    _TYPE_CHECKERS.clear()
    _CLASS_CHECKERS.clear()


def _make_checker(tp: Any) -> Check:
    registered = _REGISTERED.get(tp) if isinstance(tp, type) else None
    if registered is not None:
        return registered
    if tp is Any or tp is object:
        return _check_json
    origin = get_origin(tp)
    if origin is Annotated:
        return type_checker(get_args(tp)[0])
    if origin is Union or isinstance(tp, types.UnionType):
        return _check_union(tp)
    if origin is Literal:
        return _check_literal(tp)
    if is_ref_type(tp):
        return _check_ref(tp)
    if origin is not None:
        if origin in _LISTS:
            return _check_sequence(tp, _sequence_kinds(origin))
        if origin in _SETS:
            return _check_sequence(tp, (set, frozenset))
        if origin is tuple:
            args = get_args(tp)
            if len(args) == 2 and args[1] is Ellipsis:
                return _check_sequence(tp, (tuple,))
            return _check_fixed_tuple(tp)
        if origin in _MAPPINGS:
            return _check_mapping(tp)
        return _no_check  # another generic: the converter decides
    if tp is str:
        return _instance(str, tp)  # a str Enum or subclass is written as its text
    if tp is bool:
        return _exact(bool, tp)
    if tp is int:
        return _check_int(tp)
    if tp is float:
        return _check_float(tp)
    if tp is Decimal:
        return _check_decimal(tp, None)
    if tp is date:
        return _check_date(tp)
    if tp in _LISTS:
        return _check_sequence(tp, _sequence_kinds(tp))
    if tp in _SETS:
        return _check_sequence(tp, (set, frozenset))
    if tp is tuple:
        return _check_sequence(tp, (tuple,))
    if tp in _MAPPINGS:
        return _check_mapping(tp)
    if tp is bytes:
        return _instance((bytes, bytearray), tp)
    if isinstance(tp, type):
        if attrs.has(tp):
            return _check_attrs(tp)
        if issubclass(tp, Enum):
            return _instance(tp, tp)
        if issubclass(tp, bool):
            return _instance(tp, tp)
        if issubclass(tp, int):
            base = _check_int(tp)
            return lambda value: base(value) if isinstance(value, int) else _expected(tp, value)
        if issubclass(tp, str):  # class UserId(str): loaded as UserId(text)
            return _instance(str, tp)
        if issubclass(tp, float):
            return _check_float(tp)
        # datetime, time, UUID, and types registered with register_type(): instances.
        return _instance(tp, tp)
    return _no_check  # a TypeVar, a NewType, a string annotation: the converter decides

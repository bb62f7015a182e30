"""Compiled codecs: code generated per document class for its usual values.

Three functions are generated (with ``exec``, from the class's field types alone) the
first time a class is converted:

- an **encoder**, object -> canonical JSON text (sorted keys, compact, no ``_rev``) in one
  pass: the write check, the dump and the encoding of each value together. The text is
  both the request body and the session's snapshot.
- a **dumper**, object -> the JSON body as a dict (what ``to_json`` gives), the same way.
- a **loader**, decoded JSON -> object, testing each value's class inline and calling the
  class's ``__init__`` once, without the converter's generic walk (a hook call per value).

Values of the common types (``str``, ``int``, ``float``, ``bool``, those or None, and
lists of them; a ``Decimal``, an aware ``datetime`` and an embedded attrs class whose
fields are of these kinds, and those or None) are tested and written inline, each in one
pass; a field of another type goes through the converter's own hooks and checker for its
type, given by :mod:`conversion`. A type is written inline only while the converter
converts it with the hooks it made itself (none registered for it since). For anything
not plainly right (a value of another type, a number out of range, unknown keys,
attachments, a subclass, a hook that refuses) they answer None, and the caller takes the
general path in :mod:`conversion`, which gives the same answer or says what is wrong. So
what is valid is defined once, there (and in :mod:`checks`); the compiled code is a
shortcut to the same result, and the tests compare the two.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Union, cast, get_args, get_origin

import attrs

from cloudant_odm._typing import strip_optional
from cloudant_odm.client.encoding import canonical_text
from cloudant_odm.models.checks import (
    MAX_EXACT_INT,
    SCALAR_TESTS,
    decimal_as_number,
    encodes,
    holds_lone_surrogate,
    parse_datetime,
    stored_decimal,
)
from cloudant_odm.models.document import Document, Embedded, _Model
from cloudant_odm.models.fields import DecimalStorage, decimal_storage, json_key

__all__ = [
    "ClassHooks",
    "Dumper",
    "Encoder",
    "FieldHooks",
    "Hooks",
    "Loader",
    "compile_dumper",
    "compile_encoder",
    "compile_loader",
]

#: Canonical JSON text of a document without ``_rev``, and its rev; None: not compiled.
Encoder = Callable[[Any], "tuple[str, str | None] | None"]
#: The JSON body of a document as a dict (as to_json gives it); None: not compiled.
Dumper = Callable[[Any], "dict[str, Any] | None"]
#: The object for a decoded document; None: take the general path.
Loader = Callable[[Mapping[str, Any]], Any]

#: How each scalar is written, as the standard library's encoder writes it (``json``
#: formats floats and ints with their ``repr``).
_WRITE = {
    str: "enc({v})",
    int: "int_repr({v})",
    float: "float_repr({v})",
    bool: "('true' if {v} else 'false')",
}
_WRITE_ITEMS = {
    str: "','.join(map(enc, {v}))",
    int: "','.join(map(int_repr, {v}))",
    float: "','.join(map(float_repr, {v}))",
    bool: "','.join(['true' if x else 'false' for x in {v}])",
}
#: Per scalar type, a test that a decoded value is NOT one the loader takes as it is (a
#: float field also takes an integer within ±2**53 - 1, which a double holds exactly; the
#: general loader says whether a larger one is held exactly).
_LOAD_TESTS = {
    str: "{v}.__class__ is not str",
    int: "{v}.__class__ is not int",
    bool: "{v}.__class__ is not bool",
    float: "{v}.__class__ is not float and not ({v}.__class__ is int and MIN <= {v} <= MAX)",
}


_NAMESPACE: dict[str, Any] = {
    "enc": json.encoder.encode_basestring,
    "int_repr": int.__repr__,
    "float_repr": float.__repr__,
    "MISSING": object(),
    "MAX": MAX_EXACT_INT,  # for SCALAR_TESTS
    "MIN": -MAX_EXACT_INT,
    "Decimal": Decimal,
    "datetime": datetime,
    "UTC": timezone.utc,
    "as_number": decimal_as_number,
    "stored_decimal": stored_decimal,
    "parse_datetime": parse_datetime,
    "text": canonical_text,
    "encodes": encodes,
    "holds_lone_surrogate": holds_lone_surrogate,
}


@attrs.frozen
class FieldHooks:
    """How the converter loads, dumps and checks one field (conversion.py's hooks)."""

    load: Callable[[Any, Any], Any]
    dump: Callable[[Any], Any]
    check: Callable[[Any], Any]


@attrs.frozen
class ClassHooks:
    """The hooks of a document class's fields, and which types the converter still
    converts with the hooks it made itself (the compiled code follows those inline)."""

    fields: Mapping[str, FieldHooks]
    builtin: Callable[[Any], bool]


#: None: the class's documents need options the hooks read from a context (naive
#: datetimes, dropped keys): nothing but the plain scalars compiled.
Hooks = ClassHooks | None

# The document members that are not declared fields of its JSON body.
_OWN = ("id", "rev", "extra", "meta")


# --- the kinds of field written inline -------------------------------------------------


@attrs.frozen
class _Scalar:
    tp: type
    optional: bool
    is_list: bool


@attrs.frozen
class _Decimal:
    optional: bool
    storage: DecimalStorage | None


@attrs.frozen
class _DateTime:
    optional: bool
    #: For a datetime in another timezone: the field's hooks (a document's own field), or
    #: None (step aside).
    hooks: FieldHooks | None


@attrs.frozen
class _Nested:
    """An attrs class (Embedded or plain) whose fields are all written inline."""

    cls: type
    optional: bool
    fields: tuple[_Field, ...]
    embedded: bool


@attrs.frozen
class _Hooked:
    """Any other type of a document's own field: through its hooks."""

    hooks: FieldHooks
    tp: Any


_Kind = Union[_Scalar, _Decimal, _DateTime, _Nested, _Hooked]  # noqa: UP007


@attrs.frozen
class _Field:
    attribute: attrs.Attribute[Any]
    key: str
    kind: _Kind


def _kind(
    attribute: attrs.Attribute[Any],
    builtin: Callable[[Any], bool],
    hooks: FieldHooks | None,
    seen: frozenset[type],
) -> _Kind | None:
    """How the compiled code handles a field, or None when it can't."""
    tp = attribute.type
    bare = strip_optional(tp)
    optional = bare is not tp
    storage = decimal_storage(attribute)
    # A field with storage options has hooks of its own (conversion._decimal_hooks).
    if bare is Decimal and (storage is not None or builtin(Decimal)):
        return _Decimal(optional, storage)
    if storage is not None:
        return None
    if bare in _WRITE:
        return _Scalar(bare, optional, False)
    if bare is datetime and builtin(datetime):
        return _DateTime(optional, hooks)
    args = get_args(bare)
    if get_origin(bare) is list and len(args) == 1 and args[0] in _WRITE and not optional:
        return _Scalar(args[0], False, True)
    if isinstance(bare, type) and attrs.has(bare) and bare not in seen and builtin(bare):
        return _nested(bare, optional, builtin, seen | {bare})
    return None


def _nested(
    cls: type, optional: bool, builtin: Callable[[Any], bool], seen: frozenset[type]
) -> _Nested | None:
    embedded = issubclass(cls, Embedded)
    if issubclass(cls, _Model) and not embedded:  # a Document: dumped as what it holds
        return None
    try:
        attrs.resolve_types(cls)
    except Exception:  # the converter reports it
        return None
    keys: Mapping[str, str] = cast(Any, cls)._options.keys if embedded else {}
    found: list[_Field] = []
    for attribute in attrs.fields(cls):
        if embedded and attribute.name == "extra":
            continue
        default: Any = attribute.default
        if not attribute.init or (isinstance(default, attrs.Factory) and default.takes_self):  # type: ignore[arg-type]
            return None
        key = keys.get(attribute.name) or json_key(attribute)
        kind = _kind(attribute, builtin, None, seen)
        if kind is None:
            return None
        found.append(_Field(attribute, key, kind))
    return _Nested(cls, optional, tuple(found), embedded)


def _fields(cls: type[Document], hooks: Hooks) -> list[_Field] | None:
    """How each declared field is handled, or None when one has neither inline code
    nor hooks."""
    keys = cls._options.keys
    builtin = hooks.builtin if hooks is not None else _none_builtin
    found: list[_Field] = []
    for attribute in attrs.fields(cast(Any, cls)):
        if attribute.name in _OWN:
            continue
        key = keys.get(attribute.name, attribute.name)
        own = hooks.fields.get(attribute.name) if hooks is not None else None
        kind = _kind(attribute, builtin, own, frozenset({cls}))
        if kind is None and own is not None:
            kind = _Hooked(own, attribute.type)
        if kind is None:
            return None
        found.append(_Field(attribute, key, kind))
    return found


def _none_builtin(_: Any) -> bool:
    return False


# --- writing the code ------------------------------------------------------------------


class _Code:
    """The lines of a generated function, and the names they use."""

    def __init__(self, namespace: dict[str, Any] | None = None) -> None:
        self.namespace: dict[str, Any] = {**_NAMESPACE, **(namespace or {})}
        self.lines: list[str] = []
        self._indent = ""
        self._count = 0

    def fresh(self, prefix: str) -> str:
        """A new variable name."""
        self._count += 1
        return f"{prefix}{self._count}"

    def bind(self, prefix: str, value: Any) -> str:
        """A new name for ``value``, in the function's globals."""
        name = self.fresh(prefix)
        self.namespace[name] = value
        return name

    def add(self, *lines: str) -> None:
        self.lines.extend(self._indent + line for line in lines)

    @contextmanager
    def block(self, header: str) -> Iterator[None]:
        self.add(header)
        self._indent += "    "
        try:
            yield
        finally:
            self._indent = self._indent[:-4]

    def compile(self, header: str) -> Any:
        """The function ``header`` (``def f(x):``) with these lines as its body."""
        source = [header, *(f"    {line}" for line in self.lines)]
        exec("\n".join(source), self.namespace)  # code made here, from the field types alone
        return self.namespace[header[4 : header.index("(")]]


@contextmanager
def _unless_none(code: _Code, optional: bool, v: str, out: str, none: str) -> Iterator[None]:
    """The lines written in the block run when ``v`` is not None; for an optional kind
    ``out`` is set to ``none`` when it is."""
    if not optional:
        yield
        return
    with code.block(f"if {v} is None:"):
        code.add(f"{out} = {none}")
    with code.block("else:"):
        yield


def _dump_value(code: _Code, kind: _Kind, v: str, encode: bool) -> str:
    """Lines that ``return None`` unless the value ``v`` is plainly right; the expression
    of its JSON form (its text when ``encode``, else the value to_json gives)."""
    if isinstance(kind, _Scalar):
        return _dump_scalar(code, kind, v, encode)
    if isinstance(kind, _Hooked):
        check = code.bind("check", kind.hooks.check)
        dump = code.bind("dump", kind.hooks.dump)
        out = code.fresh("w")
        code.add(f"if {check}({v}) is not None: return None", f"{out} = {dump}({v})")
        if not encode:
            code.add(f"if holds_lone_surrogate({out}): return None")
        return f"text({out})" if encode else out
    out = code.fresh("w")
    with _unless_none(code, kind.optional, v, out, "'null'" if encode else "None"):
        if isinstance(kind, _Decimal):
            _dump_decimal(code, kind, v, out, encode)
        elif isinstance(kind, _DateTime):
            _dump_datetime(code, kind, v, out, encode)
        else:
            _dump_nested(code, kind, v, out, encode)
    return out


def _scalar_test(tp: type, v: str, encode: bool) -> str:
    """The test that ``v`` is plainly right; a str for the dumper also one UTF-8 carries
    (the encoder's text fails to encode instead)."""
    test = SCALAR_TESTS[tp].format(v=v)
    return f"{test} and ({v}.isascii() or encodes({v}))" if tp is str and not encode else test


def _dump_scalar(code: _Code, kind: _Scalar, v: str, encode: bool) -> str:
    if kind.is_list:
        code.add(f"if {v}.__class__ is not list: return None")
        with code.block(f"for x in {v}:"):
            code.add(f"if not ({_scalar_test(kind.tp, 'x', encode)}): return None")
        return "'[' + " + _WRITE_ITEMS[kind.tp].format(v=v) + " + ']'" if encode else f"list({v})"
    test = _scalar_test(kind.tp, v, encode)
    code.add(
        f"if not ({v} is None or {test}): return None"
        if kind.optional
        else f"if not ({test}): return None"
    )
    if not encode:
        return v
    write = _WRITE[kind.tp].format(v=v)
    return f"('null' if {v} is None else {write})" if kind.optional else write


def _dump_decimal(code: _Code, kind: _Decimal, v: str, out: str, encode: bool) -> None:
    # The stored number (or text) computed once: it is both the check and the value.
    code.add(f"if {v}.__class__ is not Decimal: return None")
    if kind.storage is None:
        code.add(f"{out} = as_number({v})")
    else:
        code.add(f"{out} = stored_decimal({v}, {code.bind('storage', kind.storage)})")
    code.add(f"if {out} is None: return None")
    if not encode:
        return
    if kind.storage is not None and kind.storage.as_string:
        code.add(f"{out} = enc({out})")
    else:
        code.add(f"{out} = float_repr({out}) if {out}.__class__ is float else int_repr({out})")


def _dump_datetime(code: _Code, kind: _DateTime, v: str, out: str, encode: bool) -> None:
    # In UTC already: what conversion._dump_datetime writes, six fractional digits.
    iso = f"{v}.isoformat('T', 'microseconds')"
    with code.block(f"if {v}.__class__ is datetime and {v}.tzinfo is UTC:"):
        code.add(f"{out} = '\"' + {iso} + '\"'" if encode else f"{out} = {iso}")
    with code.block("else:"):
        if kind.hooks is None:
            code.add("return None")
            return
        check = code.bind("check", kind.hooks.check)
        dump = code.bind("dump", kind.hooks.dump)
        code.add(f"if {check}({v}) is not None: return None", f"{out} = {dump}({v})")
        if encode:
            code.add(f"{out} = text({out})")


def _dump_nested(code: _Code, kind: _Nested, v: str, out: str, encode: bool) -> None:
    # The declared class only (a subclass's own fields would be lost), without unknown
    # keys to write back.
    code.add(f"if {v}.__class__ is not {code.bind('nested', kind.cls)}: return None")
    if kind.embedded:
        code.add(f"if {v}.extra: return None")
    members: list[tuple[str, str | None, str | None]] = []
    for field in kind.fields:
        value = code.fresh("a")
        code.add(f"{value} = {v}.{field.attribute.name}")
        members.append((field.key, None, _dump_value(code, field.kind, value, encode)))
    if encode:
        code.add(f"{out} = {_template(sorted(members, key=lambda m: m[0]))}")
    else:  # in field order, as cattrs' unstructure function builds it
        code.add(f"{out} = {{{', '.join(f'{key!r}: {write}' for key, _, write in members)}}}")


def _dump_function(
    cls: type[Document],
    fields: list[_Field],
    encode: bool,
    result: Callable[[_Code, list[str]], None],
) -> Any:
    """A function of ``obj`` that returns None unless it is plainly right, with ``i``,
    ``r`` (the id and the rev) and the JSON form of each field (the expressions given to
    ``result``, which adds the lines returning what the function gives)."""
    code = _Code({"cls": cls})
    # Attributes read one by one, not through obj.__dict__: asking for an object's
    # __dict__ makes it one (a dict per new document, about 0.2 µs and 64 bytes).
    code.add("if obj.__class__ is not cls: return None")
    writes = []
    with code.block("try:"):
        code.add(
            "if obj.extra or obj.meta.attachments is not None: return None",
            "i = obj.id",
            "r = obj.rev",
            "if r is not None and r.__class__ is not str: return None",
            "if i is not None and i.__class__ is not str: return None",
        )
        if not encode:
            # The dict is not encoded here: a lone surrogate is found now, as the general
            # path finds it (the encoder's text fails to encode instead).
            code.add(
                "if i is not None and not (i.isascii() or encodes(i)): return None",
                "if r is not None and not (r.isascii() or encodes(r)): return None",
            )
        for field in fields:
            v = code.fresh("v")
            code.add(f"{v} = obj.{field.attribute.name}")
            writes.append(_dump_value(code, field.kind, v, encode))
        result(code, writes)
    # KeyError, AttributeError: built without __init__; the others: a value a hook
    # refuses or can't write (NaN), that the general path names.
    with code.block("except (KeyError, AttributeError, ValueError, TypeError, RecursionError):"):
        code.add("return None")
    return code.compile("def encode(obj):" if encode else "def dump(obj):")


def _constants(cls: type[Document]) -> list[tuple[str, Any]]:
    """The members every document of ``cls`` has: its type, and its schema version."""
    options = cls._options
    found: list[tuple[str, Any]] = [(options.type_field, options.doc_type)]
    if options.schema_version is not None:
        found.append((options.schema_version_key, options.schema_version))
    return found


def compile_encoder(cls: type[Document], hooks: Hooks) -> Encoder | None:
    """The encoder of ``cls`` (see the module), or None when it has a field it can't
    write. ``cls``'s annotations must be resolved (the converter does it first)."""
    fields = _fields(cls, hooks)
    if fields is None or cls._options.abstract:
        return None

    def result(code: _Code, writes: list[str]) -> None:
        # Each member of the JSON body: (key, JSON text, None) for a constant, (key,
        # None, Python expression) for a value; in the sorted order of the keys.
        parts: list[tuple[str, str | None, str | None]] = [
            (key, json.dumps(value, ensure_ascii=False), None) for key, value in _constants(cls)
        ]
        parts += [(field.key, None, write) for field, write in zip(fields, writes, strict=True)]
        parts.sort(key=lambda part: part[0])  # the keys' order, as sort_keys gives it
        with_id = sorted([*parts, ("_id", None, "enc(i)")], key=lambda part: part[0])
        code.add("if i is None: return " + _template(parts) + ", r")
        code.add("return " + _template(with_id) + ", r")

    encoder: Encoder = _dump_function(cls, fields, True, result)
    return encoder


def compile_dumper(cls: type[Document], hooks: Hooks) -> Dumper | None:
    """The dumper of ``cls``: the object's JSON body as a dict (what ``to_json`` gives,
    members in the same order), or None when it has a field it can't dump."""
    fields = _fields(cls, hooks)
    if fields is None or cls._options.abstract:
        return None

    def result(code: _Code, writes: list[str]) -> None:
        members = [f"{key!r}: {code.bind('constant', value)}" for key, value in _constants(cls)]
        members += [f"{field.key!r}: {write}" for field, write in zip(fields, writes, strict=True)]
        # _id and _rev first, as to_json puts them (and only when set).
        code.add(f"out = {{'_id': i, '_rev': r, {', '.join(members)}}}")
        code.add("if i is None: del out['_id']", "if r is None: del out['_rev']", "return out")

    dumper: Dumper = _dump_function(cls, fields, False, result)
    return dumper


def _template(parts: list[tuple[str, str | None, str | None]]) -> str:
    """A ``%`` expression writing the JSON object of ``parts`` (see compile_encoder)."""
    texts, values = [], []
    for key, constant, write in parts:
        head = json.dumps(key, ensure_ascii=False) + ":"
        if write is None:
            texts.append(f"{head}{constant}".replace("%", "%%"))
        else:
            texts.append(head.replace("%", "%%") + "%s")
            values.append(write)
    template = "{" + ",".join(texts) + "}"
    if not values:  # a class without fields: the text is a constant
        return repr(template.replace("%%", "%"))
    return f"{template!r} % ({', '.join(values)},)"


def _load_value(code: _Code, kind: _Kind, v: str) -> None:
    """Lines that ``return None`` unless the decoded value ``v`` is one the general
    loader takes as plainly right, and put the loaded value in ``v``."""
    if isinstance(kind, _Scalar):
        _load_scalar(code, kind, v)
    elif isinstance(kind, _Hooked):
        load, tp = code.bind("load", kind.hooks.load), code.bind("type", kind.tp)
        code.add(f"{v} = {load}({v}, {tp})")
    elif kind.optional:
        with code.block(f"if {v} is not None:"):
            _load_present(code, kind, v)
    else:
        _load_present(code, kind, v)


def _load_scalar(code: _Code, kind: _Scalar, v: str) -> None:
    if kind.is_list:
        code.add(f"if {v}.__class__ is not list: return None")
        with code.block(f"for x in {v}:"):
            code.add(f"if {_LOAD_TESTS[kind.tp].format(v='x')}: return None")
        # The object's own list (of floats: JSON writers may send 3 for 3.0).
        code.add(f"{v} = [float(x) for x in {v}]" if kind.tp is float else f"{v} = list({v})")
        return
    test = _LOAD_TESTS[kind.tp].format(v=v)
    code.add(
        f"if {v} is not None and {test}: return None"
        if kind.optional
        else f"if {test}: return None"
    )
    if kind.tp is float:
        code.add(f"{v} = float({v}) if {v}.__class__ is int else {v}")


def _load_present(code: _Code, kind: _Decimal | _DateTime | _Nested, v: str) -> None:
    if isinstance(kind, _Decimal):
        # As conversion._load_decimal (and a field's places: _decimal_hooks) load it.
        code.add(
            f"if {v}.__class__ is str or {v}.__class__ is int: {v} = Decimal({v})",
            f"elif {v}.__class__ is float: {v} = Decimal(float_repr({v}))",
            "else: return None",
            f"if not {v}.is_finite(): return None",
        )
        quantum = kind.storage.quantum if kind.storage is not None else None
        if quantum is not None:
            exact = code.fresh("e")
            code.add(
                f"{exact} = {v}.quantize({code.bind('quantum', quantum)})",
                f"if {exact} != {v}: return None",
                f"{v} = {exact}",
            )
    elif isinstance(kind, _DateTime):
        code.add(
            f"if {v}.__class__ is not str: return None",
            f"{v} = parse_datetime({v})",
            f"if {v}.tzinfo is None: return None",  # naive: refused
        )
    else:
        known = code.bind("known", frozenset(field.key for field in kind.fields))
        # Unknown keys (refused, or kept in extra): the general path.
        code.add(f"if {v}.__class__ is not dict or not {known}.issuperset({v}): return None")
        arguments = []
        for field in kind.fields:
            value = code.fresh("a")
            required = field.attribute.default is attrs.NOTHING
            _load_member(
                code, field, value, v, None if required else _default(field.attribute, code)
            )
            arguments.append(f"{field.attribute.alias or field.attribute.name}={value}")
        # __init__, as cattrs calls it: validators and converters run.
        code.add(f"{v} = {code.bind('nested', kind.cls)}({', '.join(arguments)})")


def _load_member(code: _Code, field: _Field, v: str, source: str, default: str | None) -> None:
    """Lines that read ``field`` from the decoded object ``source`` into ``v`` and load
    it; a missing value is ``default`` (None: required, step aside)."""
    code.add(f"{v} = {source}.get({field.key!r}, MISSING)")
    if default is None:
        code.add(f"if {v} is MISSING: return None")
        _load_value(code, field.kind, v)
        return
    code.add(f"if {v} is MISSING: {v} = {default}")
    with code.block("else:"):
        _load_value(code, field.kind, v)


def compile_loader(cls: type[Document], hooks: Hooks) -> Loader | None:
    """The loader of ``cls`` (see the module), or None when it has a field it can't read.
    The caller has checked the type field and upgraded older versions."""
    fields = _fields(cls, hooks)
    attributes = attrs.fields_dict(cast(Any, cls))
    if fields is None or not all(a.init for a in attributes.values()):
        return None
    direct = _plain_init(cls, attributes)
    code = _Code({"cls": cls, "new": object.__new__})
    values = {"id": "i", "rev": "r"}  # attribute -> the expression of its value
    for name in ("extra", "meta"):
        values[name] = _default(attributes[name], code)
    with code.block("try:"):
        code.add(
            "i = o.get('_id')",
            "if i is not None and i.__class__ is not str: return None",
            "r = o.get('_rev')",
            "if r is not None and r.__class__ is not str: return None",
        )
        for field in fields:
            attribute = field.attribute
            v = values[attribute.name] = code.fresh("v")
            if attribute.default is attrs.NOTHING:
                default = None
            else:
                default = _default(attribute, code) if direct else "MISSING"
            _load_member(code, field, v, "o", default)
    with code.block("except Exception:"):
        code.add("return None")
    if direct:
        # What attrs' __init__ does, without the call: the values set in field order (as
        # attributes, not a __dict__ of its own: one object fewer for the collector).
        code.add("obj = new(cls)")
        code.add(*(f"obj.{name} = {values[name]}" for name in attributes))
        code.add("return obj")
    else:
        # __init__ runs the validators and converters; a value left MISSING takes the
        # field's default there.
        kw = ", ".join(
            f"{attributes[n].alias or n!r}: {values[n]}"
            for n in values
            if n not in ("extra", "meta")
        )
        code.add(
            f"kw = {{{kw}}}",
            "try:",
            "    return cls(**{k: v for k, v in kw.items() if v is not MISSING})",
            "except Exception:  # a validator: the general path says what is wrong",
            "    return None",
        )
    loader: Loader = code.compile("def load(o):")
    return loader


def _plain_init(cls: type, attributes: Mapping[str, attrs.Attribute[Any]]) -> bool:
    """Whether ``cls``'s ``__init__`` only stores its arguments and defaults (attrs' own,
    no validators, converters or init hooks), so the loader may fill ``__dict__``."""
    init = getattr(vars(cls).get("__init__"), "__code__", None)
    if init is None or not init.co_filename.startswith("<attrs generated"):
        return False
    if hasattr(cls, "__attrs_pre_init__") or hasattr(cls, "__attrs_post_init__"):
        return False
    for attribute in attributes.values():
        if attribute.validator is not None or attribute.converter is not None:
            return False
        default: Any = attribute.default
        if isinstance(default, attrs.Factory) and default.takes_self:  # type: ignore[arg-type]
            return False
    return True


def _default(attribute: attrs.Attribute[Any], code: _Code) -> str:
    """The expression of ``attribute``'s default, with what it needs bound in ``code``."""
    default: Any = attribute.default
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        return code.bind("default", default.factory) + "()"
    return code.bind("default", default)

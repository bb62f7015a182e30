"""Compiled codecs: code generated per document class for its usual values.

Two functions are generated (with ``exec``, from the class's field types alone) the first
time a class is converted:

- an **encoder**, object -> canonical JSON text (sorted keys, compact, no ``_rev``) in one
  pass: the write check, the dump and the encoding of each value together. The text is
  both the request body and the session's snapshot.
- a **loader**, decoded JSON -> object, testing each value's class inline and calling the
  class's ``__init__`` once, without the converter's generic walk (a hook call per value).

Values of the common types (``str``, ``int``, ``float``, ``bool``, those or None, and
lists of them) are tested and written inline; a field of another type (a datetime, a
Decimal, an embedded class, ...) goes through the converter's own hooks and checker for
its type, given by :mod:`conversion`. For anything not plainly right (a value of another
type, a number out of range, unknown keys, attachments, a subclass, a hook that refuses)
they answer None, and the caller takes the general path in :mod:`conversion`, which gives
the same answer or says what is wrong. So what is valid is defined once, there; the compiled
code is a shortcut to the same result, and the tests compare the two.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, cast, get_args, get_origin

import attrs

from cloudant_odm._typing import strip_optional
from cloudant_odm.client.encoding import canonical_text
from cloudant_odm.models.checks import MAX_EXACT_INT, SCALAR_TESTS
from cloudant_odm.models.fields import decimal_storage

if TYPE_CHECKING:
    from cloudant_odm.models.document import Document

__all__ = [
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
#: float field also takes a whole number, as the general loader does).
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
}


@attrs.frozen
class FieldHooks:
    """How the converter loads, dumps and checks one field (conversion.py's hooks)."""

    load: Callable[[Any, Any], Any]
    dump: Callable[[Any], Any]
    check: Callable[[Any], Any]


#: Attribute -> its hooks, for the fields of a class; None: the class's documents need
#: options the hooks read from a context (naive datetimes, dropped keys): none compiled.
Hooks = Mapping[str, FieldHooks] | None

# The document members that are not declared fields of its JSON body.
_OWN = ("id", "rev", "extra", "meta")


def _kind(attribute: attrs.Attribute[Any]) -> tuple[type, bool, bool] | None:
    """(scalar type, optional, list) for a field the compiled code handles, else None."""
    if decimal_storage(attribute) is not None:
        return None
    tp = attribute.type
    bare = strip_optional(tp)
    optional = bare is not tp
    if bare in _WRITE:
        return bare, optional, False
    args = get_args(bare)
    if get_origin(bare) is list and len(args) == 1 and args[0] in _WRITE and not optional:
        return args[0], False, True
    return None


_Field = tuple[str, str, "type | None", bool, bool]


def _fields(cls: type[Document], hooks: Hooks) -> list[_Field] | None:
    """(attribute, JSON key, scalar, optional, list) of each declared field (scalar None:
    through its hooks), or None when one has neither inline code nor hooks."""
    keys = cls._options.keys
    found: list[_Field] = []
    for attribute in attrs.fields(cast(Any, cls)):
        if attribute.name in _OWN:
            continue
        key = keys.get(attribute.name, attribute.name)
        kind = _kind(attribute)
        if kind is not None:
            found.append((attribute.name, key, *kind))
        elif hooks is not None and attribute.name in hooks:
            found.append((attribute.name, key, None, False, False))
        else:
            return None
    return found


def _compile(name: str, source: list[str], namespace: dict[str, Any]) -> Any:
    namespace = {**_NAMESPACE, **namespace}
    exec("\n".join(source), namespace)  # code made here, from the field types alone
    return namespace[name]


def _dump_body(
    cls: type[Document], fields: list[_Field], hooks: Hooks, namespace: dict[str, Any]
) -> list[str]:
    """The lines (of a function of ``obj``) that read each field into ``v<n>`` and
    ``return None`` unless it is plainly right; a field through its hooks is checked and
    dumped into ``w<n>``. Ends with ``i``, ``r``: the id and the rev."""
    namespace["cls"] = cls
    body = [
        "if obj.__class__ is not cls: return None",
        "d = obj.__dict__",
        "try:",
        "    if d['extra'] or d['meta'].attachments is not None: return None",
        "    i = d['id']",
        "    r = d['rev']",
    ]
    for index, (attribute, _, scalar, optional, is_list) in enumerate(fields):
        v = f"v{index}"
        body.append(f"    {v} = d[{attribute!r}]")
        if scalar is None:
            assert hooks is not None
            namespace[f"check{index}"] = hooks[attribute].check
            namespace[f"dump{index}"] = hooks[attribute].dump
            body.append(f"    if check{index}({v}) is not None: return None")
            body.append(f"    w{index} = dump{index}({v})")
        elif is_list:
            test = SCALAR_TESTS[scalar].format(v="x")
            body.append(f"    if {v}.__class__ is not list: return None")
            body.append(f"    for x in {v}:")
            body.append(f"        if not ({test}): return None")
        else:
            test = SCALAR_TESTS[scalar].format(v=v)
            if optional:
                test = f"{v} is None or {test}"
            body.append(f"    if not ({test}): return None")
    # KeyError, AttributeError: built without __init__; the others: a value a hook
    # refuses, that the general path names.
    body.append("except (KeyError, AttributeError, ValueError, TypeError, RecursionError):")
    body.append("    return None")
    body.append("if r is not None and r.__class__ is not str: return None")
    body.append("if i is not None and i.__class__ is not str: return None")
    return body


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
    namespace: dict[str, Any] = {"text": canonical_text}
    body = _dump_body(cls, fields, hooks, namespace)
    # Each member of the JSON body: (key, JSON text, None) for a constant, (key, None,
    # Python expression) for a value; in the sorted order of the keys.
    parts: list[tuple[str, str | None, str | None]] = [
        (key, json.dumps(value, ensure_ascii=False), None) for key, value in _constants(cls)
    ]
    for index, (_, key, scalar, optional, is_list) in enumerate(fields):
        v = f"v{index}"
        if scalar is None:
            write = f"text(w{index})"
        elif is_list:
            write = "'[' + " + _WRITE_ITEMS[scalar].format(v=v) + " + ']'"
        else:
            write = _WRITE[scalar].format(v=v)
            if optional:
                write = f"('null' if {v} is None else {write})"
        parts.append((key, None, write))
    parts.sort(key=lambda part: part[0])  # the keys' order, as sort_keys gives it
    with_id = sorted([*parts, ("_id", None, "enc(i)")], key=lambda part: part[0])
    body.append("try:")
    body.append("    if i is None: return " + _template(parts) + ", r")
    body.append("    return " + _template(with_id) + ", r")
    body.append("except (ValueError, TypeError, RecursionError):  # NaN in a hook's value")
    body.append("    return None")
    source = ["def encode(obj):", *(f"    {line}" for line in body)]
    encoder: Encoder = _compile("encode", source, namespace)
    return encoder


def compile_dumper(cls: type[Document], hooks: Hooks) -> Dumper | None:
    """The dumper of ``cls``: the object's JSON body as a dict (what ``to_json`` gives,
    members in the same order), or None when it has a field it can't dump."""
    fields = _fields(cls, hooks)
    if fields is None or cls._options.abstract:
        return None
    namespace: dict[str, Any] = {}
    body = _dump_body(cls, fields, hooks, namespace)
    members = []
    for index, (key, value) in enumerate(_constants(cls)):
        namespace[f"constant{index}"] = value
        members.append(f"{key!r}: constant{index}")
    for index, (_, key, scalar, _, is_list) in enumerate(fields):
        value = f"w{index}" if scalar is None else f"list(v{index})" if is_list else f"v{index}"
        members.append(f"{key!r}: {value}")
    # _id and _rev first, as to_json puts them (and only when set).
    body.append(f"out = {{'_id': i, '_rev': r, {', '.join(members)}}}")
    body.append("if i is None: del out['_id']")
    body.append("if r is None: del out['_rev']")
    body.append("return out")
    source = ["def dump(obj):", *(f"    {line}" for line in body)]
    dumper: Dumper = _compile("dump", source, namespace)
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


def compile_loader(cls: type[Document], hooks: Hooks) -> Loader | None:
    """The loader of ``cls`` (see the module), or None when it has a field it can't read.
    The caller has checked the type field and upgraded older versions."""
    fields = _fields(cls, hooks)
    attributes = attrs.fields_dict(cast(Any, cls))
    if fields is None or not all(a.init for a in attributes.values()):
        return None
    direct = _plain_init(cls, attributes)
    namespace: dict[str, Any] = {"cls": cls, "new": object.__new__}
    body = [
        "i = o.get('_id')",
        "if i is not None and i.__class__ is not str: return None",
        "r = o.get('_rev')",
        "if r is not None and r.__class__ is not str: return None",
    ]
    values = {"id": "i", "rev": "r"}  # attribute -> the expression of its value
    for name in ("extra", "meta"):
        values[name] = _default(attributes[name], namespace)
    for index, (name, key, scalar, optional, is_list) in enumerate(fields):
        v = f"v{index}"
        values[name] = v
        attribute = attributes[name]
        body.append(f"{v} = o.get({key!r}, MISSING)")
        if attribute.default is attrs.NOTHING:
            body.append(f"if {v} is MISSING: return None")
            indent = ""
        else:
            default = _default(attribute, namespace) if direct else "MISSING"
            body.append(f"if {v} is MISSING: {v} = {default}")
            body.append("else:")
            indent = "    "
        if scalar is None:
            assert hooks is not None
            namespace[f"load{index}"] = hooks[name].load
            namespace[f"type{index}"] = attribute.type
            body.append(f"{indent}try:")
            body.append(f"{indent}    {v} = load{index}({v}, type{index})")
            body.append(f"{indent}except Exception:")
            body.append(f"{indent}    return None")
        elif is_list:
            body.append(f"{indent}if {v}.__class__ is not list: return None")
            body.append(f"{indent}for x in {v}:")
            body.append(f"{indent}    if {_LOAD_TESTS[scalar].format(v='x')}: return None")
            # The object's own list (of floats: JSON writers may send 3 for 3.0).
            copy = f"[float(x) for x in {v}]" if scalar is float else f"list({v})"
            body.append(f"{indent}{v} = {copy}")
        else:
            test = _LOAD_TESTS[scalar].format(v=v)
            if optional:
                test = f"{v} is not None and {test}"
            body.append(f"{indent}if {test}: return None")
            if scalar is float:
                body.append(f"{indent}{v} = float({v}) if {v}.__class__ is int else {v}")
    if direct:
        # What attrs' __init__ does, without the call: the values set in field order (as
        # attributes, not a __dict__ of its own: one object fewer for the collector).
        body.append("obj = new(cls)")
        body += [f"obj.{name} = {values[name]}" for name in attributes]
        body.append("return obj")
    else:
        # __init__ runs the validators and converters; a value left MISSING takes the
        # field's default there.
        kw = ", ".join(
            f"{attributes[n].alias or n!r}: {values[n]}"
            for n in values
            if n not in ("extra", "meta")
        )
        body += [
            f"kw = {{{kw}}}",
            "try:",
            "    return cls(**{k: v for k, v in kw.items() if v is not MISSING})",
            "except Exception:  # a validator: the general path says what is wrong",
            "    return None",
        ]
    source = ["def load(o):", *(f"    {line}" for line in body)]
    loader: Loader = _compile("load", source, namespace)
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


def _default(attribute: attrs.Attribute[Any], namespace: dict[str, Any]) -> str:
    """The expression of ``attribute``'s default, with what it needs put in ``namespace``."""
    name = f"default_{attribute.name}"
    default: Any = attribute.default
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        namespace[name] = default.factory
        return f"{name}()"
    namespace[name] = default
    return name

"""Field expressions: ``Order.total > 10``, ``Q(status="new")``, ``&``, ``|``, ``~``.

Class-level access to a document field (``Order.total``) gives a :class:`Field`, which
knows its JSON path and its Python type. Comparing it makes a :class:`Condition`;
conditions combine into :class:`And`, :class:`Or` and :class:`Not`; every expression
compiles to a Mango selector with :meth:`Expression.to_selector`.

Values are checked against the field's type, then go through the document converter,
so a comparison uses what is stored: a datetime its ISO 8601 string, a Decimal its JSON
number, an Enum its value, a nested attrs object its JSON object.
"""

from __future__ import annotations

import contextlib
import re
import weakref
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from enum import Enum
from typing import Any, ClassVar, Generic, NoReturn, TypeVar, overload

import attrs

from cloudant_odm._typing import origin as type_origin
from cloudant_odm._typing import strip_optional
from cloudant_odm.models.checks import decimal_as_number, type_checker, type_name
from cloudant_odm.models.conversion import converter, policy_for
from cloudant_odm.models.document import Document
from cloudant_odm.models.errors import join_path
from cloudant_odm.models.fields import decimal_storage, json_key
from cloudant_odm.models.refs import Ref, id_problem, is_ref_type, ref_target
from cloudant_odm.models.registry import registry
from cloudant_odm.models.registry import type_selector as models_type_selector

__all__ = [
    "And",
    "Condition",
    "Expression",
    "Field",
    "Not",
    "Or",
    "Q",
    "QueryWarning",
    "Raw",
    "SortKey",
    "check_model",
    "col",
    "type_selector",
]

T = TypeVar("T")

# Attribute names of Document that are stored under CouchDB's own keys.
# Document attributes that are not queryable JSON members.
_NOT_QUERYABLE = frozenset({"extra", "meta"})


class QueryWarning(UserWarning):
    """A query that runs but probably does not do what it says (see the message)."""


# --- expressions -----------------------------------------------------------------------


class Expression(ABC):
    """A boolean expression over documents, compiled to a Mango selector.

    Combine with ``&``, ``|`` and ``~``. ``bool()`` raises: Python's ``and``, ``or``,
    ``not`` and ``if`` can't be overloaded, and would silently drop a condition.
    """

    __slots__ = ()

    @abstractmethod
    def to_selector(self) -> dict[str, Any]:
        """The Mango selector (a JSON object) this expression stands for."""

    def resolve(self, model: type[Document]) -> Expression:
        """Bind keyword lookups (``Q(status="new")``) to ``model``'s fields."""
        return self

    @property
    def relative(self) -> bool:
        """True for conditions on a list element (``Order.lines.item.sku == "a"``), which
        only make sense inside ``elem_match``."""
        return False

    def __and__(self, other: Expression) -> Expression:
        if not isinstance(other, Expression):
            return NotImplemented
        return And(self, other)

    def __or__(self, other: Expression) -> Expression:
        if not isinstance(other, Expression):
            return NotImplemented
        return Or(self, other)

    def __invert__(self) -> Expression:
        return Not(self)

    def __bool__(self) -> NoReturn:
        raise TypeError(
            f"{self!r} is a query expression, not a bool: combine expressions with & | ~ "
            "(not and / or / not), and pass them to filter() instead of testing them with if"
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_selector()!r})"


class Condition(Expression):
    """One operator applied to one field: ``{"total": {"$gt": "10"}}``."""

    __slots__ = ("also", "field", "operator", "value")

    def __init__(
        self,
        field: Field[Any],
        operator: str,
        value: Any,
        also: Mapping[str, Any] | None = None,
    ) -> None:
        self.field = field
        self.operator = operator
        self.value = value  # already in its JSON form
        # More operators on the same field, that make the condition mean what it means
        # in Python (``{"$ne": None}`` beside a range on an optional field).
        self.also = dict(also) if also else None

    @property
    def relative(self) -> bool:
        return self.field._relative

    def resolve(self, model: type[Document]) -> Expression:
        check_model(self.field, model)
        return self

    def to_selector(self) -> dict[str, Any]:
        test = {self.operator: self.value}
        if self.also:
            test.update(self.also)
        path = self.field._mango_path
        return {path: test} if path else test

    def __repr__(self) -> str:
        return f"<Condition {self.field._display} {self.operator} {self.value!r}>"


class Raw(Expression):
    """A selector written by hand, used as it is: ``Raw({"year": {"$gt": 2010}})``."""

    __slots__ = ("selector",)

    def __init__(self, selector: Mapping[str, Any]) -> None:
        if not isinstance(selector, Mapping):
            raise TypeError(f"Raw() takes a selector dict, got {type(selector).__name__}")
        self.selector = dict(selector)

    def to_selector(self) -> dict[str, Any]:
        return dict(self.selector)


class And(Expression):
    """All of the given expressions."""

    __slots__ = ("children",)
    children: tuple[Expression, ...]

    def __init__(self, *children: Expression) -> None:
        flat: list[Expression] = []
        for child in children:
            _check_expression(child)
            flat.extend(child.children if isinstance(child, And) else (child,))
        self.children = tuple(flat)

    @property
    def relative(self) -> bool:
        return any(c.relative for c in self.children)

    def resolve(self, model: type[Document]) -> Expression:
        return And(*(c.resolve(model) for c in self.children))

    def to_selector(self) -> dict[str, Any]:
        return merge_selectors([c.to_selector() for c in self.children])


class Or(Expression):
    """At least one of the given expressions."""

    __slots__ = ("children",)
    children: tuple[Expression, ...]

    def __init__(self, *children: Expression) -> None:
        if not children:
            raise ValueError("Or() needs at least one expression")
        flat: list[Expression] = []
        for child in children:
            _check_expression(child)
            flat.extend(child.children if isinstance(child, Or) else (child,))
        self.children = tuple(flat)

    @property
    def relative(self) -> bool:
        return any(c.relative for c in self.children)

    def resolve(self, model: type[Document]) -> Expression:
        return Or(*(c.resolve(model) for c in self.children))

    def to_selector(self) -> dict[str, Any]:
        if len(self.children) == 1:
            return self.children[0].to_selector()
        return {"$or": [c.to_selector() for c in self.children]}


class Not(Expression):
    """The negation of an expression (``{"$not": ...}``).

    As in Mango, ``~(Order.total > 3)`` also matches documents without ``total``.
    """

    __slots__ = ("child",)

    def __init__(self, child: Expression) -> None:
        _check_expression(child)
        self.child = child

    @property
    def relative(self) -> bool:
        return self.child.relative

    def resolve(self, model: type[Document]) -> Expression:
        return Not(self.child.resolve(model))

    def __invert__(self) -> Expression:
        return self.child

    def to_selector(self) -> dict[str, Any]:
        return {"$not": self.child.to_selector()}


def _check_expression(value: object) -> None:
    if not isinstance(value, Expression):
        hint = " (a comparison of two plain values?)" if isinstance(value, bool) else ""
        raise TypeError(f"expected a query expression, got {type(value).__name__}{hint}")


def merge_selectors(selectors: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """AND selectors together: into one object when their keys don't clash (what people
    write by hand, and what index selection reads best), else with ``$and``."""
    merged: dict[str, Any] = {}
    for selector in selectors:
        for key, value in selector.items():
            if key not in merged:
                merged[key] = value
                continue
            current = merged[key]
            if (
                not key.startswith("$")
                and _is_operators(current)
                and _is_operators(value)
                and not set(current) & set(value)
            ):
                merged[key] = {**current, **value}
                continue
            return {"$and": [dict(s) for s in selectors if s]}
    return merged


def _is_operators(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and all(k.startswith("$") for k in value)


# --- keyword lookups -------------------------------------------------------------------

# Lookup suffix -> Field method building the condition.
_LOOKUPS: dict[str, str] = {
    "eq": "__eq__",
    "exact": "__eq__",
    "ne": "__ne__",
    "lt": "__lt__",
    "lte": "__le__",
    "gt": "__gt__",
    "gte": "__ge__",
    "in": "in_",
    "nin": "not_in",
    "not_in": "not_in",
    "exists": "exists",
    "regex": "regex",
    "size": "size",
    "all": "all_",
    "contains": "contains",
    "mod": "mod",
    "type": "type_",
}


class Q(Expression):
    """Keyword filters, Django style: ``Q(status="new", total__gte=10)``.

    ``__`` separates nested fields and a final lookup (``eq``, ``ne``, ``lt``, ``lte``,
    ``gt``, ``gte``, ``in``, ``nin``, ``exists``, ``regex``, ``size``, ``all``,
    ``contains``, ``mod``, ``type``): ``Q(shipping__city="Leeds")``, ``Q(tags__size=2)``.
    Names are attribute names; they are bound to a model's fields (JSON keys, value
    conversion) when the Q is used in a query.
    """

    __slots__ = ("lookups",)

    def __init__(self, **lookups: Any) -> None:
        self.lookups = lookups

    def resolve(self, model: type[Document]) -> Expression:
        conditions = [lookup(model, name, value) for name, value in self.lookups.items()]
        return And(*conditions)

    def to_selector(self) -> dict[str, Any]:
        # Unbound: attribute names are taken as JSON keys, values converted by their type.
        return merge_selectors(
            [_unbound_lookup(name, value).to_selector() for name, value in self.lookups.items()]
        )

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.lookups.items())
        return f"Q({args})"


def lookup(
    model: type[Document] | None, name: str, value: Any, base: Field[Any] | None = None
) -> Condition:
    """The condition ``name=value`` means for ``model`` (``total__gte=10``), or for the
    element ``base`` stands for (inside ``elem_match``)."""
    if base is None:
        if model is None:
            raise TypeError("lookup() needs a model or a base field")
        base = Field._root(model)
    parts = name.split("__")
    operation = "__eq__"
    try:
        if (len(parts) > 1 or base._relative) and parts[-1] in _LOOKUPS:
            # The last part is a lookup unless the field before it has a member so named.
            parent = _walk(base, parts[:-1])
            if not parent._has_member(parts[-1]):
                operation = _LOOKUPS[parts.pop()]
        field = _walk(base, parts)
    except AttributeError as exc:
        raise ValueError(f"{name}={value!r}: {exc}") from None
    return _apply(field, operation, value)


def _walk(field: Field[Any], parts: Sequence[str]) -> Field[Any]:
    for part in parts:
        field = field[int(part)] if part.isdigit() else field[part]
    return field


def _apply(field: Field[Any], operation: str, value: Any) -> Condition:
    method = getattr(field, operation)
    if operation == "mod":
        divisor, remainder = value
        result = method(divisor, remainder)
    elif operation == "exists" and value is None:
        result = method()
    else:
        result = method(value)
    assert isinstance(result, Condition)
    return result


def _unbound_lookup(name: str, value: Any) -> Condition:
    parts = name.split("__")
    operation = "__eq__"
    if len(parts) > 1 and parts[-1] in _LOOKUPS:
        operation = _LOOKUPS[parts.pop()]
    field: Field[Any] = Field(None, tuple(parts), tuple(parts), Any)
    return _apply(field, operation, value)


# --- fields ----------------------------------------------------------------------------


class SortKey:
    """A field and a direction, for ``order_by``: ``Order.created.desc()`` or
    ``-Order.created``."""

    __slots__ = ("descending", "field")

    def __init__(self, field: Field[Any], descending: bool = False) -> None:
        if field._relative or not field._path:
            raise ValueError(f"can't sort on {field._display}")
        self.field = field
        self.descending = descending

    def __neg__(self) -> SortKey:
        return SortKey(self.field, not self.descending)

    def to_json(self) -> dict[str, str]:
        return {self.field._mango_path: "desc" if self.descending else "asc"}

    def __repr__(self) -> str:
        return f"<SortKey {self.field._display} {'desc' if self.descending else 'asc'}>"


def _shorter_than(array: Field[Any], length: int) -> Expression:
    """The list ``array`` is null or has fewer than ``length`` elements."""
    sizes = [array._condition("$size", size) for size in range(length)]
    return Or(array._condition("$type", "null"), *sizes)


class Field(Generic[T]):
    """A document field at class level: ``Order.total`` is a ``Field[Decimal]``.

    Comparisons (``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``) and the methods below build
    :class:`Condition` objects. Nested fields are attributes (``Order.shipping.city``)
    or items (``Order.shipping["size"]`` for names that clash with a method here); list
    elements are indexed (``Order.lines[0].sku``) or matched with ``elem_match``.
    """

    __slots__ = (
        "_attribute",
        "_display",
        "_indexed",
        "_keys",
        "_model",
        "_names",
        "_relative",
        "_type",
    )
    # Comparisons return conditions, so fields can't be dict keys or set members.
    __hash__: ClassVar[None]  # type: ignore[assignment]

    def __init__(
        self,
        model: type[Document] | None,
        keys: tuple[str, ...],
        names: tuple[str, ...],
        value_type: Any,
        *,
        relative: bool = False,
        display: str | None = None,
        attribute: attrs.Attribute[Any] | None = None,
        indexed: tuple[tuple[Field[Any], int], ...] = (),
    ) -> None:
        self._model = model
        self._keys = keys  # JSON path
        self._names = names  # attribute path, for messages
        self._type = value_type
        self._relative = relative
        # The declared attribute this field stands for (its options: Decimal storage).
        self._attribute = attribute
        # The list elements on the path: (the list, the index), outermost first.
        self._indexed = indexed
        owner = model.__name__ if model is not None else ""
        self._display = display or ".".join(p for p in (owner, *names) if p)

    @classmethod
    def _root(cls, model: type[Document]) -> Field[Any]:
        return cls(model, (), (), model, display=model.__name__)

    @classmethod
    def _for_attribute(cls, model: type[Document], name: str) -> Field[Any]:
        """``model.<name>``: the class-level expression for a declared field."""
        cached = _FIELD_CACHE.get(model)
        if cached is None:
            cached = _FIELD_CACHE.setdefault(model, {})
        found = cached.get(name)
        if found is None:
            found = cached[name] = cls._root(model)._child(name)
        return found

    # -- paths ----------------------------------------------------------------------

    @property
    def _path(self) -> tuple[str, ...]:
        return self._keys

    @property
    def _mango_path(self) -> str:
        # Mango splits field names on "."; a literal dot in a key is escaped.
        return ".".join(k.replace("\\", "\\\\").replace(".", "\\.") for k in self._keys)

    @property
    def path(self) -> str:
        """The Mango field path (``"shipping.city"``)."""
        return self._mango_path

    @property
    def value_type(self) -> Any:
        """The Python type the field holds."""
        return self._type

    def _has_member(self, name: str) -> bool:
        return name in _members(strip_optional(self._type))

    def _child(self, name: str) -> Field[Any]:
        target = strip_optional(self._type)
        if target is Any or target is object:
            return self._make(name, name, Any)
        if _is_document(target) and name in _NOT_QUERYABLE:
            raise AttributeError(f"{self._display}.{name} is not stored as a JSON member")
        if is_ref_type(target):
            model = ref_target(target).__name__
            raise AttributeError(
                f"{self._display} is a reference, stored as the id of a {model}: a query "
                f"can't look into the document it names; query {model} for its ids, then "
                f"filter with {self._display}.in_(ids)"
            )
        if _is_mapping(type_origin(target)):
            args: tuple[Any, ...] = getattr(target, "__args__", ())
            return self._make(name, name, args[1] if len(args) == 2 else Any)
        if _is_sequence(target):
            raise AttributeError(
                f"{self._display} is a list: match its elements with "
                f"{self._display}.elem_match(...), or index it ({self._display}[0].{name})"
            )
        members = _members(target)
        if name not in members:
            kind = getattr(target, "__name__", repr(target))
            raise AttributeError(f"{self._display} ({kind}) has no field {name!r}")
        key, value_type, attribute = members[name]
        return self._make(key, name, value_type, attribute)

    def _make(
        self, key: str, name: str, value_type: Any, attribute: attrs.Attribute[Any] | None = None
    ) -> Field[Any]:
        return Field(
            self._model,
            (*self._keys, key),
            (*self._names, name),
            value_type,
            relative=self._relative,
            display=f"{self._display}.{name}",
            attribute=attribute,
            indexed=self._indexed,
        )

    def __getattr__(self, name: str) -> Field[Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        return self._child(name)

    def __getitem__(self, key: int | str) -> Field[Any]:
        if isinstance(key, str):
            return self._child(key)
        if not isinstance(key, int) or isinstance(key, bool) or key < 0:
            raise TypeError(f"{self._display}[...] takes a field name or an index >= 0")
        target = strip_optional(self._type)
        element = _element_type(target) if _is_sequence(target) else Any
        return Field(
            self._model,
            (*self._keys, str(key)),
            (*self._names, str(key)),
            element,
            relative=self._relative,
            display=f"{self._display}[{key}]",
            indexed=(*self._indexed, (self, key)),
        )

    @property
    def item(self) -> Field[Any]:
        """An element of this list, for conditions inside :meth:`elem_match` and
        :meth:`all_match`: ``Order.lines.elem_match(Order.lines.item.sku == "a")``."""
        target = strip_optional(self._type)
        element = _element_type(target) if _is_sequence(target) else Any
        return Field(self._model, (), (), element, relative=True, display=f"{self._display}[*]")

    def __iter__(self) -> NoReturn:
        # Without this, Python would iterate with __getitem__(0), (1), ... forever.
        raise TypeError(f"{self._display} is a query field; it can't be iterated")

    def __contains__(self, value: object) -> NoReturn:
        raise TypeError(f"use {self._display}.contains(value) instead of `in`")

    def __bool__(self) -> NoReturn:
        raise TypeError(f"{self._display} is a query field, not a value")

    def __repr__(self) -> str:
        return f"<Field {self._display}>"

    # -- values ---------------------------------------------------------------------

    def _dump(self, value: Any, value_type: Any | None = None) -> Any:
        return dump_value(value, self._type if value_type is None else value_type, self)

    def _element(self) -> Any:
        target = strip_optional(self._type)
        return _element_type(target) if _is_sequence(target) else Any

    def _condition(self, operator: str, value: Any) -> Condition:
        return Condition(self, operator, value)

    def _ordered(self, operator: str, value: Any) -> Condition:
        storage = decimal_storage(self._attribute) if self._attribute is not None else None
        if storage is not None and storage.as_string:
            raise TypeError(
                f"{self._display} is a Decimal stored as text (field(as_string=True)): the "
                f"server would compare it as text, not as a number, so {operator} is refused; "
                "store it as a number (the default) to compare it"
            )
        if value is None:
            raise TypeError(
                f"{self._display} {operator} None: None has no order (Python raises "
                f"TypeError for it); use == None, or {self._display}.exists()"
            )
        target = self._type
        if operator in ("$gt", "$gte") and strip_optional(target) is Decimal:
            # Earlier versions stored decimals as text ("7.25"), which the server sorts
            # after every number: `total > 50` would match it. Below "" (the first text
            # in the server's order) only null, booleans and numbers remain, so a range
            # matches numbers only, in either direction (text sorts above any `<`).
            return Condition(self, operator, self._dump(value), also={"$lt": ""})
        if target is not Any and strip_optional(target) is not target:
            # The server sorts null before every number and string, so a range would
            # match the documents holding None, which Python never orders.
            return Condition(self, operator, self._dump(value), also={"$ne": None})
        return self._condition(operator, self._dump(value))

    # -- comparisons ----------------------------------------------------------------

    def __eq__(self, other: object) -> Condition:  # type: ignore[override]
        return self._condition("$eq", self._dump(other))

    def __ne__(self, other: object) -> Condition:  # type: ignore[override]
        return self._condition("$ne", self._dump(other))

    def __lt__(self, other: Any) -> Condition:
        return self._ordered("$lt", other)

    def __le__(self, other: Any) -> Condition:
        return self._ordered("$lte", other)

    def __gt__(self, other: Any) -> Condition:
        return self._ordered("$gt", other)

    def __ge__(self, other: Any) -> Condition:
        return self._ordered("$gte", other)

    def in_(self, values: Sequence[Any]) -> Condition:
        """The field equals one of ``values`` (``$in``)."""
        return self._condition("$in", self._dump_all(values, "in_"))

    def not_in(self, values: Sequence[Any]) -> Condition:
        """The field equals none of ``values`` (``$nin``)."""
        return self._condition("$nin", self._dump_all(values, "not_in"))

    def _dump_all(self, values: Sequence[Any], name: str) -> list[Any]:
        items = _as_list(values, name)
        if any(v is None for v in items):
            # CouchDB 3.4 answers 500 (function_clause) for null in $in / $nin.
            raise TypeError(
                f"{self._display}.{name}() can't hold None (CouchDB fails on null in "
                f"${name.rstrip('_')}); combine it with {self._display} == None using | "
                "(or ~ and & for not_in)"
            )
        return [self._dump(v) for v in items]

    def _require(self, kind: str, name: str) -> None:
        """Refuse an operator that can't apply to this field's type (``regex`` on a
        number, ``size`` on a str): it would silently match nothing."""
        target = strip_optional(self._type)
        if target is Any or target is object:
            return
        fits = {
            "str": isinstance(target, type) and issubclass(target, str),
            "list": _is_sequence(target),
            "int": isinstance(target, type) and issubclass(target, int),
        }[kind]
        if not fits:
            raise TypeError(
                f"{self._display}.{name}() applies to {kind} fields; "
                f"{self._display} is {type_name(self._type)}"
            )

    def exists(self, exists: bool = True) -> Expression:
        """The JSON member is present (even as null), or with ``False``, absent.

        Through a list index (``Order.lines[0].sku.exists(False)``), an element past the
        end of the list, or a list that is null, counts as absent, as in Python. (CouchDB
        on its own matches nothing there: a path through a missing element is not a
        missing member to it.)
        """
        condition = self._condition("$exists", bool(exists))
        if exists or not self._indexed:
            return condition
        return Or(condition, *(_shorter_than(array, index + 1) for array, index in self._indexed))

    def regex(self, pattern: str | re.Pattern[str]) -> Condition:
        """The string field matches ``pattern`` (Erlang PCRE; ``(?i)`` for case-insensitive)."""
        self._require("str", "regex")
        text = pattern.pattern if isinstance(pattern, re.Pattern) else pattern
        if not isinstance(text, str):
            raise TypeError(f"{self._display}.regex() takes a str pattern")
        return self._condition("$regex", text)

    def type_(self, json_type: str) -> Condition:
        """The JSON type is ``"null"``, ``"boolean"``, ``"number"``, ``"string"``,
        ``"array"`` or ``"object"`` (``$type``)."""
        allowed = ("null", "boolean", "number", "string", "array", "object")
        if json_type not in allowed:
            raise ValueError(f"$type takes one of {', '.join(allowed)}, got {json_type!r}")
        return self._condition("$type", json_type)

    def size(self, length: int) -> Condition:
        """The list field has exactly ``length`` elements (``$size``)."""
        self._require("list", "size")
        return self._condition("$size", _int(length, "size"))

    def mod(self, divisor: int, remainder: int) -> Condition:
        """``field % divisor == remainder`` for an integer field (``$mod``)."""
        self._require("int", "mod")
        divisor = _int(divisor, "mod")
        if divisor == 0:
            raise ValueError("mod() divisor must not be 0")
        return self._condition("$mod", [divisor, _int(remainder, "mod")])

    def all_(self, values: Sequence[Any]) -> Condition:
        """The list field contains every one of ``values`` (``$all``)."""
        self._require("list", "all_")
        element = self._element()
        return self._condition("$all", [self._dump(v, element) for v in _as_list(values, "all_")])

    def contains(self, value: Any) -> Condition:
        """The list field has an element equal to ``value``."""
        self._require("list", "contains")
        return self._condition("$elemMatch", {"$eq": self._dump(value, self._element())})

    def elem_match(self, *conditions: Expression, **lookups: Any) -> Condition:
        """Some element of the list field matches all ``conditions`` (built from
        :attr:`item`) and keyword ``lookups`` on the element's fields
        (``Order.lines.elem_match(sku="a", qty__gt=2)``)."""
        return self._condition(
            "$elemMatch", self._element_selector("elem_match", conditions, lookups)
        )

    def all_match(self, *conditions: Expression, **lookups: Any) -> Condition:
        """Every element of the list field matches (``$allMatch``)."""
        return self._condition(
            "$allMatch", self._element_selector("all_match", conditions, lookups)
        )

    def _element_selector(
        self, name: str, conditions: tuple[Expression, ...], lookups: Mapping[str, Any]
    ) -> dict[str, Any]:
        self._require("list", name)
        item = self.item
        parts: list[Expression] = []
        for condition in conditions:
            _check_expression(condition)
            parts.append(condition if self._model is None else condition.resolve(self._model))
        parts.extend(lookup(self._model, key, value, base=item) for key, value in lookups.items())
        if not parts:
            raise TypeError(f"{self._display}.{name}() needs at least one condition")
        return And(*parts).to_selector()

    # -- sorting --------------------------------------------------------------------

    def asc(self) -> SortKey:
        return SortKey(self)

    def desc(self) -> SortKey:
        return SortKey(self, descending=True)

    def __neg__(self) -> SortKey:
        return SortKey(self, descending=True)

    def __pos__(self) -> SortKey:
        return SortKey(self)


_FIELD_CACHE: weakref.WeakKeyDictionary[type, dict[str, Field[Any]]] = weakref.WeakKeyDictionary()


@overload
def col(value: Field[T]) -> Field[T]: ...
@overload
def col(value: T) -> Field[T]: ...
def col(value: Any) -> Field[Any]:
    """``col(Order.total) > 10``: the field expression, typed as one for every type
    checker. Without the mypy plugin (pyright, or mypy without
    ``plugins = ["cloudant_odm.mypy"]``) ``Order.total`` is typed as the field's value
    type, so ``Order.total > 10`` looks like a bool; ``col()`` fixes that."""
    if not isinstance(value, Field):
        raise TypeError(
            f"col() takes a class-level document field such as Order.total, got {value!r}"
        )
    return value


# --- types and values ------------------------------------------------------------------


def _is_mapping(origin: Any) -> bool:
    return isinstance(origin, type) and issubclass(origin, Mapping)


def _is_sequence(tp: Any) -> bool:
    origin = type_origin(tp)
    if not isinstance(origin, type) or issubclass(origin, (str, bytes, bytearray, Mapping)):
        return False
    return issubclass(origin, (list, tuple, set, frozenset, Sequence))


def _element_type(tp: Any) -> Any:
    args = getattr(tp, "__args__", ())
    if not args:
        return Any
    if type_origin(tp) is tuple and not (len(args) == 2 and args[1] is Ellipsis):
        return Any  # a fixed tuple holds several types
    return args[0]


def _is_document(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, Document)


def _resolved(cls: type) -> type:
    with contextlib.suppress(Exception):  # unresolvable forward refs: types stay strings
        attrs.resolve_types(cls)
    return cls


def _members(tp: Any) -> dict[str, tuple[str, Any, attrs.Attribute[Any]]]:
    """Attribute name -> (JSON key, type, attribute) of an attrs class; {} for anything else."""
    if not (isinstance(tp, type) and attrs.has(tp)):
        return {}
    cached = _MEMBER_CACHE.get(tp)
    if cached is not None:
        return cached
    members: dict[str, tuple[str, Any, attrs.Attribute[Any]]] = {}
    options = getattr(tp, "_options", None)
    keys: Mapping[str, str] = options.json_keys if options is not None else {}
    for attribute in attrs.fields(_resolved(tp)):
        if _is_document(tp) and attribute.name in _NOT_QUERYABLE:
            continue
        key = keys.get(attribute.name) or json_key(attribute)
        members[attribute.name] = (key, attribute.type, attribute)
    _MEMBER_CACHE[tp] = members
    return members


_MEMBER_CACHE: weakref.WeakKeyDictionary[type, dict[str, tuple[str, Any, attrs.Attribute[Any]]]] = (
    weakref.WeakKeyDictionary()
)


def _as_list(values: Any, name: str) -> list[Any]:
    if isinstance(values, (str, bytes, Mapping)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name}() takes a list of values, got {type(values).__name__}")
    if isinstance(values, (Field, Expression)):
        raise TypeError(f"{name}() takes values, not a query expression")
    return list(values)


def _int(value: Any, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name}() takes integers, got {value!r}")
    return value


def dump_value(value: Any, value_type: Any, field: Field[Any] | None = None) -> Any:
    """``value`` as stored in JSON for a field of ``value_type``, through the document
    converter (so it compares with what the documents hold).

    The value must be one the field can hold (``TypeError`` / ``ValueError`` otherwise,
    naming the field): a condition no stored document could meet is a mistake. Numbers
    compare across ``int`` and ``float`` as in Python; a ``Decimal`` field takes a
    ``Decimal`` or an ``int``, not a ``float`` (``Decimal("0.1") != 0.1`` in Python).
    """
    where = field._display if field is not None else "value"
    if isinstance(value, (Field, Expression, SortKey)):
        raise TypeError(
            f"{where}: Mango compares a field with constant values only, not with {value!r}"
        )
    target = strip_optional(value_type)
    if target is Any or target is object:
        return _unstructure(value, where, field)
    if value is None:
        if target is value_type:
            raise TypeError(
                f"{where}: expected {type_name(value_type)}, got None (the field can't "
                f"hold None; {where}.exists(False) finds documents without it)"
            )
        return None
    if is_ref_type(target):
        return _ref_id(value, target, where)
    if target in (int, float) and value.__class__ in (int, float):
        value_type = float  # an int field compares with 2.5 as in Python
    if target is Decimal:
        if value.__class__ is int:
            value = Decimal(value)
        elif isinstance(value, float):
            raise TypeError(
                f"{where} is a Decimal: compare it with a Decimal, not float {value!r} "
                f"(Decimal({str(value)!r}) != {value!r} in Python)"
            )
    errors = type_checker(value_type)(value)
    if errors:
        problems = "; ".join(f"{join_path(where, p)}: {m}" for p, m in errors)
        raise TypeError(problems)
    if target is Decimal:
        attribute = field._attribute if field is not None else None
        storage = decimal_storage(attribute) if attribute is not None else None
        if storage is not None and storage.as_string:
            return str(value)
        return decimal_as_number(value)
    return _unstructure(value, where, field)


def _ref_id(value: Any, ref_type: Any, where: str) -> str:
    """A reference field compares its stored id: a ``Ref`` (to the class, a subclass or
    a base), a document of the class (with its id) or an id string stand for it."""
    model = ref_target(ref_type)
    if value.__class__ is Ref:
        if issubclass(value.model, model) or issubclass(model, value.model):
            return str(value.id)
        raise TypeError(f"{where}: expected {type_name(ref_type)}, got {value!r}")
    if isinstance(value, model):
        if value.id is None:
            raise TypeError(f"{where}: the {type(value).__name__} compared with has no id yet")
        return value.id
    if isinstance(value, str):
        problem = id_problem(value, model)
        if problem is not None:
            raise ValueError(f"{where}: {problem}")
        return value
    raise TypeError(
        f"{where}: expected {type_name(ref_type)}, a {model.__name__} or its id, "
        f"got {type(value).__name__} {value!r}"
    )


def _unstructure(value: Any, where: str, field: Field[Any] | None) -> Any:
    if value is None or value.__class__ in _SCALARS:
        return value
    if isinstance(value, Enum):
        return _unstructure(value.value, where, field)
    model = field._model if field is not None else None
    try:
        with policy_for(model):
            return converter.unstructure(value)
    except Exception as exc:
        raise ValueError(f"{where}: can't compare with {value!r}: {exc}") from exc


_SCALARS = (str, int, float, bool)


def check_model(field: Field[Any], model: type[Document]) -> None:
    """Refuse a field of a class unrelated to the one queried (``Customer.name`` in an
    ``Order`` query would silently match orders by a key they may not even have)."""
    owner = field._model
    if owner is None or issubclass(model, owner) or issubclass(owner, model):
        return
    raise TypeError(
        f"{field._display} is a field of {owner.__name__}, and this query is over "
        f"{model.__name__}: use {model.__name__}'s own fields"
    )


# --- the type field --------------------------------------------------------------------


def type_selector(model: type[Document]) -> dict[str, Any]:
    """The selector part that restricts a query to ``model`` and its subclasses."""
    return models_type_selector([model])


def model_doc_types(model: type[Document]) -> frozenset[str]:
    return frozenset(registry.doc_types(model))


def iter_conditions(expression: Expression) -> Iterator[Condition]:
    """The conditions ANDed at the top of ``expression`` (for index advice)."""
    if isinstance(expression, Condition):
        yield expression
    elif isinstance(expression, And):
        for child in expression.children:
            yield from iter_conditions(child)

"""A mypy plugin: ``Order.total`` is a ``Field[Decimal]`` (a query expression) when read
on the class, and stays a ``Decimal`` on instances.

Reference fields (``customer: Ref[Customer]``) read as ``Ref[Customer]``, and take a
``Customer`` too where the class converts one (its ``__init__``, an assignment to the
field): ``Order(customer=customer)``, ``order.customer = customer``. A query compares
them with a ``Ref``, a ``Customer`` or an id string.

Enable it in the project's mypy configuration::

    [tool.mypy]
    plugins = ["cloudant_odm.mypy"]

Without it (and with pyright, which has no plugins) ``Order.total`` is typed as the
field's value type, so ``Order.total > 3`` looks like a ``bool`` to the type checker
(it is an expression at run time all the same). ``col(Order.total) > 3`` is typed as
an expression by every checker.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from mypy.errorcodes import ErrorCode
from mypy.nodes import TypeInfo, Var
from mypy.plugin import (
    AttributeContext,
    CheckerPluginInterface,
    FunctionSigContext,
    MethodContext,
    Plugin,
)
from mypy.subtypes import is_subtype
from mypy.types import (
    AnyType,
    CallableType,
    FunctionLike,
    Instance,
    NoneType,
    Type,
    UnionType,
    get_proper_type,
)

__all__ = ["CloudantOdmPlugin", "plugin"]

DOCUMENT = "cloudant_odm.models.document.Document"
# The base of Document and Embedded: the classes whose fields convert documents to Refs.
MODEL = "cloudant_odm.models.document._Model"
REF = "cloudant_odm.models.refs.Ref"
FIELD = "cloudant_odm.query.expressions.Field"
# Document attributes that are not stored as JSON members (no class-level expression).
_NOT_FIELDS = frozenset({"extra", "meta"})


#: Reported for a comparison whose value the field can't hold (``Order.customer == 5``);
#: the same mistake raises TypeError at run time.
QUERY_VALUE = ErrorCode("query-value", "A query value the field can't hold", "cloudant_odm")

_COMPARISONS = frozenset({"__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__"})
# Numbers compare across these at run time, as in Python (a Decimal field takes an int).
_NUMBERS = frozenset({"builtins.int", "builtins.float", "decimal.Decimal"})


class CloudantOdmPlugin(Plugin):
    def _model(self, fullname: str) -> TypeInfo | None:
        """The document or ``Embedded`` class named ``fullname``, or None."""
        symbol = self.lookup_fully_qualified(fullname)
        if symbol is None or not isinstance(symbol.node, TypeInfo):
            return None
        return symbol.node if symbol.node.has_base(MODEL) else None

    def get_function_signature_hook(
        self, fullname: str
    ) -> Callable[[FunctionSigContext], FunctionLike] | None:
        # Order(customer=customer): the constructor of a document or Embedded class.
        return _init_taking_documents if self._model(fullname) is not None else None

    def get_attribute_hook(self, fullname: str) -> Callable[[AttributeContext], Type] | None:
        # order.customer = customer: assigning to a field of a document or Embedded class.
        class_name, _, attribute = fullname.rpartition(".")
        info = self._model(class_name)
        if info is None or attribute.startswith("_") or not _is_field(info, attribute):
            return None
        return _assigned_taking_documents

    def get_method_hook(self, fullname: str) -> Callable[[MethodContext], Type] | None:
        owner, _, method = fullname.rpartition(".")
        if owner == FIELD and method in _COMPARISONS:
            return _check_comparison
        return None

    def get_class_attribute_hook(self, fullname: str) -> Callable[[AttributeContext], Type] | None:
        class_name, _, attribute = fullname.rpartition(".")
        if attribute in _NOT_FIELDS or attribute.startswith("_"):
            return None
        symbol = self.lookup_fully_qualified(class_name)
        if symbol is None or not isinstance(symbol.node, TypeInfo):
            return None
        info = symbol.node
        if not info.has_base(DOCUMENT) or not _is_field(info, attribute):
            return None
        field = self.lookup_fully_qualified(FIELD)
        if field is None or not isinstance(field.node, TypeInfo):
            return None  # the query module is not part of this build
        return partial(_field_type, field.node)


def _is_field(info: TypeInfo, name: str) -> bool:
    """``name`` is a field of the attrs class ``info`` (as the dataclass_transform
    support of mypy recorded it, inherited fields included)."""
    for cls in info.mro:
        attributes = cls.metadata.get("dataclass", {}).get("attributes", [])
        if any(a.get("name") == name for a in attributes):
            node = info.get(name)
            # A method or a ClassVar of the same name in a subclass hides the field.
            return node is not None and isinstance(node.node, Var) and not node.node.is_classvar
    return False


def _field_type(field: TypeInfo, ctx: AttributeContext) -> Type:
    if ctx.is_lvalue:
        return ctx.default_attr_type  # Order.total = ... assigns a value, not a Field
    return Instance(field, [ctx.default_attr_type])


def _taking_documents(tp: Type, api: CheckerPluginInterface) -> Type:
    """What a field of type ``tp`` takes: ``Ref[X] | X`` for ``Ref[X]`` (also within a
    union), a sequence of those for ``list[Ref[X]]``; ``tp`` itself otherwise."""
    proper = get_proper_type(tp)
    if isinstance(proper, UnionType):
        items = [_taking_documents(item, api) for item in proper.items]
        if all(a is b for a, b in zip(items, proper.items, strict=True)):
            return tp
        return UnionType.make_union(items)
    if not isinstance(proper, Instance) or not proper.args:
        return tp
    if proper.type.fullname == REF:
        return UnionType.make_union([proper, proper.args[0]])
    if proper.type.fullname == "builtins.list" and len(proper.args) == 1:
        item = get_proper_type(proper.args[0])
        if isinstance(item, Instance) and item.type.fullname == REF and item.args:
            # Sequence, not list: a list[Customer] is no list[Ref[Customer] | Customer].
            # (The class converts lists and tuples; the write checks refuse a tuple.)
            either = UnionType.make_union([item, item.args[0]])
            return api.named_generic_type("typing.Sequence", [either])
    return tp


def _init_taking_documents(ctx: FunctionSigContext) -> FunctionLike:
    signature = ctx.default_signature
    if not isinstance(signature, CallableType):
        return signature
    widened = [_taking_documents(tp, ctx.api) for tp in signature.arg_types]
    if all(a is b for a, b in zip(widened, signature.arg_types, strict=True)):
        return signature
    return signature.copy_modified(arg_types=widened)


def _assigned_taking_documents(ctx: AttributeContext) -> Type:
    if not ctx.is_lvalue:
        return ctx.default_attr_type
    return _taking_documents(ctx.default_attr_type, ctx.api)


def _check_comparison(ctx: MethodContext) -> Type:
    """``Order.customer == 5``: the value's type must be one the field's type holds."""
    field = get_proper_type(ctx.type)
    if not (isinstance(field, Instance) and field.args and ctx.arg_types and ctx.arg_types[0]):
        return ctx.default_return_type
    expected, given = field.args[0], ctx.arg_types[0][0]
    if not _comparable(given, expected):
        ctx.api.fail(
            f'The field holds "{expected}"; a query compares it with values of that type, '
            f'not "{given}"',
            ctx.context,
            code=QUERY_VALUE,
        )
    return ctx.default_return_type


def _comparable(given: Type, expected: Type) -> bool:
    given_p, expected_p = get_proper_type(given), get_proper_type(expected)
    if isinstance(given_p, AnyType) or isinstance(expected_p, AnyType):
        return True
    if is_subtype(given, expected):
        return True
    members = expected_p.items if isinstance(expected_p, UnionType) else [expected]
    names = {p.type.fullname for p in map(get_proper_type, members) if isinstance(p, Instance)}
    if isinstance(given_p, NoneType):
        return False
    given_str = isinstance(given_p, Instance) and given_p.type.fullname == "builtins.str"
    for member in map(get_proper_type, members):
        # A reference compares its id: a document of the class, or the id itself.
        if (
            isinstance(member, Instance)
            and member.type.fullname == REF
            and member.args
            and (given_str or is_subtype(given, member.args[0]))
        ):
            return True
    if isinstance(given_p, Instance) and given_p.type.fullname in _NUMBERS:
        # Any number with an int or float field; a Decimal field takes an int, not a float.
        if given_p.type.fullname == "builtins.int":
            return bool(names & _NUMBERS)
        return bool(names & {"builtins.int", "builtins.float"})
    return False


def plugin(version: str) -> type[Plugin]:
    """The entry point mypy calls."""
    return CloudantOdmPlugin

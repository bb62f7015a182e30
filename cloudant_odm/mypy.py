"""A mypy plugin: ``Order.total`` is a ``Field[Decimal]`` (a query expression) when read
on the class, and stays a ``Decimal`` on instances.

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

from mypy.nodes import TypeInfo, Var
from mypy.plugin import AttributeContext, Plugin
from mypy.types import Instance, Type

__all__ = ["CloudantOdmPlugin", "plugin"]

DOCUMENT = "cloudant_odm.models.document.Document"
FIELD = "cloudant_odm.query.expressions.Field"
# Document attributes that are not stored as JSON members (no class-level expression).
_NOT_FIELDS = frozenset({"extra", "meta"})


class CloudantOdmPlugin(Plugin):
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


def plugin(version: str) -> type[Plugin]:
    """The entry point mypy calls."""
    return CloudantOdmPlugin

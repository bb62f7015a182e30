"""The polymorphic registry: which class a JSON document's type field names."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from cloudant_odm.models.errors import DocumentDefinitionError, DocumentTypeError

if TYPE_CHECKING:
    from cloudant_odm.models.document import Document

__all__ = ["TypeRegistry", "registry", "type_selector"]


class TypeRegistry:
    """Maps ``(type field, doc_type)`` to a :class:`Document` class.

    Concrete document classes add themselves when they are defined. Redefining a class
    (same module and qualified name, e.g. on reload) replaces it, and classes defined
    inside functions (as tests do) replace or get replaced freely; otherwise two classes
    claiming one doc_type is an error, since loads could not tell them apart.
    """

    def __init__(self) -> None:
        self._classes: dict[str, dict[str, type[Document]]] = {}

    def register(self, cls: type[Document]) -> None:
        options = cls._options
        by_type = self._classes.setdefault(options.type_field, {})
        known = by_type.get(options.doc_type)
        # Classes defined inside functions (typically tests) come and go: they neither
        # claim a doc_type for good nor are refused one.
        if known is not None and _name(known) != _name(cls) and not (_local(cls) or _local(known)):
            raise DocumentDefinitionError(
                f"{cls.__qualname__}: doc_type {options.doc_type!r} (type field "
                f"{options.type_field!r}) is already used by {_name(known)}; "
                "set Meta.doc_type to tell them apart"
            )
        by_type[options.doc_type] = cls

    def lookup(self, doc_type: str, type_field: str = "type") -> type[Document] | None:
        """The class registered for ``doc_type``, or None."""
        return self._classes.get(type_field, {}).get(doc_type)

    def classes(self) -> list[type[Document]]:
        """Every registered class, in definition order."""
        return [cls for by_type in self._classes.values() for cls in by_type.values()]

    def doc_types(self, cls: type[Document]) -> tuple[str, ...]:
        """The doc_types ``cls`` stands for, sorted: its own (unless abstract) and its
        registered subclasses'. What queries, the changes follower and generated views
        and filters select on (:func:`type_selector`).

        The own one is added explicitly: when a class is defined again (a module
        reloaded) the registry names the new class, and the older one must still select
        the same documents.
        """
        by_type = self._classes.get(cls._options.type_field, {})
        found = {t for t, c in by_type.items() if issubclass(c, cls)}
        if not cls._options.abstract:
            found.add(cls._options.doc_type)
        return tuple(sorted(found))

    def resolve(self, data: Mapping[str, Any], base: type[Document]) -> type[Document]:
        """The class to load ``data`` as, given that the caller expects ``base``."""
        options = base._options
        value = data.get(options.type_field)
        if value.__class__ is str:
            found = self._classes.get(options.type_field, {}).get(value)
            if found is not None and issubclass(found, base):
                return found
        return self._resolve_slowly(data, base)

    def _resolve_slowly(self, data: Mapping[str, Any], base: type[Document]) -> type[Document]:
        # Other type fields, and the errors.
        options = base._options
        doc_id = data.get("_id") if isinstance(data.get("_id"), str) else None
        type_fields = [options.type_field, *(f for f in self._classes if f != options.type_field)]
        for type_field in type_fields:
            value = data.get(type_field)
            if value is None:
                continue
            found = self._classes.get(type_field, {}).get(value) if isinstance(value, str) else None
            if found is None:
                if type_field != options.type_field:
                    continue
                problem = f"unknown document type {value!r}"
                raise DocumentTypeError(options.model, doc_id, [(type_field, problem)])
            if not issubclass(found, base):
                problem = (
                    f"document type {value!r} is {found.__name__}, "
                    f"not {base.__name__} or a subclass"
                )
                raise DocumentTypeError(options.model, doc_id, [(type_field, problem)])
            return found
        problem = f"missing type field {options.type_field!r}"
        raise DocumentTypeError(options.model, doc_id, [("", problem)])


def _local(cls: type) -> bool:
    return "<locals>" in cls.__qualname__


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


registry = TypeRegistry()


def type_selector(models: Sequence[type[Document]]) -> dict[str, Any]:
    """The Mango selector for documents of ``models`` and their subclasses: the type
    field equal to the one doc_type (an index can serve that), else ``$in`` the doc
    types; ``$or`` across classes with different type fields."""
    by_field: dict[str, set[str]] = {}
    for model in models:
        by_field.setdefault(model._options.type_field, set()).update(registry.doc_types(model))
    clauses: list[dict[str, Any]] = []
    for field, found in sorted(by_field.items()):
        types = sorted(found)
        clauses.append({field: types[0] if len(types) == 1 else {"$in": types}})
    return clauses[0] if len(clauses) == 1 else {"$or": clauses}

"""``Document`` and ``Embedded``: subclasses become attrs classes, with no decorator.

``__init_subclass__`` (not a metaclass) runs ``attrs.define`` on each subclass in place, so
documents mix with ``abc.ABC``, ``typing.Generic`` and other metaclasses. The classes are
dict-based (no ``__slots__``), which is what lets attrs patch a class in place; it also
leaves room for class-level descriptors such as query expressions.
"""

from __future__ import annotations

import sys
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn, TypeVar

import attrs

from cloudant_odm.models.errors import DocumentDefinitionError
from cloudant_odm.models.fields import (
    check_decimal_storage,
    field,
    json_key,
    refuse_ambiguous_unions,
    refuse_shared_keys,
)
from cloudant_odm.models.ids import SEPARATOR
from cloudant_odm.models.meta import EMPTY_META, DocumentMeta
from cloudant_odm.models.options import (
    DOCUMENT_OPTION_NAMES,
    EMBEDDED_OPTION_NAMES,
    UNSET,
    DocumentOptions,
    EmbeddedOptions,
    Unknown,
    collect,
    document_options,
    embedded_options,
)
from cloudant_odm.models.refs import ref_fields
from cloudant_odm.models.registry import registry

if TYPE_CHECKING or sys.version_info < (3, 11):
    from typing_extensions import dataclass_transform
else:
    from typing import dataclass_transform

if TYPE_CHECKING:
    from cloudant_odm.query.expressions import Field
    from cloudant_odm.query.manager import Manager

__all__ = [
    "NOT_LOADED",
    "Document",
    "Embedded",
    "is_partial",
    "loaded_fields",
    "provide_class_access",
]

# What a document class gives at class level (``Order.total`` as a query field,
# ``Order.objects``) is made by the query layer, which sits above the models and hands
# its factories down here when it is imported (cloudant_odm.query does, and so
# ``import cloudant_odm``).
_field_factory: Callable[[type[Any], str], Any] | None = None
_manager_factory: Callable[[type[Any]], Any] | None = None


def provide_class_access(
    field: Callable[[type[Any], str], Any], manager: Callable[[type[Any]], Any]
) -> None:
    """Install the query layer's factories for ``Order.<field>`` and ``Order.objects``."""
    global _field_factory, _manager_factory
    _field_factory, _manager_factory = field, manager


def _query_layer_missing(what: str) -> AttributeError:
    return AttributeError(
        f"{what} is a query expression, made by cloudant_odm.query: import cloudant_odm "
        "(or cloudant_odm.query) to use it"
    )


# Names that Document itself gives a meaning to ("objects" is the class's query manager).
_DOCUMENT_RESERVED = frozenset({"id", "rev", "extra", "meta", "partition", "objects"})

_EMBEDDED_RESERVED = frozenset({"extra"})

#: Key in the ``__dict__`` of a partial document (loaded with ``QuerySet.fields(...)``):
#: the names of the fields it holds. A session refuses to store such an object.
PARTIAL = "__cloudant_odm_partial__"


def loaded_fields(obj: Any) -> frozenset[str] | None:
    """The fields a partial object (``QuerySet.fields``) holds, or None for a whole
    document. (Read with getattr: asking for ``obj.__dict__`` would make one for an
    object that has none yet, every new document.)"""
    found: frozenset[str] | None = getattr(obj, PARTIAL, None)
    return found


def is_partial(obj: Any) -> bool:
    """True for an object loaded with only some of its fields (``QuerySet.fields``)."""
    return loaded_fields(obj) is not None


class _NotLoaded:
    """The value of a field a partial object was not loaded with.

    It shows in ``repr`` and refuses to be used as a value, so code that reads such a
    field fails with a message instead of computing with a placeholder."""

    __slots__ = ()
    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "<not loaded>"

    def _fail(self, *_: object, **__: object) -> NoReturn:
        raise AttributeError(
            "this field was not loaded: the object is partial (QuerySet.fields(...)); "
            "query without fields() to get whole documents"
        )

    def __getattr__(self, name: str) -> NoReturn:
        self._fail()

    __bool__ = __str__ = __len__ = __iter__ = __eq__ = __ne__ = _fail
    __lt__ = __le__ = __gt__ = __ge__ = _fail
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _fail
    __truediv__ = __rtruediv__ = __getitem__ = __contains__ = __float__ = __int__ = _fail


NOT_LOADED: Any = _NotLoaded()

_D = TypeVar("_D", bound="Document")


@dataclass_transform(kw_only_default=True, field_specifiers=(field, attrs.field))
class _Model:
    """Turns every subclass into a keyword-only attrs class.

    ``dataclass_transform`` sits on this private base rather than on ``Document`` so that
    ``Document``'s own fields (``id``, ``rev``, ...) are part of every subclass's typed
    ``__init__``. Keyword-only fields let a subclass add required fields after its
    parent's defaulted ones.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # slots=False: attrs then patches cls in place, which __init_subclass__ requires.
        # ref_fields: a document assigned to a Ref field is stored as a Ref to its id.
        attrs.define(
            cls, slots=False, kw_only=True, auto_attribs=True, field_transformer=ref_fields
        )


def _own_keys(
    cls: type, owner: str, reserved: frozenset[str], skip: frozenset[str]
) -> dict[str, str]:
    """Attribute -> JSON key for the declared fields; refuses reserved names."""
    keys: dict[str, str] = {}
    for attribute in attrs.fields(cls):
        if attribute.name in skip and attribute.inherited:
            continue
        if attribute.name in reserved:
            raise DocumentDefinitionError(
                f"{cls.__name__}: {attribute.name!r} is reserved by {owner}; "
                "give the field another name and set field(key=...) for its JSON key"
            )
        keys[attribute.name] = json_key(attribute)
        check_decimal_storage(cls, attribute)
        refuse_ambiguous_unions(cls, attribute)
    refuse_shared_keys(cls, keys)
    return keys


class Embedded(_Model):
    """Base for objects nested inside documents that keep JSON keys they don't declare.

    Any attrs class can be nested in a document, but a plain attrs class has nowhere to
    keep keys another program added, so loading one with unknown keys fails (unless the
    document says ``unknown="drop"``). Derive nested classes from ``Embedded`` and those
    keys are kept in ``extra`` and written back, as for documents::

        class Address(Embedded):
            street: str
            city: str

    Class keyword / ``Meta`` option: ``unknown`` (``"preserve"``, ``"forbid"``, ``"drop"``).
    """

    _options: ClassVar[EmbeddedOptions]

    #: JSON keys the class does not declare, kept as loaded and written back on save.
    extra: dict[str, Any] = field(factory=dict, repr=False)

    def __init_subclass__(cls, *, unknown: Unknown = UNSET) -> None:
        super().__init_subclass__()
        keys = _own_keys(cls, "Embedded", _EMBEDDED_RESERVED, _EMBEDDED_RESERVED)
        given = collect(cls, EMBEDDED_OPTION_NAMES, {"unknown": unknown})
        parent = getattr(cls, "_options", None)
        cls._options = embedded_options(cls, parent, given, keys)


Embedded._options = EmbeddedOptions()


class _FieldAccess:
    """Class-level access to a document field: ``Order.total`` is a query expression
    (``cloudant_odm.query.Field``). A non-data descriptor, so an instance's own value in
    its ``__dict__`` (set by ``__init__``) always wins over it."""

    __slots__ = ("_fields", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self._fields: weakref.WeakKeyDictionary[type, Field[Any]] = weakref.WeakKeyDictionary()

    def __get__(self, instance: object, owner: type[Document]) -> Any:
        if instance is not None:
            # Only an object built without __init__ lacks the value.
            raise AttributeError(f"{owner.__name__!r} object has no attribute {self.name!r}")
        found = self._fields.get(owner)
        if found is None:
            if _field_factory is None:
                raise _query_layer_missing(f"{owner.__name__}.{self.name}")
            found = self._fields[owner] = _field_factory(owner, self.name)
        return found


class _ManagerAccess:
    """``Order.objects``: the class's :class:`~cloudant_odm.query.Manager`."""

    def __get__(self, instance: None, owner: type[_D]) -> Manager[_D]:
        if instance is not None:
            raise AttributeError(
                f"objects is reached through the class ({owner.__name__}.objects), not an instance"
            )
        if _manager_factory is None:
            raise _query_layer_missing(f"{owner.__name__}.objects")
        manager: Manager[_D] = _manager_factory(owner)
        return manager

    def __set__(self, instance: object, value: object) -> NoReturn:
        raise AttributeError("objects can't be assigned")


def _install_field_access(cls: type[Document], names: list[str]) -> None:
    # attrs removed the class attributes of its fields (dict classes), so nothing of the
    # user's is replaced here.
    for name in names:
        if name not in cls.__dict__:
            setattr(cls, name, _FieldAccess(name))


class Document(_Model):
    """Base class of stored documents.

    Annotated class attributes are fields; ``class Meta`` or class keywords set the
    options (see :class:`DocumentOptions`)::

        class Order(Document, db="orders"):
            customer: str
            total: Decimal = Decimal("0")

    Every document has ``id`` (JSON ``_id``) and ``rev`` (``_rev``), both keyword
    arguments defaulting to None, ``extra`` (unknown JSON keys, written back) and ``meta``
    (CouchDB metadata such as attachment stubs and conflicts).
    """

    _options: ClassVar[DocumentOptions]

    #: The query manager: ``Order.objects.filter(Order.total > 10)``.
    objects = _ManagerAccess()

    #: The document id (``_id``); None until given or generated.
    id: str | None = field(default=None)
    #: The revision (``_rev``) this object was read at or last written as.
    rev: str | None = field(default=None)
    #: JSON keys the class does not declare, kept as loaded and written back on save.
    extra: dict[str, Any] = field(factory=dict, repr=False)
    #: CouchDB metadata of the loaded revision; not compared by ``==``.
    meta: DocumentMeta = field(default=EMPTY_META, repr=False, eq=False)

    def __init_subclass__(
        cls,
        *,
        db: str | None = UNSET,
        doc_type: str = UNSET,
        type_field: str = UNSET,
        design: str | None = UNSET,
        partitioned: bool = UNSET,
        id_factory: Callable[[Any], str] | None = UNSET,
        id_from: tuple[str, ...] | str = UNSET,
        partition_from: str | None = UNSET,
        unknown: Unknown = UNSET,
        allow_naive_datetime: bool = UNSET,
        abstract: bool = UNSET,
        schema_version: int | None = UNSET,
        schema_version_key: str = UNSET,
    ) -> None:
        super().__init_subclass__()
        keys = _own_keys(cls, "Document", _DOCUMENT_RESERVED, _DOCUMENT_RESERVED - {"partition"})
        keywords = {
            "db": db,
            "doc_type": doc_type,
            "type_field": type_field,
            "design": design,
            "partitioned": partitioned,
            "id_factory": id_factory,
            "id_from": id_from,
            "partition_from": partition_from,
            "unknown": unknown,
            "allow_naive_datetime": allow_naive_datetime,
            "abstract": abstract,
            "schema_version": schema_version,
            "schema_version_key": schema_version_key,
        }
        given = collect(cls, DOCUMENT_OPTION_NAMES, keywords)
        parent: DocumentOptions = cls._options  # not yet set on cls: the nearest base's
        cls._options = document_options(cls, parent, given, keys)
        owner: type = cls  # an attrs class now (mypy can't see that on type[Document])
        _install_field_access(cls, [a.name for a in attrs.fields(owner) if not a.inherited])
        _bind_declarations(cls)  # before registering: a class that fails is not kept
        if not cls._options.abstract:
            registry.register(cls)

    @property
    def partition(self) -> str | None:
        """The partition of a partitioned model's id (the part before ``:``), else None."""
        if self.id is None or not self._options.partitioned:
            return None
        partition, sep, _ = self.id.partition(SEPARATOR)
        return partition if sep else None


Document._options = DocumentOptions(doc_type="document", abstract=True, model="Document")
_install_field_access(Document, ["id", "rev"])


def _bind_declarations(cls: type[Document]) -> None:
    # Class-level declarations (views, indexes, filters: cloudant_odm.design) check
    # themselves against the finished class here; their __set_name__ runs while the class
    # statement is still being built, before attrs and the options.
    owner: type = cls  # an attrs class by now
    values = [*vars(cls).values(), *(a.default for a in attrs.fields(owner) if not a.inherited)]
    for value in values:
        bind = getattr(type(value), "__bind_document__", None)
        if bind is not None:
            bind(value, cls)

"""References between documents: ``customer: Ref[Customer]``.

A :class:`Ref` is a small immutable value, the id of a document and the class it is a
document of. A field typed ``Ref[Customer]`` (or ``Ref[Customer] | None``, or
``list[Ref[Product]]``) is stored as the id string, so documents other programs wrote
with plain ids load as references.

Assigning a document to such a field (in ``__init__`` or later) stores a reference to
its id: an attrs converter, added here to every field whose type mentions ``Ref`` (see
:func:`ref_fields`). A document without an id yet is refused there, at once. Anything
else is left as it is, and the checks before a write refuse it (``models/checks.py``).

Resolving a reference needs a session, which this layer does not know: ``ref.get(s)``
calls ``s.get(ref)`` (``cloudant_odm/session.py``), and prefetching is the query
layer's (``QuerySet.prefetch``).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from typing import (
    TYPE_CHECKING,
    Any,
    ForwardRef,
    Generic,
    TypeVar,
    final,
    get_args,
    get_origin,
    overload,
)

import attrs

from cloudant_odm._typing import SEQUENCE_ORIGINS, union_members
from cloudant_odm.models.errors import DocumentDefinitionError, DocumentValidationError
from cloudant_odm.models.ids import SEPARATOR
from cloudant_odm.models.options import DocumentOptions

if TYPE_CHECKING:
    from collections.abc import Coroutine

    from cloudant_odm.aio.session import AsyncSession
    from cloudant_odm.models.document import Document
    from cloudant_odm.session import Session

__all__ = [
    "Ref",
    "dump_ref",
    "id_problem",
    "is_document",
    "is_ref_type",
    "ref_fields",
    "ref_loader",
    "ref_target",
    "ref_targets",
]

D_co = TypeVar("D_co", bound="Document", covariant=True)
D = TypeVar("D", bound="Document")
T = TypeVar("T")


class _Raise:
    def __repr__(self) -> str:
        return "<raise>"


_RAISE: Any = _Raise()


def is_document(value: object) -> bool:
    """``value`` is a document (an instance of a ``Document`` class)."""
    return isinstance(getattr(type(value), "_options", None), DocumentOptions)


def _is_document_class(tp: object) -> bool:
    return isinstance(tp, type) and isinstance(getattr(tp, "_options", None), DocumentOptions)


def id_problem(doc_id: object, model: type[Document]) -> str | None:
    """Why ``doc_id`` can't name a document of ``model``, or None."""
    if not isinstance(doc_id, str):
        return f"expected a document id (a str), got {type(doc_id).__name__}"
    if not doc_id:
        return "expected a document id, got ''"
    if doc_id.startswith("_"):
        return f"{doc_id!r} is not a document id (ids can't start with '_')"
    if model._options.partitioned:
        partition, sep, key = doc_id.partition(SEPARATOR)
        if not (sep and partition and key):
            return (
                f"{model.__name__} is partitioned: its ids look like 'partition:key', "
                f"got {doc_id!r}"
            )
    return None


@final
class Ref(Generic[D_co]):
    """A reference to the ``model`` document with id ``id``: ``Ref(Customer, "c-17")``.

    Immutable and hashable. Two references are equal when they name the same id and
    their classes are related (one a subclass of the other): a reference made from a
    ``PriorityCustomer`` equals the ``Ref[Customer]`` a field loads back. As in a query,
    a reference also equals its id string and its document (``order.customer == "c-17"``,
    ``order.customer == ann``).

    ``ref.get(session)`` is the document (from the session's identity map, without a
    request, when it holds it); a missing or deleted one raises
    :class:`~cloudant_odm.errors.DanglingReference` (a ``DoesNotExist``), unless you ask
    for a default: ``ref.get(session, default=None)``.
    """

    __slots__ = ("id", "model")

    #: The class of the document referred to (the field's declared class).
    model: type[D_co]
    #: The id of the document referred to.
    id: str

    def __init__(self, model: type[D_co], id: str) -> None:
        if not _is_document_class(model):
            raise TypeError(f"Ref() takes a Document class and an id, got {model!r}")
        problem = id_problem(id, model)
        if problem is not None:
            raise ValueError(f"Ref({model.__name__}, ...): {problem}")
        object.__setattr__(self, "model", model)
        object.__setattr__(self, "id", id)

    @staticmethod
    def _of(model: type[D], doc_id: str) -> Ref[D]:
        """A reference without the checks (for ids already checked)."""
        ref: Ref[D] = object.__new__(Ref)
        object.__setattr__(ref, "model", model)
        object.__setattr__(ref, "id", doc_id)
        return ref

    @staticmethod
    def to(doc: D) -> Ref[D]:
        """A reference to ``doc``, which must have its id (``Session.add`` gives it one)."""
        if not is_document(doc):
            raise TypeError(f"Ref.to() takes a document, got {type(doc).__name__}")
        if doc.id is None:
            raise ValueError(_no_id(type(doc)))
        return Ref(type(doc), doc.id)

    @overload
    def get(self, session: Session) -> D_co: ...
    @overload
    def get(self, session: Session, *, default: T) -> D_co | T: ...
    @overload
    def get(self, session: AsyncSession) -> Coroutine[Any, Any, D_co]: ...
    @overload
    def get(self, session: AsyncSession, *, default: T) -> Coroutine[Any, Any, D_co | T]: ...
    def get(self, session: Session | AsyncSession, *, default: Any = _RAISE) -> Any:
        """The document, through ``session`` (``session.get(ref)``): from its identity map
        when it holds it, else read. A missing or deleted document raises
        ``DanglingReference`` (a ``DoesNotExist``), or returns ``default`` if given.
        With an ``AsyncSession``, await it: ``await ref.get(session)``."""
        if default is _RAISE:
            return session.get(self)
        return session.get(self, default=default)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"a Ref is immutable (can't set {name!r}); make a new one")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"a Ref is immutable (can't delete {name!r})")

    def __eq__(self, other: object) -> bool:
        # As a query compares a reference field: with a Ref, a document or an id string
        # (hash(ref) is hash(id), so a set or dict of refs finds an id too).
        if isinstance(other, str):
            return self.id == other
        their_id: str | None
        if other.__class__ is Ref:
            assert isinstance(other, Ref)
            theirs, their_id = other.model, other.id
        elif isinstance(getattr(other.__class__, "_options", None), DocumentOptions):
            theirs, their_id = other.__class__, getattr(other, "id", None)
        else:
            return NotImplemented
        if self.id != their_id:
            return False
        mine = self.model
        return mine is theirs or issubclass(mine, theirs) or issubclass(theirs, mine)

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return f"Ref({self.model.__name__}, {self.id!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Ref, (self.model, self.id))

    def __copy__(self) -> Ref[D_co]:
        return self

    def __deepcopy__(self, memo: object) -> Ref[D_co]:
        return self


def _no_id(model: type) -> str:
    return (
        f"{model.__name__} has no id yet: add it to a session first (Session.add gives "
        "it its id) or give it one, then refer to it"
    )


# --- reading types ---------------------------------------------------------------------


def is_ref_type(tp: Any) -> bool:
    """``Ref`` or ``Ref[X]``."""
    return tp is Ref or get_origin(tp) is Ref


def ref_target(tp: Any) -> type[Document]:
    """``Customer`` for ``Ref[Customer]``; a bad target is a definition error."""
    args = get_args(tp)
    target = args[0] if args else None
    if not _is_document_class(target):
        if target is None:
            problem = "a bare Ref: say which class it refers to, Ref[Customer]"
        else:
            problem = f"Ref[{getattr(target, '__name__', target)}]: not a Document class"
        raise DocumentDefinitionError(problem)
    found: type[Document] = target  # type: ignore[assignment]
    return found


def ref_targets(tp: Any) -> list[type[Document]]:
    """The classes the references in a field of type ``tp`` refer to, directly, inside
    ``| None``, or as the items of a list or tuple (``list[Ref[Product]]``)."""
    if is_ref_type(tp):
        return [ref_target(tp)]
    origin = get_origin(tp)
    if union_members(tp) is not None or origin in SEQUENCE_ORIGINS:
        found: list[type[Document]] = []
        for arg in get_args(tp):
            if arg is not Ellipsis:
                found.extend(t for t in ref_targets(arg) if t not in found)
        return found
    return []


def _mentions_ref(tp: Any, cls: type) -> bool:
    if isinstance(tp, str):
        if "Ref" not in tp:
            return False
        try:  # as attrs.resolve_types will, in the module's namespace
            tp = eval(tp, vars(sys.modules[cls.__module__]), dict(vars(cls)))
        except Exception:
            return True  # a class defined further down: checked when it is first needed
    try:
        return bool(ref_targets(tp))
    except DocumentDefinitionError:
        if _forward(tp):
            return True  # Ref["Customer"]: resolved when it is needed
        raise


def _forward(tp: Any) -> bool:
    return any(isinstance(a, (str, ForwardRef)) or _forward(a) for a in get_args(tp))


# --- loading ---------------------------------------------------------------------------


def ref_loader(tp: Any) -> Callable[[Any, Any], Any]:
    """The converter's structure hook for ``Ref[X]``: an id string -> ``Ref(X, id)``."""
    target = ref_target(tp)
    partitioned = target._options.partitioned

    def load_ref(value: Any, _: Any) -> Any:
        if (
            value.__class__ is str
            and value
            and value[0] != "_"
            and (not partitioned or id_problem(value, target) is None)
        ):
            return Ref._of(target, value)
        problem = id_problem(value, target) or f"can't refer to {value!r}"
        raise (TypeError if not isinstance(value, str) else ValueError)(problem)

    return load_ref


def dump_ref(value: Any) -> Any:
    """The converter's unstructure hook for references: the id."""
    if value.__class__ is Ref:
        return value.id
    raise TypeError(f"expected a Ref, got {type(value).__name__}")


# --- assigning documents ---------------------------------------------------------------


class _Assign:
    """The attrs converter of a reference field: a document assigned to it (in
    ``__init__`` or later) becomes a :class:`Ref` to its id; other values pass as they
    are (the write checks judge them)."""

    __slots__ = ("_cls", "_name", "_targets")

    def __init__(self, cls: type, name: str) -> None:
        self._cls = cls
        self._name = name
        self._targets: list[type[Document]] | None = None

    def __call__(self, value: Any) -> Any:
        kind = value.__class__
        if kind is Ref or value is None:
            return value
        if kind is list or kind is tuple:
            for item in value:
                if is_document(item):
                    return kind(self._one(item) for item in value)
            return value
        return self._one(value) if is_document(value) else value

    def _one(self, value: Any) -> Any:
        if not is_document(value):
            return value
        targets = [t for t in self._field_targets() if isinstance(value, t)]
        if len(targets) != 1:
            return value  # not a document the field refers to: the write checks refuse it
        if value.id is None:
            problem = _no_id(type(value))
            raise DocumentValidationError(self._cls.__name__, None, [(self._name, problem)])
        return Ref(targets[0], value.id)

    def _field_targets(self) -> list[type[Document]]:
        if self._targets is None:
            with contextlib.suppress(Exception):  # unresolvable: the converter reports it
                attrs.resolve_types(self._cls)
            tp = attrs.fields_dict(self._cls)[self._name].type
            self._targets = [] if isinstance(tp, str) else ref_targets(tp)
        return self._targets


def ref_fields(cls: type, fields: list[attrs.Attribute[Any]]) -> list[attrs.Attribute[Any]]:
    """attrs' ``field_transformer`` for documents and ``Embedded`` classes: a field
    whose type mentions ``Ref`` converts documents assigned to it into references."""
    out = []
    for attribute in fields:
        inherited = getattr(attribute, "inherited", False)  # not in attrs' stubs
        if not inherited and attribute.converter is None:
            try:
                mentions = _mentions_ref(attribute.type, cls)
            except DocumentDefinitionError as exc:
                raise DocumentDefinitionError(
                    f"{cls.__qualname__}.{attribute.name}: {exc}"
                ) from None
            if mentions:
                attribute = attribute.evolve(converter=_Assign(cls, attribute.name))
        out.append(attribute)
    return out

"""Per-class options: read from ``class Meta`` and class keywords, inherited, checked once."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, get_args

import attrs

from cloudant_odm.models import ids
from cloudant_odm.models.errors import DocumentDefinitionError
from cloudant_odm.models.versions import (
    DEFAULT_VERSION_KEY,
    Migration,
    check_versions,
    own_migrations,
)

if TYPE_CHECKING:
    from cloudant_odm.models.document import Document

__all__ = ["UNSET", "DocumentOptions", "EmbeddedOptions", "Unknown"]

Unknown = Literal["preserve", "forbid", "drop"]
_UNKNOWN_POLICIES: tuple[str, ...] = get_args(Unknown)


class _Unset:
    """Marks a class keyword that was not given (None is a real value for some options)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


#: The members every document has whose JSON keys are CouchDB's own.
DOCUMENT_KEYS: Mapping[str, str] = {"id": "_id", "rev": "_rev"}


@attrs.frozen
class EmbeddedOptions:
    """Resolved options of an :class:`Embedded` class (``Address._options``)."""

    #: What to do with JSON keys the class does not declare.
    unknown: Unknown = "preserve"
    #: Attribute name -> JSON key, for every declared field.
    keys: Mapping[str, str] = attrs.field(factory=dict)

    @property
    def json_keys(self) -> Mapping[str, str]:
        """Attribute name -> JSON key of every member stored under a key of its own."""
        return self.keys


@attrs.frozen
class DocumentOptions:
    """Resolved options of a :class:`Document` class (``Order._options``).

    Values not given on a subclass are inherited from its parent, except ``doc_type``
    (the subclass's own name in lower case) and ``abstract``.
    """

    #: Default database name, or None.
    db: str | None = None
    #: Value of the type field for this class.
    doc_type: str = ""
    #: JSON key holding the type. Shared by a class and its subclasses.
    type_field: str = "type"
    #: Design document name for this class's views and indexes, or None.
    design: str | None = None
    #: Stored in a partitioned database: ids are ``partition:key``.
    partitioned: bool = False
    #: ``f(doc) -> str`` making the id (or its key part, see ``partition_from``).
    id_factory: Callable[[Any], str] | None = None
    #: Field names whose values, joined by ``:``, make the id (a natural key).
    id_from: tuple[str, ...] = ()
    #: Field whose value is the partition of a generated id (partitioned models).
    partition_from: str | None = None
    #: What to do with JSON keys the class does not declare.
    unknown: Unknown = "preserve"
    #: Accept datetimes without a UTC offset (on load and on save).
    allow_naive_datetime: bool = False
    #: Not registered for loading, can't be saved: a base holding shared fields.
    abstract: bool = False
    #: The schema version the class reads and writes, or None (not versioned). Older
    #: documents are upgraded on load by the class's migrations (models/versions.py).
    schema_version: int | None = None
    #: JSON key holding a versioned document's schema version (absent: version 1).
    schema_version_key: str = DEFAULT_VERSION_KEY
    #: The upgrade steps, own and inherited: from_version -> step (not an option).
    migrations: Mapping[int, Migration] = attrs.field(factory=dict)
    #: Attribute name -> JSON key, for every declared field (not id, rev, extra, meta).
    keys: Mapping[str, str] = attrs.field(factory=dict)
    #: The class name, for messages.
    model: str = "Document"

    @property
    def json_keys(self) -> Mapping[str, str]:
        """Attribute name -> JSON key of every member stored under a key of its own:
        ``id`` and ``rev`` (``_id``, ``_rev``) and the declared fields. The one map from
        attributes to JSON that queries, declarations and partial loads read (the
        converter is generated from the same field metadata)."""
        return {**DOCUMENT_KEYS, **self.keys}

    def new_id(self, doc: Document) -> str:
        """Make an id for ``doc``, a new document of this class (doc.id is not changed).

        A uuid4 hex by default, ``id_factory(doc)`` if set, or the ``id_from`` fields joined
        by ``:``. For a partitioned model with ``partition_from``, the value of that field
        and ``:`` are put in front; otherwise the result must already be ``partition:key``.
        """
        if self.id_factory is None and not self.id_from and not self.partitioned:
            return ids.random_key()  # 32 hex digits: always a valid id, nothing to check
        if self.id_factory is not None:
            key = self.id_factory(doc)
        elif self.id_from:
            key = ids.SEPARATOR.join(ids.id_part(doc, name) for name in self.id_from)
        else:
            key = ids.random_key()
        if self.partitioned:
            if self.partition_from is not None:
                key = f"{ids.id_part(doc, self.partition_from)}{ids.SEPARATOR}{key}"
            elif self.id_factory is None and not self.id_from:
                raise ValueError(
                    f"{self.model} is partitioned: set Meta.partition_from (or id_factory, "
                    "or id_from) so a new id gets its partition, or give the id yourself"
                )
        return ids.check_id(key, model=self.model, partitioned=self.partitioned)


DOCUMENT_OPTION_NAMES = frozenset(
    a.name for a in attrs.fields(DocumentOptions) if a.name not in ("keys", "model", "migrations")
)
EMBEDDED_OPTION_NAMES = frozenset({"unknown"})


def collect(cls: type, allowed: frozenset[str], keywords: Mapping[str, Any]) -> dict[str, Any]:
    """Options given on ``cls`` itself: its own ``class Meta`` plus its class keywords."""
    given = {name: value for name, value in keywords.items() if value is not UNSET}
    meta = cls.__dict__.get("Meta")
    if meta is None:
        return given
    # dir() so that `class Meta(Base.Meta)` inherits the base's values.
    from_meta = {name: getattr(meta, name) for name in dir(meta) if not name.startswith("_")}
    wrong = sorted(set(from_meta) - allowed)
    if wrong:
        raise DocumentDefinitionError(
            f"{cls.__name__}.Meta: unknown option(s) {', '.join(map(repr, wrong))}; "
            f"known: {', '.join(sorted(allowed))}"
        )
    both = sorted(set(from_meta) & set(given))
    if both:
        raise DocumentDefinitionError(
            f"{cls.__name__}: {', '.join(both)} given both in Meta and as a class keyword"
        )
    given.update(from_meta)
    return given


def _check_unknown(cls: type, value: Any) -> Unknown:
    if value not in _UNKNOWN_POLICIES:
        raise DocumentDefinitionError(
            f"{cls.__name__}: unknown must be one of {', '.join(_UNKNOWN_POLICIES)}, got {value!r}"
        )
    policy: Unknown = value
    return policy


def embedded_options(
    cls: type, parent: EmbeddedOptions | None, given: Mapping[str, Any], keys: Mapping[str, str]
) -> EmbeddedOptions:
    unknown = given.get("unknown", parent.unknown if parent else "preserve")
    return EmbeddedOptions(unknown=_check_unknown(cls, unknown), keys=dict(keys))


def document_options(
    cls: type,
    parent: DocumentOptions | None,
    given: Mapping[str, Any],
    keys: Mapping[str, str],
) -> DocumentOptions:
    """Merge ``given`` over the parent's options and check the result against ``cls``."""
    base = parent or DocumentOptions()
    inherited = attrs.asdict(base, recurse=False)
    values = {**inherited, "doc_type": cls.__name__.lower(), "abstract": False, **given}
    values["keys"] = dict(keys)
    values["model"] = cls.__name__
    name = cls.__name__

    def fail(problem: str) -> DocumentDefinitionError:
        return DocumentDefinitionError(f"{name}: {problem}")

    for option in ("db", "design", "partition_from"):
        if values[option] is not None and (
            not isinstance(values[option], str) or not values[option]
        ):
            raise fail(f"{option} must be a non-empty str or None, got {values[option]!r}")
    for option in ("doc_type", "type_field"):
        if not isinstance(values[option], str) or not values[option]:
            raise fail(f"{option} must be a non-empty str, got {values[option]!r}")
    for option in ("partitioned", "allow_naive_datetime", "abstract"):
        if not isinstance(values[option], bool):
            raise fail(f"{option} must be True or False, got {values[option]!r}")
    values["unknown"] = _check_unknown(cls, values["unknown"])

    type_field = values["type_field"]
    if type_field.startswith("_"):
        raise fail(f"type_field can't start with '_' (CouchDB reserves those): {type_field!r}")
    if parent is not None and not parent.abstract and type_field != parent.type_field:
        raise fail(
            f"type_field {type_field!r} differs from {parent.model}'s {parent.type_field!r}; "
            "a subclass must keep its parent's type field so loads can find it"
        )

    id_factory, id_from = values["id_factory"], values["id_from"]
    if "id_factory" in given and "id_from" not in given:
        id_from = values["id_from"] = ()
    if "id_from" in given and "id_factory" not in given:
        id_factory = values["id_factory"] = None
    if id_factory is not None and not callable(id_factory):
        raise fail(f"id_factory must be callable, got {id_factory!r}")
    if isinstance(id_from, str):
        id_from = values["id_from"] = (id_from,)
    id_from = values["id_from"] = tuple(id_from)
    if id_factory is not None and id_from:
        raise fail("give id_factory or id_from, not both")
    for field_name in (*id_from, values["partition_from"]):
        if field_name is not None and field_name not in keys:
            raise fail(f"{field_name!r} (in id_from or partition_from) is not a field")
    if values["partition_from"] is not None and not values["partitioned"]:
        raise fail("partition_from only makes sense with partitioned=True")

    for attribute, key in keys.items():
        if key == type_field:
            raise fail(f"field {attribute!r} uses the JSON key {key!r}, which is the type field")
        if key.startswith("_"):
            raise fail(
                f"field {attribute!r} uses the JSON key {key!r}; top-level keys starting "
                "with '_' are reserved by CouchDB (set field(key=...))"
            )
    values["migrations"] = check_versions(name, values, keys, own_migrations(cls), parent)
    return DocumentOptions(**values)

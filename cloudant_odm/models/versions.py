"""Schema versions: ``Meta.schema_version``, the upgrade steps a class declares with
``@migration(from_version)``, and :func:`upgrade`, the one function that brings stored
JSON up to its class's version before the converter reads it.

A versioned class writes its version under ``Meta.schema_version_key`` in every document
it stores; a document without the key is version 1. Each step takes the JSON of one
version (a dict) and returns the JSON of the next; loading an older document runs the
steps from its version to the class's, on a copy (the JSON given is never changed). Keys
a step doesn't touch are carried over, so keys the class doesn't declare survive unless a
step removes them. A document newer than its class is refused, never downgraded.

The steps are checked when the ``class`` statement runs: one per version, contiguous, the
last one from ``schema_version - 1``. The first may be later than version 1 once no
older document is left (see ``docs/migrations.md``: retiring migrations).
"""

from __future__ import annotations

import copy
import marshal
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from cloudant_odm.models.errors import (
    DocumentDefinitionError,
    MigrationError,
    SchemaVersionError,
)

if TYPE_CHECKING:
    from cloudant_odm.models.document import Document

__all__ = [
    "DEFAULT_VERSION_KEY",
    "Migration",
    "check_versions",
    "migration",
    "needs_upgrade",
    "own_migrations",
    "stale_selector",
    "upgrade",
]

#: The JSON key of the schema version unless ``Meta.schema_version_key`` says otherwise.
DEFAULT_VERSION_KEY = "schema_version"

#: An upgrade step: the JSON of one version in, the JSON of the next out.
Step = Callable[[dict[str, Any]], dict[str, Any]]

_MISSING: Any = object()


class Migration:
    """An upgrade step of a document class, from ``from_version`` to the next version.

    Made by :func:`migration` in a class body; calling it runs the function. The class
    collects its steps when it is defined (``Order._options.migrations``).
    """

    __slots__ = ("from_version", "function")

    def __init__(self, from_version: int, function: Step) -> None:
        self.from_version = from_version
        self.function = function

    @property
    def name(self) -> str:
        """The function's qualified name (``Order.split_name``), for messages."""
        return str(getattr(self.function, "__qualname__", None) or repr(self.function))

    def __call__(self, doc: dict[str, Any]) -> dict[str, Any]:
        return self.function(doc)

    def __repr__(self) -> str:
        return f"<migration from version {self.from_version}: {self.name}>"


def migration(
    from_version: int,
) -> Callable[[Step | staticmethod[[dict[str, Any]], dict[str, Any]]], Migration]:
    """Declare, in a document class's body, the step from ``from_version`` to the next::

        class Order(Document):
            class Meta:
                schema_version = 2

            first_name: str

            @migration(1)
            @staticmethod
            def split_name(doc: dict[str, Any]) -> dict[str, Any]:
                doc["first_name"] = doc.pop("name").split()[0]
                return doc

    The function takes the stored JSON of version ``from_version`` (a dict of its own: it
    may change it and return it) and returns the JSON of version ``from_version + 1``.
    ``@staticmethod`` is optional at run time; pyright wants it (mypy does not).
    """
    if not isinstance(from_version, int) or isinstance(from_version, bool) or from_version < 1:
        raise DocumentDefinitionError(
            f"migration(from_version) takes a version number from 1, got {from_version!r}"
        )

    def declare(function: Step | staticmethod[[dict[str, Any]], dict[str, Any]]) -> Migration:
        step = function.__func__ if isinstance(function, staticmethod) else function
        if isinstance(step, (classmethod, Migration)) or not callable(step):
            raise DocumentDefinitionError(
                f"migration({from_version}) decorates a function taking the stored JSON "
                f"(a dict) and returning the upgraded JSON, not {step!r}"
            )
        return Migration(from_version, step)

    return declare


# --- checked when the class is defined ---------------------------------------------------


def own_migrations(cls: type) -> dict[int, Migration]:
    """The steps declared in ``cls``'s own body, by version (two for one version fail)."""
    found: dict[int, tuple[str, Migration]] = {}
    annotations = vars(cls).get("__annotations__", {})
    defaults = {a.name: a.default for a in attrs.fields(cls)} if attrs.has(cls) else {}
    for name, value in [*vars(cls).items(), *defaults.items()]:
        if not isinstance(value, Migration):
            continue
        if name in annotations or name in defaults:
            # The function's name is a field's: the step became that field's default.
            raise DocumentDefinitionError(
                f"{cls.__name__}: the step {value.name} from version {value.from_version} "
                f"has the name of the field {name!r}; give the function another name"
            )
        other = found.get(value.from_version)
        if other is not None:
            raise DocumentDefinitionError(
                f"{cls.__name__}: two migrations from version {value.from_version}: "
                f"{other[0]} and {name}; declare one step per version"
            )
        found[value.from_version] = (name, value)
    return {version: step for version, (_, step) in sorted(found.items())}


def check_versions(
    model: str,
    values: Mapping[str, Any],
    keys: Mapping[str, str],
    own: Mapping[int, Migration],
    parent: Any,
) -> dict[int, Migration]:
    """Check a class's ``schema_version`` options and steps (``values``: its resolved
    options; ``parent``: the parent's :class:`DocumentOptions` or None); return its steps,
    inherited ones included, by version."""
    version, key = values["schema_version"], values["schema_version_key"]

    def fail(problem: str) -> DocumentDefinitionError:
        return DocumentDefinitionError(f"{model}: {problem}")

    if version is None:
        if own:
            first = next(iter(own.values()))
            raise fail(
                f"{first.name} is a migration, but the class has no Meta.schema_version; "
                "set it to the version the migrations lead to"
            )
        return {}
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise fail(f"schema_version must be a whole number from 1 (or None), got {version!r}")
    if not isinstance(key, str) or not key:
        raise fail(f"schema_version_key must be a non-empty str, got {key!r}")
    if key.startswith("_"):
        raise fail(f"schema_version_key can't start with '_' (CouchDB reserves those): {key!r}")
    if key == values["type_field"]:
        raise fail(f"schema_version_key {key!r} is the type field")
    for attribute, json_key in keys.items():
        if json_key == key:
            raise fail(
                f"field {attribute!r} uses the JSON key {key!r}, which is the schema version "
                "key; rename the field (field(key=...)) or set Meta.schema_version_key"
            )
    versioned_parent = parent is not None and parent.schema_version is not None
    if versioned_parent and not parent.abstract and key != parent.schema_version_key:
        raise fail(
            f"schema_version_key {key!r} differs from {parent.model}'s "
            f"{parent.schema_version_key!r}; a subclass keeps its parent's key"
        )
    inherited = dict(parent.migrations) if parent is not None else {}
    steps = dict(sorted({**inherited, **own}.items()))
    for step_version, declared in steps.items():
        if step_version >= version:
            raise fail(
                f"migration({step_version}) ({declared.name}) upgrades from version "
                f"{step_version}, but schema_version is {version}: steps go from the "
                "versions below it"
            )
    if version > 1 and not steps:
        raise fail(
            f"schema_version {version} needs migration({version - 1}), the step from "
            f"version {version - 1} (and one from each older version still stored)"
        )
    if version > 1:
        lowest = min(steps)
        missing = [v for v in range(lowest, version) if v not in steps]
        if missing:
            needed = ", ".join(f"migration({v})" for v in missing)
            raise fail(
                f"schema_version {version} needs a step from each version from {lowest} to "
                f"{version - 1}; missing: {needed}"
            )
    return steps


# --- loading ---------------------------------------------------------------------------


def needs_upgrade(model: type[Document], data: Mapping[str, Any]) -> bool:
    """Whether loading ``data`` as ``model`` runs upgrade steps: the class is versioned and
    the stored version (1 without the key) is not the class's."""
    options = model._options
    current = options.schema_version
    if current is None:
        return False
    stored = data.get(options.schema_version_key, 1)
    return not (stored.__class__ is int and stored == current)


def upgrade(model: type[Document], data: Mapping[str, Any]) -> Mapping[str, Any]:
    """``data`` (the stored JSON of a ``model`` document) at ``model``'s schema version.

    ``data`` itself when it is current or the class is not versioned; otherwise a new
    dict, made by running the steps from the stored version on a copy, and holding the
    class's version under the version key. ``_id``, ``_rev`` and the type field can't be
    changed by a step, and CouchDB's ``_`` keys a step leaves out are put back.

    Raises :class:`SchemaVersionError` for a version the class can't load (newer than the
    class, older than its first step, not a version) and :class:`MigrationError` when a
    step raises or returns something other than a dict.
    """
    options = model._options
    current = options.schema_version
    if current is None:
        return data
    key = options.schema_version_key
    stored = data.get(key, 1)
    if stored.__class__ is int and stored == current:
        return data
    version = _loadable_version(model, data, stored, current)
    doc = _copy(data)
    for step_version in range(version, current):
        step = options.migrations[step_version]
        try:
            result = step(doc)
        except Exception as exc:
            problem = f"migration({step_version}) {step.name} failed: {type(exc).__name__}: {exc}"
            raise _step_error(model, data, step_version, problem) from exc
        if not isinstance(result, dict):
            problem = (
                f"migration({step_version}) {step.name} returned "
                f"{type(result).__name__}, not a dict"
            )
            raise _step_error(model, data, step_version, problem)
        _keep_identity(model, data, result, step_version, step)
        result[key] = step_version + 1
        doc = result
    for name, value in data.items():
        if name.startswith("_") and name not in doc:
            doc[name] = value  # attachment stubs and the like: not a step's business
    return doc


def _doc_id(data: Mapping[str, Any]) -> str | None:
    doc_id = data.get("_id")
    return doc_id if isinstance(doc_id, str) else None


def _loadable_version(
    model: type[Document], data: Mapping[str, Any], stored: Any, current: int
) -> int:
    options = model._options
    key = options.schema_version_key
    name = model.__name__
    if not isinstance(stored, int) or isinstance(stored, bool) or stored < 1:
        problem = f"stored version {stored!r} is not a version (a whole number from 1)"
    elif stored > current:
        problem = (
            f"stored version {stored} is newer than {name}'s schema_version {current}: "
            "written by newer code, which can load it (documents are never downgraded)"
        )
    elif stored < min(options.migrations, default=current):
        first = min(options.migrations)
        problem = (
            f"stored version {stored} is older than {name}'s first migration, "
            f"migration({first}); declare the steps from version {stored}"
        )
    else:
        return stored
    raise SchemaVersionError(
        name,
        _doc_id(data),
        [(key, problem)],
        stored_version=None if key not in data else stored,
        supported_version=current,
    )


def _copy(data: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of JSON: steps may change what they are given."""
    try:
        copied = marshal.loads(marshal.dumps(dict(data)))
    except ValueError:  # not plain JSON values (never the case for a server's answer)
        copied = copy.deepcopy(dict(data))
    result: dict[str, Any] = copied
    return result


def _keep_identity(
    model: type[Document],
    data: Mapping[str, Any],
    result: dict[str, Any],
    step_version: int,
    step: Migration,
) -> None:
    for name in ("_id", "_rev", model._options.type_field):
        if name not in data:
            continue
        value = result.get(name, _MISSING)
        if value is _MISSING:
            result[name] = data[name]
        elif value != data[name]:
            problem = (
                f"migration({step_version}) {step.name} changed {name} from "
                f"{data[name]!r} to {value!r}; a step can't change a document's id, "
                "revision or type"
            )
            raise _step_error(model, data, step_version, problem)


def _step_error(
    model: type[Document], data: Mapping[str, Any], step_version: int, problem: str
) -> MigrationError:
    return MigrationError(model.__name__, _doc_id(data), [("", problem)], from_version=step_version)


# --- finding stale documents -----------------------------------------------------------


def _mango_key(key: str) -> str:
    # Mango splits field names on "."; a literal dot in a key is escaped.
    return key.replace("\\", "\\\\").replace(".", "\\.")


def stale_selector(model: type[Document]) -> dict[str, Any] | None:
    """The Mango selector of ``model``'s own documents (its ``doc_type``, not its
    subclasses') stored at an older schema version: without the version key, or with a
    lower one (``$lt`` alone would miss the documents without the key). None when the
    class is abstract, not versioned, or at version 1 (nothing is older)."""
    options = model._options
    current = options.schema_version
    if current is None or current < 2 or options.abstract:
        return None
    key = _mango_key(options.schema_version_key)
    return {
        _mango_key(options.type_field): options.doc_type,
        "$or": [{key: {"$exists": False}}, {key: {"$lt": current}}],
    }

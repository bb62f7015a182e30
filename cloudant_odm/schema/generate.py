"""Design documents from declarations: :func:`generate`.

The output is canonical, so the same declarations always give byte-identical design
documents (:meth:`GeneratedDesignDocument.to_json`): keys sorted, function text normalised,
generated functions written the same way every time, and nothing that varies between
runs (no timestamps, versions or module paths). That is what lets ``sync`` tell
"unchanged" from "changed" by comparing bodies, and skip needless index rebuilds.
"""

from __future__ import annotations

import json
import types
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import attrs

from cloudant_odm.models.document import Document
from cloudant_odm.schema.declarations import (
    Declaration,
    DesignDefinitionError,
    DesignOptions,
    Filter,
    Index,
    ValidateDocUpdate,
    View,
    canonical_json,
    declarations_of,
)
from cloudant_odm.schema.stale import stale_indexes

__all__ = [
    "GENERATED_BY",
    "MARKER",
    "DesignDocument",
    "Generated",
    "GeneratedDesignDocument",
    "MangoIndex",
    "Models",
    "assemble",
    "collect_models",
    "generate",
]

#: Top-level key of the marker in every design document this library writes.
MARKER = "meta"
#: ``meta.generated_by``: how ``sync(prune=True)`` recognises its own design documents.
GENERATED_BY = "cloudant_odm"

#: What ``generate`` and ``sync`` accept: Document classes and modules holding them,
#: one or an iterable of them.
Models = type[Document] | types.ModuleType | Iterable[type[Document] | types.ModuleType]


@attrs.frozen
class GeneratedDesignDocument:
    """A JavaScript design document as it is deployed.

    ``body`` is the whole document, with ``_id`` and without ``_rev``.
    """

    name: str
    body: dict[str, Any] = attrs.field(eq=False)
    declarations: tuple[Declaration, ...] = attrs.field(eq=False, repr=False)

    @property
    def id(self) -> str:
        return f"_design/{self.name}"

    @property
    def content(self) -> dict[str, Any]:
        """The body without ``_id``: what is compared with the deployed one."""
        return {k: v for k, v in self.body.items() if k != "_id"}

    @property
    def partitioned(self) -> bool:
        options = self.body.get("options") or {}
        return bool(options.get("partitioned", False))

    def to_json(self) -> str:
        """The canonical JSON text (sorted keys, no whitespace)."""
        return canonical_json(self.body)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GeneratedDesignDocument):
            return NotImplemented
        return self.to_json() == other.to_json()

    def __hash__(self) -> int:
        return hash(self.to_json())


#: The earlier name of :class:`GeneratedDesignDocument` (kept for old imports; the
#: endpoint client's ``DesignDocument`` is the SDK's request model).
DesignDocument = GeneratedDesignDocument


@attrs.frozen
class MangoIndex:
    """A Mango index as ``POST /{db}/_index`` creates it.

    ``group`` is the design document name without the definition hash
    (``<design>-<name>``): a deployed index of the same group with another hash is an
    older version of this one.
    """

    ddoc: str
    name: str
    kind: str
    group: str
    definition: dict[str, Any] = attrs.field(eq=False)
    declaration: Index = attrs.field(eq=False, repr=False)

    @property
    def id(self) -> str:
        """``_design/<ddoc>/<kind>/<name>``, as the report and the index path name it."""
        return f"_design/{self.ddoc}/{self.kind}/{self.name}"

    def to_json(self) -> str:
        return canonical_json(self.definition)


@attrs.frozen
class Generated:
    """What a set of models declares: JavaScript design documents and Mango indexes,
    each sorted by name."""

    design_documents: tuple[GeneratedDesignDocument, ...]
    indexes: tuple[MangoIndex, ...]

    def __getitem__(self, name: str) -> GeneratedDesignDocument:
        """The design document ``name`` (with or without ``_design/``)."""
        bare = name.removeprefix("_design/")
        for ddoc in self.design_documents:
            if ddoc.name == bare:
                return ddoc
        raise KeyError(name)

    def __iter__(self) -> Iterator[GeneratedDesignDocument]:
        return iter(self.design_documents)

    def __len__(self) -> int:
        return len(self.design_documents)

    def to_json(self, indent: int | None = None) -> str:
        """Everything, as one JSON document (canonical unless ``indent`` is given)."""
        value = {
            "design_documents": [d.body for d in self.design_documents],
            "indexes": [i.definition for i in self.indexes],
        }
        if indent is None:
            return canonical_json(value)
        return json.dumps(value, sort_keys=True, ensure_ascii=False, indent=indent)


def collect_models(models: Models) -> list[type[Document]]:
    """The Document classes in ``models``: classes as given, modules searched for the
    Document subclasses they define or import."""
    items: Iterable[Any] = [models] if isinstance(models, type | types.ModuleType) else models
    found: dict[type[Document], None] = {}
    for item in items:
        if isinstance(item, types.ModuleType):
            for value in vars(item).values():
                if (
                    isinstance(value, type)
                    and issubclass(value, Document)
                    and value is not Document
                ):
                    found.setdefault(value)
        elif isinstance(item, type) and issubclass(item, Document):
            found.setdefault(item)
        else:
            raise TypeError(f"expected Document classes or modules, got {item!r}")
    return list(found)


def generate(models: Models) -> Generated:
    """The design documents and Mango indexes that ``models`` declare.

    ``models``: Document classes or modules (or an iterable of them); a class brings its
    inherited declarations too. Raises :class:`DesignDefinitionError` when declarations
    conflict (two views of one name in one design document, partitioned and global
    declarations mixed, ...).

    Generated functions select documents by the type field, with the doc_types of the
    class and of its subclasses *registered at the time of the call*, so import every
    module that defines subclasses before generating.
    """
    seen: dict[int, Declaration] = {}
    for model in collect_models(models):
        # With the index migrate() finds a versioned class's older documents by.
        for declaration in [*declarations_of(model), *stale_indexes(model)]:
            seen.setdefault(id(declaration), declaration)
    return assemble(list(seen.values()), require_doc_types=True)


def _sort_key(declaration: Declaration) -> tuple[str, str, str]:
    # A Mango index's ddoc hashes its definition: sort by the name before the hash.
    ddoc = declaration.base_ddoc if isinstance(declaration, Index) else declaration.ddoc
    return (ddoc, type(declaration).__name__, declaration.name)


def assemble(declarations: Sequence[Declaration], *, require_doc_types: bool) -> Generated:
    """Build (and check) the design documents of ``declarations``.

    ``require_doc_types=False`` is the class-definition check: an abstract class may get
    its concrete subclasses later.
    """
    js: dict[str, list[Declaration]] = {}
    mango: list[Index] = []
    for declaration in sorted(declarations, key=_sort_key):
        if isinstance(declaration, Index):
            # At class definition a lazy partial filter can't be evaluated yet (it names
            # the class being defined); generate() checks it.
            if require_doc_types or not declaration.lazy:
                mango.append(declaration)
        elif isinstance(declaration, Filter) and declaration.is_selector:
            continue  # CouchDB's built-in _selector filter: nothing to deploy
        else:
            js.setdefault(declaration.ddoc, []).append(declaration)

    documents: list[GeneratedDesignDocument] = []
    for name, members in sorted(js.items()):
        document = _design_document(name, members, require_doc_types)
        if document is not None:
            documents.append(document)
    indexes = _mango_indexes(mango)
    for index in indexes:
        if index.ddoc in js:
            raise DesignDefinitionError(
                f"{index.declaration.where}: Mango index design document {index.ddoc!r} is "
                "also a JavaScript design document; Mango indexes never share one"
            )
    return Generated(tuple(documents), tuple(indexes))


def _names(members: Sequence[Declaration]) -> str:
    return ", ".join(m.where for m in members)


def _design_document(
    name: str, members: Sequence[Declaration], require_doc_types: bool
) -> GeneratedDesignDocument | None:
    options = [m for m in members if isinstance(m, DesignOptions)]
    content = [m for m in members if not isinstance(m, DesignOptions)]

    def merged(attribute: str) -> Any:
        values = {getattr(o, attribute) for o in options} - {None}
        if len(values) > 1:
            raise DesignDefinitionError(
                f"design document {name!r}: conflicting {attribute} in {_names(options)}"
            )
        return values.pop() if values else None

    autoupdate = merged("autoupdate")
    language = merged("language") or "javascript"
    explicit = merged("explicit_partitioned")
    if not content:
        if require_doc_types:
            raise DesignDefinitionError(
                f"{_names(options)}: design document {name!r} has options but nothing "
                "declared in it"
            )
        return None

    # One design document is either partitioned or global (CouchDB refuses a mix).
    flags: dict[bool, list[Declaration]] = {}
    for member in content:
        given = member.explicit_partitioned
        flag = given if given is not None else explicit
        if flag is None:
            flag = member.model._options.partitioned
        if explicit is not None and given is not None and given != explicit:
            raise DesignDefinitionError(
                f"{member.where}: partitioned={given} in design document {name!r}, whose "
                f"options say partitioned={explicit}"
            )
        flags.setdefault(flag, []).append(member)
    if len(flags) > 1:
        raise DesignDefinitionError(
            f"design document {name!r} mixes partitioned ({_names(flags[True])}) and global "
            f"({_names(flags[False])}) declarations; give them separate design documents"
        )
    partitioned = next(iter(flags))

    body: dict[str, Any] = {"_id": f"_design/{name}", "language": language}
    sections: dict[str, dict[str, Any]] = {}
    owners: dict[tuple[str, str], Declaration] = {}
    validate: list[ValidateDocUpdate] = []
    for member in content:
        if isinstance(member, ValidateDocUpdate):  # one per design document, not named
            validate.append(member)
            continue
        section = member.section
        if section is None:  # pragma: no cover - the others are never in `content`
            raise DesignDefinitionError(f"{member.where}: unknown declaration")
        # (At class definition an abstract class may have no doc_types yet.)
        value = member.section_value(require_doc_types)
        clash = owners.get((section, member.name))
        if clash is not None:
            raise DesignDefinitionError(
                f"{clash.where} and {member.where} are both named {member.name!r} in "
                f"design document {name!r}"
            )
        owners[(section, member.name)] = member
        sections.setdefault(section, {})[member.name] = value
    body.update(sorted(sections.items()))
    if len(validate) > 1:
        raise DesignDefinitionError(
            f"design document {name!r} has more than one validate_doc_update: {_names(validate)}"
        )
    if validate:
        body["validate_doc_update"] = validate[0].js

    if partitioned:
        if "filters" in body:
            raise DesignDefinitionError(
                f"design document {name!r} is partitioned: filters are not allowed in it "
                f"({_names([m for m in content if isinstance(m, Filter)])})"
            )
        if validate:
            raise DesignDefinitionError(
                f"design document {name!r} is partitioned: validate_doc_update is not "
                f"allowed in it ({_names(validate)})"
            )
        for member in content:
            if isinstance(member, View) and member.reduce and not member.reduce.startswith("_"):
                raise DesignDefinitionError(
                    f"{member.where}: partitioned design document {name!r} only takes "
                    "built-in reduce functions (_count, _sum, _stats, ...), not JavaScript"
                )
    # A partitioned database makes design documents partitioned unless they say
    # otherwise, so the flag is written whenever a partitioned model is involved.
    models = {m.model for m in members}
    if partitioned or explicit is not None or any(m._options.partitioned for m in models):
        body["options"] = {"partitioned": partitioned}
    if autoupdate is not None:
        body["autoupdate"] = autoupdate
    body[MARKER] = {
        "generated_by": GENERATED_BY,
        "models": sorted({m.__name__ for m in models}),
    }
    # Round-trip through canonical JSON: plain dicts and lists only, keys sorted.
    canonical = json.loads(canonical_json(body))
    return GeneratedDesignDocument(name, canonical, tuple(members))


def _mango_indexes(declarations: Sequence[Index]) -> list[MangoIndex]:
    out: dict[tuple[str, str], MangoIndex] = {}
    for declaration in declarations:
        definition = json.loads(canonical_json(declaration.definition()))
        index = MangoIndex(
            ddoc=declaration.ddoc,
            name=declaration.name,
            kind=declaration.kind,
            group=declaration.base_ddoc,
            definition=definition,
            declaration=declaration,
        )
        clash = out.get((index.ddoc, index.name))
        if clash is not None:
            raise DesignDefinitionError(
                f"{clash.declaration.where} and {declaration.where} declare the same index "
                f"{index.name!r} in design document {index.ddoc!r}"
            )
        groups = {i.group: i for i in out.values()}
        if index.group in groups:
            other = groups[index.group]
            raise DesignDefinitionError(
                f"{other.declaration.where} and {declaration.where} are both Mango index "
                f"{index.name!r} of design {index.group!r}; give one another name"
            )
        out[(index.ddoc, index.name)] = index
    return sorted(out.values(), key=lambda i: (i.ddoc, i.name))

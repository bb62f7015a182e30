"""Declarations on document classes: views, Mango and search indexes, filters, validation.

Each declaration is a plain class attribute (no annotation, so attrs leaves it alone)::

    class Order(Document):
        class Meta:
            design = "orders"

        customer: str
        total: Decimal = Decimal("0")

        by_customer = View.emit(key="customer", value="total", reduce="_sum")
        status_created = Index("status", "created")
        fulltext = SearchIndex(fields={"customer": "standard"})
        paid = Filter("function (doc, req) { return doc.status === req.query.status; }")

Two moments matter. ``__set_name__`` runs while the ``class`` statement is still being
built, before ``Document.__init_subclass__`` has made the class an attrs class and
resolved its options, so it only records the owner and checks what needs no model
(names, analyzers, reduce functions). ``__bind_document__`` is called by
``Document.__init_subclass__`` once the class is complete; it checks field names against
``_options.keys`` and assembles the class's own design documents, so every rule that can
be decided from one class fails the ``class`` statement itself. Rules that need several
classes (two classes sharing a design document) are checked by
:func:`cloudant_odm.schema.generate`. Should the hook ever not run, the same binding
happens on first use (``ddoc``, ``map``, generation), so nothing is skipped, only later.
"""

from __future__ import annotations

import hashlib
import json
import re
import textwrap
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar, overload

import attrs

from cloudant_odm.errors import DesignDefinitionError
from cloudant_odm.models.document import Document
from cloudant_odm.models.registry import registry

if TYPE_CHECKING:
    from collections.abc import Coroutine

    from cloudant_odm.aio.queries import AsyncSearchResults, AsyncViewQuery
    from cloudant_odm.aio.session import AsyncSession
    from cloudant_odm.query.search import SearchResults
    from cloudant_odm.query.views import BaseViewQuery, ViewQuery
    from cloudant_odm.session import BaseSession, Session

__all__ = [
    "ANALYZERS",
    "BUILTIN_REDUCES",
    "Declaration",
    "DesignDefinitionError",
    "DesignOptions",
    "Filter",
    "Index",
    "SearchIndex",
    "ValidateDocUpdate",
    "View",
    "canonical_json",
    "declarations_of",
    "normalize_js",
]


_D = TypeVar("_D", bound=Document)
_D2 = TypeVar("_D2", bound=Document)


@attrs.frozen
class QueryRunners:
    """How ``View.query`` and ``SearchIndex.search`` run: the query layer's functions,
    handed down when it is imported (it sits above these declarations)."""

    view: Callable[..., BaseViewQuery[Any]]
    # A SearchResults, or an awaitable of the async one (for an AsyncSession).
    search: Callable[..., Any]


_runners: QueryRunners | None = None


def provide_query_runners(runners: QueryRunners) -> None:
    """Install the query layer's view and search functions (cloudant_odm.query does)."""
    global _runners
    _runners = runners


def _query_layer() -> QueryRunners:
    if _runners is None:
        raise RuntimeError("views and search are queried by cloudant_odm.query: import it")
    return _runners


#: CouchDB's built-in reduce functions (run natively, no JavaScript).
BUILTIN_REDUCES = frozenset({"_count", "_sum", "_stats", "_approx_count_distinct"})
# The built-ins that fail on anything but numbers (or arrays of numbers).
NUMERIC_REDUCES = frozenset({"_sum", "_stats"})

_GENERIC_ANALYZERS = frozenset(
    {"standard", "email", "keyword", "simple", "whitespace", "classic", "perfield"}
)
_LANGUAGE_ANALYZERS = frozenset(
    {
        "arabic", "armenian", "basque", "brazilian", "bulgarian", "catalan", "chinese",
        "cjk", "czech", "danish", "dutch", "english", "finnish", "french", "galician",
        "german", "greek", "hindi", "hungarian", "indonesian", "irish", "italian",
        "japanese", "latvian", "norwegian", "persian", "polish", "portuguese", "romanian",
        "russian", "spanish", "swedish", "thai", "turkish",
    }
)  # fmt: skip
#: Analyzer names Cloudant search accepts: the generic ones and the language ones.
ANALYZERS = _GENERIC_ANALYZERS | _LANGUAGE_ANALYZERS

_SEARCH_FIELD_OPTIONS = frozenset({"analyzer", "store", "index", "facet", "boost"})
_TEXT_FIELD_TYPES = frozenset({"string", "number", "boolean"})
_DIRECTIONS = frozenset({"asc", "desc"})

# Names inside a design document (views, indexes, filters) and of design documents. A
# Python attribute name always matches; explicit names must stay URL- and shell-friendly.
_MEMBER_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,199}$")
_DDOC_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,199}$")
# sync() stages a changed design document as <name>_NEW and keeps <name>_OLD.
RESERVED_SUFFIXES = ("_NEW", "_OLD")


# --- canonical text ------------------------------------------------------------------


def normalize_js(source: str) -> str:
    """Function text in the one form we store: LF line ends, common indentation and
    trailing spaces removed, no blank lines around it. Re-indenting a class body (or
    moving the string) must not look like a change, or a deploy would rebuild an index
    for nothing; none of these edits change what JavaScript does, outside of template
    literals with trailing spaces."""
    text = source.replace("\r\n", "\n").replace("\r", "\n")
    lines = [line.rstrip() for line in textwrap.dedent(text).split("\n")]
    return "\n".join(lines).strip("\n")


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no insignificant whitespace: the same value always gives
    the same text, which is what design documents are compared (and hashed) by."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _js_string(value: str) -> str:
    # A JSON string literal is a JavaScript string literal; ensure_ascii also escapes
    # U+2028/U+2029, which old JavaScript engines took for line ends.
    return json.dumps(value)


# --- the base class ------------------------------------------------------------------


class Declaration:
    """Something a document class declares for its design documents.

    After the class is defined: ``model`` is the class it was declared on, ``attribute``
    the attribute name, ``name`` its name in the design document (the attribute name
    unless ``name=`` was given) and :attr:`ddoc` the design document (without
    ``_design/``): the ``design=`` argument, else the class's ``Meta.design``, else its
    ``doc_type``.
    """

    #: What it is, for messages ("view", "Mango index", ...).
    what: ClassVar[str] = "declaration"
    #: The section of its design document this is a named member of (``views``,
    #: ``indexes``, ``filters``), or None (a Mango index has a design document of its
    #: own; validate_doc_update and the options are not named members).
    section: ClassVar[str | None] = None

    def section_value(self, require_doc_types: bool) -> Any:
        """What goes under this declaration's name in its ``section``."""
        raise DesignDefinitionError(f"{self.where}: a {self.what} is not a named member")

    model: type[Document]
    attribute: str
    name: str

    def __init__(
        self,
        *,
        name: str | None = None,
        design: str | None = None,
        partitioned: bool | None = None,
    ) -> None:
        if name is not None:
            _check_member_name(name, self.what)
        if design is not None:
            _check_ddoc_name(design, f"{self.what} design=")
        if partitioned is not None and not isinstance(partitioned, bool):
            raise DesignDefinitionError(
                f"partitioned must be True, False or None, not {partitioned!r}"
            )
        self._name = name
        self._design = design
        self._partitioned = partitioned
        self._bound = False
        # None until the class statement tells it (__set_name__).
        self.model = None  # type: ignore[assignment]

    # -- class creation -------------------------------------------------------------

    def __set_name__(self, owner: type, name: str) -> None:
        # Raising here would reach the user wrapped in a RuntimeError before Python 3.12,
        # so problems wait for __bind_document__, which raises from __init_subclass__.
        if self.model is not None:
            return  # declared on another class already: refused by __bind_document__
        if not (isinstance(owner, type) and issubclass(owner, Document)):
            raise DesignDefinitionError(
                f"{owner.__name__}.{name}: a {self.what} must be declared on a Document subclass"
            )
        self.model = owner
        self.attribute = name
        self.name = self._name if self._name is not None else name

    def __bind_document__(self, cls: type[Document]) -> None:
        """Called by ``Document.__init_subclass__`` once ``cls`` is complete: checks every
        declaration of ``cls`` (once, on the first call)."""
        if self.model is not cls:
            if any(value is self for value in vars(cls).values()):
                raise DesignDefinitionError(
                    f"{cls.__name__}: this {self.what} is already declared as {self.where}; "
                    "declare a new one"
                )
            return  # inherited: checked on the class that declares it
        owner: type = cls  # an attrs class by now
        if self.attribute in attrs.fields_dict(owner):
            raise DesignDefinitionError(
                f"{cls.__name__}.{self.attribute}: declare a {self.what} without a type "
                f"annotation (or as ClassVar[...]); with one it becomes a document field"
            )
        if not self._bound:
            bind_class(cls)

    def _require_model(self) -> type[Document]:
        model: type[Document] | None = getattr(self, "model", None)
        if model is None:
            raise DesignDefinitionError(
                f"this {self.what} is not declared on a Document class (assign it in the "
                "class body, where Python tells it its name)"
            )
        if not self._bound:
            bind_class(model)
        return model

    def _check(self) -> None:
        """Checks that need the finished model; subclasses extend."""
        self.ddoc  # noqa: B018  (validates the name)

    # -- what it belongs to ------------------------------------------------------------

    @property
    def where(self) -> str:
        """``Order.by_status``, for messages."""
        model = getattr(self, "model", None)
        return f"{model.__name__}.{self.attribute}" if model is not None else f"<{self.what}>"

    @property
    def ddoc(self) -> str:
        """The design document name, without ``_design/``."""
        return self.design_name

    @property
    def design_name(self) -> str:
        """The design document this is declared for (``design=``, ``Meta.design`` or the
        document type), which :class:`DesignOptions` of the same name apply to. A Mango
        index lives in a design document of its own, named after this one."""
        options = self._require_model()._options
        name = self._design or options.design or options.doc_type
        _check_ddoc_name(
            name,
            f"{self.where} (design document)",
            hint="" if self._design or options.design else "; set Meta.design or design=",
        )
        return name

    @property
    def partitioned(self) -> bool:
        """Whether this belongs to a partitioned design document: ``partitioned=`` if
        given, else what a :class:`DesignOptions` of the same class says for the design
        document, else the model's ``Meta.partitioned``."""
        if self._partitioned is not None:
            return self._partitioned
        model = self._require_model()
        if not isinstance(self, DesignOptions):
            for other in declarations_of(model):
                if (
                    isinstance(other, DesignOptions)
                    and other._partitioned is not None
                    and other.design_name == self.design_name
                ):
                    return other._partitioned
        return model._options.partitioned

    @property
    def explicit_partitioned(self) -> bool | None:
        """The ``partitioned=`` argument as given (None: follow the design document)."""
        return self._partitioned

    def json_path(self, name: str) -> tuple[str, ...]:
        """The JSON path a field name stands for: its first part is a Python attribute
        of the model (``id`` is ``_id``), translated with ``_options.keys``; the parts
        after a ``.`` are taken as JSON keys of the nested object."""
        model = self._require_model()
        head, *rest = name.split(".")
        key = model._options.json_keys.get(head) if head != "rev" else None
        if key is None:
            known = ", ".join(sorted(model._options.keys)) or "none"
            raise DesignDefinitionError(
                f"{self.where}: {head!r} is not a field of {model.__name__} (fields: {known})"
            )
        if any(not part for part in rest):
            raise DesignDefinitionError(f"{self.where}: bad field path {name!r}")
        return (key, *rest)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.where}>"


def _check_member_name(name: Any, kind: str, *, where: str = "") -> None:
    if not isinstance(name, str) or not _MEMBER_NAME.match(name):
        prefix = f"{where}: " if where else ""
        raise DesignDefinitionError(
            f"{prefix}invalid {kind} name {name!r}: use letters, digits, _ . - "
            "(not starting with . or -), at most 200 characters"
        )


def _check_ddoc_name(name: Any, where: str, hint: str = "") -> None:
    if not isinstance(name, str) or not _DDOC_NAME.match(name):
        raise DesignDefinitionError(
            f"{where}: invalid design document name {name!r}: use letters, digits, _ . - "
            f"(starting with a letter or digit), without '_design/'{hint}"
        )
    if name.endswith(RESERVED_SUFFIXES):
        raise DesignDefinitionError(
            f"{where}: design document name {name!r} ends with _NEW or _OLD, which "
            "cloudant_odm.design.sync uses for its staging and rollback copies"
        )


def _own_declarations(cls: type) -> list[Declaration]:
    return [
        v
        for v in vars(cls).values()
        if isinstance(v, Declaration) and getattr(v, "model", None) is cls
    ]


def bind_class(cls: type[Document]) -> None:
    """Check all of ``cls``'s own declarations against the finished class, and assemble
    its design documents, which catches every rule one class can break (field names,
    partitioned design documents, duplicate names). Runs once per class."""
    own = _own_declarations(cls)
    for declaration in own:
        declaration._bound = True  # before checking: the checks use the model
    try:
        for declaration in own:
            declaration._check()
        # generate imports this module; imported here to keep the import one way.
        from cloudant_odm.schema.generate import assemble

        assemble(own, require_doc_types=False)
    except BaseException:
        for declaration in own:
            declaration._bound = False
        raise


def declarations_of(model: type[Document]) -> list[Declaration]:
    """Every declaration ``model`` has, its own and inherited, in definition order."""
    seen: dict[int, Declaration] = {}
    for klass in reversed(model.__mro__):
        for value in vars(klass).values():
            if isinstance(value, Declaration) and getattr(value, "model", None) is klass:
                seen.setdefault(id(value), value)
    return list(seen.values())


def _selector_of(value: Any, model: type[Document], where: str) -> dict[str, Any]:
    """A selector from a dict, a query expression (anything with ``to_selector()``,
    bound to ``model`` first when it has ``resolve()``), or a zero-argument callable
    returning one of those. The callable form lets a class body refer to its own class,
    which does not exist yet while the body runs:
    ``partial_filter=lambda: Order.total > 0``."""
    if _is_lazy(value):
        try:
            value = value()
        except Exception as exc:
            raise DesignDefinitionError(f"{where}: the selector callable failed: {exc!r}") from exc
    resolve = getattr(value, "resolve", None)
    if callable(resolve):
        value = resolve(model)
    to_selector = getattr(value, "to_selector", None)
    if callable(to_selector):
        value = to_selector()
    if not isinstance(value, Mapping):
        raise DesignDefinitionError(
            f"{where}: expected a selector dict or a query expression, got {type(value).__name__}"
        )
    selector = json.loads(canonical_json(dict(value)))
    if not isinstance(selector, dict):  # pragma: no cover - a Mapping dumps to an object
        raise DesignDefinitionError(f"{where}: the selector must be a JSON object")
    return selector


def _is_lazy(value: Any) -> bool:
    """A zero-argument callable giving a selector (not an expression object)."""
    return callable(value) and not hasattr(value, "to_selector")


def _check_js(source: Any, what: str) -> str:
    if not isinstance(source, str) or not source.strip():
        raise DesignDefinitionError(f"{what} must be JavaScript function source (a non-empty str)")
    return normalize_js(source)


def _type_guard(model: type[Document], require: bool, where: str) -> str:
    """The first line of a generated function: leave unless the document is ``model``
    or one of its registered subclasses."""
    doc_types = registry.doc_types(model)  # what the queries select on too
    type_key = _js_string(model._options.type_field)
    if not doc_types:
        if require:
            raise DesignDefinitionError(
                f"{where}: {model.__name__} has no concrete document types (it is abstract "
                "and no subclass is defined), so the generated function would match nothing"
            )
        doc_types = (model._options.doc_type,)
    if len(doc_types) == 1:
        return f"  if (doc[{type_key}] !== {_js_string(doc_types[0])}) return;"
    listed = ", ".join(_js_string(t) for t in doc_types)
    return f"  if ([{listed}].indexOf(doc[{type_key}]) === -1) return;"


def _js_access(path: tuple[str, ...]) -> str:
    if len(path) == 1:
        return f"doc[{_js_string(path[0])}]"
    return f"get(doc, [{', '.join(_js_string(p) for p in path)}])"


# Read a nested member; undefined as soon as a step is not an object.
_JS_GET = """\
  function get(o, path) {
    for (var i = 0; i < path.length; i++) {
      if (o === null || typeof o !== "object") return undefined;
      o = o[path[i]];
    }
    return o;
  }"""


# --- views ---------------------------------------------------------------------------


KeySpec = str | Sequence[str]
ValueSpec = str | Sequence[str] | Mapping[str, str] | None


class View(Declaration, Generic[_D]):
    """A MapReduce view.

    ``View(map="function (doc) {...}", reduce="_sum")`` takes JavaScript as it is
    (normalised: dedented, trailing spaces dropped). ``View.emit(key=..., value=...)``
    writes the map function from field names instead.

    ``reduce`` is a built-in (``_count``, ``_sum``, ``_stats``,
    ``_approx_count_distinct``), JavaScript source, or None. Query it with
    :meth:`query`.
    """

    what = "view"
    section = "views"

    # For type checkers: Order.by_status is a View[Order], so query() gives Order rows.
    @overload
    def __get__(self, instance: None, owner: type[_D2]) -> View[_D2]: ...
    @overload
    def __get__(self, instance: object, owner: type[Any]) -> View[_D]: ...
    def __get__(self, instance: object, owner: type[Any]) -> Any:
        return self

    def section_value(self, require_doc_types: bool) -> Any:
        return self.definition(require_doc_types)

    def __init__(
        self: View[Any],
        map: str | None = None,
        reduce: str | None = None,
        *,
        name: str | None = None,
        design: str | None = None,
        partitioned: bool | None = None,
    ) -> None:
        super().__init__(name=name, design=design, partitioned=partitioned)
        self._map = None if map is None else _check_js(map, "View(map=...)")
        self.reduce: str | None = _check_reduce(reduce)
        self._key: tuple[str, ...] | None = None
        self._composite = False
        self._value: ValueSpec = None

    @classmethod
    def emit(
        cls,
        key: KeySpec,
        value: ValueSpec = None,
        reduce: str | None = None,
        *,
        name: str | None = None,
        design: str | None = None,
        partitioned: bool | None = None,
    ) -> View[Any]:
        """A view whose map function is generated from field names.

        ``key``: a field name, or a list of them for a composite (array) key.
        ``value``: None (``null``), a field name, a list of names (an array) or a dict
        ``{"out": "field"}`` (an object). Field names are Python attribute names of the
        class (``id`` is ``_id``; ``shipping.city`` reaches into a nested object).

        The function only sees documents of the class and its subclasses (by the type
        field). A document that lacks a key field is skipped. A missing value field
        emits ``null``, except with ``_sum`` / ``_stats``: those need numbers, so the
        value is converted with ``Number()`` (Decimal fields are stored as strings) and
        a document whose value is not a finite number is skipped.
        """
        view = cls(reduce=reduce, name=name, design=design, partitioned=partitioned)
        if isinstance(key, str):
            keys: tuple[str, ...] = (key,)
        elif isinstance(key, Sequence) and key and all(isinstance(k, str) for k in key):
            keys = tuple(key)
            view._composite = True
        else:
            raise DesignDefinitionError(
                f"View.emit(key=...) takes a field name or a non-empty list of them, not {key!r}"
            )
        view._key = keys
        view._value = _check_value_spec(value, view.reduce)
        return view

    @property
    def generated(self) -> bool:
        """True for ``View.emit(...)`` views."""
        return self._key is not None

    @property
    def value_field(self) -> str | None:
        """The attribute path of the emitted value, for ``View.emit(value="total")``
        (None for any other value): its rows' values load as that field does."""
        return self._value if isinstance(self._value, str) else None

    @property
    def map(self) -> str:
        """The map function's source (generated for ``View.emit`` views)."""
        if self._map is not None:
            return self._map
        return self._generate_map(require_doc_types=True)

    def _check(self) -> None:
        super()._check()
        if self._map is None and self._key is None:
            raise DesignDefinitionError(f"{self.where}: View needs map= or View.emit(...)")
        if self._key is not None:
            self._generate_map(require_doc_types=False)

    def _generate_map(self, *, require_doc_types: bool) -> str:
        model = self._require_model()
        assert self._key is not None
        numeric = self.reduce in NUMERIC_REDUCES
        paths = [self.json_path(k) for k in self._key]
        lines = ["function (doc) {", _type_guard(model, require_doc_types, self.where)]
        value_paths: list[tuple[str, ...]] = []
        value_expr = "null"
        value = self._value
        if isinstance(value, str):
            value_paths = [self.json_path(value)]
            value_expr = "value0"
        elif isinstance(value, Mapping):
            value_paths = [self.json_path(v) for v in value.values()]
            members = ", ".join(f"{_js_string(k)}: value{i}" for i, k in enumerate(value))
            value_expr = "{" + members + "}"
        elif value is not None:
            value_paths = [self.json_path(v) for v in value]
            value_expr = "[" + ", ".join(f"value{i}" for i in range(len(value_paths))) + "]"
        if any(len(p) > 1 for p in (*paths, *value_paths)):
            lines.append(_JS_GET)
        for i, path in enumerate(paths):
            lines.append(f"  var key{i} = {_js_access(path)};")
            lines.append(f"  if (key{i} === undefined) return;")
        for i, path in enumerate(value_paths):
            lines.append(f"  var value{i} = {_js_access(path)};")
            if numeric:
                lines.append(f'  if (typeof value{i} === "string") value{i} = Number(value{i});')
                lines.append(f'  if (typeof value{i} !== "number" || !isFinite(value{i})) return;')
            else:
                lines.append(f"  if (value{i} === undefined) value{i} = null;")
        if self._composite:
            key_expr = "[" + ", ".join(f"key{i}" for i in range(len(paths))) + "]"
        else:
            key_expr = "key0"
        lines.append(f"  emit({key_expr}, {value_expr});")
        lines.append("}")
        return "\n".join(lines)

    def definition(self, require_doc_types: bool = True) -> dict[str, Any]:
        """The view as it goes into ``views`` of the design document."""
        source = self._map or self._generate_map(require_doc_types=require_doc_types)
        body: dict[str, Any] = {"map": source}
        if self.reduce is not None:
            body["reduce"] = self.reduce
        return body

    @overload
    def query(self, session: Session, **params: Any) -> ViewQuery[_D]: ...
    @overload
    def query(self, session: AsyncSession, **params: Any) -> AsyncViewQuery[_D]: ...
    def query(self, session: BaseSession[Any], **params: Any) -> BaseViewQuery[_D]:
        """Query the view through ``session``; the parameters are
        ``cloudant_odm.query.views.view_parameters``'. An ``AsyncSession``
        (``cloudant_odm.aio``) gives an ``AsyncViewQuery``, whose reads are awaited.

        A query that meets the 404 "Design document was updated or deleted" (the design
        document was switched by a deploy while the query waited) is retried once by the
        query layer.
        """
        return _query_layer().view(self, session, **params)


def _check_reduce(reduce: Any) -> str | None:
    if reduce is None:
        return None
    if not isinstance(reduce, str) or not reduce.strip():
        raise DesignDefinitionError(f"reduce must be a built-in name or JavaScript, not {reduce!r}")
    text = reduce.strip()
    if text.startswith("_"):
        if text not in BUILTIN_REDUCES:
            raise DesignDefinitionError(
                f"unknown built-in reduce {text!r}; use one of {', '.join(sorted(BUILTIN_REDUCES))}"
            )
        return text
    return normalize_js(reduce)


def _check_value_spec(value: Any, reduce: str | None) -> ValueSpec:
    if value is None or isinstance(value, str):
        if value is None and reduce in NUMERIC_REDUCES:
            raise DesignDefinitionError(f"reduce={reduce!r} needs a numeric value= field")
        return value
    if isinstance(value, Mapping):
        if not value or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise DesignDefinitionError(
                f"View.emit(value={{...}}) maps output names to field names, got {value!r}"
            )
        if reduce in NUMERIC_REDUCES:
            raise DesignDefinitionError(
                f"reduce={reduce!r} needs a number or a list of numbers as value, not an object"
            )
        return dict(value)
    if isinstance(value, Sequence) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise DesignDefinitionError(
        f"View.emit(value=...) takes None, a field name, a list of them or a dict, not {value!r}"
    )


# --- Mango indexes -------------------------------------------------------------------


IndexKind = Literal["json", "text"]


class Index(Declaration):
    """A Mango index (``POST /{db}/_index``).

    ``Index("status", "created")`` is a JSON index over those fields (Python attribute
    names; ``{"created": "desc"}`` for a descending one); ``Index.text(...)`` a text
    index. ``partial_filter`` limits the index to matching documents: a selector dict,
    a query expression, or a zero-argument callable giving one (``lambda: Order.total >
    0``, since the class does not exist yet inside its own body).

    Each index gets a design document of its own, named
    ``<design>-<name>-<hash of the definition>`` (see :attr:`ddoc`): a changed
    definition is a new design document, built beside the old one, which is removed
    only once the new one is ready, and one index's change never rebuilds another.
    """

    what = "Mango index"

    def __init__(
        self,
        *fields: str | Mapping[str, str],
        name: str | None = None,
        design: str | None = None,
        partial_filter: Any = None,
        partitioned: bool | None = None,
    ) -> None:
        super().__init__(name=name, design=design, partitioned=partitioned)
        self.kind: IndexKind = "json"
        self.fields: list[str | dict[str, str]] = _check_json_fields(fields)
        self._partial_filter = partial_filter
        self._text_options: dict[str, Any] = {}

    @classmethod
    def text(
        cls,
        *fields: str | Mapping[str, str],
        analyzer: str | None = None,
        default_field: Mapping[str, Any] | bool | None = None,
        index_array_lengths: bool | None = None,
        partial_filter: Any = None,
        name: str | None = None,
        design: str | None = None,
        partitioned: bool | None = None,
    ) -> Index:
        """A text index (Cloudant; CouchDB with search). ``fields``: names (indexed as
        strings) or ``{"name": "string" | "number" | "boolean"}``; none means every
        field. ``analyzer`` is the index's ``default_analyzer``."""
        index = cls(
            name=name, design=design, partial_filter=partial_filter, partitioned=partitioned
        )
        index.kind = "text"
        index.fields = _check_text_fields(fields)
        options: dict[str, Any] = {}
        if analyzer is not None:
            _check_analyzer_name(analyzer, "Index.text(analyzer=...)", allow_perfield=False)
            options["default_analyzer"] = analyzer
        if default_field is not None:
            if isinstance(default_field, bool):
                options["default_field"] = {"enabled": default_field}
            elif isinstance(default_field, Mapping):
                unknown = set(default_field) - {"enabled", "analyzer"}
                if unknown:
                    raise DesignDefinitionError(
                        "Index.text(default_field=...) knows enabled and analyzer, not "
                        f"{sorted(unknown)}"
                    )
                if "analyzer" in default_field:
                    _check_analyzer_name(
                        default_field["analyzer"], "default_field analyzer", allow_perfield=False
                    )
                options["default_field"] = dict(default_field)
            else:
                raise DesignDefinitionError("default_field must be a bool or a dict")
        if index_array_lengths is not None:
            options["index_array_lengths"] = bool(index_array_lengths)
        index._text_options = options
        return index

    @property
    def partial_filter(self) -> dict[str, Any] | None:
        """The partial filter selector (JSON keys), or None."""
        if self._partial_filter is None:
            return None
        return _selector_of(self._partial_filter, self._require_model(), self.where)

    @property
    def base_ddoc(self) -> str:
        """``<design>-<name>``: the design document name without the definition hash."""
        return f"{self.design_name}-{self.name}"

    @property
    def ddoc(self) -> str:
        """``<design>-<name>-<8 hex digits>``, the digits hashing the definition."""
        digest = hashlib.sha256(canonical_json(self._content()).encode()).hexdigest()[:8]
        return f"{self.base_ddoc}-{digest}"

    @property
    def lazy(self) -> bool:
        """True when ``partial_filter`` is a callable, evaluated on first use: while
        the class statement runs, the class it names does not exist yet."""
        return _is_lazy(self._partial_filter)

    def _check(self) -> None:
        self.base_ddoc  # noqa: B018  (validates the design document name)
        self.json_fields()
        if not self.lazy:
            self.definition()

    def json_fields(self) -> list[Any]:
        """The ``fields`` of the index definition, with JSON keys (Mango paths)."""
        out: list[Any] = []
        for spec in self.fields:
            if isinstance(spec, str):
                name, extra = spec, "asc" if self.kind == "json" else "string"
            else:
                ((name, extra),) = spec.items()
            path = _mango_path(self.json_path(name))
            if self.kind == "json":
                out.append({path: extra})
            else:
                out.append({"name": path, "type": extra})
        return out

    def _content(self) -> dict[str, Any]:
        index: dict[str, Any] = {}
        if self.fields or self.kind == "json":
            index["fields"] = self.json_fields()
        selector = self.partial_filter
        if selector is not None:
            index["partial_filter_selector"] = selector
        index.update(self._text_options)
        content: dict[str, Any] = {"index": index, "type": self.kind}
        model = self._require_model()
        if model._options.partitioned or self._partitioned is not None:
            content["partitioned"] = self.partitioned
        return content

    def definition(self) -> dict[str, Any]:
        """The body of ``POST /{db}/_index`` that creates this index."""
        return {**self._content(), "ddoc": self.ddoc, "name": self.name}

    @property
    def use_index(self) -> list[str]:
        """``[ddoc, name]``, for ``use_index`` in a ``_find`` request."""
        return [self.ddoc, self.name]


def _mango_path(path: tuple[str, ...]) -> str:
    # Mango splits field names on "."; a literal dot in a key is escaped.
    return ".".join(p.replace("\\", "\\\\").replace(".", "\\.") for p in path)


def _check_json_fields(fields: Sequence[Any]) -> list[str | dict[str, str]]:
    out: list[str | dict[str, str]] = []
    directions: set[str] = set()
    for spec in fields:
        if isinstance(spec, str) and spec:
            out.append(spec)
            directions.add("asc")
        elif isinstance(spec, Mapping) and len(spec) == 1:
            ((name, direction),) = spec.items()
            if not isinstance(name, str) or direction not in _DIRECTIONS:
                raise DesignDefinitionError(
                    f'Index field {dict(spec)!r}: use {{"name": "asc" | "desc"}}'
                )
            out.append({name: direction})
            directions.add(direction)
        else:
            raise DesignDefinitionError(
                f"Index fields are field names or {{name: 'asc'|'desc'}}, got {spec!r}"
            )
    if len(directions) > 1:
        raise DesignDefinitionError(
            "a Mango JSON index sorts all its fields one way: mix of asc and desc"
        )
    return out


def _check_text_fields(fields: Sequence[Any]) -> list[str | dict[str, str]]:
    out: list[str | dict[str, str]] = []
    for spec in fields:
        if isinstance(spec, str) and spec:
            out.append(spec)
        elif isinstance(spec, Mapping) and len(spec) == 1:
            ((name, kind),) = spec.items()
            if not isinstance(name, str) or kind not in _TEXT_FIELD_TYPES:
                raise DesignDefinitionError(
                    f"text index field {dict(spec)!r}: use {{name: 'string'|'number'|'boolean'}}"
                )
            out.append({name: kind})
        else:
            raise DesignDefinitionError(
                f"text index fields are names or {{name: type}}, got {spec!r}"
            )
    return out


# --- search indexes ------------------------------------------------------------------


def _check_analyzer_name(name: Any, what: str, *, allow_perfield: bool) -> str:
    if (
        not isinstance(name, str)
        or name not in ANALYZERS
        or (name == "perfield" and not allow_perfield)
    ):
        allowed = sorted(_GENERIC_ANALYZERS - ({"perfield"} if not allow_perfield else set()))
        raise DesignDefinitionError(
            f"{what}: unknown analyzer {name!r}; use one of {', '.join(allowed)} or a "
            "language analyzer (english, french, german, ...)"
        )
    return name


def _check_stopwords(stopwords: Any) -> list[str]:
    if isinstance(stopwords, str) or not isinstance(stopwords, Sequence):
        raise DesignDefinitionError(f"stopwords must be a list of strings, not {stopwords!r}")
    if not all(isinstance(w, str) for w in stopwords):
        raise DesignDefinitionError("stopwords must be a list of strings")
    return list(stopwords)


def _check_analyzer(analyzer: Any) -> str | dict[str, Any]:
    """An analyzer as a design document holds it: a name, or an object with ``name``
    (and ``stopwords``, or for ``perfield`` a ``default`` and per-field ``fields``)."""
    if isinstance(analyzer, str):
        if analyzer == "perfield":
            raise DesignDefinitionError(
                'analyzer "perfield" needs its fields: {"name": "perfield", "default": ..., '
                '"fields": {...}} (or give per-field analyzers in SearchIndex(fields=...))'
            )
        return _check_analyzer_name(analyzer, "SearchIndex(analyzer=...)", allow_perfield=False)
    if not isinstance(analyzer, Mapping):
        raise DesignDefinitionError(f"analyzer must be a name or a dict, not {analyzer!r}")
    unknown = set(analyzer) - {"name", "stopwords", "default", "fields"}
    if unknown:
        raise DesignDefinitionError(f"analyzer: unknown key(s) {sorted(unknown)}")
    name = _check_analyzer_name(analyzer.get("name"), "analyzer name", allow_perfield=True)
    out: dict[str, Any] = {"name": name}
    if name == "perfield":
        if "stopwords" in analyzer:
            raise DesignDefinitionError(
                "the perfield analyzer takes no stopwords (give them per field)"
            )
        default = analyzer.get("default", "standard")
        out["default"] = _check_analyzer_name(default, "perfield default", allow_perfield=False)
        fields = analyzer.get("fields", {})
        if not isinstance(fields, Mapping):
            raise DesignDefinitionError("perfield fields must map field names to analyzers")
        out["fields"] = {
            str(k): _check_analyzer_name(v, f"perfield field {k!r}", allow_perfield=False)
            for k, v in fields.items()
        }
    else:
        if "default" in analyzer or "fields" in analyzer:
            raise DesignDefinitionError("default and fields only go with the perfield analyzer")
        if "stopwords" in analyzer:
            out["stopwords"] = _check_stopwords(analyzer["stopwords"])
    return out


class SearchIndex(Declaration, Generic[_D]):
    """A Lucene search index (Cloudant, or CouchDB with search).

    ``SearchIndex(index="function (doc) { index('name', doc.name); }")`` takes the
    index function as it is; ``SearchIndex(fields={"customer": "keyword", "notes":
    "english"})`` (or a list of names, all with ``analyzer``) generates it: each field
    is indexed under its JSON key, list elements one by one, missing or null values
    skipped, and only documents of the class (and its subclasses) are indexed. A field
    may also map to options: ``{"analyzer": ..., "store": True, "facet": True, "boost":
    2.0, "index": True}``.

    ``analyzer`` is the default analyzer (a name from :data:`ANALYZERS`, or a dict such
    as ``{"name": "perfield", "default": "standard", "fields": {...}}``); per-field
    analyzers make it ``perfield`` automatically. ``stopwords`` replace the default
    analyzer's. Search it with :meth:`search`.
    """

    what = "search index"

    @overload
    def __get__(self, instance: None, owner: type[_D2]) -> SearchIndex[_D2]: ...
    @overload
    def __get__(self, instance: object, owner: type[Any]) -> SearchIndex[_D]: ...
    def __get__(self, instance: object, owner: type[Any]) -> Any:
        return self

    section = "indexes"

    def section_value(self, require_doc_types: bool) -> Any:
        return self.definition(require_doc_types)

    def __init__(
        self: SearchIndex[Any],
        index: str | None = None,
        *,
        fields: Mapping[str, str | Mapping[str, Any]] | Sequence[str] | None = None,
        analyzer: str | Mapping[str, Any] = "standard",
        stopwords: Sequence[str] | None = None,
        name: str | None = None,
        design: str | None = None,
        partitioned: bool | None = None,
    ) -> None:
        super().__init__(name=name, design=design, partitioned=partitioned)
        if (index is None) == (fields is None):
            raise DesignDefinitionError(
                "SearchIndex takes index= (JavaScript) or fields=, not both"
            )
        self._index = None if index is None else _check_js(index, "SearchIndex(index=...)")
        self._analyzer = _check_analyzer(analyzer)
        self._stopwords = None if stopwords is None else _check_stopwords(stopwords)
        if self._stopwords is not None and isinstance(self._analyzer, dict):
            raise DesignDefinitionError("give stopwords inside the analyzer dict, or use a name")
        self._fields: dict[str, dict[str, Any]] | None = None
        if fields is not None:
            self._fields = _check_search_fields(fields)
            perfield = isinstance(self._analyzer, dict) and self._analyzer["name"] == "perfield"
            if perfield and any("analyzer" in o for o in self._fields.values()):
                raise DesignDefinitionError(
                    "give per-field analyzers in fields= or in the perfield analyzer, not both"
                )

    @property
    def index(self) -> str:
        """The index function's source (generated for ``fields=``)."""
        if self._index is not None:
            return self._index
        return self._generate(require_doc_types=True)

    @property
    def analyzer(self) -> str | dict[str, Any]:
        """The analyzer as the design document holds it."""
        base: str | dict[str, Any] = self._analyzer
        if self._stopwords is not None:
            assert isinstance(base, str)
            base = {"name": base, "stopwords": self._stopwords}
        per_field: dict[str, str] = {}
        default = base if isinstance(base, str) else base.get("name")
        for name, options in (self._fields or {}).items():
            chosen = options.get("analyzer")
            if chosen is not None and chosen != default:
                per_field[_mango_path(self.json_path(name))] = chosen
        if not per_field:
            return base
        if not isinstance(base, str):
            raise DesignDefinitionError(
                f"{self.where}: per-field analyzers can't be combined with stopwords"
            )
        return {"name": "perfield", "default": base, "fields": per_field}

    def _check(self) -> None:
        super()._check()
        if self._fields is not None:
            self._generate(require_doc_types=False)
        self.analyzer  # noqa: B018  (validates field names of per-field analyzers)

    def _generate(self, *, require_doc_types: bool) -> str:
        model = self._require_model()
        assert self._fields is not None
        paths = {name: self.json_path(name) for name in self._fields}
        lines = ["function (doc) {", _type_guard(model, require_doc_types, self.where)]
        if any(len(p) > 1 for p in paths.values()):
            lines.append(_JS_GET)
        lines += [
            "  function add(name, value, options) {",
            "    if (value === undefined || value === null) return;",
            "    if (Array.isArray(value)) {",
            "      for (var i = 0; i < value.length; i++) add(name, value[i], options);",
            "      return;",
            "    }",
            '    if (typeof value === "object") return;',
            "    index(name, value, options);",
            "  }",
        ]
        for name, options in self._fields.items():
            path = paths[name]
            index_options = {k: v for k, v in options.items() if k != "analyzer"}
            lines.append(
                f"  add({_js_string(_mango_path(path))}, {_js_access(path)}, "
                f"{canonical_json(index_options)});"
            )
        lines.append("}")
        return "\n".join(lines)

    def definition(self, require_doc_types: bool = True) -> dict[str, Any]:
        """The index as it goes into ``indexes`` of the design document."""
        source = self._index or self._generate(require_doc_types=require_doc_types)
        return {"index": source, "analyzer": self.analyzer}

    @overload
    def search(self, session: Session, query: str, **params: Any) -> SearchResults[_D]: ...
    @overload
    def search(
        self, session: AsyncSession, query: str, **params: Any
    ) -> Coroutine[Any, Any, AsyncSearchResults[_D]]: ...
    def search(self, session: BaseSession[Any], query: str, **params: Any) -> Any:
        """Search the index through ``session`` (one request); the parameters are
        ``cloudant_odm.query.search.search_parameters``'. With an ``AsyncSession``
        (``cloudant_odm.aio``), await it: ``await Order.fulltext.search(s, "bob*")``."""
        return _query_layer().search(self, session, query, **params)


def _check_search_fields(fields: Any) -> dict[str, dict[str, Any]]:
    if isinstance(fields, str):
        raise DesignDefinitionError("SearchIndex(fields=...) takes a dict or a list, not a str")
    out: dict[str, dict[str, Any]] = {}
    if isinstance(fields, Mapping):
        items = list(fields.items())
    elif isinstance(fields, Sequence):
        items = [(f, {}) for f in fields]
    else:
        raise DesignDefinitionError(
            f"SearchIndex(fields=...) takes a dict or a list, not {fields!r}"
        )
    if not items:
        raise DesignDefinitionError("SearchIndex(fields=...) is empty")
    for name, spec in items:
        if not isinstance(name, str) or not name:
            raise DesignDefinitionError(f"search field names are strings, got {name!r}")
        if isinstance(spec, str):
            options: dict[str, Any] = {"analyzer": spec}
        elif isinstance(spec, Mapping):
            options = dict(spec)
        else:
            raise DesignDefinitionError(
                f"search field {name!r}: give an analyzer name or an options dict, not {spec!r}"
            )
        unknown = set(options) - _SEARCH_FIELD_OPTIONS
        if unknown:
            raise DesignDefinitionError(
                f"search field {name!r}: unknown option(s) {sorted(unknown)}; known: "
                f"{', '.join(sorted(_SEARCH_FIELD_OPTIONS))}"
            )
        if "analyzer" in options:
            _check_analyzer_name(
                options["analyzer"], f"search field {name!r}", allow_perfield=False
            )
        for flag in ("store", "index", "facet"):
            if flag in options and not isinstance(options[flag], bool):
                raise DesignDefinitionError(f"search field {name!r}: {flag} must be True or False")
        if "boost" in options and (
            isinstance(options["boost"], bool) or not isinstance(options["boost"], int | float)
        ):
            raise DesignDefinitionError(f"search field {name!r}: boost must be a number")
        out[name] = options
    return out


# --- filters, validation, options ----------------------------------------------------


class Filter(Declaration):
    """A changes-feed filter.

    ``Filter("function (doc, req) { return doc.status === req.query.status; }")`` goes
    into the design document's ``filters``; follow it with ``filter="<ddoc>/<name>"``
    and the ``req.query`` values as ``filter_params`` (:meth:`changes_params` builds
    both). ``Filter.selector(expr)`` is CouchDB's built-in ``_selector`` filter instead:
    nothing is deployed, and the selector (with the class's type guard) is sent with
    the changes request.
    """

    what = "filter"
    section = "filters"

    def section_value(self, require_doc_types: bool) -> Any:
        return self.js

    def __init__(
        self,
        js: str | None = None,
        *,
        name: str | None = None,
        design: str | None = None,
    ) -> None:
        super().__init__(name=name, design=design)
        self.js: str | None = None if js is None else _check_js(js, "Filter(...)")
        self._selector: Any = None

    @classmethod
    def selector(cls, expression: Any, *, name: str | None = None) -> Filter:
        """A ``_selector`` filter: a selector dict, a query expression, or a zero-argument
        callable returning one (``lambda: Order.status == "paid"``)."""
        if expression is None:
            raise DesignDefinitionError("Filter.selector() needs a selector or an expression")
        made = cls(name=name)
        made._selector = expression
        return made

    @property
    def is_selector(self) -> bool:
        """True for ``Filter.selector(...)`` filters (nothing to deploy)."""
        return self.js is None

    @property
    def selector_dict(self) -> dict[str, Any]:
        """The ``_selector`` filter's selector, including the class's type guard."""
        model = self._require_model()
        if self.js is not None:
            raise TypeError(f"{self.where} is a JavaScript filter, not a selector")
        own = _selector_of(self._selector, model, self.where)
        doc_types = registry.doc_types(model) or (model._options.doc_type,)
        guard = doc_types[0] if len(doc_types) == 1 else {"$in": doc_types}
        return {"$and": [{model._options.type_field: guard}, own]}

    def _check(self) -> None:
        super()._check()
        if self.js is None and self._selector is None:
            raise DesignDefinitionError(
                f"{self.where}: Filter needs JavaScript or Filter.selector()"
            )

    def changes_params(self, **query: Any) -> dict[str, Any]:
        """Keyword arguments for ``client.post_changes`` (and the follower) that apply
        this filter: ``filter="<ddoc>/<name>"`` plus ``filter_params=query`` for a
        JavaScript filter, ``filter="_selector"`` plus ``selector`` for a selector one."""
        if self.js is None:
            if query:
                raise TypeError("a _selector filter takes no query parameters")
            return {"filter": "_selector", "selector": self.selector_dict}
        params: dict[str, Any] = {"filter": f"{self.ddoc}/{self.name}"}
        if query:
            params["filter_params"] = query
        return params


class ValidateDocUpdate(Declaration):
    """The design document's ``validate_doc_update`` function (at most one per design
    document); ``throw({forbidden: "why"})`` rejects a write with 403, which a session
    reports as ``ForbiddenError``."""

    what = "validate_doc_update"

    def __init__(self, js: str, *, design: str | None = None) -> None:
        super().__init__(design=design)
        self.js = _check_js(js, "ValidateDocUpdate(...)")


class DesignOptions(Declaration):
    """Design-document-wide settings for the design document of the class (or
    ``design=``): ``autoupdate`` (False: the server does not build its views in the
    background), ``partitioned`` (the default for the declarations in it) and
    ``language`` (``"javascript"``)."""

    what = "design options"

    def __init__(
        self,
        *,
        design: str | None = None,
        autoupdate: bool | None = None,
        partitioned: bool | None = None,
        language: str | None = None,
    ) -> None:
        super().__init__(design=design, partitioned=partitioned)
        if autoupdate is not None and not isinstance(autoupdate, bool):
            raise DesignDefinitionError(
                f"autoupdate must be True, False or None, not {autoupdate!r}"
            )
        if language is not None and (not isinstance(language, str) or not language):
            raise DesignDefinitionError(f"language must be a non-empty str, not {language!r}")
        if language == "query":
            raise DesignDefinitionError(
                'language "query" is for Mango indexes, which Index declares in their own '
                "design documents"
            )
        self.autoupdate = autoupdate
        self.language = language

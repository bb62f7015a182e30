"""One declaration per endpoint, and the one request builder they share.

``get_document = Op("GET /{db}/{doc_id}", headers=("if_none_match",), query=...)`` (in
``_catalogue.py``) declares ``client.get_document(db, doc_id, *, if_none_match=None, ...,
**kwargs)`` with the SDK's parameter names and order: path parameters, then the other
required ones, positionally; optional body fields, header parameters and query parameters
as keywords, in that order. ``_generate.py`` writes that typed method into ``_methods.py``
(and its ``async`` twin into ``aio/_methods.py``); it passes its arguments to
``Op.request``, which validates and encodes them into a ``Request`` without any I/O, and
hands that to the client's transport: ``transport.call(request)`` sends it with
``requests``, or, awaited, with ``httpx``. An operation that needs more than one
declaration (``copy_document``, ``post_compact``) is a ``Compound``: a function of its
parameters that picks the declared ``Op`` to send and that Op's arguments.
"""

from __future__ import annotations

import copy
import inspect
import json
import re
from collections.abc import Callable, Iterable, Mapping
from enum import Enum
from typing import IO, Any, NamedTuple, TypedDict
from urllib.parse import quote

from cloudant_odm.client._modelbase import convert_model
from cloudant_odm.client.encoding import has_non_finite, refuse_subnormal
from cloudant_odm.client.transport import REQUEST_OPTIONS

__all__ = [
    "CALL_OPTIONS",
    "Compound",
    "FeedRequestOptions",
    "Op",
    "Operation",
    "Request",
    "RequestOptions",
    "Routed",
    "collect_operations",
    "copy_destination",
    "design_id",
    "encode_json",
    "validate_db_name",
    "validate_doc_id",
]

_HEADER_NAMES = {
    "if_match": "If-Match",
    "if_none_match": "If-None-Match",
    "last_event_id": "Last-Event-ID",
    "content_type": "Content-Type",
    "accept": "Accept",
    "range": "Range",
    "destination": "Destination",
}
_PATH_PARAM = re.compile(r"\{(\w+)\}")
# Databases whose names start with "_": any other such name is an endpoint (_all_dbs, _users
# is one of these; _session, _up, ... are not), so it can't be a database's.
_SYSTEM_DBS = frozenset({"_users", "_replicator", "_global_changes"})
_ID_PREFIXES = ("_design/", "_local/")


def collect_operations(namespace: Mapping[str, object]) -> dict[str, Operation]:
    """The operations of a module's namespace, in declaration order: every ``Op`` and
    ``Compound`` is given its name, and all but the private ``Op``s (``_copy``, which
    only a ``Compound`` sends) are the clients' methods."""
    ops: dict[str, Operation] = {}
    for name, value in namespace.items():
        if isinstance(value, Op | Compound):
            value.name = name
            if not name.startswith("_"):
                ops[name] = value
    return ops


def validate_db_name(name: str) -> str:
    """Return the name unless it would address something other than a database.

    Only what could reach another endpoint is refused here: an empty name, ``.`` and
    ``..`` (which URL normalisation folds into the parent path) and a leading ``_``
    other than the system databases'. The server judges the rest (capitals, length,
    characters), as with the official SDK, and refuses a bad name with
    ``400 illegal_database_name``.
    """
    if not name:
        raise ValueError("db must be provided")
    if name in (".", ".."):
        raise ValueError(f"Invalid database name {name!r}: it would address the parent path")
    if name.startswith("_") and name not in _SYSTEM_DBS:
        raise ValueError(
            f"Invalid database name {name!r}: a name starting with '_' addresses a server "
            f"endpoint; only the system databases {sorted(_SYSTEM_DBS)} may"
        )
    return name


def validate_doc_id(doc_id: str) -> str:
    """Refuse ids CouchDB reserves: a leading ``_`` is only allowed for ``_design/`` and
    ``_local/`` documents."""
    if doc_id.startswith("_") and not doc_id.startswith(_ID_PREFIXES):
        raise ValueError(
            f"Document ID {doc_id!r} starts with '_', which CouchDB reserves; only "
            "'_design/' and '_local/' ids may"
        )
    for prefix in _ID_PREFIXES:
        if doc_id.startswith(prefix):
            _named("Document ID", doc_id, prefix)
    return doc_id


def _segment(value: str) -> str:
    encoded = quote(value, safe="")
    if encoded in (".", ".."):
        # A dot-segment: URL normalisation (urllib3's included) folds it into the parent,
        # so get_document(db, "..") would read "/" and delete_document(db, ".") would
        # delete the database. Percent-encoded, it is the id itself.
        return encoded.replace(".", "%2E")
    return encoded


def _encode_doc_id(doc_id: str) -> str:
    """Encode an id for ``/{db}/{doc_id}``; ``_design/x`` and ``_local/x`` keep their one
    literal slash so they reach that design or local document, and nothing else."""
    validate_doc_id(doc_id)
    for prefix in _ID_PREFIXES:
        if doc_id.startswith(prefix):
            return prefix + _segment(doc_id[len(prefix) :])
    return _segment(doc_id)


def _named(param: str, value: str, prefix: str) -> str:
    """``value`` without ``prefix``, which must leave a name."""
    name = value[len(prefix) :] if value.startswith(prefix) else value
    if not name:
        raise ValueError(f"{param} {value!r} needs a name after {prefix!r}")
    return name


def _encode_path_param(name: str, value: Any, template: str) -> str:
    text = _text(value)
    if name == "db":
        return _segment(validate_db_name(text))
    if name == "ddoc":
        return _segment(_named(name, text, "_design/"))
    if name == "doc_id":
        if "/_local/{doc_id}" in template:
            return _segment(_named(name, text, "_local/"))
        if template.startswith("/_scheduler/"):
            return _segment(text)
        return _encode_doc_id(text)
    if name == "attachment_name" and text.startswith("_"):
        raise ValueError(f"Attachment name {text!r} starts with '_', which CouchDB reserves")
    if name == "partition_key" and text.startswith("_"):
        raise ValueError(f"Partition key {text!r} must not start with '_'")
    return _segment(text)


def _to_json(value: Any) -> Any:
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serialisable")


def encode_json(body: Any) -> bytes:
    """Serialise a request body; models become their ``to_dict()``. NaN, infinities and
    objects JSON can't hold raise ValueError before anything is sent, and so do subnormal
    floats, which CouchDB would store as another number."""
    try:
        encoded = json.dumps(
            body, default=_to_json, allow_nan=False, ensure_ascii=False, separators=(",", ":")
        ).encode()
    except ValueError as exc:
        if has_non_finite(convert_model(body)):  # (models hold their values as attributes)
            raise ValueError(
                "The request body contains NaN or Infinity, which JSON cannot represent"
            ) from exc
        raise ValueError(f"The request body cannot be sent as JSON: {exc}") from exc
    except TypeError as exc:
        raise ValueError(f"The request body cannot be sent as JSON: {exc}") from exc
    except RecursionError as exc:
        raise ValueError("The request body is nested too deeply (or refers to itself)") from exc
    refuse_subnormal(encoded)
    return encoded


def _text(value: Any) -> str:
    """A parameter as text; an enum member (``PostChangesEnums.Feed.LONGPOLL``) as its value."""
    if isinstance(value, Enum):
        return str(value.value)
    return value if isinstance(value, str) else str(value)


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(_query_value(v) for v in value)
    return _text(value)


def raw_body(value: Any, name: str) -> bytes | IO[bytes] | Iterable[bytes]:
    """A whole-body parameter: a model or dict as JSON, bytes/str as they are, a binary
    stream streamed."""
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, str):
        return value.encode()
    if hasattr(value, "read"):
        return value  # type: ignore[no-any-return]
    if isinstance(value, dict | list) or callable(getattr(value, "to_dict", None)):
        return encode_json(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return encode_json(value)
    raise ValueError(
        f"{name} must be a dict, a model, bytes or a binary stream, not {type(value).__name__}"
    )


class RequestOptions(TypedDict, total=False):
    """What every operation takes through ``**kwargs``, as in the SDK: extra ``headers``
    (they override the operation's own) and the ``requests`` options of this one call.
    (In alphabetical order, which is how mypy shows them when read from its cache.)"""

    cert: str | tuple[str, str]
    headers: Mapping[str, str]
    proxies: Mapping[str, str]
    stream: bool
    timeout: float | tuple[float, float] | None
    verify: bool | str


class FeedRequestOptions(TypedDict, total=False):
    """``RequestOptions`` of an operation whose own ``timeout`` parameter is the feed's
    (``_changes``, ``_db_updates``): there ``timeout=`` is that parameter."""

    cert: str | tuple[str, str]
    headers: Mapping[str, str]
    proxies: Mapping[str, str]
    stream: bool
    verify: bool | str


#: The keywords every operation takes besides its own parameters.
CALL_OPTIONS = REQUEST_OPTIONS | {"headers"}


class Request(NamedTuple):
    """One operation's request as ``Op.request`` builds it, before the transport adds
    the client's settings (service URL, default headers, credentials, gzip)."""

    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, Any]
    body: bytes | IO[bytes] | Iterable[bytes] | None
    #: The call's own transport options (``timeout``, ``verify``, ``proxies``, ``cert``).
    options: dict[str, Any]
    #: The result is the unread response (``*_as_stream``, or ``stream=True``).
    stream: bool
    #: The body may be gzipped (not an attachment's).
    compress: bool


class Op:
    """A declared endpoint: its route, its parameters by role, and the request builder
    (``request``) that its typed methods (generated into ``_methods.py`` and
    ``aio/_methods.py``) pass their arguments to."""

    def __init__(
        self,
        route: str,
        *,
        body: tuple[str, ...] = (),
        raw: str | None = None,
        required: tuple[str, ...] = (),
        headers: tuple[str, ...] = (),
        query: tuple[str, ...] = (),
        accept: str | None = "application/json",
        stream: bool = False,
        extra_query: str | None = None,
        content_type: str | None = None,
        compress: bool = True,
    ) -> None:
        self.method, self.path = route.split(" ", 1)
        self.path_params = tuple(_PATH_PARAM.findall(self.path))
        # The path as literal text and parameter names, alternately: "/", "db", "/", ...
        self._path_parts = tuple(_PATH_PARAM.split(self.path))
        self.body = body
        self.raw = raw
        self.required = self.path_params + ((raw,) if raw else ()) + required
        self.headers = headers
        self.query = query
        self.accept = None if self.method == "HEAD" else accept
        self.stream = stream
        self.extra_query = extra_query
        # Some POSTs without a body still need a JSON Content-Type (CouchDB's _compact).
        self.content_type = content_type
        self.compress = compress
        # The keyword parameters, in the SDK's order: body fields, headers, query.
        keywords = body + headers + query
        self.optional = tuple(n for n in keywords if n not in self.required)
        # Every parameter, in the order the method passes them to ``request``.
        self.parameters = self.required + self.optional + ((extra_query,) if extra_query else ())
        self.name = ""

    def variant(self, *, stream: bool = False, accept: str | None = None) -> Op:
        """The same endpoint with a streamed result or another Accept type."""
        twin = copy.copy(self)
        twin.stream = stream or self.stream
        twin.accept = accept or self.accept
        return twin

    # -- building the request (no I/O: the clients' transports send it) ----------

    def request(self, options: Mapping[str, Any], *args: Any) -> Request:
        """The request for ``args``, the values of ``parameters`` in that order, and
        ``options``, the method's ``**kwargs`` (``RequestOptions``). Bad input raises
        here, before anything is sent."""
        if options.keys() - CALL_OPTIONS:
            unknown = sorted(options.keys() - CALL_OPTIONS)
            raise TypeError(f"{self.name}() got unexpected keyword arguments: {unknown}")
        values = dict(zip(self.parameters, args, strict=True))
        for name in self.required:
            value = values[name]
            if value is None or (isinstance(value, str) and not value):
                raise ValueError(f"{name} must be provided")

        path = self._build_path(values)
        params = {n: _query_value(values[n]) for n in self.query if values[n] is not None}
        if self.extra_query:
            params.update(self._extra_params(values[self.extra_query]))

        headers: dict[str, Any] = {}
        if self.accept:
            headers["Accept"] = self.accept
        if self.content_type:
            headers["Content-Type"] = self.content_type
        for name in self.headers:
            value = values[name]
            if value is not None:
                headers[_HEADER_NAMES[name]] = value if isinstance(value, bytes) else _text(value)
        extra = {k: v for k, v in options.items() if k != "headers"}
        headers.update(options.get("headers") or {})

        body: bytes | IO[bytes] | Iterable[bytes] | None = None
        if self.raw is not None:
            body = raw_body(values[self.raw], self.raw)
        elif self.body:
            fields = {n: values[n] for n in self.body if values[n] is not None}
            body = encode_json(fields)
        if body is not None and "Content-Type" not in headers:
            headers["Content-Type"] = "application/json"

        stream = self.stream or bool(extra.pop("stream", False))
        return Request(self.method, path, params, headers, body, extra, stream, self.compress)

    def _build_path(self, values: Mapping[str, Any]) -> str:
        parts = self._path_parts
        if len(parts) == 1:
            return self.path
        encoded = [
            part if i % 2 == 0 else _encode_path_param(part, values[part], self.path)
            for i, part in enumerate(parts)
        ]
        return "".join(encoded)

    def _extra_params(self, given: Mapping[str, Any] | None) -> dict[str, str]:
        if not given:
            return {}
        clash = set(given) & set(self.query)
        if clash:
            raise ValueError(
                f"{self.extra_query} must not repeat the operation's own parameters: "
                f"{sorted(clash)}"
            )
        return {str(k): _query_value(v) for k, v in given.items() if v is not None}


#: What a ``Compound``'s route returns: the declared ``Op`` to send, and its arguments in
#: that Op's ``parameters`` order.
Routed = tuple[Op, tuple[Any, ...]]


class Compound:
    """An operation that needs more than one declaration (a header computed from its
    arguments, a path chosen by them): ``route``, a function of its parameters, picks
    the declared ``Op`` to send and that Op's arguments. ``route``'s signature is the
    method's (parameters without a default are required and positional, the others
    keyword-only and None by default) and its docstring is the method's; the types are
    the catalogue's, as for an ``Op``."""

    def __init__(self, route: Callable[..., Routed]) -> None:
        params = list(inspect.signature(route).parameters.values())
        if any(p.kind is not p.POSITIONAL_OR_KEYWORD for p in params) or any(
            p.default not in (p.empty, None) for p in params
        ):
            raise TypeError(f"{route.__name__}: route parameters are plain, defaulting to None")
        self.parameters = tuple(p.name for p in params)
        self.required = tuple(p.name for p in params if p.default is p.empty)
        self.optional = self.parameters[len(self.required) :]
        self.doc = inspect.getdoc(route) or ""
        self._route = route
        self.name = route.__name__

    def request(self, options: Mapping[str, Any], *args: Any) -> Request:
        """The request of the ``Op`` that ``route`` picks for ``args`` (the values of
        ``parameters`` in that order); ``options`` as for ``Op.request``."""
        op, op_args = self._route(*args)
        return op.request(options, *op_args)


#: An operation of the catalogue: a declared endpoint, or one made of them.
Operation = Op | Compound


def design_id(name: str) -> str:
    """A design document's id, with or without its ``_design/`` given."""
    return name if name.startswith("_design/") else f"_design/{name}"


def copy_destination(doc_id: str, rev: str | None) -> bytes:
    """The ``Destination`` header of a COPY. CouchDB reads the id from it literally (no
    percent-decoding) and splits off ``?rev=`` at the first ``?``, so an id holding ``?``
    or a control character can't be named there."""
    if not doc_id:
        raise ValueError("destination must be provided")
    if "?" in doc_id or any(ord(c) < 32 or ord(c) == 127 for c in doc_id):
        raise ValueError(
            f"COPY destination {doc_id!r} contains '?' or a control character, which the "
            "Destination header cannot carry"
        )
    if doc_id.startswith("_") and not doc_id.startswith(("_design/", "_local/")):
        raise ValueError(f"COPY destination {doc_id!r} starts with '_', which CouchDB reserves")
    value = doc_id if rev is None else f"{doc_id}?rev={rev}"
    return value.encode()

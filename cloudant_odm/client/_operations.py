"""One declaration per endpoint: ``Op`` turns a line of the catalogue into a method.

``get_document = Op("GET /{db}/{doc_id}", headers=("if_none_match",), query=...)`` gives
``client.get_document(db, doc_id, *, if_none_match=None, ..., **kwargs)`` with the SDK's
parameter names and order: path parameters, then the other required ones, positionally;
optional body fields, header parameters and query parameters as keywords, in that order.
"""

from __future__ import annotations

import copy
import inspect
import json
import re
import types
from collections.abc import Callable, Iterable, Mapping
from enum import Enum
from typing import IO, TYPE_CHECKING, Any, Protocol, overload
from urllib.parse import quote

from cloudant_odm.client.encoding import has_non_finite, refuse_subnormal
from cloudant_odm.client.transport import REQUEST_OPTIONS, DetailedResponse, decode_result

if TYPE_CHECKING:
    from cloudant_odm.client.transport import Transport

__all__ = ["Op", "encode_json", "validate_db_name", "validate_doc_id"]

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


class _Client(Protocol):
    _transport: Transport


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
        if has_non_finite(body):
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


class Op:
    """A declared endpoint, bound to the client as a method with the SDK's signature."""

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
        self.name = ""
        self.signature = self._signature()

    def variant(self, *, stream: bool = False, accept: str | None = None) -> Op:
        """The same endpoint with a streamed result or another Accept type."""
        twin = copy.copy(self)
        twin.stream = stream or self.stream
        twin.accept = accept or self.accept
        return twin

    @property
    def optional(self) -> tuple[str, ...]:
        names = self.body + self.headers + self.query
        return tuple(n for n in names if n not in self.required)

    def _signature(self) -> inspect.Signature:
        positional = inspect.Parameter.POSITIONAL_OR_KEYWORD
        keyword = inspect.Parameter.KEYWORD_ONLY
        params = [inspect.Parameter("self", positional)]
        params += [inspect.Parameter(n, positional) for n in self.required]
        params += [inspect.Parameter(n, keyword, default=None) for n in self.optional]
        if self.extra_query:
            params.append(inspect.Parameter(self.extra_query, keyword, default=None))
        params.append(inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD))
        return inspect.Signature(params)

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        op = self

        def method(self: _Client, *args: Any, **kwargs: Any) -> DetailedResponse:
            return op.invoke(self, *args, **kwargs)

        method.__name__ = name
        method.__qualname__ = f"{owner.__name__}.{name}"
        method.__signature__ = self.signature  # type: ignore[attr-defined]
        method.__doc__ = self._doc()
        self.function = method

    def _doc(self) -> str:
        lines = [f"``{self.method} {self.path}``"]
        if self.stream:
            lines.append("The result is the unread ``requests.Response``: read or close it.")
        lines.append("Positional: " + (", ".join(self.required) or "none") + ".")
        if self.optional:
            lines.append("Keywords: " + ", ".join(self.optional) + ".")
        return "\n\n".join(lines)

    @overload
    def __get__(self, instance: None, owner: type) -> Op: ...
    @overload
    def __get__(self, instance: object, owner: type) -> Callable[..., DetailedResponse]: ...
    def __get__(self, instance: object | None, owner: type) -> Op | Callable[..., DetailedResponse]:
        if instance is None:
            return self
        return types.MethodType(self.function, instance)

    # -- building and sending the request ----------------------------------------

    def invoke(self, client: _Client, *args: Any, **kwargs: Any) -> DetailedResponse:
        bound = self.signature.bind(client, *args, **kwargs)
        values: dict[str, Any] = dict(bound.arguments)
        values.pop("self")
        extra: dict[str, Any] = values.pop("kwargs", {})
        for name in self.required:
            value = values.get(name)
            if value is None or (isinstance(value, str) and not value):
                raise ValueError(f"{name} must be provided")

        path = _PATH_PARAM.sub(
            lambda m: _encode_path_param(m.group(1), values[m.group(1)], self.path), self.path
        )
        params = {n: _query_value(values[n]) for n in self.query if values.get(n) is not None}
        if self.extra_query:
            params.update(self._extra_params(values.get(self.extra_query)))

        headers: dict[str, Any] = {}
        if self.accept:
            headers["Accept"] = self.accept
        if self.content_type:
            headers["Content-Type"] = self.content_type
        for name in self.headers:
            value = values.get(name)
            if value is not None:
                headers[_HEADER_NAMES[name]] = value if isinstance(value, bytes) else _text(value)
        user_headers = extra.pop("headers", None) or {}
        headers.update(user_headers)

        body: bytes | IO[bytes] | Iterable[bytes] | None = None
        if self.raw is not None:
            body = raw_body(values[self.raw], self.raw)
        elif self.body:
            fields = {n: values[n] for n in self.body if values.get(n) is not None}
            body = encode_json(fields)
        if body is not None and "Content-Type" not in headers:
            headers["Content-Type"] = "application/json"

        unknown = set(extra) - REQUEST_OPTIONS
        if unknown:
            raise TypeError(f"{self.name}() got unexpected keyword arguments: {sorted(unknown)}")
        stream = self.stream or bool(extra.get("stream"))
        if stream:
            extra["stream"] = True
        response = client._transport.send(
            self.method,
            path,
            params=params,
            headers=headers,
            body=body,
            options=extra,
            compress=self.compress,
        )
        result = decode_result(response, stream=stream)
        return DetailedResponse(result, response.headers, response.status_code)

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

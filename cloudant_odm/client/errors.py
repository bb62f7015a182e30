"""The exception tree: one ``ApiException`` base, a subclass per HTTP status family.

Code written for the official SDK catches ``ApiException`` and keeps working; code
written for this library can catch the narrower classes (``ConflictError`` ...).
"""

from __future__ import annotations

import http.client
import json
import re
import socket
from collections.abc import Iterator, Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Literal, Union
from urllib.parse import urlsplit, urlunsplit

import requests
import urllib3.exceptions

if TYPE_CHECKING:
    import httpx

#: A response of either HTTP library: the client's (requests) or the async client's
#: (httpx, read before any of these functions sees it).
HttpResponse = Union[requests.Response, "httpx.Response"]

__all__ = [
    "ApiException",
    "BadRequestError",
    "ConflictError",
    "ConnectTimedOut",
    "ConnectionFailed",
    "FailureKind",
    "ForbiddenError",
    "NotFoundError",
    "PreconditionFailedError",
    "ReadTimedOut",
    "RequestTooLargeError",
    "ResponseIncomplete",
    "ResponseTooLarge",
    "ServiceUnavailableError",
    "TooManyRequestsError",
    "UnauthorizedError",
    "augment_error_response",
    "build_connection_failure",
    "connect_cause",
    "connection_failure",
    "error_from_response",
    "failure_cause",
    "read_capped",
    "redact_text",
    "redact_url",
    "response_too_large",
]


def redact_url(url: str) -> str:
    """The URL without a ``user:password@`` part, for log lines and errors."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/\s@]*@")


def redact_text(text: str) -> str:
    """``text`` with the ``user:password@`` part of every URL in it removed (for messages
    that quote URLs among other words, as argparse's do)."""
    return _USERINFO.sub(r"\g<scheme>", text)


# Request headers that carry credentials: never pickled with an exception.
_SECRET_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization", "x-auth-token"})

# Headers that carry a request id for support tickets, best first.
_TRACE_HEADERS = ("x-request-id", "x-couch-request-id")


class ApiException(Exception):
    """The server answered with a status that is not 2xx.

    ``message`` is ``"error: reason"`` from CouchDB's error body, ``error`` and
    ``reason`` are its two fields, ``trace`` the request id the server gave, and
    ``http_response`` the response itself: a ``requests.Response``, or an
    ``httpx.Response`` from ``cloudant_odm.aio``'s client.
    """

    def __init__(
        self,
        code: int,
        message: str | None = None,
        http_response: HttpResponse | None = None,
        *,
        error: str | None = None,
        reason: str | None = None,
    ) -> None:
        self.status_code = code
        self.http_response = http_response
        self.error = error
        self.reason = reason
        #: For an error about one document of a bulk request: its id and the rev sent.
        self.doc_id: str | None = None
        self.rev: str | None = None
        #: The database a 404 was about, where the ODM knows it (it names it in message).
        self.database: str | None = None
        if message is None and http_response is not None:
            message = _parse_error_body(http_response)[2]
        self.message = message or _status_text(code)
        headers: Mapping[str, str] = http_response.headers if http_response is not None else {}
        self.global_transaction_id: str | None = headers.get("X-Global-Transaction-ID")
        self.trace: str | None = _trace_of(headers)
        super().__init__(str(self))

    @property
    def code(self) -> int:
        """The status code under the SDK's older name."""
        return self.status_code

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled (multiprocessing, task queues) without the request's credentials: the
        # response keeps its status, headers and body; its request keeps method and URL
        # (redacted), not the Authorization / Cookie headers or the body sent.
        state = {**self.__dict__, "http_response": _without_secrets(self.http_response)}
        return (_unpickle, (type(self),), state)

    def __str__(self) -> str:
        # The SDK's format, to the character (its odd " , " included): code that parses
        # it keeps working. The request id is ``trace``, and in the body as the SDK has it.
        text = f"Error: {self.message}, Status code: {self.status_code}"
        if self.global_transaction_id:
            text += f" , X-global-transaction-id: {self.global_transaction_id}"
        return text


def _trace_of(headers: Mapping[str, str]) -> str | None:
    return next((headers[name] for name in _TRACE_HEADERS if name in headers), None)


class BadRequestError(ApiException):
    """400: the request was malformed or named an invalid option."""


class UnauthorizedError(ApiException):
    """401: missing or wrong credentials."""


class ForbiddenError(ApiException):
    """403: not allowed, or rejected by a ``validate_doc_update`` function."""


class NotFoundError(ApiException):
    """404: the database, document or endpoint does not exist."""


class ConflictError(ApiException):
    """409: the revision sent is not the current one (or the document exists)."""


class PreconditionFailedError(ApiException):
    """412: the database already exists, or an ``If-Match`` did not match."""


class RequestTooLargeError(ApiException):
    """413: the request body or a document is larger than the server accepts."""


class TooManyRequestsError(ApiException):
    """429: rate limited; retries (``enable_retries``) honour ``Retry-After``."""


class ServiceUnavailableError(ApiException):
    """5xx: the server failed or is unavailable."""


_BY_STATUS: dict[int, type[ApiException]] = {
    400: BadRequestError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    412: PreconditionFailedError,
    413: RequestTooLargeError,
    429: TooManyRequestsError,
}


def exception_class(status_code: int) -> type[ApiException]:
    """The most specific exception class for a status code."""
    if status_code >= 500:
        return ServiceUnavailableError
    return _BY_STATUS.get(status_code, ApiException)


def _unpickle(cls: type[ApiException]) -> ApiException:
    return cls.__new__(cls)


def _without_secrets(response: HttpResponse | None) -> requests.Response | None:
    """A ``requests.Response`` with what ``response`` (either library's) says, less the
    credentials: what a pickled exception keeps."""
    if response is None:
        return None
    safe = requests.Response()
    safe.status_code = response.status_code
    safe.headers = requests.structures.CaseInsensitiveDict(
        (k, v) for k, v in response.headers.items() if k.lower() != "set-cookie"
    )
    content = response.__dict__.get("_content")  # False while a stream was never read
    safe._content = content if isinstance(content, bytes) else b""
    safe.encoding = response.encoding
    if isinstance(response, requests.Response):
        safe.reason = response.reason
        safe.elapsed = response.elapsed
        sent: Any = response.request
    else:  # httpx's: its request is there once sent
        safe.reason = response.reason_phrase
        sent = response.__dict__.get("_request")
    safe.url = redact_url(str(response.url or ""))
    if sent is not None:
        request = requests.PreparedRequest()
        request.method = sent.method
        request.url = redact_url(str(sent.url or ""))
        request.headers = requests.structures.CaseInsensitiveDict(
            (k, v) for k, v in sent.headers.items() if k.lower() not in _SECRET_HEADERS
        )
        safe.request = request
    return safe


def error_from_response(response: HttpResponse) -> ApiException:
    """Build the typed exception for a non-2xx response, reading CouchDB's error body."""
    location = response.headers.get("Location")
    if 300 <= response.status_code < 400 and response.status_code != 304 and location:
        # Redirects are never followed: credentials, cookies and documents go only to
        # the configured service URL, and a write that was redirected was not stored.
        refused = (
            f"redirected to {redact_url(location)}; redirects are not followed (only the "
            "configured service URL gets credentials and documents): use that URL"
        )
        cls = exception_class(response.status_code)
        return cls(response.status_code, refused, response, error="redirect", reason=refused)
    augment_error_response(response)  # (a no-op where the session's hook ran already)
    error, reason, message = _parse_error_body(response)
    cls = exception_class(response.status_code)
    return cls(response.status_code, message, response, error=error, reason=reason)


def augment_error_response(response: HttpResponse, *args: Any, **kwargs: Any) -> HttpResponse:
    """A ``requests`` response hook (the client's session has it, as the SDK's has; the
    async client calls it on its error responses, read):
    a JSON error body in CouchDB's form, ``{"error", "reason"}``, gains IBM Cloud's
    ``errors: [{"code", "message"}]`` and ``trace``, the request id from the
    ``X-Request-ID`` (else ``X-Couch-Request-ID``) header. A body that already has a
    ``trace`` is left alone, and so is a HEAD's (none) or a body that isn't JSON.

    The body is read up to ``ERROR_BODY_LIMIT``; the response is changed in place and
    returned."""
    request = response.request
    if response.status_code < 400 or request is None or request.method == "HEAD":
        return response
    if not (response.headers.get("Content-Type") or "").lower().startswith("application/json"):
        return response
    try:
        body = json.loads(_error_body(response))
    except (ValueError, RuntimeError):
        return response
    if not isinstance(body, dict) or "trace" in body:
        return response
    changed = False
    error = body.get("error")
    if "errors" not in body and error is not None:
        body["errors"] = [{"code": error, "message": _couch_message(error, body.get("reason"))}]
        changed = True
    trace = _trace_of(response.headers)
    if "errors" in body and trace is not None:
        body["trace"] = trace
        changed = True
    if changed:
        response._content = json.dumps(body).encode()
        response.encoding = "utf-8"
    return response


def _parse_error_body(response: HttpResponse) -> tuple[str | None, str | None, str]:
    """``error``, ``reason`` and the message, chosen as the SDK chooses it: the first of
    ``errors[0].message``, ``error``, ``message``, ``errorMessage`` in a JSON body, else
    a text for the status, else the body's text, else "Unknown error"."""
    if response.request is not None and response.request.method == "HEAD":
        return None, None, _UNKNOWN
    content = _error_body(response)
    try:
        body: Any = json.loads(content) if content else None
    except (ValueError, RuntimeError):
        # Not JSON (a proxy's HTML page, say): the text itself is the best message.
        text = response.text.strip() if content else ""
        return None, None, text[:500] or _UNKNOWN
    if not isinstance(body, dict):
        return None, None, _status_text(response.status_code, content)
    error = _text(body.get("error"))
    reason = _text(body.get("reason"))
    errors = body.get("errors")
    message: str | None = None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        message = _text(errors[0].get("message"))
    elif "errors" not in body:
        # A CouchDB body the hook didn't augment (sent as another content type): the
        # message it would have given. IBM Cloud's own (with a trace): its error alone.
        couch = _couch_message(error, reason) if error and "trace" not in body else error
        message = couch or _text(body.get("message")) or _text(body.get("errorMessage"))
    return error, reason, message or _status_text(response.status_code, content)


def _couch_message(error: Any, reason: Any) -> str:
    """``error: reason`` (or ``error``) of a CouchDB error body, as the SDK words it."""
    return f"{error}: {reason}" if reason else f"{error}"


_UNKNOWN = "Unknown error"


#: An error body (CouchDB's is a line of JSON) is read up to this size, also for a
#: streamed request, whose body the client's own limit doesn't cover.
ERROR_BODY_LIMIT = 1 << 20


def _error_body(response: HttpResponse) -> bytes:
    # A streamed body, not read yet (httpx's are read before they get here).
    if isinstance(response, requests.Response) and response.__dict__.get("_content") is False:
        try:
            return read_capped(response, ERROR_BODY_LIMIT)
        except ResponseTooLarge:
            response._content = b""
            return b""
    return response.content or b""


def _text(value: object) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value)


def _status_text(code: int, content: bytes = b"") -> str:
    """What the SDK says of an error body with no message: the status's phrase, else
    the body's text, else "Unknown error"."""
    if code == 401:
        return "Unauthorized: Access is denied due to invalid credentials"
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return content.decode("utf-8", "replace").strip()[:500] or _UNKNOWN


# -- the request got no (complete) answer ----------------------------------------------


class ConnectionFailed(requests.exceptions.ConnectionError):
    """No complete answer came: the connection was refused, reset or timed out, or the
    response broke off, on every attempt.

    A ``requests.ConnectionError``, so SDK-style ``except requests.ConnectionError`` keeps
    working, with a message that says where, what and how often::

        Could not connect to http://127.0.0.1:5984 (connection refused) for GET /db/doc
        after 3 attempts

    ``url`` is the server (scheme, host and port: never credentials), ``method`` and
    ``path`` the request, ``attempts`` how many times it was sent (None if unknown),
    ``cause`` the short reason in the parentheses, ``summary`` the message without the
    advice to turn retries on (for callers that retry by themselves, as the changes
    follower does). The original ``requests`` exception is ``__cause__``.
    """

    def __init__(
        self,
        message: str,
        *,
        url: str = "",
        method: str = "",
        path: str = "",
        attempts: int | None = None,
        cause: str = "",
        summary: str = "",
        request: Any = None,
    ) -> None:
        # (Defaults, so that unpickling, which passes only the message, works.)
        super().__init__(message, request=request)
        self.url = url
        self.method = method
        self.path = path
        self.attempts = attempts
        self.cause = cause
        self.summary = summary or message


class ConnectTimedOut(ConnectionFailed, requests.exceptions.ConnectTimeout):
    """The connection could not be set up in time (also a ``requests.ConnectTimeout``)."""


class ReadTimedOut(ConnectionFailed, requests.exceptions.ReadTimeout):
    """The server did not answer within the read timeout (also a ``requests.ReadTimeout``,
    whether or not retries are on)."""


class ResponseIncomplete(ConnectionFailed, requests.exceptions.ChunkedEncodingError):
    """The response broke off before its body was complete (also a
    ``requests.exceptions.ChunkedEncodingError``, which ``requests`` raises for it)."""


#: What ``connection_failure`` rewrites. Subclasses (``SSLError``, ``ProxyError`` ...)
#: are left alone: their messages are already specific.
_WRAPPED = (
    requests.exceptions.ConnectionError,
    requests.exceptions.ConnectTimeout,
    requests.exceptions.ReadTimeout,
    requests.exceptions.ChunkedEncodingError,
)


def connection_failure(
    error: BaseException,
    *,
    method: str,
    url: str,
    attempts: int | None,
    retries: bool,
) -> ConnectionFailed | None:
    """The ``ConnectionFailed`` to raise instead of ``requests``' ``error`` for a
    ``method`` request to ``url`` that was sent ``attempts`` times, or None when
    ``error`` is not a connection failure (or is a more specific one, such as a TLS
    error)."""
    if type(error) not in _WRAPPED:
        return None
    causes = list(_causes(error))
    kind: FailureKind
    if isinstance(error, requests.exceptions.ChunkedEncodingError):
        kind, cause = "cut-off", _why(causes, "the connection broke off")
    elif _first(causes, urllib3.exceptions.ReadTimeoutError) or isinstance(
        error, requests.exceptions.ReadTimeout
    ):
        kind, cause = "read-timeout", f"read timeout{_timeout_text(causes)}"
    elif _first(causes, urllib3.exceptions.NewConnectionError) or _first(
        causes, urllib3.exceptions.ConnectTimeoutError
    ):
        known = _connect_cause(causes)
        timed_out = known is None and (
            _first(causes, TimeoutError) is not None
            or isinstance(error, requests.exceptions.ConnectTimeout)
            or not _first(causes, urllib3.exceptions.NewConnectionError)
        )
        if known is not None:
            cause = known
        elif timed_out:
            cause = "connect timeout"
        else:
            cause = _why(causes, "could not connect")
        kind = "connect-timeout" if timed_out else "connect"
    else:
        kind, cause = "other", _why(causes, "the connection failed")
    return build_connection_failure(
        kind,
        cause,
        method=method,
        url=url,
        attempts=attempts,
        retries=retries,
        request=getattr(error, "request", None),
    )


#: What went wrong with a request that got no complete answer.
FailureKind = Literal["cut-off", "read-timeout", "connect", "connect-timeout", "other"]


def build_connection_failure(
    kind: FailureKind,
    cause: str,
    *,
    method: str,
    url: str,
    attempts: int | None,
    retries: bool,
    request: Any = None,
) -> ConnectionFailed:
    """The ``ConnectionFailed`` (or subclass) for a failure of ``kind``, ``cause`` being
    the short reason in its parentheses; whichever HTTP library failed."""
    origin, path = _origin_and_path(url)
    cls: type[ConnectionFailed]
    if kind == "cut-off":
        cls, what = ResponseIncomplete, f"The response from {origin} was cut off ({cause})"
    elif kind == "read-timeout":
        cls, what = ReadTimedOut, f"No response from {origin} ({cause})"
    elif kind in ("connect", "connect-timeout"):
        cls = ConnectTimedOut if kind == "connect-timeout" else ConnectionFailed
        what = f"Could not connect to {origin} ({cause})"
    else:
        cls = ConnectionFailed
        what = f"The connection to {origin} failed before a response arrived ({cause})"
    summary = f"{what} for {method} {path}"
    if attempts is not None:
        summary += f" after {attempts} attempt{'' if attempts == 1 else 's'}"
    message = summary if retries else f"{summary} (retries are off: see enable_retries())"
    return cls(
        message,
        url=origin,
        method=method,
        path=path,
        attempts=attempts,
        cause=cause,
        summary=summary,
        request=request,
    )


def _connect_cause(causes: list[BaseException]) -> str | None:
    if _first(causes, ConnectionRefusedError):
        return "connection refused"
    if _first(causes, urllib3.exceptions.NameResolutionError) or _first(causes, socket.gaierror):
        return "host name not found"
    return None


def connect_cause(error: BaseException) -> str | None:
    """Why a connection could not be made, when ``error`` says it plainly: "connection
    refused" or "host name not found"."""
    return _connect_cause(list(_causes(error)))


def failure_cause(error: BaseException, default: str) -> str:
    """A short reason for ``error`` from the innermost OS or HTTP error it wraps."""
    return _why(list(_causes(error)), default)


def _origin_and_path(url: str) -> tuple[str, str]:
    """``scheme://host[:port]`` (never credentials) and the path of ``url``, for messages."""
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.hostname or ''}"
    if parts.port is not None:
        origin += f":{parts.port}"
    return origin, parts.path or "/"


def _causes(error: BaseException) -> Iterator[BaseException]:
    """``error`` and what it wraps: urllib3's ``reason``, exception arguments,
    ``__cause__`` and ``__context__`` (breadth first, each once, at most 32)."""
    seen: set[int] = set()
    todo: list[BaseException] = [error]
    while todo and len(seen) < 32:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        reason = getattr(current, "reason", None)
        nested = [reason, *current.args, current.__cause__, current.__context__]
        todo.extend(e for e in nested if isinstance(e, BaseException))


def _first(causes: list[BaseException], kind: type[BaseException]) -> BaseException | None:
    return next((e for e in causes if isinstance(e, kind)), None)


def _why(causes: list[BaseException], default: str) -> str:
    """A short reason from the innermost OS or HTTP error."""
    if _first(causes, ConnectionRefusedError):
        return "connection refused"
    if _first(causes, ConnectionResetError):
        return "connection reset by peer"
    if _first(causes, BrokenPipeError):
        return "broken pipe"
    if _first(causes, http.client.RemoteDisconnected):
        return "the server closed the connection without answering"
    incomplete = _first(causes, http.client.IncompleteRead) or _first(
        causes, urllib3.exceptions.IncompleteRead
    )
    if incomplete is not None:
        # urllib3: partial is a byte count; http.client: the bytes themselves.
        partial = getattr(incomplete, "partial", None)
        expected = getattr(incomplete, "expected", None)
        got = partial if isinstance(partial, int) else len(partial or b"")
        if isinstance(expected, int):
            return f"{got} bytes received, {expected} more expected"
        return "the body ended early"
    os_error = next(
        (e for e in causes if type(e).__module__ == "builtins" and isinstance(e, OSError)), None
    )
    if os_error is not None and os_error.strerror:
        return os_error.strerror.lower()
    return default


def _timeout_text(causes: list[BaseException]) -> str:
    """`` after N s`` from urllib3's "(read timeout=N)", or nothing."""
    for error in causes:
        text = str(error)
        marker = "read timeout="
        if marker in text:
            value = text.split(marker, 1)[1].split(")", 1)[0]
            return f" after {value} s"
    return ""


# -- a response too large to hold ------------------------------------------------------

#: Read size while buffering a body: each read decompresses at most this much, so a
#: small gzip body that inflates enormously is stopped as soon as it passes the limit.
_READ_CHUNK = 1 << 16


class ResponseTooLarge(requests.exceptions.RequestException):
    """A response body is larger than the client buffers (``limit`` bytes, after gzip
    decompression). Also a ``requests.RequestException``.

    The body was not read further and the connection was closed. ``limit`` is the limit,
    ``size`` what the body had reached (or its ``Content-Length``), ``url`` the server
    (scheme, host and port), ``method`` and ``path`` the request.
    """

    def __init__(
        self,
        message: str,
        *,
        limit: int = 0,
        size: int = 0,
        url: str = "",
        method: str = "",
        path: str = "",
    ) -> None:
        # (Defaults, so that unpickling, which passes only the message, works.)
        super().__init__(message)
        self.limit = limit
        self.size = size
        self.url = url
        self.method = method
        self.path = path


def response_too_large(
    method: str, url: str, size: int, how: str, limit: int, advice: str = ""
) -> ResponseTooLarge:
    """The error for a ``method`` request to ``url`` whose body is ``how`` (``"at least
    "``, ``"declared as "`` or nothing) ``size`` bytes, over ``limit``."""
    origin, path = _origin_and_path(url)
    message = (
        f"The response from {origin} for {method} {path} is {how}{size:,} bytes, over "
        f"the limit of {limit:,} bytes{advice}"
    )
    return ResponseTooLarge(message, limit=limit, size=size, url=origin, method=method, path=path)


def read_capped(response: requests.Response, limit: int | None, advice: str = "") -> bytes:
    """Read the body of ``response`` (sent with ``stream=True``) into it, as
    ``response.content`` would, but raise :class:`ResponseTooLarge` as soon as it (or
    its decompressed form) passes ``limit`` bytes. ``advice`` ends the message."""
    if limit is None:
        return response.content or b""
    request = response.request
    method = str(request.method if request is not None else "GET")
    url = str(request.url if request is not None else response.url)

    def too_large(size: int, how: str) -> ResponseTooLarge:
        response.close()
        return response_too_large(method, url, size, how, limit, advice)

    # Read already (``_content`` is False until then), or nothing to read from.
    if response.__dict__.get("_content", False) is not False or response.raw is None:
        held = response.content or b""
        if len(held) > limit:
            raise too_large(len(held), "")
        return held
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(int(declared), "declared as ")
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(_READ_CHUNK):  # decompressed, a read at a time
        size += len(chunk)
        if size > limit:
            raise too_large(size, "at least ")
        chunks.append(chunk)
    body = b"".join(chunks)
    # What requests' own `content` property would have stored after reading.
    response._content = body
    return body

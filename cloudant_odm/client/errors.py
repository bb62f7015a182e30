"""The exception tree: one ``ApiException`` base, a subclass per HTTP status family.

Code written for the official SDK catches ``ApiException`` and keeps working; code
written for this library can catch the narrower classes (``ConflictError`` ...).
"""

from __future__ import annotations

import json
from typing import Any

import requests

__all__ = [
    "ApiException",
    "BadRequestError",
    "ConflictError",
    "ForbiddenError",
    "NotFoundError",
    "PreconditionFailedError",
    "RequestTooLargeError",
    "ServiceUnavailableError",
    "TooManyRequestsError",
    "UnauthorizedError",
    "error_from_response",
]

# Headers that carry a request id for support tickets, best first.
_TRACE_HEADERS = ("x-request-id", "x-couch-request-id")


class ApiException(Exception):
    """The server answered with a status that is not 2xx.

    ``message`` is ``"error: reason"`` from CouchDB's error body, ``error`` and
    ``reason`` are its two fields, ``trace`` the request id the server gave, and
    ``http_response`` the ``requests.Response`` itself.
    """

    def __init__(
        self,
        code: int,
        message: str | None = None,
        http_response: requests.Response | None = None,
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
        self.message = message or _status_text(code, http_response)
        headers = http_response.headers if http_response is not None else {}
        self.global_transaction_id: str | None = headers.get("X-Global-Transaction-ID")
        self.trace: str | None = next(
            (headers[name] for name in _TRACE_HEADERS if name in headers), None
        )
        super().__init__(str(self))

    @property
    def code(self) -> int:
        """The status code under the SDK's older name."""
        return self.status_code

    def __str__(self) -> str:
        text = f"Error: {self.message}, Status code: {self.status_code}"
        if self.trace:
            text += f", Trace: {self.trace}"
        if self.global_transaction_id:
            text += f", X-global-transaction-id: {self.global_transaction_id}"
        return text


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


def error_from_response(response: requests.Response) -> ApiException:
    """Build the typed exception for a non-2xx response, reading CouchDB's error body."""
    error, reason, message = _parse_error_body(response)
    cls = exception_class(response.status_code)
    return cls(response.status_code, message, response, error=error, reason=reason)


def _parse_error_body(response: requests.Response) -> tuple[str | None, str | None, str | None]:
    if response.request is not None and response.request.method == "HEAD":
        return None, None, None
    try:
        body: Any = json.loads(response.content) if response.content else None
    except (ValueError, RuntimeError):
        # Not JSON (a proxy's HTML page, say): the text itself is the best message.
        text = response.text.strip() if response.content else ""
        return None, None, text[:500] or None
    if not isinstance(body, dict):
        return None, None, None
    error = _text(body.get("error"))
    reason = _text(body.get("reason"))
    errors = body.get("errors")
    if error and reason:
        message: str | None = f"{error}: {reason}"
    elif error:
        message = error
    elif isinstance(errors, list) and errors and isinstance(errors[0], dict):
        message = _text(errors[0].get("message"))
    else:
        message = _text(body.get("message")) or _text(body.get("errorMessage"))
    return error, reason, message


def _text(value: object) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value)


def _status_text(code: int, response: requests.Response | None) -> str:
    if response is not None and response.reason:
        return str(response.reason)
    if code == 401:
        return "Unauthorized: Access is denied due to invalid credentials"
    return "Unknown error"

"""HTTP transport: one pooled ``requests.Session`` per client, retries, gzip, timeouts.

``TransportSettings`` is what a transport is configured with and does to a request
before sending it; ``Transport`` sends with ``requests``, and ``cloudant_odm.aio``'s
``AsyncTransport`` extends the same settings to send with httpx.

Retries use urllib3's ``Retry`` (mounted on the adapter) rather than a loop of our own:
it already handles ``Retry-After`` (seconds or HTTP date), capped exponential back-off
and connection errors, and it is what ``requests`` users know. One case is beyond it:
``requests`` reads the body after urllib3 has returned the response, so a body that
breaks off (a reset mid-body) is retried here, with the same ``Retry`` settings.

A request that gets no complete answer raises :class:`~cloudant_odm.client.errors.
ConnectionFailed` (a ``requests.ConnectionError``) saying where, why and how often,
instead of urllib3's "Max retries exceeded with url" text.
"""

from __future__ import annotations

import gzip
import http.cookiejar
import ipaddress
import json
import logging
import re
import threading
import time
import warnings
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from types import MappingProxyType, TracebackType
from typing import IO, TYPE_CHECKING, Any, NoReturn, TypeVar
from urllib.parse import urlsplit, urlunsplit

import requests
import urllib3
import urllib3.connection
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, ProtocolError
from urllib3.util.retry import Retry

from cloudant_odm.client.auth import Authenticator
from cloudant_odm.client.common import get_user_agent
from cloudant_odm.client.errors import (
    ApiException,
    augment_error_response,
    connection_failure,
    error_from_response,
    read_capped,
    redact_url,
)

if TYPE_CHECKING:
    from typing_extensions import Self
    from urllib3 import BaseHTTPResponse
    from urllib3.connectionpool import ConnectionPool

    from cloudant_odm.client._operations import Request

__all__ = [
    "DetailedResponse",
    "Transport",
    "TransportSettings",
    "compress",
    "mark_sent_times",
    "request_sending",
    "result_of",
    "send_request",
    "sent_times",
    "user_agent",
]

log = logging.getLogger("cloudant_odm.client")

#: (connect, read) seconds; the read timeout allows a 2-minute long poll.
DEFAULT_TIMEOUT: tuple[float, float] = (60.0, 150.0)
RETRY_STATUSES = (429, 500, 502, 503, 504)
#: The largest response body the client holds in memory (after gzip decompression):
#: far above CouchDB's largest document (8 MB by default) or a page of the ODM's reads,
#: low enough that a runaway or hostile body can't exhaust memory. Streamed results
#: (``*_as_stream``, the changes follower) are not limited.
MAX_RESPONSE_SIZE = 64 * 1024 * 1024
TOO_LARGE_ADVICE = (
    ": ask for less (a limit, or pages), use the operation's *_as_stream variant, or "
    "raise the limit with set_max_response_size()"
)
#: Enough connections for a thread pool of this size to share one client without waiting.
POOL_SIZE = 32
_GZIP_CHUNK = 64 * 1024
#: Compression level of request bodies. On document JSON, level 1 is 2-2.5x faster than
#: 6 for bodies under 10% larger (benchmarks/run.py: about 1 µs less client CPU per
#: small document written).
GZIP_LEVEL = 1
#: Attribute set on the exception a Retry raises, and on a response: how many attempts
#: were made.
_ATTEMPTS = "_cloudant_odm_attempts"
#: A response body that broke off while being read: sent again (retries permitting).
_BODY_ERRORS = (
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)
# Allowed per-call keyword arguments passed on to requests.
REQUEST_OPTIONS = frozenset({"timeout", "stream", "verify", "proxies", "cert"})

_SESSION_COOKIE_VALUE = re.compile(r"(AuthSession=)[^;,\s]*")

_insecure_warned = False
_insecure_lock = threading.Lock()

#: Set in the context of a thread whose request another thread waits to see go out
#: (``overlap.Call``): the event is set once the request is written to the connection.
request_sending: ContextVar[threading.Event | None] = ContextVar(
    "cloudant_odm_request_sending", default=None
)


#: The client's User-Agent (its text is common.get_user_agent's).
user_agent = get_user_agent


class DetailedResponse:
    """What every operation returns: the decoded result, the headers and the status code.

    ``result`` is a dict (or list) for JSON, ``None`` for HEAD and empty bodies, and the
    unread ``requests.Response`` for streamed and binary bodies (read or close it).
    """

    __slots__ = ("attempts", "headers", "result", "status_code")

    def __init__(
        self,
        response: Any = None,
        headers: Mapping[str, str] | None = None,
        status_code: int | None = None,
        attempts: int = 1,
    ) -> None:
        # The SDK's keywords (response=, headers=, status_code=), so that tests that build
        # one by hand, as for mocks, work with either library.
        self.result = response
        self.headers: Mapping[str, str] = headers if headers is not None else {}
        self.status_code = status_code
        #: How many times the request was sent: more than 1 when retries re-sent it (a
        #: write may then have been applied by an earlier attempt whose answer was lost).
        self.attempts = attempts

    def get_result(self) -> Any:
        return self.result

    def get_headers(self) -> Mapping[str, str]:
        return self.headers

    def get_status_code(self) -> int | None:
        return self.status_code

    def __repr__(self) -> str:
        return f"<DetailedResponse [{self.status_code}]>"

    def __str__(self) -> str:
        result = self.result if isinstance(self.result, dict | list) else None
        # A session cookie the server renews rides on any response: never print it.
        headers = {key: _masked(key, value) for key, value in self.headers.items()}
        return json.dumps(
            {"status_code": self.status_code, "headers": headers, "result": result},
            indent=2,
        )


class _RefuseCookies(http.cookiejar.DefaultCookiePolicy):
    """The session authenticator holds its cookie itself; the shared jar must stay empty
    so one user's cookie can never ride along on another client's requests."""

    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False


class RetryPolicy(Retry):
    """urllib3's Retry with ``Retry-After`` capped at the back-off limit, so a server
    asking for an hour can't hang the caller; the caller sees the error instead."""

    def get_retry_after(self, response: Any) -> float | None:
        after = super().get_retry_after(response)
        if after is None:
            return None
        return min(after, self.backoff_max)

    def delay(self, response: BaseHTTPResponse | None = None) -> float:
        """Seconds to wait before the next attempt, as urllib3's ``sleep`` chooses them:
        the response's ``Retry-After`` (capped) if it has one, else the back-off. The
        async client waits this long without blocking its event loop."""
        if self.respect_retry_after_header and response is not None:
            after = self.get_retry_after(response)
            if after:
                return after
        return max(self.get_backoff_time(), 0.0)

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        wait = self.delay(response)
        if wait > 0:
            time.sleep(wait)

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: TracebackType | None = None,
    ) -> Self:
        try:
            again = super().increment(method, url, response, error, _pool, _stacktrace)
        except Exception as exc:
            # Giving up: note how many attempts there were, for ConnectionFailed's message.
            setattr(exc, _ATTEMPTS, len(self.history) + 1)
            raise
        # On our own logger (urllib3 logs retries only on its own, at DEBUG).
        if log.isEnabledFor(logging.WARNING):
            why = f"status {response.status}" if response is not None else type(error).__name__
            if error is not None and response is None:
                why = f"{why}: {error}"
            wait = again.get_retry_after(response) if response is not None else None
            if wait is None:
                wait = again.get_backoff_time()
            origin = "" if _pool is None else f"{_pool.scheme}://{_pool.host}:{_pool.port}"
            log.warning(
                "%s %s: %s; retry %d of %d in %.1f s",
                method,
                redact_url(origin + (url or "")),
                why,
                len(again.history),
                len(again.history) + (again.total if isinstance(again.total, int) else 0),
                wait,
            )
        return again


def _no_retry() -> Retry:
    # read=False re-raises a read timeout as itself (requests.ReadTimeout), as requests does.
    return RetryPolicy(0, redirect=0, read=False)


class _Written:
    """A connection that tells a thread waiting for its request to go out (the event in
    ``request_sending``) once the request is written, just before the answer is
    awaited. Not earlier: the sender still has Python work to do up to the socket and
    lets go of the GIL on the way (a poll of the pooled connection), and a waiter that
    went back to its own work then would hold the request up by a switch interval."""

    def request(self, *args: Any, **kwargs: Any) -> None:
        super().request(*args, **kwargs)  # type: ignore[misc]
        sending = request_sending.get()
        if sending is not None:
            sending.set()


class _HTTPConnection(_Written, urllib3.connection.HTTPConnection):
    pass


class _HTTPSConnection(_Written, urllib3.connection.HTTPSConnection):
    pass


class _HTTPConnectionPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSConnectionPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


def _pools() -> dict[str, type[urllib3.HTTPConnectionPool]]:
    return {"http": _HTTPConnectionPool, "https": _HTTPSConnectionPool}


class _Adapter(HTTPAdapter):
    """requests' adapter, with connections that say when a request is written (through a
    proxy too; a SOCKS proxy's connections don't, and a waiting thread then waits for
    the whole call)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _pools()

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if type(manager) is urllib3.ProxyManager:
            manager.pool_classes_by_scheme = _pools()
        return manager


def _pooled_adapter() -> HTTPAdapter:
    return _Adapter(pool_connections=4, pool_maxsize=POOL_SIZE, max_retries=_no_retry())


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name
        return False


#: What ``TransportSettings.prepare`` makes of a request: ``(url, headers, body, options,
#: stream, once)``: the service URL and the path (the query is the HTTP library's to
#: encode), the headers, the body, the transport options (``timeout`` always among them),
#: whether the response is returned unread, whether the body can be read only once (a
#: stream: it is never sent again). A plain tuple: it is made for every request.
Prepared = tuple[
    str, dict[str, str], bytes | IO[bytes] | Iterable[bytes] | None, dict[str, Any], bool, bool
]
_Sent = TypeVar("_Sent")


def send_request(send: Callable[..., _Sent], request: Request) -> _Sent:
    """A transport's ``send`` (requests' or, returning a coroutine, httpx's) called with
    an operation's request (``Op.request``)."""
    options = {**request.options, "stream": True} if request.stream else request.options
    return send(
        request.method,
        request.path,
        params=request.params,
        headers=request.headers,
        body=request.body,
        options=options,
        compress=request.compress,
    )


class TransportSettings:
    """What a client's transport is configured with, and what it does to every request
    before sending it (default headers, gzip, timeouts), without sending anything: the
    ``requests`` transport below and the ``httpx`` one of ``cloudant_odm.aio`` extend it.
    State changes take a lock, so threads may share one."""

    def __init__(self, authenticator: Authenticator) -> None:
        self.authenticator = authenticator
        self.service_url = ""
        self._default_headers: dict[str, str] = {}
        self.http_config: dict[str, Any] = {"timeout": DEFAULT_TIMEOUT}
        self.gzip_requests = True
        self.verify = True
        self.max_response_size: int | None = MAX_RESPONSE_SIZE
        self._retry: RetryPolicy | None = None
        # For bodies that can be read only once (streams): a retry may only happen
        # before the body was sent, i.e. on connection errors.
        self._once_retry: RetryPolicy | None = None
        self._warned_plain_http = False
        self._lock = threading.Lock()

    # -- configuration ------------------------------------------------------------

    @property
    def default_headers(self) -> Mapping[str, str]:
        """Headers sent on every request, the authenticator's login included (read-only:
        set them whole, so the authenticator gets them too)."""
        return MappingProxyType(self._default_headers)

    @default_headers.setter
    def default_headers(self, headers: Mapping[str, str]) -> None:
        self._default_headers = dict(headers)
        self.authenticator.set_default_headers(self._default_headers)

    def set_service_url(self, url: str) -> None:
        if not url:
            raise ValueError("The service URL must not be empty")
        if url[0] in '{"' or url[-1] in '}"':
            raise ValueError(
                "The service URL starts or ends with a brace or quote; remove them from it"
            )
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"The service URL must be http(s)://host[:port][/path], got {redact_url(url)!r}"
            )
        self.service_url = url.rstrip("/")
        self._attach()
        self._warn_plain_http(parts.scheme, parts.hostname)

    def _warn_plain_http(self, scheme: str, host: str) -> None:
        """Credentials over plain http to another machine can be read on the way: say so,
        once per client (loopback, as for a local test server, is fine)."""
        if scheme != "http" or self._warned_plain_http or _is_loopback(host):
            return
        if self.authenticator.authentication_type() == self.authenticator.AUTHTYPE_NOAUTH:
            return
        self._warned_plain_http = True
        log.warning(
            "credentials (%s) go to %s over plain http: anyone on the network path can read "
            "them; use https",
            self.authenticator.authentication_type(),
            host,
        )

    def set_http_config(self, config: Mapping[str, Any]) -> None:
        new = dict(config)
        new.setdefault("timeout", DEFAULT_TIMEOUT)
        if "verify" in new and new["verify"] is False:
            _warn_insecure()
        self.http_config = new
        self._attach()

    def set_max_response_size(self, size: int | None) -> None:
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
            raise ValueError(f"max_response_size must be a positive int or None, got {size!r}")
        self.max_response_size = size

    def set_disable_ssl_verification(self, disabled: bool) -> None:
        if not isinstance(disabled, bool):
            raise TypeError("disable_ssl_verification must be a bool")
        if disabled:
            _warn_insecure()
        self.verify = not disabled
        self._attach()

    def enable_retries(self, max_retries: int = 4, retry_interval: float = 30.0) -> None:
        if max_retries < 0 or retry_interval < 0:
            raise ValueError("max_retries and retry_interval must not be negative")
        with self._lock:
            self._retry = RetryPolicy(
                total=max_retries,
                backoff_factor=1.0,
                backoff_max=retry_interval,
                status_forcelist=RETRY_STATUSES,
                allowed_methods=None,  # every method: byte bodies are resent as they were
                # Give the caller the last response, which becomes a typed ApiException,
                # instead of urllib3's MaxRetryError.
                raise_on_status=False,
                respect_retry_after_header=True,
            )
            self._once_retry = RetryPolicy(
                total=max_retries,
                connect=max_retries,
                read=False,
                status=0,
                other=0,
                redirect=0,
                backoff_factor=1.0,
                backoff_max=retry_interval,
            )
            self._retries_changed()

    def disable_retries(self) -> None:
        with self._lock:
            self._retry = None
            self._once_retry = None
            self._retries_changed()

    @property
    def retry(self) -> Retry | None:
        return self._retry

    def connection_config(self) -> dict[str, Any]:
        """The HTTP settings in effect: ``http_config`` over the defaults (the timeouts,
        the client's TLS verification)."""
        return {"timeout": DEFAULT_TIMEOUT, "verify": self.verify, **self.http_config}

    def _attach(self) -> None:
        """Pass the URL and HTTP settings on to whatever depends on them."""

    def _retries_changed(self) -> None:
        """The retry settings changed (called under the lock)."""

    # -- what every request gets ----------------------------------------------------

    def prepare(
        self,
        path: str,
        headers: Mapping[str, str] | None,
        body: bytes | IO[bytes] | Iterable[bytes] | None,
        options: Mapping[str, Any] | None,
        compress: bool,
    ) -> Prepared:
        """A request to ``path`` as either library is to send it (``Prepared``): the
        client's URL and default headers, the body gzipped if it should be, the call's
        transport options over the client's."""
        if not self.service_url:
            raise ValueError("No service URL: call set_service_url() or use new_instance()")
        all_headers = {**headers} if headers else {}
        all_headers.update(self._default_headers)
        gzip_body = compress and self.gzip_requests and not _has(all_headers, "Content-Encoding")
        if body is not None and gzip_body:
            body = _gzip(body)
            all_headers["Content-Encoding"] = "gzip"
        kwargs = self.connection_config()
        kwargs.update(options or {})  # a per-call option wins over the client's default
        stream = bool(kwargs.pop("stream", False))
        return self.service_url + path, all_headers, body, kwargs, stream, is_stream(body)


class Transport(TransportSettings):
    """Sends requests for one client with ``requests``. Thread-safe: a
    ``requests.Session`` with a pooled adapter is shared across threads."""

    def __init__(self, authenticator: Authenticator) -> None:
        super().__init__(authenticator)
        # Mounted once; retries are switched by replacing max_retries, which each send
        # reads, so threads sending meanwhile never see a half-mounted session.
        self._adapter = _pooled_adapter()
        # For bodies that can be read only once: retried only on connection errors.
        self._once_adapter = _pooled_adapter()
        self.session = self._new_session()

    def _new_session(self) -> requests.Session:
        session = requests.Session()
        session.cookies.set_policy(_RefuseCookies())
        session.headers["User-Agent"] = user_agent()
        self._mount(session)
        return session

    def _mount(self, session: requests.Session) -> None:
        session.mount("http://", self._adapter)
        session.mount("https://", self._adapter)
        hooks = session.hooks.setdefault("response", [])
        if augment_error_response not in hooks:
            hooks.append(augment_error_response)

    def set_http_client(self, session: requests.Session) -> None:
        with self._lock:
            session.cookies.set_policy(_RefuseCookies())
            self._mount(session)
            self.session = session
        self._attach()

    def _retries_changed(self) -> None:
        self._adapter.max_retries = self._retry or _no_retry()
        self._once_adapter.max_retries = self._once_retry or _no_retry()

    def _attach(self) -> None:
        self.authenticator.attach(self.session, self.service_url, self.connection_config())

    # -- sending ------------------------------------------------------------------

    def call(self, request: Request) -> DetailedResponse:
        """Send an operation's request (``Op.request``) and decode its response."""
        response = send_request(self.send, request)
        attempts = sent_times(response)
        if request.stream:
            return DetailedResponse(response, response.headers, response.status_code, attempts)
        result = result_of(
            request.method, response.status_code, response.headers, response.content, response
        )
        return DetailedResponse(result, response.headers, response.status_code, attempts)

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes | IO[bytes] | Iterable[bytes] | None = None,
        options: Mapping[str, Any] | None = None,
        compress: bool = True,
    ) -> requests.Response:
        """Send one request to ``service_url + path`` and return the response if it is
        2xx; otherwise raise the typed ``ApiException``."""
        url, all_headers, body, kwargs, stream, once = self.prepare(
            path, headers, body, options, compress
        )
        request = requests.Request(method, url, params=params, headers=all_headers, data=body)
        response = self._send_complete(request, stream, kwargs, once=once)
        if response.status_code == 401 and self.authenticator.on_unauthorized(response):
            response.close()
            if once:
                raise error_from_response(response)  # can't replay a consumed stream
            response = self._send_complete(request, stream, kwargs)
        if not 200 <= response.status_code < 300:  # 304 too, as the SDK
            try:
                raise error_from_response(response)
            finally:
                response.close()
        return response

    def _send_complete(
        self, request: requests.Request, stream: bool, kwargs: dict[str, Any], once: bool = False
    ) -> requests.Response:
        """Send ``request`` and, unless ``stream``, read its body. A body that breaks off
        is sent for again as urllib3 retries a reset before the headers: with retries on,
        for every method (the request may have been applied: a retried write must be
        idempotent, as client-side ids make it) and never for a body readable only once.
        A request that gets no complete answer raises ``ConnectionFailed``."""
        retry = None if once else self._retry
        attempts = 0  # sent so far, counting urllib3's retries
        while True:
            try:
                response = self._send_authenticated(request, True, kwargs, once=once)
            except requests.exceptions.RequestException as exc:
                made = getattr(_urllib3_error(exc), _ATTEMPTS, None)
                self._raise_failure(exc, request, attempts + made if made else None)
            attempts += _attempts_of(response)
            mark_sent_times(response, attempts)
            if stream:
                return response
            try:
                read_capped(response, self.max_response_size, TOO_LARGE_ADVICE)
                return response
            except _BODY_ERRORS as exc:
                response.close()
                if retry is None:
                    self._raise_failure(exc, request, attempts)
                try:
                    retry = retry.increment(
                        request.method, request.url, error=ProtocolError(str(exc), exc)
                    )
                except (MaxRetryError, ProtocolError):
                    self._raise_failure(exc, request, attempts)
                log.debug(
                    "%s %s: the response broke off (%s); sending it again",
                    request.method,
                    redact_url(request.url or ""),
                    exc,
                )
            retry.sleep()

    def _raise_failure(
        self,
        error: requests.exceptions.RequestException,
        request: requests.Request,
        attempts: int | None,
    ) -> NoReturn:
        """Raise ``ConnectionFailed`` for ``error`` if it is a connection failure, else
        ``error`` itself."""
        failure = connection_failure(
            error,
            method=str(request.method),
            url=str(request.url),
            attempts=attempts,
            retries=self._retry is not None,
        )
        if failure is None:
            raise error
        raise failure from error

    def _send_authenticated(
        self, request: requests.Request, stream: bool, kwargs: dict[str, Any], once: bool = False
    ) -> requests.Response:
        prepared = self.session.prepare_request(request)
        prepared.url = _keep_encoded_dot_segments(prepared.url or "", request.url)
        self.authenticator.authenticate(prepared)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s", prepared.method, redact_url(prepared.url or ""))
        settings = self.session.merge_environment_settings(
            prepared.url,
            kwargs.get("proxies") or {},
            stream,
            kwargs.get("verify"),
            kwargs.get("cert"),
        )
        timeout = kwargs["timeout"]
        if once:
            # A body readable only once goes through the adapter that never resends it.
            response = self._once_adapter.send(
                prepared,
                stream=settings["stream"],
                timeout=timeout,
                verify=True if settings["verify"] is None else settings["verify"],
                cert=settings["cert"],
                proxies=settings["proxies"],
            )
        else:
            # Never to another origin with our credentials and body (requests drops the
            # Authorization header on a host change, but re-sends the body).
            response = self.session.send(
                prepared, timeout=timeout, allow_redirects=False, **settings
            )
        self.authenticator.on_response(response)
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "%s %s -> %s",
                prepared.method,
                redact_url(prepared.url or ""),
                response.status_code,
            )
        return response


def _urllib3_error(error: BaseException) -> BaseException | None:
    """The urllib3 exception ``requests`` wrapped in ``error`` (its first argument)."""
    inner = error.args[0] if error.args else None
    return inner if isinstance(inner, BaseException) else None


def sent_times(response: Any) -> int:
    """How many times the request of ``response`` (requests' or httpx's) was sent, as
    its transport counted them (1 when it doesn't say)."""
    times: int = getattr(response, _ATTEMPTS, 1)
    return times


def mark_sent_times(response: Any, times: int) -> None:
    setattr(response, _ATTEMPTS, times)


def _attempts_of(response: requests.Response) -> int:
    """How many attempts urllib3 made to get ``response`` (1 without retries)."""
    retries = getattr(response.raw, "retries", None)
    history = getattr(retries, "history", None)
    return len(history) + 1 if isinstance(history, tuple) else 1


def result_of(
    method: str | None, status: int, headers: Mapping[str, str], content: bytes, response: Any
) -> Any:
    """The ``result`` of a read response, whichever library read it: nothing for HEAD,
    204 and empty bodies, decoded JSON, or ``response`` itself for other content."""
    if method == "HEAD" or status == 204 or not content:
        return None
    if "json" in headers.get("Content-Type", ""):
        try:
            return json.loads(content)
        except ValueError as exc:
            raise ApiException(status, "Error processing the HTTP response", response) from exc
    return response


def _keep_encoded_dot_segments(prepared_url: str, intended_url: str) -> str:
    """Put back the ``%2E`` / ``%2E%2E`` path segments (a document id ``.`` or ``..``)
    that ``requests`` decodes into ``.`` / ``..``, which a server or proxy on the way would
    fold into the parent path."""
    if "%2e" not in intended_url.lower():
        return prepared_url
    parts = urlsplit(prepared_url)
    actual = parts.path.split("/")
    intended = urlsplit(intended_url).path.split("/")
    if len(actual) != len(intended):
        return prepared_url
    fixed = [
        want if seg in (".", "..") and want.upper() in ("%2E", "%2E%2E") else seg
        for seg, want in zip(actual, intended, strict=True)
    ]
    return urlunsplit(parts._replace(path="/".join(fixed)))


def _masked(header: str, value: str) -> str:
    if header.lower() == "set-cookie":
        return _SESSION_COOKIE_VALUE.sub(r"\1***", value)
    return value


def _has(headers: Mapping[str, str], name: str) -> bool:
    lowered = name.lower()
    return any(key.lower() == lowered for key in headers)


def is_stream(body: object) -> bool:
    return body is not None and not isinstance(body, bytes | bytearray)


def compress(body: bytes) -> bytes:
    """A request body gzipped as the transport sends it (for a caller that compresses
    a body ahead, sent with ``Content-Encoding: gzip``)."""
    return gzip.compress(body, compresslevel=GZIP_LEVEL)


def _gzip(body: bytes | IO[bytes] | Iterable[bytes]) -> bytes | Iterator[bytes]:
    if isinstance(body, bytes | bytearray):
        return compress(bytes(body))
    return _gzip_stream(body)


def _gzip_stream(body: IO[bytes] | Iterable[bytes]) -> Iterator[bytes]:
    """Compress a stream lazily, so a large upload is never held in memory."""
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunks: Iterable[bytes]
    if hasattr(body, "read"):
        read = body.read
        chunks = iter(lambda: read(_GZIP_CHUNK), b"")
    else:
        chunks = body
    for chunk in chunks:
        data = chunk.encode() if isinstance(chunk, str) else chunk
        out = compressor.compress(data)
        if out:
            yield out
    yield compressor.flush()


def _warn_insecure() -> None:
    global _insecure_warned
    with _insecure_lock:
        if _insecure_warned:
            return
        _insecure_warned = True
    warnings.warn(
        "TLS certificate verification is disabled: connections can be intercepted",
        stacklevel=3,
    )

"""The async client's transport: the synchronous client's settings and request
preparation (``TransportSettings``), its retry decisions (the same urllib3 ``Retry``) and
its errors, sent with one pooled ``httpx.AsyncClient``."""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterable, Mapping
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, NoReturn
from urllib.parse import urlencode

import httpx
from urllib3 import HTTPResponse
from urllib3.exceptions import MaxRetryError

from cloudant_odm.aio._auth import AsyncCredentials
from cloudant_odm.aio._http import (
    ACCEPT_ENCODING,
    POOL_SIZE,
    as_async_body,
    connection_failure,
    new_client,
    read_capped,
    read_error_body,
    retry_error,
    timeout_of,
)
from cloudant_odm.client.auth import Authenticator
from cloudant_odm.client.errors import error_from_response, redact_url
from cloudant_odm.client.transport import (
    TOO_LARGE_ADVICE,
    DetailedResponse,
    RetryPolicy,
    TransportSettings,
    mark_sent_times,
    result_of,
    send_request,
    sent_times,
    user_agent,
)

if TYPE_CHECKING:
    from typing_extensions import Self

    from cloudant_odm.client._operations import Request

__all__ = ["AsyncClosing", "AsyncStream", "AsyncTransport"]

log = logging.getLogger("cloudant_odm.client")

#: Per-call options the async client takes; ``verify``, ``cert`` and ``proxies`` are the
#: client's (httpx sets them per client, not per request).
_PER_CLIENT = frozenset({"verify", "cert", "proxies"})
#: A response body that broke off while being read: sent for again (retries permitting).
_BODY_ERRORS = (httpx.RemoteProtocolError, httpx.ReadError, httpx.DecodingError)


class AsyncClosing(ABC):
    """``async with`` for what is closed by ``await aclose()``."""

    __slots__ = ()

    @abstractmethod
    async def aclose(self) -> None: ...

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


class AsyncStream(AsyncClosing):
    """A streamed result (``*_as_stream``, or ``stream=True``): the response's body,
    unread. Iterate it (``async for chunk in stream``: bytes, gzip decoded) and close it,
    or use it as ``async with``; ``response`` is the ``httpx.Response``."""

    __slots__ = ("response",)

    def __init__(self, response: httpx.Response) -> None:
        self.response = response

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self.response.aiter_bytes()

    def aiter_bytes(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        return self.response.aiter_bytes(chunk_size)

    def aiter_lines(self) -> AsyncIterator[str]:
        return self.response.aiter_lines()

    async def aread(self) -> bytes:
        """The whole body (read into memory: no size limit applies to a stream)."""
        return await self.response.aread()

    async def aclose(self) -> None:
        await self.response.aclose()

    @property
    def closed(self) -> bool:
        return self.response.is_closed

    @property
    def status_code(self) -> int:
        return self.response.status_code

    @property
    def headers(self) -> httpx.Headers:
        return self.response.headers

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<AsyncStream [{self.response.status_code}] {state}>"


class AsyncTransport(TransportSettings):
    """Sends requests for one async client. Tasks of one event loop share it; its
    ``httpx.AsyncClient`` is made at the first request (inside the loop) and made
    again after a change of the TLS or proxy settings."""

    def __init__(self, authenticator: Authenticator) -> None:
        self.credentials = AsyncCredentials(authenticator)
        self._client: httpx.AsyncClient | None = None
        self._given_client: httpx.AsyncClient | None = None
        self._retired: list[httpx.AsyncClient] = []
        self._turns: asyncio.Semaphore | None = None
        super().__init__(authenticator)

    # -- configuration ------------------------------------------------------------

    def _attach(self) -> None:
        self.credentials.configure(self.service_url, self.connection_config())
        if self._client is not None and self._client is not self._given_client:
            self._retired.append(self._client)  # closed with the transport
        self._client = self._given_client

    def set_http_client(self, client: httpx.AsyncClient) -> None:
        """Send with ``client`` (its TLS, proxy and pool settings) instead of one of our
        own. Give it ``follow_redirects=False`` (the default): redirects are refused."""
        if not isinstance(client, httpx.AsyncClient):
            raise TypeError(
                f"http_client must be an httpx.AsyncClient, not {type(client).__name__}"
            )
        with self._lock:
            self._given_client = client
        self._attach()

    @property
    def client(self) -> httpx.AsyncClient:
        """The ``httpx.AsyncClient`` requests go through."""
        client = self._client
        if client is None:
            config = self.connection_config()
            client = self._client = new_client(
                verify=config["verify"],
                cert=config.get("cert"),
                proxies=config.get("proxies"),
                headers={"User-Agent": user_agent(), "Accept-Encoding": ACCEPT_ENCODING},
            )
        return client

    async def aclose(self) -> None:
        """Close the connections (of our own client: a client given with
        ``set_http_client`` is its owner's to close)."""
        own = [c for c in (self._client, *self._retired) if c and c is not self._given_client]
        self._client, self._retired = self._given_client, []
        for client in own:
            await client.aclose()
        await self.credentials.aclose()

    # -- sending ------------------------------------------------------------------

    async def call(self, request: Request) -> DetailedResponse:
        """Send an operation's request (``Op.request``) and decode its response."""
        response = await send_request(self.send, request)
        attempts = sent_times(response)
        if request.stream:
            stream = AsyncStream(response)
            return DetailedResponse(stream, response.headers, response.status_code, attempts)
        result = result_of(
            request.method, response.status_code, response.headers, response.content, response
        )
        return DetailedResponse(result, response.headers, response.status_code, attempts)

    async def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes | IO[bytes] | Iterable[bytes] | None = None,
        options: Mapping[str, Any] | None = None,
        compress: bool = True,
    ) -> httpx.Response:
        """Send one request to ``service_url + path`` and return the response (read,
        unless ``options`` say ``stream``) if it is 2xx; otherwise raise the typed
        ``ApiException``."""
        per_client = _PER_CLIENT & set(options or ())
        if per_client:
            raise ValueError(
                f"{method} {path}: AsyncCloudantV1 takes {sorted(per_client)} for the "
                "client (set_http_config or set_http_client), not per call"
            )
        url, all_headers, body, kwargs, stream, once = self.prepare(
            path, headers, body, options, compress
        )
        # Text header values go out as Latin-1, as http.client (under requests) sends them.
        http_headers = httpx.Headers(all_headers, encoding="latin-1")
        if params:
            # Encoded as requests encodes them, so both clients send the same query.
            url += "?" + urlencode(params)
        attempt = _Attempt(self, method, url, http_headers, body, kwargs["timeout"], once)
        # At most a pool's worth of requests go to httpx at once: its pool looks through
        # every waiting request and connection whenever one frees, which costs more than
        # the request itself once hundreds wait (benchmarks/concurrent_gets.py, 100 in
        # flight: 5.9 ms of client CPU per get without this, 1.3 ms with it).
        if self._turns is None:
            self._turns = asyncio.Semaphore(POOL_SIZE)
        async with self._turns:
            response = await attempt.complete(stream)
            if response.status_code == 401 and await self.credentials.on_unauthorized(response):
                if once:  # can't replay a consumed stream
                    await read_error_body(response)
                    raise error_from_response(response)
                await response.aclose()
                attempt.attempts = 0  # (refused, not applied: the count starts again)
                response = await attempt.complete(stream)
            mark_sent_times(response, attempt.attempts)
            if not 200 <= response.status_code < 300:  # 304 too, as the SDK
                await read_error_body(response)
                raise error_from_response(response)
        return response


async def _pause(seconds: float) -> None:
    """Wait before the next attempt (as ``RetryPolicy.sleep``: not at all for 0)."""
    if seconds > 0:
        await asyncio.sleep(seconds)


class _Attempt:
    """One request, sent until it gets a complete answer or the retries run out: the
    decisions are urllib3's ``Retry`` (the synchronous client's, the same object), the
    waiting is ``asyncio.sleep``."""

    def __init__(
        self,
        transport: AsyncTransport,
        method: str,
        url: str,
        headers: httpx.Headers,
        body: bytes | IO[bytes] | Iterable[bytes] | None,
        timeout: Any,
        once: bool,
    ) -> None:
        self.transport = transport
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.once = once
        self.attempts = 0

    async def complete(self, stream: bool) -> httpx.Response:
        transport = self.transport
        retry = transport._once_retry if self.once else transport._retry
        while True:
            try:
                response = await self._send()
            except httpx.TransportError as exc:
                retry = self._next(retry, exc, error=retry_error(exc, self.url))
                await _pause(retry.delay())
                continue
            if retry is not None and retry.is_retry(
                self.method, response.status_code, "Retry-After" in response.headers
            ):
                seen = HTTPResponse(
                    headers=dict(response.headers),
                    status=response.status_code,
                    preload_content=False,
                )
                try:
                    retry = retry.increment(self.method, self.url, response=seen)
                except MaxRetryError:
                    pass  # retries are spent: the caller gets this response
                else:
                    await response.aclose()
                    await _pause(retry.delay(seen))
                    continue
            if stream or not 200 <= response.status_code < 300:
                return response
            try:
                await read_capped(response, transport.max_response_size, TOO_LARGE_ADVICE)
                return response
            except _BODY_ERRORS as exc:
                await response.aclose()
                retry = self._next(
                    None if self.once else retry, exc, error=retry_error(exc, self.url), body=True
                )
                log.debug(
                    "%s %s: the response broke off (%s); sending it again",
                    self.method,
                    redact_url(self.url),
                    exc,
                )
                await _pause(retry.delay())

    async def _send(self) -> httpx.Response:
        transport = self.transport
        client = transport.client
        request = client.build_request(
            self.method,
            self.url,
            headers=self.headers,
            content=as_async_body(self.body),
            timeout=timeout_of(self.timeout),
        )
        await transport.credentials.authenticate(request)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s", self.method, redact_url(self.url))
        self.attempts += 1
        response = await client.send(request, stream=True, follow_redirects=False)
        transport.credentials.on_response(response)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s -> %s", self.method, redact_url(self.url), response.status_code)
        return response

    def _next(
        self,
        retry: RetryPolicy | None,
        failure: httpx.RequestError,
        *,
        error: Exception,
        body: bool = False,
    ) -> RetryPolicy:
        """The retry state after ``failure``, or the error to raise instead."""
        if retry is not None:
            try:
                return retry.increment(self.method, self.url, error=error)
            except Exception:
                pass
        self._raise(failure, body)

    def _raise(self, failure: httpx.RequestError, body: bool) -> NoReturn:
        read = self.timeout[1] if isinstance(self.timeout, tuple | list) else self.timeout
        error = connection_failure(
            failure,
            method=self.method,
            url=self.url,
            attempts=self.attempts,
            retries=self.transport._retry is not None,
            read_timeout=None if read is None else float(read),
            body_started=body,
        )
        if error is None:
            raise failure
        raise error from failure

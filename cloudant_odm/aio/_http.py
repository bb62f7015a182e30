"""What the async client's two senders (the transport and the authenticators' token
calls) do alike with ``httpx``: build clients from ``requests``-style settings, read a
body up to a limit, and turn ``httpx``'s errors into the client's."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import IO, Any

import httpx
import requests
from urllib3.exceptions import ConnectTimeoutError, ProtocolError, ReadTimeoutError

from cloudant_odm.client import transport
from cloudant_odm.client.errors import (
    ERROR_BODY_LIMIT,
    ConnectionFailed,
    FailureKind,
    build_connection_failure,
    connect_cause,
    failure_cause,
    response_too_large,
)

__all__ = [
    "POOL_SIZE",
    "as_async_body",
    "connection_failure",
    "new_client",
    "read_capped",
    "read_error_body",
    "retry_error",
    "timeout_of",
]

#: Connections per client, as the synchronous client's pool: more tasks than that wait
#: their turn (see ``AsyncTransport``).
POOL_SIZE = transport.POOL_SIZE
#: Read size of a streamed request body (a file given to put_attachment, say).
_UPLOAD_CHUNK = 64 * 1024
#: The Accept-Encoding the client sends: the one ``requests`` sends, so both clients
#: ask for the same encodings (httpx decodes the same ones, with the same optional
#: packages).
ACCEPT_ENCODING = requests.utils.DEFAULT_ACCEPT_ENCODING


def timeout_of(value: Any) -> httpx.Timeout:
    """A ``requests`` timeout (seconds, ``(connect, read)`` or None) as httpx's: the read
    timeout also bounds writing and waiting for a pooled connection, as in urllib3."""
    if value is None:
        return httpx.Timeout(None)
    if isinstance(value, tuple | list):
        connect, read = value
        return httpx.Timeout(read, connect=connect)
    return httpx.Timeout(float(value))


def _ssl_context(verify: Any, cert: Any) -> ssl.SSLContext | bool:
    """``requests``' ``verify`` (a bool or a CA bundle's path) and ``cert`` (a path, or
    ``(cert, key)``) as what httpx takes."""
    if cert is None and isinstance(verify, bool):
        return verify
    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        cafile = verify if isinstance(verify, str) else None
        context = ssl.create_default_context(cafile=cafile)
    if cert is not None:
        certfile, keyfile = (cert, None) if isinstance(cert, str) else cert
        context.load_cert_chain(certfile, keyfile)
    return context


def new_client(
    *,
    verify: Any = True,
    cert: Any = None,
    proxies: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` with ``requests``-style TLS and proxy settings
    (``proxies`` maps ``http`` / ``https`` to a proxy URL). It never follows redirects
    and keeps no cookies of its own."""
    tls = _ssl_context(verify, cert)
    limits = httpx.Limits(max_connections=POOL_SIZE, max_keepalive_connections=POOL_SIZE)
    mounts: dict[str, httpx.AsyncBaseTransport | None] = {}
    for scheme, proxy in (proxies or {}).items():
        if proxy:
            mounts[f"{scheme}://"] = httpx.AsyncHTTPTransport(
                proxy=proxy, verify=tls, limits=limits
            )
    return httpx.AsyncClient(
        verify=tls,
        limits=limits,
        mounts=mounts or None,
        headers=headers,
        follow_redirects=False,
        cookies=_NoCookies(),
    )


class _NoCookies(httpx.Cookies):
    """A jar that keeps nothing: the session authenticator holds its cookie itself, and
    one caller's cookie must never ride along on another's requests."""

    def extract_cookies(self, response: httpx.Response) -> None:
        pass


def as_async_body(
    body: bytes | IO[bytes] | Iterable[bytes] | None,
) -> bytes | AsyncIterator[bytes] | None:
    """A request body as httpx's async client takes it: bytes as they are, a stream
    (a file, or the gzip of one) read a chunk at a time as it is sent."""
    if body is None or isinstance(body, bytes | bytearray):
        return body if body is None else bytes(body)
    return _chunks(body)


async def _chunks(body: IO[bytes] | Iterable[bytes]) -> AsyncIterator[bytes]:
    if hasattr(body, "read"):
        read = body.read
        while chunk := read(_UPLOAD_CHUNK):
            yield chunk
        return
    for chunk in body:
        yield chunk.encode() if isinstance(chunk, str) else chunk


async def read_capped(response: httpx.Response, limit: int | None, advice: str = "") -> bytes:
    """Read the body of a streamed ``response`` into it (``response.content``), raising
    ``ResponseTooLarge`` as soon as it (decompressed) passes ``limit`` bytes."""
    if limit is None:
        return await response.aread()
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        await response.aclose()
        raise _too_large(response, int(declared), "declared as ", limit, advice)
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():  # decompressed, a read at a time
        size += len(chunk)
        if size > limit:
            await response.aclose()
            raise _too_large(response, size, "at least ", limit, advice)
        chunks.append(chunk)
    body = b"".join(chunks)
    response._content = body  # what httpx's own aread() stores
    return body


def _too_large(response: httpx.Response, size: int, how: str, limit: int, advice: str) -> Exception:
    request = response.request
    return response_too_large(request.method, str(request.url), size, how, limit, advice)


async def read_error_body(response: httpx.Response) -> None:
    """Read an error response's body (up to ``ERROR_BODY_LIMIT``, as the client does)
    so that the error built from it can quote it."""
    if response.is_closed and hasattr(response, "_content"):
        return
    try:
        await read_capped(response, ERROR_BODY_LIMIT)
    except requests.exceptions.RequestException:  # ResponseTooLarge
        response._content = b""
    except httpx.HTTPError:
        response._content = b""
        await response.aclose()


# -- httpx's errors as the client's ----------------------------------------------------


def retry_error(error: httpx.RequestError, url: str) -> Exception:
    """``error`` as the urllib3 error that makes ``Retry.increment`` decide as it does
    for the synchronous client: a connection error, a read error, or another."""
    if isinstance(error, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return ConnectTimeoutError(str(error))
    if isinstance(error, httpx.ReadTimeout | httpx.WriteTimeout):
        return ReadTimeoutError(None, url, str(error))  # type: ignore[arg-type]
    return ProtocolError(str(error), error)


def connection_failure(
    error: httpx.RequestError,
    *,
    method: str,
    url: str,
    attempts: int | None,
    retries: bool,
    read_timeout: float | None,
    body_started: bool = False,
) -> ConnectionFailed | None:
    """The ``ConnectionFailed`` to raise for ``error`` (None to let it through: a TLS or
    protocol error of our own, whose message is already specific)."""
    kind: FailureKind
    if body_started:
        kind, cause = "cut-off", failure_cause(error, "the connection broke off")
    elif isinstance(error, httpx.ConnectTimeout | httpx.PoolTimeout):
        kind, cause = "connect-timeout", "connect timeout"
    elif isinstance(error, httpx.ConnectError):
        if _is_tls_error(error):
            return None
        kind, cause = "connect", connect_cause(error) or failure_cause(error, "could not connect")
    elif isinstance(error, httpx.ReadTimeout | httpx.WriteTimeout):
        after = "" if read_timeout is None else f" after {read_timeout} s"
        kind, cause = "read-timeout", f"read timeout{after}"
    elif isinstance(error, httpx.RemoteProtocolError) and "without sending" in str(error):
        kind, cause = "other", "the server closed the connection without answering"
    elif isinstance(error, httpx.NetworkError | httpx.RemoteProtocolError):
        kind, cause = "other", failure_cause(error, "the connection failed")
    else:
        return None
    return build_connection_failure(
        kind, cause, method=method, url=url, attempts=attempts, retries=retries
    )


def _is_tls_error(error: BaseException) -> bool:
    seen: BaseException | None = error
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False

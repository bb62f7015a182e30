"""``AsyncCloudantV1``: every operation of ``CloudantV1``, awaited.

The operations are the catalogue's (``client/_catalogue.py``), generated into
``_methods.AsyncOperations`` from the same declarations as the synchronous client's, and
their requests are built by the same ``Op.request``; only the sending differs
(``_transport.AsyncTransport``, on ``httpx``). The configuration methods are the
synchronous client's own (``ServiceSettings``).
"""

from __future__ import annotations

import httpx

from cloudant_odm.aio._methods import AsyncOperations
from cloudant_odm.aio._transport import AsyncClosing, AsyncTransport
from cloudant_odm.client.auth import Authenticator
from cloudant_odm.client.service import ServiceSettings

__all__ = ["AsyncCloudantV1"]


class AsyncCloudantV1(AsyncOperations, ServiceSettings[AsyncTransport], AsyncClosing):
    """The Cloudant / CouchDB endpoint client for asyncio: ``CloudantV1``'s operations,
    parameters, results (``DetailedResponse``) and errors, each one awaited.

    The tasks of one event loop share an instance and its pooled connections; close it
    (``await client.close()``, or ``async with``) when done. Streamed results
    (``*_as_stream``, ``stream=True``) are ``AsyncStream``s.
    """

    def _new_transport(self, authenticator: Authenticator) -> AsyncTransport:
        return AsyncTransport(authenticator)

    def set_http_client(self, http_client: httpx.AsyncClient) -> None:
        """Send through ``http_client`` (its TLS, proxies, limits), which stays yours to
        close."""
        self._transport.set_http_client(http_client)

    def get_http_client(self) -> httpx.AsyncClient:
        return self._transport.client

    async def close(self) -> None:
        """Close pooled connections (the client's own, and the authenticator's)."""
        await self._transport.aclose()

    aclose = close

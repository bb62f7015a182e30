"""``AsyncCloudantV1``: every operation of ``CloudantV1``, awaited.

The operations are the catalogue's (``client/_catalogue.py``), generated into
``_methods.AsyncOperations`` from the same declarations as the synchronous client's, and
their requests are built by the same ``Op.request``; only the sending differs
(``_transport.AsyncTransport``, on ``httpx``). The configuration methods are the
synchronous client's own (``ServiceSettings``).
"""

from __future__ import annotations

from types import TracebackType

import httpx
from typing_extensions import Self, Unpack

from cloudant_odm.aio._methods import AsyncOperations
from cloudant_odm.aio._transport import AsyncTransport
from cloudant_odm.client._operations import RequestOptions
from cloudant_odm.client.auth import Authenticator
from cloudant_odm.client.service import ServiceSettings, copy_destination, design_id
from cloudant_odm.client.transport import DetailedResponse

__all__ = ["AsyncCloudantV1"]


class AsyncCloudantV1(AsyncOperations, ServiceSettings[AsyncTransport]):
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

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    # -- beyond the SDK: operations that need more than a declaration --------------

    async def copy_document(
        self,
        db: str,
        doc_id: str,
        destination: str,
        *,
        rev: str | None = None,
        destination_rev: str | None = None,
        batch: str | None = None,
        **kwargs: Unpack[RequestOptions],
    ) -> DetailedResponse:
        """``COPY /{db}/{doc_id}``, as ``CloudantV1.copy_document``."""
        destination_header = copy_destination(destination, destination_rev)
        return await self._copy(db, doc_id, destination_header, rev=rev, batch=batch, **kwargs)

    async def copy_design_document(
        self,
        db: str,
        ddoc: str,
        destination: str,
        *,
        rev: str | None = None,
        destination_rev: str | None = None,
        batch: str | None = None,
        **kwargs: Unpack[RequestOptions],
    ) -> DetailedResponse:
        """``COPY /{db}/_design/{ddoc}``, as ``CloudantV1.copy_design_document``."""
        destination_header = copy_destination(design_id(destination), destination_rev)
        return await self._copy_design(db, ddoc, destination_header, rev=rev, batch=batch, **kwargs)

    async def post_compact(
        self, db: str, *, ddoc: str | None = None, **kwargs: Unpack[RequestOptions]
    ) -> DetailedResponse:
        """``POST /{db}/_compact`` or ``/{db}/_compact/{ddoc}``, as
        ``CloudantV1.post_compact``."""
        if ddoc is None:
            return await self._compact_db(db, **kwargs)
        return await self._compact_views(db, ddoc, **kwargs)

    async def post_session(
        self, username: str, password: str, **kwargs: Unpack[RequestOptions]
    ) -> DetailedResponse:
        """``POST /_session``, as ``CloudantV1.post_session``."""
        return await self._post_session(username, password, **kwargs)

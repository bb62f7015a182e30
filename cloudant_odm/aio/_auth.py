"""The async client's side of the authenticators: the same ``Authenticator`` objects as
the synchronous client's, their tokens fetched without blocking the event loop.

Token managers describe their exchanges, and when to make them, as flows (``auth.Flow``:
the requests to make, without sending them) and keep the token and the decisions (valid?
due for renewal? renewed since this 401?); here the flows' requests go out with
``httpx``, and their ``Exclusive`` parts run under an ``asyncio.Lock`` per manager, so
concurrent tasks share one fetch: when the token has expired they all wait for it, when
it is only due for renewal one task renews it and the others go on with the current
one, as threads do with the synchronous client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, TypeVar

import httpx
import requests

from cloudant_odm.aio._http import new_client, read_capped, read_error_body, timeout_of
from cloudant_odm.client.auth import (
    REFRESH_ERRORS,
    TOKEN_RESPONSE_LIMIT,
    Authenticator,
    CouchDbSessionAuthenticator,
    Exclusive,
    Flow,
    HttpCall,
    Reply,
    TokenManager,
    TokenOf,
    sent_session_cookie,
)
from cloudant_odm.client.auth import _TokenAuthenticator as TokenAuthenticator
from cloudant_odm.client.common import get_user_agent
from cloudant_odm.client.errors import error_from_response

__all__ = ["AsyncCredentials"]

_T = TypeVar("_T")
#: A failed renewal ahead of expiry keeps the current token; so does httpx's failure.
_REFRESH_ERRORS: tuple[type[BaseException], ...] = (*REFRESH_ERRORS, httpx.HTTPError)


class AsyncCredentials:
    """Adds an authenticator's credentials to the async client's requests."""

    def __init__(self, authenticator: Authenticator) -> None:
        self.authenticator = authenticator
        self._locks: dict[TokenManager, asyncio.Lock] = {}
        # Token and login requests go through clients of their own, one per TLS and
        # proxy setting (IAM's may differ from the service's).
        self._clients: dict[tuple[Any, ...], httpx.AsyncClient] = {}

    def configure(self, service_url: str, http_config: Mapping[str, Any]) -> None:
        """The client's URL and HTTP settings changed (``Authenticator.configure``)."""
        self.authenticator.configure(service_url, http_config)

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()

    # -- every request ------------------------------------------------------------

    async def authenticate(self, request: httpx.Request) -> None:
        authenticator = self.authenticator
        if isinstance(authenticator, TokenAuthenticator):
            token = await self.get_token(authenticator.token_manager)
            request.headers["Authorization"] = authenticator.authorization(token)
        elif isinstance(authenticator, CouchDbSessionAuthenticator):
            cookie = await self.get_token(authenticator.token_manager)
            sent = request.headers.get("Cookie")
            request.headers["Cookie"] = authenticator.cookie_header(sent, cookie)
        else:
            # NoAuth, Basic, a fixed bearer token or one of the application's own: they
            # only set headers, on a stand-in for the request requests would send.
            stand_in = requests.PreparedRequest()
            stand_in.prepare_method(request.method)
            stand_in.url = str(request.url)
            stand_in.headers = requests.structures.CaseInsensitiveDict(request.headers)
            authenticator.authenticate(stand_in)
            for name, value in stand_in.headers.items():
                if request.headers.get(name) != value:
                    request.headers[name] = value

    def on_response(self, response: httpx.Response) -> None:
        if isinstance(self.authenticator, CouchDbSessionAuthenticator):
            manager = self.authenticator.token_manager
            manager.cookies_received(response.headers.get_list("set-cookie"))

    async def on_unauthorized(self, response: httpx.Response) -> bool:
        """A 401: log in again (the session authenticator) and have the request replayed
        once; other authenticators have nothing to renew."""
        if not isinstance(self.authenticator, CouchDbSessionAuthenticator):
            return False
        manager = self.authenticator.token_manager
        failed = sent_session_cookie(response.request.headers.get("Cookie"))
        await self.run(manager, manager.relogin_flow(failed))
        return True

    # -- tokens -------------------------------------------------------------------

    async def get_token(self, manager: TokenManager) -> str:
        """``manager.get_token()`` without blocking: the same flow, an ``asyncio.Lock``
        instead of a thread lock."""
        token = manager.ready_token()
        if token is not None:
            return token.value
        return await self.run(manager, manager.get_token_flow(_REFRESH_ERRORS))

    async def run(self, manager: TokenManager, flow: Flow[_T]) -> _T:
        """Drive ``flow`` (``TokenManager.run``, awaited): its requests sent with httpx,
        its ``Exclusive`` parts under ``manager``'s ``asyncio.Lock``."""
        reply: Any = None
        error: Exception | None = None
        while True:
            try:
                step = flow.send(reply) if error is None else flow.throw(error)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            try:
                reply, error = await self._answer(manager, step), None
            except Exception as exc:  # thrown into the flow, which decides what it means
                reply, error = None, exc

    async def _answer(self, manager: TokenManager, step: HttpCall | TokenOf | Exclusive) -> Any:
        if isinstance(step, TokenOf):
            return await self.get_token(step.manager)
        if isinstance(step, Exclusive):
            lock = self._lock(manager)
            if not step.wait and lock.locked():
                return None  # another task is renewing the token
            async with lock:
                return await self.run(manager, step.flow)
        return await self._send(manager, step)

    async def _send(self, manager: TokenManager, call: HttpCall) -> Reply:
        options = manager.call_options(call)
        client = self._client_for(options.get("verify", True), options.get("proxies"))
        auth = options.get("auth")
        request = client.build_request(
            call.method,
            call.url,
            params=options.get("params"),
            headers=options.get("headers"),
            data=options.get("data"),
            json=options.get("json"),
            timeout=timeout_of(options["timeout"]),
        )
        # No redirects: credentials would be re-sent to wherever they point.
        response = await client.send(
            request,
            auth=httpx.BasicAuth(*auth) if auth else None,
            follow_redirects=False,
            stream=True,
        )
        if not 200 <= response.status_code < 300:
            manager.refused(call, response.status_code)
            await read_error_body(response)
            raise error_from_response(response)
        content = await read_capped(response, TOKEN_RESPONSE_LIMIT)
        cookies = response.headers.get_list("set-cookie")
        return Reply(response.status_code, content, cookies, response)

    def _client_for(self, verify: Any, proxies: Mapping[str, str] | None) -> httpx.AsyncClient:
        key = (verify, tuple(sorted((proxies or {}).items())))
        client = self._clients.get(key)
        if client is None:
            # The User-Agent of the client's own requests (token requests name theirs).
            client = new_client(
                verify=verify, proxies=proxies, headers={"User-Agent": get_user_agent()}
            )
            self._clients[key] = client
        return client

    def _lock(self, manager: TokenManager) -> asyncio.Lock:
        lock = self._locks.get(manager)
        if lock is None:
            lock = self._locks[manager] = asyncio.Lock()
        return lock

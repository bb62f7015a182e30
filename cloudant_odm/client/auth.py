"""Authenticators: each one adds credentials to the requests the transport sends.

The transport calls ``attach`` when the client is created and whenever its URL or HTTP
settings change, ``authenticate`` on every outgoing request (and every replay),
``on_response`` on every response, and ``on_unauthorized`` on a 401. Only the session
authenticator needs more than ``authenticate``.

Token-based authenticators (IAM, container, VPC) share ``TokenManager``: it caches one
token, renews it at 80 % of its lifetime and lets only one thread fetch at a time.
A manager describes how it gets a token, and when it needs one, as flows (``Flow``: a
generator of the ``HttpCall``s to make, sent their ``Reply``s, and of the ``Exclusive``
parts that one caller at a time runs) and does no I/O itself: ``TokenManager.run`` sends
the flows' requests with ``requests`` under a thread lock, and ``cloudant_odm.aio``
sends them with httpx under an ``asyncio.Lock``, so both clients share every exchange
and every decision about the token.
No authenticator ever shows a secret in its ``repr`` or in a log line.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import email.utils
import json
import logging
import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Generator, Mapping
from typing import Any, ClassVar, NamedTuple, TypeGuard, TypeVar

import requests

from cloudant_odm.client.common import get_user_agent
from cloudant_odm.client.errors import ApiException, error_from_response, read_capped, redact_url

__all__ = [
    "Authenticator",
    "BasicAuthenticator",
    "BearerTokenAuthenticator",
    "ContainerAuthenticator",
    "CouchDbSessionAuthenticator",
    "CouchDbSessionTokenManager",
    "IAMAssumeAuthenticator",
    "IAMAuthenticator",
    "NoAuthAuthenticator",
    "VPCInstanceAuthenticator",
]

logger = logging.getLogger(__name__)

DEFAULT_IAM_URL = "https://iam.cloud.ibm.com"
DEFAULT_IMS_URL = "http://169.254.169.254"
#: Token requests wait this long unless the service's http_config says otherwise.
DEFAULT_TOKEN_TIMEOUT = 60.0
#: A token or login response is a few kB; anything past this is refused unread.
TOKEN_RESPONSE_LIMIT = 1 << 20
#: IAM-family tokens count as expired this many seconds before their ``exp``, so a token
#: can't expire between being added to a request and the server checking it.
IAM_EXPIRY_WINDOW = 10.0
#: A session cookie without Max-Age/Expires is assumed to live this long.
DEFAULT_COOKIE_TTL = 24 * 3600.0
#: Renew when this fraction of a token's (or cookie's) lifetime is left.
REFRESH_FRACTION = 0.2
#: After a failed renewal ahead of expiry, wait this long before trying again.
REFRESH_RETRY = 60.0

_CR_TOKEN_FILES = (
    "/var/run/secrets/tokens/vault-token",
    "/var/run/secrets/tokens/sa-token",
    "/var/run/secrets/codeengine.cloud.ibm.com/compute-resource-token/token",
)
_SESSION_COOKIE = "AuthSession"


def _check_bool(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}")


def _badly_quoted(value: str | None) -> bool:
    """Values pasted with their JSON quotes or template braces still attached."""
    if not value:
        return False
    return value[0] in '{}"' or value[-1] in '{}"'


def _user_agent(kind: str) -> str:
    return get_user_agent(f"{kind}-authenticator")


class Authenticator(ABC):
    """Adds credentials to outgoing requests. Subclass it for a custom scheme."""

    AUTHTYPE_BASIC: ClassVar[str] = "basic"
    AUTHTYPE_BEARERTOKEN: ClassVar[str] = "bearerToken"
    AUTHTYPE_NOAUTH: ClassVar[str] = "noAuth"
    AUTHTYPE_IAM: ClassVar[str] = "iam"
    AUTHTYPE_IAM_ASSUME: ClassVar[str] = "iamAssume"
    AUTHTYPE_CONTAINER: ClassVar[str] = "container"
    AUTHTYPE_VPC: ClassVar[str] = "vpc"
    AUTHTYPE_COUCHDB_SESSION: ClassVar[str] = "COUCHDB_SESSION"

    @abstractmethod
    def authentication_type(self) -> str:
        """The SDK's name for this scheme (``"basic"``, ``"iam"``, ...)."""

    @abstractmethod
    def validate(self) -> None:
        """Raise ``ValueError`` if the configuration can't work."""

    @abstractmethod
    def authenticate(self, request: requests.PreparedRequest) -> None:
        """Add credentials to ``request``. Called again for every replay."""

    # The hooks below are optional on purpose, hence no @abstractmethod.
    def attach(
        self, http: requests.Session, service_url: str, http_config: Mapping[str, Any]
    ) -> None:
        """Receive the client's session, URL and HTTP settings (timeout, proxies, verify)."""
        self.configure(service_url, http_config)

    def configure(self, service_url: str, http_config: Mapping[str, Any]) -> None:  # noqa: B027
        """Receive the client's URL and HTTP settings: what either client tells an
        authenticator (the async client, which has no ``requests.Session``, only this)."""

    def set_default_headers(self, headers: Mapping[str, str]) -> None:  # noqa: B027
        """The client's default headers, for an authenticator that sends requests of
        its own to the service (a login) and should send them there too."""

    def on_response(self, response: requests.Response) -> None:  # noqa: B027
        """See every response the client receives."""

    def on_unauthorized(self, response: requests.Response) -> bool:
        """React to a 401; return True to have the client replay the request once."""
        return False


class NoAuthAuthenticator(Authenticator):
    """Sends no credentials (CouchDB in admin party, or auth done by a proxy)."""

    def authentication_type(self) -> str:
        return self.AUTHTYPE_NOAUTH

    def validate(self) -> None:
        pass

    def authenticate(self, request: requests.PreparedRequest) -> None:
        pass

    def __repr__(self) -> str:
        return "NoAuthAuthenticator()"


class BasicAuthenticator(Authenticator):
    """HTTP Basic auth: ``Authorization: Basic base64(username:password)``."""

    def __init__(self, username: str, password: str) -> None:
        self.username = username
        self.password = password
        self.validate()
        credentials = f"{username}:{password}".encode()
        self._header = "Basic " + base64.b64encode(credentials).decode("ascii")

    def authentication_type(self) -> str:
        return self.AUTHTYPE_BASIC

    def validate(self) -> None:
        if self.username is None or self.password is None:
            raise ValueError("BasicAuthenticator needs both a username and a password")
        if _badly_quoted(self.username) or _badly_quoted(self.password):
            raise ValueError(
                "The username and password must not start or end with '{', '}' or '\"'; "
                "remove the surrounding braces or quotes"
            )

    def authenticate(self, request: requests.PreparedRequest) -> None:
        request.headers["Authorization"] = self._header

    def __repr__(self) -> str:
        return f"BasicAuthenticator(username={self.username!r}, password=***)"


class BearerTokenAuthenticator(Authenticator):
    """A fixed bearer token; replace it with ``set_bearer_token`` before it expires."""

    def __init__(self, bearer_token: str) -> None:
        self.bearer_token = bearer_token
        self.validate()

    def authentication_type(self) -> str:
        return self.AUTHTYPE_BEARERTOKEN

    def validate(self) -> None:
        if not self.bearer_token:
            raise ValueError("BearerTokenAuthenticator needs a bearer token")

    def set_bearer_token(self, bearer_token: str) -> None:
        if not bearer_token:
            raise ValueError("BearerTokenAuthenticator needs a bearer token")
        self.bearer_token = bearer_token

    def authenticate(self, request: requests.PreparedRequest) -> None:
        request.headers["Authorization"] = f"Bearer {self.bearer_token}"

    def __repr__(self) -> str:
        return "BearerTokenAuthenticator(bearer_token=***)"


# -- token lifecycle ----------------------------------------------------------------


class HttpCall(NamedTuple):
    """A request an authenticator makes by itself (a token exchange, a login), with its
    options as ``requests.request`` takes them (``data``, ``json``, ``headers``,
    ``params``, ``auth``, ``proxies``, ``verify``, ``timeout``). A flow yields it; the
    client's driver sends it with ``requests``, the async client's with ``httpx``."""

    method: str
    url: str
    options: dict[str, Any]


class TokenOf(NamedTuple):
    """What a flow yields for the current token of another manager (IAM assume needs
    its API key's token, which that manager caches and renews)."""

    manager: TokenManager


class Reply(NamedTuple):
    """The 2xx answer to an ``HttpCall``, read (up to ``TOKEN_RESPONSE_LIMIT``)."""

    status: int
    content: bytes
    #: Every Set-Cookie header, kept apart.
    set_cookies: list[str]
    #: The library's response, for the errors that quote it.
    response: Any

    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object, else the ``ApiException`` that says why not."""
        try:
            body = json.loads(self.content)
        except ValueError as exc:
            raise ApiException(
                self.status, "The token response is not JSON", self.response
            ) from exc
        if not isinstance(body, dict):
            raise ApiException(self.status, "The token response is not an object", self.response)
        return body


class Exclusive(NamedTuple):
    """What a flow yields to run ``flow`` holding its manager's fetch lock, so that one
    caller at a time fetches: it is sent ``flow``'s result; with ``wait`` false, it is
    sent None at once if another caller holds the lock (and is renewing the token)."""

    flow: Flow[Any]
    wait: bool


_T = TypeVar("_T")
#: The steps to get a token (or part of one): a generator that yields an ``HttpCall``
#: and is sent its ``Reply``, yields a ``TokenOf`` and is sent that token, or yields an
#: ``Exclusive`` and is sent its result; an error of a step is thrown in where it
#: yielded. It returns the result. It does no I/O itself, so one flow serves both clients.
Flow = Generator["HttpCall | TokenOf | Exclusive", Any, _T]

#: What a failed renewal ahead of expiry may raise (the token then stays in use).
REFRESH_ERRORS: tuple[type[BaseException], ...] = (
    ApiException,
    requests.RequestException,
    OSError,
    ValueError,
)


class Token(NamedTuple):
    """A credential and the two times (epoch seconds) that govern its renewal."""

    value: str
    expires_at: float
    refresh_at: float

    def __repr__(self) -> str:
        return f"Token(value=***, expires_at={self.expires_at}, refresh_at={self.refresh_at})"


def _lifetime(value: str, start: float, expires_at: float) -> Token:
    """Renew when REFRESH_FRACTION of the lifetime is left (at 80 % by default)."""
    return Token(value, expires_at, expires_at - REFRESH_FRACTION * (expires_at - start))


class TokenManager(ABC):
    """Caches one token and renews it: at most one fetch runs at a time.

    When the token is past its refresh time but still valid, one thread renews it and
    the others keep using the current one. When it has expired, every thread waits
    for the single fetch in progress instead of starting its own.
    """

    #: Seconds before ``expires_at`` from which the token counts as expired.
    expiry_window: ClassVar[float] = 0.0

    def __init__(self) -> None:
        self._fetch_lock = threading.Lock()
        # Replaced whole, never mutated: reading it needs no lock.
        self._token: Token | None = None
        self.http_config: dict[str, Any] = {}

    @abstractmethod
    def token_flow(self) -> Flow[Token]:
        """Get a new token from its source, as a flow (``Flow``): the HTTP exchanges it
        takes, without sending them. The client's driver sends them with ``requests``
        (``fetch_token``), the async client's with ``httpx``."""

    def fetch_token(self) -> Token:
        """Get a new token from its source (one HTTP exchange or more)."""
        return self.run(self.token_flow())

    def get_token(self) -> str:
        token = self.ready_token()
        return token.value if token is not None else self.run(self.get_token_flow())

    def ready_token(self) -> Token | None:
        """The cached token if it is to be sent as it is (valid, not due for renewal),
        as it is on almost every call: then ``get_token_flow`` has nothing to do, and
        the drivers need not run it."""
        token = self._token
        now = time.time()
        return token if self._valid(token, now) and not self.refresh_due(token, now) else None

    def get_token_flow(
        self, refresh_errors: tuple[type[BaseException], ...] = REFRESH_ERRORS
    ) -> Flow[str]:
        """The token to send, as a flow (``get_token`` drives it with ``requests``, the
        async client with httpx): the cached one while it is valid. Past its refresh
        time, one caller renews it while the others go on with it (a failed renewal,
        one of ``refresh_errors``, keeps it); once it has expired, every caller waits
        for the one fetch."""
        token = self._token
        now = time.time()
        if not self._valid(token, now):
            fetched: Token = yield Exclusive(self._fetch_flow(), wait=True)
            return fetched.value
        if self.refresh_due(token, now):
            yield Exclusive(self._renew_flow(token, now, refresh_errors), wait=False)
            token = self._token or token
        return token.value

    def _fetch_flow(self) -> Flow[Token]:
        """A new token (under the fetch lock), unless another caller fetched one while
        this one waited for the lock."""
        token = self._token
        if self._valid(token, time.time()):
            return token
        token = yield from self.token_flow()
        self._token = token
        return token

    def _renew_flow(
        self, token: Token, now: float, refresh_errors: tuple[type[BaseException], ...]
    ) -> Flow[None]:
        """Renew ``token`` ahead of expiry (under the fetch lock), unless another caller
        renewed it meanwhile."""
        if self._token is not token:
            return
        try:
            self._token = yield from self.token_flow()
        except refresh_errors as exc:
            self.refresh_failed(token, now, exc)

    def run(self, flow: Flow[_T]) -> _T:
        """Drive ``flow`` to its end here and now: its requests sent with ``requests``,
        its ``Exclusive`` parts under this manager's thread lock."""
        reply: Any = None
        error: Exception | None = None
        while True:
            try:
                step = flow.send(reply) if error is None else flow.throw(error)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            try:
                reply, error = self._answer(step), None
            except Exception as exc:  # thrown into the flow, which decides what it means
                reply, error = None, exc

    def _answer(self, step: HttpCall | TokenOf | Exclusive) -> Any:
        if isinstance(step, TokenOf):
            return step.manager.get_token()
        if isinstance(step, Exclusive):
            if not self._fetch_lock.acquire(blocking=step.wait):
                return None  # another thread is renewing the token
            try:
                return self.run(step.flow)
            finally:
                self._fetch_lock.release()
        return self.send(step)

    def send(self, call: HttpCall) -> Reply:
        """Send one of this manager's own requests (a token exchange) with ``requests``."""
        # No redirects: the API key would be re-sent (in the body) to wherever they point.
        response = requests.request(
            call.method, call.url, allow_redirects=False, stream=True, **self.call_options(call)
        )
        return self.reply(call, response)

    def call_options(self, call: HttpCall) -> dict[str, Any]:
        """``call``'s options, with this manager's timeout unless they name one."""
        return {"timeout": self._timeout(), **call.options}

    def reply(self, call: HttpCall, response: requests.Response) -> Reply:
        """The ``Reply`` of a token or login response, or the typed error for a non-2xx."""
        if not 200 <= response.status_code < 300:
            self.refused(call, response.status_code)
            raise error_from_response(response)
        content = read_capped(response, TOKEN_RESPONSE_LIMIT)
        return Reply(response.status_code, content, _set_cookie_headers(response), response)

    def refused(self, call: HttpCall, status: int) -> None:  # noqa: B027
        """``call`` was answered with the non-2xx ``status`` (its error is raised next)."""

    @staticmethod
    def refresh_due(token: Token, now: float) -> bool:
        """A valid token past its refresh time: renew it, if no one else is."""
        return now >= token.refresh_at

    def refresh_failed(self, token: Token, now: float, error: BaseException) -> None:
        """Renewing ``token`` ahead of expiry failed: it still works, so keep it, and
        try again later (or at its expiry)."""
        logger.warning(
            "Renewing the %s token failed (%s); still using the current one",
            type(self).__name__,
            type(error).__name__,
        )
        retry_at = min(now + REFRESH_RETRY, token.expires_at)
        self._token = token._replace(refresh_at=retry_at)

    def _valid(self, token: Token | None, now: float) -> TypeGuard[Token]:
        return token is not None and now < token.expires_at - self.expiry_window

    @property
    def token(self) -> Token | None:
        """The cached token, if any (it may have expired)."""
        return self._token

    # The SDK core's view of the cached token: its two times in epoch seconds (0 with no
    # token), settable to force a renewal (``refresh_time = 0``) or an expiry.

    @property
    def expire_time(self) -> float:
        return self._token.expires_at if self._token is not None else 0

    @expire_time.setter
    def expire_time(self, value: float) -> None:
        if self._token is not None:
            self._token = self._token._replace(expires_at=value)

    @property
    def refresh_time(self) -> float:
        return self._token.refresh_at if self._token is not None else 0

    @refresh_time.setter
    def refresh_time(self, value: float) -> None:
        if self._token is not None:
            self._token = self._token._replace(refresh_at=value)

    def is_token_expired(self) -> bool:
        """True when there is no token or it has expired (the next use fetches one)."""
        return not self._valid(self._token, time.time())

    # The SDK core's private names for the same, which code written for it calls.
    _is_token_expired = is_token_expired

    @staticmethod
    def _get_current_time() -> int:
        return int(time.time())

    def set_token(self, token: Token) -> None:
        self._token = token

    def invalidate(self) -> None:
        """Forget the token: the next ``get_token`` fetches a new one."""
        self._token = None

    def set_http_config(self, http_config: Mapping[str, Any]) -> None:
        self.http_config = dict(http_config)

    def _timeout(self) -> Any:
        return self.http_config.get("timeout", DEFAULT_TOKEN_TIMEOUT)


def jwt_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, decoded WITHOUT checking its signature.

    The signature is the server's business; we only read ``exp``/``iat`` to schedule
    renewal, so this needs no crypto library.
    """
    try:
        payload = token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (IndexError, ValueError, binascii.Error) as exc:
        raise ValueError("The access token is not a JWT") from exc
    if not isinstance(claims, dict):
        raise ValueError("The access token is not a JWT")
    return claims


class JWTTokenManager(TokenManager):
    """A token manager for IAM-issued JWTs: timing comes from the token's claims."""

    expiry_window = IAM_EXPIRY_WINDOW
    token_name: ClassVar[str] = "access_token"

    @abstractmethod
    def request_flow(self) -> Flow[dict[str, Any]]:
        """The token exchange, as a flow that ends with the decoded JSON response."""

    def request_token(self) -> dict[str, Any]:
        """Do the token exchange and return the decoded JSON response."""
        return self.run(self.request_flow())

    def token_flow(self) -> Flow[Token]:
        requested = time.time()
        body = yield from self.request_flow()
        value = body.get(self.token_name)
        if not isinstance(value, str) or not value:
            raise ValueError(f"The token response has no {self.token_name!r}")
        return _token_times(value, body, requested)


def _token_times(value: str, body: Mapping[str, Any], requested: float) -> Token:
    """Expiry and refresh times: from the JWT's exp/iat, else the response's expires_in."""
    try:
        claims = jwt_claims(value)
        expires_at = float(claims["exp"])
        issued_at = float(claims.get("iat", requested))
    except (ValueError, KeyError, TypeError):
        # An opaque token: IAM responses also say how long it lives.
        if isinstance(body.get("expiration"), int | float):
            expires_at, issued_at = float(body["expiration"]), requested
        elif isinstance(body.get("expires_in"), int | float):
            expires_at, issued_at = requested + float(body["expires_in"]), requested
        else:
            raise ValueError("Can't tell when the access token expires") from None
    return _lifetime(value, issued_at, expires_at)


class _IAMRequestTokenManager(JWTTokenManager):
    """Shared by IAM and container auth: a form POST to ``{url}/identity/token``."""

    kind: ClassVar[str] = "iam"

    def __init__(
        self,
        *,
        url: str | None,
        client_id: str | None,
        client_secret: str | None,
        disable_ssl_verification: bool,
        headers: Mapping[str, str] | None,
        proxies: Mapping[str, str] | None,
        scope: str | None,
    ) -> None:
        super().__init__()
        url = (url or DEFAULT_IAM_URL).rstrip("/")
        self.url = url.removesuffix("/identity/token")
        self.client_id = client_id
        self.client_secret = client_secret
        self.disable_ssl_verification = disable_ssl_verification
        self.headers = dict(headers or {})
        self.proxies = dict(proxies) if proxies else None
        self.scope = scope
        self.refresh_token: str | None = None

    @abstractmethod
    def grant(self) -> dict[str, str]:
        """The form fields that name the grant type and carry its credential."""

    def grant_flow(self) -> Flow[dict[str, str]]:
        """``grant()``, as a flow (for a grant that needs another token first)."""
        return self.grant()
        yield  # (a generator)

    def request_flow(self) -> Flow[dict[str, Any]]:
        grant = yield from self.grant_flow()
        data = {**grant, "response_type": "cloud_iam"}
        if self.scope:
            data["scope"] = self.scope
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
            "User-Agent": _user_agent(self.kind),
            **self.headers,
        }
        auth = None
        if self.client_id and self.client_secret:
            auth = (self.client_id, self.client_secret)
        url = self.url + "/identity/token"
        logger.debug("Requesting an IAM access token from %s", redact_url(url))
        reply: Reply = yield HttpCall(
            "POST",
            url,
            {
                "data": data,
                "headers": headers,
                "auth": auth,
                # The authenticator's own proxies beat the service's: IAM may need a
                # different route.
                "proxies": self.proxies or self.http_config.get("proxies"),
                # Only our own flag turns verification off: the service's `verify` is for
                # the database server, not for IAM.
                "verify": not self.disable_ssl_verification,
            },
        )
        body = reply.json_object()
        refresh = body.get("refresh_token")
        self.refresh_token = refresh if isinstance(refresh, str) else None
        return body


class IAMTokenManager(_IAMRequestTokenManager):
    def __init__(self, apikey: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.apikey = apikey

    def grant(self) -> dict[str, str]:
        return {"grant_type": "urn:ibm:params:oauth:grant-type:apikey", "apikey": self.apikey}


class IAMAssumeTokenManager(_IAMRequestTokenManager):
    """Gets an IAM token for the API key (through an ``IAMTokenManager`` of its own, so
    that one is cached and renewed too), then exchanges it for a token of the trusted
    profile (IAM's ``assume`` grant)."""

    kind = "iam-assume"

    def __init__(
        self,
        apikey: str,
        *,
        iam_profile_id: str | None = None,
        iam_profile_crn: str | None = None,
        iam_profile_name: str | None = None,
        iam_account_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.iam_delegate = IAMTokenManager(apikey, **kwargs)
        # The exchange itself takes no client credentials or scope: only the API key's
        # token request does.
        super().__init__(**{**kwargs, "client_id": None, "client_secret": None, "scope": None})
        self.iam_profile_id = iam_profile_id
        self.iam_profile_crn = iam_profile_crn
        self.iam_profile_name = iam_profile_name
        self.iam_account_id = iam_account_id

    def set_http_config(self, http_config: Mapping[str, Any]) -> None:
        super().set_http_config(http_config)
        self.iam_delegate.set_http_config(http_config)

    def grant(self) -> dict[str, str]:
        return self.run(self.grant_flow())

    def grant_flow(self) -> Flow[dict[str, str]]:
        access_token: str = yield TokenOf(self.iam_delegate)
        form = {
            "grant_type": "urn:ibm:params:oauth:grant-type:assume",
            "access_token": access_token,
        }
        if self.iam_profile_crn:
            form["profile_crn"] = self.iam_profile_crn
        elif self.iam_profile_id:
            form["profile_id"] = self.iam_profile_id
        else:
            form["profile_name"] = self.iam_profile_name or ""
            form["account"] = self.iam_account_id or ""
        return form

    def request_flow(self) -> Flow[dict[str, Any]]:
        body = yield from super().request_flow()
        self.refresh_token = None  # an assumed identity's token is never refreshed
        return body


class ContainerTokenManager(_IAMRequestTokenManager):
    kind = "container"

    def __init__(
        self,
        *,
        cr_token_filename: str | None,
        iam_profile_name: str | None,
        iam_profile_id: str | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.cr_token_filename = cr_token_filename
        self.iam_profile_name = iam_profile_name
        self.iam_profile_id = iam_profile_id

    def read_cr_token(self) -> str:
        """Read the compute resource token; re-read on every fetch as it is rotated."""
        paths = (self.cr_token_filename,) if self.cr_token_filename else _CR_TOKEN_FILES
        for path in paths:
            try:
                with open(path, encoding="utf-8") as file:
                    token = file.read().strip()
            except OSError:
                continue
            if token:
                return token
        raise OSError(f"No compute resource token could be read from {', '.join(paths)}")

    def grant(self) -> dict[str, str]:
        data = {
            "grant_type": "urn:ibm:params:oauth:grant-type:cr-token",
            "cr_token": self.read_cr_token(),
        }
        if self.iam_profile_id:
            data["profile_id"] = self.iam_profile_id
        if self.iam_profile_name:
            data["profile_name"] = self.iam_profile_name
        return data


class VPCInstanceTokenManager(JWTTokenManager):
    """Two steps on the instance metadata service: an identity token, then an IAM token."""

    #: Metadata API versions we know the paths of; the later one uses the V2 paths.
    SUPPORTED_VERSIONS: ClassVar[tuple[str, ...]] = ("2022-03-01", "2025-08-26")
    DEFAULT_VERSION: ClassVar[str] = "2022-03-01"
    _V2_FROM: ClassVar[str] = "2025-08-26"

    def __init__(
        self,
        *,
        iam_profile_crn: str | None,
        iam_profile_id: str | None,
        iam_profile_name: str | None,
        url: str | None,
        service_version: str,
    ) -> None:
        super().__init__()
        self.iam_profile_crn = iam_profile_crn
        self.iam_profile_id = iam_profile_id
        self.iam_profile_name = iam_profile_name
        self.url = (url or DEFAULT_IMS_URL).rstrip("/")
        self.service_version = service_version

    def _paths(self) -> tuple[str, str]:
        if self.service_version >= self._V2_FROM:
            return "/identity/v1/token", "/identity/v1/iam_tokens"
        return "/instance_identity/v1/token", "/instance_identity/v1/iam_token"

    def _request_kwargs(self) -> dict[str, Any]:
        # No proxies: the metadata service is link-local and can't be reached through one.
        return {"params": {"version": self.service_version}, "proxies": {}}

    def retrieve_instance_identity_token(self) -> str:
        return self.run(self.identity_token_flow())

    def identity_token_flow(self) -> Flow[str]:
        url = self.url + self._paths()[0]
        logger.debug("Requesting a VPC instance identity token from %s", redact_url(url))
        reply: Reply = yield HttpCall(
            "PUT",
            url,
            {
                "json": {"expires_in": 300},
                "headers": {
                    "Accept": "application/json",
                    "Metadata-Flavor": "ibm",
                    "User-Agent": _user_agent("vpc"),
                },
                **self._request_kwargs(),
            },
        )
        body = reply.json_object()
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise ValueError("The instance identity token response has no 'access_token'")
        return token

    def request_flow(self) -> Flow[dict[str, Any]]:
        identity_token = yield from self.identity_token_flow()
        profile: dict[str, str] = {}
        if self.iam_profile_crn:
            profile["crn"] = self.iam_profile_crn
        elif self.iam_profile_id:
            profile["id"] = self.iam_profile_id
        elif self.iam_profile_name:
            profile["name"] = self.iam_profile_name
        url = self.url + self._paths()[1]
        logger.debug("Exchanging the identity token for an IAM token at %s", redact_url(url))
        reply: Reply = yield HttpCall(
            "POST",
            url,
            {
                "json": {"trusted_profile": profile} if profile else None,
                "headers": {
                    "Accept": "application/json",
                    "Authorization": f"Bearer {identity_token}",
                    "User-Agent": _user_agent("vpc"),
                },
                **self._request_kwargs(),
            },
        )
        return reply.json_object()


class _TokenAuthenticator(Authenticator):
    """Adds ``Authorization: Bearer <token>`` from a token manager."""

    token_manager: TokenManager

    def authenticate(self, request: requests.PreparedRequest) -> None:
        request.headers["Authorization"] = self.authorization(self.token_manager.get_token())

    @staticmethod
    def authorization(token: str) -> str:
        """The ``Authorization`` header that carries ``token``."""
        return f"Bearer {token}"

    def configure(self, service_url: str, http_config: Mapping[str, Any]) -> None:
        # Token calls go to IAM, not to the service: only timeouts and proxies apply.
        self.token_manager.set_http_config(
            {key: http_config[key] for key in ("timeout", "proxies") if key in http_config}
        )


def _check_iam_request(manager: _IAMRequestTokenManager) -> None:
    if bool(manager.client_id) != bool(manager.client_secret):
        raise ValueError("Give both client_id and client_secret, or neither")
    _check_bool("disable_ssl_verification", manager.disable_ssl_verification)


class _IAMFamilyAuthenticator(_TokenAuthenticator):
    token_manager: _IAMRequestTokenManager

    def _validate_iam_request(self) -> None:
        _check_iam_request(self.token_manager)

    def set_client_id_and_secret(self, client_id: str | None, client_secret: str | None) -> None:
        self.token_manager.client_id = client_id
        self.token_manager.client_secret = client_secret
        self.validate()
        self.token_manager.invalidate()

    def set_scope(self, scope: str | None) -> None:
        self.token_manager.scope = scope
        self.token_manager.invalidate()

    def set_headers(self, headers: Mapping[str, str]) -> None:
        self.token_manager.headers = dict(headers)

    def set_proxies(self, proxies: Mapping[str, str] | None) -> None:
        self.token_manager.proxies = dict(proxies) if proxies else None

    def set_disable_ssl_verification(self, status: bool = False) -> None:
        _check_bool("disable_ssl_verification", status)
        self.token_manager.disable_ssl_verification = status

    def _common_repr(self) -> str:
        manager = self.token_manager
        secret = ", client_secret=***" if manager.client_secret else ""
        return (
            f"url={manager.url!r}, client_id={manager.client_id!r}{secret}, "
            f"scope={manager.scope!r}, disable_ssl_verification={manager.disable_ssl_verification}"
        )


class IAMAuthenticator(_IAMFamilyAuthenticator):
    """Exchanges an IBM Cloud API key for IAM access tokens, renewed ahead of expiry."""

    token_manager: IAMTokenManager

    def __init__(
        self,
        apikey: str,
        *,
        url: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        disable_ssl_verification: bool = False,
        headers: Mapping[str, str] | None = None,
        proxies: Mapping[str, str] | None = None,
        scope: str | None = None,
    ) -> None:
        self.token_manager = IAMTokenManager(
            apikey,
            url=url,
            client_id=client_id,
            client_secret=client_secret,
            disable_ssl_verification=disable_ssl_verification,
            headers=headers,
            proxies=proxies,
            scope=scope,
        )
        self.validate()

    def authentication_type(self) -> str:
        return self.AUTHTYPE_IAM

    def validate(self) -> None:
        self.check_token_request(self.token_manager, "IAMAuthenticator")

    @staticmethod
    def check_token_request(manager: IAMTokenManager, who: str) -> None:
        """The API key and client credentials of an API key token request are usable."""
        if not manager.apikey:
            raise ValueError(f"{who} needs an apikey")
        if _badly_quoted(manager.apikey):
            raise ValueError(
                "The apikey must not start or end with '{', '}' or '\"'; "
                "remove the surrounding braces or quotes"
            )
        _check_iam_request(manager)

    def __repr__(self) -> str:
        return f"IAMAuthenticator(apikey=***, {self._common_repr()})"


class IAMAssumeAuthenticator(_TokenAuthenticator):
    """Acts as an IAM trusted profile: the API key's IAM token is exchanged for one of
    the profile named by exactly one of ``iam_profile_id``, ``iam_profile_crn`` or
    ``iam_profile_name`` (with ``iam_account_id``). ``AUTH_TYPE=iamAssume``."""

    token_manager: IAMAssumeTokenManager

    def __init__(
        self,
        apikey: str,
        *,
        iam_profile_id: str | None = None,
        iam_profile_crn: str | None = None,
        iam_profile_name: str | None = None,
        iam_account_id: str | None = None,
        url: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        disable_ssl_verification: bool = False,
        headers: Mapping[str, str] | None = None,
        proxies: Mapping[str, str] | None = None,
        scope: str | None = None,
    ) -> None:
        _check_bool("disable_ssl_verification", disable_ssl_verification)
        self.token_manager = IAMAssumeTokenManager(
            apikey,
            iam_profile_id=iam_profile_id,
            iam_profile_crn=iam_profile_crn,
            iam_profile_name=iam_profile_name,
            iam_account_id=iam_account_id,
            url=url,
            client_id=client_id,
            client_secret=client_secret,
            disable_ssl_verification=disable_ssl_verification,
            headers=headers,
            proxies=proxies,
            scope=scope,
        )
        self.validate()

    def authentication_type(self) -> str:
        return self.AUTHTYPE_IAM_ASSUME

    def validate(self) -> None:
        manager = self.token_manager
        IAMAuthenticator.check_token_request(manager.iam_delegate, "IAMAssumeAuthenticator")
        named = [manager.iam_profile_id, manager.iam_profile_crn, manager.iam_profile_name]
        if sum(1 for value in named if value) != 1:
            raise ValueError(
                "IAMAssumeAuthenticator needs exactly one of iam_profile_id, "
                "iam_profile_crn or iam_profile_name"
            )
        if bool(manager.iam_profile_name) != bool(manager.iam_account_id):
            raise ValueError(
                "IAMAssumeAuthenticator: iam_profile_name and iam_account_id go together"
            )

    def __repr__(self) -> str:
        manager = self.token_manager
        profile = ", ".join(
            f"{name}={value!r}"
            for name, value in (
                ("iam_profile_id", manager.iam_profile_id),
                ("iam_profile_crn", manager.iam_profile_crn),
                ("iam_profile_name", manager.iam_profile_name),
                ("iam_account_id", manager.iam_account_id),
            )
            if value
        )
        return f"IAMAssumeAuthenticator(apikey=***, {profile}, url={manager.url!r})"


class ContainerAuthenticator(_IAMFamilyAuthenticator):
    """Exchanges the compute resource token of a container (trusted profile) for IAM tokens."""

    token_manager: ContainerTokenManager

    def __init__(
        self,
        *,
        cr_token_filename: str | None = None,
        iam_profile_name: str | None = None,
        iam_profile_id: str | None = None,
        url: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        disable_ssl_verification: bool = False,
        scope: str | None = None,
        headers: Mapping[str, str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> None:
        self.token_manager = ContainerTokenManager(
            cr_token_filename=cr_token_filename,
            iam_profile_name=iam_profile_name,
            iam_profile_id=iam_profile_id,
            url=url,
            client_id=client_id,
            client_secret=client_secret,
            disable_ssl_verification=disable_ssl_verification,
            headers=headers,
            proxies=proxies,
            scope=scope,
        )
        self.validate()

    def authentication_type(self) -> str:
        return self.AUTHTYPE_CONTAINER

    def validate(self) -> None:
        manager = self.token_manager
        if not manager.iam_profile_name and not manager.iam_profile_id:
            raise ValueError("ContainerAuthenticator needs iam_profile_name or iam_profile_id")
        self._validate_iam_request()

    def set_cr_token_filename(self, cr_token_filename: str | None) -> None:
        self.token_manager.cr_token_filename = cr_token_filename

    def set_iam_profile_name(self, iam_profile_name: str | None) -> None:
        self.token_manager.iam_profile_name = iam_profile_name
        self.validate()
        self.token_manager.invalidate()

    def set_iam_profile_id(self, iam_profile_id: str | None) -> None:
        self.token_manager.iam_profile_id = iam_profile_id
        self.validate()
        self.token_manager.invalidate()

    def __repr__(self) -> str:
        manager = self.token_manager
        return (
            f"ContainerAuthenticator(cr_token_filename={manager.cr_token_filename!r}, "
            f"iam_profile_name={manager.iam_profile_name!r}, "
            f"iam_profile_id={manager.iam_profile_id!r}, {self._common_repr()})"
        )


class VPCInstanceAuthenticator(_TokenAuthenticator):
    """Gets IAM tokens from a VPC instance's metadata service (its trusted profile)."""

    token_manager: VPCInstanceTokenManager

    def __init__(
        self,
        *,
        iam_profile_crn: str | None = None,
        iam_profile_id: str | None = None,
        iam_profile_name: str | None = None,
        url: str | None = None,
        service_version: str = VPCInstanceTokenManager.DEFAULT_VERSION,
    ) -> None:
        self.token_manager = VPCInstanceTokenManager(
            iam_profile_crn=iam_profile_crn,
            iam_profile_id=iam_profile_id,
            iam_profile_name=iam_profile_name,
            url=url,
            service_version=service_version,
        )
        self.validate()

    def authentication_type(self) -> str:
        return self.AUTHTYPE_VPC

    def validate(self) -> None:
        manager = self.token_manager
        given = [
            p
            for p in (manager.iam_profile_crn, manager.iam_profile_id, manager.iam_profile_name)
            if p
        ]
        if len(given) > 1:
            raise ValueError(
                "Give at most one of iam_profile_crn, iam_profile_id and iam_profile_name"
            )
        if manager.service_version not in VPCInstanceTokenManager.SUPPORTED_VERSIONS:
            supported = ", ".join(VPCInstanceTokenManager.SUPPORTED_VERSIONS)
            raise ValueError(
                f"VPC metadata service version {manager.service_version!r} is not supported; "
                f"use one of {supported}"
            )

    def set_iam_profile_crn(self, iam_profile_crn: str | None) -> None:
        self.token_manager.iam_profile_crn = iam_profile_crn
        self.validate()
        self.token_manager.invalidate()

    def set_iam_profile_id(self, iam_profile_id: str | None) -> None:
        self.token_manager.iam_profile_id = iam_profile_id
        self.validate()
        self.token_manager.invalidate()

    def __repr__(self) -> str:
        manager = self.token_manager
        return (
            f"VPCInstanceAuthenticator(iam_profile_crn={manager.iam_profile_crn!r}, "
            f"iam_profile_id={manager.iam_profile_id!r}, "
            f"iam_profile_name={manager.iam_profile_name!r}, url={manager.url!r}, "
            f"service_version={manager.service_version!r})"
        )


# -- CouchDB session cookie ------------------------------------------------------------


class _CookieSpec(NamedTuple):
    value: str
    max_age: float | None
    expires: float | None


def _set_cookie_headers(response: requests.Response) -> list[str]:
    """Every Set-Cookie header of a response, kept apart (dates in Expires have commas)."""
    raw_headers = getattr(response.raw, "headers", None)
    getlist = getattr(raw_headers, "getlist", None)
    if callable(getlist):
        values = [str(v) for v in getlist("Set-Cookie")]
        if values:
            return values
    joined = response.headers.get("Set-Cookie")
    if not joined:
        return []
    # requests joins repeated headers with ", "; split only before a "name=" so the
    # comma inside "Expires=Wed, 21 Oct ..." stays put.
    return re.split(r",\s*(?=[!#$%&'*+\-.^_`|~0-9A-Za-z]+=)", joined)


def _session_cookie(set_cookies: list[str]) -> _CookieSpec | None:
    """The AuthSession cookie a response sets (its Set-Cookie headers), if it sets one."""
    for header in set_cookies:
        name, _, rest = header.partition("=")
        if name.strip() != _SESSION_COOKIE:
            continue
        value, *attributes = rest.split(";")
        max_age: float | None = None
        expires: float | None = None
        for attribute in attributes:
            key, _, attr_value = attribute.partition("=")
            key = key.strip().lower()
            attr_value = attr_value.strip()
            if key == "max-age":
                with contextlib.suppress(ValueError):
                    max_age = float(int(attr_value))
            elif key == "expires":
                with contextlib.suppress(TypeError, ValueError, IndexError):
                    expires = email.utils.parsedate_to_datetime(attr_value).timestamp()
        return _CookieSpec(value.strip().strip('"'), max_age, expires)
    return None


def _cookie_token(spec: _CookieSpec, now: float) -> Token | None:
    """Renewal times for a cookie; None when the server is deleting it."""
    if spec.max_age is not None:  # Max-Age wins over Expires (RFC 6265)
        expires_at = now + spec.max_age
    elif spec.expires is not None:
        expires_at = spec.expires
    else:
        expires_at = now + DEFAULT_COOKIE_TTL
    if not spec.value or expires_at <= now:
        return None
    return _lifetime(spec.value, now, expires_at)


def sent_session_cookie(cookie_header: str | None) -> str | None:
    """The AuthSession value in a request's ``Cookie`` header, if any."""
    for part in (cookie_header or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == _SESSION_COOKIE:
            return value
    return None


def _no_auth(request: requests.PreparedRequest) -> requests.PreparedRequest:
    return request


class CouchDbSessionTokenManager(TokenManager):
    """Logs in at ``{service_url}/_session`` and keeps the AuthSession cookie value
    (``CouchDbSessionAuthenticator.token_manager``; the SDK's name)."""

    def __init__(self, username: str, password: str, disable_ssl_verification: bool) -> None:
        super().__init__()
        self.username = username
        self.password = password
        self._disable_ssl_verification = disable_ssl_verification
        self.http: requests.Session | None = None
        self.service_url = ""
        self.default_headers: dict[str, str] = {}

    @property
    def disable_ssl_verification(self) -> bool:
        """Off when the authenticator was told so, or the client it logs in to was."""
        return self._disable_ssl_verification or self.http_config.get("verify") is False

    @disable_ssl_verification.setter
    def disable_ssl_verification(self, status: bool) -> None:
        self._disable_ssl_verification = status

    def token_flow(self) -> Flow[Token]:
        if not self.service_url:
            raise ValueError(
                "CouchDbSessionAuthenticator is not attached to a client with a service URL"
            )
        url = self.service_url + "/_session"
        # Sent only to turn checking off or to name a CA bundle, as the SDK does.
        verify = False if self.disable_ssl_verification else self.http_config.get("verify")
        options: dict[str, Any] = {} if verify is None or verify is True else {"verify": verify}
        logger.debug("Logging in to %s as %r", redact_url(url), self.username)
        now = time.time()
        reply: Reply = yield HttpCall(
            "POST",
            url,
            {
                # Plain JSON: CouchDB before 3.3 rejects a gzipped /_session body. "name"
                # is CouchDB's own field; "username" is an alias that PouchDB Server lacks.
                "json": {"name": self.username, "password": self.password},
                "headers": {**self.default_headers, "Accept": "application/json"},
                "timeout": self._timeout(),
                "proxies": self.http_config.get("proxies"),
                **options,
            },
        )
        spec = _session_cookie(reply.set_cookies)
        token = _cookie_token(spec, now) if spec is not None else None
        if token is None:
            raise ApiException(
                reply.status,
                "The server accepted the login but set no AuthSession cookie",
                reply.response,
            )
        return token

    def send(self, call: HttpCall) -> Reply:
        if self.http is None:
            raise ValueError(
                "CouchDbSessionAuthenticator is not attached to a client with a service URL"
            )
        response = self.http.post(
            call.url,
            **call.options,
            # Bypass any auth set on the shared session: this request *is* the login.
            auth=_no_auth,
            # No redirects: the password would be re-sent to wherever they point, and a
            # cookie set there adopted.
            allow_redirects=False,
            stream=True,
        )
        return self.reply(call, response)

    def refused(self, call: HttpCall, status: int) -> None:
        logger.debug("Login to %s failed with status %s", redact_url(call.url), status)

    def renewed_since(self, failed_cookie: str | None) -> bool:
        """Another caller logged in again after ``failed_cookie`` was refused."""
        current = self._token
        return (
            current is not None
            and current.value != failed_cookie
            and self._valid(current, time.time())
        )

    def relogin(self, failed_cookie: str | None) -> None:
        """Log in again after a 401, unless another thread already did."""
        self.run(self.relogin_flow(failed_cookie))

    def relogin_flow(self, failed_cookie: str | None) -> Flow[None]:
        """``relogin``, as a flow: every caller whose ``failed_cookie`` was refused waits
        for the one login."""
        yield Exclusive(self._relogin_flow(failed_cookie), wait=True)

    def _relogin_flow(self, failed_cookie: str | None) -> Flow[None]:
        if self.renewed_since(failed_cookie):
            return
        self._token = None
        self._token = yield from self.token_flow()

    def cookies_received(self, set_cookies: list[str]) -> None:
        """Keep the fresh cookie a response sets (CouchDB sends one once a tenth of the
        session timeout has passed); forget ours if the server deletes it (a logout)."""
        spec = _session_cookie(set_cookies)
        if spec is None:
            return
        token = _cookie_token(spec, time.time())
        if token is None:
            self.invalidate()
        else:
            self.set_token(token)


class CouchDbSessionAuthenticator(Authenticator):
    """CouchDB cookie auth: logs in at ``/_session`` and sends ``Cookie: AuthSession=...``.

    The cookie is renewed at 80 % of its lifetime, replaced whenever the server sends a
    fresh one, and renewed at once when the server answers 401 (the client then replays
    the request once).
    """

    def __init__(
        self, username: str, password: str, disable_ssl_verification: bool = False
    ) -> None:
        self.token_manager = CouchDbSessionTokenManager(
            username, password, disable_ssl_verification
        )
        self.validate()

    @property
    def username(self) -> str:
        return self.token_manager.username

    def authentication_type(self) -> str:
        return self.AUTHTYPE_COUCHDB_SESSION

    def validate(self) -> None:
        manager = self.token_manager
        if not manager.username:
            raise ValueError("CouchDbSessionAuthenticator needs a username")
        if manager.password is None:
            raise ValueError("CouchDbSessionAuthenticator needs a password")
        _check_bool("disable_ssl_verification", manager._disable_ssl_verification)

    def set_disable_ssl_verification(self, status: bool = False) -> None:
        _check_bool("disable_ssl_verification", status)
        self.token_manager.disable_ssl_verification = status

    def set_default_headers(self, headers: Mapping[str, str]) -> None:
        self.token_manager.default_headers = dict(headers)

    def attach(
        self, http: requests.Session, service_url: str, http_config: Mapping[str, Any]
    ) -> None:
        with self.token_manager._fetch_lock:  # don't swap the target under a login
            self.token_manager.http = http
            self.configure(service_url, http_config)

    def configure(self, service_url: str, http_config: Mapping[str, Any]) -> None:
        manager = self.token_manager
        manager.service_url = service_url.rstrip("/")
        manager.set_http_config(http_config)
        manager.invalidate()  # a cookie is only good for the server that issued it

    def authenticate(self, request: requests.PreparedRequest) -> None:
        cookie = self.token_manager.get_token()
        request.headers["Cookie"] = self.cookie_header(request.headers.get("Cookie"), cookie)

    @staticmethod
    def cookie_header(sent: str | None, cookie: str) -> str:
        """The ``Cookie`` header with our session ``cookie``: the caller's other cookies
        kept, ours replaced if this is a replay."""
        parts = [
            part.strip()
            for part in (sent or "").split(";")
            if part.strip() and part.strip().partition("=")[0] != _SESSION_COOKIE
        ]
        parts.append(f"{_SESSION_COOKIE}={cookie}")
        return "; ".join(parts)

    def on_response(self, response: requests.Response) -> None:
        self.token_manager.cookies_received(_set_cookie_headers(response))

    def on_unauthorized(self, response: requests.Response) -> bool:
        sent = response.request.headers.get("Cookie") if response.request is not None else None
        self.token_manager.relogin(sent_session_cookie(sent))
        return True

    def __repr__(self) -> str:
        manager = self.token_manager
        return (
            f"CouchDbSessionAuthenticator(username={manager.username!r}, password=***, "
            f"disable_ssl_verification={manager.disable_ssl_verification})"
        )

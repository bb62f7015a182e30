"""Authenticators: headers, validation, secret hiding, token and session-cookie lifecycles."""

from __future__ import annotations

import base64
import http.cookiejar
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests
import responses
from freezegun import freeze_time

from cloudant_odm.client.auth import (
    Authenticator,
    BasicAuthenticator,
    BearerTokenAuthenticator,
    ContainerAuthenticator,
    CouchDbSessionAuthenticator,
    IAMAssumeAuthenticator,
    IAMAuthenticator,
    NoAuthAuthenticator,
    Token,
    VPCInstanceAuthenticator,
    jwt_claims,
)
from cloudant_odm.client.errors import ApiException, BadRequestError, UnauthorizedError

IAM_URL = "https://iam.cloud.ibm.com/identity/token"
COUCH = "http://couch.test:5984"
SESSION_URL = COUCH + "/_session"
START = "2024-01-01 00:00:00"
T0 = 1704067200.0  # START as epoch seconds

APIKEY = "apikey-Sup3rSecret"
CLIENT_SECRET = "client-secret-XYZ"
PASSWORD = "hunter2-password"


def make_jwt(iat: float, exp: float, **claims: Any) -> str:
    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256'})}.{part({'iat': int(iat), 'exp': int(exp), **claims})}.c2ln"


def request_to(url: str = COUCH + "/db") -> requests.PreparedRequest:
    return requests.Request("GET", url).prepare()


def bearer(auth: Authenticator) -> str:
    req = request_to()
    auth.authenticate(req)
    return req.headers["Authorization"]


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


class TokenServer:
    """A token endpoint issuing a new JWT per call, living `lifetime` seconds from now."""

    def __init__(self, lifetime: float = 3600.0) -> None:
        self.lifetime = lifetime
        self.tokens: list[str] = []
        self.status = 200

    def __call__(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        if self.status != 200:
            return self.status, {}, json.dumps({"errorMessage": "IAM is down"})
        now = time.time()
        token = make_jwt(now, now + self.lifetime, n=len(self.tokens))
        self.tokens.append(token)
        body = {"access_token": token, "refresh_token": "r", "expires_in": self.lifetime}
        return 200, {"Content-Type": "application/json"}, json.dumps(body)


def iam_server(rsps: responses.RequestsMock, url: str = IAM_URL, **kwargs: Any) -> TokenServer:
    server = TokenServer(**kwargs)
    rsps.add_callback(responses.POST, url, callback=server)
    return server


# -- simple authenticators ------------------------------------------------------------


def test_basic_header() -> None:
    auth = BasicAuthenticator("bob", "s3cret:with:colons")
    expected = base64.b64encode(b"bob:s3cret:with:colons").decode()
    req = request_to()
    auth.authenticate(req)
    assert req.headers["Authorization"] == f"Basic {expected}"
    assert auth.authentication_type() == "basic"


def test_bearer_header_and_set_bearer_token() -> None:
    auth = BearerTokenAuthenticator("tok-1")
    assert bearer(auth) == "Bearer tok-1"
    auth.set_bearer_token("tok-2")
    assert bearer(auth) == "Bearer tok-2"
    assert auth.authentication_type() == "bearerToken"


def test_noauth_adds_nothing() -> None:
    auth = NoAuthAuthenticator()
    req = request_to()
    before = dict(req.headers)
    auth.authenticate(req)
    assert dict(req.headers) == before
    assert "Authorization" not in req.headers
    assert auth.authentication_type() == "noAuth"


def test_authentication_types() -> None:
    assert IAMAuthenticator("k").authentication_type() == "iam"
    assert ContainerAuthenticator(iam_profile_id="p").authentication_type() == "container"
    assert VPCInstanceAuthenticator().authentication_type() == "vpc"
    assert CouchDbSessionAuthenticator("u", "p").authentication_type() == "COUCHDB_SESSION"


@pytest.mark.parametrize(
    "make",
    [
        lambda: BasicAuthenticator(None, "p"),  # type: ignore[arg-type]
        lambda: BasicAuthenticator("u", None),  # type: ignore[arg-type]
        lambda: BasicAuthenticator("{u}", "p"),
        lambda: BasicAuthenticator("u", '"p"'),
        lambda: BearerTokenAuthenticator(""),
        lambda: BearerTokenAuthenticator(None),  # type: ignore[arg-type]
        lambda: IAMAuthenticator(""),
        lambda: IAMAuthenticator('"key"'),
        lambda: IAMAuthenticator("key", client_id="id"),
        lambda: IAMAuthenticator("key", client_secret="secret"),
        lambda: ContainerAuthenticator(),
        lambda: ContainerAuthenticator(iam_profile_id="p", client_id="id"),
        lambda: VPCInstanceAuthenticator(iam_profile_crn="crn", iam_profile_id="id"),
        lambda: VPCInstanceAuthenticator(iam_profile_id="id", iam_profile_name="n"),
        lambda: VPCInstanceAuthenticator(service_version="2021-09-20"),
        lambda: CouchDbSessionAuthenticator("", "p"),
        lambda: CouchDbSessionAuthenticator(None, "p"),  # type: ignore[arg-type]
        lambda: CouchDbSessionAuthenticator("u", None),  # type: ignore[arg-type]
    ],
)
def test_validation_errors(make: Callable[[], Authenticator]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        make()


def test_validation_messages_are_clear() -> None:
    with pytest.raises(ValueError, match="client_id and client_secret"):
        IAMAuthenticator("key", client_id="id")
    with pytest.raises(ValueError, match="iam_profile_name or iam_profile_id"):
        ContainerAuthenticator()
    with pytest.raises(ValueError, match="at most one"):
        VPCInstanceAuthenticator(iam_profile_crn="c", iam_profile_name="n")
    with pytest.raises(ValueError, match="2021-09-20"):
        VPCInstanceAuthenticator(service_version="2021-09-20")


def test_session_allows_empty_password() -> None:
    assert CouchDbSessionAuthenticator("u", "").username == "u"


@pytest.mark.parametrize(
    "make",
    [
        lambda: IAMAuthenticator("k", disable_ssl_verification="yes"),  # type: ignore[arg-type]
        lambda: CouchDbSessionAuthenticator("u", "p", disable_ssl_verification=1),  # type: ignore[arg-type]
    ],
)
def test_disable_ssl_must_be_bool(make: Callable[[], Authenticator]) -> None:
    with pytest.raises(TypeError):
        make()


@pytest.mark.parametrize(
    ("auth", "secrets", "shown"),
    [
        (BasicAuthenticator("bob", PASSWORD), [PASSWORD], ["bob"]),
        (BearerTokenAuthenticator("bearer-T0ken"), ["bearer-T0ken"], []),
        (
            IAMAuthenticator(APIKEY, client_id="my-client", client_secret=CLIENT_SECRET),
            [APIKEY, CLIENT_SECRET],
            ["my-client"],
        ),
        (
            ContainerAuthenticator(
                iam_profile_id="prof", client_id="cid", client_secret=CLIENT_SECRET
            ),
            [CLIENT_SECRET],
            ["prof"],
        ),
        (CouchDbSessionAuthenticator("alice", PASSWORD), [PASSWORD], ["alice"]),
    ],
)
def test_repr_hides_secrets(auth: Authenticator, secrets: list[str], shown: list[str]) -> None:
    for text in (repr(auth), str(auth)):
        for secret in secrets:
            assert secret not in text
        for value in shown:
            assert value in text
        assert "***" in text


def test_basic_repr_format() -> None:
    assert repr(BasicAuthenticator("bob", PASSWORD)) == (
        "BasicAuthenticator(username='bob', password=***)"
    )


def test_repr_hides_live_token_and_cookie(rsps: responses.RequestsMock) -> None:
    server = iam_server(rsps)
    iam = IAMAuthenticator(APIKEY)
    bearer(iam)
    assert server.tokens[0] not in repr(iam)
    assert server.tokens[0] not in repr(iam.token_manager.token)

    session = attached_session(rsps, cookies=["AuthSession=c00kieVal; Max-Age=600"])
    session.authenticate(request_to())
    assert "c00kieVal" not in repr(session)
    assert "c00kieVal" not in repr(session.token_manager.token)


# -- IAM token exchange ---------------------------------------------------------------


def test_iam_request_shape(rsps: responses.RequestsMock) -> None:
    server = iam_server(rsps)
    auth = IAMAuthenticator(APIKEY, scope="scope-a", headers={"X-Extra": "1"})
    assert bearer(auth) == f"Bearer {server.tokens[0]}"
    call = rsps.calls[0].request
    assert call.method == "POST"
    assert call.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert call.headers["Accept"] == "application/json"
    assert call.headers["X-Extra"] == "1"
    assert "Authorization" not in call.headers
    assert isinstance(call.body, str)
    form = parse_qs(call.body)
    assert form == {
        "grant_type": ["urn:ibm:params:oauth:grant-type:apikey"],
        "apikey": [APIKEY],
        "response_type": ["cloud_iam"],
        "scope": ["scope-a"],
    }
    assert auth.token_manager.refresh_token == "r"


def test_iam_client_id_and_secret_use_basic_auth(rsps: responses.RequestsMock) -> None:
    iam_server(rsps)
    auth = IAMAuthenticator(APIKEY, client_id="cid", client_secret=CLIENT_SECRET)
    bearer(auth)
    expected = base64.b64encode(f"cid:{CLIENT_SECRET}".encode()).decode()
    assert rsps.calls[0].request.headers["Authorization"] == f"Basic {expected}"
    assert "scope" not in parse_qs(str(rsps.calls[0].request.body))


@pytest.mark.parametrize(
    "configured",
    [
        "https://iam.test.cloud.ibm.com",
        "https://iam.test.cloud.ibm.com/",
        "https://iam.test.cloud.ibm.com/identity/token",
        "https://iam.test.cloud.ibm.com/identity/token/",
    ],
)
def test_iam_url_suffix_handling(rsps: responses.RequestsMock, configured: str) -> None:
    server = iam_server(rsps, url="https://iam.test.cloud.ibm.com/identity/token")
    assert bearer(IAMAuthenticator(APIKEY, url=configured)) == f"Bearer {server.tokens[0]}"
    assert rsps.calls[0].request.url == "https://iam.test.cloud.ibm.com/identity/token"


def test_iam_token_is_cached(rsps: responses.RequestsMock) -> None:
    iam_server(rsps)
    auth = IAMAuthenticator(APIKEY)
    first = bearer(auth)
    assert bearer(auth) == first
    assert len(rsps.calls) == 1


def test_iam_refresh_at_80_percent(rsps: responses.RequestsMock) -> None:
    server = iam_server(rsps, lifetime=3600)
    auth = IAMAuthenticator(APIKEY)
    with freeze_time(START) as clock:
        assert bearer(auth) == f"Bearer {server.tokens[0]}"
        clock.tick(2879)  # 80 % of 3600 s is 2880 s
        assert bearer(auth) == f"Bearer {server.tokens[0]}"
        assert len(rsps.calls) == 1
        clock.tick(2)
        assert bearer(auth) == f"Bearer {server.tokens[1]}"
        assert len(rsps.calls) == 2
        # The new token's own schedule starts from its iat.
        clock.tick(2879)
        assert bearer(auth) == f"Bearer {server.tokens[1]}"
        assert len(rsps.calls) == 2


def test_iam_expiry_window_and_failed_early_refresh(rsps: responses.RequestsMock) -> None:
    server = iam_server(rsps, lifetime=3600)
    auth = IAMAuthenticator(APIKEY)
    with freeze_time(START) as clock:
        bearer(auth)
        server.status = 500
        # In the refresh window, a failed renewal keeps the still-valid token.
        clock.move_to(datetime.fromtimestamp(T0 + 3589, tz=timezone.utc))
        assert bearer(auth) == f"Bearer {server.tokens[0]}"
        calls = len(rsps.calls)
        assert calls == 2
        # ... and doesn't retry on every request.
        assert bearer(auth) == f"Bearer {server.tokens[0]}"
        assert len(rsps.calls) == calls
        # 10 s before exp the token counts as expired: the next call must fetch, and fails.
        clock.tick(1)
        with pytest.raises(ApiException) as info:
            bearer(auth)
        assert info.value.status_code == 500
        server.status = 200
        assert bearer(auth) == f"Bearer {server.tokens[1]}"


def test_iam_token_just_outside_window_is_used(rsps: responses.RequestsMock) -> None:
    server = iam_server(rsps, lifetime=20)  # refresh at 16 s, expired at 10 s
    auth = IAMAuthenticator(APIKEY)
    with freeze_time(START) as clock:
        bearer(auth)
        clock.tick(9)
        assert bearer(auth) == f"Bearer {server.tokens[0]}"
        assert len(rsps.calls) == 1
        clock.tick(1.5)
        assert bearer(auth) == f"Bearer {server.tokens[1]}"
        assert len(rsps.calls) == 2


def test_iam_error_raises_api_exception_without_secret(
    rsps: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    rsps.add(
        responses.POST,
        IAM_URL,
        status=400,
        json={"errorCode": "BXNIM0415E", "errorMessage": "Provided API key could not be found."},
    )
    auth = IAMAuthenticator(APIKEY)
    with (
        caplog.at_level(logging.DEBUG, logger="cloudant_odm.client.auth"),
        pytest.raises(BadRequestError) as info,
    ):
        bearer(auth)
    assert info.value.status_code == 400
    assert info.value.message == "Provided API key could not be found."
    assert APIKEY not in str(info.value)
    assert "iam.cloud.ibm.com" in caplog.text
    assert APIKEY not in caplog.text


def test_iam_opaque_token_uses_expires_in(rsps: responses.RequestsMock) -> None:
    rsps.add(responses.POST, IAM_URL, json={"access_token": "opaque", "expires_in": 100})
    auth = IAMAuthenticator(APIKEY)
    with freeze_time(START) as clock:
        assert bearer(auth) == "Bearer opaque"
        clock.tick(79)
        bearer(auth)
        assert len(rsps.calls) == 1
        clock.tick(2)
        bearer(auth)
        assert len(rsps.calls) == 2


def test_iam_response_without_token_is_an_error(rsps: responses.RequestsMock) -> None:
    rsps.add(responses.POST, IAM_URL, json={"nothing": True})
    with pytest.raises(ValueError, match="access_token"):
        bearer(IAMAuthenticator(APIKEY))


def test_jwt_claims() -> None:
    assert jwt_claims(make_jwt(1, 2, sub="me")) == {"iat": 1, "exp": 2, "sub": "me"}
    with pytest.raises(ValueError, match="not a JWT"):
        jwt_claims("not-a-jwt")


def test_one_fetch_for_many_threads_on_expired_token(rsps: responses.RequestsMock) -> None:
    server = TokenServer()

    def slow(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        time.sleep(0.2)  # keep the fetch in flight while the other threads arrive
        return server(request)

    rsps.add_callback(responses.POST, IAM_URL, callback=slow)
    auth = IAMAuthenticator(APIKEY)
    barrier = threading.Barrier(8)
    seen: list[str] = []

    def worker() -> None:
        barrier.wait()
        seen.append(bearer(auth))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(rsps.calls) == 1
    assert seen == [f"Bearer {server.tokens[0]}"] * 8


def test_other_threads_use_valid_token_during_refresh(rsps: responses.RequestsMock) -> None:
    # Issued 3000 s ago with an hour's life: past its refresh time, still valid.
    old = make_jwt(time.time() - 3000, time.time() + 600)
    release = threading.Event()
    fetching = threading.Event()
    server = TokenServer()

    def blocking(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        fetching.set()
        release.wait(10)
        return server(request)

    rsps.add_callback(responses.POST, IAM_URL, callback=blocking)
    auth = IAMAuthenticator(APIKEY)
    now = time.time()
    auth.token_manager.set_token(Token(old, expires_at=now + 600, refresh_at=now - 1))
    refresher_result: list[str] = []
    refresher = threading.Thread(target=lambda: refresher_result.append(bearer(auth)))
    refresher.start()
    assert fetching.wait(5)
    # While the renewal is blocked, other callers get the current token at once.
    assert bearer(auth) == f"Bearer {old}"
    release.set()
    refresher.join(10)
    assert refresher_result == [f"Bearer {server.tokens[0]}"]
    assert bearer(auth) == f"Bearer {server.tokens[0]}"
    assert len(rsps.calls) == 1


class Recorder:
    """Stands in for requests.request and records its keyword arguments."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        self.calls.append({"method": method, "url": url, **kwargs})
        response = requests.Response()
        response.status_code = 200
        response.headers["Content-Type"] = "application/json"
        now = time.time()
        response._content = json.dumps({"access_token": make_jwt(now, now + 3600)}).encode()
        return response


def test_token_calls_use_service_timeout_and_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = Recorder()
    monkeypatch.setattr(requests, "request", recorder)
    auth = IAMAuthenticator(APIKEY)
    proxies = {"https": "http://proxy.test:3128"}
    auth.attach(requests.Session(), COUCH, {"timeout": (5, 7), "proxies": proxies, "verify": False})
    bearer(auth)
    call = recorder.calls[0]
    assert call["timeout"] == (5, 7)
    assert call["proxies"] == proxies
    # The service's verify=False is for the database server, not for IAM.
    assert call["verify"] is True


def test_token_call_defaults_and_own_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = Recorder()
    monkeypatch.setattr(requests, "request", recorder)
    own = {"https": "http://iam-proxy.test:8080"}
    auth = IAMAuthenticator(APIKEY, disable_ssl_verification=True, proxies=own)
    auth.attach(requests.Session(), COUCH, {"proxies": {"https": "http://other:1"}})
    bearer(auth)
    call = recorder.calls[0]
    assert call["timeout"] == 60.0
    assert call["verify"] is False
    assert call["proxies"] == own


def test_set_scope_forces_new_token(rsps: responses.RequestsMock) -> None:
    server = iam_server(rsps)
    auth = IAMAuthenticator(APIKEY)
    bearer(auth)
    auth.set_scope("other")
    assert bearer(auth) == f"Bearer {server.tokens[1]}"
    assert parse_qs(str(rsps.calls[1].request.body))["scope"] == ["other"]


# -- container ------------------------------------------------------------------------


def test_container_reads_token_file_and_sends_cr_token_grant(
    rsps: responses.RequestsMock, tmp_path: Any
) -> None:
    token_file = tmp_path / "cr-token"
    token_file.write_text("cr-token-value-1\n")
    server = iam_server(rsps)
    auth = ContainerAuthenticator(
        cr_token_filename=str(token_file),
        iam_profile_name="my-profile",
        iam_profile_id="iam-Profile-1",
        client_id="cid",
        client_secret=CLIENT_SECRET,
    )
    assert bearer(auth) == f"Bearer {server.tokens[0]}"
    request = rsps.calls[0].request
    assert parse_qs(str(request.body)) == {
        "grant_type": ["urn:ibm:params:oauth:grant-type:cr-token"],
        "cr_token": ["cr-token-value-1"],
        "profile_id": ["iam-Profile-1"],
        "profile_name": ["my-profile"],
        "response_type": ["cloud_iam"],
    }
    assert request.headers["Authorization"].startswith("Basic ")

    # The file is re-read on every fetch (it is rotated by the platform).
    token_file.write_text("cr-token-value-2")
    auth.token_manager.invalidate()
    bearer(auth)
    assert parse_qs(str(rsps.calls[1].request.body))["cr_token"] == ["cr-token-value-2"]


def test_container_missing_token_file(tmp_path: Any) -> None:
    missing = str(tmp_path / "nope")
    auth = ContainerAuthenticator(cr_token_filename=missing, iam_profile_id="p")
    with pytest.raises(OSError, match="nope"):
        bearer(auth)


# -- VPC ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "token_path", "iam_path"),
    [
        ("2022-03-01", "/instance_identity/v1/token", "/instance_identity/v1/iam_token"),
        ("2025-08-26", "/identity/v1/token", "/identity/v1/iam_tokens"),
    ],
)
@pytest.mark.parametrize(
    ("kwargs", "profile"),
    [
        ({"iam_profile_crn": "crn:v1:x"}, {"crn": "crn:v1:x"}),
        ({"iam_profile_id": "pid"}, {"id": "pid"}),
        ({"iam_profile_name": "pname"}, {"name": "pname"}),
        ({}, None),
    ],
)
def test_vpc_two_step_flow(
    rsps: responses.RequestsMock,
    version: str,
    token_path: str,
    iam_path: str,
    kwargs: dict[str, str],
    profile: dict[str, str] | None,
) -> None:
    ims = "http://169.254.169.254"
    rsps.add(responses.PUT, ims + token_path, json={"access_token": "identity-tok"})
    server = TokenServer()
    rsps.add_callback(responses.POST, ims + iam_path, callback=server)
    auth = VPCInstanceAuthenticator(service_version=version, **kwargs)
    assert bearer(auth) == f"Bearer {server.tokens[0]}"

    step1, step2 = (call.request for call in rsps.calls)
    assert step1.method == "PUT"
    assert step1.url == f"{ims}{token_path}?version={version}"
    assert step1.headers["Metadata-Flavor"] == "ibm"
    assert json.loads(step1.body or b"") == {"expires_in": 300}
    assert step2.url == f"{ims}{iam_path}?version={version}"
    assert step2.headers["Authorization"] == "Bearer identity-tok"
    if profile is None:
        assert not step2.body
    else:
        assert json.loads(step2.body or b"") == {"trusted_profile": profile}


def test_vpc_custom_url_and_refresh(rsps: responses.RequestsMock) -> None:
    ims = "https://ims.test"
    rsps.add(responses.PUT, ims + "/instance_identity/v1/token", json={"access_token": "id"})
    server = TokenServer(lifetime=1000)
    rsps.add_callback(responses.POST, ims + "/instance_identity/v1/iam_token", callback=server)
    auth = VPCInstanceAuthenticator(url=ims + "/")
    with freeze_time(START) as clock:
        bearer(auth)
        clock.tick(799)
        bearer(auth)
        assert len(rsps.calls) == 2
        clock.tick(2)
        assert bearer(auth) == f"Bearer {server.tokens[1]}"
        assert len(rsps.calls) == 4


# -- CouchDB session ------------------------------------------------------------------


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False


def client_session() -> requests.Session:
    """Like the client's session: its jar refuses every cookie."""
    session = requests.Session()
    session.cookies.set_policy(_NoCookies())
    session.headers["User-Agent"] = "client-session-ua"
    return session


def login_reply(
    rsps: responses.RequestsMock, cookies: list[str], status: int = 200, **kwargs: Any
) -> None:
    headers = [("Set-Cookie", cookie) for cookie in cookies]
    rsps.add(
        responses.POST,
        SESSION_URL,
        status=status,
        headers=headers,
        json=kwargs.get("json", {"ok": True, "name": "alice", "roles": []}),
    )


def attached_session(
    rsps: responses.RequestsMock,
    cookies: list[str] | None = None,
    http_config: dict[str, Any] | None = None,
) -> CouchDbSessionAuthenticator:
    if cookies is not None:
        login_reply(rsps, cookies)
    auth = CouchDbSessionAuthenticator("alice", PASSWORD)
    auth.attach(client_session(), COUCH + "/", http_config or {"timeout": (60, 150)})
    return auth


def cookie_of(auth: Authenticator, existing: str | None = None) -> str:
    req = request_to()
    if existing is not None:
        req.headers["Cookie"] = existing
    auth.authenticate(req)
    return req.headers["Cookie"]


def test_session_login_shape_and_cookie(rsps: responses.RequestsMock) -> None:
    auth = attached_session(
        rsps, ["AuthSession=YWxpY2U6NjU5MjE6abc-_; Version=1; Path=/; HttpOnly; Max-Age=600"]
    )
    assert cookie_of(auth) == "AuthSession=YWxpY2U6NjU5MjE6abc-_"
    assert len(rsps.calls) == 1
    login = rsps.calls[0].request
    assert login.url == SESSION_URL
    assert login.method == "POST"
    assert json.loads(login.body or b"") == {"name": "alice", "password": PASSWORD}
    assert "Content-Encoding" not in login.headers
    assert login.headers["Content-Type"] == "application/json"
    # It went through the client's session (its default headers came along).
    assert login.headers["User-Agent"] == "client-session-ua"


def test_session_cookie_merges_with_other_cookies(rsps: responses.RequestsMock) -> None:
    auth = attached_session(rsps, ["AuthSession=v1; Max-Age=600"])
    assert cookie_of(auth, "theme=dark") == "theme=dark; AuthSession=v1"
    # A replay of an already authenticated request doesn't get a second AuthSession.
    assert cookie_of(auth, "theme=dark; AuthSession=stale") == "theme=dark; AuthSession=v1"


def test_session_not_attached() -> None:
    auth = CouchDbSessionAuthenticator("alice", PASSWORD)
    with pytest.raises(ValueError, match="not attached"):
        cookie_of(auth)


def test_session_renewed_at_80_percent(rsps: responses.RequestsMock) -> None:
    login_reply(rsps, ["AuthSession=first; Max-Age=600"])
    login_reply(rsps, ["AuthSession=second; Max-Age=600"])
    auth = attached_session(rsps)
    with freeze_time(START) as clock:
        assert cookie_of(auth) == "AuthSession=first"
        clock.tick(479)
        assert cookie_of(auth) == "AuthSession=first"
        assert len(rsps.calls) == 1
        clock.tick(2)
        assert cookie_of(auth) == "AuthSession=second"
        assert len(rsps.calls) == 2


def test_session_expiry_from_expires_attribute(rsps: responses.RequestsMock) -> None:
    # Expires 1000 s after START: renew after 800 s.
    login_reply(rsps, ["AuthSession=a; Path=/; Expires=Mon, 01 Jan 2024 00:16:40 GMT"])
    login_reply(rsps, ["AuthSession=b; Path=/"])
    auth = attached_session(rsps)
    with freeze_time(START) as clock:
        assert cookie_of(auth) == "AuthSession=a"
        clock.tick(799)
        assert cookie_of(auth) == "AuthSession=a"
        clock.tick(2)
        assert cookie_of(auth) == "AuthSession=b"
        # No Max-Age/Expires: assumed to live 24 h, renewed after 19.2 h.
        clock.tick(19.2 * 3600 - 1)
        assert cookie_of(auth) == "AuthSession=b"
        assert len(rsps.calls) == 2


def test_session_on_unauthorized_logs_in_again(rsps: responses.RequestsMock) -> None:
    login_reply(rsps, ["AuthSession=first; Max-Age=600"])
    login_reply(rsps, ["AuthSession=second; Max-Age=600"])
    auth = attached_session(rsps)
    rsps.add(responses.GET, COUCH + "/db", status=401, json={"error": "unauthorized"})
    http = client_session()
    req = request_to()
    auth.authenticate(req)
    response = http.send(req)
    assert response.status_code == 401
    assert auth.on_unauthorized(response) is True
    assert cookie_of(auth) == "AuthSession=second"
    assert [c.request.url for c in rsps.calls].count(SESSION_URL) == 2


def test_session_on_unauthorized_skips_login_if_already_renewed(
    rsps: responses.RequestsMock,
) -> None:
    login_reply(rsps, ["AuthSession=first; Max-Age=600"])
    login_reply(rsps, ["AuthSession=second; Max-Age=600"])
    auth = attached_session(rsps)
    rsps.add(responses.GET, COUCH + "/db", status=401)
    http = client_session()
    stale = [request_to(), request_to()]
    for req in stale:
        auth.authenticate(req)
    responses_401 = [http.send(req) for req in stale]
    # Two requests failed with the same cookie: only the first 401 causes a login.
    assert auth.on_unauthorized(responses_401[0]) is True
    assert auth.on_unauthorized(responses_401[1]) is True
    assert [c.request.url for c in rsps.calls].count(SESSION_URL) == 2
    assert cookie_of(auth) == "AuthSession=second"


def test_session_wrong_password_raises_unauthorized(
    rsps: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    login_reply(
        rsps,
        [],
        status=401,
        json={"error": "unauthorized", "reason": "Name or password is incorrect."},
    )
    auth = attached_session(rsps)
    with (
        caplog.at_level(logging.DEBUG, logger="cloudant_odm.client.auth"),
        pytest.raises(UnauthorizedError) as info,
    ):
        cookie_of(auth)
    assert info.value.status_code == 401
    assert info.value.reason == "Name or password is incorrect."
    assert PASSWORD not in str(info.value)
    assert "alice" in caplog.text
    assert PASSWORD not in caplog.text


def test_session_login_without_cookie_is_an_api_exception(rsps: responses.RequestsMock) -> None:
    auth = attached_session(rsps, cookies=[])
    with pytest.raises(ApiException, match="no AuthSession cookie"):
        cookie_of(auth)


def test_session_on_response_takes_refreshed_cookie(rsps: responses.RequestsMock) -> None:
    auth = attached_session(rsps, ["AuthSession=first; Max-Age=600"])
    assert cookie_of(auth) == "AuthSession=first"
    rsps.add(
        responses.GET,
        COUCH + "/db",
        json={},
        headers=[
            ("Set-Cookie", "other=1; Path=/"),
            ("Set-Cookie", "AuthSession=refreshed; Version=1; Path=/; Max-Age=600"),
        ],
    )
    auth.on_response(requests.get(COUCH + "/db"))
    assert cookie_of(auth) == "AuthSession=refreshed"
    assert [c.request.url for c in rsps.calls].count(SESSION_URL) == 1


def test_session_on_response_refresh_resets_the_renewal_clock(
    rsps: responses.RequestsMock,
) -> None:
    login_reply(rsps, ["AuthSession=first; Max-Age=600"])
    auth = attached_session(rsps)
    rsps.add(
        responses.GET,
        COUCH + "/db",
        json={},
        headers={"Set-Cookie": "AuthSession=fresh; Max-Age=600"},
    )
    with freeze_time(START) as clock:
        cookie_of(auth)
        clock.tick(300)
        auth.on_response(requests.get(COUCH + "/db"))
        clock.tick(479)  # 779 s after login, 479 s after the refresh
        assert cookie_of(auth) == "AuthSession=fresh"
        assert [c.request.url for c in rsps.calls].count(SESSION_URL) == 1


def test_session_on_response_logout_forgets_cookie(rsps: responses.RequestsMock) -> None:
    login_reply(rsps, ["AuthSession=first; Max-Age=600"])
    login_reply(rsps, ["AuthSession=second; Max-Age=600"])
    auth = attached_session(rsps)
    cookie_of(auth)
    rsps.add(
        responses.DELETE,
        SESSION_URL,
        json={"ok": True},
        headers={"Set-Cookie": "AuthSession=; Version=1; Path=/; HttpOnly"},
    )
    auth.on_response(requests.delete(SESSION_URL))
    assert cookie_of(auth) == "AuthSession=second"


def test_session_attach_resets_cookie(rsps: responses.RequestsMock) -> None:
    login_reply(rsps, ["AuthSession=first; Max-Age=600"])
    login_reply(rsps, ["AuthSession=second; Max-Age=600"])
    auth = attached_session(rsps)
    cookie_of(auth)
    auth.attach(client_session(), COUCH, {"timeout": 5})
    assert cookie_of(auth) == "AuthSession=second"


def test_session_login_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[dict[str, Any]] = []

    class Recording(requests.Session):
        def post(
            self, url: str | bytes, data: Any = None, json: Any = None, **kwargs: Any
        ) -> requests.Response:
            seen.append({"url": url, "json": json, **kwargs})
            response = requests.Response()
            response.status_code = 200
            response.headers["Set-Cookie"] = "AuthSession=x; Max-Age=600"
            return response

    auth = CouchDbSessionAuthenticator("alice", PASSWORD)
    proxies = {"http": "http://proxy.test:1"}
    auth.attach(Recording(), COUCH, {"timeout": (3, 4), "proxies": proxies, "verify": "/ca.pem"})
    assert cookie_of(auth) == "AuthSession=x"
    assert seen[0]["timeout"] == (3, 4)
    assert seen[0]["proxies"] == proxies
    assert seen[0]["verify"] == "/ca.pem"
    assert seen[0]["auth"] is not None  # the session's own auth is bypassed

    auth = CouchDbSessionAuthenticator("alice", PASSWORD, disable_ssl_verification=True)
    auth.attach(Recording(), COUCH, {"verify": True})
    cookie_of(auth)
    assert seen[1]["verify"] is False


def test_session_one_login_for_many_threads(rsps: responses.RequestsMock) -> None:
    def slow(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        time.sleep(0.2)
        return 200, {"Set-Cookie": "AuthSession=shared; Max-Age=600"}, '{"ok": true}'

    rsps.add_callback(responses.POST, SESSION_URL, callback=slow)
    auth = attached_session(rsps)
    barrier = threading.Barrier(8)
    seen: list[str] = []

    def worker() -> None:
        barrier.wait()
        seen.append(cookie_of(auth))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(rsps.calls) == 1
    assert seen == ["AuthSession=shared"] * 8


def test_session_log_lines_hide_url_credentials(
    rsps: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    url = "http://admin:url-Secret-pw@couch.test:5984"
    rsps.add(
        responses.POST,
        url + "/_session",
        headers={"Set-Cookie": "AuthSession=tok-value; Max-Age=600"},
        json={"ok": True},
    )
    auth = CouchDbSessionAuthenticator("alice", PASSWORD)
    auth.attach(client_session(), url, {})
    with caplog.at_level(logging.DEBUG, logger="cloudant_odm.client.auth"):
        assert cookie_of(auth) == "AuthSession=tok-value"
    assert "couch.test:5984/_session" in caplog.text
    for secret in ("url-Secret-pw", PASSWORD, "tok-value"):
        assert secret not in caplog.text


# -- the SDK's view of the session login ----------------------------------------------


def test_client_default_headers_go_on_the_login_too(rsps: responses.RequestsMock) -> None:
    from cloudant_odm.client import CloudantV1

    login_reply(rsps, ["AuthSession=v1; Max-Age=600"])
    rsps.get(SESSION_URL, json={"ok": True, "userCtx": {"name": "alice", "roles": []}})
    client = CloudantV1(CouchDbSessionAuthenticator("alice", PASSWORD))
    client.set_service_url(COUCH)
    client.set_default_headers({"X-Tenant": "t1"})
    client.get_session_information(headers={"X-Call": "c"})
    login, call = (c.request for c in rsps.calls)
    assert (login.method, login.headers["X-Tenant"]) == ("POST", "t1")
    assert "X-Call" not in login.headers  # a per-call header is that call's alone
    assert (call.headers["X-Tenant"], call.headers["X-Call"]) == ("t1", "c")


@pytest.mark.parametrize(
    ("http_config", "authenticator_says", "sent", "reported"),
    [
        ({}, False, None, False),  # checking on: requests' own default, not passed
        ({"verify": True}, False, None, False),
        ({"verify": False}, False, False, True),  # the client turned checking off
        ({}, True, False, True),  # the authenticator was told to
        ({"verify": "/etc/ca.pem"}, False, "/etc/ca.pem", False),  # a CA bundle
    ],
)
def test_login_verification_follows_the_client_and_the_authenticator(
    http_config: dict[str, Any], authenticator_says: bool, sent: Any, reported: bool
) -> None:
    seen: dict[str, Any] = {}

    class Recording(requests.Session):
        def request(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
            seen["verify"] = kwargs.get("verify")
            raise requests.ConnectionError("stop here")

    auth = CouchDbSessionAuthenticator("alice", PASSWORD, authenticator_says)
    auth.attach(Recording(), COUCH, http_config)
    assert auth.token_manager.disable_ssl_verification is reported
    with pytest.raises(requests.ConnectionError):
        auth.token_manager.get_token()
    assert seen["verify"] == sent


def test_token_times_under_the_sdk_names(rsps: responses.RequestsMock) -> None:
    with freeze_time(START) as clock:
        auth = attached_session(rsps, ["AuthSession=v1; Max-Age=600"])
        manager = auth.token_manager
        assert (manager.expire_time, manager.refresh_time) == (0, 0)
        assert manager.is_token_expired()
        assert manager._is_token_expired()
        cookie_of(auth)
        assert manager.expire_time == T0 + 600
        assert manager.refresh_time == T0 + 480  # at 80 % of the lifetime
        assert not manager.is_token_expired()
        assert manager._get_current_time() == int(T0)
        # refresh_time = 0 renews at the next request, expire_time = 0 expires it.
        login_reply(rsps, ["AuthSession=v2; Max-Age=600"])
        manager.refresh_time = 0
        assert cookie_of(auth) == "AuthSession=v2"
        clock.tick(1)
        login_reply(rsps, ["AuthSession=v3; Max-Age=600"])
        manager.expire_time = 0
        assert manager.is_token_expired()
        assert cookie_of(auth) == "AuthSession=v3"
        assert len(rsps.calls) == 3


# -- IAM assume (trusted profile from an API key) -------------------------------------


@pytest.mark.parametrize(
    ("profile", "form"),
    [
        ({"iam_profile_id": "Profile-1"}, {"profile_id": ["Profile-1"]}),
        ({"iam_profile_crn": "crn:v1:p"}, {"profile_crn": ["crn:v1:p"]}),
        (
            {"iam_profile_name": "reader", "iam_account_id": "acc-9"},
            {"profile_name": ["reader"], "account": ["acc-9"]},
        ),
    ],
)
def test_iam_assume_exchanges_the_apikey_token_for_the_profiles(
    rsps: responses.RequestsMock, profile: dict[str, str], form: dict[str, list[str]]
) -> None:
    server = iam_server(rsps)
    auth = IAMAssumeAuthenticator(
        APIKEY, client_id="cid", client_secret=CLIENT_SECRET, scope="s", **profile
    )
    assert auth.authentication_type() == "iamAssume"
    assert bearer(auth) == f"Bearer {server.tokens[1]}"  # the second token: the profile's
    apikey_call, assume_call = (c.request for c in rsps.calls)
    assert parse_qs(str(apikey_call.body))["grant_type"] == [
        "urn:ibm:params:oauth:grant-type:apikey"
    ]
    assert "Authorization" in apikey_call.headers  # client credentials: the key's request
    assert parse_qs(str(assume_call.body)) == {
        "grant_type": ["urn:ibm:params:oauth:grant-type:assume"],
        "access_token": [server.tokens[0]],
        "response_type": ["cloud_iam"],
        **form,
    }
    assert "Authorization" not in assume_call.headers  # ... and not the exchange's
    assert "iam-assume-authenticator" in assume_call.headers["User-Agent"]
    assert auth.token_manager.refresh_token is None
    assert APIKEY not in repr(auth)


def test_iam_assume_reuses_both_tokens_until_renewal(rsps: responses.RequestsMock) -> None:
    with freeze_time(START) as clock:
        server = iam_server(rsps)
        auth = IAMAssumeAuthenticator(APIKEY, iam_profile_id="p")
        bearer(auth)
        bearer(auth)
        assert len(rsps.calls) == 2
        clock.tick(3600 * 0.8 + 1)  # both tokens are due for renewal
        assert bearer(auth) == f"Bearer {server.tokens[3]}"
        assert len(rsps.calls) == 4


@pytest.mark.parametrize(
    ("kwargs", "why"),
    [
        ({}, "exactly one of iam_profile_id"),
        ({"iam_profile_id": "a", "iam_profile_crn": "b"}, "exactly one of iam_profile_id"),
        ({"iam_profile_name": "n"}, "go together"),
        ({"iam_profile_id": "a", "iam_account_id": "x"}, "go together"),
        ({"iam_profile_id": "a", "client_id": "c"}, "client_id and client_secret"),
    ],
)
def test_iam_assume_checks_its_options(kwargs: dict[str, str], why: str) -> None:
    with pytest.raises(ValueError, match=why):
        IAMAssumeAuthenticator(APIKEY, **kwargs)
    with pytest.raises(ValueError, match="needs an apikey"):
        IAMAssumeAuthenticator("", iam_profile_id="p")
    with pytest.raises(TypeError, match="must be a bool"):
        IAMAssumeAuthenticator(APIKEY, iam_profile_id="p", disable_ssl_verification="no")  # type: ignore[arg-type]


def test_iam_assume_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from cloudant_odm.client.config import get_authenticator_from_environment

    for key, value in {
        "SVC_AUTH_TYPE": "IAMASSUME",
        "SVC_APIKEY": APIKEY,
        "SVC_IAM_PROFILE_NAME": "reader",
        "SVC_IAM_ACCOUNT_ID": "acc-9",
        "SVC_AUTH_URL": "https://iam.test",
    }.items():
        monkeypatch.setenv(key, value)
    auth = get_authenticator_from_environment("svc")
    assert isinstance(auth, IAMAssumeAuthenticator)
    manager = auth.token_manager
    assert (manager.iam_profile_name, manager.iam_account_id) == ("reader", "acc-9")
    assert manager.url == manager.iam_delegate.url == "https://iam.test"

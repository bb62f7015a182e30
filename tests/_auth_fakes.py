"""A fake backend for every authenticator (IAM token endpoint, VPC metadata service,
CouchDB ``/_session``, the database itself) on one loopback ``ScriptedServer``, and
one ``AuthCase`` per authenticator with the secrets it handles.

Every secret contains ``S3cr3t`` (the JWT's signature too), so one substring search
finds any of them in a text; the Basic header's base64 form is listed separately.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from _proxy import RecordedRequest, Reply, json_reply

from cloudant_odm.client import (
    Authenticator,
    BasicAuthenticator,
    BearerTokenAuthenticator,
    CloudantV1,
    ContainerAuthenticator,
    CouchDbSessionAuthenticator,
    IAMAuthenticator,
    NoAuthAuthenticator,
    VPCInstanceAuthenticator,
)

MARK = "S3cr3t"
USERNAME = "alice"
PASSWORD = f"pw-{MARK}-7f1c"
BEARER = f"bearer-{MARK}-91ab"
APIKEY = f"apikey-{MARK}-c0de"
CLIENT_SECRET = f"client-{MARK}-4e4e"
REFRESH_TOKEN = f"refresh-{MARK}-5a5a"
CR_TOKEN = f"crtoken-{MARK}-6b6b"
IDENTITY_TOKEN = f"identity-{MARK}-7c7c"
COOKIE = f"cookie-{MARK}-8d8d"
FRESH_COOKIE = f"fresh-cookie-{MARK}-9e9e"
BASIC_HEADER = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def make_jwt(lifetime: float = 3600.0) -> str:
    """An (unsigned) JWT whose signature part carries the marker."""
    now = int(time.time())
    header = _b64(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    payload = _b64(json.dumps({"iat": now, "exp": now + int(lifetime), "sub": "x"}).encode())
    return f"{header}.{payload}.{MARK}Signature"


ACCESS_TOKEN = make_jwt()

ERROR_401 = {"error": "unauthorized", "reason": "Name or password is incorrect."}
IAM_400 = {"errorCode": "BXNIM0415E", "errorMessage": "Provided API key could not be found."}


@dataclass
class Backend:
    """Routes each request: token endpoints, /_session, and the database."""

    fail_login: bool = False
    refresh_cookie: bool = False

    def __call__(self, request: RecordedRequest) -> Reply:
        path = request.path
        if path.endswith("/identity/token"):
            if self.fail_login:
                return json_reply(400, IAM_400)
            body = {
                "access_token": ACCESS_TOKEN,
                "refresh_token": REFRESH_TOKEN,
                "token_type": "Bearer",
                "expires_in": 3600,
            }
            return json_reply(200, body)
        if path.startswith("/instance_identity/v1/token"):
            if self.fail_login:
                return json_reply(401, {"errors": [{"message": "no such profile"}]})
            return json_reply(200, {"access_token": IDENTITY_TOKEN, "expires_in": 300})
        if path.startswith("/instance_identity/v1/iam_token"):
            return json_reply(200, {"access_token": ACCESS_TOKEN, "expires_in": 3600})
        if path == "/_session" and request.method == "POST":
            if self.fail_login:
                return json_reply(401, ERROR_401)
            cookie = f"AuthSession={COOKIE}; Version=1; Path=/; HttpOnly; Max-Age=600"
            return json_reply(200, {"ok": True, "name": USERNAME}, {"Set-Cookie": cookie})
        if self.fail_login and "Authorization" in request.headers:
            return json_reply(401, ERROR_401)
        if path == "/db/doc":
            headers = {}
            if self.refresh_cookie:
                cookie = f"AuthSession={FRESH_COOKIE}; Version=1; Path=/; HttpOnly; Max-Age=600"
                headers["Set-Cookie"] = cookie
            return json_reply(200, {"_id": "doc", "_rev": "1-a"}, headers)
        return json_reply(404, {"error": "not_found", "reason": "missing"})


@dataclass
class AuthCase:
    name: str
    make: Callable[[str, Path], Authenticator]
    #: What the database request must carry: proves the secret was really used.
    sent_header: tuple[str, str] | None
    secrets: list[str] = field(default_factory=list)


def _container(url: str, tmp: Path) -> Authenticator:
    token_file = tmp / "cr-token"
    token_file.write_text(CR_TOKEN)
    return ContainerAuthenticator(
        cr_token_filename=str(token_file), iam_profile_name="profile", url=url
    )


CASES = [
    AuthCase("noauth", lambda url, tmp: NoAuthAuthenticator(), None),
    AuthCase(
        "basic",
        lambda url, tmp: BasicAuthenticator(USERNAME, PASSWORD),
        ("Authorization", f"Basic {BASIC_HEADER}"),
        [PASSWORD, BASIC_HEADER],
    ),
    AuthCase(
        "bearer",
        lambda url, tmp: BearerTokenAuthenticator(BEARER),
        ("Authorization", f"Bearer {BEARER}"),
        [BEARER],
    ),
    AuthCase(
        "session",
        lambda url, tmp: CouchDbSessionAuthenticator(USERNAME, PASSWORD),
        ("Cookie", f"AuthSession={COOKIE}"),
        [PASSWORD, COOKIE, FRESH_COOKIE],
    ),
    AuthCase(
        "iam",
        lambda url, tmp: IAMAuthenticator(
            APIKEY, url=url, client_id="client-id", client_secret=CLIENT_SECRET
        ),
        ("Authorization", f"Bearer {ACCESS_TOKEN}"),
        [APIKEY, CLIENT_SECRET, ACCESS_TOKEN, REFRESH_TOKEN],
    ),
    AuthCase(
        "container",
        _container,
        ("Authorization", f"Bearer {ACCESS_TOKEN}"),
        [CR_TOKEN, ACCESS_TOKEN, REFRESH_TOKEN],
    ),
    AuthCase(
        "vpc",
        lambda url, tmp: VPCInstanceAuthenticator(iam_profile_name="profile", url=url),
        ("Authorization", f"Bearer {ACCESS_TOKEN}"),
        [IDENTITY_TOKEN, ACCESS_TOKEN],
    ),
]


def client_with(case: AuthCase, url: str, tmp: Path) -> CloudantV1:
    client = CloudantV1(authenticator=case.make(url, tmp))
    client.set_service_url(url)
    return client


def leaks(text: str, case: AuthCase) -> list[str]:
    """The secrets found in ``text`` (empty when none is)."""
    found = [secret for secret in case.secrets if secret in text]
    if MARK in text and not found:
        found.append(f"...{MARK}...")
    return found

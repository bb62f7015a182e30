"""Secrets (passwords, API keys, client secrets, bearer and IAM tokens, refresh tokens,
compute-resource and VPC identity tokens, AuthSession cookies) never show up in
``repr()`` / ``str()`` of an authenticator, a client or a response, in log records at
DEBUG (ours, urllib3's, requests'), or in the text of an exception, for every
authenticator, after a successful login, a failed request and a failed login.

The token services, ``/_session`` and the database are faked on a loopback server
(``_auth_fakes``); one test logs in to the real local server with a real user.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from _auth_fakes import (
    CASES,
    COOKIE,
    FRESH_COOKIE,
    MARK,
    PASSWORD,
    AuthCase,
    Backend,
    client_with,
    leaks,
)
from _proxy import ScriptedServer
from _server import REQUEST_TIMEOUT, ServerConfig

from cloudant_odm.client import (
    ApiException,
    CloudantV1,
    CouchDbSessionAuthenticator,
    NoAuthAuthenticator,
    NotFoundError,
    UnauthorizedError,
)

LOGGERS = ("", "cloudant_odm", "cloudant_odm.client", "urllib3", "requests")


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def everything_logged(caplog: pytest.LogCaptureFixture) -> str:
    """Every record as formatted, plus its raw arguments and any exception text."""
    parts = [caplog.text]
    for record in caplog.records:
        parts.append(record.getMessage())
        parts.append(repr(record.args))
        if record.exc_info:
            parts.append(logging.Formatter().formatException(record.exc_info))
    return "\n".join(parts)


def exception_text(error: BaseException) -> str:
    parts = [str(error), repr(error), repr(error.args)]
    for name in ("message", "error", "reason"):
        parts.append(str(getattr(error, name, "")))
    cause = error.__cause__ or error.__context__
    if cause is not None:
        parts.append(exception_text(cause))
    return "\n".join(parts)


def object_text(*objects: object) -> str:
    return "\n".join(f"{obj!r}\n{obj!s}" for obj in objects)


@pytest.fixture
def backend() -> Iterator[tuple[Backend, ScriptedServer]]:
    fake = Backend()
    with ScriptedServer([fake]) as server:
        yield fake, server


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_no_secret_after_login_and_a_failed_request(
    case: AuthCase,
    backend: tuple[Backend, ScriptedServer],
    debug_logs: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    fake, server = backend
    fake.refresh_cookie = True  # the server renews the session cookie on a response
    client = client_with(case, server.url, tmp_path)
    response = client.get_document("db", "doc")
    with pytest.raises(NotFoundError) as caught:
        client.get_document("db", "missing")

    database_requests = [r for r in server.requests if r.path.startswith("/db/")]
    assert len(database_requests) == 2
    if case.sent_header is not None:  # the secret really was used
        name, value = case.sent_header
        assert value in database_requests[0].headers[name]
    text = "\n".join(
        [
            object_text(client, client.get_authenticator(), response),
            exception_text(caught.value),
            everything_logged(debug_logs),
        ]
    )
    assert leaks(text, case) == []
    assert "GET" in debug_logs.text  # DEBUG logging was really on


@pytest.mark.parametrize("case", CASES[1:], ids=[case.name for case in CASES[1:]])
def test_no_secret_after_a_failed_login(
    case: AuthCase,
    backend: tuple[Backend, ScriptedServer],
    debug_logs: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    fake, server = backend
    fake.fail_login = True
    client = client_with(case, server.url, tmp_path)
    with pytest.raises(ApiException) as caught:
        client.get_document("db", "doc")
    assert caught.value.status_code in (400, 401)
    text = "\n".join(
        [
            object_text(client, client.get_authenticator()),
            exception_text(caught.value),
            everything_logged(debug_logs),
        ]
    )
    assert leaks(text, case) == []


def test_credentials_in_the_service_url(
    backend: tuple[Backend, ScriptedServer], debug_logs: pytest.LogCaptureFixture
) -> None:
    _, server = backend
    secret = f"url-{MARK}-pw"
    client = CloudantV1(authenticator=NoAuthAuthenticator())
    client.set_service_url(server.url.replace("http://", f"http://admin:{secret}@"))
    with pytest.raises(NotFoundError) as not_found:
        client.get_document("db", "missing")
    assert server.requests[-1].headers["Authorization"].startswith("Basic ")
    # A connection failure names the URL too: still without the password.
    with ScriptedServer([(200, {}, b"")]) as closed:
        url = closed.url
    client.set_service_url(url.replace("http://", f"http://admin:{secret}@"))
    with pytest.raises(requests.ConnectionError) as refused:
        client.get_document("db", "missing")
    text = "\n".join(
        [
            object_text(client),
            exception_text(not_found.value),
            exception_text(refused.value),
            everything_logged(debug_logs),
        ]
    )
    assert MARK not in text


def test_session_cookie_in_a_response_is_masked_in_str(
    backend: tuple[Backend, ScriptedServer], tmp_path: Path
) -> None:
    fake, server = backend
    fake.refresh_cookie = True
    session_case = next(case for case in CASES if case.name == "session")
    response = client_with(session_case, server.url, tmp_path).get_document("db", "doc")
    assert FRESH_COOKIE in response.get_headers()["Set-Cookie"]  # still there for code
    assert FRESH_COOKIE not in str(response)
    assert "AuthSession=***" in str(response)


@pytest.fixture
def couch_user(server_config: ServerConfig, server_http: requests.Session) -> Iterator[str]:
    """A ``_users`` user on the local server, with the password PASSWORD."""
    if server_config.external:
        pytest.skip("creates a _users user: only on the local test server")
    name = f"secret-test-{uuid.uuid4().hex[:8]}"
    url = f"{server_config.url}/_users/org.couchdb.user:{name}"
    user = {"name": name, "password": PASSWORD, "roles": [], "type": "user"}
    created = server_http.put(url, json=user, timeout=REQUEST_TIMEOUT)
    assert created.status_code in (201, 202), created.text
    try:
        yield name
    finally:
        rev = server_http.get(url, timeout=REQUEST_TIMEOUT).json()["_rev"]
        server_http.delete(url, params={"rev": rev}, timeout=REQUEST_TIMEOUT)


def test_real_session_login_failed_request_and_failed_login(
    server_config: ServerConfig,
    db_name: str,
    couch_user: str,
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    authenticator = CouchDbSessionAuthenticator(couch_user, PASSWORD)
    client = CloudantV1(authenticator=authenticator)
    client.set_service_url(server_config.url)
    info = client.get_session_information().get_result()
    assert info["userCtx"]["name"] == couch_user
    token = authenticator.token_manager.token
    assert token is not None
    cookie = token.value  # the server's real AuthSession cookie
    assert len(cookie) > 10
    with pytest.raises(NotFoundError) as not_found:
        client.get_document(db_name, "missing")

    wrong = CloudantV1(authenticator=CouchDbSessionAuthenticator(couch_user, PASSWORD + "x"))
    wrong.set_service_url(server_config.url)
    with pytest.raises(UnauthorizedError) as failed_login:
        wrong.get_session_information()
    assert "Name or password is incorrect" in str(failed_login.value)

    text = "\n".join(
        [
            object_text(client, authenticator, wrong, wrong.get_authenticator()),
            exception_text(not_found.value),
            exception_text(failed_login.value),
            everything_logged(debug_logs),
        ]
    )
    assert cookie not in text
    assert PASSWORD not in text
    assert COOKIE not in text


def test_a_pickled_error_carries_no_credentials() -> None:
    """An ApiException sent through multiprocessing or a task queue is pickled: its
    response's request must not take the Authorization / Cookie headers along."""
    import pickle

    import requests

    from cloudant_odm.client import ConflictError
    from cloudant_odm.client.errors import error_from_response

    secret = "s3cr3t-pa55word"
    request = requests.Request(
        "PUT",
        f"http://admin:{secret}@127.0.0.1:5984/orders/o-1",
        headers={"Authorization": f"Basic {secret}", "Cookie": f"AuthSession={secret}"},
        data=f'{{"password": "{secret}"}}',
    ).prepare()
    response = requests.Response()
    response.status_code = 409
    response._content = b'{"error":"conflict","reason":"Document update conflict."}'
    response.headers = requests.structures.CaseInsensitiveDict(
        {"X-Couch-Request-ID": "abc123", "Set-Cookie": f"AuthSession={secret}"}
    )
    response.url = request.url or ""
    response.request = request
    error = error_from_response(response)

    data = pickle.dumps(error)
    assert secret.encode() not in data
    again = pickle.loads(data)
    assert isinstance(again, ConflictError)
    assert (again.status_code, again.error, again.reason) == (409, "conflict", error.reason)
    assert again.trace == "abc123"
    assert str(again) == str(error)
    assert again.http_response.json()["error"] == "conflict"
    assert again.http_response.request.method == "PUT"
    assert again.http_response.request.url == "http://127.0.0.1:5984/orders/o-1"


def test_credentials_over_plain_http_to_another_host_warn_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from cloudant_odm.client import BasicAuthenticator, CloudantV1, NoAuthAuthenticator

    def warnings_for(client: CloudantV1, url: str) -> list[str]:
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="cloudant_odm"):
            client.set_service_url(url)
        return [r.getMessage() for r in caplog.records if "plain http" in r.getMessage()]

    client = CloudantV1(BasicAuthenticator("admin", "pw"))
    found = warnings_for(client, "http://db.example.com:5984")
    assert len(found) == 1
    assert "db.example.com" in found[0]
    assert "pw" not in found[0].replace("plain", "")
    assert warnings_for(client, "http://other.example.com") == []  # once per client
    for url in ("https://db.example.com", "http://127.0.0.1:5984", "http://localhost:5984"):
        assert warnings_for(CloudantV1(BasicAuthenticator("admin", "pw")), url) == []
    assert warnings_for(CloudantV1(NoAuthAuthenticator()), "http://db.example.com") == []

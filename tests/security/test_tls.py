"""TLS certificate verification: on by default for every request the client sends
(database requests, session log-ins, IAM / container / VPC token requests), and turning
it off warns once per process."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _auth_fakes import CASES, AuthCase, Backend, client_with
from _proxy import ScriptedServer
from requests.adapters import HTTPAdapter

import cloudant_odm.client.transport as transport
from cloudant_odm.client import CloudantV1, CouchDbSessionAuthenticator


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every request any requests adapter sends, with the ``verify`` it is sent with."""
    recorded: list[dict[str, Any]] = []
    original = HTTPAdapter.send

    def send(self: HTTPAdapter, request: Any, **kwargs: Any) -> Any:
        recorded.append({"url": request.url, "verify": kwargs.get("verify")})
        return original(self, request, **kwargs)

    monkeypatch.setattr(HTTPAdapter, "send", send)
    # These would replace verify=True by a CA bundle path (still verifying).
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    return recorded


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer([Backend()]) as fake:
        yield fake


@pytest.fixture
def fresh_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forget whether this process already warned (another test may have)."""
    monkeypatch.setattr(transport, "_insecure_warned", False)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_verification_is_on_by_default(
    case: AuthCase, server: ScriptedServer, sent: list[dict[str, Any]], tmp_path: Path
) -> None:
    client = client_with(case, server.url, tmp_path)
    client.get_document("db", "doc")
    assert sent, "no request was sent"
    assert [request["verify"] for request in sent] == [True] * len(sent), sent
    if case.name in ("session", "iam", "container", "vpc"):
        assert len(sent) > 1  # the log-in / token requests were checked too


def test_verification_is_on_for_new_instance(
    server: ScriptedServer, sent: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IBM_CREDENTIALS_FILE", "/nonexistent/ibm-credentials.env")
    monkeypatch.setenv("CLOUDANT_URL", server.url)
    monkeypatch.setenv("CLOUDANT_AUTH_TYPE", "NOAUTH")
    CloudantV1.new_instance().get_document("db", "doc")
    assert [request["verify"] for request in sent] == [True]


def insecure_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if "verification is disabled" in str(w.message)]


def test_turning_verification_off_warns_once(
    server: ScriptedServer,
    sent: list[dict[str, Any]],
    fresh_warning: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IBM_CREDENTIALS_FILE", "/nonexistent/ibm-credentials.env")
    monkeypatch.setenv("CLOUDANT_URL", server.url)
    monkeypatch.setenv("CLOUDANT_AUTH_TYPE", "COUCHDB_SESSION")
    monkeypatch.setenv("CLOUDANT_USERNAME", "alice")
    monkeypatch.setenv("CLOUDANT_PASSWORD", "secret")
    monkeypatch.setenv("CLOUDANT_DISABLE_SSL", "true")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = CloudantV1(authenticator=CouchDbSessionAuthenticator("alice", "secret"))
        first.set_service_url(server.url)
        first.set_disable_ssl_verification(True)
        second = CloudantV1(authenticator=CouchDbSessionAuthenticator("alice", "secret"))
        second.set_service_url(server.url)
        second.set_disable_ssl_verification(True)
        third = CloudantV1(authenticator=CouchDbSessionAuthenticator("alice", "secret"))
        third.set_http_config({"verify": False})
        from_env = CloudantV1.new_instance()
    assert len(insecure_warnings(caught)) == 1
    assert "intercepted" in insecure_warnings(caught)[0]

    # ... and it is really off, for the session log-in as well as the request.
    for client in (first, from_env):
        sent.clear()
        client.get_document("db", "doc")
        assert [request["verify"] for request in sent] == [False, False], sent
        assert sent[0]["url"].endswith("/_session")

    # Turned back on, it verifies again, without a warning.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first.set_disable_ssl_verification(False)
        sent.clear()
        first.get_document("db", "doc")
    assert insecure_warnings(caught) == []
    assert all(request["verify"] is True for request in sent)


def test_verification_flag_must_be_a_bool(server: ScriptedServer) -> None:
    client = CloudantV1(authenticator=CouchDbSessionAuthenticator("alice", "secret"))
    with pytest.raises(TypeError):
        client.set_disable_ssl_verification("no")  # type: ignore[arg-type]

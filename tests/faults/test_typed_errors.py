"""Every error that ends an operation is typed: the ``ApiException`` subclass of the
last response, with the server's ``error`` and ``reason``, or a ``ConnectionFailed``
(a ``requests.ConnectionError``) that says where, why and after how many attempts."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from typing import Any

import pytest
import requests
from _proxy import Faults, RecordedRequest, RecordingProxy
from _server import eventually, settle

from cloudant_odm import BulkWriteError, Document, ObjectState, Session
from cloudant_odm.client import (
    CloudantV1,
    ConflictError,
    NoAuthAuthenticator,
    NotFoundError,
    ServiceUnavailableError,
    TooManyRequestsError,
)
from cloudant_odm.client.errors import (
    ConnectionFailed,
    ReadTimedOut,
    ResponseIncomplete,
)

RETRIES = 3
INJECTED = "injected by the test proxy"  # the reason in the proxy's own error bodies

Proxied = Callable[..., tuple[RecordingProxy, CloudantV1]]


class Note(Document, doc_type="fault_errors_note"):
    text: str


def always(fault: str, **options: Any) -> dict[str, Any]:
    """``proxied()`` arguments: every request gets ``fault``."""
    shares: dict[str, Any] = {fault: 1.0}
    return {"faults": Faults(**shares, **options)}


@pytest.mark.parametrize(
    ("fault", "status", "exception"),
    [
        ("unavailable", 503, ServiceUnavailableError),
        ("server_error", 500, ServiceUnavailableError),
        ("too_many", 429, TooManyRequestsError),
    ],
)
def test_exhausted_retries_raise_the_typed_error_with_the_servers_reason(
    proxied: Proxied, db_name: str, fault: str, status: int, exception: type[Exception]
) -> None:
    proxy, client = proxied(**always(fault, retry_after=0))
    client.enable_retries(max_retries=RETRIES, retry_interval=0.01)
    with pytest.raises(exception) as info:
        client.get_document(db_name, "anything")
    error = info.value
    assert type(error) is exception
    assert error.status_code == status  # type: ignore[attr-defined]
    assert error.error == fault  # type: ignore[attr-defined]
    assert error.reason == INJECTED  # type: ignore[attr-defined]
    assert str(error) == f"Error: {fault}: {INJECTED}, Status code: {status}"
    assert len(proxy.requests) == RETRIES + 1


def test_errors_from_the_server_itself_keep_its_reason(
    proxied: Proxied, client: CloudantV1, db_name: str
) -> None:
    _, through = proxied()
    through.enable_retries(max_retries=RETRIES, retry_interval=0.01)
    with pytest.raises(NotFoundError) as missing:
        through.get_document(db_name, "missing")
    client.put_document(db_name, "taken", {"n": 1})
    # On a cluster a copy that hasn't got the first write would take the second as a
    # conflicting revision instead of refusing it: let every copy have it first.
    settle(client, db_name, 1)
    with pytest.raises(ConflictError) as conflict:
        through.put_document(db_name, "taken", {"n": 2})
    for error, name in ((missing.value, "not_found"), (conflict.value, "conflict")):
        assert error.error == name
        assert error.http_response is not None
        body = error.http_response.json()  # exactly what the server said
        assert (error.error, error.reason) == (body["error"], body["reason"])
        assert error.message == f"{body['error']}: {body['reason']}"


def test_a_flush_that_exhausts_its_retries_raises_the_typed_error_and_keeps_everything_pending(
    proxied: Proxied, client: CloudantV1, db_name: str
) -> None:
    proxy, through = proxied(**always("unavailable"))
    through.enable_retries(max_retries=RETRIES, retry_interval=0.01)
    session = Session(through, db=db_name)
    notes = [Note(text=f"n{i}") for i in range(5)]
    session.add_all(notes)
    with pytest.raises(ServiceUnavailableError) as info:
        session.flush()
    assert not isinstance(info.value, BulkWriteError)
    assert info.value.reason == INJECTED
    assert all(session.state_of(n) is ObjectState.PENDING for n in notes)
    # The outage ends: the same session writes them, once each.
    proxy.set_faults(Faults())
    session.flush()
    assert all(session.state_of(n) is ObjectState.PERSISTENT for n in notes)

    def counted() -> None:  # (one copy per shard range: eventually on a cluster)
        assert client.get_database_information(db_name).get_result()["doc_count"] == 5

    eventually(counted)


# -- no (complete) answer at all ------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # closed again: connecting is refused


def test_connection_refused() -> None:
    port = closed_port()
    client = CloudantV1(authenticator=NoAuthAuthenticator())
    client.set_service_url(f"http://127.0.0.1:{port}")
    client.enable_retries(max_retries=RETRIES, retry_interval=0.01)
    with pytest.raises(requests.ConnectionError) as info:  # SDK-style handlers still work
        client.get_document("db", "doc")
    error = info.value
    assert type(error) is ConnectionFailed
    assert str(error) == (
        f"Could not connect to http://127.0.0.1:{port} (connection refused) "
        f"for GET /db/doc after {RETRIES + 1} attempts"
    )
    assert (error.url, error.method, error.path) == (f"http://127.0.0.1:{port}", "GET", "/db/doc")
    assert (error.attempts, error.cause) == (RETRIES + 1, "connection refused")
    assert isinstance(error.__cause__, requests.ConnectionError)  # what requests raised

    client.disable_retries()
    with pytest.raises(ConnectionFailed) as once:
        client.get_document("db", "doc")
    assert str(once.value).endswith("after 1 attempt (retries are off: see enable_retries())"), str(
        once.value
    )


@pytest.mark.parametrize("fault", ["reset", "reset_after"])
def test_connection_reset(proxied: Proxied, db_name: str, fault: str) -> None:
    proxy, client = proxied(**always(fault))
    client.enable_retries(max_retries=RETRIES, retry_interval=0.01)
    with pytest.raises(ConnectionFailed) as info:
        client.put_document(db_name, "doc", {"n": 1})
    assert str(info.value) == (
        f"The connection to {proxy.url} failed before a response arrived "
        f"(connection reset by peer) for PUT /{db_name}/doc after {RETRIES + 1} attempts"
    )
    assert len(proxy.requests) == RETRIES + 1


def test_truncated_bodies(proxied: Proxied, db_name: str) -> None:
    proxy, client = proxied(**always("truncate"))
    client.enable_retries(max_retries=RETRIES, retry_interval=0.01)
    with pytest.raises(ResponseIncomplete) as info:
        client.get_database_information(db_name)
    error = info.value
    # Still what requests raises for it, and a connection error.
    assert isinstance(error, requests.exceptions.ChunkedEncodingError)
    assert isinstance(error, requests.ConnectionError)
    assert re.fullmatch(
        rf"The response from {re.escape(proxy.url)} was cut off \(.+\) "
        rf"for GET /{db_name} after {RETRIES + 1} attempts",
        str(error),
    ), str(error)
    assert len(proxy.requests) == RETRIES + 1  # a cut-off body is retried too


class SlowReads(RecordingProxy):
    """Holds back the answer to every GET of a document."""

    def choose_fault(self, request: RecordedRequest) -> str | None:
        return "slow" if request.method == "GET" else None


def test_read_timeout(proxied: Proxied, db_name: str) -> None:
    proxy, client = proxied(SlowReads, faults=Faults(delay=0.4))
    client.set_http_config({"timeout": (5.0, 0.1)})
    for retries in (0, RETRIES):
        proxy.clear()
        if retries:
            client.enable_retries(max_retries=retries, retry_interval=0.01)
        with pytest.raises(ReadTimedOut) as info:
            client.get_document(db_name, "doc")
        error = info.value
        # Both a Timeout and a ConnectionError, with or without retries (requests
        # itself turns a read timeout into a ConnectionError once urllib3 retried it).
        assert isinstance(error, requests.ReadTimeout)
        assert isinstance(error, requests.ConnectionError)
        assert str(error).startswith(
            f"No response from {proxy.url} (read timeout after 0.1 s) for GET /{db_name}/doc "
            f"after {retries + 1} attempt"
        ), str(error)
        assert len(proxy.requests) == retries + 1

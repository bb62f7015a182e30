"""ApiException as the SDK shapes it: its text, its message, and the error body gaining
IBM Cloud's ``errors`` and ``trace`` (CouchDB's real error answers as fixtures)."""

from __future__ import annotations

import json
import pickle
from typing import Any

import pytest
import responses

from cloudant_odm.client import (
    ApiException,
    CloudantV1,
    NoAuthAuthenticator,
    NotFoundError,
    TooManyRequestsError,
)
from cloudant_odm.client.errors import augment_error_response

URL = "http://couch.test"
DOC = f"{URL}/db/doc"
NOT_FOUND = {"error": "not_found", "reason": "missing"}
JSON = "application/json"


@pytest.fixture
def client() -> CloudantV1:
    service = CloudantV1(NoAuthAuthenticator())
    service.set_service_url(URL)
    return service


def raised(client: CloudantV1, method: str = "GET") -> ApiException:
    call = client.head_document if method == "HEAD" else client.get_document
    with pytest.raises(ApiException) as info:
        call("db", "doc")
    return info.value


@responses.activate
def test_text_is_the_sdks_error_and_status(client: CloudantV1) -> None:
    responses.get(DOC, status=404, json=NOT_FOUND, headers={"X-Couch-Request-ID": "r1"})
    error = raised(client)
    assert isinstance(error, NotFoundError)
    assert str(error) == "Error: not_found: missing, Status code: 404"
    assert (error.error, error.reason, error.trace) == ("not_found", "missing", "r1")


@responses.activate
def test_global_transaction_id_ends_the_text(client: CloudantV1) -> None:
    responses.get(DOC, status=404, json=NOT_FOUND, headers={"X-Global-Transaction-ID": "g7"})
    assert str(raised(client)).endswith(
        "Status code: 404 , X-global-transaction-id: g7"
    )  # the SDK's spacing


@pytest.mark.parametrize(
    ("status", "body", "content_type", "message"),
    [
        (
            429,
            {"error": "too_many_requests", "reason": "slow down"},
            JSON,
            "too_many_requests: slow down",
        ),
        (400, {"error": "bad_request"}, JSON, "bad_request"),
        # A body with a trace already is IBM Cloud's own: its error is the message.
        (
            429,
            {"trace": "t", "error": "too_many_requests", "reason": "x"},
            JSON,
            "too_many_requests",
        ),
        (
            403,
            {"errors": [{"code": "forbidden", "message": "forbidden: no"}]},
            JSON,
            "forbidden: no",
        ),
        (400, {"message": "plain message"}, JSON, "plain message"),
        (400, {"errorMessage": "iam message"}, JSON, "iam message"),
        (401, {}, JSON, "Unauthorized: Access is denied due to invalid credentials"),
        (404, {}, JSON, "Not Found"),
        (444, {}, JSON, "{}"),  # no phrase for the status: the body's text
        (400, "proxy said no", "text/plain", "proxy said no"),
        # A CouchDB body under another content type keeps its reason all the same.
        (404, {"error": "not_found", "reason": "gone"}, "text/plain", "not_found: gone"),
        (404, {"error": "not_found", "reason": "gone"}, "Application/JSON", "not_found: gone"),
        (444, b"", "text/plain", "Unknown error"),
    ],
)
@responses.activate
def test_message_is_chosen_as_the_sdk_chooses_it(
    client: CloudantV1, status: int, body: Any, content_type: str, message: str
) -> None:
    raw = json.dumps(body) if isinstance(body, dict) else body
    responses.get(DOC, status=status, body=raw, content_type=content_type)
    error = raised(client)
    assert error.message == message
    assert str(error) == f"Error: {message}, Status code: {status}"


@responses.activate
def test_head_errors_have_no_body_to_read(client: CloudantV1) -> None:
    responses.head(DOC, status=404, headers={"X-Couch-Request-ID": "r1"})
    assert str(raised(client, "HEAD")) == "Error: Unknown error, Status code: 404"


@pytest.mark.parametrize(
    ("headers", "trace"),
    [
        ({"X-Couch-Request-ID": "couch-id"}, "couch-id"),
        ({"X-Request-ID": "ibm-id", "X-Couch-Request-ID": "couch-id"}, "ibm-id"),
        ({}, None),
    ],
)
@responses.activate
def test_couchdb_error_bodies_gain_errors_and_trace(
    client: CloudantV1, headers: dict[str, str], trace: str | None
) -> None:
    responses.get(DOC, status=404, json=NOT_FOUND, headers=headers)
    body = raised(client).http_response.json()  # type: ignore[union-attr]
    expected: dict[str, Any] = {
        **NOT_FOUND,
        "errors": [{"code": "not_found", "message": "not_found: missing"}],
    }
    if trace is not None:
        expected["trace"] = trace
    assert body == expected


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ({"trace": "t0", "error": "e", "reason": "r"}, JSON),  # IBM Cloud's own: kept
        ({"ok": False}, JSON),  # no error to describe
        ("not json", "text/plain"),
    ],
)
@responses.activate
def test_other_error_bodies_are_left_as_they_came(
    client: CloudantV1, body: Any, content_type: str
) -> None:
    raw = json.dumps(body) if isinstance(body, dict) else body
    responses.get(DOC, status=400, body=raw, content_type=content_type)
    response = raised(client).http_response
    assert response is not None
    assert response.text == raw


@responses.activate
def test_augmenting_twice_changes_nothing_more(client: CloudantV1) -> None:
    """The session's hook and error_from_response may both see a response."""
    responses.get(DOC, status=404, json=NOT_FOUND, headers={"X-Request-ID": "r"})
    response = raised(client).http_response
    assert response is not None
    once = response.content
    assert augment_error_response(response).content == once


def test_the_session_has_the_hook_once_also_after_set_http_client(client: CloudantV1) -> None:
    session = client.get_http_client()
    assert session.hooks["response"] == [augment_error_response]
    client.set_http_client(session)
    assert session.hooks["response"] == [augment_error_response]
    session.hooks["response"].clear()
    client.set_http_client(session)
    assert session.hooks["response"] == [augment_error_response]


def test_built_by_hand_as_in_the_sdk() -> None:
    assert str(ApiException(500, message="boom")) == "Error: boom, Status code: 500"
    assert str(ApiException(500)) == "Error: Internal Server Error, Status code: 500"
    assert ApiException(404, message="x").code == 404


@responses.activate
def test_text_survives_pickling(client: CloudantV1) -> None:
    responses.get(DOC, status=429, json={"error": "too_many_requests", "reason": "later"})
    error = raised(client)
    assert isinstance(error, TooManyRequestsError)
    copy = pickle.loads(pickle.dumps(error))
    assert str(copy) == str(error) == "Error: too_many_requests: later, Status code: 429"

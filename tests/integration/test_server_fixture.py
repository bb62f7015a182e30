"""The test-server fixtures themselves, with plain ``requests`` (no cloudant_odm)."""

from __future__ import annotations

import socket
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from _server import (
    POUCHDB_GAPS,
    ServerConfig,
    config_from_env,
    is_pouchdb,
    pouchdb_skip_reason,
    skip_on_pouchdb,
    unique_db_name,
)

TIMEOUT = 30


def assert_alive(server_url: str, session: requests.Session) -> None:
    response = session.get(server_url + "/", timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    assert isinstance(response.json(), dict)


def test_put_and_get_document(server_url: str, db_name: str, server_http: requests.Session) -> None:
    doc_url = f"{server_url}/{db_name}/hello"
    created = server_http.put(doc_url, json={"greeting": "hi", "n": 1}, timeout=TIMEOUT)
    assert created.status_code in (201, 202), created.text
    body = created.json()
    assert body["ok"] is True
    assert body["id"] == "hello"
    rev = body["rev"]
    assert rev.startswith("1-")

    fetched = server_http.get(doc_url, timeout=TIMEOUT)
    assert fetched.status_code == 200
    assert fetched.json() == {"_id": "hello", "_rev": rev, "greeting": "hi", "n": 1}

    info = server_http.get(f"{server_url}/{db_name}", timeout=TIMEOUT).json()
    assert info["db_name"] == db_name
    assert info["doc_count"] == 1


def test_db_name_is_fresh(server_url: str, db_name: str, server_http: requests.Session) -> None:
    assert db_name.startswith("cloudant-odm-test-")
    info = server_http.get(f"{server_url}/{db_name}", timeout=TIMEOUT).json()
    assert info["doc_count"] == 0
    names = {unique_db_name() for _ in range(50)}
    assert len(names) == 50
    assert all(name[0].isalpha() and name == name.lower() for name in names)


def test_server_survives_malformed_requests(
    server_url: str, db_name: str, server_http: requests.Session
) -> None:
    json_headers = {"Content-Type": "application/json"}

    # Malformed JSON body: a CouchDB-style 400.
    bad_json = server_http.put(
        f"{server_url}/{db_name}/broken", data=b'{"a": ', headers=json_headers, timeout=TIMEOUT
    )
    assert bad_json.status_code == 400
    assert bad_json.json()["error"] == "bad_request"

    # Wrong shapes that make PouchDB Server's routes throw: an error object, never a hang.
    wrong_shape = server_http.post(
        f"{server_url}/{db_name}/_bulk_docs", json={"docs": 5}, timeout=TIMEOUT
    )
    assert wrong_shape.status_code in (400, 500)
    assert {"error", "reason"} <= set(wrong_shape.json())

    garbage_multipart = server_http.put(
        f"{server_url}/{db_name}/multi",
        data=b"not really multipart",
        headers={"Content-Type": "multipart/related; boundary=xyz"},
        timeout=TIMEOUT,
    )
    assert 400 <= garbage_multipart.status_code < 600

    # Unknown endpoint and a URL that cannot be percent-decoded.
    unknown = server_http.get(f"{server_url}/{db_name}/_no_such_endpoint", timeout=TIMEOUT)
    assert 400 <= unknown.status_code < 500
    bad_escape = server_http.get(f"{server_url}/{db_name}/%zz", timeout=TIMEOUT)
    assert 400 <= bad_escape.status_code < 500

    # Not HTTP at all (local plain-HTTP servers only).
    parts = urlsplit(server_url)
    if parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost"):
        with socket.create_connection((parts.hostname, parts.port or 80), timeout=TIMEOUT) as raw:
            raw.sendall(b"THIS IS NOT HTTP\r\n\r\n")
            reply = raw.recv(1024)
        assert reply == b"" or reply.startswith(b"HTTP/1.1 400")

    # Still alive, and still working.
    assert_alive(server_url, server_http)
    ok = server_http.put(f"{server_url}/{db_name}/after", json={"still": "ok"}, timeout=TIMEOUT)
    assert ok.status_code in (201, 202), ok.text


def test_server_info(server_info: dict[str, Any], is_pouchdb: bool, server_config: Any) -> None:
    assert isinstance(server_info, dict)
    if server_config.source == "launched":
        assert is_pouchdb
    if is_pouchdb:
        assert server_info["vendor"]["name"] == "PouchDB authors"
    else:
        assert "couchdb" in server_info


@skip_on_pouchdb("partitions")
def test_skip_on_pouchdb_marker(server_url: str, server_http: requests.Session) -> None:
    # Runs against CouchDB / Cloudant only.
    name = unique_db_name()
    created = server_http.put(f"{server_url}/{name}?partitioned=true", timeout=TIMEOUT)
    try:
        assert created.status_code in (201, 202), created.text
        info = server_http.get(f"{server_url}/{name}", timeout=TIMEOUT).json()
        assert info["props"]["partitioned"] is True
    finally:
        server_http.delete(f"{server_url}/{name}", timeout=TIMEOUT)


def test_requires_fixture(requires: Any, is_pouchdb: bool) -> None:
    requires("search")
    assert not is_pouchdb


# Helpers, no server involved.


def test_unknown_gap_names_are_rejected() -> None:
    with pytest.raises(KeyError):
        skip_on_pouchdb("no-such-feature")
    with pytest.raises(KeyError):
        pouchdb_skip_reason(["partitions", "no-such-feature"])
    assert "partitions" in pouchdb_skip_reason(["partitions"])
    assert all(isinstance(reason, str) and reason for reason in POUCHDB_GAPS.values())


def test_config_from_env() -> None:
    assert config_from_env({}) is None
    local = config_from_env({"CLOUDANT_TEST_SERVER_URL": "http://127.0.0.1:1234/"})
    assert local == ServerConfig(url="http://127.0.0.1:1234", source="CLOUDANT_TEST_SERVER_URL")
    assert not local.external

    basic = config_from_env(
        {
            "CLOUDANT_URL": "https://example.invalid",
            "CLOUDANT_USERNAME": "u",
            "CLOUDANT_PASSWORD": "p",
            "CLOUDANT_TEST_SERVER_URL": "http://ignored",
        }
    )
    assert basic is not None
    assert basic.external
    assert (basic.url, basic.auth_type, basic.username, basic.password) == (
        "https://example.invalid",
        "BASIC",
        "u",
        "p",
    )

    iam = config_from_env({"CLOUDANT_URL": "https://x.invalid", "CLOUDANT_APIKEY": "k"})
    assert iam is not None
    assert iam.auth_type == "IAM"

    explicit = config_from_env({"CLOUDANT_URL": "http://h", "CLOUDANT_AUTH_TYPE": "noauth"})
    assert explicit is not None
    assert explicit.auth_type == "NOAUTH"


def test_is_pouchdb() -> None:
    assert is_pouchdb({"express-pouchdb": "Welcome!", "vendor": {"name": "PouchDB authors"}})
    assert not is_pouchdb(
        {"couchdb": "Welcome", "vendor": {"name": "The Apache Software Foundation"}}
    )
    assert not is_pouchdb({})

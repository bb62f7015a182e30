"""Dot-segment ids, without a server: what goes on the wire for ``.`` and ``..``.

``requests`` and urllib3 fold a literal ``.`` / ``..`` path segment into its parent,
and ``requests`` turns ``%2E`` back into ``.``. Before the fix,
``delete_document(db, ".")`` sent ``DELETE /db/`` (deleting the database) and
``get_document(db, "..")`` read ``/``. Every id, attachment name and design document
name that is a dot-segment must reach the server as ``%2E`` / ``%2E%2E``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from _proxy import ScriptedServer, json_reply

from cloudant_odm.client import CloudantV1, NoAuthAuthenticator

OK = json_reply(200, {"ok": True, "id": "x", "rev": "1-a"})


@pytest.fixture
def scripted() -> Iterator[ScriptedServer]:
    with ScriptedServer([OK]) as server:
        yield server


def client_for(url: str) -> CloudantV1:
    client = CloudantV1(authenticator=NoAuthAuthenticator())
    client.set_service_url(url)
    return client


CALLS: list[tuple[Callable[[CloudantV1], object], str]] = [
    (lambda c: c.get_document("db", ".."), "GET /db/%2E%2E"),
    (lambda c: c.get_document("db", "."), "GET /db/%2E"),
    (lambda c: c.delete_document("db", ".", rev="1-a"), "DELETE /db/%2E?rev=1-a"),
    (lambda c: c.put_document("db", "..", {"a": 1}), "PUT /db/%2E%2E"),
    (lambda c: c.head_document("db", "."), "HEAD /db/%2E"),
    (lambda c: c.get_document("db", "_design/.."), "GET /db/_design/%2E%2E"),
    (lambda c: c.get_design_document("db", ".."), "GET /db/_design/%2E%2E"),
    (lambda c: c.get_local_document("db", "."), "GET /db/_local/%2E"),
    (lambda c: c.get_attachment("db", "doc", ".."), "GET /db/doc/%2E%2E"),
    (lambda c: c.get_attachment("db", "..", "."), "GET /db/%2E%2E/%2E"),
    (lambda c: c.get_document("db", "..."), "GET /db/..."),
    (lambda c: c.get_document("db", "../x"), "GET /db/..%2Fx"),
    (lambda c: c.get_document("db", "%2E"), "GET /db/%252E"),
]


@pytest.mark.parametrize(("call", "line"), CALLS, ids=[line for _, line in CALLS])
def test_dot_segments_are_sent_encoded(
    scripted: ScriptedServer, call: Callable[[CloudantV1], object], line: str
) -> None:
    call(client_for(scripted.url))
    assert scripted.lines() == [line]


def test_service_url_path_prefix_is_kept(scripted: ScriptedServer) -> None:
    client_for(scripted.url + "/couch/").get_document("db", "..")
    assert scripted.lines() == ["GET /couch/db/%2E%2E"]

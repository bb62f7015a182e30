"""AsyncCloudantV1 against the real server (local PouchDB Server, or CLOUDANT_URL)."""

from __future__ import annotations

import asyncio
import io
import json
import uuid
from collections.abc import Iterator

import pytest
import requests
from _server import ServerConfig

pytest.importorskip("httpx", reason="the async extra is not installed")

from cloudant_odm.aio import AsyncCloudantV1, AsyncStream
from cloudant_odm.client import (
    ConflictError,
    CouchDbSessionAuthenticator,
    Document,
    NoAuthAuthenticator,
    NotFoundError,
    UnauthorizedError,
)

pytestmark = [pytest.mark.anyio, pytest.mark.server]


async def test_document_crud(aclient: AsyncCloudantV1, db_name: str) -> None:
    info = (await aclient.get_database_information(db_name)).get_result()
    assert info["db_name"] == db_name
    created = (await aclient.post_document(db_name, Document(id="a", n=1))).get_result()
    assert created["ok"] is True
    assert (await aclient.head_document(db_name, "a")).get_status_code() == 200

    doc = (await aclient.get_document(db_name, "a")).get_result()
    assert (doc["_id"], doc["n"]) == ("a", 1)
    doc["n"] = 2
    updated = (await aclient.put_document(db_name, "a", doc)).get_result()
    with pytest.raises(ConflictError, match="conflict"):
        await aclient.put_document(db_name, "a", {"n": 3})  # no _rev

    bulk = [{"_id": f"b{i}", "n": i} for i in range(20)]
    written = (await aclient.post_bulk_docs(db_name, {"docs": bulk})).get_result()
    assert all(row.get("ok") for row in written)
    rows = (await aclient.post_all_docs(db_name, include_docs=True)).get_result()["rows"]
    assert [r["id"] for r in rows] == sorted(["a", *(d["_id"] for d in bulk)])
    found = (await aclient.post_find(db_name, selector={"n": {"$gte": 18}})).get_result()
    assert sorted(d["_id"] for d in found["docs"]) == ["b18", "b19"]

    stream = (await aclient.get_document_as_stream(db_name, "a")).get_result()
    assert isinstance(stream, AsyncStream)
    async with stream:
        assert json.loads(await stream.aread())["n"] == 2

    await aclient.delete_document(db_name, "a", rev=updated["rev"])
    with pytest.raises(NotFoundError):
        await aclient.get_document(db_name, "a")


async def test_attachments_stream_both_ways(aclient: AsyncCloudantV1, db_name: str) -> None:
    data = bytes(range(256)) * 4096  # 1 MiB that does not compress to nothing
    rev = (await aclient.put_document(db_name, "att", {"kind": "file"})).get_result()["rev"]
    put = await aclient.put_attachment(
        db_name, "att", "blob.bin", io.BytesIO(data), "application/octet-stream", rev=rev
    )
    assert put.get_result()["ok"] is True
    stream = (await aclient.get_attachment(db_name, "att", "blob.bin", stream=True)).get_result()
    async with stream:
        received = b"".join([chunk async for chunk in stream])
    assert received == data


async def test_a_thousand_concurrent_gets_through_one_client(
    aclient: AsyncCloudantV1, db_name: str
) -> None:
    docs = [{"_id": f"d{i:03}", "n": i} for i in range(100)]
    await aclient.post_bulk_docs(db_name, {"docs": docs})

    async def read(i: int) -> int:
        doc = (await aclient.get_document(db_name, f"d{i % 100:03}")).get_result()
        return int(doc["n"])

    values = await asyncio.gather(*(read(i) for i in range(1000)))
    assert values == [i % 100 for i in range(1000)]


@pytest.fixture
def login(server_config: ServerConfig, server_http: requests.Session) -> Iterator[tuple[str, str]]:
    """A name and password that ``_session`` accepts: a user made for the test on the
    local server, the configured user (basic auth) on CLOUDANT_URL."""
    if server_config.external:
        if server_config.auth_type not in ("BASIC", "COUCHDB_SESSION"):
            pytest.skip("logs in with a name and password: CLOUDANT_URL uses none")
        yield server_config.username or "", server_config.password or ""
        return
    name = f"user-{uuid.uuid4().hex[:8]}"
    user_url = f"{server_config.url}/_users/org.couchdb.user:{name}"
    user = {"name": name, "password": "s3cret!", "roles": [], "type": "user"}
    assert server_http.put(user_url, json=user, timeout=30).status_code in (201, 202)
    try:
        yield name, "s3cret!"
    finally:
        rev = server_http.get(user_url, timeout=30).json()["_rev"]
        server_http.delete(user_url, params={"rev": rev}, timeout=30)


async def test_session_cookie_auth(
    server_config: ServerConfig, login: tuple[str, str], db_name: str
) -> None:
    name, password = login
    async with AsyncCloudantV1(CouchDbSessionAuthenticator(name, password)) as client:
        client.set_service_url(server_config.url)
        # Ten tasks at once, one login between them.
        sessions = await asyncio.gather(*(client.get_session_information() for _ in range(10)))
        assert {s.get_result()["userCtx"]["name"] for s in sessions} == {name}
        await client.put_document(db_name, "by-cookie", {"v": 1})
        assert (await client.get_document(db_name, "by-cookie")).get_result()["v"] == 1

    async with AsyncCloudantV1(CouchDbSessionAuthenticator(name, "wrong")) as wrong:
        wrong.set_service_url(server_config.url)
        with pytest.raises(UnauthorizedError):
            await wrong.get_document(db_name, "by-cookie")


async def test_copy_compact_and_log_in(
    aclient: AsyncCloudantV1, server_config: ServerConfig, db_name: str, login: tuple[str, str]
) -> None:
    """The operations made of more than one declaration (the catalogue's Compounds)."""
    await aclient.put_document(db_name, "src", {"v": 1})
    await aclient.copy_document(db_name, "src", "dst/with slash")
    copied = (await aclient.get_document(db_name, "dst/with slash")).get_result()
    assert copied["v"] == 1
    with pytest.raises(ConflictError):  # overwriting needs the destination's revision
        await aclient.copy_document(db_name, "src", "dst/with slash")
    await aclient.copy_document(db_name, "src", "dst/with slash", destination_rev=copied["_rev"])
    assert (await aclient.get_document(db_name, "dst/with slash")).get_result()["_rev"][:2] == "2-"

    ddoc = {"views": {"all": {"map": "function (doc) { emit(doc._id, null); }"}}}
    await aclient.put_design_document(db_name, "app", ddoc)
    await aclient.copy_design_document(db_name, "app", "app_copy")
    copy = (await aclient.get_design_document(db_name, "app_copy")).get_result()
    assert copy["views"] == ddoc["views"]

    assert (await aclient.post_compact(db_name)).get_result()["ok"] is True
    name, password = login
    async with AsyncCloudantV1(NoAuthAuthenticator()) as anonymous:
        anonymous.set_service_url(server_config.url)
        session = await anonymous.post_session(name, password)
    assert session.get_result()["ok"] is True
    assert "AuthSession=" in session.get_headers()["Set-Cookie"]

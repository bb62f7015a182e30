"""The endpoint client against a real server (local PouchDB Server, or CLOUDANT_URL)."""

from __future__ import annotations

import io
import json
import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests
from _server import ServerConfig, eventually, settle

from cloudant_odm.client import (
    BadRequestError,
    BulkDocs,
    CloudantV1,
    ConflictError,
    CouchDbSessionAuthenticator,
    DesignDocument,
    DesignDocumentViewsMapReduce,
    Document,
    ForbiddenError,
    NotFoundError,
    PreconditionFailedError,
    UnauthorizedError,
)

Requires = Callable[..., None]


def test_database_lifecycle(client: CloudantV1, db_name: str) -> None:
    info = client.get_database_information(db_name).get_result()
    assert info["db_name"] == db_name
    assert info["doc_count"] == 0
    assert client.head_database(db_name).get_status_code() == 200
    with pytest.raises(PreconditionFailedError):
        client.put_database(db_name)
    assert db_name in client.get_all_dbs().get_result()
    with pytest.raises(NotFoundError):
        client.get_database_information(db_name + "-missing")


def test_document_crud_with_sdk_document_model(client: CloudantV1, db_name: str) -> None:
    doc = Document(id="example", name="Bob Smith")
    created = client.post_document(db_name, doc).get_result()
    assert created["id"] == "example"  # the SDK's own model would give a random id here
    doc.rev = created["rev"]

    fetched = client.get_document(db_name, "example").get_result()
    assert fetched == {"_id": "example", "_rev": doc.rev, "name": "Bob Smith"}

    doc.address = "19 Front Street"
    updated = client.put_document(db_name, "example", doc).get_result()
    assert updated["rev"].startswith("2-")

    with pytest.raises(ConflictError) as info:
        client.put_document(db_name, "example", {"_id": "example", "_rev": doc.rev})
    assert info.value.error == "conflict"

    client.delete_document(db_name, "example", rev=updated["rev"])
    with pytest.raises(NotFoundError) as missing:
        client.get_document(db_name, "example")
    assert missing.value.reason in ("deleted", "missing")  # CouchDB: deleted; PouchDB: missing


TRICKY_IDS = ["a/b", "../_config", "?x=1", "#f", "%2F", "a+b c", "é☃", "x;y,z&", "a%20b"]


def test_tricky_ids_reach_exactly_the_document_they_name(client: CloudantV1, db_name: str) -> None:
    for n, doc_id in enumerate(TRICKY_IDS):
        client.put_document(db_name, doc_id, {"n": n})
    stored = [row["id"] for row in client.post_all_docs(db_name).get_result()["rows"]]
    assert sorted(stored) == sorted(TRICKY_IDS)
    for n, doc_id in enumerate(TRICKY_IDS):
        doc = client.get_document(db_name, doc_id).get_result()
        assert (doc["_id"], doc["n"]) == (doc_id, n)


def test_design_and_local_ids_through_document_operations(client: CloudantV1, db_name: str) -> None:
    client.put_design_document(db_name, "app", {"views": {}})
    assert client.get_document(db_name, "_design/app").get_result()["_id"] == "_design/app"
    client.put_local_document(db_name, "_local/cp", {"seq": "1"})
    assert client.get_local_document(db_name, "cp").get_result()["seq"] == "1"


def test_bulk_docs_bulk_get_and_all_docs(client: CloudantV1, db_name: str) -> None:
    docs = [Document(id=f"d{i:03}", n=i) for i in range(50)]
    results = client.post_bulk_docs(db_name, BulkDocs(docs=docs)).get_result()
    assert [r["id"] for r in results] == [d.id for d in docs]
    assert all(r.get("ok") for r in results)

    page = client.post_all_docs(
        db_name, include_docs=True, start_key="d010", end_key="d014"
    ).get_result()
    assert [row["doc"]["n"] for row in page["rows"]] == [10, 11, 12, 13, 14]

    keyed = client.post_all_docs(db_name, keys=["d001", "nope"]).get_result()["rows"]
    assert keyed[0]["id"] == "d001"
    assert keyed[1]["error"] == "not_found"

    got = client.post_bulk_get(db_name, [{"id": "d002"}, {"id": "d003"}]).get_result()
    assert [item["docs"][0]["ok"]["n"] for item in got["results"]] == [2, 3]

    stale = [{"_id": "d000", "_rev": "1-0000", "n": -1}]
    conflict = client.post_bulk_docs(db_name, {"docs": stale}).get_result()
    assert conflict[0]["error"] == "conflict"


def test_streamed_all_docs_is_read_incrementally(client: CloudantV1, db_name: str) -> None:
    client.post_bulk_docs(db_name, {"docs": [{"_id": f"s{i}"} for i in range(200)]})
    response = client.post_all_docs_as_stream(db_name, include_docs=True).get_result()
    assert isinstance(response, requests.Response)
    with response:
        assert response.raw is not None
        chunks = list(response.iter_content(1024))
    assert len(chunks) > 1
    assert len(json.loads(b"".join(chunks))["rows"]) == 200


def test_gzip_bodies_are_accepted(client: CloudantV1, db_name: str) -> None:
    assert client.get_enable_gzip_compression()
    client.post_bulk_docs(db_name, {"docs": [{"_id": "g1", "text": "x" * 5000}]})
    assert client.get_document(db_name, "g1").get_result()["text"] == "x" * 5000


def test_attachments_stream_up_and_down(client: CloudantV1, db_name: str) -> None:
    rev = client.put_document(db_name, "doc", {}).get_result()["rev"]
    payload = bytes(range(256)) * 400
    put = client.put_attachment(
        db_name, "doc", "data.bin", io.BytesIO(payload), "application/octet-stream", rev=rev
    ).get_result()
    head = client.head_attachment(db_name, "doc", "data.bin")
    assert head.get_result() is None
    assert int(head.get_headers()["Content-Length"]) == len(payload)
    body = client.get_attachment(db_name, "doc", "data.bin").get_result()
    assert body.content == payload
    client.delete_attachment(db_name, "doc", "data.bin", rev=put["rev"])
    with pytest.raises(NotFoundError):
        client.get_attachment(db_name, "doc", "data.bin")


def test_mango_index_and_find(client: CloudantV1, db_name: str) -> None:
    client.post_bulk_docs(
        db_name, {"docs": [{"_id": f"o{i}", "type": "order", "total": i} for i in range(20)]}
    )
    made = client.post_index(
        db_name, {"fields": ["type", "total"]}, ddoc="orders", name="by-total", type="json"
    ).get_result()
    assert made["result"] in ("created", "exists")

    def find() -> None:
        # On a cluster the new index, and the documents, reach every copy a moment later.
        found = client.post_find(
            db_name,
            {"type": "order", "total": {"$gte": 15}},
            fields=["_id", "total"],
            sort=[{"type": "asc"}, {"total": "asc"}],
        ).get_result()
        assert [d["total"] for d in found["docs"]] == [15, 16, 17, 18, 19]

    eventually(find, retry_on=(AssertionError, BadRequestError))
    names = [i["name"] for i in client.get_indexes_information(db_name).get_result()["indexes"]]
    assert "by-total" in names


JS_DDOC = DesignDocument(
    views={
        "by_status": DesignDocumentViewsMapReduce(
            map="function (doc) { if (doc.status) { emit(doc.status, doc.total); } }",
            reduce="_sum",
        )
    },
    filters={"by_status": "function (doc, req) { return doc.status === req.query.status; }"},
    validate_doc_update=(
        "function (newDoc) { if (newDoc.total < 0) "
        "{ throw({forbidden: 'total must not be negative'}); } }"
    ),
)


def _seed_orders(client: CloudantV1, db: str) -> None:
    statuses = ["new", "paid", "new", "shipped", "paid", "new"]
    docs = [{"_id": f"o{i}", "status": s, "total": i + 1} for i, s in enumerate(statuses)]
    client.post_bulk_docs(db, {"docs": docs})
    settle(client, db, len(docs))  # queried through views and _changes next


def test_design_document_views_filters_validation(client: CloudantV1, db_name: str) -> None:
    client.put_design_document(db_name, "app", JS_DDOC)
    got = client.get_design_document(db_name, "_design/app").get_result()
    assert set(got["views"]) == {"by_status"}
    assert "by_status" in got["filters"]
    _seed_orders(client, db_name)

    def views() -> None:  # a view reads one copy per shard range: eventually there
        grouped = client.post_view(db_name, "app", "by_status", group=True).get_result()
        totals = {r["key"]: r["value"] for r in grouped["rows"]}
        assert totals == {"new": 10, "paid": 7, "shipped": 4}
        rows = client.post_view(
            db_name, "app", "by_status", key="paid", reduce=False, include_docs=True
        ).get_result()["rows"]
        assert sorted(r["id"] for r in rows) == ["o1", "o4"]
        assert all(r["doc"]["status"] == "paid" for r in rows)

    eventually(views)

    with pytest.raises(ForbiddenError) as rejected:
        client.post_document(db_name, {"_id": "bad", "total": -5})
    assert "total must not be negative" in str(rejected.value)

    def changes() -> None:
        found = client.post_changes(
            db_name, filter="app/by_status", filter_params={"status": "shipped"}
        ).get_result()
        assert [c["id"] for c in found["results"]] == ["o3"]

    eventually(changes)

    rev = client.head_design_document(db_name, "app").get_headers().get("ETag")
    assert rev is not None
    current = client.get_design_document(db_name, "app").get_result()["_rev"]
    client.delete_design_document(db_name, "app", rev=current)
    with pytest.raises(NotFoundError):  # by id: a quorum read, at once
        client.get_design_document(db_name, "app")


def test_design_document_info(client: CloudantV1, db_name: str, requires: Requires) -> None:
    client.put_design_document(db_name, "app", JS_DDOC)
    info = client.get_design_document_information(db_name, "app").get_result()
    requires("ddoc_info")  # PouchDB answers 200 with no index information
    assert info["name"] == "app"
    assert info["view_index"]["signature"]


def test_copy_design_document_plain_from_rev_and_over_existing(
    client: CloudantV1, db_name: str
) -> None:
    first = client.put_design_document(db_name, "app", JS_DDOC).get_result()["rev"]
    changed = DesignDocument.from_dict(
        {**JS_DDOC.to_dict(), "_rev": first, "language": "javascript"}
    )
    client.put_design_document(db_name, "app", changed)

    client.copy_design_document(db_name, "app", "app_OLD")
    old = client.get_design_document(db_name, "app_OLD").get_result()
    assert old["language"] == "javascript"

    client.copy_design_document(db_name, "app", "app_V1", rev=first)
    v1 = client.get_design_document(db_name, "app_V1").get_result()
    assert "language" not in v1

    with pytest.raises(ConflictError):
        client.copy_design_document(db_name, "app_V1", "app_OLD")
    client.copy_design_document(db_name, "app_V1", "_design/app_OLD", destination_rev=old["_rev"])
    replaced = client.get_design_document(db_name, "app_OLD").get_result()
    assert "language" not in replaced
    assert replaced["_rev"].startswith("2-")


def test_copy_document(client: CloudantV1, db_name: str) -> None:
    client.put_document(db_name, "src", {"v": 1})
    client.copy_document(db_name, "src", "dst/with slash")
    assert client.get_document(db_name, "dst/with slash").get_result()["v"] == 1


def test_changes_builtin_filters(client: CloudantV1, db_name: str) -> None:
    _seed_orders(client, db_name)
    client.put_design_document(db_name, "app", JS_DDOC)

    by_ids = client.post_changes(db_name, filter="_doc_ids", doc_ids=["o2", "o5"]).get_result()
    assert sorted(c["id"] for c in by_ids["results"]) == ["o2", "o5"]

    by_view = client.post_changes(db_name, filter="_view", view="app/by_status").get_result()
    assert sorted(c["id"] for c in by_view["results"]) == [f"o{i}" for i in range(6)]

    by_selector = client.post_changes(
        db_name, filter="_selector", selector={"status": "paid"}
    ).get_result()
    assert sorted(c["id"] for c in by_selector["results"]) == ["o1", "o4"]


def test_changes_design_filter(client: CloudantV1, db_name: str, requires: Requires) -> None:
    requires("changes_design_filter")
    _seed_orders(client, db_name)
    client.put_design_document(db_name, "app", JS_DDOC)
    design = client.post_changes(db_name, filter="_design").get_result()
    assert [c["id"] for c in design["results"]] == ["_design/app"]


def test_many_threads_on_one_client(client: CloudantV1, db_name: str) -> None:
    errors: list[BaseException] = []

    def writer(t: int) -> None:
        try:
            for i in range(20):
                client.put_document(db_name, f"t{t}-{i}", {"t": t, "i": i})
                client.get_document(db_name, f"t{t}-{i}")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []

    def counted() -> None:  # doc_count reads one copy per shard range: eventually
        assert client.get_database_information(db_name).get_result()["doc_count"] == 160

    eventually(counted)


def test_local_documents(client: CloudantV1, db_name: str) -> None:
    client.put_local_document(db_name, "checkpoint", {"seq": "42"})
    assert client.head_local_document(db_name, "checkpoint").get_status_code() == 200
    assert client.get_local_document(db_name, "checkpoint").get_result()["seq"] == "42"
    client.delete_local_document(db_name, "checkpoint")

    def gone() -> None:  # a copy may still hold it for a moment on a cluster
        with pytest.raises(NotFoundError):
            client.get_local_document(db_name, "checkpoint")

    eventually(gone, retry_on=(AssertionError, pytest.fail.Exception))


def test_security_and_session_info(client: CloudantV1, db_name: str) -> None:
    client.put_security(db_name, members={"names": ["alice"], "roles": []})

    def stored() -> None:  # (read from one copy: eventually on a cluster)
        assert client.get_security(db_name).get_result()["members"]["names"] == ["alice"]

    eventually(stored, retry_on=(AssertionError, KeyError))
    session: dict[str, Any] = client.get_session_information().get_result()
    assert session["ok"] is True


def test_uuids_and_server_information(client: CloudantV1) -> None:
    uuids = client.get_uuids(count=3).get_result()["uuids"]
    assert len(set(uuids)) == 3
    assert "version" in client.get_server_information().get_result()


def test_view_cleanup_and_compaction(client: CloudantV1, db_name: str) -> None:
    assert client.post_view_cleanup(db_name).get_result()["ok"] is True
    assert client.post_compact(db_name).get_result()["ok"] is True


def test_purge_and_revs_limit(client: CloudantV1, db_name: str, requires: Requires) -> None:
    requires("purge", "revs_limit")
    rev = client.put_document(db_name, "gone", {}).get_result()["rev"]
    purged = client.post_purge(db_name, {"gone": [rev]}).get_result()
    assert purged["purged"]["gone"] == [rev]
    client.put_revs_limit(db_name, 50)
    assert client.get_revs_limit(db_name).get_result() == 50


def test_couchdb_session_cookie_flow(
    server_config: ServerConfig, server_http: requests.Session, db_name: str
) -> None:
    if server_config.external:
        pytest.skip("creates a user in _users: only on the local test server")
    name = f"user-{uuid.uuid4().hex[:8]}"
    user_url = f"{server_config.url}/_users/org.couchdb.user:{name}"
    user = {"name": name, "password": "s3cret!", "roles": [], "type": "user"}
    assert server_http.put(user_url, json=user, timeout=30).status_code in (201, 202)
    try:
        client = CloudantV1(CouchDbSessionAuthenticator(name, "s3cret!"))
        client.set_service_url(server_config.url)
        session = client.get_session_information().get_result()
        assert session["userCtx"]["name"] == name
        client.put_document(db_name, "by-cookie", {"v": 1})
        assert client.get_document(db_name, "by-cookie").get_result()["v"] == 1
        assert "s3cret!" not in repr(client)

        wrong = CloudantV1(CouchDbSessionAuthenticator(name, "wrong"))
        wrong.set_service_url(server_config.url)
        with pytest.raises(UnauthorizedError) as info:
            wrong.get_document(db_name, "by-cookie")
        assert "wrong" not in str(info.value)
    finally:
        rev = server_http.get(user_url, timeout=30).json()["_rev"]
        server_http.delete(user_url, params={"rev": rev}, timeout=30)

"""Session mechanics with mocked HTTP: what is sent, how results map back."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest
import requests
import responses

from cloudant_odm import (
    AcceptedWriteError,
    BulkWriteError,
    Document,
    DocumentValidationError,
    ObjectState,
    Session,
    SessionError,
    field,
)
from cloudant_odm.client import (
    CloudantV1,
    ConflictError,
    DetailedResponse,
    ForbiddenError,
    NoAuthAuthenticator,
)
from cloudant_odm.client.transport import mark_sent_times

URL = "http://couch.test"
BULK = f"{URL}/db/_bulk_docs"


class Item(Document, doc_type="item"):
    name: str
    qty: int = 0
    tags: list[str] = field(factory=list)


class Part(Document, doc_type="part", partitioned=True):
    name: str


@pytest.fixture
def client() -> CloudantV1:
    c = CloudantV1(NoAuthAuthenticator())
    c.set_service_url(URL)
    return c


def sent_docs(call: Any) -> list[dict[str, Any]]:
    body = call.request.body
    if call.request.headers.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    docs: list[dict[str, Any]] = json.loads(body)["docs"]
    return docs


def ok_results(request: Any) -> tuple[int, dict[str, str], str]:
    """A _bulk_docs callback that accepts every document."""
    docs = json.loads(gzip.decompress(request.body))["docs"]
    results = []
    for doc in docs:
        generation = int(doc.get("_rev", "0-x").split("-")[0]) + 1
        results.append({"ok": True, "id": doc["_id"], "rev": f"{generation}-{len(results):04x}"})
    return 201, {"Content-Type": "application/json"}, json.dumps(results)


@responses.activate
def test_add_assigns_client_side_ids_and_flush_sends_one_bulk_request(client: CloudantV1) -> None:
    responses.add_callback(responses.POST, BULK, callback=ok_results)
    s = Session(client, db="db")
    items = [Item(name=f"i{n}") for n in range(3)]
    s.add_all(items)
    assert all(i.id and len(i.id) == 32 for i in items)
    assert s.new == items
    s.flush()
    assert len(responses.calls) == 1
    docs = sent_docs(responses.calls[0])
    assert [d["_id"] for d in docs] == [i.id for i in items]
    assert all(d["type"] == "item" and "_rev" not in d for d in docs)
    assert [i.rev for i in items] == ["1-0000", "1-0001", "1-0002"]
    assert s.new == []
    assert s.dirty == []
    s.flush()
    assert len(responses.calls) == 1  # nothing changed, nothing sent


@responses.activate
def test_batches_split_by_bytes_and_count(client: CloudantV1) -> None:
    responses.add_callback(responses.POST, BULK, callback=ok_results)
    s = Session(client, db="db", batch_bytes=2_000)
    s.add_all(Item(name="x" * 100) for _ in range(50))
    s.flush()
    sizes = [len(sent_docs(c)) for c in responses.calls]
    assert sum(sizes) == 50
    assert len(sizes) > 2
    raw_sizes = [len(gzip.decompress(c.request.body)) for c in responses.calls]
    assert max(raw_sizes) <= 2_000 + len(b'{"docs":[]}')
    responses.calls.reset()
    s2 = Session(client, db="db", batch_size=7)
    s2.add_all(Item(name="y") for _ in range(20))
    s2.flush()
    assert [len(sent_docs(c)) for c in responses.calls] == [7, 7, 6]


@responses.activate
def test_updates_send_the_rev_and_deletes_send_deleted(client: CloudantV1) -> None:
    responses.get(
        f"{URL}/db/a", json={"_id": "a", "_rev": "3-abc", "type": "item", "name": "a", "qty": 1}
    )
    responses.get(f"{URL}/db/b", json={"_id": "b", "_rev": "1-b", "type": "item", "name": "b"})
    responses.add_callback(responses.POST, BULK, callback=ok_results)
    s = Session(client, db="db")
    a = s.get(Item, "a")
    b = s.get(Item, "b")
    assert a is not None
    assert b is not None
    assert s.get(Item, "a") is a
    assert len(responses.calls) == 2  # identity map: no second fetch
    a.qty = 2
    s.delete(b)
    assert s.state_of(b) is ObjectState.DELETED
    s.flush()
    docs = sent_docs(responses.calls[2])
    assert docs[0] == {
        "_id": "a",
        "_rev": "3-abc",
        "type": "item",
        "name": "a",
        "qty": 2,
        "tags": [],
    }
    assert docs[1] == {"_id": "b", "_rev": "1-b", "_deleted": True, "type": "item"}
    assert a.rev == "4-0000"
    assert s.state_of(b) is ObjectState.DETACHED  # it was stored: no longer tracked
    assert b not in s


@responses.activate
def test_failures_are_typed_and_the_rest_keep_their_revs(client: CloudantV1) -> None:
    s = Session(client, db="db")
    good, vetoed, clash = Item(name="g"), Item(name="v"), Item(id="c", name="c", rev="2-old")
    s.add_all([good, vetoed, clash])
    results = [
        {"ok": True, "id": good.id, "rev": "1-g"},
        {"id": vetoed.id, "error": "forbidden", "reason": "no v allowed"},
        {"id": "c", "error": "conflict", "reason": "Document update conflict."},
    ]
    responses.post(BULK, json=results, status=201)
    # The conflict check reads the stored version: someone else's change.
    responses.post(
        f"{URL}/db/_all_docs",
        json={
            "rows": [
                {
                    "id": "c",
                    "key": "c",
                    "value": {"rev": "3-new"},
                    "doc": {"_id": "c", "_rev": "3-new", "type": "item", "name": "other"},
                }
            ]
        },
    )
    with pytest.raises(BulkWriteError) as info:
        s.flush()
    failures = {f.document.id: f.error for f in info.value.failures}
    assert isinstance(failures[vetoed.id], ForbiddenError)
    assert failures[vetoed.id].reason == "no v allowed"
    assert isinstance(failures["c"], ConflictError)
    assert failures["c"].rev == "2-old"
    assert "2-old" in str(failures["c"])
    assert info.value.written == 1
    assert good.rev == "1-g"
    assert s.state_of(good) is ObjectState.PERSISTENT
    assert s.state_of(vetoed) is ObjectState.PENDING  # still pending, can be fixed and retried


@pytest.fixture
def resent_bulk_docs(client: CloudantV1, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every ``_bulk_docs`` answer says its request was sent twice (retries re-sent it,
    so the first attempt may have been applied and its answer lost)."""
    post_bulk_docs = client.post_bulk_docs

    def sent_twice(*args: Any, **kwargs: Any) -> DetailedResponse:
        response = post_bulk_docs(*args, **kwargs)
        response.attempts = 2
        return response

    monkeypatch.setattr(client, "post_bulk_docs", sent_twice)


@responses.activate
def test_a_retried_create_whose_first_answer_was_lost_counts_as_written(
    client: CloudantV1, resent_bulk_docs: None
) -> None:
    s = Session(client, db="db")
    item = Item(id="same", name="n", qty=5)
    s.add(item)
    responses.post(BULK, json=[{"id": "same", "error": "conflict", "reason": "exists"}])
    stored = {"_id": "same", "_rev": "1-first", "type": "item", "name": "n", "qty": 5, "tags": []}
    responses.post(
        f"{URL}/db/_all_docs",
        json={"rows": [{"id": "same", "key": "same", "value": {"rev": "1-first"}, "doc": stored}]},
    )
    s.flush()
    assert item.rev == "1-first"
    assert s.state_of(item) is ObjectState.PERSISTENT


@responses.activate
def test_rollback_restores_and_forgets(client: CloudantV1) -> None:
    responses.get(
        f"{URL}/db/a", json={"_id": "a", "_rev": "1-a", "type": "item", "name": "a", "tags": ["t"]}
    )
    s = Session(client, db="db")
    a = s.get(Item, "a")
    assert a is not None
    a.name = "changed"
    a.tags.append("u")
    new = Item(name="n")
    s.add(new)
    s.rollback()
    assert (a.name, a.tags, a.rev) == ("a", ["t"], "1-a")
    assert new not in s
    assert s.dirty == []
    assert s.new == []


def test_session_rules(client: CloudantV1) -> None:
    s = Session(client, db="db")
    s.add(Item(id="x", name="1"))
    with pytest.raises(SessionError, match="already in this session"):
        s.add(Item(id="x", name="2"))
    with pytest.raises(ValueError, match="partition:key"):
        s.add(Part(id="no-partition", name="p"))
    part = Part(id="store-1:abc", name="p")
    s.add(part)
    assert part.partition == "store-1"
    with pytest.raises(SessionError, match="No database"):
        Session(client).add(Item(name="nowhere"))
    with pytest.raises(TypeError):
        s.add({"_id": "dict"})  # type: ignore[arg-type]


# -- regressions found in review -----------------------------------------------------


@responses.activate
def test_a_refused_write_keeps_its_changes_and_inline_attachment(client: CloudantV1) -> None:
    responses.get(f"{URL}/db/n", json={"_id": "n", "_rev": "1-n", "type": "item", "name": "ok"})
    responses.post(BULK, json=[{"id": "n", "error": "forbidden", "reason": "bad name"}])
    s = Session(client, db="db")
    n = s.get(Item, "n")
    assert n is not None
    n.name = "bad"
    s.put_attachment(n, "a.txt", b"data", "text/plain")
    with pytest.raises(BulkWriteError):
        s.flush()
    assert s.is_modified(n)
    assert s.dirty == [n]
    assert n.meta.attachments is not None
    assert "data" in n.meta.attachments["a.txt"]
    assert all("_all_docs" not in c.request.url for c in responses.calls)  # no stub fetch


@responses.activate
def test_a_retried_delete_whose_first_answer_was_lost_counts_as_done(
    client: CloudantV1, resent_bulk_docs: None
) -> None:
    responses.get(f"{URL}/db/d", json={"_id": "d", "_rev": "1-d", "type": "item", "name": "d"})
    responses.post(BULK, json=[{"id": "d", "error": "conflict", "reason": "conflict"}])
    responses.post(
        f"{URL}/db/_all_docs",
        json={
            "rows": [
                {"id": "d", "key": "d", "value": {"rev": "2-gone", "deleted": True}, "doc": None}
            ]
        },
    )
    s = Session(client, db="db")
    d = s.get(Item, "d")
    assert d is not None
    s.delete(d)
    s.flush()
    assert d not in s
    assert d.rev == "2-gone"


@responses.activate
def test_a_retried_create_with_an_inline_attachment_counts_as_written(
    client: CloudantV1, resent_bulk_docs: None
) -> None:
    s = Session(client, db="db")
    item = Item(id="att", name="n")
    s.add(item)
    s.put_attachment(item, "a.txt", b"hi", "text/plain")
    responses.post(BULK, json=[{"id": "att", "error": "conflict", "reason": "exists"}])
    stored = {
        "_id": "att",
        "_rev": "1-x",
        "type": "item",
        "name": "n",
        "qty": 0,
        "tags": [],
        "_attachments": {
            "a.txt": {
                "content_type": "text/plain",
                "stub": True,
                "digest": "md5-abc",
                "length": 2,
                "revpos": 1,
            }
        },
    }
    responses.post(
        f"{URL}/db/_all_docs",
        json={"rows": [{"id": "att", "key": "att", "value": {"rev": "1-x"}, "doc": stored}]},
    )
    s.flush()
    assert item.rev == "1-x"
    assert item.meta.attachments is not None
    assert item.meta.attachments["a.txt"]["stub"] is True  # the server's stub replaced the data


@responses.activate
def test_deleted_objects_are_not_revived_by_reads(client: CloudantV1) -> None:
    responses.get(f"{URL}/db/x", json={"_id": "x", "_rev": "1-x", "type": "item", "name": "x"})
    responses.put(f"{URL}/db/x", status=409, json={"error": "conflict", "reason": "exists"})
    s = Session(client, db="db")
    x = s.get(Item, "x")
    assert x is not None
    s.delete(x)
    with pytest.raises(SessionError, match="marked for deletion"):
        s.get_or_create(Item, "x", {"name": "again"})
    with pytest.raises(SessionError, match="deleted"):
        s.update(Item, "x", lambda i: None)
    with pytest.raises(SessionError, match="marked for deletion"):
        s.put_attachment(x, "a", b"1", "text/plain")
    pending = Item(id="p", name="p")
    s.add(pending)
    with pytest.raises(SessionError, match="pending"):
        s.update(Item, "p", lambda i: None)


def test_resolve_conflicts_refuses_unwritten_changes(client: CloudantV1) -> None:
    s = Session(client, db="db")
    item = Item(id="r", name="r")
    s.add(item)
    with pytest.raises(SessionError, match="unwritten changes"):
        s.resolve_conflicts(item, lambda cur, losers: cur)


def test_bulk_write_error_pickles() -> None:
    import pickle

    from cloudant_odm.errors import WriteFailure, document_error

    error = BulkWriteError(
        [WriteFailure(Item(id="a", name="a"), document_error("a", "1-x", "conflict", "c"))], 3
    )
    copy = pickle.loads(pickle.dumps(error))
    assert copy.written == 3
    assert copy.failures[0].document.id == "a"
    assert str(copy) == str(error)


class Measure(Document, doc_type="measure"):
    value: float
    readings: list[float] = field(factory=list)


@pytest.mark.parametrize(
    ("sent", "stored", "ours"),
    [
        # PouchDB (JavaScript) writes numbers back in its own form: still our write.
        (45.0, 45, True),
        (-0.0, 0, True),
        (1.2345678901234568e17, 123456789012345680, True),
        (2.0**60, 1152921504606847000, True),  # JS digits: not the float's exact value
        # A different number is a different document: a real conflict.
        (45.5, 45, False),
        (1.0, True, False),
    ],
)
@responses.activate
def test_a_retried_create_is_recognised_whatever_form_the_server_gives_its_numbers(
    client: CloudantV1, resent_bulk_docs: None, sent: float, stored: Any, ours: bool
) -> None:
    # Found by tests/faults: a reset after forwarding made a 10 000-document import report
    # a conflict for a document holding 45.0, which PouchDB had stored as 45.
    s = Session(client, db="db")
    m = Measure(id="m", value=sent, readings=[sent, 2.5])
    s.add(m)
    responses.post(BULK, json=[{"id": "m", "error": "conflict", "reason": "exists"}])
    doc = {"_id": "m", "_rev": "1-m", "type": "measure", "value": stored, "readings": [stored, 2.5]}
    responses.post(
        f"{URL}/db/_all_docs",
        json={"rows": [{"id": "m", "key": "m", "value": {"rev": "1-m"}, "doc": doc}]},
    )
    if ours:
        s.flush()
        assert m.rev == "1-m"
        assert s.state_of(m) is ObjectState.PERSISTENT
    else:
        with pytest.raises(BulkWriteError) as info:
            s.flush()
        assert isinstance(info.value.failures[0].error, ConflictError)
        assert s.state_of(m) is ObjectState.PENDING


def accepted_results(only: set[int], marked: bool = True) -> Any:
    """A _bulk_docs callback answering 202: the documents at the ``only`` positions
    were written by fewer copies than the quorum (CouchDB marks them ``accepted``)."""

    def callback(request: Any) -> tuple[int, dict[str, str], str]:
        _, headers, body = ok_results(request)
        results = json.loads(body)
        for position in only:
            if marked:
                results[position]["accepted"] = True
        return 202, headers, json.dumps(results)

    return callback


@responses.activate
def test_accepted_writes_are_reported_and_warned_by_default(
    client: CloudantV1, caplog: pytest.LogCaptureFixture
) -> None:
    # Seen on a 3-node CouchDB with two nodes down: 202, "accepted": true per document.
    responses.add_callback(responses.POST, BULK, callback=accepted_results({1}))
    s = Session(client, db="db")
    items = [Item(id=f"i{n}", name="x") for n in range(3)]
    s.add_all(items)
    with caplog.at_level("WARNING", logger="cloudant_odm"):
        s.commit()
    assert s.accepted == [items[1]]
    assert all(i.rev and i.rev.startswith("1-") for i in items)  # stored all the same
    assert s.new == []
    assert s.dirty == []
    (warning,) = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert "1 document(s) written to fewer copies than the write quorum" in warning
    assert "'i1'" in warning


@responses.activate
def test_accepted_writes_raise_when_the_session_says_so(client: CloudantV1) -> None:
    responses.add_callback(responses.POST, BULK, callback=accepted_results({0, 2}))
    s = Session(client, db="db", accepted_writes="raise")
    items = [Item(id=f"i{n}", name="x") for n in range(3)]
    s.add_all(items)
    with pytest.raises(AcceptedWriteError) as info:
        s.commit()
    assert info.value.ids == ["i0", "i2"]
    assert info.value.documents == [items[0], items[2]]
    assert s.new == []  # written: nothing is sent again
    s.commit()
    assert len(responses.calls) == 1


@responses.activate
def test_a_202_without_marks_counts_every_written_document(client: CloudantV1) -> None:
    responses.add_callback(responses.POST, BULK, callback=accepted_results(set(), marked=False))
    s = Session(client, db="db", accepted_writes="ignore")
    items = [Item(id=f"i{n}", name="x") for n in range(2)]
    s.add_all(items)
    s.commit()  # ignored: no warning, no error
    assert s.accepted == items
    with pytest.raises(ValueError, match="accepted_writes"):
        Session(client, db="db", accepted_writes="maybe")  # type: ignore[arg-type]


@responses.activate
def test_a_stored_value_the_class_cant_write_leaves_the_session_usable(
    client: CloudantV1,
) -> None:
    # Another program stored an int beyond 2**53 (which JSON readers may round): it
    # loads, and nothing is written or refused until the object is changed.
    stored = {"_id": "i1", "_rev": "1-a", "type": "item", "name": "n", "qty": 2**60}
    for read_only in (False, True):
        s = Session(client, db="db", read_only=read_only)
        obj = s.load_json(Item, "db", dict(stored))
        assert obj.qty == 2**60
        assert s.dirty == []
        assert not s.is_modified(obj)
        s.commit()  # nothing sent (responses would refuse an unexpected request)
        s.rollback()
        assert obj.qty == 2**60
    s = Session(client, db="db")
    obj = s.load_json(Item, "db", dict(stored))
    obj.name = "changed"
    assert s.dirty == [obj]
    with pytest.raises(DocumentValidationError, match=r"Item 'i1': qty"):
        s.commit()
    s.rollback()  # restores what was loaded
    assert (obj.name, obj.qty) == ("n", 2**60)
    obj.qty = 5  # a value the class can write: the change is written
    responses.post(BULK, json=[{"id": "i1", "ok": True, "rev": "2-b"}], status=201)
    s.commit()
    sent = json.loads(gzip.decompress(responses.calls[0].request.body))  # type: ignore[arg-type]
    assert sent["docs"][0]["qty"] == 5
    assert obj.rev == "2-b"


def test_changing_the_id_of_a_tracked_object_is_refused_before_anything_is_sent(
    client: CloudantV1,
) -> None:
    s = Session(client, db="db")
    loaded = s.load_json(Item, "db", {"_id": "c1", "_rev": "1-a", "type": "item", "name": "n"})
    loaded.id = "c1-renamed"
    with pytest.raises(SessionError, match=r"Item 'c1-renamed': its id was changed"):
        s.commit()  # (responses is not active: a request would fail differently)
    loaded.id = "c1"
    s.commit()  # back as it was: nothing to write
    new = Item(name="x")
    s.add(new)
    new.id = "other"
    with pytest.raises(SessionError, match="its id was changed"):
        s.flush([new])


def test_a_replicator_document_loads_clean_and_saves_without_the_server_s_keys(
    client: CloudantV1,
) -> None:
    class Replication(Document, doc_type="replication_doc"):
        source: str
        target: str

    stored = {
        "_id": "rep1",
        "_rev": "2-b",
        "type": "replication_doc",
        "source": "a",
        "target": "b",
        "_replication_state": "completed",
        "_replication_stats": {"docs_written": 3},
    }
    s = Session(client, db="_replicator")
    obj = s.load_json(Replication, "_replicator", stored)
    assert s.dirty == []
    s.commit()  # nothing to write (nothing is reachable here)
    s.rollback()
    assert obj.meta.other == {
        "_replication_state": "completed",
        "_replication_stats": {"docs_written": 3},
    }


def held_item(client: CloudantV1) -> tuple[Session, Item]:
    """A session holding Item "c" at rev 1-a, read from the mocked server."""
    responses.get(f"{URL}/db/c", json={"_id": "c", "_rev": "1-a", "type": "item", "name": "c"})
    s = Session(client, db="db")
    item = s.get(Item, "c")
    assert item is not None
    return s, item


@responses.activate
def test_a_conflict_on_a_request_sent_once_is_a_conflict_even_with_our_content(
    client: CloudantV1,
) -> None:
    # Two writers each take 1 from n=10 at rev 1: CouchDB gives both edits the same new
    # revision id (same parent, same content), so the stored document looks like ours.
    # Sent once, the conflict can't be our own earlier attempt: the change must not be
    # taken as written (it would be lost: n=9 where two decrements make 8).
    s, counter = held_item(client)
    counter.qty = 9
    responses.post(BULK, json=[{"id": "c", "error": "conflict", "reason": "exists"}])
    with pytest.raises(BulkWriteError) as info:
        s.flush()
    assert isinstance(info.value.failures[0].error, ConflictError)
    assert counter.rev == "1-a"
    assert s.is_modified(counter)  # still to be written: nothing was lost
    assert [c.request.url for c in responses.calls][-1] == BULK  # no look for "our" write


def test_an_id_that_is_not_a_str_is_refused_before_anything_is_sent(client: CloudantV1) -> None:
    s = Session(client, db="db")  # no HTTP mocked: a request would fail otherwise
    with pytest.raises(
        TypeError, match=r"get\(Item, \.\.\.\): a document id is a str, got int 123"
    ):
        s.get(Item, 123)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="got NoneType None"):
        s.get_many(Item, ["a", None])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="takes a list of ids, not the str 'abc'"):
        s.get_many(Item, "abc")


@responses.activate
def test_update_refuses_an_object_with_unwritten_changes_instead_of_dropping_them(
    client: CloudantV1,
) -> None:
    s, held = held_item(client)
    held.qty = 7  # not flushed
    with pytest.raises(SessionError, match="has unwritten changes"):
        s.update(Item, "c", lambda item: setattr(item, "name", "d"))
    assert held.qty == 7  # kept
    assert len(responses.calls) == 1  # nothing sent after the first read


def test_update_or_create_refuses_a_name_that_is_not_a_field(client: CloudantV1) -> None:
    s = Session(client, db="db")  # no HTTP mocked: a request would fail otherwise
    with pytest.raises(TypeError, match="Item has no field 'nme'"):
        s.update_or_create(Item, "c", {"nme": "x", "name": "y"})


def test_update_or_create_refuses_a_value_its_field_cant_store(client: CloudantV1) -> None:
    # True == 1: assigned to a stored qty of 1, it would leave the document unchanged,
    # neither written nor refused.
    s = Session(client, db="db")  # no HTTP mocked: a request would fail otherwise
    with pytest.raises(DocumentValidationError, match=r"^Item 'c': qty: expected int, got bool"):
        s.update_or_create(Item, "c", {"qty": True})


@responses.activate
def test_a_large_attachment_on_an_object_with_unwritten_changes_is_refused(
    client: CloudantV1,
) -> None:
    s, held = held_item(client)
    held.name = "half-done"
    with pytest.raises(SessionError, match="has unwritten changes"):
        s.put_attachment(held, "big.bin", b"z" * 70_000, "application/octet-stream")
    s.rollback()
    assert held.name == "c"
    assert len(responses.calls) == 1  # the changes were not written


@pytest.mark.parametrize(("sent", "created"), [(1, False), (2, True)])
@responses.activate
def test_get_or_create_whose_create_was_resent_knows_it_made_the_document(
    client: CloudantV1, monkeypatch: pytest.MonkeyPatch, sent: int, created: bool
) -> None:
    # The create conflicts with a first revision holding exactly what was sent: ours
    # only if retries sent the PUT more than once (its first answer lost); sent once,
    # another writer made it.
    responses.get(f"{URL}/db/new", status=404, json={"error": "not_found", "reason": "missing"})
    stored = {"_id": "new", "_rev": "1-abc", "type": "item", "name": "n", "qty": 0, "tags": []}
    answer = requests.Response()
    mark_sent_times(answer, sent)

    def put_document(*args: Any, **kwargs: Any) -> DetailedResponse:
        responses.replace(responses.GET, f"{URL}/db/new", json=stored)
        raise ConflictError(409, "conflict: Document update conflict.", answer)

    monkeypatch.setattr(client, "put_document", put_document)
    s = Session(client, db="db")
    item, made = s.get_or_create(Item, "new", {"name": "n"})
    assert (item.rev, made) == ("1-abc", created)


class Ledger(Document, doc_type="ledger"):
    amount: Decimal = field(places=2)
    at: datetime
    tags: list[str] = field(factory=list)


# Stored by an earlier version or another program: a decimal as text, an offset other
# than UTC, no "tags" key. It loads as the same values its class would write otherwise.
OLD_LEDGER = {
    "_id": "l1",
    "_rev": "1-a",
    "type": "ledger",
    "amount": "1.50",
    "at": "2024-01-01T02:00:00+02:00",
}


@responses.activate
def test_mark_changed_rewrites_a_document_in_its_class_s_current_form(
    client: CloudantV1,
) -> None:
    responses.get(f"{URL}/db/l1", json=OLD_LEDGER)
    responses.add_callback(responses.POST, BULK, callback=ok_results)
    s = Session(client, db="db")
    ledger = s.get(Ledger, "l1")
    assert ledger is not None
    s.flush()
    assert not s.is_modified(ledger)
    assert len(responses.calls) == 1  # loading an older form changes nothing: no write
    s.mark_changed(ledger)
    assert s.is_modified(ledger)
    assert s.dirty == [ledger]
    s.flush()
    (written,) = sent_docs(responses.calls[1])
    assert written == {
        "_id": "l1",
        "_rev": "1-a",
        "type": "ledger",
        "amount": 1.5,
        "at": "2024-01-01T00:00:00.000000+00:00",
        "tags": [],
    }
    assert ledger.rev == "2-0000"
    s.flush()
    assert len(responses.calls) == 2  # written once: the mark is gone


@responses.activate
def test_a_rewrite_mark_is_dropped_by_rollback_and_refused_where_nothing_is_written(
    client: CloudantV1,
) -> None:
    responses.get(f"{URL}/db/l1", json=OLD_LEDGER)
    s = Session(client, db="db")
    ledger = s.get(Ledger, "l1")
    assert ledger is not None
    s.mark_changed(ledger)
    s.rollback()
    assert not s.is_modified(ledger)
    s.delete(ledger)
    with pytest.raises(SessionError, match="marked for deletion"):
        s.mark_changed(ledger)
    with pytest.raises(SessionError, match="not in this session"):
        s.mark_changed(Ledger(amount=Decimal(1), at=datetime.now(timezone.utc)))
    reader = Session(client, db="db", read_only=True)
    held = reader.get(Ledger, "l1")
    assert held is not None
    with pytest.raises(SessionError, match="read-only"):
        reader.mark_changed(held)


@responses.activate
def test_a_value_of_another_class_equal_to_the_loaded_one_is_refused_at_flush(
    client: CloudantV1,
) -> None:
    # 7.5 == Decimal("7.50") and True == 1: equal, but not what the fields hold, and the
    # object would keep them. The flush refuses them, as for any other value, unsent.
    responses.get(f"{URL}/db/l1", json={**OLD_LEDGER, "amount": 7.5})
    responses.get(
        f"{URL}/db/i1", json={"_id": "i1", "_rev": "1-a", "type": "item", "name": "x", "qty": 1}
    )
    s = Session(client, db="db")
    ledger, item = s.get(Ledger, "l1"), s.get(Item, "i1")
    assert ledger is not None
    assert item is not None
    for obj, name, value, message in (
        (ledger, "amount", 7.5, "amount: expected Decimal, got float 7.5"),
        (item, "qty", True, "qty: expected int, got bool True"),
    ):
        setattr(obj, name, value)
        assert s.is_modified(obj)
        with pytest.raises(DocumentValidationError, match=message):
            s.flush()
        s.revert(obj)
        assert not s.is_modified(obj)
    assert len(responses.calls) == 2  # the reads: nothing written

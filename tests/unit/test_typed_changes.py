"""Checkpoint timing of the typed follower, with mocked HTTP and frozen time."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest
import responses
from freezegun import freeze_time

from cloudant_odm import Document, Session
from cloudant_odm.changes import Checkpoint, follow, type_selector
from cloudant_odm.client import CloudantV1, NoAuthAuthenticator

URL = "http://couch.test"
LOCAL = f"{URL}/db/_local/cloudant-odm-checkpoint-c"


class Ticket(Document, doc_type="typed_changes_ticket"):
    title: str


class Bug(Ticket, doc_type="typed_changes_bug"):
    severity: int = 1


def rows(n: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"t{i}",
            "seq": f"{i}-seq",
            "changes": [{"rev": "1-a"}],
            "doc": {"_id": f"t{i}", "_rev": "1-a", "type": "typed_changes_ticket", "title": "x"},
        }
        for i in range(1, n + 1)
    ]


@pytest.fixture
def session() -> Session:
    # With include_docs the follower sizes its batches from the database's info.
    responses.get(f"{URL}/db", json={"db_name": "db", "doc_count": 10, "sizes": {"external": 5000}})
    client = CloudantV1(NoAuthAuthenticator())
    client.set_service_url(URL)
    return Session(client, db="db")


def saved_seqs() -> list[str]:
    bodies = []
    for call in responses.calls:
        if call.request.method == "PUT":
            body = call.request.body
            if call.request.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            bodies.append(json.loads(body)["seq"])
    return bodies


def test_type_selector_includes_subclasses() -> None:
    assert type_selector([Ticket]) == {
        "type": {"$in": ["typed_changes_bug", "typed_changes_ticket"]}
    }


@responses.activate
def test_checkpoint_every_n_changes_and_at_the_end(session: Session) -> None:
    responses.get(LOCAL, status=404, json={"error": "not_found", "reason": "missing"})
    responses.post(
        f"{URL}/db/_changes", json={"results": rows(7), "last_seq": "7-seq", "pending": 0}
    )
    responses.put(LOCAL, json={"ok": True, "id": "_local/x", "rev": "0-1"})
    feed = follow(session, [Ticket], one_off=True, checkpoint=Checkpoint("c", every=3))
    assert [c.id for c in feed] == [f"t{i}" for i in range(1, 8)]
    assert saved_seqs() == ["3-seq", "6-seq", "7-seq"]
    changes = [c for c in responses.calls if c.request.url.startswith(f"{URL}/db/_changes")]
    body = json.loads(gzip.decompress(changes[0].request.body))
    assert body == {"selector": {"type": {"$in": ["typed_changes_bug", "typed_changes_ticket"]}}}
    assert "filter=_selector" in changes[0].request.url
    assert "since=0" in changes[0].request.url


@responses.activate
def test_checkpoint_interval_in_time(session: Session) -> None:
    responses.get(LOCAL, json={"_id": "_local/x", "_rev": "0-3", "seq": "40-seq"})
    responses.post(
        f"{URL}/db/_changes", json={"results": rows(4), "last_seq": "4-seq", "pending": 0}
    )
    responses.put(LOCAL, json={"ok": True, "id": "_local/x", "rev": "0-4"})
    with freeze_time("2026-11-23 12:00:00") as clock:
        feed = follow(
            session, [Ticket], one_off=True, checkpoint=Checkpoint("c", every=1000, interval=5)
        )
        next(feed)  # t1 handed over
        clock.tick(2)
        next(feed)  # t1 handled; 2 s since start: no save yet
        clock.tick(4)
        next(feed)  # t2 handled at 6 s: saved
        assert saved_seqs() == ["2-seq"]
        feed.close()  # t3 was handed over but not handled: it is not saved
    assert saved_seqs() == ["2-seq"]
    resumed = next(c for c in responses.calls if "_changes" in c.request.url)
    assert "since=40-seq" in resumed.request.url  # started from the stored checkpoint
    put = next(c for c in responses.calls if c.request.method == "PUT")
    body = json.loads(gzip.decompress(put.request.body))
    assert body["_rev"] == "0-3"  # updates the checkpoint document it read


@responses.activate
def test_a_checkpoint_read_that_lags_behind_its_write_is_retried(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On a cluster a _local document read right after a write may come from a copy that
    # hasn't got it yet: the stale rev conflicts once more before the right one is read.
    monkeypatch.setattr("cloudant_odm.client.flows.sleep", lambda seconds: None)
    responses.get(LOCAL, json={"_id": "_local/x", "_rev": "0-1", "seq": "0-seq"})  # stale
    responses.get(LOCAL, json={"_id": "_local/x", "_rev": "0-1", "seq": "0-seq"})  # stale
    responses.get(LOCAL, json={"_id": "_local/x", "_rev": "0-2", "seq": "0-seq"})
    responses.post(
        f"{URL}/db/_changes", json={"results": rows(1), "last_seq": "1-seq", "pending": 0}
    )
    conflict = {"error": "conflict", "reason": "Document update conflict."}
    responses.put(LOCAL, status=409, json=conflict)
    responses.put(LOCAL, status=409, json=conflict)
    responses.put(LOCAL, json={"ok": True, "id": "_local/x", "rev": "0-3"})
    feed = follow(session, [Ticket], one_off=True, checkpoint=Checkpoint("c", every=1))
    assert [c.id for c in feed] == ["t1"]
    puts = [c for c in responses.calls if c.request.method == "PUT"]
    assert len(puts) == 3
    assert json.loads(gzip.decompress(puts[-1].request.body))["_rev"] == "0-2"


@responses.activate
def test_rows_of_every_shape_become_changes(session: Session) -> None:
    many = rows(300)  # more than one group of the parser
    tombstone = {"_id": "t5", "_rev": "2-b", "_deleted": True}
    many[4] = {"id": "t5", "seq": None, "changes": [{"rev": "2-b"}], "deleted": True}
    many[4]["doc"] = tombstone
    many[5] = {**many[5], "other": 1}  # a key the follower doesn't know: kept
    many[6] = {**many[6], "changes": [{"rev": "1-a", "x": 1}, {"rev": "1-z"}]}
    many[7] = {**many[7], "doc": {**many[7]["doc"], "type": "typed_changes_bug"}}
    many[8] = {**many[8], "doc": {"_id": "t9", "_rev": "1-a", "type": "other_type"}}
    many[9] = {**many[9], "changes": []}
    responses.post(
        f"{URL}/db/_changes", json={"results": many, "last_seq": "300-seq", "pending": 0}
    )
    changes = list(follow(session, [Ticket], one_off=True))
    assert [c.id for c in changes] == [f"t{i}" for i in range(1, 301)]
    assert [c.seq for c in changes[3:6]] == ["4-seq", None, "6-seq"]
    deleted = changes[4]
    assert (deleted.deleted, deleted.doc, deleted.rev) == (True, None, "2-b")
    assert changes[6].rev == "1-a"
    assert type(changes[7].doc) is Bug
    assert changes[8].doc is None  # a document of another class
    assert changes[9].rev is None
    ticket = changes[299].doc
    assert type(ticket) is Ticket
    assert (ticket.id, ticket.rev, ticket.title) == ("t300", "1-a", "x")
    assert not changes[299].deleted


@responses.activate
def test_a_row_that_is_not_a_change_ends_the_feed_after_the_rows_before_it(
    session: Session,
) -> None:
    bad = rows(3)
    del bad[2]["id"]
    responses.post(f"{URL}/db/_changes", json={"results": bad, "last_seq": "3-seq", "pending": 0})
    feed = follow(session, [Ticket], one_off=True)
    assert [next(feed).id, next(feed).id] == ["t1", "t2"]
    with pytest.raises(ValueError, match=r"sent a row that is not a change.*'id' not present"):
        next(feed)

"""Overlapped writes and reads against the server give what one request at a time gives:
a flush of several ``_bulk_docs`` batches, ``insert_many``, and query sets reading the
next page ahead (``_all_docs`` by start key, ``_find`` by bookmark)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from _server import settle

from cloudant_odm import BulkWriteError, Document, Session
from cloudant_odm.client import CloudantV1, ConflictError
from cloudant_odm.models import to_json

COUNT = 230  # six pages of 40, and six batches of 40


class Reading(Document, doc_type="overlap_reading"):
    n: int
    sensor: str
    tags: list[str]


class Other(Document, doc_type="overlap_other"):
    label: str


def readings(prefix: str, count: int = COUNT) -> list[Reading]:
    return [
        Reading(id=f"{prefix}{n:04d}", n=n, sensor=f"s{n % 3}", tags=["t"] * (n % 4))
        for n in range(count)
    ]


def stored(client: CloudantV1, db: str, prefix: str) -> dict[str, dict[str, Any]]:
    """The documents whose ids start with ``prefix``, as stored (without _rev)."""
    rows = client.post_all_docs(
        db, include_docs=True, start_key=prefix, end_key=prefix + "\ufff0"
    ).get_result()["rows"]
    return {r["id"]: {k: v for k, v in r["doc"].items() if k != "_rev"} for r in rows}


def test_a_flush_of_several_batches_stores_what_a_flush_of_one_does(
    client: CloudantV1, db_name: str
) -> None:
    client.put_document(db_name, "many0100", {"type": "overlap_reading", "taken": True})
    one, many = readings("one"), readings("many")
    in_one = Session(client, db=db_name)
    in_one.add_all(one)
    in_one.flush()  # one request
    in_batches = Session(client, db=db_name, batch_size=40)
    in_batches.add_all(many)
    with pytest.raises(BulkWriteError) as info:
        in_batches.flush()  # six, each made while the server writes the one before
    # The document that existed is a conflict, reported; the others are written.
    assert [f.document.id for f in info.value.failures] == ["many0100"]
    assert isinstance(info.value.failures[0].error, ConflictError)
    assert info.value.written == COUNT - 1
    assert all(o.rev is not None and o.rev.startswith("1-") for o in one)
    assert [o.rev is not None for o in many] == [o.id != "many0100" for o in many]
    assert in_batches.new == [many[100]]
    assert stored(client, db_name, "one") == {o.id: _json(o) for o in one}
    written = {k: v for k, v in stored(client, db_name, "many").items() if k != "many0100"}
    assert written == {o.id: _json(o) for o in many if o.id != "many0100"}


def test_insert_many_stores_every_document_once(client: CloudantV1, db_name: str) -> None:
    client.put_document(db_name, "ins0050", {"type": "overlap_reading", "taken": True})
    session = Session(client, db=db_name, batch_size=40)
    objs = readings("ins")
    with pytest.raises(BulkWriteError) as info:
        session.insert_many(iter(objs))
    assert [f.document.id for f in info.value.failures] == ["ins0050"]
    assert info.value.written == COUNT - 1
    assert list(session) == []
    on_server = stored(client, db_name, "ins")
    assert len(on_server) == COUNT
    assert all(on_server[o.id] == _json(o) for o in objs if o.id != "ins0050")
    fresh = Session(client, db=db_name)
    assert fresh.get(Reading, "ins0007") == objs[7]


@pytest.fixture
def loaded(client: CloudantV1, db_name: str) -> Session:
    session = Session(client, db=db_name)
    session.insert_many(readings("r"))
    session.insert_many(Other(id=f"o{n:03d}", label="x") for n in range(17))  # interleaved
    session.insert_many(Other(id=f"r{n:04d}x", label="x") for n in range(0, COUNT, 7))
    settle(client, db_name, COUNT + 17 + len(range(0, COUNT, 7)))
    return Session(client, db=db_name)


def page_by_page(query: Any, size: int) -> list[str]:
    """The ids of every page read one request at a time, cursor after cursor."""
    ids: list[str] = []
    cursor = None
    while True:
        page = query.page(size, cursor, track=False)
        ids.extend(o.id for o in page)
        cursor = page.next_cursor
        if cursor is None:
            return ids


@pytest.mark.parametrize("kind", ["all_docs", "find"])
def test_reading_ahead_gives_the_pages_read_one_at_a_time(loaded: Session, kind: str) -> None:
    query = Reading.objects.using(loaded)
    if kind == "find":
        query = query.filter(Reading.n >= 0)
    ahead = [o.id for o in query.iterator(page_size=40)]
    assert ahead == page_by_page(query, 40)
    assert sorted(ahead) == [f"r{n:04d}" for n in range(COUNT)]
    pages = list(query.pages(40, track=False))
    assert [o.id for p in pages for o in p] == ahead
    assert [p.next_cursor is None for p in pages][-1]
    # Each page's cursor resumes where the next page, read ahead, began.
    for page, after in itertools.pairwise(pages):
        resumed = query.page(40, page.next_cursor, track=False)
        assert [o.id for o in resumed] == [o.id for o in after]


def test_stopping_early_and_reading_again(loaded: Session) -> None:
    query = Reading.objects.using(loaded)
    for reading in query.iterator(page_size=40, track=False):
        if reading.n == 45:
            break
    assert [o.id for o in query.iterator(page_size=40)] == [f"r{n:04d}" for n in range(COUNT)]


def test_a_write_during_the_loop_is_seen_by_the_pages_after_it(
    client: CloudantV1, loaded: Session
) -> None:
    seen: dict[str, Reading] = {}
    for reading in Reading.objects.using(loaded).iterator(page_size=40):
        seen[str(reading.id)] = reading
        # Page 1 (r0000-r0039) is made of the first two _all_docs requests (17 Others
        # come first, and one every 7 readings); the third (r0055-r0089) is read ahead
        # while it is used.
        if reading.n == 5:
            later = loaded.get(Reading, "r0070")
            assert later is not None
            later.sensor = "moved"
            loaded.commit()
    assert len(seen) == COUNT
    assert seen["r0070"].sensor == "moved"
    assert seen["r0070"].rev is not None
    assert seen["r0070"].rev.startswith("2-")
    assert not loaded.is_modified(seen["r0070"])


def _json(obj: Document) -> dict[str, Any]:
    body = to_json(obj)
    body.pop("_rev", None)
    return body

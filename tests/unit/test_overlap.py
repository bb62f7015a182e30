"""Overlapping the client's work with the server's, with mocked HTTP (``responses``):
``overlap.Call`` and ``read_ahead``; query sets asking for page N+1 while page N is
used; a flush of several ``_bulk_docs`` batches and ``Session.insert_many`` making the
next batch while the server writes one."""

from __future__ import annotations

import contextvars
import gc
import gzip
import json
import re
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import responses

from cloudant_odm import (
    BulkWriteError,
    Document,
    DocumentValidationError,
    ObjectState,
    Session,
    SessionError,
)
from cloudant_odm.client import (
    ApiException,
    CloudantV1,
    ConnectionFailed,
    ForbiddenError,
    NoAuthAuthenticator,
    ServiceUnavailableError,
)
from cloudant_odm.client.overlap import Call, read_ahead
from cloudant_odm.client.transport import request_sending

URL = "http://couch.test"
BULK = f"{URL}/db/_bulk_docs"
JSON = {"Content-Type": "application/json"}
WAIT = 10  # seconds: a bound for waits that end at once when the code is right


class Note(Document, doc_type="note"):
    text: str
    n: int = 0


class Row(Document, doc_type="row"):
    n: int


def overlap_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "cloudant_odm-overlap"]


def eventually(check: Callable[[], bool]) -> bool:
    """Whether ``check()`` becomes true within WAIT seconds (a request sent from another
    thread reaches the mock a moment after the sender goes on)."""
    deadline = time.monotonic() + WAIT
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


@pytest.fixture
def client() -> CloudantV1:
    made = CloudantV1(NoAuthAuthenticator())
    made.set_service_url(URL)
    return made


@pytest.fixture(autouse=True)
def _no_thread_left() -> Iterator[None]:
    yield
    assert overlap_threads() == []  # every test ends with no thread of its own left


def written() -> None:
    """What a real connection does once a request is written: tell the thread waiting
    for it to go out (``responses`` answers without a connection)."""
    sending = request_sending.get()
    if sending is not None:
        sending.set()


def request_json(request: Any) -> Any:
    raw = request.body
    if request.headers.get("Content-Encoding") == "gzip":
        raw = gzip.decompress(raw)
    return json.loads(raw)


# --- reading -------------------------------------------------------------------------------


class FakeDb:
    """A database of notes answering ``_all_docs`` (by start key, with documents),
    ``_find`` (a numeric bookmark) and ``_bulk_docs``; ``requests`` lists what was
    asked (``("all_docs", start_key)``, ``("find", bookmark)``, ``("bulk", ids)``).
    ``fail`` maps a request of that list to the status to answer it with."""

    def __init__(self, mock: responses.RequestsMock, count: int) -> None:
        self.docs = {
            f"n{i:03d}": {"_id": f"n{i:03d}", "_rev": "1-a", "type": "note", "text": f"t{i}"}
            for i in range(count)
        }
        self.requests: list[tuple[str, Any]] = []
        self.fail: dict[tuple[str, Any], int] = {}
        # Requests whose answer waits for ``release``.
        self.hold: set[tuple[str, Any]] = set()
        self.release = threading.Event()
        mock.add_callback(responses.POST, f"{URL}/db/_all_docs", self.all_docs)
        mock.add_callback(responses.POST, f"{URL}/db/_find", self.find)
        mock.add_callback(responses.POST, f"{URL}/db/_bulk_docs", self.bulk)
        mock.add_callback(responses.GET, re.compile(f"{URL}/db/n[0-9]+"), self.get)

    def get(self, request: Any) -> tuple[int, dict[str, str], str]:
        doc_id = request.path_url.rsplit("/", 1)[-1]
        self.requests.append(("get", doc_id))
        return 200, JSON, json.dumps(self.docs[doc_id])

    def _answer(self, asked: tuple[str, Any], body: Any) -> tuple[int, dict[str, str], str]:
        self.requests.append(asked)
        written()
        if asked in self.hold:
            assert self.release.wait(WAIT)
        if asked in self.fail:
            return self.fail[asked], JSON, json.dumps({"error": "down", "reason": "down"})
        return 200, JSON, json.dumps(body)

    def all_docs(self, request: Any) -> tuple[int, dict[str, str], str]:
        sent = request_json(request)
        ids = sorted(self.docs)
        start = sent.get("start_key")
        kept = [i for i in ids if start is None or i >= start][: sent["limit"]]
        rows = [{"id": i, "key": i, "value": {"rev": "x"}, "doc": self.docs[i]} for i in kept]
        return self._answer(("all_docs", start), {"total_rows": len(ids), "rows": rows})

    def find(self, request: Any) -> tuple[int, dict[str, str], str]:
        sent = request_json(request)
        at = int(sent.get("bookmark", 0))
        docs = [self.docs[i] for i in sorted(self.docs)][at : at + sent["limit"]]
        mark = str(at + len(docs))
        return self._answer(("find", sent.get("bookmark")), {"docs": docs, "bookmark": mark})

    def bulk(self, request: Any) -> tuple[int, dict[str, str], str]:
        results = []
        for doc in request_json(request)["docs"]:
            generation = int(doc.get("_rev", "0-x").split("-")[0]) + 1
            doc["_rev"] = f"{generation}-b"
            self.docs[doc["_id"]] = doc
            results.append({"ok": True, "id": doc["_id"], "rev": doc["_rev"]})
        self.requests.append(("bulk", [d["id"] for d in results]))
        return 201, JSON, json.dumps(results)


@pytest.fixture
def db() -> Iterator[FakeDb]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakeDb(mock, 7)


@pytest.fixture
def session(client: CloudantV1) -> Session:
    return Session(client, db="db")


# --- Call and read_ahead ---------------------------------------------------------------


def test_a_call_returns_its_value_or_raises_its_error_in_the_callers_thread() -> None:
    assert Call(sum, [1, 2, 3]).result() == 6
    failing = Call(int, "x")
    with pytest.raises(ValueError, match="invalid literal"):
        failing.result()
    with pytest.raises(ValueError, match="invalid literal"):
        failing.result()  # as often as it is asked


def test_a_call_sees_the_callers_context_variables() -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    token = var.set("the caller's")
    try:
        assert Call(var.get).result() == "the caller's"
    finally:
        var.reset(token)


def numbers(log: list[str], count: int, fail_at: int | None = None) -> Iterator[int]:
    try:
        for n in range(count):
            log.append(f"fetch {n}")
            if n == fail_at:
                raise RuntimeError(f"fetching {n} failed")
            yield n
    finally:
        log.append("closed")


def no_resume(_: int) -> Iterator[int]:
    raise AssertionError("resumed without a version change")


def test_read_ahead_fetches_the_next_item_while_the_current_one_is_used() -> None:
    log: list[str] = []
    items = read_ahead(numbers(log, 3), resume=no_resume, version=lambda: 0)
    assert next(items) == 0
    assert eventually(lambda: "fetch 1" in log)  # fetched before it is asked for
    assert list(items) == [1, 2]
    assert log == ["fetch 0", "fetch 1", "fetch 2", "closed"]


def test_an_error_fetching_ahead_is_raised_where_that_item_is_asked_for() -> None:
    log: list[str] = []
    items = read_ahead(numbers(log, 5, fail_at=2), resume=no_resume, version=lambda: 0)
    assert next(items) == 0
    assert next(items) == 1  # item 2's fetch fails meanwhile: not raised yet
    with pytest.raises(RuntimeError, match="fetching 2 failed"):
        next(items)
    assert log[-1] == "closed"


@pytest.mark.parametrize("stop", ["break", "raise", "close"])
def test_stopping_early_waits_for_the_fetch_in_progress_and_closes_the_source(
    stop: str,
) -> None:
    log: list[str] = []
    items = read_ahead(numbers(log, 100), resume=no_resume, version=lambda: 0)
    if stop == "close":
        assert next(items) == 0
        items.close()
    else:
        with pytest.raises(KeyError) if stop == "raise" else _nothing():
            for n in items:
                if n == 1:
                    if stop == "raise":
                        raise KeyError(n)
                    break
        items.close()
    assert log[-1] == "closed"
    assert len(log) <= 4  # one item fetched ahead at most: 0, 1, 2 and the close
    assert overlap_threads() == []


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *_: object) -> None:
        return None


def test_a_version_change_drops_the_item_read_ahead_and_resumes_without_reading_ahead() -> None:
    log: list[str] = []
    version = [0]
    resumed: list[int] = []

    def resume(after: int) -> Iterator[int]:
        resumed.append(after)
        return iter(range(after + 1, 4))

    items = read_ahead(numbers(log, 100), resume=resume, version=lambda: version[0])
    assert next(items) == 0
    version[0] += 1  # the caller wrote: item 1, fetched ahead, may not show it
    assert list(items) == [1, 2, 3]
    assert resumed == [0]
    assert log == ["fetch 0", "fetch 1", "closed"]  # the source was not read further


# --- query sets --------------------------------------------------------------------------


def test_iterating_asks_for_the_next_page_while_the_current_one_is_used(
    db: FakeDb, session: Session
) -> None:
    notes = Note.objects.using(session).iterator(page_size=3)
    assert next(notes).id == "n000"
    # Page 2 is asked for while page 1 is still being read.
    assert eventually(lambda: db.requests == [("all_docs", None), ("all_docs", "n003")])
    assert [n.id for n in notes] == [f"n{i:03d}" for i in range(1, 7)]
    assert db.requests == [("all_docs", None), ("all_docs", "n003"), ("all_docs", "n006")]


def test_mango_pages_are_read_ahead_by_bookmark(db: FakeDb, session: Session) -> None:
    query = Note.objects.using(session).filter(Note.text.exists())
    pages = query.pages(3, track=False)
    first = next(pages)
    assert [n.id for n in first] == ["n000", "n001", "n002"]
    assert eventually(lambda: db.requests == [("find", None), ("find", "3")])
    rest = list(pages)
    assert [[n.id for n in p] for p in rest] == [["n003", "n004", "n005"], ["n006"]]
    # The cursors are those of one page at a time.
    again = query.page(3, first.next_cursor, track=False)
    assert [n.id for n in again] == ["n003", "n004", "n005"]
    assert again.next_cursor == rest[0].next_cursor


def test_reading_ahead_keeps_the_order_of_every_document(db: FakeDb, session: Session) -> None:
    db.docs.update(
        {f"x{i:03d}": {"_id": f"x{i:03d}", "type": "other", "_rev": "1-a"} for i in range(5)}
    )
    ids = [n.id for n in Note.objects.using(session).iterator(page_size=2)]
    assert ids == sorted(ids) == [f"n{i:03d}" for i in range(7)]
    assert all(session.held("db", i) is not None for i in ids)


@pytest.mark.parametrize("how", ["break", "exception", "close"])
def test_stopping_early_leaves_no_thread_and_asks_for_no_more_pages(
    db: FakeDb, session: Session, how: str
) -> None:
    notes = Note.objects.using(session).iterator(page_size=2)
    if how == "close":
        next(notes)
        notes.close()
    else:
        with pytest.raises(ZeroDivisionError) if how == "exception" else _nothing():
            for note in notes:
                if note.id == "n001":
                    if how == "exception":
                        _ = 1 / 0
                    break
        notes.close()
    assert overlap_threads() == []
    # The page asked for ahead was answered and dropped; nothing after it.
    assert db.requests == [("all_docs", None), ("all_docs", "n002")]


def test_stopping_while_the_page_ahead_is_still_awaited_waits_for_it(
    db: FakeDb, session: Session
) -> None:
    db.hold.add(("all_docs", "n002"))  # the server holds page 2's answer back
    notes = Note.objects.using(session).iterator(page_size=2)
    assert next(notes).id == "n000"
    second = next(notes)  # still page 1
    # Page 2 was sent; its answer is held back.
    assert eventually(lambda: db.requests == [("all_docs", None), ("all_docs", "n002")])
    closing = threading.Thread(target=notes.close)
    closing.start()
    closing.join(0.2)
    assert closing.is_alive()  # close() waits for the request in flight ...
    db.release.set()
    closing.join(WAIT)
    assert not closing.is_alive()  # ... and returns once it is answered
    assert second.id == "n001"
    assert db.requests == [("all_docs", None), ("all_docs", "n002")]


def test_an_error_reading_the_next_page_is_raised_where_that_page_is_read(
    db: FakeDb, session: Session
) -> None:
    db.fail[("all_docs", "n003")] = 503
    notes = Note.objects.using(session).iterator(page_size=3)
    seen = [next(notes).id for _ in range(3)]  # all of page 1 first
    assert seen == ["n000", "n001", "n002"]
    with pytest.raises(ServiceUnavailableError):
        next(notes)


def test_an_error_reading_a_mango_page_ahead_is_raised_where_it_is_read(
    db: FakeDb, session: Session
) -> None:
    db.fail[("find", "3")] = 500
    query = Note.objects.using(session).filter(Note.text.exists())
    pages = query.pages(3)
    assert len(next(pages)) == 3
    with pytest.raises(ApiException, match="down"):
        next(pages)


def test_an_error_in_a_page_never_read_is_never_raised(db: FakeDb, session: Session) -> None:
    db.fail[("all_docs", "n003")] = 503
    for note in Note.objects.using(session).iterator(page_size=3):
        if note.id == "n001":
            break  # page 2 failed meanwhile: it is not this loop's business


def test_writing_while_iterating_reads_the_next_page_after_the_write(
    db: FakeDb, session: Session
) -> None:
    # n004 is on page 2, which is read ahead while page 1 is used. The loop changes and
    # writes it: page 2 as read before that would give the session the old revision
    # back. It is read again, after the write.
    seen = {}
    for note in Note.objects.using(session).iterator(page_size=3):
        seen[note.id] = (note.text, note.rev)
        if note.id == "n001":
            later = session.get(Note, "n004")
            assert later is not None
            later.text = "changed"
            session.commit()
    assert seen["n004"] == ("changed", "2-b")
    asked = [r for r in db.requests if r[0] == "all_docs"]
    # Page 2 twice (ahead, then again after the write), then no more reading ahead.
    assert asked == [
        ("all_docs", None),
        ("all_docs", "n003"),
        ("all_docs", "n003"),
        ("all_docs", "n006"),
    ]


def test_first_and_page_read_no_page_ahead(db: FakeDb, session: Session) -> None:
    query = Note.objects.using(session)
    first = query.first()
    assert first is not None
    assert first.id == "n000"
    assert [n.id for n in query.page(3)] == ["n000", "n001", "n002"]
    assert db.requests == [("all_docs", None), ("all_docs", None)]


# --- writing -------------------------------------------------------------------------------


class Server:
    """Answers ``_bulk_docs`` batch by batch: ``refuse`` maps a batch number (from 0)
    to the ids to refuse (forbidden), ``down`` is the batch answered 503, ``before``
    runs before a batch is answered (in the thread that sent it)."""

    def __init__(self, mock: responses.RequestsMock) -> None:
        self.batches: list[list[str]] = []
        self.refuse: dict[int, set[str]] = {}
        self.down: int | None = None
        self.before: dict[int, Any] = {}
        mock.add_callback(responses.POST, BULK, self.bulk)

    def bulk(self, request: Any) -> tuple[int, dict[str, str], str]:
        number = len(self.batches)
        docs = request_json(request)["docs"]
        self.batches.append([d["_id"] for d in docs])
        written()
        if number in self.before:
            self.before[number]()
        if number == self.down:
            return 503, JSON, json.dumps({"error": "unavailable", "reason": "down"})
        refused = self.refuse.get(number, set())
        results = [
            {"id": d["_id"], "error": "forbidden", "reason": "not this one"}
            if d["_id"] in refused
            else {"ok": True, "id": d["_id"], "rev": f"1-{number}"}
            for d in docs
        ]
        return 201, JSON, json.dumps(results)


@pytest.fixture
def server() -> Iterator[Server]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield Server(mock)


def rows(count: int) -> list[Row]:
    return [Row(id=f"r{n:03d}", n=n) for n in range(count)]


@pytest.fixture
def pending(client: CloudantV1) -> tuple[Session, list[Row]]:
    """A session holding ten new rows, written four to a batch."""
    session = Session(client, db="db", batch_size=4)
    objs = rows(10)
    session.add_all(objs)
    return session, objs


# --- a flush of several batches ------------------------------------------------------------


def test_a_flush_of_several_batches_sends_them_in_order_one_at_a_time(
    pending: tuple[Session, list[Row]], server: Server
) -> None:
    session, objs = pending
    in_flight: list[int] = []
    most = [0]

    def answering() -> None:  # a request in flight for a moment
        in_flight.append(1)
        most[0] = max(most[0], len(in_flight))
        time.sleep(0.05)
        in_flight.pop()

    server.before = dict.fromkeys(range(3), answering)
    session.flush()
    assert most[0] == 1
    assert server.batches == [[o.id for o in objs[i : i + 4]] for i in (0, 4, 8)]
    assert [o.rev for o in objs] == ["1-0"] * 4 + ["1-1"] * 4 + ["1-2"] * 2
    assert all(session.state_of(o) is ObjectState.PERSISTENT for o in objs)


def test_failures_in_any_batch_of_a_flush_are_all_reported(
    pending: tuple[Session, list[Row]], server: Server
) -> None:
    session, objs = pending
    server.refuse = {1: {"r005"}, 2: {"r009"}}
    with pytest.raises(BulkWriteError) as info:
        session.flush()
    assert [f.document.id for f in info.value.failures] == ["r005", "r009"]
    assert all(isinstance(f.error, ForbiddenError) for f in info.value.failures)
    assert info.value.written == 8
    written = [o for o in objs if o.id not in ("r005", "r009")]
    assert all(o.rev is not None for o in written)
    assert session.new == [objs[5], objs[9]]  # the refused ones stay pending


def test_a_transport_error_in_a_batch_of_a_flush_raises_and_keeps_the_batches_before(
    pending: tuple[Session, list[Row]], server: Server
) -> None:
    session, objs = pending
    server.down = 1
    with pytest.raises(ServiceUnavailableError):
        session.flush()
    assert len(server.batches) == 2  # the third batch was never sent
    assert [o.rev for o in objs[:4]] == ["1-0"] * 4  # the first batch has its revs
    assert all(o.rev is None for o in objs[4:])
    assert session.new == objs[4:]
    server.down = None
    session.flush()  # the rest goes out on the next flush
    assert server.batches[2:] == [["r004", "r005", "r006", "r007"], ["r008", "r009"]]


def test_a_flush_refused_for_one_document_sends_no_batch(
    pending: tuple[Session, list[Row]], server: Server
) -> None:
    session, objs = pending
    objs[9].n = "nine"  # type: ignore[assignment]
    with pytest.raises(DocumentValidationError):
        session.flush()
    assert server.batches == []


def test_a_flush_of_one_batch_starts_no_thread(client: CloudantV1, server: Server) -> None:
    session = Session(client, db="db")
    session.add_all(rows(3))
    server.before = {0: lambda: threads.extend(overlap_threads())}
    threads: list[threading.Thread] = []
    session.flush()
    assert threads == []  # sent from the caller's thread


# --- insert_many -----------------------------------------------------------------------------


def test_insert_many_writes_batches_without_tracking_the_objects(
    client: CloudantV1, server: Server
) -> None:
    session = Session(client, db="db", batch_size=4)
    objs = [Row(n=n) for n in range(10)]
    assert session.insert_many(iter(objs)) == 10
    assert [len(b) for b in server.batches] == [4, 4, 2]
    assert [i for b in server.batches for i in b] == [o.id for o in objs]  # in order
    assert all(o.rev is not None and len(o.id or "") == 32 for o in objs)
    assert list(session) == []
    assert all(session.state_of(o) is ObjectState.TRANSIENT for o in objs)


def test_insert_many_makes_the_next_batch_while_the_server_writes_one(
    client: CloudantV1, server: Server
) -> None:
    made: list[int] = []
    second_batch_begun = threading.Event()

    def produce() -> Iterator[Row]:
        for n in range(12):
            made.append(n)
            if n == 5:  # (object 4 is made before batch 0 goes: it shows batch 0 is full)
                second_batch_begun.set()
            yield Row(n=n)

    # The server answers batch 0 only once batch 1 is being made: without overlap the
    # objects of batch 1 would be made only after that answer.
    waited: list[bool] = []
    server.before = {0: lambda: waited.append(second_batch_begun.wait(WAIT))}
    session = Session(client, db="db", batch_size=4)
    assert session.insert_many(produce()) == 12
    assert waited == [True]
    assert [len(b) for b in server.batches] == [4, 4, 4]


def test_insert_many_holds_at_most_two_batches(client: CloudantV1, server: Server) -> None:
    alive = [0]
    most = [0]

    def gone() -> None:
        alive[0] -= 1

    def produce() -> Iterator[Row]:
        for n in range(40):
            row = Row(n=n)
            alive[0] += 1
            weakref.finalize(row, gone)
            yield row

    def count() -> None:
        gc.collect()
        most[0] = max(most[0], alive[0])

    server.before = dict.fromkeys(range(10), count)
    session = Session(client, db="db", batch_size=4)
    assert session.insert_many(produce()) == 40
    # The batch in flight and the next one being made (and one object past it).
    assert most[0] <= 9


def test_insert_many_reports_every_refused_document_after_the_last_batch(
    client: CloudantV1, server: Server
) -> None:
    server.refuse = {0: {"r001"}, 2: {"r008"}}
    session = Session(client, db="db", batch_size=4)
    objs = rows(10)
    with pytest.raises(BulkWriteError) as info:
        session.insert_many(objs)
    assert [f.document.id for f in info.value.failures] == ["r001", "r008"]
    assert info.value.written == 8
    assert len(server.batches) == 3
    assert [o.rev is None for o in objs] == [n in (1, 8) for n in range(10)]
    assert list(session) == []


def test_insert_many_stops_at_a_document_that_cant_be_stored_after_writing_those_before(
    client: CloudantV1, server: Server
) -> None:
    server.refuse = {0: {"r002"}}
    objs = rows(10)
    objs[6].n = "six"  # type: ignore[assignment]
    session = Session(client, db="db", batch_size=4)
    with pytest.raises(DocumentValidationError, match="r006") as info:
        session.insert_many(objs)
    # Batch 0, then what came before the bad one in batch 1; nothing after it.
    assert server.batches == [["r000", "r001", "r002", "r003"], ["r004", "r005"]]
    assert [o.rev is not None for o in objs] == [n in (0, 1, 3, 4, 5) for n in range(10)]
    cause = info.value.__cause__
    assert isinstance(cause, BulkWriteError)  # the earlier failures are not lost
    assert [f.document.id for f in cause.failures] == ["r002"]
    assert cause.written == 5


def test_insert_many_stops_at_an_error_of_the_iterable_after_writing_what_it_gave(
    client: CloudantV1, server: Server
) -> None:
    def produce() -> Iterator[Row]:
        yield from rows(5)
        raise OSError("the input file went away")

    session = Session(client, db="db", batch_size=4)
    with pytest.raises(OSError, match="went away"):
        session.insert_many(produce())
    assert server.batches == [["r000", "r001", "r002", "r003"], ["r004"]]


def test_insert_many_raises_a_transport_error_and_the_batches_before_keep_their_revs(
    client: CloudantV1, server: Server
) -> None:
    server.down = 1
    objs = rows(12)
    session = Session(client, db="db", batch_size=4)
    with pytest.raises(ServiceUnavailableError):
        session.insert_many(objs)
    assert len(server.batches) == 2
    assert [o.rev is not None for o in objs] == [n < 4 for n in range(12)]


def test_insert_many_raises_a_connection_failure(client: CloudantV1) -> None:
    client.set_service_url("http://127.0.0.1:9")  # nothing listens there
    with responses.RequestsMock() as mock:
        mock.add_passthru("http://127.0.0.1:9")
        with pytest.raises(ConnectionFailed):
            Session(client, db="db", batch_size=2).insert_many(rows(5))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda s: s.get(Row, "r000"), "is tracked by this session"),
        (lambda s: Row(id="r001", rev="1-x", n=1), "has a rev"),
        (lambda s: Row(id="r000", n=0), "already in this session as another object"),
        (lambda s: "a row", "takes Documents, not str"),
    ],
)
def test_insert_many_refuses_what_is_not_a_new_document(
    client: CloudantV1, make: Any, message: str
) -> None:
    with responses.RequestsMock() as mock:
        mock.get(f"{URL}/db/r000", json={"_id": "r000", "_rev": "1-a", "type": "row", "n": 0})
        session = Session(client, db="db")
        session.get(Row, "r000")
        with pytest.raises((SessionError, TypeError), match=message):
            session.insert_many([make(session)])


def test_insert_many_in_a_read_only_session_is_refused(client: CloudantV1) -> None:
    with pytest.raises(SessionError, match="read-only"):
        Session(client, db="db", read_only=True).insert_many(rows(1))

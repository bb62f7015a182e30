"""Queries against the server: every operator, bookmark iteration over many pages,
get_many, count, update, delete, views with reduce / group / include_docs, and page
cursors resumed later."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from _server import eventually, settle

from cloudant_odm import (
    Document,
    DocumentsNotFound,
    DoesNotExist,
    Embedded,
    IndexRequiredError,
    MultipleObjectsReturned,
    Q,
    Session,
    SessionError,
    field,
    use_session,
)
from cloudant_odm.client import BadRequestError, CloudantV1
from cloudant_odm.design.declarations import Index, View
from cloudant_odm.query import is_partial

START = datetime(2024, 1, 1, tzinfo=timezone.utc)


class Line(Embedded):
    sku: str
    qty: int = 1


class Address(Embedded):
    city: str


class Ticket(Document, doc_type="iq-ticket", design="tickets"):
    n: int
    title: str = ""
    status: str = "open"
    points: float = 0.0
    opened: datetime = START
    tags: list[str] = field(factory=list)
    lines: list[Line] = field(factory=list)
    address: Address | None = None
    note: str | None = None

    by_status = View.emit(key="status", value="points", reduce="_sum")
    by_n = Index("n")
    status_opened = Index("status", "opened")


class UrgentTicket(Ticket, doc_type="iq-urgent-ticket"):
    level: int = 1


class Person(Document, doc_type="iq-person"):
    name: str


def ticket(n: int) -> Ticket:
    return Ticket(
        id=f"t{n:03d}",
        n=n,
        title=f"ticket {n}",
        status=["open", "closed", "held"][n % 3],
        points=n * 0.5,
        opened=START + timedelta(days=n),
        tags=["a", "b"][: n % 3],
        lines=[Line(sku=f"s{n % 4}", qty=n % 5)],
        address=Address(city="Leeds" if n % 2 else "York"),
        note=None if n % 4 else "noted",
    )


@pytest.fixture
def session(client: CloudantV1, db_name: str) -> Session:
    return Session(client, db=db_name)


@pytest.fixture
def tickets(session: Session) -> list[Ticket]:
    """Twelve tickets (t000 .. t011), one urgent one and two people."""
    made = [ticket(n) for n in range(12)]
    urgent = UrgentTicket(id="u001", n=100, title="urgent", status="urgent", level=3)
    with session:
        session.add_all([*made, urgent, Person(name="ann"), Person(name="bob")])
    settle(session.client, str(session.db), 15)
    return made


def ids(found: Any) -> list[str]:
    return sorted(str(o.id) for o in found)


def expected(tickets: list[Ticket], test: Callable[[Ticket], bool]) -> list[str]:
    return sorted(str(t.id) for t in tickets if test(t))


# --- every operator against the server ---------------------------------------------------

T = Ticket
OPERATORS: list[tuple[str, Callable[[], Any], Callable[[Ticket], bool]]] = [
    ("eq", lambda: T.status == "closed", lambda t: t.status == "closed"),
    ("ne", lambda: T.status != "closed", lambda t: t.status != "closed"),
    ("lt", lambda: T.n < 3, lambda t: t.n < 3),
    ("lte", lambda: T.n <= 3, lambda t: t.n <= 3),
    ("gt", lambda: T.n > 8, lambda t: t.n > 8),
    ("gte", lambda: T.n >= 8, lambda t: t.n >= 8),
    ("float", lambda: T.points > 4.5, lambda t: t.points > 4.5),
    ("in", lambda: T.n.in_([1, 5, 9]), lambda t: t.n in (1, 5, 9)),
    ("not_in", lambda: T.n.not_in([1, 5, 9]), lambda t: t.n not in (1, 5, 9)),
    ("exists", lambda: T.note.exists(), lambda t: True),  # null is present
    ("exists element", lambda: T.lines[0].exists(), lambda t: bool(t.lines)),
    ("exists false", lambda: T.lines[0].exists(False), lambda t: not t.lines),
    # Past the end of a list counts as absent (CouchDB alone would match nothing there).
    ("exists false below", lambda: T.lines[0].qty.exists(False), lambda t: not t.lines),
    ("exists false 2nd", lambda: T.lines[1].exists(False), lambda t: len(t.lines) < 2),
    ("eq null", lambda: T.note == None, lambda t: t.note is None),  # noqa: E711
    ("regex", lambda: T.title.regex("^ticket 1"), lambda t: t.title.startswith("ticket 1")),
    ("size", lambda: T.tags.size(2), lambda t: len(t.tags) == 2),
    ("all", lambda: T.tags.all_(["a", "b"]), lambda t: {"a", "b"} <= set(t.tags)),
    ("contains", lambda: T.tags.contains("b"), lambda t: "b" in t.tags),
    (
        "elem_match",
        lambda: T.lines.elem_match(sku="s1"),
        lambda t: any(x.sku == "s1" for x in t.lines),
    ),
    (
        "elem_match item",
        lambda: T.lines.elem_match(T.lines.item.qty >= 3),
        lambda t: any(x.qty >= 3 for x in t.lines),
    ),
    (
        "all_match",
        lambda: T.lines.all_match(qty__gt=0),
        lambda t: bool(t.lines) and all(x.qty > 0 for x in t.lines),
    ),
    ("mod", lambda: T.n.mod(5, 1), lambda t: t.n % 5 == 1),
    ("type", lambda: T.note.type_("string"), lambda t: t.note is not None),
    ("nested", lambda: T.address.city == "Leeds", lambda t: t.n % 2 == 1),
    ("index", lambda: T.lines[0].qty == 2, lambda t: bool(t.lines) and t.lines[0].qty == 2),
    (
        "datetime",
        lambda: T.opened >= START + timedelta(days=9),
        lambda t: t.opened >= START + timedelta(days=9),
    ),
    ("and", lambda: (T.n > 2) & (T.n < 6), lambda t: 2 < t.n < 6),
    ("or", lambda: (T.n == 1) | (T.status == "held"), lambda t: t.n == 1 or t.status == "held"),
    ("not", lambda: ~(T.status == "open"), lambda t: t.status != "open"),
    ("q", lambda: Q(status="open", n__gte=6), lambda t: t.status == "open" and t.n >= 6),
    ("q or", lambda: Q(n=0) | Q(address__city="Leeds"), lambda t: t.n == 0 or t.n % 2 == 1),
]


@pytest.mark.parametrize(("name", "make", "test"), OPERATORS, ids=[o[0] for o in OPERATORS])
def test_each_operator(
    session: Session,
    tickets: list[Ticket],
    name: str,
    make: Callable[[], Any],
    test: Callable[[Ticket], bool],
) -> None:
    found = Ticket.objects.using(session).filter(make()).all()
    # The urgent ticket (n=100, no lines, no tags) is a Ticket too.
    urgent = UrgentTicket(id="u001", n=100, title="urgent", status="urgent", level=3)
    assert ids(found) == expected([*tickets, urgent], test)


def test_keyword_filters_and_exclude(session: Session, tickets: list[Ticket]) -> None:
    found = Ticket.objects.using(session).filter(status="open", n__lt=7).exclude(n=3)
    assert ids(found) == ["t000", "t006"]


def test_the_type_field_keeps_other_classes_out(session: Session, tickets: list[Ticket]) -> None:
    assert Ticket.objects.using(session).count() == 13  # with the urgent one
    assert UrgentTicket.objects.using(session).count() == 1
    assert sorted(p.name for p in Person.objects.using(session).all()) == ["ann", "bob"]
    urgent = Ticket.objects.using(session).get("u001")
    assert isinstance(urgent, UrgentTicket)
    with pytest.raises(DoesNotExist):
        Ticket.objects.using(session).get(Person.objects.using(session).all()[0].id or "")


# --- results go through the session ----------------------------------------------------


def test_results_are_the_identity_maps_objects(session: Session, tickets: list[Ticket]) -> None:
    fresh = Session(session.client, db=session.db)
    (first,) = Ticket.objects.using(fresh).filter(Ticket.n == 1).all()
    assert fresh.get(Ticket, "t001") is first  # no second read
    first.status = "closed"
    fresh.commit()
    assert Session(session.client, db=session.db).get(Ticket, "t001").status == "closed"  # type: ignore[union-attr]
    again = Ticket.objects.using(fresh).filter(Ticket.n == 1).first()
    assert again is first  # (whichever revision the copy that answered holds)


def test_get_first_exists(session: Session, tickets: list[Ticket]) -> None:
    query = Ticket.objects.using(session)
    assert query.get(Ticket.n == 4).id == "t004"
    assert query.get(title="ticket 5").n == 5
    with pytest.raises(MultipleObjectsReturned):
        query.get(status="open")
    with pytest.raises(DoesNotExist):
        query.get(n=999)
    with pytest.raises(DoesNotExist):
        query.get("no-such-id")
    assert query.filter(n=999).first() is None
    assert query.filter(n=3).exists()
    assert not query.filter(n=999).exists()


def test_partial_objects(session: Session, tickets: list[Ticket]) -> None:
    (partial,) = Ticket.objects.using(session).filter(n=2).fields(Ticket.title, "status").all()
    assert is_partial(partial)
    assert (partial.id, partial.title, partial.status) == ("t002", "ticket 2", "held")
    assert partial not in session
    with pytest.raises(AttributeError, match="partial"):
        _ = partial.points + 1


# --- iteration: bookmarks, lazily, bounded memory -------------------------------------


@pytest.fixture
def many(session: Session) -> int:
    count = 64
    with session:
        session.add_all(Ticket(id=f"m{n:03d}", n=n, status="bulk") for n in range(count))
        session.add_all(Person(name=f"p{n}") for n in range(5))
    session.expunge_all()
    settle(session.client, str(session.db), count + 5)
    return count


def _count_calls(monkeypatch: pytest.MonkeyPatch, client: CloudantV1, name: str) -> list[int]:
    calls: list[int] = []
    original = getattr(client, name)

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs.get("limit", 0))
        return original(*args, **kwargs)

    monkeypatch.setattr(client, name, counting)
    return calls


def test_bookmark_iteration_over_more_than_five_pages_is_lazy(
    session: Session, many: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _count_calls(monkeypatch, session.client, "post_find")
    query = Ticket.objects.using(session).filter(status="bulk").page_size(10)
    iterator = iter(query)
    first = [next(iterator) for _ in range(10)]
    assert len(calls) <= 2  # one page read so far, and the next one read ahead
    rest = list(iterator)
    assert len(calls) == 7  # 64 documents: 6 full pages and a short one
    assert calls == [10] * 7
    assert sorted(t.n for t in [*first, *rest]) == list(range(many))


def test_untracked_iteration_keeps_the_session_empty(session: Session, many: int) -> None:
    def untracked() -> None:
        seen = 0
        query = Ticket.objects.using(session).filter(status="bulk")
        for found in query.iterator(10, track=False):
            seen += 1
            assert found not in session
        assert seen == many
        assert list(session) == []

    eventually(untracked)  # (on a cluster under load, a copy may still lag the seeding)

    def tracked() -> None:  # (the default): the identity map holds every object read
        fresh = Session(session.client, db=session.db)
        assert len(Ticket.objects.using(fresh).filter(status="bulk").page_size(10).all()) == many
        assert len(list(fresh)) == many

    eventually(tracked)


def test_all_docs_iteration_pages_by_id_and_keeps_the_models_documents(
    session: Session, many: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _count_calls(monkeypatch, session.client, "post_all_docs")
    found = list(Ticket.objects.using(session).iterator(page_size=10))
    assert [t.id for t in found] == [f"m{n:03d}" for n in range(many)]
    assert len(calls) >= 7
    assert Person.objects.using(session).count() == 5


def test_page_cursors_resume_later(session: Session, many: int) -> None:
    for query in (
        Ticket.objects.using(session).filter(status="bulk"),  # _find with bookmarks
        Ticket.objects.using(session),  # _all_docs by id
        Ticket.objects.using(session).limit(25),
    ):
        seen: list[str] = []
        cursor: str | None = None
        pages = 0
        while True:
            # A new session each time, as a web request would have.
            page = query.using(Session(session.client, db=session.db)).page(10, cursor)
            seen.extend(str(t.id) for t in page)
            pages += 1
            cursor = page.next_cursor
            if cursor is None:
                break
        limit = query._limit or many
        assert sorted(seen) == sorted(f"m{n:03d}" for n in range(many))[:limit]
        assert len(seen) == len(set(seen)) == limit
        assert pages >= limit // 10


def create_index(session: Session, db: str, index: Index) -> None:
    """``POST /_index``, then wait until sorting by the index works: on a cluster the node
    that plans a query may not know a new index for a moment (docs/clusters.md)."""
    client = session.client
    client.post_index(db, **index.definition())
    paths = [next(iter(field)) for field in index.json_fields()]

    def usable() -> None:
        client.post_find(
            db,
            selector={path: {"$exists": True} for path in paths},
            sort=[{path: "asc"} for path in paths],
            use_index=index.use_index,
            limit=1,
        )

    eventually(usable, retry_on=(BadRequestError,), consecutive=3)


def test_order_by_with_an_index(session: Session, many: int, db_name: str) -> None:
    create_index(session, db_name, Ticket.by_n)
    query = Ticket.objects.using(session).filter(status="bulk").order_by(-Ticket.n)
    assert [t.n for t in query.limit(5)] == [63, 62, 61, 60, 59]
    assert [t.n for t in query.page_size(7).limit(20)] == list(range(63, 43, -1))
    ascending = Ticket.objects.using(session).order_by(Ticket.n).limit(3)
    assert [t.n for t in ascending] == [0, 1, 2]
    assert ascending.explain()["index"]["name"] == "by_n"


def test_order_by_with_equality_filtered_index_fields(
    session: Session, tickets: list[Ticket], db_name: str
) -> None:
    create_index(session, db_name, Ticket.status_opened)
    newest = Ticket.objects.using(session).filter(status="open").order_by(-Ticket.opened)
    assert [t.id for t in newest] == ["t009", "t006", "t003", "t000"]
    assert [t.id for t in newest.page_size(2).limit(3)] == ["t009", "t006", "t003"]
    later = Ticket.objects.using(session).filter(Ticket.opened > START, status="open")
    assert [t.n for t in later.order_by(Ticket.opened)] == [3, 6, 9]


def test_a_sort_without_an_index_says_what_to_declare(
    session: Session, tickets: list[Ticket]
) -> None:
    with pytest.raises(IndexRequiredError, match=r"Index\('status', 'points'\)"):
        Ticket.objects.using(session).filter(status="open").order_by(Ticket.points).all()


# --- get_many, count, update, delete -------------------------------------------------


def test_get_many(session: Session, tickets: list[Ticket], monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _count_calls(monkeypatch, session.client, "post_all_docs")
    people = Person.objects.using(session).all()
    wanted = ["t005", "t001", "u001", "t009"]
    found = Ticket.objects.using(session).get_many(wanted)
    assert [t.id for t in found] == wanted
    assert isinstance(found[2], UrgentTicket)
    assert len(calls) == 1
    with pytest.raises(DocumentsNotFound) as caught:
        Ticket.objects.using(Session(session.client, db=session.db)).get_many(
            ["t001", "nope", str(people[0].id)]
        )
    assert caught.value.missing == ["nope", str(people[0].id)]
    maybe = Ticket.objects.using(session).get_many(["nope", "t001"], missing="none")
    assert maybe[0] is None
    assert maybe[1] is found[1]


def test_count(session: Session, tickets: list[Ticket]) -> None:
    assert Ticket.objects.using(session).filter(status="open").count() == 4
    assert Ticket.objects.using(session).filter(Ticket.n > 100).count() == 0
    assert Ticket.objects.using(session).filter(status="open").limit(2).count() == 2


def test_update(session: Session, tickets: list[Ticket], db_name: str) -> None:
    held = Ticket.objects.using(session).get("t002")  # in the session before the update
    written = (
        Ticket.objects.using(session)
        .filter(status="held")
        .update(lambda t: setattr(t, "points", t.points + 100), status="resolved")
    )
    assert written == 4
    assert held.status == "resolved"  # the session's own object, updated in place
    assert str(held.rev).startswith("2-")
    check = Session(session.client, db=db_name)
    resolved = Ticket.objects.using(check).filter(status="resolved").all()
    assert ids(resolved) == ["t002", "t005", "t008", "t011"]
    assert all(t.points >= 100 for t in resolved)
    assert Ticket.objects.using(check).filter(status="held").count() == 0


def test_delete(session: Session, many: int) -> None:
    deleted = Ticket.objects.using(session).filter(Ticket.n >= 10, status="bulk").delete()
    assert deleted == many - 10
    assert list(session) == []

    def counted() -> None:  # (queries read one copy per shard range: eventually)
        assert Ticket.objects.using(session).filter(status="bulk").count() == 10
        assert Person.objects.using(session).count() == 5

    eventually(counted)


# --- the default session ----------------------------------------------------------------


def test_queries_use_the_current_session(session: Session, tickets: list[Ticket]) -> None:
    with use_session(session):
        assert Ticket.objects.filter(n=1).get().id == "t001"
        assert Ticket.objects.get("t001") is session.get(Ticket, "t001")


# --- views --------------------------------------------------------------------------


@pytest.fixture
def views(session: Session, tickets: list[Ticket], db_name: str) -> None:
    design = {"views": {Ticket.by_status.name: Ticket.by_status.definition()}}
    session.client.put_design_document(db_name, Ticket.by_status.ddoc, design)


def test_view_reduce_and_group(session: Session, tickets: list[Ticket], views: None) -> None:
    total = sum(t.points for t in tickets)
    assert Ticket.by_status.query(session).scalar() == pytest.approx(total)
    grouped = {r.key: r.value for r in Ticket.by_status.query(session, group=True)}
    assert grouped == {
        s: pytest.approx(sum(t.points for t in tickets if t.status == s))
        for s in ("open", "closed", "held")
    } | {"urgent": 0}
    assert Ticket.by_status.query(session, key="held", reduce=True).scalar() == pytest.approx(
        sum(t.points for t in tickets if t.status == "held")
    )
    levels = Ticket.by_status.query(session, group_level=1, page_size=1).all()
    assert [r.key for r in levels] == ["closed", "held", "open", "urgent"]


def test_view_rows_and_include_docs(session: Session, tickets: list[Ticket], views: None) -> None:
    rows = Ticket.by_status.query(session, key="open", include_docs=True).all()
    assert [r.id for r in rows] == ["t000", "t003", "t006", "t009"]
    assert all(isinstance(r.doc, Ticket) and r.doc.status == "open" for r in rows)
    assert rows[0].doc is session.get(Ticket, "t000")
    assert [r.value for r in rows] == [0.0, 1.5, 3.0, 4.5]
    docs = Ticket.by_status.query(session, start_key="h", end_key="i", include_docs=True).docs()
    assert ids(docs) == ["t002", "t005", "t008", "t011"]


def test_view_iteration_pages_through_duplicate_keys(
    session: Session, tickets: list[Ticket], views: None
) -> None:
    # Four rows per key and pages of three: pages end inside a key, so the next one must
    # start at the right document (start_key_doc_id, or the fallback on PouchDB Server).
    for size in (1, 2, 3, 5):
        rows = Ticket.by_status.query(session, reduce=False, end_key="open", page_size=size).all()
        assert [r.id for r in rows] == sorted(
            (str(t.id) for t in tickets), key=lambda i: (tickets[int(i[1:])].status, i)
        )
    query = Ticket.by_status.query(session, reduce=False, descending=True, start_key="open")
    seen: list[str] = []
    cursor: str | None = None
    while True:
        page = query.page(5, cursor)
        seen.extend(str(r.id) for r in page)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 12
    assert seen[:4] == ["t009", "t006", "t003", "t000"]


def test_bulk_update_refuses_matches_with_unwritten_changes(
    session: Session, tickets: list[Ticket], db_name: str
) -> None:
    held = Ticket.objects.using(session).get("t002")
    held.title = "edited locally, not committed"
    with pytest.raises(SessionError, match="unwritten changes"):
        Ticket.objects.using(session).filter(status="held").update(status="resolved")
    check = Session(session.client, db=db_name)
    assert Ticket.objects.using(check).filter(status="resolved").count() == 0  # nothing written
    assert held.title == "edited locally, not committed"  # and nothing thrown away


class Bill(Document, doc_type="iq-bill"):
    total: Decimal


def test_decimals_an_earlier_version_stored_as_text_match_no_range(
    client: CloudantV1, db_name: str
) -> None:
    # Text sorts after every number on the server: without a guard `total > 50` would
    # match "7.25". As documented, text-stored values match no range until re-saved.
    client.post_bulk_docs(
        db_name,
        {
            "docs": [
                {"_id": "b-number", "type": "iq-bill", "total": 70.5},
                {"_id": "b-small", "type": "iq-bill", "total": 7.25},
                {"_id": "b-text", "type": "iq-bill", "total": "7.25"},
            ]
        },
    )
    session = Session(client, db=db_name)
    bills = Bill.objects.using(session)
    loaded = {b.id: b.total for b in bills.all()}
    assert loaded["b-text"] == Decimal("7.25")  # still loads
    above = sorted(b.id for b in bills.filter(Bill.total > Decimal("50")).all())
    below = sorted(b.id for b in bills.filter(Bill.total <= 50).all())
    assert above == ["b-number"]  # Python agrees: 7.25 > 50 is False
    assert below == ["b-small"]  # the text one waits for re-saving, as documented


class Visit(Document, doc_type="iq-visit", design="visits"):
    status: str
    n: int

    by_status_n = View.emit(key=["status", "n"], reduce="_count")


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("page_size", [1, 2, 3])
def test_grouped_view_pages_keep_every_group_in_either_direction(
    session: Session, db_name: str, descending: bool, page_size: int
) -> None:
    # A group_level=1 row ["paid"] stands for every ["paid", n]: a page that starts at
    # it going down must not leave those out (they sort after ["paid"]).
    statuses = ["cancelled", "new", "paid", "shipped"]
    with session:
        session.add_all(Visit(status=s, n=n) for s in statuses for n in range(3))
    view = Visit.by_status_n
    design = {"views": {view.name: view.definition()}}
    session.client.put_design_document(db_name, view.ddoc, design)
    rows = view.query(session, group_level=1, descending=descending, page_size=page_size)
    got = [(r.key, r.value) for r in rows.all()]
    expected = [([s], 3) for s in sorted(statuses, reverse=descending)]
    assert got == expected
    pages, cursor, seen = 0, None, []
    while True:
        page = view.query(session, group_level=1, descending=descending).page(page_size, cursor)
        seen += [r.key for r in page]
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [key for key, _ in expected]


def test_a_view_page_that_reaches_the_limit_has_no_cursor(session: Session, db_name: str) -> None:
    with session:
        session.add_all(Visit(status="paid", n=n) for n in range(20))
    view = Visit.by_status_n
    session.client.put_design_document(
        db_name, view.ddoc, {"views": {view.name: view.definition()}}
    )
    first = view.query(session, reduce=False, limit=15).page(10)
    second = view.query(session, reduce=False, limit=15).page(10, first.next_cursor)
    assert (len(first), len(second)) == (10, 5)
    assert second.next_cursor is None  # the limit is reached: nothing after it

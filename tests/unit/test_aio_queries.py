"""AsyncQuerySet, AsyncViewQuery and AsyncSearchResults against mocked HTTP (respx; the
synchronous classes with ``responses``): the same public API as the synchronous
classes, and, for each operation, the same requests, results and stored documents,
since both run the same flows. Async iteration reads a page as the loop reaches it."""

from __future__ import annotations

import contextlib
import gzip
import inspect
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

import pytest
import responses
from _both_apis import collect, settled

httpx = pytest.importorskip("httpx", reason="the async extra is not installed")
respx = pytest.importorskip("respx", reason="respx is not installed (dev extra)")

from cloudant_odm import (  # noqa: E402
    Document,
    DoesNotExist,
    Index,
    IndexRequiredError,
    Ref,
    SearchIndex,
    SearchResults,
    Session,
    View,
    ViewQuery,
    use_session,
)
from cloudant_odm.aio import (  # noqa: E402
    AsyncCloudantV1,
    AsyncQuerySet,
    AsyncSearchResults,
    AsyncSession,
    AsyncViewQuery,
)
from cloudant_odm.client import CloudantV1, NoAuthAuthenticator  # noqa: E402
from cloudant_odm.models import to_json  # noqa: E402
from cloudant_odm.query import QuerySet  # noqa: E402
from cloudant_odm.query.paging import Page  # noqa: E402
from cloudant_odm.query.search import BaseSearchResults  # noqa: E402
from cloudant_odm.query.views import ViewRow  # noqa: E402

pytestmark = pytest.mark.anyio

URL = "http://couch.test"
T = TypeVar("T")


class Person(Document, doc_type="aq_person"):
    name: str


class Note(Document, doc_type="aq_note"):
    class Meta:
        design = "aq"

    text: str
    n: int = 0
    owner: Ref[Person] | None = None

    by_n = Index("n")
    by_text = View.emit(key="text", value="n", reduce="_sum")
    fulltext = SearchIndex(fields=["text"])


# --- a database answering what queries ask, for either client --------------------------------


def _matches(doc: dict[str, Any], selector: dict[str, Any]) -> bool:
    for key, condition in selector.items():
        if key == "$and":
            if not all(_matches(doc, part) for part in condition):
                return False
            continue
        value: Any = doc
        for part in key.split("."):
            value = value.get(part, _MISSING) if isinstance(value, dict) else _MISSING
        checks = condition if isinstance(condition, dict) else {"$eq": condition}
        for operator, wanted in checks.items():
            if operator == "$exists":
                ok = (value is not _MISSING) == wanted
            elif value is _MISSING:
                ok = False
            else:
                ok = {
                    "$eq": lambda v, w: v == w,
                    "$gte": lambda v, w: v >= w,
                    "$gt": lambda v, w: v > w,
                    "$lt": lambda v, w: v < w,
                    "$in": lambda v, w: v in w,
                }[operator](value, wanted)
            if not ok:
                return False
    return True


_MISSING: Any = object()


class Couch:
    """One database ("db") of notes and people, answering ``_find`` (numeric bookmarks,
    sorts unless ``refuse_sort``), ``_all_docs``, ``_bulk_docs`` (a write of an id in
    ``conflicts`` finds it changed by someone else, with those values, once), document
    reads, the ``by_text`` view, the ``fulltext`` search and ``_explain``. ``requests``
    records (method, path, query, body) of each request."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}
        for i in range(2):
            self.docs[f"p{i}"] = {
                "_id": f"p{i}",
                "_rev": "1-a",
                "type": "aq_person",
                "name": f"P{i}",
            }
        for i in range(10):
            note = {
                "_id": f"n{i:02d}",
                "_rev": "1-a",
                "type": "aq_note",
                "text": f"t{i % 3}",
                "n": i,
            }
            note["owner"] = f"p{i % 3}" if i % 3 < 2 else None  # p0, p1 or none
            self.docs[note["_id"]] = note
        self.requests: list[tuple[str, str, dict[str, str], Any]] = []
        self.conflicts: dict[str, dict[str, Any]] = {}
        self.refuse_sort = False

    def answer(self, method: str, url: str, headers: Any, raw: bytes | None) -> tuple[int, Any]:
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        body = None
        if raw:
            if headers.get("Content-Encoding") == "gzip":
                raw = gzip.decompress(raw)
            body = json.loads(raw)
        self.requests.append((method, parts.path, query, body))
        rest = parts.path.removeprefix("/db/")
        if rest == "_find":
            return self.find(body)
        if rest == "_all_docs":
            return self.all_docs(body)
        if rest == "_bulk_docs":
            return self.bulk_docs(body)
        if rest == "_explain":
            return 200, {"index": {"name": "_all_docs"}, "selector": body["selector"]}
        if rest == "_index":
            return 200, {"total_rows": 0, "indexes": []}
        if rest == "_design/aq/_view/by_text":
            return self.view(body)
        if rest == "_design/aq/_search/fulltext":
            return self.search(body)
        if method == "GET" and rest in self.docs:
            return 200, self.docs[rest]
        return 404, {"error": "not_found", "reason": "missing"}

    def find(self, body: dict[str, Any]) -> tuple[int, Any]:
        if "sort" in body and self.refuse_sort:
            reason = "No index exists for this sort, try indexing by the sort fields."
            return 400, {"error": "no_usable_index", "reason": reason}
        found = [d for _, d in sorted(self.docs.items()) if _matches(d, body["selector"])]
        for key in reversed(body.get("sort", [])):
            ((path, direction),) = key.items()
            found.sort(key=lambda d: d.get(path), reverse=direction == "desc")
        at = int(body.get("bookmark", 0))
        page = found[at : at + body["limit"]]
        if "fields" in body:
            page = [{k: v for k, v in d.items() if k in body["fields"]} for d in page]
        return 200, {"docs": page, "bookmark": str(at + len(page))}

    def all_docs(self, body: dict[str, Any]) -> tuple[int, Any]:
        if "keys" in body:
            rows = [
                {"id": k, "key": k, "value": {"rev": self.docs[k]["_rev"]}, "doc": self.docs[k]}
                if k in self.docs
                else {"key": k, "error": "not_found"}
                for k in body["keys"]
            ]
            return 200, {"rows": rows}
        ids = [i for i in sorted(self.docs) if "start_key" not in body or i >= body["start_key"]]
        rows = [
            {"id": i, "key": i, "value": {"rev": self.docs[i]["_rev"]}, "doc": self.docs[i]}
            for i in ids[: body["limit"]]
        ]
        return 200, {"total_rows": len(self.docs), "rows": rows}

    def bulk_docs(self, body: dict[str, Any]) -> tuple[int, Any]:
        results = []
        for doc in body["docs"]:
            doc_id = doc["_id"]
            stored = self.docs.get(doc_id)
            if doc_id in self.conflicts:  # someone else wrote it first
                assert stored is not None
                generation = int(stored["_rev"].split("-")[0]) + 1
                stored.update(self.conflicts.pop(doc_id), _rev=f"{generation}-other")
            if stored is not None and doc.get("_rev") != stored["_rev"]:
                results.append(
                    {"id": doc_id, "error": "conflict", "reason": "Document update conflict."}
                )
                continue
            generation = int(doc.get("_rev", "0-x").split("-")[0]) + 1
            rev = f"{generation}-w"
            if doc.get("_deleted"):
                del self.docs[doc_id]
            else:
                self.docs[doc_id] = {**doc, "_rev": rev}
            results.append({"ok": True, "id": doc_id, "rev": rev})
        return 201, results

    def view(self, body: dict[str, Any]) -> tuple[int, Any]:
        notes = [d for d in self.docs.values() if d["type"] == "aq_note"]
        rows = sorted(
            ({"id": d["_id"], "key": d["text"], "value": d["n"]} for d in notes),
            key=lambda r: (r["key"], r["id"]),
        )
        if "key" in body:
            rows = [r for r in rows if r["key"] == body["key"]]
        if body.get("reduce", True):
            if body.get("group"):
                keys = sorted({r["key"] for r in rows})
                rows = [
                    {"key": k, "value": sum(r["value"] for r in rows if r["key"] == k)}
                    for k in keys
                ]
            else:
                rows = [{"key": None, "value": sum(r["value"] for r in rows)}]
        if "start_key" in body:
            at = (body["start_key"], body.get("start_key_doc_id", ""))
            rows = [r for r in rows if (r["key"], r.get("id") or "") >= at]
        rows = rows[body.get("skip", 0) :][: body.get("limit", len(rows))]
        if body.get("include_docs"):
            rows = [{**r, "doc": self.docs.get(r["id"])} for r in rows]
        return 200, {"total_rows": len(notes), "offset": 0, "rows": rows}

    def search(self, body: dict[str, Any]) -> tuple[int, Any]:
        notes = [d for _, d in sorted(self.docs.items()) if d["type"] == "aq_note"]
        at, limit = int(body.get("bookmark", 0)), body.get("limit", 25)
        rows = [
            {"id": d["_id"], "order": [1.0, i], "fields": {"text": d["text"]}}
            | ({"doc": d} if body.get("include_docs") else {})
            for i, d in enumerate(notes[at : at + limit])
        ]
        return 200, {"total_rows": len(notes), "bookmark": str(at + len(rows)), "rows": rows}

    # -- serving either client --------------------------------------------------------

    def serve_requests(self, mock: responses.RequestsMock) -> None:
        def callback(request: Any) -> tuple[int, dict[str, str], str]:
            status, body = self.answer(request.method, request.url, request.headers, request.body)
            return status, {"Content-Type": "application/json"}, json.dumps(body)

        for method in (responses.GET, responses.POST):
            mock.add_callback(method, re.compile(f"{URL}/.*"), callback=callback)

    def serve_httpx(self, router: Any) -> None:
        def handler(request: Any) -> Any:
            status, body = self.answer(
                request.method, str(request.url), request.headers, request.content
            )
            return httpx.Response(status, json=body)

        router.route(host="couch.test").mock(side_effect=handler)


# --- running one scenario through both APIs --------------------------------------------------


def norm(value: Any) -> Any:
    """What a result shows, comparable across the two APIs."""
    if isinstance(value, Document):
        return (type(value).__name__, to_json(value))
    if isinstance(value, Page):
        return ("page", norm(value.items), value.next_cursor)
    if isinstance(value, ViewRow):
        return ("row", value.key, value.value, value.id, norm(value.doc))
    if isinstance(value, BaseSearchResults):
        hits = [(h.id, h.order, h.fields, norm(h.doc)) for h in value.hits]
        return ("search", value.total_rows, hits, value.bookmark)
    if isinstance(value, (list, tuple)):
        return [norm(v) for v in value]
    if isinstance(value, dict):
        return {k: norm(v) for k, v in value.items()}
    return value


Scenario = Callable[[Any, Couch], Awaitable[Any]]


async def observe(scenario: Scenario, session: Any, couch: Couch) -> Any:
    try:
        result = norm(await scenario(session, couch))
    except Exception as error:
        result = ("raised", type(error).__name__, str(error))
    return result, couch.requests, couch.docs


async def through_both(scenario: Scenario) -> tuple[Any, Any]:
    sync_client = CloudantV1(NoAuthAuthenticator())
    sync_client.set_service_url(URL)
    sync_couch = Couch()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        sync_couch.serve_requests(mock)
        seen_sync = await observe(scenario, Session(sync_client, db="db"), sync_couch)
    async_couch = Couch()
    with respx.mock(assert_all_called=False) as router:
        async_couch.serve_httpx(router)
        async with AsyncCloudantV1(NoAuthAuthenticator()) as async_client:
            async_client.set_service_url(URL)
            session = AsyncSession(async_client, db="db")
            seen_async = await observe(scenario, session, async_couch)
    return seen_sync, seen_async


async def filtered_pages(s: Any, couch: Couch) -> Any:
    return await settled(Note.objects.using(s).filter(Note.n >= 3).page_size(3).all())


async def bare_pages(s: Any, couch: Couch) -> Any:
    # _all_docs holds the people too: pages of notes only, limit respected.
    return await settled(Note.objects.using(s).page_size(4).limit(7).all())


async def iterated(s: Any, couch: Couch) -> Any:
    return await collect(Note.objects.using(s).filter(text="t1").page_size(2))


async def sorted_with_wider_index(s: Any, couch: Couch) -> Any:
    return await settled(Note.objects.using(s).filter(text="t1").order_by(-Note.n).all())


async def sort_refused(s: Any, couch: Couch) -> Any:
    couch.refuse_sort = True
    return await settled(Note.objects.using(s).filter(text="t1").order_by(Note.text).all())


async def cursors(s: Any, couch: Couch) -> Any:
    query = Note.objects.using(s).filter(Note.n < 8)
    first = await settled(query.page(3))
    second = await settled(query.page(3, first.next_cursor))
    bare = Note.objects.using(s)
    third = await settled(bare.page(4))
    return [first, second, third, await settled(bare.page(4, third.next_cursor))]


async def single_reads(s: Any, couch: Couch) -> Any:
    query = Note.objects.using(s)
    found = [
        await settled(query.first()),
        await settled(query.filter(text="t2").first()),
        await settled(query.get("n03")),
        await settled(query.get(Note.n == 5)),
        await settled(query.get_many(["n01", "p0", "zz", "n02"], missing="none")),
        await settled(query.count()),
        await settled(query.filter(Note.n > 100).exists()),
        await settled(query.filter(text="t0").explain()),
    ]
    for missing in ("zz", "p1"):  # none at all, and another class's document
        try:
            await settled(query.get(missing))
        except DoesNotExist as error:
            found.append(str(error))
    return found


async def partial_and_prefetched(s: Any, couch: Couch) -> Any:
    light = await settled(Note.objects.using(s).filter(text="t0").fields("n").all())
    page = await settled(Note.objects.using(s).filter(Note.n < 5).prefetch(Note.owner).page(5))
    held = sorted(p.id for p in s if isinstance(p, Person))
    return [[(n.id, n.n) for n in light], page, held]


async def update_with_a_conflict(s: Any, couch: Couch) -> Any:
    # Another writer changes n04 (which still matches) and n06 (which then no longer
    # does) between the read and the write.
    couch.conflicts = {"n04": {"text": "other"}, "n06": {"n": 106}}
    query = Note.objects.using(s).filter(Note.n >= 4, Note.n < 8)
    updated = await settled(query.update(text="new"))
    deleted = await settled(Note.objects.using(s).filter(text="new").delete())
    return [updated, deleted]


async def a_refused_change(s: Any, couch: Couch) -> Any:
    def change(note: Note) -> None:
        if note.id == "n05":
            raise ValueError("no")
        note.text = "changed"

    with contextlib.suppress(ValueError):
        await settled(Note.objects.using(s).filter(Note.n > 3).update(change))
    return sorted((o.id, o.text, s.is_modified(o)) for o in s)


async def views(s: Any, couch: Couch) -> Any:
    rows = Note.by_text.query(s, reduce=False, page_size=3)
    first = await settled(rows.page(3))
    return [
        await settled(rows.all()),
        await collect(rows),
        first,
        await settled(rows.page(3, first.next_cursor)),
        await settled(rows.first()),
        await settled(Note.by_text.query(s, group=True).all()),
        await settled(Note.by_text.query(s).scalar()),
        await settled(Note.by_text.query(s, key="t1", include_docs=True).docs()),
    ]


async def search(s: Any, couch: Couch) -> Any:
    first = await settled(Note.fulltext.search(s, "text:t*", limit=4, include_docs=True))
    second = await settled(first.next_page())
    return [first, second, first.docs(), [h.id for h in await collect(first.iter_hits())]]


SCENARIOS = [
    filtered_pages,
    bare_pages,
    iterated,
    sorted_with_wider_index,
    sort_refused,
    cursors,
    single_reads,
    partial_and_prefetched,
    update_with_a_conflict,
    a_refused_change,
    views,
    search,
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda f: f.__name__)
async def test_both_apis_send_the_same_requests_and_give_the_same_results(
    scenario: Scenario,
) -> None:
    (result, requests, docs), (aresult, arequests, adocs) = await through_both(scenario)
    assert aresult == result
    assert arequests == requests
    assert adocs == docs
    assert requests  # each scenario reads


async def test_the_scenarios_see_what_the_server_holds() -> None:
    """The comparisons above compare something: a few results, checked by hand."""
    (filtered, _, _), _ = await through_both(filtered_pages)
    assert [doc["n"] for _, doc in filtered] == [3, 4, 5, 6, 7, 8, 9]
    (bare, _, _), _ = await through_both(bare_pages)
    assert [doc["_id"] for _, doc in bare] == [f"n{i:02d}" for i in range(7)]
    (refused, _, _), _ = await through_both(sort_refused)
    assert refused[:2] == ("raised", IndexRequiredError.__name__)
    (written, requests, docs), _ = await through_both(update_with_a_conflict)
    assert written == [3, 3]  # n04 retried, n06 no longer matching: not counted
    assert sorted(docs) == ["n00", "n01", "n02", "n03", "n06", "n08", "n09", "p0", "p1"]
    (refused_change, requests, _), _ = await through_both(a_refused_change)
    assert not any(r[1] == "/db/_bulk_docs" for r in requests)
    assert not any(modified for *_, modified in refused_change)


# --- the API ---------------------------------------------------------------------------------

#: Methods that give an async iterator (not awaited themselves).
ASYNC_ITERATORS = {"changes", "iterator"}


def api(cls: type) -> set[str]:
    return {name for name in dir(cls) if not name.startswith("_")} | (
        {name for name in ("__iter__", "__aiter__", "__len__", "__bool__") if hasattr(cls, name)}
    )


def parameters(function: Any) -> list[tuple[str, Any, Any]]:
    signature = inspect.signature(function)
    return [(p.name, p.kind, p.default) for p in signature.parameters.values()]


def is_async(function: Any) -> bool:
    return inspect.iscoroutinefunction(function) or inspect.isasyncgenfunction(function)


@pytest.mark.parametrize(
    ("sync_cls", "async_cls"),
    [(QuerySet, AsyncQuerySet), (ViewQuery, AsyncViewQuery), (SearchResults, AsyncSearchResults)],
)
def test_the_async_classes_have_the_sync_ones_names_and_parameters(
    sync_cls: type, async_cls: type
) -> None:
    names = api(sync_cls)
    if "__aiter__" in api(async_cls):  # iteration that reads: ``async for`` instead of ``for``
        names = names - {"__iter__"} | {"__aiter__"}
    assert api(async_cls) == names
    for name in sorted(names):
        if name == "__aiter__":
            continue
        sync, awaited = getattr(sync_cls, name), getattr(async_cls, name)
        if not callable(sync) or isinstance(inspect.getattr_static(sync_cls, name), property):
            continue
        assert parameters(awaited) == parameters(sync), name
        shared = inspect.getattr_static(async_cls, name) is inspect.getattr_static(sync_cls, name)
        # What reads is awaited (or an async iterator); the rest is the same method.
        assert shared or is_async(awaited) or name in ASYNC_ITERATORS, name
        assert shared or not is_async(sync), name


def test_building_is_shared_and_keeps_the_async_class(aclient_session: AsyncSession) -> None:
    query = Note.objects.using(aclient_session)
    assert type(query) is AsyncQuerySet
    built = query.filter(Note.n > 1).exclude(text="x").order_by(Note.n).limit(3).page_size(2)
    built = built.fields("n").use_index(Note.by_n).execution_stats().prefetch()
    assert type(built) is AsyncQuerySet
    assert built.session is aclient_session
    sync_session = Session(CloudantV1(NoAuthAuthenticator()), db="db")
    again = built.using(sync_session)
    assert type(again) is QuerySet
    assert again.selector() == built.selector()
    assert again.using(aclient_session).selector() == built.selector()
    assert type(Note.objects.filter(Note.n > 1).using(aclient_session)) is AsyncQuerySet
    assert type(Note.by_text.query(aclient_session)) is AsyncViewQuery
    with pytest.raises(TypeError, match="AsyncQuerySet is not a bool"):
        bool(query)
    with pytest.raises(TypeError, match="takes a Session or an AsyncSession, got str"):
        Note.objects.using("db")  # type: ignore[call-overload]


@pytest.fixture
def aclient_session() -> AsyncSession:
    client = AsyncCloudantV1(NoAuthAuthenticator())
    client.set_service_url(URL)
    return AsyncSession(client, db="db")


async def test_an_async_session_is_not_a_current_session(aclient_session: AsyncSession) -> None:
    with pytest.raises(TypeError, match=r"\.using\(session\)"), use_session(aclient_session):  # type: ignore[arg-type]
        pass
    with pytest.raises(TypeError, match="QuerySet runs in a Session, not AsyncSession"):
        QuerySet(Note, session=aclient_session).count()


# --- async iteration -------------------------------------------------------------------------


@pytest.fixture
def couch() -> Iterator[Couch]:
    found = Couch()
    with respx.mock(assert_all_called=False) as router:
        found.serve_httpx(router)
        yield found


def finds(couch: Couch) -> list[Any]:
    return [r[3].get("bookmark") for r in couch.requests if r[1] == "/db/_find"]


async def test_async_for_reads_a_page_as_the_loop_reaches_it(
    couch: Couch, aclient_session: AsyncSession
) -> None:
    notes: AsyncIterator[Note] = aiter(
        Note.objects.using(aclient_session).filter(Note.n >= 0).page_size(3)
    )
    assert (await anext(notes)).id == "n00"
    assert finds(couch) == [None]  # one page read, none ahead
    seen = [(await anext(notes)).id for _ in range(3)]
    assert seen == ["n01", "n02", "n03"]
    assert finds(couch) == [None, "3"]
    await notes.aclose()  # type: ignore[attr-defined]
    assert finds(couch) == [None, "3"]


async def test_leaving_async_for_early_reads_no_more_pages(
    couch: Couch, aclient_session: AsyncSession
) -> None:
    async for note in Note.objects.using(aclient_session).page_size(2):
        if note.id == "n01":
            break
    assert [r[3].get("start_key") for r in couch.requests] == [None]


async def test_untracked_pages_leave_the_session_empty(
    couch: Couch, aclient_session: AsyncSession
) -> None:
    sizes = [
        len(page)
        async for page in Note.objects.using(aclient_session)
        .filter(Note.n >= 0)
        .pages(4, track=False)
    ]
    assert sizes == [4, 4, 2]
    assert list(aclient_session) == []


async def test_an_async_change_function_is_refused_before_any_request(
    couch: Couch, aclient_session: AsyncSession
) -> None:
    async def change(note: Note) -> None:
        note.text = "lost"

    with pytest.raises(TypeError, match="pass a plain function"):
        await Note.objects.using(aclient_session).filter(Note.n > 7).update(change)
    assert couch.requests == []
    assert [o for o in aclient_session if aclient_session.is_modified(o)] == []

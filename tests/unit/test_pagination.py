"""Pagination against mocked endpoints (responses, no server) that page as CouchDB does:
``_all_docs``-like endpoints and views honour ``start_key``, ``start_key_doc_id``,
``skip`` and ``limit``; ``_find`` and search answer with bookmarks.

Every pager type, the requests each page makes, the n+1 row and the last page, repeated
view keys at a page boundary, errors in the middle, option validation and the states of
a pager."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
import requests
import responses
from _paging import (
    DB,
    DOCS_PAGERS,
    ENDPOINTS,
    FIND_PAGERS,
    JSON,
    KEY_PAGERS,
    PAGE,
    SEARCH_PAGERS,
    URL,
    VIEW_PAGERS,
    PagingEndpoint,
    bookmark,
    dataset,
    doc_id,
    expected_requests,
    row_id,
    view_row,
)

from cloudant_odm.client import (
    ApiException,
    CloudantV1,
    DocsResultRow,
    Document,
    NoAuthAuthenticator,
    Pager,
    PagerType,
    Pagination,
    SearchResultRow,
    TooManyRequestsError,
    ViewResultRow,
)


def each_pager(types: Iterable[PagerType]) -> pytest.MarkDecorator:
    """Run the test for each of these pager types (``pager_type``)."""
    return pytest.mark.parametrize("pager_type", list(types), ids=lambda t: t.name)


@pytest.fixture
def client() -> CloudantV1:
    c = CloudantV1(NoAuthAuthenticator())
    c.set_service_url(URL)
    return c


# -- a paging endpoint ------------------------------------------------------------------


def sent(request: requests.PreparedRequest) -> dict[str, Any]:
    """The JSON body of a request (the client gzips request bodies)."""
    body = request.body or b"{}"
    if isinstance(body, str):
        body = body.encode()
    if request.headers.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    found: dict[str, Any] = json.loads(body)
    return found


class Endpoint(PagingEndpoint):
    """The paging endpoint behind ``responses``."""

    def __init__(self, pager_type: PagerType, items: list[dict[str, Any]]) -> None:
        super().__init__(pager_type, items)
        path, _ = ENDPOINTS[pager_type]
        responses.add_callback(responses.POST, URL + path, callback=self)

    def __call__(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        return self.reply(sent(request))


def pagination(client: CloudantV1, pager_type: PagerType, **opts: Any) -> Pagination[Any]:
    _, names = ENDPOINTS[pager_type]
    return Pagination.new_pagination(client, pager_type, db=DB, **names, **opts)


# -- every pager type ---------------------------------------------------------------------


@each_pager(PagerType)
@pytest.mark.parametrize("total", [0, 1, PAGE - 1, PAGE, PAGE + 1, 3 * PAGE, 3 * PAGE + 4])
@responses.activate
def test_pages_hold_every_row_once_in_order(
    client: CloudantV1, pager_type: PagerType, total: int
) -> None:
    endpoint = Endpoint(pager_type, dataset(pager_type, total))
    pages = list(pagination(client, pager_type, limit=PAGE).pages())
    assert [row_id(row) for page in pages for row in page] == endpoint.ids()
    assert all(isinstance(page, tuple) and len(page) <= PAGE for page in pages)
    assert len(endpoint.bodies) == len(pages) == expected_requests(pager_type, total, PAGE)


@each_pager(PagerType)
@responses.activate
def test_rows_and_get_all_read_the_same_rows_as_pages(
    client: CloudantV1, pager_type: PagerType
) -> None:
    endpoint = Endpoint(pager_type, dataset(pager_type, 2 * PAGE + 3))
    paged = pagination(client, pager_type, limit=PAGE)
    assert [row_id(r) for r in paged.rows()] == endpoint.ids()
    assert [row_id(r) for r in paged.pager().get_all()] == endpoint.ids()
    # The same pagination again: the same requests again (it starts over each time).
    assert endpoint.bodies[:3] == endpoint.bodies[3:]


ROW_TYPES = {
    **dict.fromkeys(DOCS_PAGERS, DocsResultRow),
    **dict.fromkeys(VIEW_PAGERS, ViewResultRow),
    **dict.fromkeys(FIND_PAGERS, Document),
    **dict.fromkeys(SEARCH_PAGERS, SearchResultRow),
}


@each_pager(PagerType)
@responses.activate
def test_rows_are_the_sdk_models(client: CloudantV1, pager_type: PagerType) -> None:
    Endpoint(pager_type, dataset(pager_type, 3))
    (page,) = pagination(client, pager_type).pages()
    assert {type(row) for row in page} == {ROW_TYPES[pager_type]}


@responses.activate
def test_a_find_page_holds_documents_with_their_fields(client: CloudantV1) -> None:
    Endpoint(PagerType.POST_FIND, dataset(PagerType.POST_FIND, 2))
    first, second = pagination(client, PagerType.POST_FIND).rows()
    assert (first.id, first.rev, first.n) == ("d000", f"1-{0:032x}", 0)
    assert second.to_dict() == {"_id": "d001", "_rev": f"1-{1:032x}", "n": 1}


# -- the requests ----------------------------------------------------------------------------


@each_pager(DOCS_PAGERS)
@responses.activate
def test_all_docs_pages_start_at_the_extra_rows_id(
    client: CloudantV1, pager_type: PagerType
) -> None:
    endpoint = Endpoint(pager_type, dataset(pager_type, 25))
    list(pagination(client, pager_type, limit=PAGE, include_docs=False).pages())
    first, second, third = endpoint.bodies
    assert first == {"include_docs": False, "limit": PAGE + 1}
    # An id is a unique key: start_key alone says where the page starts.
    assert second == {"include_docs": False, "limit": PAGE + 1, "start_key": doc_id(10, pager_type)}
    assert third["start_key"] == doc_id(20, pager_type)
    assert "start_key_doc_id" not in third


@each_pager(VIEW_PAGERS)
@responses.activate
def test_view_pages_start_at_the_extra_rows_key_and_id(
    client: CloudantV1, pager_type: PagerType
) -> None:
    endpoint = Endpoint(pager_type, dataset(pager_type, 15))
    list(pagination(client, pager_type, limit=PAGE, end_key=100).pages())
    assert endpoint.bodies == [
        {"end_key": 100, "limit": PAGE + 1},
        {"end_key": 100, "limit": PAGE + 1, "start_key": 10, "start_key_doc_id": "d010"},
    ]


@pytest.mark.parametrize(
    ("opts", "boundary", "start_key"),
    [
        # Going down, a group_level row's key is below the keys it reduces: start above.
        ({"group_level": 1, "descending": True}, [2], [2, {}]),
        ({"group_level": 2, "descending": True}, ["a", 1], ["a", 1, {}]),
        # A key shorter than the level was emitted whole: its page starts at it.
        ({"group_level": 2, "descending": True}, ["a"], ["a"]),
        # Going up, the key itself is already below every key it reduces.
        ({"group_level": 1}, [2], [2]),
        ({"group": True, "descending": True}, [2, "x"], [2, "x"]),
        ({"group_level": 1, "descending": True}, "scalar", "scalar"),
    ],
)
@responses.activate
def test_grouped_rows_start_their_page_above_the_keys_they_reduce(
    client: CloudantV1, opts: dict[str, Any], boundary: Any, start_key: Any
) -> None:
    rows = [{"key": [9], "value": 3}, {"key": boundary, "value": 2}]
    responses.post(f"{URL}/db/_design/d/_view/v", json={"rows": rows})
    responses.post(f"{URL}/db/_design/d/_view/v", json={"rows": []})
    view = Pagination.new_pagination(
        client, PagerType.POST_VIEW, db="db", ddoc="d", view="v", limit=1, **opts
    )
    list(view.pages())
    second = sent(responses.calls[1].request)
    assert second["start_key"] == start_key
    assert "start_key_doc_id" not in second  # grouped rows have no id


@each_pager(FIND_PAGERS + SEARCH_PAGERS)
@responses.activate
def test_bookmark_pages_follow_the_previous_bookmark(
    client: CloudantV1, pager_type: PagerType
) -> None:
    endpoint = Endpoint(pager_type, dataset(pager_type, 2 * PAGE))
    list(pagination(client, pager_type, limit=PAGE).pages())
    assert [b.get("bookmark") for b in endpoint.bodies] == [None, bookmark(10), bookmark(20)]
    assert {b["limit"] for b in endpoint.bodies} == {PAGE}


@each_pager(KEY_PAGERS + FIND_PAGERS)
@responses.activate
def test_skip_applies_to_the_first_page_only(client: CloudantV1, pager_type: PagerType) -> None:
    endpoint = Endpoint(pager_type, dataset(pager_type, 2 * PAGE))
    rows = list(pagination(client, pager_type, limit=PAGE, skip=3).rows())
    assert [row_id(r) for r in rows] == endpoint.ids()[3:]
    assert [b.get("skip") for b in endpoint.bodies] == [3, None]


@each_pager([PagerType.POST_ALL_DOCS, PagerType.POST_FIND])
@responses.activate
def test_a_zero_skip_is_sent(client: CloudantV1, pager_type: PagerType) -> None:
    endpoint = Endpoint(pager_type, dataset(pager_type, 1))
    list(pagination(client, pager_type, skip=0).pages())
    assert endpoint.bodies[0]["skip"] == 0


@responses.activate
def test_the_callers_start_key_is_where_the_first_page_starts(client: CloudantV1) -> None:
    endpoint = Endpoint(PagerType.POST_VIEW, dataset(PagerType.POST_VIEW, 25))
    rows = list(pagination(client, PagerType.POST_VIEW, limit=PAGE, start_key=0).rows())
    assert [r.key for r in rows] == list(range(25))
    assert endpoint.bodies[0]["start_key"] == 0  # a falsy key is still a key
    assert endpoint.bodies[1]["start_key"] == 10


@each_pager(PagerType)
@pytest.mark.parametrize("limit", [None, 200])
@responses.activate
def test_the_page_size_is_200_by_default(
    client: CloudantV1, pager_type: PagerType, limit: int | None
) -> None:
    endpoint = Endpoint(pager_type, dataset(pager_type, 450))
    pages = list(pagination(client, pager_type, limit=limit).pages())
    assert [len(p) for p in pages][:3] == [200, 200, 50]
    extra = 1 if pager_type in KEY_PAGERS else 0
    assert {b["limit"] for b in endpoint.bodies} == {200 + extra}


@each_pager([PagerType.POST_ALL_DOCS, PagerType.POST_SEARCH])
@responses.activate
def test_a_page_of_one(client: CloudantV1, pager_type: PagerType) -> None:
    endpoint = Endpoint(pager_type, dataset(pager_type, 3))
    pages = list(pagination(client, pager_type, limit=1).pages())
    assert [len(p) for p in pages] == ([1, 1, 1] if pager_type in KEY_PAGERS else [1, 1, 1, 0])
    assert len(endpoint.bodies) == len(pages)


# -- the last page --------------------------------------------------------------------------


@responses.activate
def test_a_key_pager_knows_an_exactly_full_page_is_the_last(client: CloudantV1) -> None:
    endpoint = Endpoint(PagerType.POST_VIEW, dataset(PagerType.POST_VIEW, 2 * PAGE))
    pager = pagination(client, PagerType.POST_VIEW, limit=PAGE).pager()
    assert len(pager.get_next()) == PAGE
    assert pager.has_next()
    assert len(pager.get_next()) == PAGE
    assert not pager.has_next()  # the second answer had no extra row
    assert len(endpoint.bodies) == 2


@responses.activate
def test_a_bookmark_pager_reads_an_empty_page_after_an_exactly_full_one(
    client: CloudantV1,
) -> None:
    endpoint = Endpoint(PagerType.POST_FIND, dataset(PagerType.POST_FIND, PAGE))
    pager = pagination(client, PagerType.POST_FIND, limit=PAGE).pager()
    assert len(pager.get_next()) == PAGE
    assert pager.has_next()
    assert pager.get_next() == ()
    assert not pager.has_next()
    assert len(endpoint.bodies) == 2


@each_pager(FIND_PAGERS + SEARCH_PAGERS)
@responses.activate
def test_a_full_page_without_a_bookmark_is_the_last(
    client: CloudantV1, pager_type: PagerType
) -> None:
    # Sending no bookmark would ask for the first page again, for ever.
    path, _ = ENDPOINTS[pager_type]
    rows = dataset(pager_type, 2)
    body = {"docs": rows} if pager_type in FIND_PAGERS else {"total_rows": 9, "rows": rows}
    responses.post(URL + path, json=body)
    responses.post(URL + path, status=500, json={"error": "asked_again"})
    assert [len(p) for p in pagination(client, pager_type, limit=2).pages()] == [2]
    assert len(responses.calls) == 1


# -- view keys at a page boundary ----------------------------------------------------------


def repeated_keys(total: int, per_key: int) -> list[dict[str, Any]]:
    """View rows in view order: ``per_key`` documents emit each key."""
    return [view_row(n // per_key, f"d{n:03d}") for n in range(total)]


@each_pager(VIEW_PAGERS)
@pytest.mark.parametrize("per_key", [2, 3, 7, PAGE, PAGE + 1, 25])
@responses.activate
def test_repeated_keys_across_a_boundary_are_told_apart_by_doc_id(
    client: CloudantV1, pager_type: PagerType, per_key: int
) -> None:
    endpoint = Endpoint(pager_type, repeated_keys(25, per_key))
    rows = list(pagination(client, pager_type, limit=PAGE).rows())
    assert [(r.key, r.id) for r in rows] == [(r["key"], r["id"]) for r in endpoint.items]
    for body, first in zip(endpoint.bodies[1:], endpoint.items[PAGE::PAGE], strict=True):
        assert (body["start_key"], body["start_key_doc_id"]) == (first["key"], first["id"])


@each_pager(VIEW_PAGERS)
@responses.activate
def test_one_document_emitting_a_key_twice_across_a_boundary_is_refused(
    client: CloudantV1, pager_type: PagerType
) -> None:
    items = [view_row(n, f"d{n:03d}") for n in range(PAGE - 1)]
    items += [view_row("k", "twice"), view_row("k", "twice"), view_row("z", "last")]
    endpoint = Endpoint(pager_type, items)
    pager = pagination(client, pager_type, limit=PAGE).pager()
    assert [r.id for r in pager.get_next()][-1] == "twice"
    assert pager.has_next()
    # start_key_doc_id would name the first "twice" row: the next page would repeat it.
    with pytest.raises(RuntimeError, match="identical keys k and document IDs twice"):
        pager.get_next()
    assert len(endpoint.bodies) == 1  # refused before asking


@responses.activate
def test_a_document_emitting_a_key_twice_inside_a_page_is_fine(client: CloudantV1) -> None:
    items = [view_row(n, f"d{n:03d}") for n in range(PAGE + 5)]
    items[3:3] = [view_row(3, "d003")]  # d003 emits 3 twice, both in the first page
    endpoint = Endpoint(PagerType.POST_VIEW, sorted(items, key=lambda r: (r["key"], r["id"])))
    rows = list(pagination(client, PagerType.POST_VIEW, limit=PAGE).rows())
    assert len(rows) == len(endpoint.items)


@responses.activate
def test_a_server_repeating_a_page_is_not_asked_again_and_again(client: CloudantV1) -> None:
    endpoint = Endpoint(PagerType.POST_VIEW, repeated_keys(25, 25))
    endpoint.ignores_doc_id = True
    pages = pagination(client, PagerType.POST_VIEW, limit=PAGE).pages()
    assert [r.id for r in next(pages)] == endpoint.ids()[:PAGE]
    # The second answer is the first page again (its extra row, too): not returned.
    with pytest.raises(RuntimeError, match="the page already read"):
        next(pages)
    with pytest.raises(RuntimeError, match="the page already read"):
        next(pages)
    assert len(endpoint.bodies) == 2


@responses.activate
def test_a_null_key_at_a_boundary_is_refused(client: CloudantV1) -> None:
    # A None option is not sent: the next request would be for the first page again.
    Endpoint(PagerType.POST_VIEW, [view_row(None, f"d{n:03d}") for n in range(PAGE + 2)])
    pages = pagination(client, PagerType.POST_VIEW, limit=PAGE).pages()
    assert len(next(pages)) == PAGE
    with pytest.raises(RuntimeError, match="null key"):
        next(pages)


@responses.activate
def test_grouped_reduce_rows_page_by_key_alone(client: CloudantV1) -> None:
    # Grouped reduce rows have no id, and their keys are unique.
    items = [{"key": [n], "value": n * 2} for n in range(PAGE + 3)]
    path, _ = ENDPOINTS[PagerType.POST_VIEW]
    answers = iter([items[: PAGE + 1], items[PAGE:]])
    responses.add_callback(
        responses.POST,
        URL + path,
        callback=lambda _: (200, JSON, json.dumps({"rows": next(answers)})),
    )
    rows = list(pagination(client, PagerType.POST_VIEW, limit=PAGE, group=True).rows())
    assert [r.key for r in rows] == [[n] for n in range(PAGE + 3)]
    second = sent(responses.calls[1].request)
    assert second == {"group": True, "limit": PAGE + 1, "start_key": [PAGE]}


# -- errors while paging -------------------------------------------------------------------


@each_pager(PagerType)
@responses.activate
def test_get_next_after_an_error_asks_for_the_same_page_again(
    client: CloudantV1, pager_type: PagerType
) -> None:
    endpoint = Endpoint(pager_type, dataset(pager_type, 2 * PAGE + 5))
    endpoint.faults[2] = 429
    pager = pagination(client, pager_type, limit=PAGE).pager()
    rows = list(pager.get_next())
    with pytest.raises(TooManyRequestsError):
        pager.get_next()
    assert pager.has_next()
    while pager.has_next():
        rows.extend(pager.get_next())
    assert [row_id(r) for r in rows] == endpoint.ids()
    assert endpoint.bodies[1] == endpoint.bodies[2]  # the failed request, sent again


@responses.activate
def test_a_pages_iterator_goes_on_after_an_error(client: CloudantV1) -> None:
    endpoint = Endpoint(PagerType.POST_ALL_DOCS, dataset(PagerType.POST_ALL_DOCS, 2 * PAGE + 1))
    endpoint.faults[3] = 500
    pages = pagination(client, PagerType.POST_ALL_DOCS, limit=PAGE).pages()
    got = [next(pages), next(pages)]
    with pytest.raises(ApiException) as caught:
        next(pages)
    assert caught.value.status_code == 500
    got.extend(pages)
    assert [len(p) for p in got] == [PAGE, PAGE, 1]


@responses.activate
def test_a_failing_first_page_raises_from_rows(client: CloudantV1) -> None:
    path, _ = ENDPOINTS[PagerType.POST_VIEW]
    responses.post(URL + path, status=404, json={"error": "not_found", "reason": "missing"})
    with pytest.raises(ApiException, match="not_found"):
        list(pagination(client, PagerType.POST_VIEW).rows())


@responses.activate
def test_get_all_after_an_error_starts_over(client: CloudantV1) -> None:
    endpoint = Endpoint(PagerType.POST_SEARCH, dataset(PagerType.POST_SEARCH, PAGE + 2))
    endpoint.faults[2] = 429
    pager = pagination(client, PagerType.POST_SEARCH, limit=PAGE).pager()
    with pytest.raises(TooManyRequestsError):
        pager.get_all()
    assert [row_id(r) for r in pager.get_all()] == endpoint.ids()
    assert "bookmark" not in endpoint.bodies[2]  # the first page again


# -- pagers ---------------------------------------------------------------------------------


@pytest.fixture
def view_pager(client: CloudantV1) -> Iterator[Pager[ViewResultRow]]:
    with responses.RequestsMock() as mocked:
        path, names = ENDPOINTS[PagerType.POST_VIEW]
        rows = dataset(PagerType.POST_VIEW, 2 * PAGE + 1)
        mocked.add_callback(
            responses.POST,
            URL + path,
            callback=lambda request: (200, JSON, json.dumps(_key_page(rows, request))),
        )
        yield Pagination.new_pagination(
            client, PagerType.POST_VIEW, db=DB, limit=PAGE, **names
        ).pager()


def _key_page(rows: list[dict[str, Any]], request: requests.PreparedRequest) -> dict[str, Any]:
    body = sent(request)
    start = body.get("start_key", 0)
    return {"total_rows": len(rows), "rows": rows[start : start + body["limit"]]}


def test_a_pager_gets_each_page_then_is_consumed(view_pager: Pager[ViewResultRow]) -> None:
    sizes = []
    while view_pager.has_next():
        sizes.append(len(view_pager.get_next()))
    assert sizes == [PAGE, PAGE, 1]
    with pytest.raises(RuntimeError, match=re.escape("This pager has been consumed")):
        view_pager.get_next()


def test_a_pager_gets_all_once(view_pager: Pager[ViewResultRow]) -> None:
    everything = view_pager.get_all()
    assert isinstance(everything, tuple)
    assert [r.key for r in everything] == list(range(2 * PAGE + 1))
    assert not view_pager.has_next()
    with pytest.raises(RuntimeError, match="consumed"):
        view_pager.get_all()
    with pytest.raises(RuntimeError, match="consumed"):
        view_pager.get_next()


def test_get_all_after_get_next_is_refused(view_pager: Pager[ViewResultRow]) -> None:
    view_pager.get_next()
    with pytest.raises(RuntimeError, match=re.escape("Cannot mix get_all() and get_next()")):
        view_pager.get_all()
    assert view_pager.get_next()[0].key == PAGE  # get_next still goes on


@responses.activate
def test_get_next_after_a_failed_get_all_is_refused(client: CloudantV1) -> None:
    path, _ = ENDPOINTS[PagerType.POST_FIND]
    responses.post(URL + path, status=429, json={"error": "too_many_requests"})
    pager = pagination(client, PagerType.POST_FIND).pager()
    with pytest.raises(TooManyRequestsError):
        pager.get_all()
    with pytest.raises(RuntimeError, match="Cannot mix"):
        pager.get_next()


@responses.activate
def test_making_a_pagination_or_a_pager_sends_nothing(client: CloudantV1) -> None:
    paged = pagination(client, PagerType.POST_VIEW)
    paged.pager()
    paged.pages()
    paged.rows()
    assert len(responses.calls) == 0


# -- options refused --------------------------------------------------------------------


@each_pager(PagerType)
@pytest.mark.parametrize(
    ("limit", "message"),
    [
        (0, "The provided limit 0 is lower than the minimum page size value of 1."),
        (-5, "The provided limit -5 is lower than the minimum page size value of 1."),
        (201, "The provided limit 201 exceeds the maximum page size value of 200."),
    ],
)
def test_a_limit_outside_1_to_200_is_refused(
    pager_type: PagerType, limit: int, message: str
) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        Pagination.new_pagination(None, pager_type, limit=limit)  # type: ignore[call-overload]


@pytest.mark.parametrize("limit", ["10", 2.0, True])
def test_a_limit_that_is_not_an_integer_is_refused(limit: object) -> None:
    with pytest.raises(TypeError, match="limit must be an integer"):
        Pagination.new_pagination(None, PagerType.POST_VIEW, limit=limit)  # type: ignore[call-overload]


@each_pager(PagerType)
@pytest.mark.parametrize("limit", [1, 199, 200])
def test_limits_from_1_to_200_are_taken(pager_type: PagerType, limit: int) -> None:
    Pagination.new_pagination(None, pager_type, limit=limit)  # type: ignore[call-overload]


KEY_REASONS = {
    **dict.fromkeys(DOCS_PAGERS, "No need to paginate as 'key' returns a single result for an ID."),
    **dict.fromkeys(VIEW_PAGERS, "Use 'start_key' and 'end_key' instead."),
}


@each_pager(KEY_PAGERS)
@pytest.mark.parametrize("value", ["a", None])
def test_key_is_refused_for_all_docs_and_views(
    client: CloudantV1, pager_type: PagerType, value: Any
) -> None:
    message = f"The option 'key' is invalid when using pagination. {KEY_REASONS[pager_type]}"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        pagination(client, pager_type, key=value)


@each_pager(KEY_PAGERS)
def test_keys_is_refused_for_all_docs_and_views(client: CloudantV1, pager_type: PagerType) -> None:
    with pytest.raises(ValueError, match=r"^The option 'keys' is invalid when using pagination\.$"):
        pagination(client, pager_type, keys=["a", "b"])


@pytest.mark.parametrize("option", ["counts", "group_field", "group_limit", "group_sort", "ranges"])
def test_facets_and_groups_are_refused_for_search(client: CloudantV1, option: str) -> None:
    with pytest.raises(ValueError, match=f"^The option '{option}' is invalid when using"):
        pagination(client, PagerType.POST_SEARCH, **{option: "x"})


@each_pager(FIND_PAGERS + SEARCH_PAGERS)
def test_options_the_operation_lacks_are_refused_when_the_pagination_is_made(
    client: CloudantV1, pager_type: PagerType
) -> None:
    with pytest.raises(TypeError, match=r"has no options \['key', 'keys'\]"):
        pagination(client, pager_type, key="a", keys=["a"])


@responses.activate
def test_a_misspelt_option_is_refused_before_any_request(client: CloudantV1) -> None:
    with pytest.raises(TypeError, match=r"post_view\(\) has no options \['descnding'\]"):
        Pagination.new_pagination(
            client, PagerType.POST_VIEW, db="db", ddoc="d", view="v", descnding=True
        )
    # The operation's own options and the request options are taken.
    Pagination.new_pagination(
        client,
        PagerType.POST_VIEW,
        db="db",
        ddoc="d",
        view="v",
        descending=True,
        headers={"X-Trace": "t"},
        timeout=30,
    )
    assert len(responses.calls) == 0


@responses.activate
def test_the_limit_is_checked_before_the_other_options(client: CloudantV1) -> None:
    with pytest.raises(ValueError, match="limit 0"):
        pagination(client, PagerType.POST_VIEW, limit=0, key="a")


def test_the_pager_types_are_the_sdks() -> None:
    assert {t.name for t in PagerType} == {
        "POST_ALL_DOCS",
        "POST_DESIGN_DOCS",
        "POST_FIND",
        "POST_PARTITION_ALL_DOCS",
        "POST_PARTITION_FIND",
        "POST_PARTITION_SEARCH",
        "POST_PARTITION_VIEW",
        "POST_SEARCH",
        "POST_VIEW",
    }
    # ... and each is tested above.
    assert set(ENDPOINTS) == set(ROW_TYPES) == set(PagerType)

"""AsyncPagination against mocked endpoints (respx, no server): the synchronous
pagination's requests and pages for every pager type (one core), its errors, its
boundary checks and the states of a pager, awaited."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import responses

httpx = pytest.importorskip("httpx", reason="the async extra is not installed")
respx = pytest.importorskip("respx", reason="respx is not installed (dev extra)")

from _paging import (  # noqa: E402
    DB,
    ENDPOINTS,
    PAGE,
    URL,
    VIEW_PAGERS,
    PagingEndpoint,
    dataset,
    expected_requests,
    row_id,
    view_row,
)

from cloudant_odm.aio import AsyncCloudantV1, AsyncPager, AsyncPagination  # noqa: E402
from cloudant_odm.client import (  # noqa: E402
    ApiException,
    CloudantV1,
    NoAuthAuthenticator,
    PagerType,
    Pagination,
    TooManyRequestsError,
    ViewResultRow,
)

pytestmark = pytest.mark.anyio


def body_of(content: bytes, headers: Any) -> dict[str, Any]:
    if headers.get("Content-Encoding") == "gzip":
        content = gzip.decompress(content)
    found: dict[str, Any] = json.loads(content or b"{}")
    return found


class Endpoint(PagingEndpoint):
    """The paging endpoint behind respx."""

    def __init__(
        self, mock: respx.MockRouter, pager_type: PagerType, items: list[dict[str, Any]]
    ) -> None:
        super().__init__(pager_type, items)
        path, _ = ENDPOINTS[pager_type]
        mock.post(URL + path).mock(side_effect=self)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        status, headers, text = self.reply(body_of(request.content, request.headers))
        return httpx.Response(status, headers=headers, text=text)


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


@pytest.fixture
def client() -> AsyncCloudantV1:
    c = AsyncCloudantV1(NoAuthAuthenticator())
    c.set_service_url(URL)
    return c


def pagination(client: AsyncCloudantV1, pager_type: PagerType, **opts: Any) -> AsyncPagination[Any]:
    _, names = ENDPOINTS[pager_type]
    return AsyncPagination.new_pagination(client, pager_type, db=DB, **names, **opts)


def sync_bodies(pager_type: PagerType, items: list[dict[str, Any]], **opts: Any) -> Any:
    """The request bodies and pages of the synchronous pagination over ``items``."""
    client = CloudantV1(NoAuthAuthenticator())
    client.set_service_url(URL)
    endpoint = PagingEndpoint(pager_type, items)
    path, names = ENDPOINTS[pager_type]
    with responses.RequestsMock() as mocked:
        mocked.add_callback(
            responses.POST,
            URL + path,
            callback=lambda r: endpoint.reply(body_of(r.body or b"", r.headers)),
        )
        paged = Pagination.new_pagination(client, pager_type, db=DB, **names, **opts)
        pages = list(paged.pages())
    return endpoint.bodies, pages


# -- one core: the synchronous pagination's requests and pages ------------------------------


@pytest.mark.parametrize("pager_type", list(PagerType), ids=lambda t: t.name)
@pytest.mark.parametrize("total", [0, PAGE, 3 * PAGE + 4])
async def test_the_requests_and_pages_are_the_synchronous_paginations(
    client: AsyncCloudantV1, mock: respx.MockRouter, pager_type: PagerType, total: int
) -> None:
    items = dataset(pager_type, total)
    endpoint = Endpoint(mock, pager_type, items)
    pages = [page async for page in pagination(client, pager_type, limit=PAGE).pages()]
    bodies, sync_pages = sync_bodies(pager_type, items, limit=PAGE)
    assert endpoint.bodies == bodies
    assert len(endpoint.bodies) == expected_requests(pager_type, total, PAGE)
    assert [[r.to_dict() for r in p] for p in pages] == [
        [r.to_dict() for r in p] for p in sync_pages
    ]
    assert [row_id(r) for p in pages for r in p] == endpoint.ids()
    assert all(isinstance(page, tuple) for page in pages)


async def test_rows_and_get_all_read_the_same_rows_as_pages(
    client: AsyncCloudantV1, mock: respx.MockRouter
) -> None:
    endpoint = Endpoint(mock, PagerType.POST_FIND, dataset(PagerType.POST_FIND, 2 * PAGE + 3))
    paged = pagination(client, PagerType.POST_FIND, limit=PAGE)
    assert [row_id(r) async for r in paged.rows()] == endpoint.ids()
    assert [row_id(r) for r in await paged.pager().get_all()] == endpoint.ids()
    assert endpoint.bodies[:3] == endpoint.bodies[3:]  # each pass starts over


# -- boundaries and errors --------------------------------------------------------------------


@pytest.mark.parametrize("pager_type", VIEW_PAGERS, ids=lambda t: t.name)
async def test_one_document_emitting_a_key_twice_across_a_boundary_is_refused(
    client: AsyncCloudantV1, mock: respx.MockRouter, pager_type: PagerType
) -> None:
    items = [view_row(n, f"d{n:03d}") for n in range(PAGE - 1)]
    items += [view_row("k", "twice"), view_row("k", "twice"), view_row("z", "last")]
    endpoint = Endpoint(mock, pager_type, items)
    pager = pagination(client, pager_type, limit=PAGE).pager()
    assert [r.id for r in await pager.get_next()][-1] == "twice"
    assert pager.has_next()
    with pytest.raises(RuntimeError, match="identical keys k and document IDs twice"):
        await pager.get_next()
    assert len(endpoint.bodies) == 1  # refused before asking


async def test_get_next_after_an_error_asks_for_the_same_page_again(
    client: AsyncCloudantV1, mock: respx.MockRouter
) -> None:
    endpoint = Endpoint(mock, PagerType.POST_VIEW, dataset(PagerType.POST_VIEW, 2 * PAGE + 5))
    endpoint.faults[2] = 429
    pager = pagination(client, PagerType.POST_VIEW, limit=PAGE).pager()
    rows = list(await pager.get_next())
    with pytest.raises(TooManyRequestsError):
        await pager.get_next()
    assert pager.has_next()
    while pager.has_next():
        rows.extend(await pager.get_next())
    assert [row_id(r) for r in rows] == endpoint.ids()
    assert endpoint.bodies[1] == endpoint.bodies[2]  # the failed request, sent again


async def test_a_pages_iterator_goes_on_after_an_error(
    client: AsyncCloudantV1, mock: respx.MockRouter
) -> None:
    items = dataset(PagerType.POST_ALL_DOCS, 2 * PAGE + 1)
    endpoint = Endpoint(mock, PagerType.POST_ALL_DOCS, items)
    endpoint.faults[3] = 500
    pages = pagination(client, PagerType.POST_ALL_DOCS, limit=PAGE).pages()
    got = [await pages.__anext__(), await pages.__anext__()]
    with pytest.raises(ApiException) as caught:
        await pages.__anext__()
    assert caught.value.status_code == 500
    got.extend([page async for page in pages])
    assert [len(p) for p in got] == [PAGE, PAGE, 1]


async def test_get_all_after_an_error_starts_over(
    client: AsyncCloudantV1, mock: respx.MockRouter
) -> None:
    endpoint = Endpoint(mock, PagerType.POST_SEARCH, dataset(PagerType.POST_SEARCH, PAGE + 2))
    endpoint.faults[2] = 429
    pager = pagination(client, PagerType.POST_SEARCH, limit=PAGE).pager()
    with pytest.raises(TooManyRequestsError):
        await pager.get_all()
    assert [row_id(r) for r in await pager.get_all()] == endpoint.ids()
    assert "bookmark" not in endpoint.bodies[2]  # the first page again


# -- pagers --------------------------------------------------------------------------------


@pytest.fixture
def view_pager(client: AsyncCloudantV1, mock: respx.MockRouter) -> AsyncPager[ViewResultRow]:
    Endpoint(mock, PagerType.POST_VIEW, dataset(PagerType.POST_VIEW, 2 * PAGE + 1))
    _, names = ENDPOINTS[PagerType.POST_VIEW]
    return AsyncPagination.new_pagination(
        client, PagerType.POST_VIEW, db=DB, limit=PAGE, **names
    ).pager()


async def test_a_pager_gets_each_page_then_is_consumed(
    view_pager: AsyncPager[ViewResultRow],
) -> None:
    sizes = []
    while view_pager.has_next():
        sizes.append(len(await view_pager.get_next()))
    assert sizes == [PAGE, PAGE, 1]
    with pytest.raises(RuntimeError, match=re.escape("This pager has been consumed")):
        await view_pager.get_next()


async def test_a_pager_gets_all_once(view_pager: AsyncPager[ViewResultRow]) -> None:
    everything = await view_pager.get_all()
    assert [r.key for r in everything] == list(range(2 * PAGE + 1))
    assert not view_pager.has_next()
    with pytest.raises(RuntimeError, match="consumed"):
        await view_pager.get_all()


async def test_get_all_after_get_next_is_refused(view_pager: AsyncPager[ViewResultRow]) -> None:
    await view_pager.get_next()
    with pytest.raises(RuntimeError, match=re.escape("Cannot mix get_all() and get_next()")):
        await view_pager.get_all()
    assert (await view_pager.get_next())[0].key == PAGE  # get_next still goes on


# -- options ---------------------------------------------------------------------------------


def test_options_are_checked_as_the_synchronous_paginations(client: AsyncCloudantV1) -> None:
    with pytest.raises(ValueError, match="exceeds the maximum page size value of 200"):
        pagination(client, PagerType.POST_FIND, limit=201)
    with pytest.raises(TypeError, match="must be an integer"):
        pagination(client, PagerType.POST_FIND, limit="10")
    with pytest.raises(ValueError, match="The option 'key' is invalid when using pagination"):
        pagination(client, PagerType.POST_VIEW, key=1)
    with pytest.raises(ValueError, match="The option 'counts' is invalid"):
        pagination(client, PagerType.POST_SEARCH, counts=["n"])
    with pytest.raises(TypeError, match=re.escape("post_find() has no options ['selectr']")):
        AsyncPagination.new_pagination(client, PagerType.POST_FIND, db=DB, selectr={})


async def test_making_a_pagination_or_a_pager_sends_nothing(
    client: AsyncCloudantV1, mock: respx.MockRouter
) -> None:
    paged = pagination(client, PagerType.POST_VIEW)
    paged.pager()
    paged.pages()
    paged.rows()
    assert not mock.calls

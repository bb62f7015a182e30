"""A client of the other kind is refused before anything is sent: the synchronous API
given an AsyncCloudantV1 would get coroutines where it expects answers, the async API
given a CloudantV1 would send (blocking the event loop) and then fail to await the
answer, with the document stored and the session not knowing it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import responses

pytest.importorskip("httpx", reason="the async extra is not installed")

from cloudant_odm import Document, Session
from cloudant_odm import aio as cloudant_aio
from cloudant_odm.aio import AsyncChangesFollower, AsyncCloudantV1, AsyncPagination, AsyncSession
from cloudant_odm.changes import Checkpoint, follow
from cloudant_odm.client import (
    ChangesFollower,
    CloudantV1,
    NoAuthAuthenticator,
    PagerType,
    Pagination,
)
from cloudant_odm.design import rollback, sync


class Note(Document, doc_type="mixing_note"):
    text: str = ""


def sync_client() -> CloudantV1:
    client = CloudantV1(NoAuthAuthenticator())
    client.set_service_url("http://couch.test")
    return client


def async_client() -> AsyncCloudantV1:
    client = AsyncCloudantV1(NoAuthAuthenticator())
    client.set_service_url("http://couch.test")
    return client


@pytest.fixture(autouse=True)
def nothing_sent() -> Iterator[None]:
    # No answers registered: anything the synchronous client sent would fail the test
    # with ConnectionError instead of the TypeError expected.
    with responses.RequestsMock(assert_all_requests_are_fired=False):
        yield


MIXED: dict[str, tuple[Callable[[], Any], str]] = {
    "Session(async client)": (
        lambda: Session(async_client(), db="d"),  # type: ignore[arg-type]
        "use cloudant_odm.aio.AsyncSession",
    ),
    "AsyncSession(sync client)": (
        lambda: AsyncSession(sync_client(), db="d"),  # type: ignore[arg-type]
        "use Session",
    ),
    "ChangesFollower(async client)": (
        lambda: ChangesFollower(async_client(), db="d"),  # type: ignore[arg-type]
        "use cloudant_odm.aio.AsyncChangesFollower",
    ),
    "AsyncChangesFollower(sync client)": (
        lambda: AsyncChangesFollower(sync_client(), db="d"),  # type: ignore[arg-type]
        "use ChangesFollower",
    ),
    "Pagination(async client)": (
        lambda: Pagination.new_pagination(async_client(), PagerType.POST_ALL_DOCS, db="d"),  # type: ignore[call-overload]
        "use cloudant_odm.aio.AsyncPagination",
    ),
    "AsyncPagination(sync client)": (
        lambda: AsyncPagination.new_pagination(sync_client(), PagerType.POST_ALL_DOCS, db="d"),  # type: ignore[call-overload]
        "use cloudant_odm.client.Pagination",
    ),
    "follow(async client)": (
        lambda: follow(async_client(), Note, db="d"),  # type: ignore[arg-type]
        r"use cloudant_odm.aio.follow\(\)",
    ),
    "aio.follow(sync client)": (
        lambda: cloudant_aio.follow(sync_client(), Note, db="d"),  # type: ignore[arg-type]
        r"use cloudant_odm.changes.follow\(\)",
    ),
    "aio.follow(Session)": (
        lambda: cloudant_aio.follow(Session(sync_client(), db="d"), Note),  # type: ignore[arg-type]
        r"use cloudant_odm.changes.follow\(\)",
    ),
    "design.sync(async client)": (
        lambda: sync(async_client(), "d", [Note]),  # type: ignore[arg-type]
        r"use cloudant_odm.aio.sync_design\(\)",
    ),
    "design.rollback(async client)": (
        lambda: rollback(async_client(), "d"),  # type: ignore[arg-type]
        r"use cloudant_odm.aio.rollback_design\(\)",
    ),
}


@pytest.mark.parametrize("case", list(MIXED))
def test_a_client_of_the_other_kind_is_refused_before_anything_is_sent(case: str) -> None:
    make, advice = MIXED[case]
    with pytest.raises(TypeError, match=advice):
        make()


def test_follow_names_what_it_was_given_instead_of_a_class_or_a_checkpoint() -> None:
    with pytest.raises(TypeError, match="not the string 'Note'"):
        follow(sync_client(), "Note", db="d")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"takes a Checkpoint \(Checkpoint\('billing'\)\)"):
        follow(sync_client(), Note, db="d", checkpoint="billing")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not the string 'Note'"):
        cloudant_aio.follow(async_client(), "Note", db="d")  # type: ignore[arg-type]
    assert Checkpoint("billing").name == "billing"

"""Pages and resumable cursors: bookmarks for Mango, start keys for views and ``_all_docs``.

Nothing here uses ``skip`` to move through results, except one fallback: a server that
ignores ``start_key_doc_id`` (PouchDB Server) gets ``skip`` = the number of rows already
returned *with the boundary key*, which stays small unless very many rows share a key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Generic, TypeVar

import attrs

from cloudant_odm.client.flows import Flow, run
from cloudant_odm.query.errors import InvalidCursorError

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "KeysetState",
    "Page",
    "decode_cursor",
    "encode_cursor",
    "keyset_page",
    "keyset_pages",
]

T = TypeVar("T")

#: Documents or rows fetched per request while iterating (the official SDK's pagers use
#: at most 200 as well): big enough for few round trips, small enough for flat memory.
DEFAULT_PAGE_SIZE = 200


@attrs.frozen
class Page(Generic[T]):
    """One page of results and the cursor of the next one (None after the last).

    ``next_cursor`` is an opaque string, safe to hand to a web client and to pass back
    as ``page(size, cursor=...)`` of the same query. A Mango page that happens to end
    exactly at the last match still has a cursor; the page after it is empty.
    """

    items: list[T]
    next_cursor: str | None
    #: Mango ``execution_stats`` of the request, when asked for.
    execution_stats: Mapping[str, Any] | None = None
    #: The server's warning (e.g. that no index matched), if any.
    warning: str | None = None

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


def fingerprint(query: Mapping[str, Any]) -> str:
    """A short digest of what defines a query, so a cursor can't resume another one."""
    text = json.dumps(query, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def encode_cursor(kind: str, query: str, state: Mapping[str, Any]) -> str:
    body = json.dumps({"k": kind, "q": query, **state}, separators=(",", ":"))
    return base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, kind: str, query: str) -> dict[str, Any]:
    """The state in ``cursor``; InvalidCursorError unless this query issued it."""
    if not isinstance(cursor, str):
        raise InvalidCursorError(f"a cursor is a string, got {type(cursor).__name__}")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        state = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidCursorError(f"not a page cursor: {cursor[:40]!r}") from None
    if not isinstance(state, dict) or state.get("k") != kind or state.get("q") != query:
        raise InvalidCursorError("this cursor belongs to another query")
    return state


# --- keyset paging for views and _all_docs ---------------------------------------------

_NO_KEY: Any = object()


@attrs.define
class KeysetState:
    """Where a view or ``_all_docs`` iteration stands, as stored in a cursor."""

    #: The key (and doc id, for views) of the first row of the next page.
    start_key: Any = _NO_KEY
    start_doc_id: str | None = None
    #: Rows returned so far (for an overall limit).
    returned: int = 0
    #: The server ignores start_key_doc_id: skip ``run`` rows at ``start_key`` instead.
    fallback: bool = False
    #: How many rows with key ``start_key`` were already returned.
    run: int = 0
    done: bool = False

    @property
    def started(self) -> bool:
        return self.start_key is not _NO_KEY

    def to_json(self) -> dict[str, Any]:
        return {
            "s": self.start_key,
            "i": self.start_doc_id,
            "n": self.returned,
            "f": self.fallback,
            "r": self.run,
        }

    @classmethod
    def from_json(cls, state: Mapping[str, Any]) -> KeysetState:
        try:
            return cls(
                start_key=state["s"],
                start_doc_id=state["i"],
                returned=int(state["n"]),
                fallback=bool(state["f"]),
                run=int(state["r"]),
            )
        except (KeyError, TypeError, ValueError):
            raise InvalidCursorError("a damaged page cursor") from None


def keyset_page(
    fetch: Callable[[dict[str, Any]], Flow[list[dict[str, Any]]]],
    params: Mapping[str, Any],
    state: KeysetState,
    *,
    page_size: int,
    limit: int | None,
    by_doc_id: bool,
) -> Flow[list[dict[str, Any]] | None]:
    """The next page of rows, as a flow (``client/flows.py``), moving ``state`` along
    (read it for the next cursor); None when there are no more.

    ``fetch(request)`` is the flow of one request, giving its rows. Each request asks
    for one row more than the page: that row's key (and doc id) is where the next page
    starts, so no page is ever found with ``skip``. ``by_doc_id`` is for views, whose
    keys repeat: ``start_key_doc_id`` tells rows with one key apart. When the server
    ignores it (its first row is not the one asked for), the rows already returned with
    the boundary key are skipped instead.
    """
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    while not state.done:
        want = page_size if limit is None else min(page_size, limit - state.returned)
        if want <= 0:
            state.done = True
            return None
        request = dict(params)
        request["limit"] = want + 1
        if state.started:
            request["start_key"] = _group_start(params, state.start_key)
            if by_doc_id and not state.fallback and state.start_doc_id is not None:
                request["start_key_doc_id"] = state.start_doc_id
            elif state.run:
                request["skip"] = state.run
        rows = yield from fetch(request)
        if (
            by_doc_id
            and state.started
            and not state.fallback
            and state.start_doc_id is not None
            and rows
            and (rows[0].get("key"), rows[0].get("id")) != (state.start_key, state.start_doc_id)
        ):
            # start_key_doc_id was ignored: count this key's rows already returned.
            state.fallback = True
            continue
        page, extra = rows[:want], rows[want:]
        # Count the rows returned with each key, continuing the count of the previous
        # page's last key: the skip needed if the next page starts inside that key.
        run_key, run = (state.start_key, state.run) if state.started else (_NO_KEY, 0)
        for row in page:
            key = row.get("key")
            if run_key is not _NO_KEY and key == run_key:
                run += 1
            else:
                run_key, run = key, 1
        state.returned += len(page)
        if not extra or (limit is not None and state.returned >= limit):
            state.done = True  # (at the limit: no cursor to a page that would be empty)
        else:
            nxt = extra[0]
            state.start_key = nxt.get("key")
            state.start_doc_id = nxt.get("id") if by_doc_id else None
            same = by_doc_id and run_key is not _NO_KEY and state.start_key == run_key
            state.run = run if same else 0
        if page:
            return page
    return None


def _group_start(params: Mapping[str, Any], key: Any) -> Any:
    """Where a page starts that begins with the group ``key`` of a ``group_level``
    reduce. The group stands for every longer key beginning with it, which sort after
    it: going down, the page must start after all of them (``[*key, {}]``), or it would
    leave out the whole group."""
    if params.get("group_level") is not None and params.get("descending") and isinstance(key, list):
        return [*key, {}]
    return key


def keyset_pages(
    fetch: Callable[[dict[str, Any]], list[dict[str, Any]]],
    params: Mapping[str, Any],
    state: KeysetState,
    *,
    page_size: int,
    limit: int | None,
    by_doc_id: bool,
) -> Iterator[list[dict[str, Any]]]:
    """:func:`keyset_page` after :func:`keyset_page`, each request made by the plain
    function ``fetch``."""

    def fetched(request: dict[str, Any]) -> Flow[list[dict[str, Any]]]:
        return fetch(request)
        yield  # a flow that sends nothing itself

    while True:
        flow = keyset_page(
            fetched, params, state, page_size=page_size, limit=limit, by_doc_id=by_doc_id
        )
        page = run(flow, None)
        if page is None:
            return
        yield page

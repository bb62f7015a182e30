"""A fake ``_changes`` feed for the followers' unit tests (the synchronous follower's
``responses`` callbacks, and through ``respx_answer`` the async one's)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

URL = "http://couch.test"
DB = "db"
CHANGES = f"{URL}/{DB}/_changes"
JSON = {"Content-Type": "application/json"}

Response = tuple[int, dict[str, str], str]
Fault = int | str | BaseException | Callable[[dict[str, str]], Response]


def seq(n: int) -> str:
    """An opaque, CouchDB-like sequence for change number ``n``."""
    return f"{n}-g1AAAAB4eJzLYWBgYMpgTmHgz8tPSTV0MDQy"


def number(since: str) -> int:
    return int(since.split("-", 1)[0])


def row(n: int, *, with_seq: bool = True) -> dict[str, Any]:
    return {
        "seq": seq(n) if with_seq else None,
        "id": f"doc{n:06d}",
        "changes": [{"rev": f"1-{n:032x}"}],
    }


class FakeFeed:
    """A database with ``total`` changes whose ``_changes`` answers as CouchDB's does
    (``pending`` included unless ``pending=False``, as PouchDB Server). ``faults`` maps a
    request number (0-based) to what to answer instead: a status code, a raw body, an
    exception to raise, or a function of the query parameters."""

    def __init__(
        self,
        total: int | None,
        *,
        now: int | None = None,
        pending: bool = True,
        faults: dict[int, Fault] | None = None,
        null_seqs: bool = False,
    ) -> None:
        self.total = total  # None: endless
        self.now = now if now is not None else (total or 0)
        self.pending = pending
        self.faults = faults or {}
        self.null_seqs = null_seqs
        self.calls: list[dict[str, str]] = []

    def __call__(self, request: Any) -> Response:
        params = {k: v[0] for k, v in parse_qs(urlsplit(str(request.url)).query).items()}
        index = len(self.calls)
        self.calls.append(params)
        fault = self.faults.get(index)
        if isinstance(fault, BaseException):
            raise fault
        if isinstance(fault, int):
            body = {"error": "fault", "reason": f"fault at request {index}"}
            return fault, JSON, json.dumps(body)
        if isinstance(fault, str):
            return 200, JSON, fault
        if fault is not None:
            return fault(params)
        return 200, JSON, json.dumps(self.page(params))

    def rows(self, params: dict[str, str]) -> tuple[int, list[dict[str, Any]]]:
        since = params.get("since", "0")
        start = self.now if since == "now" else number(since)
        end = start + int(params["limit"])
        if self.total is not None:
            end = min(end, self.total)
        rows = [row(n, with_seq=not self.null_seqs or n == end) for n in range(start + 1, end + 1)]
        return max(start, end), rows

    def page(self, params: dict[str, str]) -> dict[str, Any]:
        end, rows = self.rows(params)
        body: dict[str, Any] = {"results": rows, "last_seq": seq(end)}
        if self.pending and self.total is not None:
            body["pending"] = self.total - end
        return body

    def truncated(self, after: int) -> Callable[[dict[str, str]], Response]:
        """A fault: the page breaks off inside row ``after + 1``."""

        def answer(params: dict[str, str]) -> Response:
            _, rows = self.rows(params)
            text = '{"results":[' + ",".join(json.dumps(r) for r in rows[:after])
            return 200, JSON, text + ',{"seq":"' + str(rows[after]["seq"])[:5]

        return answer

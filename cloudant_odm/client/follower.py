"""``ChangesFollower``: read a database's changes feed to its end, or follow it for ever,
riding out the errors a long-running reader meets.

Behaves as the official SDK's follower (same options, modes, limits, terminal and
transient errors, back-off and batch sizes), with these differences:

- rows whose ``seq`` is ``null`` (``seq_interval``) are delivered, not rejected;
- the response body is parsed as it streams in, so a page is never held in memory whole,
  and a connection that breaks mid-page resumes after the last row already delivered;
- ``stop()`` is prompt from any thread, including from inside the loop, and never blocks;
- only HTTP and network failures are retried: a bad argument or a bug is raised at once;
- one-off mode also ends on servers that send no ``pending`` (PouchDB Server);
- only the read timeout is checked against the long poll (the connect timeout may be short).

Threading: one daemon producer thread per started follower makes the requests and parses
them; it hands rows to the consumer (the thread iterating) through a small bounded buffer.
The producer is what blocks in a long poll, so a consumer can always be woken at once by
``stop()``: waking a thread blocked in a socket read is only possible by shutting the
socket down, which can only be done once the response has begun (its headers have
arrived). ``stop()`` does that when it can; otherwise the producer notices the stop when
its current request returns (at most the long-poll timeout, 57 s) and exits without
delivering anything more.

What a follower decides (the options, the requests, ``since``, retries, the end of a
one-off run, the limit) is ``_FollowerCore``'s, and how a response becomes rows is
``_PageReader``'s: neither does I/O, and ``cloudant_odm.aio.AsyncChangesFollower`` drives
the same two from an asyncio task.
"""

from __future__ import annotations

import codecs
import http.client
import json
import logging
import math
import random
import re
import threading
import time
from collections import deque
from collections.abc import Iterator
from datetime import timedelta
from enum import Enum
from typing import TYPE_CHECKING, Any, Final

import attrs
import requests
import urllib3.exceptions
from typing_extensions import Self

from cloudant_odm.client._operations import validate_db_name
from cloudant_odm.client.errors import ApiException
from cloudant_odm.client.flows import Flow, Send, check_client, run
from cloudant_odm.client.models import Change, ChangesResultItem

if TYPE_CHECKING:
    from cloudant_odm.client.service import CloudantV1
    from cloudant_odm.client.transport import DetailedResponse

__all__ = ["ChangesFollower"]

log = logging.getLogger("cloudant_odm.client.follower")

#: ``error_tolerance`` meaning "retry transient errors for ever" (the default), in ms.
FOREVER_MS: Final = 86_399_999_999_999_999
#: The server-side ``timeout`` of a long poll in ``start()`` mode, in ms.
LONGPOLL_TIMEOUT_MS: Final = 57_000
#: The smallest client read timeout that outlasts a long poll (57 s + 3 s margin), in s.
MIN_CLIENT_TIMEOUT: Final = 60.0
#: Changes asked for per request.
BATCH_SIZE: Final = 10_000
#: With ``include_docs``, the batch size aims at responses of about this many bytes ...
BATCH_BYTES: Final = 5 * 1024 * 1024
#: ... counting this much per row besides the document itself.
ROW_OVERHEAD_BYTES: Final = 500
#: Full-jitter back-off: the n-th retry waits uniform(0, BASE_DELAY * 2**n) seconds ...
BASE_DELAY: Final = 0.1
#: ... until n reaches EXP_RETRY_GATE; from then on uniform(0, MAX_DELAY). Low, so that
#: a follower resumes within seconds of its server coming back, however long the outage
#: (the SDK's 57 s left a follower idle for up to a minute after a node restart).
MAX_DELAY: Final = 5.0
EXP_RETRY_GATE: Final = int(math.log(MAX_DELAY / BASE_DELAY) / math.log(2))  # 9
#: Statuses that end the follower at once, whatever the error tolerance.
TERMINAL_STATUSES: Final = frozenset({400, 401, 403, 404})

# The checkpoint window of latest_sequence_from(): markers kept / dropped at once.
_SEQ_RETAINED: Final = 2048
_SEQ_EVICTION: Final = 1024
# Rows go to the consumer in chunks of about this many rows or this many characters
# (give or take one parsed group), and at most _BUFFER_CHUNKS chunks wait for it: the
# producer stays a few MiB ahead.
_CHUNK_ROWS: Final = 500
_CHUNK_CHARS: Final = 1024 * 1024
_BUFFER_CHUNKS: Final = 4
_READ_SIZE: Final = 64 * 1024
# The body is parsed in pieces of at least this many bytes (CouchDB sends a few rows per
# HTTP chunk), so that each piece holds a group of rows for the parser to take at once.
_PARSE_BYTES: Final = 64 * 1024

_REJECTED_OPTIONS: Final = ("descending", "feed", "heartbeat", "last_event_id", "timeout")
# filter_params only feed custom filter functions, which the follower does not allow.
_REJECTED_EXTRA: Final = ("filter_params",)
_ALLOWED_OPTIONS: Final = frozenset(
    {
        "db",
        "att_encoding_info",
        "attachments",
        "conflicts",
        "doc_ids",
        "fields",
        "filter",
        "include_docs",
        "limit",
        "selector",
        "seq_interval",
        "since",
        "style",
        "view",
        "headers",
    }
)

# Failures worth another try: the server's 429/5xx (any ApiException not in
# TERMINAL_STATUSES, including an unreadable 2xx body) and network trouble.
_NETWORK_ERRORS: Final = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    OSError,
)

Seq = str | int


def backoff_ceiling(retry: int) -> float:
    """The longest wait, in seconds, before retry number ``retry`` (0 for the first)."""
    if retry < EXP_RETRY_GATE:
        return float(BASE_DELAY * 2**retry)
    return MAX_DELAY


def backoff_delay(retry: int) -> float:
    """The wait before retry number ``retry``: "full jitter", uniform between 0 and the
    ceiling, to the millisecond. Spreading retries at random keeps many followers that
    failed together from hammering the server together."""
    return round(random.uniform(0.0, backoff_ceiling(retry)), 3)


def is_transient(error: BaseException) -> bool:
    """Whether the follower retries after ``error`` (within its error tolerance)."""
    if isinstance(error, ApiException):
        return error.status_code not in TERMINAL_STATUSES
    return isinstance(error, _NETWORK_ERRORS)


class _Mode(Enum):
    """How far a follower reads: until stopped (``start()``), or to the feed's end."""

    LISTEN = "listen"
    FINITE = "finite"


class _Signal(Enum):
    END = "end"  # the feed ended normally
    CLOSED = "closed"  # the follower was stopped


# A chunk of rows (see _checked), the error that ended the producer, or a signal.
_Handed = list[Any] | BaseException | _Signal


class _Handoff:
    """A bounded hand-over from the producer thread to the consumer. ``close()`` wakes
    both sides at once, whatever they are waiting for (space or data)."""

    def __init__(self, capacity: int) -> None:
        self._items: deque[_Handed] = deque()
        self._capacity = capacity
        self._cond = threading.Condition()
        self._closed = False

    def put(self, item: _Handed) -> bool:
        """Queue ``item``, waiting for room; False (item dropped) once closed."""
        with self._cond:
            while len(self._items) >= self._capacity and not self._closed:
                self._cond.wait()
            if self._closed:
                return False
            self._items.append(item)
            self._cond.notify_all()
            return True

    def get(self) -> _Handed:
        """The next item, waiting for one; ``_Signal.CLOSED`` once closed."""
        with self._cond:
            while not self._items and not self._closed:
                self._cond.wait()
            if self._closed:
                return _Signal.CLOSED
            item = self._items.popleft()
            self._cond.notify_all()
            return item

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._items.clear()
            self._cond.notify_all()


class _BadBody(ValueError):
    """The response body is not the JSON object of a changes feed."""


class _State(Enum):
    START = 0  # before the opening brace
    KEY = 1  # expecting a member name, or the closing brace
    VALUE = 2  # expecting the value of a member other than "results"
    RESULTS = 3  # expecting the "[" that opens "results"
    ROWS = 4  # inside "results"
    DONE = 5  # after the closing brace


_WS: Final = re.compile(r"[ \t\n\r]*")
# A JSON string, and a scalar (what the first member of a row holds: seq or id).
_STRING: Final = r'"[^"\\]*(?:\\.[^"\\]*)*"'
_SCALAR: Final = rf"(?:{_STRING}|-?[0-9][0-9.eE+-]*|null|true|false)"
# How a row begins: "{", its first member name, a scalar value, its second member name.
_ROW_HEAD: Final = re.compile(rf"(\{{\s*{_STRING}\s*:)\s*{_SCALAR}\s*,\s*({_STRING}\s*:)")
# Row starts tried, from the end of the text, before a group gives up for this text.
_GROUP_TRIES: Final = 8


class _FeedParser:
    """Parses a ``_changes`` response (``{"results": [...], "last_seq": ..., ...}``) as
    its bytes arrive: ``feed()`` returns the rows completed so far, and ``chars`` counts
    their characters; the other members end up in ``fields``.

    Only the top-level object is parsed incrementally; the other members are decoded
    whole by ``json``, and so are the rows, many at a time: one ``json`` call per row
    costs about as much again as the parsing itself. The rows of the text received are
    cut into a group ending before the last row that starts as the first row did (its
    first member, a scalar, its second member's name, as in ``{"seq":"..","id":``) and
    the group is parsed as one array. A nested object that starts like a row makes the
    group an invalid array, never a wrong one; then the rows are parsed one at a time
    for the rest of the response. A value cut by a chunk boundary is retried once the
    unparsed text has doubled, so a large document costs linear time, not quadratic.
    """

    def __init__(self) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._json = json.JSONDecoder()
        self._buf = ""
        self._pos = 0
        self._pieces: list[str] = []
        self._pending = 0  # characters in _pieces
        self._want = 0  # unparsed characters needed before parsing again
        self._state = _State.START
        self._key = ""
        # Rows are parsed in groups once the first row has shown how rows begin.
        self._grouping = True
        self._row_start = ""  # the first row's text up to its first colon
        self._row_head: re.Pattern[str] | None = None  # confirms a row start
        self.chars = 0  # characters of the rows returned so far
        self.fields: dict[str, Any] = {}

    def feed(self, data: bytes) -> list[Any]:
        try:
            text = self._utf8.decode(data)
        except UnicodeDecodeError as exc:
            raise _BadBody(f"the body is not UTF-8: {exc}") from exc
        if text:
            self._pieces.append(text)
            self._pending += len(text)
        if len(self._buf) - self._pos + self._pending < self._want:
            return []
        return self._parse(final=False)

    def close(self) -> list[Any]:
        """The last rows, once the body has ended; raises if the JSON is incomplete."""
        try:
            text = self._utf8.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise _BadBody(f"the body ends inside a UTF-8 character: {exc}") from exc
        if text:
            self._pieces.append(text)
        rows = self._parse(final=True)
        if self._state is not _State.DONE:
            raise _BadBody("the body ended before its JSON object did")
        return rows

    def _parse(self, *, final: bool) -> list[Any]:
        if self._pieces:
            self._buf = self._buf[self._pos :] + "".join(self._pieces)
            self._pos = 0
            self._pieces.clear()
            self._pending = 0
        buf, pos, end = self._buf, self._pos, len(self._buf)
        rows: list[Any] = []
        self._want = 0
        grouping = True  # until no group is found in this text
        while True:
            ws = _WS.match(buf, pos)
            pos = ws.end() if ws else pos
            if pos >= end:
                break
            char = buf[pos]
            state = self._state
            if state is _State.ROWS:
                if char == ",":
                    pos += 1
                elif char == "]":
                    pos += 1
                    self._state = _State.KEY
                else:
                    after = -1
                    if grouping and self._row_head:
                        after = self._group(buf, pos, end, rows)
                        # No group: no row start further on, the rest goes row by row.
                        grouping = after >= 0
                    if after < 0:
                        value, after = self._value(buf, pos, final)
                        if after < 0:
                            break
                        rows.append(value)
                        if self._grouping and self._row_head is None:
                            self._learn_row_start(buf, pos)
                    self.chars += after - pos
                    pos = after
            elif state is _State.KEY:
                if char == ",":
                    pos += 1
                elif char == "}":
                    pos += 1
                    self._state = _State.DONE
                elif char != '"':
                    raise _BadBody(f"expected a member name at character {pos}, got {char!r}")
                else:
                    key, after = self._value(buf, pos, final)
                    if after < 0:
                        break
                    ws = _WS.match(buf, after)
                    colon = ws.end() if ws else after
                    if colon >= end:
                        if final:
                            raise _BadBody("the body ended after a member name")
                        break  # parse the name again once the colon has arrived
                    if buf[colon] != ":":
                        raise _BadBody(f"expected ':' at character {colon}")
                    self._key = str(key)
                    self._state = _State.RESULTS if key == "results" else _State.VALUE
                    pos = colon + 1
            elif state is _State.VALUE:
                value, after = self._value(buf, pos, final)
                if after < 0:
                    break
                self.fields[self._key] = value
                self._state = _State.KEY
                pos = after
            elif state is _State.RESULTS:
                if char != "[":
                    raise _BadBody("'results' is not an array")
                pos += 1
                self._state = _State.ROWS
            elif state is _State.START:
                if char != "{":
                    raise _BadBody(f"the body is not a JSON object (it starts with {char!r})")
                pos += 1
                self._state = _State.KEY
            else:
                raise _BadBody(f"unexpected data after the JSON object at character {pos}")
        self._pos = pos
        if pos < end:
            self._want = 2 * (end - pos)
        return rows

    def _learn_row_start(self, buf: str, pos: int) -> None:
        """Note how the row at ``pos`` begins; rows whose first member isn't a scalar
        followed by a second member are parsed one at a time."""
        head = _ROW_HEAD.match(buf, pos)
        if head is None:
            self._grouping = False
            return
        self._row_start = head.group(1)
        self._row_head = re.compile(
            rf"{re.escape(head.group(1))}\s*{_SCALAR}\s*,\s*{re.escape(head.group(2))}"
        )

    def _group(self, buf: str, pos: int, end: int, rows: list[Any]) -> int:
        """Parse the rows from ``pos`` up to the last row start in the text as one array,
        adding them to ``rows``: the position of that row start, or -1 (nothing parsed)
        if there is no such group."""
        head = self._row_head
        assert head is not None
        start = self._row_start
        cut = end
        for _ in range(_GROUP_TRIES):
            cut = buf.rfind(start, pos + 1, cut)
            if cut < 0:
                return -1
            if head.match(buf, cut):
                comma = cut - 1
                while buf[comma] in " \t\n\r":
                    comma -= 1
                if buf[comma] == ",":  # else an object nested in a row: look further back
                    break
        else:
            return -1
        try:
            group = self._json.decode(f"[{buf[pos:comma]}]")
        except json.JSONDecodeError:
            # The cut was inside a row (a nested object that starts as rows do, after a
            # comma), or the JSON is bad: rows one at a time from now on find either.
            self._grouping = False
            self._row_head = None
            return -1
        rows += group
        return cut

    def _value(self, buf: str, pos: int, final: bool) -> tuple[Any, int]:
        """Decode the JSON value at ``pos``: (value, end), or (None, -1) if it may be cut
        short by the end of the data received so far."""
        try:
            value, after = self._json.raw_decode(buf, pos)
        except json.JSONDecodeError as exc:
            if final:
                raise _BadBody(str(exc)) from exc
            return None, -1
        # A number or literal ending exactly at the end of the data may continue in the
        # next chunk ("12" of "123"); objects, arrays and strings end with a delimiter.
        if after >= len(buf) and not final and buf[pos] not in '{["':
            return None, -1
        return value, after


@attrs.frozen
class _Page:
    """What one request brought: how many rows, of how many asked for, and the server's
    ``pending`` count if it sent one."""

    rows: int
    limit: int
    pending: int | None
    progressed: bool  # whether ``since`` moved

    @property
    def last(self) -> bool:
        """Whether a one-off follower has read everything there was."""
        if self.rows == 0 and not self.progressed:
            return True  # nothing new and no progress: asking again would spin
        if self.pending is not None:
            return self.pending <= 0
        # No "pending" (PouchDB Server): the server stops at `limit` rows only when there
        # are more; fewer means the feed has been read to its end.
        return self.rows < self.limit


def _to_seconds(error_tolerance: float | timedelta | None) -> float | None:
    """``error_tolerance`` (ms, or a timedelta) in seconds; None for "for ever"."""
    if error_tolerance is None:
        return None
    if isinstance(error_tolerance, timedelta):
        if error_tolerance == timedelta.max:
            return None
        ms: float = error_tolerance / timedelta(milliseconds=1)
    elif isinstance(error_tolerance, bool) or not isinstance(error_tolerance, int | float):
        raise TypeError(
            "error_tolerance must be a number of milliseconds or a datetime.timedelta, "
            f"not {type(error_tolerance).__name__}"
        )
    else:
        ms = error_tolerance
    if math.isnan(ms):
        raise ValueError("Error tolerance duration must be a number.")
    if ms < 0:
        raise ValueError("Error tolerance duration must not be negative.")
    if ms == math.inf or ms == FOREVER_MS:
        return None
    if ms > FOREVER_MS:
        raise ValueError(f"Error tolerance duration must not be larger than {FOREVER_MS} ms.")
    return ms / 1000.0


def _timeouts(timeout: Any) -> tuple[float | None, float | None]:
    """The connect and read timeouts in seconds from a ``requests`` timeout setting
    (a number is both; None: no limit)."""
    if isinstance(timeout, tuple | list):
        connect, read = (timeout[0], timeout[1]) if len(timeout) > 1 else (timeout[0], None)
    else:
        connect = getattr(timeout, "connect_timeout", timeout)  # urllib3's Timeout object
        read = getattr(timeout, "read_timeout", timeout)

    def seconds(value: Any) -> float | None:
        number = isinstance(value, int | float) and not isinstance(value, bool)
        return float(value) if number else None

    return seconds(connect), seconds(read)


def _check_client_timeout(service: Any, kind: str) -> None:
    """Refuse a client whose timeouts would cut every long poll short (the SDK checks
    the connect timeout too, and so does this, for the same clients to be refused)."""
    transport = getattr(service, "_transport", None)
    config = getattr(transport, "http_config", None) or getattr(service, "http_config", None)
    connect, read = _timeouts(config.get("timeout") if isinstance(config, dict) else None)
    if any(t is not None and 0 < t < MIN_CLIENT_TIMEOUT for t in (connect, read)):
        raise ValueError(
            f"To use {kind} the client read and call timeouts must be at least "
            f"{MIN_CLIENT_TIMEOUT:g} s (a long poll lasts {LONGPOLL_TIMEOUT_MS / 1000:g} s); "
            f"they are {_seconds_text(connect)} (connect) and {_seconds_text(read)} (read). "
            "Raise them with set_http_config({'timeout': (connect, read)})."
        )


def _seconds_text(value: float | None) -> str:
    return "none" if value is None else f"{value:g} s"


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


_ROW_KEYS: Final = frozenset(("changes", "id", "seq", "deleted", "doc"))


def _is_usual(row: dict[str, Any]) -> bool:
    """Whether the row has the usual shape: ``seq`` (null allowed), ``id``, ``changes``
    as a list of ``{"rev": ...}``, and perhaps ``deleted`` and ``doc``, which
    ``ChangesResultItem.from_dict`` would take as they are."""
    if "seq" not in row or not _ROW_KEYS.issuperset(row):
        return False  # seq is required (null allowed): from_dict says so
    changes = row.get("changes")
    if changes.__class__ is not list or row.get("id") is None:
        return False
    for change in changes:
        if change.__class__ is not dict or len(change) != 1 or change.get("rev") is None:
            return False
    return True


def _usual_item(row: dict[str, Any]) -> ChangesResultItem | None:
    """The row as a ``ChangesResultItem`` built directly, if it has the usual shape (the
    generic ``from_dict`` is the follower's largest cost per row; this is about 2x
    faster); None for anything else, which ``from_dict`` then decodes or refuses."""
    return _build_item(row) if _is_usual(row) else None


def _build_item(row: dict[str, Any]) -> ChangesResultItem:
    """The ``ChangesResultItem`` of a row of the usual shape (``_is_usual``)."""
    return ChangesResultItem(
        [Change(change["rev"]) for change in row["changes"]],
        row["id"],
        row["seq"],
        deleted=row.get("deleted"),
        doc=row.get("doc"),
    )


def _to_item(row: Any) -> ChangesResultItem:
    if row.__class__ is dict:
        item = _usual_item(row)
        if item is not None:
            return item
    if not isinstance(row, dict):
        raise ValueError(f"The changes feed sent a row that is not an object: {row!r:.200}")
    try:
        return ChangesResultItem.from_dict(row)
    except ValueError as exc:
        raise ValueError(f"The changes feed sent a row that is not a change: {exc}") from exc


#: A row as the producer hands it over (see ``_checked``).
_Checked = dict[str, Any] | ChangesResultItem


def _checked(row: Any) -> _Checked:
    """The row as the producer hands it over: the parser's own dict when it has the
    usual shape (``_is_usual``), else its ``ChangesResultItem`` (``from_dict`` decodes
    it, or refuses it with the error ``_to_item`` raises). Items are built by the
    consumer (``_build_item``), just before they are delivered: objects that live for
    a moment cost the garbage collector far less than ones that wait in the hand-off."""
    if row.__class__ is dict and _is_usual(row):
        usual: dict[str, Any] = row
        return usual
    return _to_item(row)


def _seq_of(row: _Checked) -> Seq | None:
    """The ``seq`` of a row as ``_checked`` hands it over."""
    if isinstance(row, dict):
        seq: Seq | None = row["seq"]
        return seq
    return row.seq


def _abort(response: requests.Response) -> None:
    """Make a read blocked on ``response`` in another thread fail now (best effort)."""
    try:
        shutdown = getattr(response.raw, "shutdown", None)  # urllib3 >= 2.3
        if callable(shutdown):
            shutdown()
        else:
            response.close()
    except Exception:  # it is finishing or finished anyway
        log.debug("could not abort the changes request", exc_info=True)


# -- the core: what a follower decides, without I/O --------------------------------------


class _FollowerCore:
    """Everything a follower decides, written once for both drivers: the checks of its
    options, which request comes next and with what parameters, how ``since`` moves on,
    which errors are retried and after how long, when a one-off run ends, the ``limit``
    and the checkpoint window of ``latest_sequence_from``. It does no I/O:
    ``ChangesFollower`` (a producer thread, ``requests``) and
    ``cloudant_odm.aio.AsyncChangesFollower`` (a producer task, httpx) send the requests
    it names (as flows, ``client/flows.py``), feed it the bodies (``_PageReader``) and
    wait as it says.

    ``kind`` is the follower's class name, for the messages of its errors.
    """

    def __init__(
        self,
        service: Any,
        error_tolerance: float | timedelta | None,
        params: dict[str, Any],
        *,
        kind: str,
    ) -> None:
        awaited = kind.startswith("Async")
        other = "ChangesFollower" if awaited else "cloudant_odm.aio.AsyncChangesFollower"
        check_client(service, awaited=awaited, where=kind, instead=other)
        known = _ALLOWED_OPTIONS.union(_REJECTED_OPTIONS, _REJECTED_EXTRA)
        unknown = [name for name in params if name not in known]
        if unknown:
            raise TypeError(f"{kind} got unexpected options: {', '.join(unknown)}")
        invalid = [n for n in (*_REJECTED_OPTIONS, *_REJECTED_EXTRA) if params.get(n) is not None]
        feed_filter = params.get("filter")
        if feed_filter is not None and feed_filter != "_selector":
            invalid.append(f"filter={feed_filter}")
        if len(invalid) == 1:
            raise ValueError(f"The option '{invalid[0]}' is invalid when using {kind}.")
        if invalid:
            raise ValueError(f"The options {', '.join(invalid)} are invalid when using {kind}.")
        db = params.get("db")
        if not db:
            raise ValueError(f"The option db must be provided when using {kind}.")
        if not isinstance(db, str):
            raise TypeError(f"db must be a string, not {type(db).__name__}")
        validate_db_name(db)
        limit = params.pop("limit", None)
        if limit is not None:
            if isinstance(limit, bool) or not isinstance(limit, int):
                raise TypeError(f"limit must be an integer, not {type(limit).__name__}")
            if limit < 0:
                raise ValueError("Limit must not be negative.")
        since = params.get("since")
        if since is not None and (isinstance(since, bool) or not isinstance(since, str | int)):
            raise TypeError(f"since must be a sequence string (or int), not {type(since)}")
        self.tolerance = _to_seconds(error_tolerance)
        _check_client_timeout(service, kind)

        self.db = db
        self.limit: int | None = limit
        self.options: dict[str, Any] = {k: v for k, v in params.items() if v is not None}
        self.mode = _Mode.FINITE
        self.since: Seq = "0"
        self.produced = 0  # rows read for the consumer (by the producer only)
        self._last_success = 0.0
        self._retry = 0
        # Checkpoint markers, oldest first: (is_row, seq) per page, see mark().
        self.marks: list[tuple[bool, Seq | None]] = []
        self._marks_lock = threading.Lock()

    def resume_from(self, since: Seq) -> None:
        """Start from ``since``, known only after the follower was made (a checkpoint
        read from the server)."""
        self.options["since"] = since

    def begin(self, mode: _Mode) -> None:
        """Start following in ``mode``: from the ``since`` given, else from ``"now"``
        (``start()``) or the beginning (``start_one_off()``)."""
        self.mode = mode
        since = self.options.pop("since", None)
        self.since = since if since is not None else ("now" if mode is _Mode.LISTEN else "0")
        self._last_success = time.monotonic()
        self._retry = 0

    # -- the requests ------------------------------------------------------------

    @property
    def limit_reached(self) -> bool:
        return self.limit is not None and self.limit - self.produced <= 0

    def batch_size(self) -> Flow[int]:
        """How many changes to ask for per request: 10 000, or with documents as many
        as make about 5 MiB (from the database's average document size), capped by the
        ``limit``."""
        size = BATCH_SIZE
        if self.options.get("include_docs"):
            response = yield Send("get_database_information", self.db)
            info: Any = response.get_result()
            info = info if isinstance(info, dict) else {}
            sizes = info.get("sizes")
            external: Any = sizes.get("external") if isinstance(sizes, dict) else None
            count: Any = info.get("doc_count")
            if _positive(external) and _positive(count):
                size = max(int(BATCH_BYTES / (external / count + ROW_OVERHEAD_BYTES)), 1)
        if self.limit is not None:
            size = min(size, self.limit)
        return size

    def request_limit(self, batch_size: int) -> int:
        """The next request's ``limit``: never more than the ``limit`` still allows."""
        if self.limit is None:
            return batch_size
        return min(batch_size, self.limit - self.produced)

    def changes(self, limit: int) -> Flow[DetailedResponse]:
        """The next request (``post_changes_as_stream``): its streamed response."""
        params: dict[str, Any] = {**self.options, "since": self.since, "limit": limit}
        if self.mode is _Mode.LISTEN:
            params.update(feed="longpoll", timeout=LONGPOLL_TIMEOUT_MS)
        else:
            params["feed"] = "normal"
        response: DetailedResponse = yield Send("post_changes_as_stream", **params)
        return response

    # -- after a request ---------------------------------------------------------

    def retry_delay(self, error: BaseException) -> float | None:
        """After a failed request: how long to wait before the next one, or None if
        ``error`` ends the follower (not transient, or failing for longer than the
        error tolerance)."""
        failing_for = time.monotonic() - self._last_success
        if not is_transient(error):
            return None
        if self.tolerance is not None and failing_for >= self.tolerance:
            return None
        delay = backoff_delay(self._retry)
        self._retry += 1
        log.warning(
            "changes feed of %s: %s; retry %d in %.3f s (failing for %.1f s)",
            self.db,
            # The follower retries itself (the docs advise client retries off).
            getattr(error, "summary", None) or error,
            self._retry,
            delay,
            failing_for,
        )
        return delay

    def ended(self, page: _Page | None) -> bool:
        """After a successful request (``page`` None: the follower was stopped during
        it): whether the follower is done."""
        self._last_success = time.monotonic()
        self._retry = 0
        return page is None or (self.mode is _Mode.FINITE and page.last)

    # -- checkpoints -------------------------------------------------------------

    def mark(self, rows: int, last_row_seq: Seq | None, last_seq: Seq) -> None:
        """Record the page for latest_sequence_from(): a row marker if it had rows (its
        last row's seq, which may be null), then a marker for its ``last_seq``."""
        with self._marks_lock:
            if rows:
                self.marks.append((True, last_row_seq))
            self.marks.append((False, last_seq))
            if len(self.marks) >= _SEQ_RETAINED + _SEQ_EVICTION:
                del self.marks[:_SEQ_EVICTION]

    def latest_sequence_from(self, checkpoint_seq: Seq) -> Seq:
        """See ``ChangesFollower.latest_sequence_from``."""
        if checkpoint_seq is None or checkpoint_seq == "":
            raise ValueError("Provided sequence ID must be a non-empty string.")
        with self._marks_lock:
            marks = list(self.marks)
        latest = checkpoint_seq
        found = False
        for is_row, seq in marks:
            if not found:
                found = seq == checkpoint_seq
                continue
            if is_row:
                break
            if seq is not None:
                latest = seq
        return latest


class _PageReader:
    """One response of the feed, read as its bytes arrive (``feed``, then ``end`` and
    ``finish``): its rows checked (``_checked``) and counted against the ``limit``,
    ``since`` moved past each, and gathered into chunks for the consumer. The driver
    hands over what ``feed`` returns and, at the end, ``take()``: also when the page
    breaks off, since ``since`` has moved past the rows read."""

    __slots__ = (
        "_chunk_chars",
        "_core",
        "_last_row_seq",
        "_parser",
        "_pieces",
        "_response",
        "_size",
        "_started_at",
        "at_limit",
        "chunk",
        "limit",
        "rows",
    )

    def __init__(self, core: _FollowerCore, limit: int, response: Any) -> None:
        self._core = core
        self.limit = limit  # the request's
        self._response = response  # for the error of a body that is not a feed
        self._parser = _FeedParser()
        self._pieces: list[bytes] = []
        self._size = 0
        self._started_at = core.since
        self._last_row_seq: Seq | None = None
        self._chunk_chars = 0
        self.chunk: list[_Checked] = []
        self.rows = 0
        self.at_limit = False  # the follower's limit is reached: stop reading

    def feed(self, data: bytes) -> list[_Checked] | None:
        """Take the next bytes of the body; a chunk of rows to hand over now, if any."""
        self._pieces.append(data)
        self._size += len(data)
        if self._size < _PARSE_BYTES:
            return None
        try:
            rows = self._parser.feed(b"".join(self._pieces))
        except _BadBody as exc:
            raise self._bad_body(exc) from exc
        self._pieces.clear()
        self._size = 0
        return self.take() if rows and self._take(rows) else None

    def end(self) -> None:
        """The body has ended: its last rows join the chunk (``take()``)."""
        parser = self._parser
        try:
            rows = parser.feed(b"".join(self._pieces))
            self._pieces.clear()
            if rows:
                self._take(rows)  # before close() may find the body cut short
            if not self.at_limit:
                rows = parser.close()
                if rows:
                    self._take(rows)
        except _BadBody as exc:
            raise self._bad_body(exc) from exc

    def finish(self) -> _Page:
        """What the page brought, once ``end()`` has read it whole (or the limit was
        reached): ``since`` moves to its ``last_seq``, and its markers are recorded
        before its last chunk is handed over, so that a checkpoint taken on its last row
        can already be moved on by latest_sequence_from()."""
        if self.at_limit:
            return _Page(self.rows, self.limit, None, progressed=True)
        core = self._core
        fields = self._parser.fields
        last_seq = fields.get("last_seq")
        if isinstance(last_seq, str | int) and not isinstance(last_seq, bool):
            core.since = last_seq
        pending = fields.get("pending")
        core.mark(self.rows, self._last_row_seq, core.since)
        return _Page(
            self.rows,
            self.limit,
            pending if isinstance(pending, int) and not isinstance(pending, bool) else None,
            progressed=core.since != self._started_at,
        )

    def take(self) -> list[_Checked]:
        """The rows read and not yet handed over (and none of them any more)."""
        chunk, self.chunk = self.chunk, []
        self._chunk_chars = self._parser.chars
        return chunk

    def _take(self, parsed: list[Any]) -> bool:
        """Add the rows to the chunk; whether it is to be handed over now."""
        core = self._core
        limit = core.limit
        if limit is not None:
            parsed = parsed[: limit - core.produced]
        converted: list[_Checked] = []
        bad: ValueError | None = None
        for row in parsed:
            try:
                converted.append(_checked(row))
            except ValueError as exc:
                bad = exc  # the rows before it are still delivered
                break
        if converted:
            self.chunk += converted
            self.rows += len(converted)
            core.produced += len(converted)
            self._last_row_seq = _seq_of(converted[-1])
            for item in reversed(converted):
                seq = _seq_of(item)
                if seq is not None:
                    # A row's seq is a valid `since`: if the connection breaks later in
                    # this page, the retry resumes after this row.
                    core.since = seq
                    break
        if bad is not None:
            raise bad
        at_limit = self.at_limit = limit is not None and core.produced >= limit
        return (
            at_limit
            or len(self.chunk) >= _CHUNK_ROWS
            or self._parser.chars - self._chunk_chars >= _CHUNK_CHARS
        )

    def _bad_body(self, exc: _BadBody) -> ApiException:
        status = self._response.status_code
        return ApiException(status, f"Error processing the HTTP response: {exc}", self._response)


# -- the synchronous driver ---------------------------------------------------------------


class ChangesFollower:
    """Follows the changes feed of one database, as the official SDK's follower does.

    ``ChangesFollower(service, db="orders", include_docs=True)`` takes the options of
    ``post_changes`` (``db``, ``include_docs``, ``doc_ids``, ``selector`` with
    ``filter="_selector"``, ``since``, ``limit``, ``seq_interval``, ``style``,
    ``conflicts``, ``attachments``, ``att_encoding_info``, ``fields``, ``view``,
    ``headers``) except ``descending``, ``feed``, ``heartbeat``, ``last_event_id``,
    ``timeout`` and filters other than ``_selector``, which raise ValueError.

    ``error_tolerance`` (milliseconds, or a ``timedelta``; default for ever) is how long
    after the last successful request transient errors (429, 5xx, network failures) are
    still retried; 400, 401, 403 and 404 end the follower at once.

    ``start()`` follows the feed until stopped; ``start_one_off()`` reads it to its end.
    Both return an iterator of ``ChangesResultItem`` (delivery is at least once). A
    follower starts once; ``stop()`` ends it from any thread.
    """

    def __init__(
        self,
        service: CloudantV1,
        *,
        error_tolerance: float | timedelta | None = FOREVER_MS,
        **params: Any,
    ) -> None:
        self._core = _FollowerCore(service, error_tolerance, params, kind="ChangesFollower")
        self._service = service
        self._db = self._core.db
        self._lock = threading.Lock()
        self._started = False
        self._stop_event = threading.Event()
        self._handoff = _Handoff(_BUFFER_CHUNKS)
        self._thread: threading.Thread | None = None
        self._response: requests.Response | None = None

    def __repr__(self) -> str:
        state = "stopped" if self._stop_event.is_set() else "running" if self._started else "new"
        return f"<ChangesFollower db={self._db!r} {state}>"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the public API ----------------------------------------------------------

    def start(self) -> Iterator[ChangesResultItem]:
        """Follow the feed from ``since`` (default ``"now"``) with long polls, until
        ``stop()``, the ``limit``, or an error that ends the follower."""
        return self._start(_Mode.LISTEN)

    def start_one_off(self) -> Iterator[ChangesResultItem]:
        """Read the feed from ``since`` (default ``"0"``, the beginning) to its end."""
        return self._start(_Mode.FINITE)

    def stop(self) -> None:
        """End the follower: iteration stops before the next item is delivered, from any
        thread (including the one iterating). Returns at once; does nothing if the
        follower has ended already."""
        self._stop_event.set()
        self._handoff.close()
        response = self._response
        if response is not None:
            _abort(response)

    def latest_sequence_from(self, checkpoint_seq: Seq) -> Seq:
        """A sequence at least as far on as ``checkpoint_seq`` that is as safe to resume
        from: if ``checkpoint_seq`` is the last row of a page and the pages after it
        brought no rows (a filtered feed with no matches, long polls that timed out),
        the ``last_seq`` of the last such page. Otherwise ``checkpoint_seq`` itself.

        Use it when storing a checkpoint after handling a row, so a restart does not
        re-read changes the filter skipped. Only the most recent pages are remembered.
        """
        return self._core.latest_sequence_from(checkpoint_seq)

    # -- the consumer side ---------------------------------------------------------

    def _start_rows(self, one_off: bool) -> Iterator[list[_Checked]]:
        """Start as ``start_one_off()`` (``one_off``) or ``start()`` do, but hand over
        the chunks of rows whole, as ``_checked`` made them (usual rows as dicts, the
        others as ``ChangesResultItem``): the typed follower's input, which needs no
        item per row. The caller ends the follower by closing the iterator."""
        return self._start(_Mode.FINITE if one_off else _Mode.LISTEN, as_rows=True)

    def _start(self, mode: _Mode, *, as_rows: bool = False) -> Iterator[Any]:
        with self._lock:
            if self._started:
                raise RuntimeError("Cannot start a feed that has already started.")
            self._started = True
            if self._stop_event.is_set():
                return iter([])  # stopped before it was started: nothing to follow
            self._core.begin(mode)
            self._thread = threading.Thread(
                target=self._run, name=f"ChangesFollower({self._db})", daemon=True
            )
            self._thread.start()
        return self._chunks() if as_rows else self._items(self._chunks())

    def _chunks(self) -> Iterator[list[Any]]:
        """The chunks the producer hands over, until the end, an error or stop()."""
        try:
            while True:
                handed = self._handoff.get()
                if isinstance(handed, _Signal):
                    return  # END, or CLOSED by stop()
                if isinstance(handed, BaseException):
                    raise handed
                yield handed
        finally:
            # Also runs when the consumer abandons the iterator (break, close, GC), so
            # the producer never outlives the loop by more than its current request.
            self.stop()

    def _items(self, chunks: Iterator[list[_Checked]]) -> Iterator[ChangesResultItem]:
        stopped = self._stop_event.is_set
        try:
            for chunk in chunks:
                for row in chunk:
                    yield _build_item(row) if isinstance(row, dict) else row
                    if stopped():
                        return  # stop() from inside the loop: deliver nothing more
        finally:
            self.stop()

    # -- the producer thread -----------------------------------------------------

    def _run(self) -> None:
        try:
            self._follow()
        except BaseException as error:
            # Everything reaches the consumer, who raises it from next().
            self._handoff.put(error)
        else:
            self._handoff.put(_Signal.END)

    def _pause(self, seconds: float) -> bool:
        """Wait ``seconds``; True if the follower was stopped meanwhile."""
        return self._stop_event.wait(seconds)

    def _follow(self) -> None:
        core = self._core
        batch_size: int | None = None
        while not self._stop_event.is_set():
            if core.limit_reached:
                return
            try:
                if batch_size is None:
                    batch_size = run(core.batch_size(), self._service)
                page = self._fetch(core.request_limit(batch_size))
            except Exception as error:
                if self._stop_event.is_set():
                    return  # stop() aborted the request: not an error
                delay = core.retry_delay(error)
                if delay is None:
                    raise
                if self._pause(delay):
                    return
                continue
            if core.ended(page):
                return

    def _fetch(self, limit: int) -> _Page | None:
        """One request: stream its rows to the consumer; None if stopped meanwhile."""
        response: requests.Response = run(self._core.changes(limit), self._service).get_result()
        self._response = response
        reader = _PageReader(self._core, limit, response)
        stopped = self._stop_event.is_set
        put = self._handoff.put
        try:
            if stopped():
                return None  # stop() ran before it could see this response
            for data in response.iter_content(_READ_SIZE):
                handed = reader.feed(data)
                if handed is not None and not put(handed):
                    return None
                if reader.at_limit:
                    return reader.finish()
                if stopped():
                    return None
            reader.end()
            if stopped():
                return None
            page = reader.finish()
            handed = reader.take()
            if handed and not put(handed):
                return None
            return page
        finally:
            self._response = None
            response.close()
            broken_off = reader.take()
            if broken_off and not stopped():
                # The page broke off: the rows read so far are good, and `since` has
                # moved past them, so they must still be delivered.
                put(broken_off)

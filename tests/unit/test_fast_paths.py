"""The hot paths made faster for the benchmarks (benchmarks/run.py) keep their meaning:
uuid4 ids without UUID objects, the optional orjson backend with the standard library
taking over where the two differ, snapshots of loaded documents made lazily, and a short
Decimal stored without writing out its double."""

from __future__ import annotations

import gc
import json
import math
import os
import re
import uuid
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from cloudant_odm import Document, ObjectState, Session, field
from cloudant_odm.client import CloudantV1, NoAuthAuthenticator, follower
from cloudant_odm.client import encoding as _json
from cloudant_odm.client.encoding import is_subnormal
from cloudant_odm.client.models import ChangesResultItem
from cloudant_odm.models import from_json, ids
from cloudant_odm.models.checks import MAX_EXACT_INT, decimal_as_number
from cloudant_odm.models.ids import random_key
from cloudant_odm.query.loading import load


class Reading(Document, doc_type="fast_reading"):
    label: str
    value: float = 0.0
    tags: list[str] = field(factory=list)
    note: str | None = None


@pytest.fixture
def session() -> Session:
    client = CloudantV1(NoAuthAuthenticator())
    client.set_service_url("http://couch.test")  # never reached: nothing is sent here
    return Session(client, db="db")


@pytest.fixture(params=["orjson", "stdlib"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "orjson":
        orjson = pytest.importorskip("orjson")
        monkeypatch.setattr(_json, "_orjson", orjson)
        monkeypatch.setattr(
            _json,
            "_OPTIONS",
            orjson.OPT_SORT_KEYS
            | orjson.OPT_PASSTHROUGH_DATETIME
            | orjson.OPT_PASSTHROUGH_DATACLASS
            | orjson.OPT_PASSTHROUGH_SUBCLASS,
        )
    else:
        monkeypatch.setattr(_json, "_orjson", None)
    return str(request.param)


def test_random_key_is_a_uuid4_hex() -> None:
    keys = {random_key() for _ in range(2000)}
    assert len(keys) == 2000
    for key in list(keys)[:200]:
        assert re.fullmatch(r"[0-9a-f]{32}", key)
        parsed = uuid.UUID(key)
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
    for key in list(keys)[:200]:
        assert uuid.UUID(key).version == 4  # every key of every batch, not only the first
    assert all(uuid.UUID(k).variant == uuid.RFC_4122 for k in keys)


def test_random_keys_from_threads_are_all_distinct() -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        batches = list(pool.map(lambda _: [random_key() for _ in range(700)], range(8)))
    keys = [k for batch in batches for k in batch]
    assert len(set(keys)) == len(keys) == 5600


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_forked_child_never_reuses_the_parents_keys() -> None:
    random_key()  # the parent now holds keys made ahead
    ahead = list(ids._keys)
    assert ahead
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: send its next keys and leave at once
        os.close(read)
        os.write(write, ",".join(random_key() for _ in range(50)).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child_keys = pipe.read().split(",")
    os.waitpid(pid, 0)
    assert len(child_keys) == 50
    assert not set(child_keys) & set(ahead)


VALUES: list[Any] = [
    {"b": 1, "a": [1.5, None, True, 'é\u2028\n"x"'], "c": {"z": {}, "y": []}},
    {"big": 2**70, "neg": -(2**65), "f": 1e16, "small": 5e-324},
    {"nested": [[[{"k": None}]]], "uni": "\U0001f600", "ctrl": "\x00\x1f"},
]


@pytest.mark.parametrize("value", VALUES)
def test_canonical_json_has_the_values_of_the_stdlib_encoding(backend: str, value: Any) -> None:
    encoded = _json.canonical(value)
    expected = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert json.loads(encoded) == json.loads(expected)
    assert list(json.loads(encoded)) == sorted(value)  # sorted keys
    if backend == "stdlib":
        assert encoded == expected.encode()


class Label(str):
    pass


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_canonical_json_refuses_nan_and_infinities(backend: str, bad: float) -> None:
    with pytest.raises(ValueError, match="not JSON compliant"):
        _json.canonical({"ok": None, "value": [1, bad]})


def test_canonical_json_writes_subclasses_as_their_base_and_refuses_other_types(
    backend: str,
) -> None:
    assert json.loads(_json.canonical({"k": Label("v")})) == {"k": "v"}
    with pytest.raises(TypeError):
        _json.canonical({"k": object()})
    assert json.loads(_json.canonical({3: "int key"})) == {"3": "int key"}


def _load(session: Session, data: dict[str, Any]) -> Reading:
    return session.load_json(Reading, "db", data)


def test_a_loaded_document_is_not_dirty_though_its_stored_json_differs(session: Session) -> None:
    # Stored as another program wrote it: 45 for the float 45.0, no tags, no note.
    data = {"_id": "r1", "_rev": "1-a", "type": "fast_reading", "label": "x", "value": 45}
    obj = _load(session, data)
    assert session.state_of(obj) is ObjectState.PERSISTENT
    assert not session.is_modified(obj)
    assert session.dirty == []
    assert session._plan(session._entry(obj)) is None  # nothing to write


def test_the_snapshot_of_a_loaded_document_is_its_state_when_read(session: Session) -> None:
    data = {"_id": "r2", "_rev": "1-a", "type": "fast_reading", "label": "x", "tags": ["a"]}
    obj = _load(session, data)
    data["tags"].append("changed-after-load")  # the caller's dict is not the snapshot
    data["label"] = "changed-after-load"
    assert not session.is_modified(obj)
    obj.tags.append("b")  # a nested change in place
    assert session.is_modified(obj)
    assert session.dirty == [obj]


def test_rollback_restores_a_lazily_snapshotted_document(session: Session) -> None:
    data = {"_id": "r3", "_rev": "1-a", "type": "fast_reading", "label": "x", "tags": ["a"]}
    obj = _load(session, data)
    obj.label = "y"
    obj.tags.append("b")
    session.rollback()
    assert obj == from_json(data, Reading)
    assert obj.rev == "1-a"
    assert not session.is_modified(obj)


def test_reloading_a_clean_document_takes_the_new_state_lazily(session: Session) -> None:
    first = {"_id": "r4", "_rev": "1-a", "type": "fast_reading", "label": "x"}
    obj = _load(session, first)
    second = {"_id": "r4", "_rev": "2-b", "type": "fast_reading", "label": "z", "value": 1.5}
    assert _load(session, second) is obj
    assert (obj.label, obj.value, obj.rev) == ("z", 1.5, "2-b")
    assert not session.is_modified(obj)
    obj.value = 2.5
    assert session.is_modified(obj)


def test_a_tracked_query_load_keeps_no_link_to_the_page_s_dict(session: Session) -> None:
    # The query path passes a page's dicts as they are (no copy): the snapshot is still
    # the state when read, and any other mapping is copied into a dict first.
    data = {"_id": "r5", "_rev": "1-a", "type": "fast_reading", "label": "x", "tags": ["a"]}
    obj = load(Reading, session, "db", data, True)
    data["tags"].append("changed-after-load")
    data["label"] = "changed-after-load"
    assert (obj.label, obj.tags) == ("x", ["a"])
    assert not session.is_modified(obj)
    other = MappingProxyType({"_id": "r6", "_rev": "1-a", "type": "fast_reading", "label": "y"})
    assert not session.is_modified(load(Reading, session, "db", other, True))
    obj.tags.append("b")
    assert session.dirty == [obj]


def test_the_snapshot_of_a_loaded_document_is_not_left_to_the_garbage_collector(
    session: Session,
) -> None:
    # A tracked read keeps one snapshot per document: it must be nothing the collector
    # walks (bytes in a tuple, which a collection stops tracking), and stay exact.
    data = {"_id": "r7", "_rev": "1-a", "type": "fast_reading", "label": "x", "tags": ["a"]}
    obj = _load(session, data)
    gc.collect()
    assert not gc.is_tracked(session._entry(obj).snapshot)
    assert not session.is_modified(obj)
    obj.tags[0] = "b"
    assert session.is_modified(obj)


# -- changes rows ------------------------------------------------------------------------

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)
_changes = st.lists(
    st.one_of(
        st.fixed_dictionaries({"rev": st.text(min_size=1, max_size=8)}),
        st.dictionaries(st.sampled_from(["rev", "x"]), _json_values, max_size=2),
        _json_values,
    ),
    max_size=3,
)
_rows = st.dictionaries(
    st.sampled_from(["changes", "id", "seq", "deleted", "doc", "other"]),
    st.one_of(_changes, _json_values),
    max_size=6,
)


def _outcome(decode: Any, row: Any) -> Any:
    try:
        return decode(row)
    except ValueError as exc:
        return ("ValueError", str(exc))


@given(_rows)
@settings(max_examples=400, deadline=None)
def test_changes_rows_decode_as_the_generic_from_dict_does(row: dict[str, Any]) -> None:
    def generic(value: Any) -> ChangesResultItem:
        return ChangesResultItem.from_dict(value)

    fast = _outcome(follower._to_item, row)
    slow = _outcome(generic, row)
    if isinstance(slow, tuple):  # the follower words its errors itself
        assert isinstance(fast, tuple), (row, fast)
    else:
        assert fast == slow
        assert fast.changes == slow.changes
        assert fast._extra == slow._extra


def test_a_usual_changes_row_is_built_directly() -> None:
    row = {"seq": "3-x", "id": "a", "changes": [{"rev": "1-b"}], "doc": {"_id": "a"}}
    item = follower._usual_item(row)
    assert item == ChangesResultItem.from_dict(row)
    assert item is not None
    assert item.changes[0].rev == "1-b"
    assert item.doc == {"_id": "a"}
    assert follower._usual_item({**row, "other": 1}) is None  # kept in _extra by from_dict
    assert follower._usual_item({**row, "changes": [{"rev": "1-b", "x": 1}]}) is None


@given(_rows)
@settings(max_examples=400, deadline=None)
def test_changes_rows_are_handed_over_as_dicts_that_make_the_same_items(
    row: dict[str, Any],
) -> None:
    # The producer hands usual rows over as they are (the consumer builds their items,
    # the typed follower needs none): the same rows are refused, and the others make
    # the item the row would.
    item = _outcome(follower._to_item, row)
    handed = _outcome(follower._checked, row)
    if isinstance(item, tuple):
        assert handed == item
    elif isinstance(handed, dict):
        assert handed is row
        assert follower._build_item(handed) == item
        assert ChangesResultItem.from_dict(handed) == item  # what the typed follower reads
    else:
        assert handed == item
        assert ChangesResultItem.from_dict(handed.to_dict()) == item


def test_only_usual_changes_rows_are_handed_over_as_dicts() -> None:
    row = {"seq": None, "id": "a", "changes": [{"rev": "1-b"}], "deleted": True}
    assert follower._checked(row) is row
    unusual = follower._checked({**row, "other": 1})
    assert isinstance(unusual, ChangesResultItem)
    assert unusual._extra == {"other": 1}


def _stored_number_by_its_shortest_form(value: Decimal) -> int | float | None:
    """decimal_as_number as it was before its fast path for short decimals: the double
    is kept when its shortest form has the Decimal's value."""
    try:
        number = float(value)
    except ValueError:
        return None
    if number.is_integer() and -MAX_EXACT_INT <= number <= MAX_EXACT_INT:
        return int(number) if number == value else None
    if not math.isfinite(number) or is_subnormal(number):
        return None
    shortest = repr(number)
    return number if Decimal(shortest) == value else None


_DECIMALS = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True),
    st.decimals(places=2, allow_nan=False, allow_infinity=False),
    st.floats(allow_nan=False, allow_infinity=False).map(lambda f: Decimal(repr(f))),
    st.floats().map(Decimal),  # a double's exact value: often more than 17 digits
    st.tuples(st.integers(-(10**17), 10**17), st.integers(-330, 310)).map(
        lambda t: Decimal(t[0]).scaleb(t[1])
    ),
)


@settings(max_examples=2000)
@given(_DECIMALS)
# At the edge: 16 and 17 digits (no double holds them all), 15 digits, and a 16-digit
# integer past 2**53.
@example(Decimal("9999999999999999"))
@example(Decimal("0.3000000000000001"))
@example(Decimal("-9007199254740993"))
@example(Decimal("12345678901234.5"))
@example(Decimal("1.00000000000001"))
def test_a_short_decimal_is_stored_as_its_shortest_double_would_store_it(value: Decimal) -> None:
    # The fast path (at most 15 characters: at most 15 digits, so the nearest double's
    # shortest form has the same value) never answers otherwise than the comparison.
    found, expected = decimal_as_number(value), _stored_number_by_its_shortest_form(value)
    assert (type(found), found) == (type(expected), expected)

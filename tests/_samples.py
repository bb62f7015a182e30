"""Sample document classes covering every kind of declared field type, and hypothesis
strategies for them, shared by the converter's property tests (tests/unit) and the
server round-trip property tests (tests/integration)."""

import string
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from enum import Enum
from typing import Any, Literal
from uuid import UUID

import attrs
from hypothesis import strategies as st

from cloudant_odm.models import Document, Embedded, field


class Mood(Enum):
    CALM = "calm"
    LOUD = "loud"


class Size(str, Enum):
    S = "s"
    M = "m"


@attrs.define
class Point:
    x: float
    y: float
    label: str | None = None


class Note(Embedded):
    text: str
    at: datetime
    points: list[Point] = field(factory=list)


class Sample(Document, doc_type="prop-sample"):
    name: str
    count: int
    ratio: float
    flag: bool
    amount: Decimal
    maybe_amount: Decimal | None
    moment: datetime
    day: date
    clock: time
    ident: UUID
    blob: bytes
    mood: Mood
    size: Size
    grade: Literal["a", "b", 1]
    tags: list[str]
    counts: dict[str, int]
    by_number: dict[int, str]
    series: tuple[float, ...]
    pair: tuple[str, int]
    labels: set[str]
    numbers: frozenset[int]
    where: Point | None
    notes: list[Note]
    renamed: str = field(default="", key="renamedKey")


class Special(Sample, doc_type="prop-special"):
    level: int = 0


KNOWN_KEYS = {"_id", "_rev", "type", *Sample._options.keys.values(), "level"}

offsets = st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
# Within a day of the ends of datetime's range, an offset can't be moved to UTC (the
# form they are stored in): such values are refused on save.
aware_datetimes = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=offsets
)
# Subnormal floats are refused on save: JSON readers disagree on them.
finite_floats = st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=False)
# Integers every JSON reader holds exactly (larger ones are refused on save).
exact_ints = st.integers(min_value=-(2**53 - 1), max_value=2**53 - 1)
# Decimals a JSON number stores exactly: every double's shortest form, money, integers.
decimals = (
    finite_floats.map(lambda f: Decimal(repr(f)))
    | st.decimals(places=2, min_value=-(10**12), max_value=10**12)
    | exact_ints.map(Decimal)
)

json_scalars = st.none() | st.booleans() | exact_ints | finite_floats | st.text()
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)


def extra_keys(known: set[str]) -> st.SearchStrategy[str]:
    # Top-level keys starting with '_' belong to CouchDB.
    return st.text(min_size=1, max_size=8).filter(
        lambda k: not k.startswith("_") and k not in known
    )


points = st.builds(Point, x=finite_floats, y=finite_floats, label=st.none() | st.text())
notes = st.builds(
    Note,
    text=st.text(),
    at=aware_datetimes,
    points=st.lists(points, max_size=2),
    extra=st.dictionaries(extra_keys({"text", "at", "points"}), json_values, max_size=2),
)


def documents(cls: type[Sample]) -> st.SearchStrategy[Sample]:
    fields: dict[str, Any] = {
        "id": st.none() | st.text(alphabet=string.ascii_letters + string.digits + ":-", min_size=1),
        "rev": st.none() | st.from_regex(r"[1-9][0-9]*-[0-9a-f]{32}", fullmatch=True),
        "extra": st.dictionaries(extra_keys(KNOWN_KEYS), json_values, max_size=4),
        "name": st.text(),
        "count": exact_ints,
        "ratio": finite_floats,
        "flag": st.booleans(),
        "amount": decimals,
        "maybe_amount": st.none() | decimals,
        "moment": aware_datetimes,
        "day": st.dates(),
        "clock": st.times(timezones=st.none() | offsets),
        "ident": st.uuids(),
        "blob": st.binary(),
        "mood": st.sampled_from(Mood),
        "size": st.sampled_from(Size),
        "grade": st.sampled_from(["a", "b", 1]),
        "tags": st.lists(st.text()),
        "counts": st.dictionaries(st.text(), exact_ints),
        "by_number": st.dictionaries(exact_ints, st.text(), max_size=3),
        "series": st.lists(finite_floats, max_size=4).map(tuple),
        "pair": st.tuples(st.text(), exact_ints),
        "labels": st.sets(st.text(), max_size=4),
        "numbers": st.frozensets(exact_ints, max_size=4),
        "where": st.none() | points,
        "notes": st.lists(notes, max_size=2),
        "renamed": st.text(),
    }
    if cls is Special:
        fields["level"] = exact_ints
    return st.builds(cls, **fields)


samples = documents(Sample) | documents(Special)


# Values of every kind, most of them wrong for any one field: for the property that a
# value is either refused before anything is sent, or stored and read back unchanged.
any_values: st.SearchStrategy[Any] = st.one_of(
    json_values,
    st.integers(),
    st.floats(),
    st.decimals(),
    aware_datetimes,
    st.datetimes(),
    st.dates(),
    st.times(),
    st.uuids(),
    st.binary(max_size=4),
    st.sampled_from(list(Mood)),
    st.sampled_from(list(Size)),
    st.sets(st.text(max_size=3), max_size=3),
    st.tuples(st.text(max_size=3), exact_ints),
    st.lists(st.integers(), max_size=3).map(tuple),
    points,
    notes,
)

#: The declared fields of Sample a test may set to any value.
SAMPLE_FIELDS = [
    a.name for a in attrs.fields(Sample) if a.name not in ("id", "rev", "extra", "meta")
]

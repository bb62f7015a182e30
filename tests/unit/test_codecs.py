"""The compiled codecs (models/codecs.py) are shortcuts: on any value, what they give is
what the general path (to_json + canonical encoding, cattrs' loader) gives, or they
step aside and the general path answers (or refuses) as before."""

from __future__ import annotations

import json
import math
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, get_args, get_origin

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudant_odm import Document, DocumentValidationError, Embedded, field, migration
from cloudant_odm._typing import strip_optional
from cloudant_odm.client import encoding as _json
from cloudant_odm.models import codecs, conversion, from_json, register_type, to_json
from cloudant_odm.models.codecs import compile_encoder, compile_loader
from cloudant_odm.models.conversion import canonical_document


class Place(Embedded):
    city: str
    code: int | None = None


@attrs.define
class Point:
    x: float
    y: float


@attrs.define
class Tag:
    """A plain attrs class with a renamed key and Decimal storage options."""

    label: str = field(key="Label")
    rate: Decimal = field(places=2, default=Decimal(0))
    exact: Decimal | None = field(key="x", as_string=True, default=None)


class Stamp(Embedded):
    at: datetime
    amount: Decimal | None = None
    labels: list[str] = field(factory=list)


# Subclasses: the general path refuses some and writes others; the compiled code steps aside.
class SubDecimal(Decimal):
    pass


class SubDateTime(datetime):
    pass


@attrs.define
class SubPoint(Point):
    pass


class SubStamp(Stamp):
    pass


def _classes(suffix: str) -> tuple[type[Document], ...]:
    """Document classes of the common field kinds: one plain, one with renamed keys, a
    schema version and defaults, one with fields of other types (through the converter's
    hooks); named apart per use, so each gets its own hooks."""

    class Plain(Document, doc_type=f"codec_plain{suffix}"):
        name: str
        n: int
        price: float
        active: bool
        tags: list[str]
        scores: list[int]
        ratios: list[float]
        flags: list[bool]

    class Shaped(Document, doc_type=f"codec_shaped{suffix}", schema_version=2):
        @migration(1)
        @staticmethod
        def add_title(doc: dict[str, Any]) -> dict[str, Any]:
            return {"Title": "", **doc}

        title: str = field(key="Title")  # sorts before "_id"
        count: int | None = None
        weight: float | None = field(default=None, key="zz%s")
        note: str | None = None
        labels: list[str] = field(factory=list)
        done: bool = False

    class Mixed(Document, doc_type=f"codec_mixed{suffix}"):
        when: datetime
        total: Decimal = field(places=2)
        ratio: Decimal | None = None
        place: Place | None = None
        points: list[Point] = field(factory=list)
        name: str = ""
        day: date | None = None

    class Deep(Document, doc_type=f"codec_deep{suffix}"):
        price: Decimal
        text_price: Decimal = field(as_string=True, places=3, default=Decimal(0))
        seen: datetime | None = None
        at: Point | None = None
        stamp: Stamp | None = None
        tag: Tag | None = None
        stamps: Stamp = field(factory=lambda: Stamp(at=datetime(2026, 1, 1, tzinfo=timezone.utc)))

    classes = (Plain, Shaped, Mixed, Deep)
    for cls in classes:
        attrs.resolve_types(cls)  # (annotations are strings in this module)
    return classes


@pytest.fixture(autouse=True)
def stdlib_json(monkeypatch: pytest.MonkeyPatch) -> None:
    # The general path's bytes are compared with the compiled ones: both the stdlib's.
    monkeypatch.setattr(_json, "_orjson", None)


@pytest.fixture(scope="module")
def compiled() -> tuple[type[Document], ...]:
    return _classes("")


@pytest.fixture(scope="module")
def general() -> tuple[type[Document], ...]:
    """The same classes with no compiled loader (defined and first loaded without)."""
    patch = pytest.MonkeyPatch()
    patch.setattr(conversion, "compile_loader", lambda cls, hooks: None)
    try:
        classes = _classes("_general")
        for cls in classes:
            conversion.converter.get_structure_hook(cls)
    finally:
        patch.undo()
    return classes


_GENERAL_HOOKS: dict[type, Any] = {}


def _general_json(doc: Document) -> dict[str, Any]:
    """What to_json gives by the general path (a hook made without compiled code)."""
    cls = type(doc)
    if cls not in _GENERAL_HOOKS:
        patch = pytest.MonkeyPatch()
        patch.setattr(conversion, "compile_dumper", lambda cls, hooks: None)
        patch.setattr(conversion, "compile_encoder", lambda cls, hooks: None)
        try:
            _GENERAL_HOOKS[cls] = conversion._document_unstructure_hook(cls)
        finally:
            patch.undo()
    out: dict[str, Any] = _GENERAL_HOOKS[cls](doc)
    return out


def _general_bytes(doc: Document) -> tuple[bytes, str | None]:
    return conversion.body_bytes(doc, _general_json(doc))


# Values for any field: right ones, wrong ones and the edge cases of each type.
texts = st.text() | st.sampled_from(['"', "\\", "%s", "é\u2028", "\x00", "\ud800"])
numbers = (
    st.integers(min_value=-(2**60), max_value=2**60)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([2**53 - 1, 2**53, -(2**53) + 1, 5e-324, 1e300, 1e-300, -0.0, 1e16])
    # Beyond 2**53: a double holds some exactly (10**19, 2**70), rounds others, overflows.
    | st.sampled_from([2**53 + 1, 10**19, 12345678901234567890, -(2**70), 10**400])
)
scalars = texts | numbers | st.booleans() | st.none()
values = scalars | st.lists(scalars, max_size=4) | st.tuples(st.text()) | st.just({"k": 1})
finite = st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=False, width=32)
utc_datetimes = st.datetimes(timezones=st.just(timezone.utc))
offsets = st.sampled_from(
    [
        timezone(timedelta(hours=2)),
        timezone(timedelta(hours=-5, minutes=-30)),
        timezone(timedelta(0), "UTC"),
    ]
)
# Right values of each type (the compiled path takes them), and wrong ones near it.
_RIGHT: dict[Any, st.SearchStrategy[Any]] = {
    datetime: utc_datetimes,
    Stamp: st.builds(
        Stamp,
        at=utc_datetimes,
        amount=st.none() | st.decimals(places=2, min_value=-(10**6), max_value=10**6),
        labels=st.lists(st.text(), max_size=2),
    ),
    date: st.dates(),
    Decimal: st.decimals(places=2, min_value=-(10**6), max_value=10**6),
    Place: st.builds(Place, city=st.text(), code=st.none() | st.integers(-(2**53), 2**53)),
    Point: st.builds(Point, x=finite, y=finite),
    Tag: st.builds(
        Tag,
        label=st.text(),
        rate=st.decimals(places=2, min_value=-(10**6), max_value=10**6),
        exact=st.none() | st.decimals(allow_nan=False, allow_infinity=False),
    ),
    str: st.text(),
    int: st.integers(-(2**53) + 1, 2**53 - 1),
    float: finite,
    bool: st.booleans(),
}
_NEAR: dict[Any, st.SearchStrategy[Any]] = {
    # Naive, another offset (or a UTC that is not timezone.utc), a subclass, text.
    datetime: st.datetimes()
    | st.datetimes(timezones=offsets)
    | st.builds(SubDateTime.fromisoformat, st.just("2026-12-05T10:00:00+00:00"))
    | texts,
    date: st.just("2026-12-05") | st.datetimes(),
    # Any Decimal (NaN, sNaN, infinities, many digits), 17 significant digits, a subclass.
    Decimal: st.decimals()
    | st.decimals(places=3)
    | st.sampled_from(
        [Decimal("0.12345678901234567"), Decimal("1e400"), SubDecimal("1.5"), Decimal("-0")]
    )
    | st.just("1.5")
    | numbers,
    Place: st.builds(Place, city=texts, code=numbers)
    | st.builds(Place, city=st.just("x"), extra=st.just({"k": 1}))
    | st.just({"city": "x"}),
    Point: st.builds(Point, x=numbers, y=numbers)
    | st.builds(SubPoint, x=st.just(1.0), y=st.just(2.0))
    | st.just({"x": 1.0, "y": 2.0}),
    Tag: st.builds(Tag, label=texts, rate=st.decimals(), exact=st.decimals() | numbers)
    | st.just({"Label": "x"}),
    Stamp: st.builds(
        Stamp, at=st.datetimes() | st.datetimes(timezones=offsets), amount=st.decimals()
    )
    | st.builds(SubStamp, at=utc_datetimes)
    | st.builds(Stamp, at=utc_datetimes, labels=st.just(["a", 1]))
    | st.just({"at": "2026-12-05T10:00:00+00:00"}),
    str: texts,
    int: numbers | st.sampled_from([2**53, -(2**53), True, 2.0]),
    float: numbers | st.sampled_from([5e-324, 1e-300, 1e300, 1e16, 3, False]),
    bool: st.sampled_from([0, 1, None]),
}


def _of_type(tp: Any, table: dict[Any, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """Values for a field of type ``tp``, from ``table`` (_RIGHT or _NEAR)."""
    bare = strip_optional(tp)
    if bare is not tp:  # X | None
        return st.none() | _of_type(bare, table)
    if get_origin(tp) is list:
        return st.lists(_of_type(get_args(tp)[0], table), max_size=4)
    return table[tp]


def _field_value(data: st.DataObject, attribute: attrs.Attribute[Any]) -> Any:
    # Mostly a right value (so the compiled path is taken), sometimes a near miss or any.
    kind = data.draw(st.sampled_from(["right"] * 14 + ["near", "any"]), label="value")
    if kind == "any":
        return data.draw(values, label=attribute.name)
    table = _RIGHT if kind == "right" else _NEAR
    return data.draw(_of_type(attribute.type, table), label=attribute.name)


# Decoded JSON that another writer may have stored, near what the loader takes.
_JSON_NEAR: dict[Any, st.SearchStrategy[Any]] = {
    datetime: st.sampled_from(
        [
            "2026-12-05T10:00:00",  # naive
            "2026-12-05T10:00:00Z",
            "2026-12-05T10:00:00.5+02:00",
            "2026-12-05",
            "2026-13-05T10:00:00+00:00",
        ]
    ),
    Decimal: st.sampled_from(
        ["NaN", "sNaN", "-Infinity", "1e400", "0.12345678901234567", " 1.5", "1_0", "1.2345"]
    )
    | numbers,
    Place: st.just({"city": "x", "other": 1}) | st.just({"code": 1}),
    Point: st.just({"x": 1, "y": 2.5}) | st.just({"x": 1.0, "y": 2.0, "z": 0.0}),
    # By attribute name, not key; more places than kept; a number for a text Decimal.
    Tag: st.just({"label": "x"})
    | st.just({"Label": "x", "rate": "1.234"})
    | st.just({"Label": "x", "x": 1.5, "rate": 2}),
    Stamp: st.just({"at": "2026-12-05T10:00:00+00:00", "amount": "1.5", "more": 1})
    | st.just({"at": "2026-12-05T10:00:00", "labels": ["a"]})
    | st.just({"amount": 1}),
}


def _as_json(value: Any, tp: Any) -> Any:
    """``value`` as the general path writes it, when it can be written."""
    try:
        return conversion.converter.unstructure(value, tp)
    except Exception:
        return value


def _json_value(data: st.DataObject, attribute: attrs.Attribute[Any]) -> Any:
    """A decoded JSON value for the field: mostly a right one (the compiled loader takes
    it), sometimes a near miss or any value."""
    kind = data.draw(st.sampled_from(["right"] * 12 + ["near", "json", "any"]), label="value")
    if kind == "any":
        return data.draw(values, label=attribute.name)
    bare = strip_optional(attribute.type)
    if kind == "json" and bare in _JSON_NEAR:
        return data.draw(_JSON_NEAR[bare], label=attribute.name)
    table = _NEAR if kind == "near" else _RIGHT
    return _as_json(
        data.draw(_of_type(attribute.type, table), label=attribute.name), attribute.type
    )


def _build(cls: type[Document], data: dict[str, Any]) -> Document:
    """An object of ``cls`` holding ``data``'s values whatever their types (as code
    assigning attributes can leave it)."""
    obj = cls.__new__(cls)
    for attribute in attrs.fields(cls):
        default: Any = attribute.default
        value = data.get(attribute.name, attrs.NOTHING)
        if value is attrs.NOTHING:
            value = default.factory() if isinstance(default, attrs.Factory) else default  # type: ignore[arg-type]
        obj.__dict__[attribute.name] = value
    return obj


def _outcome(make: Any) -> Any:
    try:
        return ("ok", make())
    except (DocumentValidationError, ValueError, TypeError) as exc:
        return ("error", type(exc).__name__)


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_the_encoder_writes_what_the_general_path_writes(
    compiled: tuple[type[Document], ...], data: st.DataObject
) -> None:
    cls = data.draw(st.sampled_from(compiled))
    fields = {
        a.name: _field_value(data, a)
        for a in attrs.fields(cls)
        if a.name not in ("id", "rev", "extra", "meta")
    }
    fields["id"] = data.draw(st.none() | st.text(min_size=1) | st.integers(), label="id")
    fields["rev"] = data.draw(st.none() | st.just("1-a") | st.integers(), label="rev")
    if data.draw(st.booleans(), label="with extra"):
        fields["extra"] = {"zextra": data.draw(scalars, label="extra value")}
    obj = _build(cls, fields)
    assert _outcome(lambda: canonical_document(obj)) == _outcome(lambda: _general_bytes(obj))
    # to_json's dict too, with its members in the same order.
    dumped = _outcome(lambda: list(to_json(obj).items()))
    assert dumped == _outcome(lambda: list(_general_json(obj).items()))


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_the_loader_gives_the_object_the_general_loader_gives(
    compiled: tuple[type[Document], ...],
    general: tuple[type[Document], ...],
    data: st.DataObject,
) -> None:
    index = data.draw(st.sampled_from(range(len(compiled))))
    fast_cls, slow_cls = compiled[index], general[index]
    doc: dict[str, Any] = {}
    for attribute in attrs.fields(fast_cls):
        if attribute.name in ("id", "rev", "extra", "meta"):
            continue
        if data.draw(st.integers(0, 9), label=f"has {attribute.name}"):  # mostly present
            key = fast_cls._options.keys.get(attribute.name, attribute.name)
            doc[key] = _json_value(data, attribute)
    if data.draw(st.booleans(), label="has _id"):
        doc["_id"] = data.draw(st.text() | st.integers(), label="_id")
    if data.draw(st.booleans(), label="has _rev"):
        doc["_rev"] = data.draw(st.just("1-a") | st.none() | st.integers(), label="_rev")
    if data.draw(st.booleans(), label="unknown key"):
        doc["other"] = data.draw(values, label="other")

    def load(cls: type[Document]) -> Any:
        options = cls._options
        body = {**doc, options.type_field: options.doc_type}
        if options.schema_version is not None:
            body[options.schema_version_key] = options.schema_version
        obj = from_json(body, cls)
        # No list is the page's own: changing one in place must show as a change.
        given_lists = [id(v) for v in body.values() if isinstance(v, list)]
        assert not [v for v in vars(obj).values() if id(v) in given_lists]
        # Equal values of the same types, in the same order (1 == 1.0 == True).
        return [(k, type(v), v) for k, v in vars(obj).items()]

    assert _outcome(lambda: load(fast_cls)) == _outcome(lambda: load(slow_cls))


def test_the_compiled_codecs_handle_the_common_classes(
    compiled: tuple[type[Document], ...],
) -> None:
    # Not vacuous: the property tests above compare something compiled.
    for cls in compiled:
        hooks = conversion._field_hooks(cls, conversion._renames(cls))
        assert compile_encoder(cls, hooks) is not None
        assert compile_loader(cls, hooks) is not None


def test_a_class_whose_hooks_read_its_options_keeps_the_general_path() -> None:
    class Lenient(Document, doc_type="codec_lenient"):
        class Meta:
            allow_naive_datetime = True

        when: datetime
        name: str = ""

    conversion.converter.get_structure_hook(Lenient)
    hooks = conversion._field_hooks(Lenient, {})
    assert hooks is None  # the datetime hook reads the class's option from the context
    assert compile_encoder(Lenient, hooks) is None
    naive = Lenient(id="l", when=datetime(2026, 12, 5, 8, 30))
    assert json.loads(canonical_document(naive)[0])["when"].startswith("2026-12-05T08:30:00")


def test_a_validator_or_converter_is_run_on_load() -> None:
    class Checked(Document, doc_type="codec_checked"):
        n: int = field(validator=attrs.validators.ge(0))
        name: str = attrs.field(default="", converter=str.strip)

    loaded = from_json({"type": "codec_checked", "n": 1, "name": " a "}, Checked)
    assert loaded.name == "a"  # the converter ran
    with pytest.raises(DocumentValidationError, match="n"):
        from_json({"type": "codec_checked", "n": -1}, Checked)


def test_an_encoded_document_is_the_request_body_and_the_snapshot(
    compiled: tuple[type[Document], ...],
) -> None:
    shaped = compiled[1]
    obj = shaped(id="s1", rev="3-x", title="t%", weight=math.pi, labels=["b", "a"])
    core, rev = canonical_document(obj)
    assert rev == "3-x"
    assert json.loads(core) == {
        "_id": "s1",
        "Title": "t%",
        "count": None,
        "done": False,
        "labels": ["b", "a"],
        "note": None,
        "schema_version": 2,
        "type": shaped._options.doc_type,
        "zz%s": math.pi,
    }
    assert list(json.loads(core)) == sorted(json.loads(core))


@pytest.mark.parametrize(
    ("field_name", "value"),
    [
        ("place", Place(city=5)),  # type: ignore[arg-type]
        ("points", [Point(x=1.0, y=math.nan)]),
        ("total", Decimal("1.234")),  # more places than the field keeps
        ("when", datetime(2026, 12, 5)),  # naive
    ],
)
def test_a_wrong_value_in_a_field_through_hooks_is_refused_by_name(
    compiled: tuple[type[Document], ...], field_name: str, value: Any
) -> None:
    mixed = compiled[2]
    good = {"when": datetime(2026, 12, 5, tzinfo=timezone.utc), "total": Decimal("1.5")}
    obj = _build(mixed, {**good, "id": "m1", field_name: value})
    assert canonical_document(_build(mixed, {**good, "id": "m1"}))  # the others are right
    for write in (to_json, canonical_document):
        with pytest.raises(DocumentValidationError, match=field_name):
            write(obj)


class Marker(Document, doc_type="codec_marker"):
    pass


def test_a_class_without_fields_is_written_and_read() -> None:
    marker = Marker(id="m1", extra={"note": "kept"})
    assert to_json(marker) == {"_id": "m1", "type": "codec_marker", "note": "kept"}
    assert canonical_document(Marker(id="m2")) == (b'{"_id":"m2","type":"codec_marker"}', None)
    assert canonical_document(Marker()) == (b'{"type":"codec_marker"}', None)
    assert from_json({"_id": "m1", "type": "codec_marker"}, Marker) == Marker(id="m1")


class Celsius(float):
    pass


class Reading(Document, doc_type="codec_reading"):
    temp: Celsius


def test_a_hook_registered_after_the_first_write_is_used_for_writing_too() -> None:
    register_type(Celsius, dump=float, load=Celsius)
    reading = Reading(id="r1", temp=Celsius(21.5))
    assert to_json(reading)["temp"] == 21.5
    assert json.loads(canonical_document(reading)[0])["temp"] == 21.5
    register_type(Celsius, dump=lambda c: {"c": float(c)}, load=lambda v: Celsius(v["c"]))
    assert to_json(reading)["temp"] == {"c": 21.5}
    assert json.loads(canonical_document(reading)[0])["temp"] == {"c": 21.5}
    assert from_json(to_json(reading), Reading).temp == 21.5


def test_a_lone_surrogate_is_refused_naming_the_class_id_and_field(
    compiled: tuple[type[Document], ...],
) -> None:
    shaped = compiled[1]
    with pytest.raises(DocumentValidationError, match=r"Shaped 's1': labels\[1\]: .*surrogate"):
        canonical_document(shaped(id="s1", title="t", labels=["ok", "a\ud800"]))


_UTC_NOON = datetime(2026, 12, 5, 12, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("field_name", "value"),
    [
        ("price", Decimal("129.95")),
        ("price", Decimal("0.12345678901234567")),  # 17 digits: no double holds it
        ("price", Decimal("NaN")),
        ("price", Decimal("sNaN")),
        ("price", Decimal("1e400")),
        ("price", SubDecimal("1.5")),
        ("price", 1.5),
        ("text_price", Decimal("1.2345")),  # more places than the field keeps
        ("text_price", Decimal("0.12345678901234567")),
        ("seen", _UTC_NOON),
        ("seen", datetime(2026, 12, 5, 12)),  # naive
        ("seen", datetime(2026, 12, 5, 12, tzinfo=timezone(timedelta(hours=2)))),
        ("seen", datetime(2026, 12, 5, 12, tzinfo=timezone(timedelta(0), "UTC"))),
        ("seen", SubDateTime(2026, 12, 5, 12, tzinfo=timezone.utc)),
        ("seen", "2026-12-05T12:00:00+00:00"),
        ("at", Point(x=1.0, y=2.0)),
        ("at", SubPoint(x=1.0, y=2.0)),
        ("at", Point(x=1.0, y=math.nan)),
        ("at", {"x": 1.0, "y": 2.0}),
        ("stamp", Stamp(at=_UTC_NOON, amount=Decimal("2.50"), labels=["a"])),
        ("stamp", Stamp(at=_UTC_NOON, extra={"kept": 1})),
        ("stamp", Stamp(at=_UTC_NOON, amount=Decimal("NaN"))),
        ("stamp", Stamp(at=datetime(2026, 12, 5))),
        ("stamp", SubStamp(at=_UTC_NOON)),
        ("stamps", Stamp(at=datetime(2026, 12, 5, tzinfo=timezone(timedelta(hours=-3))))),
        ("tag", Tag(label="a", rate=Decimal("1.5"), exact=Decimal("0.12345678901234567"))),
        ("tag", Tag(label="a", rate=Decimal("1.234"))),  # more places than the field keeps
        ("tag", Tag(label="a", exact=Decimal("NaN"))),
    ],
)
def test_each_near_miss_is_written_as_the_general_path_writes_it(
    compiled: tuple[type[Document], ...], field_name: str, value: Any
) -> None:
    deep = compiled[3]
    obj = _build(deep, {"id": "d1", "price": Decimal("1.5"), field_name: value})
    assert _outcome(lambda: canonical_document(obj)) == _outcome(lambda: _general_bytes(obj))
    dumped = _outcome(lambda: list(to_json(obj).items()))
    assert dumped == _outcome(lambda: list(_general_json(obj).items()))


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("price", "129.95"),
        ("price", 129.95),
        ("price", 10**30),
        ("price", "0.12345678901234567"),
        ("price", "NaN"),
        ("price", "1e400"),
        ("price", " 1.5"),
        ("price", True),
        ("text_price", "1.5"),
        ("text_price", "1.2345"),
        ("seen", "2026-12-05T12:00:00.000000+00:00"),
        ("seen", "2026-12-05T12:00:00Z"),
        ("seen", "2026-12-05T12:00:00+02:00"),
        ("seen", "2026-12-05T12:00:00"),  # naive
        ("seen", "2026-12-05 nope"),
        ("seen", 5),
        ("at", {"x": 1, "y": 2.5}),
        ("at", {"x": 10**19, "y": 2**53 + 1}),  # exact as a double, and not
        ("at", {"x": 2**70, "y": 1}),
        ("at", {"x": 1.0}),
        ("at", {"x": 1.0, "y": 2.0, "z": 3.0}),
        ("at", [1.0, 2.0]),
        ("stamp", {"at": "2026-12-05T12:00:00+00:00", "amount": 2.5, "labels": ["a"]}),
        ("stamp", {"at": "2026-12-05T12:00:00+00:00", "more": 1}),  # kept in extra
        ("stamp", {"at": "2026-12-05T12:00:00"}),
        ("stamp", {"amount": "1"}),
        ("stamps", {"at": "2026-12-05T12:00:00-03:00", "labels": "ab"}),
        ("tag", {"Label": "a", "rate": 1.5, "x": "0.12345678901234567"}),
        ("tag", {"Label": "a", "rate": "1.5", "x": 2}),
        ("tag", {"Label": "a", "rate": 1.234}),
        ("tag", {"label": "a"}),  # the attribute's name, not its key
    ],
)
def test_each_near_miss_is_read_as_the_general_path_reads_it(
    compiled: tuple[type[Document], ...],
    general: tuple[type[Document], ...],
    key: str,
    value: Any,
) -> None:
    def load(cls: type[Document]) -> Any:
        body = {"type": cls._options.doc_type, "price": 1, key: value}
        return [(k, type(v), v) for k, v in vars(from_json(body, cls)).items()]

    assert _outcome(lambda: load(compiled[3])) == _outcome(lambda: load(general[3]))


def test_decimal_datetime_and_embedded_fields_are_compiled_inline(
    compiled: tuple[type[Document], ...],
) -> None:
    # Not vacuous: the tests above compare inline code, not the hooks it would call.
    deep = compiled[3]
    hooks = conversion._field_hooks(deep, conversion._renames(deep))
    fields = codecs._fields(deep, hooks)
    assert fields is not None
    assert not [f.attribute.name for f in fields if isinstance(f.kind, codecs._Hooked)]
    # A plain attrs class with renamed keys and Decimal storage is read inline too.
    load = compile_loader(deep, hooks)
    assert load is not None
    body = {"type": deep._options.doc_type, "price": 1, "tag": {"Label": "a", "x": "2.50"}}
    loaded = load(body)
    assert loaded is not None
    assert loaded == from_json(body, deep)
    assert loaded.tag == Tag(label="a", exact=Decimal("2.50"))


@attrs.define
class Money:
    cents: int


class Till(Document, doc_type="codec_till"):
    cash: Money


def test_a_hook_registered_for_an_embedded_class_is_followed() -> None:
    till = Till(id="t1", cash=Money(cents=150))
    assert to_json(till)["cash"] == {"cents": 150}
    register_type(
        Money, dump=lambda m: f"{m.cents / 100:.2f}", load=lambda t: Money(round(float(t) * 100))
    )
    assert to_json(till)["cash"] == "1.50"
    assert json.loads(canonical_document(till)[0])["cash"] == "1.50"
    assert from_json({"type": "codec_till", "cash": "2.25"}, Till).cash == Money(cents=225)

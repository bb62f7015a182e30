"""Documents: declaration, options, JSON mapping, unknown keys, metadata, polymorphism,
validation errors, custom types, datetimes, partitions and id strategies."""

import json
import re
import types
import uuid
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from enum import Enum, IntEnum
from typing import Any, Literal

import attrs
import pytest

from cloudant_odm.converter import converter as public_converter
from cloudant_odm.models import (
    Document,
    DocumentDefinitionError,
    DocumentMeta,
    DocumentTypeError,
    DocumentValidationError,
    Embedded,
    converter,
    field,
    from_json,
    register_tagged_union,
    register_type,
    registry,
    to_json,
)
from cloudant_odm.models.conversion import canonical_document

UTC = timezone.utc
PLUS2 = timezone(timedelta(hours=2))


@attrs.define
class Address:
    city: str
    street: str = ""


class Shipment(Document, db="shipments", design="shipping"):
    customer: str
    total: Decimal = Decimal("0")
    status: str = "new"
    tags: list[str] = field(factory=list)
    shipping: Address | None = None
    created_by: str = field(default="system", key="createdBy")


class PriorityShipment(Shipment):
    priority: int  # required after defaulted parent fields: fine, fields are keyword-only


class ExpressShipment(PriorityShipment):
    courier: str = "dhl"


class Carrier(Document):
    name: str


class Parcel(Document, abstract=True):
    weight: float = 0.0


class Letter(Parcel):
    stamps: int = 1


def roundtrip(doc: Document) -> Document:
    """Through real JSON text, as a database would."""
    return from_json(json.loads(json.dumps(to_json(doc))))


# --- declaration -----------------------------------------------------------------------


def test_subclass_is_an_attrs_class_with_keyword_only_fields() -> None:
    assert attrs.has(Shipment)
    names = [a.name for a in attrs.fields(Shipment)]
    assert names[:4] == ["id", "rev", "extra", "meta"]
    assert names[4:] == ["customer", "total", "status", "tags", "shipping", "created_by"]
    assert all(a.kw_only for a in attrs.fields(Shipment))

    doc = Shipment(customer="bob")
    assert (doc.id, doc.rev, doc.total, doc.tags, doc.extra) == (None, None, Decimal(0), [], {})
    assert doc.tags is not Shipment(customer="x").tags  # factory: a fresh list each time


def test_missing_required_field_is_a_clear_type_error() -> None:
    with pytest.raises(TypeError, match="missing 1 required keyword-only argument: 'customer'"):
        Shipment()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="positional"):
        Shipment("bob")  # type: ignore[misc]


def test_subclass_adds_required_fields_after_defaulted_ones() -> None:
    doc = PriorityShipment(customer="bob", priority=1)
    assert doc.priority == 1
    with pytest.raises(TypeError, match="priority"):
        PriorityShipment(customer="bob")  # type: ignore[call-arg]


def test_repr_shows_fields_not_extra_or_meta() -> None:
    doc = Shipment(id="s1", customer="bob", extra={"x": 1})
    text = repr(doc)
    assert text.startswith("Shipment(id='s1', rev=None, customer='bob'")
    assert "extra" not in text
    assert "meta" not in text


def test_meta_defaults() -> None:
    options = Carrier._options
    assert options.db is None
    assert options.doc_type == "carrier"
    assert options.type_field == "type"
    assert options.design is None
    assert options.partitioned is False
    assert options.id_factory is None
    assert options.id_from == ()
    assert options.unknown == "preserve"
    assert options.allow_naive_datetime is False
    assert options.abstract is False
    assert options.keys == {"name": "name"}


def test_meta_class_and_class_keywords() -> None:
    class Invoice(Document):
        class Meta:
            db = "billing"
            doc_type = "inv"
            type_field = "kind"
            design = "billing"
            unknown = "forbid"

        number: int

    class Receipt(Document, db="billing", doc_type="rcpt", partitioned=True, unknown="drop"):
        number: int

    assert Invoice._options.db == "billing"
    assert Invoice._options.doc_type == "inv"
    assert Invoice._options.type_field == "kind"
    assert Invoice._options.design == "billing"
    assert Invoice._options.unknown == "forbid"
    assert to_json(Invoice(number=1)) == {"kind": "inv", "number": 1}
    assert Receipt._options.partitioned is True
    assert Receipt._options.unknown == "drop"


def test_options_are_inherited_except_doc_type() -> None:
    options = PriorityShipment._options
    assert (options.db, options.design) == ("shipments", "shipping")
    assert options.doc_type == "priorityshipment"
    assert ExpressShipment._options.doc_type == "expressshipment"
    assert options.keys["created_by"] == "createdBy"


def test_meta_subclass_inherits_its_base_meta() -> None:
    class Base(Document, abstract=True):
        class Meta:
            db = "base-db"
            design = "base"

    class Child(Base):
        class Meta(Base.Meta):
            doc_type = "child"

    assert (Child._options.db, Child._options.design) == ("base-db", "base")
    assert Child._options.doc_type == "child"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: types.new_class("A", (Document,), {"dbb": "x"}), "unexpected keyword"),
        (lambda: _with_meta({"dbname": "x"}), "unknown option.*'dbname'"),
        (lambda: _with_meta({"db": ""}), "db must be a non-empty str"),
        (lambda: _with_meta({"unknown": "keep"}), "unknown must be one of preserve, forbid"),
        (lambda: _with_meta({"partitioned": "yes"}), "partitioned must be True or False"),
        (lambda: _with_meta({"type_field": "_type"}), "type_field can't start with '_'"),
        (lambda: _with_meta({"id_from": ("nope",)}), "'nope'.*is not a field"),
        (lambda: _with_meta({"id_factory": 3}), "id_factory must be callable"),
        (lambda: _with_meta({"partition_from": "name"}), "partition_from only makes sense"),
        (
            lambda: _with_meta({"id_factory": str, "id_from": ("name",)}),
            "id_factory or id_from, not both",
        ),
    ],
)
def test_bad_options_fail_at_class_definition(make: Any, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        make()


def _with_meta(meta: dict[str, Any]) -> type:
    def body(ns: dict[str, Any]) -> None:
        ns["Meta"] = type("Meta", (), meta)
        ns["__annotations__"] = {"name": str}

    return types.new_class("Bad", (Document,), {}, body)


def test_option_given_twice_is_an_error() -> None:
    with pytest.raises(DocumentDefinitionError, match="db given both in Meta and as a class"):

        class Twice(Document, db="a"):
            class Meta:
                db = "b"


@pytest.mark.parametrize("name", ["id", "rev", "extra", "meta", "partition"])
def test_reserved_names_are_refused(name: str) -> None:
    def body(ns: dict[str, Any]) -> None:
        ns["__annotations__"] = {name: str}

    with pytest.raises(DocumentDefinitionError, match=f"'{name}' is reserved by Document"):
        types.new_class("Reserved", (Document,), {}, body)


def test_field_keys_are_checked() -> None:
    with pytest.raises(DocumentDefinitionError, match="'type', which is the type field"):

        class Typed(Document):
            type: str

    with pytest.raises(DocumentDefinitionError, match="reserved by CouchDB"):

        class Underscore(Document):
            secret: str = field(key="_secret")

    with pytest.raises(DocumentDefinitionError, match="both use the JSON key 'a'"):

        class Clash(Document):
            a: str
            b: str = field(key="a")


def test_subclass_keeps_the_type_field() -> None:
    with pytest.raises(DocumentDefinitionError, match="must keep its parent's type field"):

        class Renamed(Shipment, type_field="kind"):
            pass


def test_two_module_level_classes_cannot_share_a_doc_type() -> None:
    def make(module: str) -> type:
        def body(ns: dict[str, Any]) -> None:
            ns["__module__"] = module
            ns["__annotations__"] = {"n": int}

        return types.new_class("Twin", (Document,), {"doc_type": "twin"}, body)

    make("app_one")
    make("app_one")  # the same class again (a reload) is fine
    with pytest.raises(DocumentDefinitionError, match=r"'twin'.*already used by app_one\.Twin"):
        make("app_two")


def test_field_rejects_default_and_factory_together() -> None:
    with pytest.raises(TypeError, match="either default= or factory="):
        field(default=1, factory=list)


# --- id / rev / type field --------------------------------------------------------------


def test_to_json_maps_id_and_rev_and_writes_the_type() -> None:
    doc = Shipment(customer="bob")
    assert to_json(doc) == {
        "type": "shipment",
        "customer": "bob",
        "total": 0,
        "status": "new",
        "tags": [],
        "shipping": None,
        "createdBy": "system",
    }
    doc.id, doc.rev = "s1", "1-abc"
    body = to_json(doc)
    assert list(body)[:3] == ["_id", "_rev", "type"]
    assert (body["_id"], body["_rev"]) == ("s1", "1-abc")


def test_from_json_maps_id_rev_and_keys() -> None:
    doc = from_json(
        {"_id": "s1", "_rev": "2-x", "type": "shipment", "customer": "al", "createdBy": "me"},
        Shipment,
    )
    assert (doc.id, doc.rev, doc.customer, doc.created_by) == ("s1", "2-x", "al", "me")
    assert doc.total == Decimal(0)  # missing keys take the default
    assert doc == Shipment(id="s1", rev="2-x", customer="al", created_by="me")


def test_converter_module_is_the_same_converter() -> None:
    assert public_converter is converter
    doc = Shipment(customer="x")
    assert converter.unstructure(doc) == to_json(doc)
    assert converter.structure(to_json(doc), Shipment) == doc


# --- every field type -------------------------------------------------------------------


class Color(Enum):
    RED = "red"
    BLUE = "blue"


class Level(IntEnum):
    LOW = 1
    HIGH = 2


@attrs.define
class Leaf:
    at: datetime
    amount: Decimal


@attrs.define
class Branch:
    leaf: Leaf
    leaves: list[Leaf] = attrs.Factory(list)


@attrs.define
class Root:
    branch: Branch


class Kitchen(Document):
    text: str
    number: int
    ratio: float
    flag: bool
    amount: Decimal = field(places=3)
    moment: datetime
    day: date
    clock: time
    ident: uuid.UUID
    blob: bytes
    color: Color
    level: Level
    mode: Literal["a", "b", 3]
    items: list[int]
    mapping: dict[str, float]
    numbered: dict[int, str]
    sequence: tuple[int, ...]
    pair: tuple[int, str]
    labels: set[str]
    frozen: frozenset[int]
    maybe: str | None
    scalar: int | str
    anything: Any
    root: Root
    nested: list[dict[str, list[Address]]]


KITCHEN_JSON = {
    "_id": "k1",
    "_rev": "3-abc",
    "type": "kitchen",
    "text": "héllo",
    "number": -7,
    "ratio": 0.5,
    "flag": True,
    "amount": 12.34,
    "moment": "2024-05-01T08:00:00.000001+00:00",
    "day": "2024-02-29",
    "clock": "23:59:58.123456",
    "ident": "12345678-1234-5678-1234-567812345678",
    "blob": "AAEC/w==",
    "color": "blue",
    "level": 2,
    "mode": 3,
    "items": [1, 2, 3],
    "mapping": {"a": 1.5},
    "numbered": {"1": "one", "20": "twenty"},
    "sequence": [4, 5],
    "pair": [1, "x"],
    "labels": ["a", "b", "c"],
    "frozen": [1, 2],
    "maybe": None,
    "scalar": "s",
    "anything": {"free": ["form", 1, None]},
    "root": {
        "branch": {
            "leaf": {"at": "2020-01-01T00:00:00.000000+00:00", "amount": 1000},
            "leaves": [{"at": "2021-06-30T17:30:00.500000+00:00", "amount": -0.01}],
        }
    },
    "nested": [{"k": [{"city": "Oslo", "street": "Main"}]}],
}


def test_every_field_type_loads() -> None:
    doc = from_json(KITCHEN_JSON, Kitchen)
    assert doc.amount == Decimal("12.340")
    assert str(doc.amount) == "12.340"  # quantized to the field's places
    assert doc.moment == datetime(2024, 5, 1, 10, 0, 0, 1, tzinfo=PLUS2)  # the same instant
    assert doc.moment.utcoffset() == timedelta(0)  # stored in UTC
    assert doc.day == date(2024, 2, 29)
    assert doc.clock == time(23, 59, 58, 123456)
    assert doc.ident == uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert doc.blob == b"\x00\x01\x02\xff"
    assert (doc.color, doc.level, doc.mode) == (Color.BLUE, Level.HIGH, 3)
    assert doc.numbered == {1: "one", 20: "twenty"}
    assert doc.sequence == (4, 5)
    assert doc.pair == (1, "x")
    assert doc.labels == {"a", "b", "c"}
    assert doc.frozen == frozenset({1, 2})
    assert doc.root.branch.leaves[0].at.utcoffset() == timedelta(0)
    assert doc.nested == [{"k": [Address(city="Oslo", street="Main")]}]


def test_every_field_type_dumps_back_exactly() -> None:
    doc = from_json(KITCHEN_JSON, Kitchen)
    assert to_json(doc) == KITCHEN_JSON
    assert json.loads(json.dumps(to_json(doc))) == KITCHEN_JSON  # pure JSON types only
    assert roundtrip(doc) == doc


def test_sets_are_written_sorted() -> None:
    doc = from_json({**KITCHEN_JSON, "labels": ["c", "a", "b"]}, Kitchen)
    assert to_json(doc)["labels"] == ["a", "b", "c"]


def test_datetime_formats() -> None:
    doc = from_json({**KITCHEN_JSON, "moment": "2024-05-01T10:00:00Z"}, Kitchen)
    assert doc.moment == datetime(2024, 5, 1, 10, tzinfo=UTC)
    # Always six fractional digits, so stored strings sort in time order.
    assert to_json(doc)["moment"] == "2024-05-01T10:00:00.000000+00:00"


def test_decimal_is_stored_as_a_json_number_and_read_from_numbers_and_strings() -> None:
    # A number, so that the server compares and sorts it as Python does.
    assert to_json(Shipment(customer="x", total=Decimal("9.50")))["total"] == 9.5
    assert to_json(Shipment(customer="x", total=Decimal("12")))["total"] == 12
    assert to_json(Shipment(customer="x", total=Decimal("-1E+20")))["total"] == -1e20
    # Documents written by earlier versions hold strings: they still load.
    for raw, expected in [(0.1, "0.1"), (3, "3"), ("1.10", "1.10"), (1e20, "1E+20")]:
        doc = from_json({"type": "shipment", "customer": "x", "total": raw}, Shipment)
        assert str(doc.total) == expected


class Priced(Document):
    price: Decimal = field(places=2)
    exact: Decimal | None = field(default=None, as_string=True)
    maybe: Decimal | None = field(default=None, places=1)


def test_places_quantize_on_load_and_refuse_more_digits_on_save() -> None:
    doc = from_json({"type": "priced", "price": 9.5}, Priced)
    assert str(doc.price) == "9.50"
    assert from_json({"type": "priced", "price": 3}, Priced).price.as_tuple().exponent == -2
    with pytest.raises(DocumentValidationError, match=r"price: Decimal\('9.555'\) has more than 2"):
        to_json(Priced(price=Decimal("9.555")))
    with pytest.raises(DocumentValidationError, match=r"price: 9.555 has more than 2"):
        from_json({"type": "priced", "price": 9.555}, Priced)
    assert to_json(Priced(price=Decimal("9.5000")))["price"] == 9.5  # the same value: fine
    assert to_json(Priced(price=Decimal(1), maybe=None))["maybe"] is None
    assert from_json({"type": "priced", "price": 1, "maybe": None}, Priced).maybe is None


def test_as_string_keeps_every_digit() -> None:
    many = Decimal("12345678901234567890.123456789")
    body = to_json(Priced(price=Decimal(1), exact=many))
    assert body["exact"] == "12345678901234567890.123456789"
    assert from_json(body, Priced).exact == many
    # The same value in a number field is refused: a double can't hold it.
    with pytest.raises(DocumentValidationError, match="as_string=True"):
        to_json(Shipment(customer="x", total=many))


def test_decimal_options_are_for_decimal_fields_only() -> None:
    with pytest.raises(TypeError, match="places"):
        field(places=-1)

    with pytest.raises(DocumentDefinitionError, match=r"Wrong.count: .* Decimal fields, not int"):

        class Wrong(Document):
            count: int = field(default=0, places=2)


def test_non_finite_decimals_are_refused() -> None:
    with pytest.raises(DocumentValidationError, match="total: invalid Decimal 'NaN'"):
        from_json({"type": "shipment", "customer": "x", "total": "NaN"}, Shipment)
    with pytest.raises(DocumentValidationError, match="not a finite number"):
        to_json(Shipment(customer="x", total=Decimal("Infinity")))


@pytest.mark.parametrize("bad", ["NaN", "-Infinity", "sNaN"])
def test_a_decimal_stored_as_text_is_refused_when_not_finite(bad: str) -> None:
    # Text holds any Decimal, but a NaN written would make the document unreadable.
    doc = Priced(price=Decimal(1), exact=Decimal(bad), id="p")
    for write in (to_json, canonical_document):
        with pytest.raises(DocumentValidationError, match=r"exact: Decimal .* not a finite"):
            write(doc)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (5e-324, "is subnormal"),
        ([1.0, -2e-310], r"\[1\]: float -2e-310 is subnormal"),
        ((1, 2), "a tuple is stored as a JSON array and reads back as a list"),
        ({"deep": (1,)}, r"\['deep'\]: a tuple"),
    ],
)
def test_unknown_keys_and_any_fields_refuse_what_would_not_read_back(
    value: Any, message: str
) -> None:
    # CouchDB stores 5e-324 as 0; a tuple comes back a list: neither is what was held.
    doc = Priced(price=Decimal(1), id="p")
    doc.extra["k"] = value
    with pytest.raises(DocumentValidationError, match=rf"extra\['k'\].*{message}"):
        to_json(doc)
    kitchen = from_json(KITCHEN_JSON, Kitchen)
    kitchen.anything = value
    with pytest.raises(DocumentValidationError, match=f"anything.*{message}"):
        canonical_document(kitchen)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("text", 5, "text: expected str, got int"),
        ("number", True, "number: expected int, got bool"),
        ("number", 1.5, "number: expected int, got float"),
        ("ratio", "1", "ratio: expected float, got str"),
        ("flag", 1, "flag: expected bool, got int"),
        ("items", "abc", "items: expected list, got str"),
        ("items", [1, "2"], r"items\[1\]: expected int, got str"),
        ("mapping", [], "mapping: expected dict, got list"),
        ("mode", "c", "mode: expected one of 'a', 'b', 3, got 'c'"),
        ("mode", True, "mode: expected one of 'a', 'b', 3, got True"),
        ("color", "green", "color: 'green' is not a valid Color"),
        ("ident", "nope", "ident: invalid UUID 'nope'"),
        ("blob", "***", r"blob: invalid base64 '\*\*\*'"),
        ("day", "2024-13-01", "day: invalid ISO 8601 date '2024-13-01'"),
        ("moment", 0, "moment: expected an ISO 8601 datetime string, got int"),
        ("pair", [1, 2, 3], "pair: expected 2 items, got 3"),
        ("numbered", {"x": "y"}, r"numbered\['x'\]: expected an integer key, got 'x'"),
    ],
)
def test_wrong_json_types_are_reported_not_coerced(key: str, value: Any, message: str) -> None:
    with pytest.raises(DocumentValidationError, match=message):
        from_json({**KITCHEN_JSON, key: value}, Kitchen)


def test_integral_floats_load_as_int() -> None:
    assert from_json({**KITCHEN_JSON, "number": 3.0}, Kitchen).number == 3


class Gauge(Embedded):
    level: float = 0.0


class Meter(Document):
    reading: float = 0.0
    readings: list[float] = field(factory=list)
    spare: float | None = None
    by_day: dict[str, float] = field(factory=dict)
    gauge: Gauge = field(factory=Gauge)


@pytest.mark.parametrize(
    ("key", "value", "path"),
    [
        ("reading", 12345678901234567890, "reading"),
        ("readings", [1, 2**53 + 1], r"readings\[1\]"),
        ("spare", -(2**60) - 1, "spare"),
        ("by_day", {"mon": 12345678901234567890}, r"by_day\['mon'\]"),
        ("gauge", {"level": 12345678901234567890}, "gauge.level"),
    ],
)
def test_a_float_field_refuses_an_integer_a_double_would_round(
    key: str, value: Any, path: str
) -> None:
    # Loaded rounded, it would be written back rounded by the next save, unnoticed.
    with pytest.raises(
        DocumentValidationError,
        match=rf"Meter 'm1': {path}: int -?\d+ is not held exactly by a float \(it would read "
        r"as .*declare the field int or Decimal",
    ):
        from_json({"_id": "m1", "type": "meter", key: value}, Meter)


def test_a_float_field_refuses_an_integer_beyond_any_float() -> None:
    with pytest.raises(DocumentValidationError, match=r"reading: int 1000.* is beyond the largest"):
        from_json({"_id": "m1", "type": "meter", "reading": 10**400}, Meter)


def test_a_float_field_loads_an_integer_only_when_it_is_a_double_s_own_value() -> None:
    with pytest.raises(DocumentValidationError, match="reading: int 9007199254740993 is not"):
        from_json({"type": "meter", "reading": 2**53 + 1}, Meter)
    # JavaScript (a view, PouchDB, another program) writes a large double as its shortest
    # digits padded with zeros: 1e19 as 10000000000000000000, and 6.909734842321921e16
    # as 69097348423219210 (the double's exact value is 69097348423219208).
    js = from_json({"type": "meter", "reading": 69097348423219210}, Meter)
    assert js.reading == 6.909734842321921e16
    data = {"type": "meter", "reading": 10**19, "readings": [2**60, 3], "spare": -(2**53) - 2}
    meter = from_json({**data, "gauge": {"level": 2**70}}, Meter)
    assert (meter.reading, meter.readings, meter.spare) == (1e19, [2.0**60, 3.0], -(2.0**53) - 2)
    assert meter.gauge.level == 2.0**70
    assert type(meter.reading) is float
    assert type(meter.gauge.level) is float


# --- unknown keys ------------------------------------------------------------------------


def test_unknown_keys_are_preserved_and_written_back() -> None:
    data = {"_id": "s1", "type": "shipment", "customer": "x", "legacy": {"a": [1]}, "z": None}
    doc = from_json(data, Shipment)
    assert doc.extra == {"legacy": {"a": [1]}, "z": None}
    body = to_json(doc)
    assert body["legacy"] == {"a": [1]}
    assert "z" in body
    assert from_json(body, Shipment) == doc


def test_declared_fields_win_over_stray_extra_keys() -> None:
    doc = Shipment(customer="x", extra={"customer": "stale", "type": "bogus", "note": 1})
    body = to_json(doc)
    assert (body["customer"], body["type"], body["note"]) == ("x", "shipment", 1)


def test_extra_takes_part_in_equality_and_survives_evolve() -> None:
    a = from_json({"type": "shipment", "customer": "x", "k": 1}, Shipment)
    assert a != Shipment(customer="x")
    assert attrs.evolve(a, status="paid").extra == {"k": 1}


def test_forbid_policy_raises_on_load() -> None:
    class Strict(Document, unknown="forbid"):
        name: str

    assert from_json({"type": "strict", "name": "x", "_conflicts": ["1-a"]}, Strict).name == "x"
    with pytest.raises(DocumentValidationError) as info:
        from_json({"_id": "s", "type": "strict", "name": 1, "a": 1, "b": 2}, Strict)
    assert info.value.errors == [
        ("name", "expected str, got int"),
        ("a", "unknown key (the class forbids keys it does not declare)"),
        ("b", "unknown key (the class forbids keys it does not declare)"),
    ]
    with pytest.raises(DocumentValidationError, match="Strict 's': a: unknown key"):
        from_json({"_id": "s", "type": "strict", "name": "x", "a": 1}, Strict)


def test_drop_policy_discards_explicitly() -> None:
    class Lossy(Document, unknown="drop"):
        address: Address

    doc = from_json({"type": "lossy", "address": {"city": "Rome", "zip": "1"}, "x": 1}, Lossy)
    assert doc.extra == {}
    assert doc.address == Address("Rome")
    assert "x" not in to_json(doc)


def test_plain_attrs_classes_refuse_unknown_keys_rather_than_lose_them() -> None:
    data = {"_id": "s1", "type": "shipment", "customer": "x", "shipping": {"city": 1, "zip": "9"}}
    with pytest.raises(DocumentValidationError) as info:
        from_json(data, Shipment)
    assert info.value.errors == [
        (
            "shipping.zip",
            "unknown key (Address is a plain attrs class and can't keep it: derive it from "
            "Embedded, or set unknown='drop' on the document)",
        ),
        ("shipping.city", "expected str, got int"),
    ]


class Place(Embedded):
    city: str


class Trip(Document):
    place: Place
    places: list[Place] = field(factory=list)


def test_embedded_classes_keep_unknown_keys_at_any_depth() -> None:
    data = {
        "type": "trip",
        "place": {"city": "Oslo", "zip": "0150"},
        "places": [{"city": "Rome"}, {"city": "Bern", "canton": "BE"}],
    }
    doc = from_json(data, Trip)
    assert doc.place.extra == {"zip": "0150"}
    assert doc.places[1].extra == {"canton": "BE"}
    assert to_json(doc) == data
    assert Place(city="x") != Place(city="x", extra={"a": 1})


def test_embedded_forbid_policy() -> None:
    class Tight(Embedded, unknown="forbid"):
        a: int

    class Holder(Document):
        tight: Tight

    with pytest.raises(DocumentValidationError, match=r"tight\.b: unknown key.*Tight forbids"):
        from_json({"type": "holder", "tight": {"a": 1, "b": 2}}, Holder)


def test_embedded_reserves_extra() -> None:
    with pytest.raises(DocumentDefinitionError, match="'extra' is reserved by Embedded"):

        class Bad(Embedded):
            extra: int  # type: ignore[assignment]


# --- CouchDB metadata --------------------------------------------------------------------

STUB = {"content_type": "text/plain", "digest": "md5-x", "length": 3, "revpos": 2, "stub": True}


def test_metadata_is_kept_and_reachable() -> None:
    data = {
        "_id": "s1",
        "_rev": "3-c",
        "type": "shipment",
        "customer": "x",
        "_attachments": {"a.txt": STUB},
        "_conflicts": ["3-b"],
        "_deleted_conflicts": ["2-d"],
        "_revisions": {"start": 3, "ids": ["c", "b", "a"]},
        "_revs_info": [{"rev": "3-c", "status": "available"}],
        "_local_seq": 7,
    }
    doc = from_json(data, Shipment)
    assert doc.meta == DocumentMeta(
        attachments={"a.txt": STUB},
        conflicts=("3-b",),
        deleted_conflicts=("2-d",),
        revisions={"start": 3, "ids": ["c", "b", "a"]},
        revs_info=({"rev": "3-c", "status": "available"},),
        local_seq=7,
    )
    assert doc.extra == {}


def test_only_attachment_stubs_are_written_back() -> None:
    data = {
        "_id": "s1",
        "_rev": "3-c",
        "type": "shipment",
        "customer": "x",
        "_attachments": {"a.txt": STUB},
        "_conflicts": ["3-b"],
        "_revisions": {"start": 3, "ids": ["c"]},
        "_deleted": True,
    }
    doc = from_json(data, Shipment)
    assert doc.meta.deleted is True
    body = to_json(doc)
    assert body["_attachments"] == {"a.txt": STUB}
    assert not {"_conflicts", "_revisions", "_deleted"} & set(body)


def test_meta_is_not_compared_and_survives_evolve() -> None:
    doc = from_json({"type": "shipment", "customer": "x", "_conflicts": ["1-a"]}, Shipment)
    assert doc == Shipment(customer="x")
    assert attrs.evolve(doc, status="s").meta.conflicts == ("1-a",)


def test_unknown_underscore_keys_are_the_server_s_read_and_never_written() -> None:
    # _replicator documents carry _replication_* keys that CouchDB keeps in the body;
    # to_json refuses _ keys in extra, so kept there the document could not be saved.
    stored = {"_id": "r", "type": "carrier", "name": "x", "_replication_state": "completed"}
    doc = from_json(stored)
    assert doc.extra == {}
    assert doc.meta.other == {"_replication_state": "completed"}
    assert to_json(doc) == {"_id": "r", "type": "carrier", "name": "x"}


# --- polymorphism ------------------------------------------------------------------------


def test_from_json_picks_the_registered_class() -> None:
    base = to_json(Shipment(id="a", customer="x"))
    sub = to_json(PriorityShipment(id="b", customer="x", priority=2))
    subsub = to_json(ExpressShipment(id="c", customer="x", priority=1, courier="ups"))
    assert type(from_json(base)) is Shipment
    assert type(from_json(sub)) is PriorityShipment
    assert from_json(subsub) == ExpressShipment(id="c", customer="x", priority=1, courier="ups")
    assert type(from_json(subsub, Shipment)) is ExpressShipment
    assert type(from_json(subsub, PriorityShipment)) is ExpressShipment


def test_from_json_refuses_another_class() -> None:
    data = to_json(Carrier(id="c1", name="x"))
    with pytest.raises(DocumentTypeError) as info:
        from_json(data, Shipment)
    assert str(info.value) == (
        "Shipment 'c1': type: document type 'carrier' is Carrier, not Shipment or a subclass"
    )
    with pytest.raises(DocumentTypeError, match="not ExpressShipment or a subclass"):
        from_json(to_json(PriorityShipment(customer="x", priority=1)), ExpressShipment)


def test_missing_or_unknown_type() -> None:
    with pytest.raises(DocumentTypeError, match="Document 'x': missing type field 'type'"):
        from_json({"_id": "x", "name": "y"})
    with pytest.raises(DocumentTypeError, match="Shipment 'x': type: unknown document type 'zz'"):
        from_json({"_id": "x", "type": "zz"}, Shipment)
    with pytest.raises(DocumentValidationError, match="expected a JSON object, got list"):
        from_json([], Shipment)  # type: ignore[arg-type]


def test_abstract_classes_load_their_subclasses_only() -> None:
    letter = Letter(id="l1", weight=0.02, stamps=2)
    assert from_json(to_json(letter), Parcel) == letter
    assert registry.lookup("parcel") is None
    with pytest.raises(DocumentValidationError, match="Parcel is abstract"):
        to_json(Parcel())


def test_registry_lists_doc_types_of_a_class_and_its_subclasses() -> None:
    assert set(registry.doc_types(Shipment)) == {
        "shipment",
        "priorityshipment",
        "expressshipment",
    }
    assert registry.doc_types(ExpressShipment) == ("expressshipment",)
    assert registry.lookup("carrier") is Carrier
    assert Carrier in registry.classes()


def test_type_field_other_than_type() -> None:
    class Event(Document, type_field="kind"):
        name: str

    class Click(Event):
        x: int = 0

    body = to_json(Click(name="c", x=3))
    assert body == {"kind": "click", "name": "c", "x": 3}
    assert type(from_json(body)) is Click
    assert type(from_json(body, Event)) is Click


def test_a_field_of_a_document_type_holds_subclasses() -> None:
    class Batch(Document):
        shipments: list[Shipment]

    batch = Batch(shipments=[Shipment(customer="a"), PriorityShipment(customer="b", priority=9)])
    body = to_json(batch)
    assert body["shipments"][1]["priority"] == 9
    assert from_json(body, Batch) == batch


# --- validation messages -----------------------------------------------------------------


class Note(Embedded):
    text: str = ""


class Notebook(Document):
    title: str = ""
    subtitle: str = field(default="", key="Subtitle")
    note: Note = field(factory=Note)
    index: dict[str, str] = field(factory=dict)
    tags: list[str] = field(factory=list)


def _note_with_extra(value: str) -> Note:
    note = Note()
    note.extra = {"x": value}
    return note


@pytest.mark.parametrize(
    ("values", "path"),
    [
        ({"title": "a\ud800"}, "title"),
        ({"subtitle": "\udfff"}, "subtitle"),  # the attribute's name, not the JSON key's
        ({"note": Note(text="\ud800")}, "note.text"),
        ({"extra": {"x": "\ud800"}}, "extra['x']"),
        ({"extra": {"x": ["ok", {"y": "\ud800"}]}}, "extra['x'][1]['y']"),
        ({"note": _note_with_extra("\ud800")}, "note.extra['x']"),
        ({"index": {"\ud800": "v"}}, "index['\\ud800']"),
        ({"index": {"k": "\udfff"}}, "index['k']"),
        ({"tags": ["ok", "\ud800"]}, "tags[1]"),
    ],
)
def test_to_json_refuses_a_lone_surrogate_as_a_commit_does(
    values: dict[str, Any], path: str
) -> None:
    # JSON text is UTF-8, which can't carry half of a UTF-16 pair.
    notebook = Notebook(id="n1", **values)
    expected = (
        f"Notebook 'n1': {path}: holds a lone surrogate (half of a UTF-16 pair), which JSON "
        "text can't carry"
    )
    for write in (to_json, canonical_document):
        with pytest.raises(DocumentValidationError) as caught:
            write(notebook)
        assert str(caught.value) == expected


def test_validation_error_names_document_paths_and_problems() -> None:
    data = {
        "_id": "abc",
        "type": "shipment",
        "customer": "x",
        "total": "x",
        "shipping": {"city": 5},
    }
    with pytest.raises(DocumentValidationError) as info:
        from_json(data, Shipment)
    error = info.value
    assert (
        str(error)
        == "Shipment 'abc': total: invalid Decimal 'x'; shipping.city: expected str, got int"
    )
    assert error.doc_id == "abc"
    assert error.model == "Shipment"
    assert error.errors == [
        ("total", "invalid Decimal 'x'"),
        ("shipping.city", "expected str, got int"),
    ]
    assert isinstance(error, ValueError)


def test_missing_required_keys_and_nested_indexes() -> None:
    @attrs.define
    class Line:
        sku: str
        qty: int = field(default=1, validator=attrs.validators.ge(0))

    class Cart(Document):
        owner: str
        lines: list[Line]
        prices: dict[str, Decimal] = field(factory=dict)

    data = {
        "type": "cart",
        "lines": [{"sku": "a"}, {"sku": "b", "qty": -1}, {"qty": 2}],
        "prices": {"EUR": "?"},
    }
    with pytest.raises(DocumentValidationError) as info:
        from_json(data, Cart)
    assert info.value.doc_id is None
    assert info.value.errors == [
        ("owner", "required field missing"),
        ("lines[1].qty", "'qty' must be >= 0: -1"),
        ("lines[2].sku", "required field missing"),
        ("prices['EUR']", "invalid Decimal '?'"),
    ]
    assert str(info.value).startswith("Cart: owner: required field missing; lines[1].qty")


def test_custom_validators_point_at_their_field() -> None:
    def positive(instance: Any, attribute: Any, value: int) -> None:
        if value <= 0:
            raise ValueError("must be positive")

    class Stock(Document):
        count: int = field(validator=positive)

    with pytest.raises(DocumentValidationError, match="Stock 's': count: must be positive"):
        from_json({"_id": "s", "type": "stock", "count": 0}, Stock)
    with pytest.raises(ValueError, match="must be positive"):
        Stock(count=-1)
    stock = Stock(count=1)
    with pytest.raises(ValueError, match="must be positive"):
        stock.count = 0  # validators also run on assignment


def test_validation_error_pickles() -> None:
    import pickle

    error = DocumentValidationError("Order", "o1", [("a", "bad")])
    again = pickle.loads(pickle.dumps(error))
    assert (again.model, again.doc_id, again.errors, str(again)) == (
        "Order",
        "o1",
        [("a", "bad")],
        "Order 'o1': a: bad",
    )


# --- custom types and unions -------------------------------------------------------------


class Money:
    def __init__(self, cents: int) -> None:
        self.cents = cents

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Money) and other.cents == self.cents

    def __hash__(self) -> int:
        return hash(self.cents)

    @classmethod
    def parse(cls, text: Any) -> "Money":
        if not isinstance(text, str) or not re.fullmatch(r"\d+\.\d\d", text):
            raise ValueError(f"not an amount: {text!r}")
        return cls(int(text.replace(".", "")))

    def __str__(self) -> str:
        return f"{self.cents // 100}.{self.cents % 100:02d}"


register_type(Money, dump=str, load=Money.parse)


class Bill(Document):
    amount: Money
    history: list[Money] = field(factory=list)


def test_register_type_round_trips_and_reports_errors() -> None:
    bill = Bill(amount=Money(1250), history=[Money(5)])
    assert to_json(bill) == {"type": "bill", "amount": "12.50", "history": ["0.05"]}
    assert roundtrip(bill) == bill
    with pytest.raises(DocumentValidationError, match=r"history\[0\]: not an amount: '5'"):
        from_json({"type": "bill", "amount": "1.00", "history": ["5"]}, Bill)


def test_hooks_registered_later_apply_to_classes_already_used() -> None:
    class Celsius(float):
        pass

    class Reading(Document):
        temp: Celsius

    with pytest.raises(DocumentValidationError, match="temp"):
        from_json({"type": "reading", "temp": "21.5C"}, Reading)
    converter.register_structure_hook(Celsius, lambda v, _: Celsius(v.rstrip("C")))
    converter.register_unstructure_hook(Celsius, lambda v: f"{v}C")
    doc = from_json({"type": "reading", "temp": "21.5C"}, Reading)
    assert doc.temp == 21.5
    assert to_json(doc)["temp"] == "21.5C"


@attrs.define
class Card:
    last4: str


@attrs.define
class Transfer:
    iban: str
    reference: str = ""


register_tagged_union(Card | Transfer, tag="method", tags={Card: "card"})


class Settlement(Document):
    by: Card | Transfer
    fallback: Card | Transfer | None = None


def test_tagged_union_of_attrs_classes() -> None:
    payment = Settlement(by=Transfer(iban="DE00"), fallback=Card(last4="1234"))
    body = to_json(payment)
    assert body["by"] == {"method": "Transfer", "iban": "DE00", "reference": ""}
    assert body["fallback"] == {"method": "card", "last4": "1234"}
    assert roundtrip(payment) == payment
    assert from_json({"type": "settlement", "by": {"method": "card", "last4": "1"}}).by == Card("1")
    with pytest.raises(DocumentValidationError, match="by: unknown method 'cash'"):
        from_json({"type": "settlement", "by": {"method": "cash"}}, Settlement)
    with pytest.raises(DocumentValidationError, match="by: missing tag 'method'"):
        from_json({"type": "settlement", "by": {"iban": "x"}}, Settlement)


def test_register_tagged_union_checks_its_input() -> None:
    with pytest.raises(TypeError, match="union of attrs classes"):
        register_tagged_union(int)
    with pytest.raises(TypeError, match="is not an attrs class"):
        register_tagged_union(Card | int)
    with pytest.raises(TypeError, match="already has a field stored as 'iban'"):
        register_tagged_union(Card | Transfer, tag="iban")


@attrs.define
class Circle:
    radius: float
    shape: Literal["circle"] = "circle"


@attrs.define
class Square:
    side: float
    shape: Literal["square"] = "square"


class Drawing(Document):
    shapes: list[Circle | Square]


def test_union_tagged_by_a_literal_field_needs_no_registration() -> None:
    drawing = Drawing(shapes=[Circle(1.0), Square(2.0)])
    body = to_json(drawing)
    assert body["shapes"] == [
        {"radius": 1.0, "shape": "circle"},
        {"side": 2.0, "shape": "square"},
    ]
    assert roundtrip(drawing) == drawing


class Size(str, Enum):
    SMALL = "s"


class Mood(Enum):
    CALM = "calm"


@pytest.mark.parametrize(
    ("annotation", "union"),
    [
        (datetime | str, "datetime | str"),
        (date | str, "date | str"),
        (time | str, "time | str"),
        (uuid.UUID | str, "UUID | str"),
        (datetime | date | None, "datetime | date | None"),
        (str | bytes, "str | bytes"),
        (Size | str, "Size | str"),
        (Mood | uuid.UUID, "Mood | UUID"),
        (list[datetime | str], "datetime | str"),
        (dict[str, date | str] | None, "date | str"),
        (tuple[int, uuid.UUID | str], "UUID | str"),
    ],
)
def test_a_union_of_types_stored_as_strings_is_refused_when_the_class_is_defined(
    annotation: Any, union: str
) -> None:
    # A datetime | str stored "2024-05-01T08:00:00.000000+00:00" read back as that str.
    with pytest.raises(DocumentDefinitionError) as caught:
        types.new_class(
            "Agenda",
            (Document,),
            exec_body=lambda ns: ns.update({"__annotations__": {"when": annotation}}),
        )
    message = str(caught.value)
    assert message.startswith(f"Agenda.when: in {union}, ")
    assert "stored as JSON strings" in message
    assert "separate fields" in message
    assert "register_tagged_union" in message


def test_a_union_stored_as_strings_in_a_plain_attrs_class_is_refused_when_first_converted() -> None:
    @attrs.define
    class Slot:
        at: datetime | str

    class Calendar(Document):
        slot: Slot | None = None

    with pytest.raises(DocumentDefinitionError, match=r"Slot.at: in datetime \| str, "):
        to_json(Calendar(slot=Slot(at="soon")))


def test_a_string_annotation_stored_as_strings_is_refused_when_first_converted() -> None:
    class Diary(Document):  # as under `from __future__ import annotations`
        when: "datetime | str" = "soon"

    with pytest.raises(DocumentDefinitionError, match=r"Diary.when: in datetime \| str, "):
        from_json({"type": "diary", "when": "soon"}, Diary)


class Tally(Document):
    count: int | str = 0
    amount: Decimal | str = Decimal(0)
    when: datetime | int = 0
    day: date | None = None


def test_only_a_union_of_more_than_one_type_stored_as_a_string_is_refused() -> None:
    with pytest.raises(DocumentDefinitionError, match=r"Mixed.when: in datetime \| str, "):

        class Mixed(Document):
            when: datetime | str

    # One member stored as a string: the stored JSON type says which member it was.
    moment = datetime(2024, 5, 1, 8, tzinfo=UTC)
    for tally in [
        Tally(count="x", amount="y", when=moment, day=date(2024, 5, 1)),
        Tally(count=3, amount=Decimal("9.5"), when=7),
    ]:
        assert roundtrip(tally) == tally
        assert [type(v) for v in attrs.astuple(roundtrip(tally), recurse=False)] == [
            type(v) for v in attrs.astuple(tally, recurse=False)
        ]


# --- naive datetimes ---------------------------------------------------------------------


class Stamp(Document):
    at: datetime
    leaf: Leaf | None = None


class LocalStamp(Document, allow_naive_datetime=True):
    at: datetime
    leaf: Leaf | None = None


def test_naive_datetimes_are_refused_on_load() -> None:
    with pytest.raises(DocumentValidationError) as info:
        from_json({"_id": "s", "type": "stamp", "at": "2024-01-01T10:00:00"}, Stamp)
    assert str(info.value) == (
        "Stamp 's': at: naive datetime '2024-01-01T10:00:00' has no UTC offset; give it a "
        "timezone, or set allow_naive_datetime=True on the document class to accept naive values"
    )


def test_naive_datetimes_are_refused_on_dump_with_their_path() -> None:
    with pytest.raises(DocumentValidationError, match="Stamp: at: naive datetime"):
        to_json(Stamp(at=datetime(2024, 1, 1)))
    nested = Stamp(at=datetime.now(UTC), leaf=Leaf(at=datetime(2024, 1, 1), amount=Decimal(1)))
    with pytest.raises(DocumentValidationError, match=r"leaf\.at: naive datetime"):
        to_json(nested)


def test_models_can_opt_in_to_naive_datetimes_at_any_depth() -> None:
    data = {
        "type": "localstamp",
        "at": "2024-01-01T10:00:00.000000",
        "leaf": {"at": "2024-01-02T00:00:00.000000", "amount": 1},
    }
    doc = from_json(data, LocalStamp)
    assert doc.at.tzinfo is None
    assert to_json(doc) == data
    # The opt-in is scoped to that model: a strict one next to it still refuses.
    with pytest.raises(DocumentValidationError):
        from_json({"type": "stamp", "at": "2024-01-01T10:00:00"}, Stamp)


def test_datetimes_are_stored_in_utc_to_the_microsecond() -> None:
    moment = datetime(
        2024, 3, 31, 1, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-9, minutes=-30))
    )
    doc = Stamp(at=moment)
    # In UTC, so that the stored strings sort in time order whatever offsets were given.
    assert to_json(doc)["at"] == "2024-03-31T11:29:59.999999+00:00"
    again = roundtrip(doc)
    assert again == doc  # aware datetimes compare by instant
    assert isinstance(again, Stamp)
    assert again.at.utcoffset() == timedelta(0)
    # Offsets written by other programs (or earlier versions) still load as written.
    loaded = from_json({"type": "stamp", "at": "2024-03-31T01:59:59.999999-09:30"}, Stamp)
    assert loaded.at == moment
    assert loaded.at.utcoffset() == moment.utcoffset()
    with pytest.raises(DocumentValidationError, match="out of range in UTC"):
        to_json(Stamp(at=datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1)))))


# --- partitions and ids ------------------------------------------------------------------


class Reading2(Document, partitioned=True, partition_from="sensor", doc_type="reading2"):
    sensor: str
    value: float = 0.0


def test_partition_property() -> None:
    assert Reading2(id="s1:abc", sensor="s1").partition == "s1"
    assert Reading2(sensor="s1").partition is None
    assert Reading2(id="nocolon", sensor="s1").partition is None
    assert Shipment(id="a:b", customer="x").partition is None  # not a partitioned model
    doc = from_json({"_id": "s9:k", "type": "reading2", "sensor": "s9"}, Reading2)
    assert doc.partition == "s9"


def test_default_id_is_a_random_uuid4_hex() -> None:
    doc = Shipment(customer="x")
    first, second = Shipment._options.new_id(doc), Shipment._options.new_id(doc)
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert uuid.UUID(first).version == 4
    assert first != second
    assert doc.id is None  # new_id does not assign


def test_partitioned_ids_get_their_partition() -> None:
    new_id = Reading2._options.new_id(Reading2(sensor="s1"))
    assert re.fullmatch(r"s1:[0-9a-f]{32}", new_id)
    with pytest.raises(ValueError, match="can't contain ':'"):
        Reading2._options.new_id(Reading2(sensor="a:b"))

    class Bare(Document, partitioned=True):
        n: int = 0

    with pytest.raises(ValueError, match=r"Bare is partitioned: set Meta\.partition_from"):
        Bare._options.new_id(Bare())


def test_natural_key_ids() -> None:
    class Line(Document, id_from=("order", "number")):
        order: str
        number: int
        day: date = date(2024, 1, 2)

    assert Line._options.new_id(Line(order="o7", number=3)) == "o7:3"
    with pytest.raises(ValueError, match=r"Line\.order is empty: it can't be part of an id"):
        Line._options.new_id(Line(order="", number=3))

    class Daily(Document, id_from="day"):
        day: date

    assert Daily._options.new_id(Daily(day=date(2024, 5, 1))) == "2024-05-01"

    class Keyed(Document, id_from=("when",)):
        when: datetime | None = None

    with pytest.raises(ValueError, match=r"Keyed\.when is None: an id can only be made"):
        Keyed._options.new_id(Keyed())


def test_natural_key_in_a_partitioned_model() -> None:
    class Visit2(Document, partitioned=True, id_from=("store", "ticket"), doc_type="visit2"):
        store: str
        ticket: int

    doc = Visit2(store="store-42", ticket=7)
    doc.id = Visit2._options.new_id(doc)
    assert doc.id == "store-42:7"
    assert doc.partition == "store-42"


def test_id_factory() -> None:
    class Slugged(Document, id_factory=lambda doc: f"post-{doc.slug}"):
        slug: str

    assert Slugged._options.new_id(Slugged(slug="hi")) == "post-hi"

    class Broken(Document, id_factory=lambda doc: "_bad"):
        pass

    with pytest.raises(ValueError, match="can't start with '_'"):
        Broken._options.new_id(Broken())


def test_subclass_overrides_the_id_strategy() -> None:
    class Keyed(Document, id_from="code"):
        code: str

    class Random(Keyed, id_factory=lambda doc: "fixed"):
        pass

    assert Random._options.id_from == ()
    assert Random._options.new_id(Random(code="c")) == "fixed"


class Code(str):
    @classmethod
    def parse(cls, value: object) -> "Code":
        if not isinstance(value, str) or "-" not in value:
            raise ValueError(f"not a code: {value!r}")
        return cls(value)


class Coded(Document, doc_type="coded"):
    code: Code
    codes: list[Code] = field(factory=list)


def test_a_registered_type_is_written_only_if_it_reads_back() -> None:
    register_type(Code, dump=str, load=Code.parse)
    assert to_json(Coded(id="c", code=Code.parse("A-1")))["code"] == "A-1"
    assert to_json(Coded(id="c", code="B-2"))["code"] == "B-2"  # type: ignore[arg-type]
    with pytest.raises(DocumentValidationError) as caught:
        to_json(Coded(id="c", code="nope", codes=[Code.parse("C-3"), "bad"]))  # type: ignore[arg-type, list-item]
    assert caught.value.errors == [
        ("code", "'nope' doesn't read back as Code: not a code: 'nope'"),
        ("codes[1]", "'bad' doesn't read back as Code: not a code: 'bad'"),
    ]

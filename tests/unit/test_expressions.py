"""Field expressions compile to Mango selectors: every operator, nested fields, lists,
converter values, combinations, keyword lookups, and the guards against misuse."""

from __future__ import annotations

import enum
import re
import uuid
import warnings
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
import pytest

from cloudant_odm import (
    Document,
    DocumentDefinitionError,
    Embedded,
    Field,
    Manager,
    Q,
    QueryError,
    Session,
    SessionError,
    col,
    field,
)
from cloudant_odm.client import CloudantV1, NoAuthAuthenticator
from cloudant_odm.query import NOT_LOADED, SortKey, is_partial, loaded_fields
from cloudant_odm.query.loading import load_partial
from cloudant_odm.query.queryset import QuerySet


class Color(enum.Enum):
    RED = 1
    BLUE = 2


class Size(str, enum.Enum):
    SMALL = "s"
    LARGE = "l"


@attrs.define
class Address:
    city: str
    size: int = 0  # clashes with Field.size(): reachable as ["size"]
    zip_code: str = field(default="", key="zip")


class Line(Embedded):
    sku: str
    qty: int = 1


class Order(Document, doc_type="x-order"):
    customer: str
    total: Decimal = Decimal("0")
    amount: float = 0.0
    n: int = 0
    created: datetime | None = None
    day: date | None = None
    color: Color = Color.RED
    size: Size = Size.SMALL
    ref: uuid.UUID | None = None
    tags: list[str] = field(factory=list)
    scores: list[int] = field(factory=list)
    lines: list[Line] = field(factory=list)
    shipping: Address | None = None
    attributes: dict[str, int] = field(factory=dict)
    anything: Any = None
    created_by: str = field(default="me", key="createdBy")
    dotted: str = field(default="", key="a.b")


class RushOrder(Order, doc_type="x-rush-order"):
    level: int = 1


class NaiveOk(Document, doc_type="x-naive", allow_naive_datetime=True):
    at: datetime | None = None


UTC = timezone.utc
MOMENT = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)


def sel(expression: Any) -> dict[str, Any]:
    selector: dict[str, Any] = expression.to_selector()
    return selector


# --- class-level access ------------------------------------------------------------


def test_class_attributes_are_fields_and_instances_keep_their_values() -> None:
    assert isinstance(Order.total, Field)
    assert Order.total.path == "total"
    assert Order.total.value_type is Decimal
    order = Order(customer="bob", total=Decimal("2"))
    assert order.total == Decimal("2")
    assert order.customer == "bob"
    order.total = Decimal("3")
    assert order.total == Decimal("3")
    assert repr(Order.total) == "<Field Order.total>"


def test_id_and_rev_are_their_couchdb_keys() -> None:
    assert sel(Order.id == "a") == {"_id": {"$eq": "a"}}
    assert sel(Order.rev != "1-x") == {"_rev": {"$ne": "1-x"}}


def test_a_subclass_field_belongs_to_the_subclass() -> None:
    assert RushOrder.level.path == "level"
    assert repr(RushOrder.total) == "<Field RushOrder.total>"
    with pytest.raises(AttributeError):
        _ = Order.level  # type: ignore[attr-defined]


def test_extra_and_meta_are_not_queryable() -> None:
    with pytest.raises(AttributeError):
        _ = Order.extra
    assert isinstance(Order.objects, Manager)
    assert Order.objects.model is Order


def test_objects_is_reached_through_the_class_and_is_a_reserved_name() -> None:
    with pytest.raises(AttributeError, match="through the class"):
        _ = Order(customer="x").objects  # type: ignore[misc]
    with pytest.raises(DocumentDefinitionError, match="objects"):

        class Bad(Document):
            objects: int = 0


# --- every operator ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (lambda: Order.customer == "bob", {"customer": {"$eq": "bob"}}),
        (lambda: Order.customer != "bob", {"customer": {"$ne": "bob"}}),
        (lambda: Order.n < 3, {"n": {"$lt": 3}}),
        (lambda: Order.n <= 3, {"n": {"$lte": 3}}),
        (lambda: Order.n > 3, {"n": {"$gt": 3}}),
        (lambda: Order.n >= 3, {"n": {"$gte": 3}}),
        (lambda: 3 < Order.n, {"n": {"$gt": 3}}),  # noqa: SIM300 (the reflected operator)
        (lambda: Order.customer.in_(["a", "b"]), {"customer": {"$in": ["a", "b"]}}),
        (lambda: Order.customer.not_in(("a",)), {"customer": {"$nin": ["a"]}}),
        (lambda: Order.customer.exists(), {"customer": {"$exists": True}}),
        (lambda: Order.customer.exists(False), {"customer": {"$exists": False}}),
        (lambda: Order.customer.regex("^b"), {"customer": {"$regex": "^b"}}),
        (lambda: Order.customer.regex(re.compile("(?i)bo")), {"customer": {"$regex": "(?i)bo"}}),
        (lambda: Order.anything.type_("string"), {"anything": {"$type": "string"}}),
        (lambda: Order.tags.size(2), {"tags": {"$size": 2}}),
        (lambda: Order.n.mod(4, 1), {"n": {"$mod": [4, 1]}}),
        (lambda: Order.tags.all_(["a", "b"]), {"tags": {"$all": ["a", "b"]}}),
        (lambda: Order.tags.contains("a"), {"tags": {"$elemMatch": {"$eq": "a"}}}),
        (lambda: Order.day == None, {"day": {"$eq": None}}),  # noqa: E711
    ],
)
def test_each_operator(expression: Any, expected: dict[str, Any]) -> None:
    assert sel(expression()) == expected


def test_operator_arguments_are_checked() -> None:
    with pytest.raises(TypeError):
        Order.customer.in_("ab")
    with pytest.raises(TypeError):
        Order.tags.size("2")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="divisor"):
        Order.n.mod(0, 1)
    with pytest.raises(ValueError, match="type"):
        Order.anything.type_("str")
    with pytest.raises(TypeError, match="constant values"):
        _ = Order.n == Order.amount


def test_elem_match_with_lookups_and_with_item_conditions() -> None:
    assert sel(Order.lines.elem_match(sku="a", qty__gt=2)) == {
        "lines": {"$elemMatch": {"sku": {"$eq": "a"}, "qty": {"$gt": 2}}}
    }
    item = Order.lines.item
    assert sel(Order.lines.elem_match(item.sku == "a", item.qty >= 2)) == {
        "lines": {"$elemMatch": {"sku": {"$eq": "a"}, "qty": {"$gte": 2}}}
    }
    scores = Order.scores.item
    assert sel(Order.scores.elem_match(scores > 5, scores < 9)) == {
        "scores": {"$elemMatch": {"$gt": 5, "$lt": 9}}
    }
    assert sel(Order.scores.all_match(gte=0)) == {"scores": {"$allMatch": {"$gte": 0}}}
    with pytest.raises(TypeError, match="at least one"):
        Order.lines.elem_match()


def test_nested_fields_use_json_keys() -> None:
    assert sel(Order.shipping.city == "Leeds") == {"shipping.city": {"$eq": "Leeds"}}
    assert sel(Order.shipping.zip_code == "LS1") == {"shipping.zip": {"$eq": "LS1"}}
    assert sel(Order.shipping["size"] > 2) == {"shipping.size": {"$gt": 2}}
    assert sel(Order.created_by == "me") == {"createdBy": {"$eq": "me"}}
    assert sel(Order.attributes.weight > 2) == {"attributes.weight": {"$gt": 2}}
    assert sel(Order.anything.deep.er == 1) == {"anything.deep.er": {"$eq": 1}}
    with pytest.raises(AttributeError, match="has no field 'town'"):
        _ = Order.shipping.town


def test_list_elements_by_index_and_lists_refuse_member_access() -> None:
    assert sel(Order.lines[0].sku == "a") == {"lines.0.sku": {"$eq": "a"}}
    assert sel(Order.tags[1] == "x") == {"tags.1": {"$eq": "x"}}
    with pytest.raises(AttributeError, match="elem_match"):
        _ = Order.lines.sku
    with pytest.raises(TypeError):
        _ = Order.tags[-1]


def test_a_dot_in_a_json_key_is_escaped() -> None:
    assert sel(Order.dotted == "x") == {"a\\.b": {"$eq": "x"}}


# --- values go through the converter -----------------------------------------------------


def test_values_are_compared_as_stored() -> None:
    # created is optional: a range leaves out the documents holding None, as Python would.
    assert sel(Order.created >= MOMENT) == {
        "created": {"$gte": "2024-05-01T12:30:00.000000+00:00", "$ne": None}
    }
    # Stored in UTC, and compared in UTC: 14:30+02:00 is 12:30Z.
    offset = datetime(2024, 5, 1, 14, 30, tzinfo=timezone(timedelta(hours=2)))
    assert sel(Order.created == offset) == {"created": {"$eq": "2024-05-01T12:30:00.000000+00:00"}}
    assert sel(Order.day == date(2024, 5, 1)) == {"day": {"$eq": "2024-05-01"}}
    # Decimals are stored as JSON numbers, so the server compares them as numbers.
    assert sel(Order.total == Decimal("9.50")) == {"total": {"$eq": 9.5}}
    assert sel(Order.total == 3) == {"total": {"$eq": 3}}
    # A range compares numbers only: text an earlier version stored ("7.25") sorts after
    # every number on the server and would match `> 50`.
    assert sel(Order.total > Decimal("50")) == {"total": {"$gt": 50, "$lt": ""}}
    assert sel(Order.total <= 50) == {"total": {"$lte": 50}}  # text sorts above it anyway
    assert sel(Order.color == Color.BLUE) == {"color": {"$eq": 2}}
    assert sel(Order.size == Size.LARGE) == {"size": {"$eq": "l"}}
    assert sel(Order.color.in_([Color.RED, Color.BLUE])) == {"color": {"$in": [1, 2]}}
    ref = uuid.UUID(int=1)
    assert sel(Order.ref == ref) == {"ref": {"$eq": str(ref)}}
    assert sel(Order.lines.contains(Line(sku="a"))) == {
        "lines": {"$elemMatch": {"$eq": {"sku": "a", "qty": 1}}}
    }
    assert sel(Order.amount > 1) == {"amount": {"$gt": 1}}
    assert sel(Order.created.in_([MOMENT])) == {
        "created": {"$in": ["2024-05-01T12:30:00.000000+00:00"]}
    }


def test_a_naive_datetime_is_refused_unless_the_class_allows_it() -> None:
    with pytest.raises(ValueError, match="naive"):
        _ = Order.created > datetime(2024, 1, 1)
    assert sel(NaiveOk.at > datetime(2024, 1, 1)) == {
        "at": {"$gt": "2024-01-01T00:00:00.000000", "$ne": None}
    }


def test_values_the_field_cant_hold_are_refused() -> None:
    cases: list[tuple[Any, str]] = [
        (lambda: Order.customer == 5, r"Order.customer: expected str, got int 5"),
        (lambda: Order.customer == None, r"got None .*Order.customer.exists\(False\)"),  # noqa: E711
        (lambda: Order.n > "3", r"Order.n: expected int, got str '3'"),
        (lambda: Order.total == 0.1, r"Order.total is a Decimal: compare it with a Decimal"),
        (lambda: Order.color == "red", r"Order.color: expected Color, got str 'red'"),
        (lambda: Order.tags.contains(3), r"Order.tags: expected str, got int 3"),
        (lambda: Order.customer.in_(["a", 1]), r"expected str, got int 1"),
        (lambda: Order.shipping.city == 1, r"Order.shipping.city: expected str, got int"),
        (lambda: Order.n == 2**60, r"beyond"),
        (lambda: Order.total == Decimal("0.12345678901234567"), r"exactly as a JSON number"),
        (lambda: Order.created > "2024-01-01", r"expected datetime \| None, got str"),
    ]
    for make, message in cases:
        with pytest.raises(TypeError, match=message):
            make()
    # Numbers compare across int and float as in Python.
    assert sel(Order.n > 2.5) == {"n": {"$gt": 2.5}}
    assert sel(Order.amount > 1) == {"amount": {"$gt": 1}}


def test_a_field_of_another_class_is_refused() -> None:
    class Customer(Document, doc_type="x-customer"):
        name: str

    with pytest.raises(TypeError, match=r"Customer.name is a field of Customer.*over Order"):
        Order.objects.filter(Customer.name == "x")
    with pytest.raises(TypeError, match="field of Customer"):
        Order.objects.filter((Order.n > 1) | ~(Customer.name == "x"))
    with pytest.raises(TypeError, match="field of Customer"):
        Order.lines.elem_match(Customer.name == "x")
    # A parent's and a subclass's fields are the same documents' fields.
    assert "n" in repr(RushOrder.objects.filter(Order.n > 1))
    assert "n" in repr(Order.objects.filter(RushOrder.n > 1))


def test_comparisons_warn_about_nothing() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _ = Order.total > 10  # a number on the server: compared as one
        _ = Order.total == 10
        _ = Order.amount > 10


# --- bool() and friends refuse -----------------------------------------------------------


def test_bool_of_an_expression_raises() -> None:
    with pytest.raises(TypeError, match="not a bool"):  # noqa: PT012 (the if is the point)
        if Order.total == 3:
            pass
    with pytest.raises(TypeError):
        bool((Order.n > 1) & (Order.n < 2))
    with pytest.raises(TypeError):
        _ = not Q(n=1)
    with pytest.raises(TypeError):
        bool(Order.n)
    with pytest.raises(TypeError, match="contains"):
        _ = "a" in Order.tags  # type: ignore[operator]
    with pytest.raises(TypeError, match="iterated"):
        list(Order.tags)  # type: ignore[call-overload]
    with pytest.raises(TypeError):
        hash(Order.n)


# --- Q and keyword lookups -----------------------------------------------------------


def test_q_lookups_bind_to_the_model() -> None:
    q = Q(customer="bob", n__gte=2, n__lt=9, shipping__city="York", tags__size=2)
    assert sel(q.resolve(Order)) == {
        "customer": {"$eq": "bob"},
        "n": {"$gte": 2, "$lt": 9},
        "shipping.city": {"$eq": "York"},
        "tags": {"$size": 2},
    }


@pytest.mark.parametrize(
    ("lookups", "expected"),
    [
        ({"n__eq": 1}, {"n": {"$eq": 1}}),
        ({"n__exact": 1}, {"n": {"$eq": 1}}),
        ({"n__ne": 1}, {"n": {"$ne": 1}}),
        ({"n__lte": 1}, {"n": {"$lte": 1}}),
        ({"n__gt": 1}, {"n": {"$gt": 1}}),
        ({"n__in": [1, 2]}, {"n": {"$in": [1, 2]}}),
        ({"n__nin": [1]}, {"n": {"$nin": [1]}}),
        ({"n__not_in": [1]}, {"n": {"$nin": [1]}}),
        ({"n__exists": False}, {"n": {"$exists": False}}),
        ({"customer__regex": "^a"}, {"customer": {"$regex": "^a"}}),
        ({"tags__all": ["a"]}, {"tags": {"$all": ["a"]}}),
        ({"tags__contains": "a"}, {"tags": {"$elemMatch": {"$eq": "a"}}}),
        ({"n__mod": (2, 0)}, {"n": {"$mod": [2, 0]}}),
        ({"anything__type": "number"}, {"anything": {"$type": "number"}}),
        ({"created_by": "x"}, {"createdBy": {"$eq": "x"}}),
        ({"id": "abc"}, {"_id": {"$eq": "abc"}}),
        (
            {"created__gt": MOMENT},
            {"created": {"$gt": "2024-05-01T12:30:00.000000+00:00", "$ne": None}},
        ),
        ({"shipping__size": 3}, {"shipping.size": {"$eq": 3}}),  # a field, not the lookup
        ({"shipping__size__gt": 3}, {"shipping.size": {"$gt": 3}}),
        ({"lines__0__sku": "a"}, {"lines.0.sku": {"$eq": "a"}}),
    ],
)
def test_each_lookup(lookups: dict[str, Any], expected: dict[str, Any]) -> None:
    assert sel(Q(**lookups).resolve(Order)) == expected


def test_q_combines_with_expressions_and_reports_unknown_fields() -> None:
    combined = (Q(customer="a") | Q(customer="b")) & (Order.n > 1)
    assert sel(combined.resolve(Order)) == {
        "$or": [{"customer": {"$eq": "a"}}, {"customer": {"$eq": "b"}}],
        "n": {"$gt": 1},
    }
    with pytest.raises(ValueError, match="no field 'nope'"):
        Q(nope=1).resolve(Order)


def test_an_unbound_q_uses_names_as_keys() -> None:
    assert sel(Q(status="new", total__gte=10)) == {
        "status": {"$eq": "new"},
        "total": {"$gte": 10},
    }
    assert sel(Q()) == {}


def test_col_types_a_field_for_checkers_without_the_plugin() -> None:
    assert col(Order.total) is Order.total
    with pytest.raises(TypeError, match="class-level"):
        col(3)


# --- the query set's selector ------------------------------------------------------------


def test_the_type_field_is_always_in_the_selector() -> None:
    assert QuerySet(RushOrder).selector() == {"type": "x-rush-order"}
    assert QuerySet(Order).selector() == {"type": {"$in": ["x-order", "x-rush-order"]}}
    selector = Order.objects.filter(Order.n > 1, customer="a").selector()
    assert selector == {
        "type": {"$in": ["x-order", "x-rush-order"]},
        "n": {"$gt": 1},
        "customer": {"$eq": "a"},
    }


def test_exclude_negates_its_conditions_together() -> None:
    assert Order.objects.exclude(customer="x", n=1).selector() == {
        "type": {"$in": ["x-order", "x-rush-order"]},
        "$not": {"customer": {"$eq": "x"}, "n": {"$eq": 1}},
    }


def test_sorting_mentions_the_sort_field_in_the_selector() -> None:
    assert RushOrder.objects.order_by(-RushOrder.created).selector() == {
        "type": "x-rush-order",
        "created": {"$exists": True},
    }
    filtered = RushOrder.objects.filter(RushOrder.created > MOMENT).order_by("-created")
    assert filtered.selector() == {
        "type": "x-rush-order",
        "created": {"$gt": "2024-05-01T12:30:00.000000+00:00", "$ne": None},
    }


def test_order_by_takes_one_direction() -> None:
    keys = Order.objects.order_by(-Order.created, -Order.id)._sort
    assert [k.to_json() for k in keys] == [{"created": "desc"}, {"_id": "desc"}]
    assert [k.to_json() for k in Order.objects.order_by("shipping__city", Order.n)._sort] == [
        {"shipping.city": "asc"},
        {"n": "asc"},
    ]
    assert isinstance(+Order.n, SortKey)
    descending = -Order.n
    assert (-descending).to_json() == {"n": "asc"}
    with pytest.raises(QueryError, match="one direction"):
        Order.objects.order_by(-Order.created, Order.id)


def test_query_sets_are_immutable() -> None:
    base = Order.objects.filter(customer="a")
    narrower = base.filter(Order.n > 1).limit(5).order_by(Order.n)
    assert base.selector() == {
        "type": {"$in": ["x-order", "x-rush-order"]},
        "customer": {"$eq": "a"},
    }
    assert narrower is not base
    assert narrower._limit == 5
    assert base._limit is None
    with pytest.raises(TypeError, match="exists"):
        bool(base)


def test_list_element_conditions_only_work_inside_elem_match() -> None:
    with pytest.raises(QueryError, match="elem_match"):
        Order.objects.filter(Order.lines.item.sku == "a")


def test_filter_rejects_plain_values() -> None:
    with pytest.raises(TypeError, match="query expressions"):
        Order.objects.filter(True)  # type: ignore[arg-type]


def test_partition_needs_a_partitioned_model() -> None:
    with pytest.raises(QueryError, match="not partitioned"):
        Order.objects.partition("p")


# --- partial objects ---------------------------------------------------------------------


def test_partial_objects_are_marked_and_refused_by_the_session() -> None:
    data = {"_id": "o1", "_rev": "1-a", "type": "x-order", "n": 4, "customer": "bob"}
    partial = load_partial(Order, data, ["n"])
    assert is_partial(partial)
    assert loaded_fields(partial) == frozenset({"id", "rev", "extra", "meta", "n"})
    assert partial.n == 4
    assert partial.id == "o1"
    assert partial.customer is NOT_LOADED  # not asked for, though the JSON had it
    assert "customer=<not loaded>" in repr(partial)
    with pytest.raises(AttributeError, match="partial"):
        _ = partial.total + 1
    with pytest.raises(AttributeError, match="partial"):
        _ = partial.customer.upper()
    session = Session(_client(), db="db")
    with pytest.raises(SessionError, match="partial"):
        session.add(partial)
    with pytest.raises(SessionError, match="partial"):
        session.delete(partial)
    assert not is_partial(Order(customer="x"))
    assert loaded_fields(Order(customer="x")) is None


def test_a_partial_object_is_loaded_as_its_own_class() -> None:
    data = {"_id": "o2", "type": "x-rush-order", "level": 3}
    partial = load_partial(Order, data, ["level"])
    assert type(partial) is RushOrder
    assert partial.level == 3


def _client() -> CloudantV1:
    client = CloudantV1(NoAuthAuthenticator())
    client.set_service_url("http://couch.test")
    return client

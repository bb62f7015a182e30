"""Declarations (View, Index, SearchIndex, Filter, ...) and design document generation."""

from __future__ import annotations

import json
import shutil
import subprocess
import types
from decimal import Decimal
from typing import Any, ClassVar

import attrs
import pytest

from cloudant_odm import Document, field
from cloudant_odm.design import (
    DesignDefinitionError,
    DesignOptions,
    Filter,
    Generated,
    Index,
    SearchIndex,
    ValidateDocUpdate,
    View,
    declarations_of,
    generate,
)
from cloudant_odm.models import DocumentDefinitionError
from cloudant_odm.schema import declarations
from cloudant_odm.schema.declarations import QueryRunners, normalize_js

NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node runs the generated JavaScript")


def run_js(source: str, docs: list[dict[str, Any]], kind: str = "map") -> list[Any]:
    """Run a generated map (``emit``) or search index (``index``) function over ``docs``
    with node; the calls it made, in order."""
    script = f"""
    var out = [];
    function emit(k, v) {{ out.push([k, v === undefined ? null : v]); }}
    function index(name, value, options) {{ out.push([name, value, options || null]); }}
    var fn = ({source});
    {json.dumps(docs)}.forEach(function (d) {{ fn(d); }});
    process.stdout.write(JSON.stringify(out));
    """
    assert NODE is not None
    done = subprocess.run(
        [NODE, "-e", script], capture_output=True, text=True, timeout=30, check=True
    )
    result: list[Any] = json.loads(done.stdout)
    return result


def make_order(**extra: Any) -> type[Document]:
    """A fresh Order class (design "orders") with ``extra`` declarations."""
    namespace: dict[str, Any] = {
        "__annotations__": {
            "customer": "str",
            "total": "Decimal",
            "status": "str",
            "created": "str",
        },
        "total": Decimal("0"),
        "status": "new",
        "created": field(default="", key="createdAt"),
        "Meta": type("Meta", (), {"design": "orders", "doc_type": "order"}),
        "__module__": __name__,
        # A class "defined in a function": the registry lets such classes replace
        # each other (every test defines its own Order).
        "__qualname__": "make_order.<locals>.Order",
        **extra,
    }
    return types.new_class("Order", (Document,), exec_body=lambda ns: ns.update(namespace))


# --- declaring -------------------------------------------------------------------------


def test_declarations_are_class_attributes_not_fields() -> None:
    class Order(Document):
        class Meta:
            design = "orders"

        customer: str
        by_customer = View.emit(key="customer")

    assert "by_customer" not in attrs.fields_dict(Order)
    assert Order.by_customer.model is Order
    assert Order.by_customer.name == "by_customer"
    assert Order.by_customer.attribute == "by_customer"
    assert Order.by_customer.ddoc == "orders"
    assert Order(customer="x").by_customer is Order.by_customer  # not per instance
    assert declarations_of(Order) == [Order.by_customer]


def test_classvar_annotation_is_accepted() -> None:
    class Order(Document):
        customer: str
        by_customer: ClassVar[View] = View.emit(key="customer")

    assert "by_customer" not in attrs.fields_dict(Order)
    assert Order.by_customer.ddoc == "order"


def test_an_annotated_declaration_is_refused() -> None:
    with pytest.raises(DesignDefinitionError, match="without a type annotation"):

        class Order(Document):
            customer: str
            by_customer: View = View.emit(key="customer")


def test_design_document_name_defaults() -> None:
    class Plain(Document):
        name: str
        v = View.emit(key="name")
        w = View.emit(key="name", design="other")

    assert Plain.v.ddoc == "plain"  # the doc_type
    assert Plain.w.ddoc == "other"

    class Grouped(Document):
        class Meta:
            design = "grouped"
            doc_type = "g"

        name: str
        v = View.emit(key="name")

    assert Grouped.v.ddoc == "grouped"


def test_definition_errors_are_document_definition_errors() -> None:
    assert issubclass(DesignDefinitionError, DocumentDefinitionError)


def test_unknown_field_fails_the_class_statement() -> None:
    with pytest.raises(DesignDefinitionError, match=r"Order\.by_x: 'nope' is not a field of Order"):

        class Order(Document):
            customer: str
            by_x = View.emit(key="nope")


def test_a_class_whose_declarations_fail_is_not_registered() -> None:
    from cloudant_odm.models import registry

    with pytest.raises(DesignDefinitionError):

        class Ghost(Document):
            class Meta:
                doc_type = "ghost-with-bad-view"

            name: str
            v = View.emit(key="nope")

    assert registry.lookup("ghost-with-bad-view") is None


def test_unknown_index_field_fails_the_class_statement() -> None:
    with pytest.raises(DesignDefinitionError, match="'stauts' is not a field"):

        class Order(Document):
            status: str
            idx = Index("stauts")


def test_declaration_outside_a_document_class() -> None:
    # Before Python 3.12 an error in __set_name__ arrives wrapped in a RuntimeError.
    with pytest.raises((DesignDefinitionError, RuntimeError)) as info:

        class NotADocument:
            v = View.emit(key="x")

    error = info.value if isinstance(info.value, DesignDefinitionError) else info.value.__cause__
    assert "must be declared on a Document subclass" in str(error)

    with pytest.raises(DesignDefinitionError, match="not declared on a Document class"):
        View.emit(key="x").ddoc  # noqa: B018


def test_a_declaration_can_not_be_shared() -> None:
    class A(Document):
        name: str
        v = View.emit(key="name")

    with pytest.raises(DesignDefinitionError, match=r"already declared as A\.v"):

        class B(Document):
            name: str
            v = A.v


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        ({"design": "bad/name"}, "invalid design document name 'bad/name'"),
        ({"design": "orders_NEW"}, "ends with _NEW or _OLD"),
        ({"doc_type": "order:v2"}, "set Meta.design or design="),
    ],
)
def test_bad_design_document_names(meta: dict[str, str], message: str) -> None:
    with pytest.raises(DesignDefinitionError, match=message):
        types.new_class(
            "Bad",
            (Document,),
            exec_body=lambda ns: ns.update(
                {
                    "__annotations__": {"name": "str"},
                    "Meta": type("Meta", (), meta),
                    "v": View.emit(key="name"),
                    "__module__": __name__,
                }
            ),
        )


def test_bad_member_names_are_refused_at_once() -> None:
    with pytest.raises(DesignDefinitionError, match="invalid view name 'has space'"):
        View.emit(key="x", name="has space")
    with pytest.raises(DesignDefinitionError, match="invalid Mango index name"):
        Index("x", name="-x")
    with pytest.raises(DesignDefinitionError, match="ends with _NEW or _OLD"):
        View.emit(key="x", design="orders_OLD")


# --- views -----------------------------------------------------------------------------


def test_js_source_is_normalised() -> None:
    messy = (
        "\r\n        function (doc) {   \r\n            emit(doc._id, 1);\t\r\n        }\r\n\r\n"
    )
    assert normalize_js(messy) == "function (doc) {\n    emit(doc._id, 1);\n}"
    view = View(map=messy, reduce="  _count ")
    assert view.reduce == "_count"
    same = View(map="function (doc) {\n    emit(doc._id, 1);\n}", reduce="_count")
    assert view._map == same._map


@pytest.mark.parametrize("reduce", ["_count", "_sum", "_stats", "_approx_count_distinct"])
def test_builtin_reduces(reduce: str) -> None:
    assert View(map="function (doc) {}", reduce=reduce).reduce == reduce


def test_unknown_builtin_reduce_is_refused() -> None:
    with pytest.raises(DesignDefinitionError, match="unknown built-in reduce '_bogus'"):
        View(map="function (doc) {}", reduce="_bogus")


def test_js_reduce_is_kept_normalised() -> None:
    view = View(map="function (doc) {}", reduce="  function (k, v, re) {\n    return 1;\n  }  ")
    assert view.reduce == "function (k, v, re) {\n  return 1;\n}"


def test_map_is_required() -> None:
    with pytest.raises(DesignDefinitionError, match="must be JavaScript"):
        View(map="  ")


def test_numeric_reduce_needs_a_value() -> None:
    with pytest.raises(DesignDefinitionError, match="needs a numeric value"):
        View.emit(key="status", reduce="_sum")
    with pytest.raises(DesignDefinitionError, match="not an object"):
        View.emit(key="status", value={"t": "total"}, reduce="_stats")


def test_emit_generates_a_guarded_map_with_json_keys() -> None:
    order = make_order(by_created=View.emit(key=["status", "created"], value="customer"))
    source = order.by_created.map  # type: ignore[attr-defined]
    assert source.startswith('function (doc) {\n  if (doc["type"] !== "order") return;')
    assert 'doc["createdAt"]' in source  # field(key=...) is the JSON key
    assert "emit([key0, key1], value0);" in source


@needs_node
def test_emit_semantics() -> None:
    order = make_order(
        by_status=View.emit(key="status", value="total", reduce="_sum"),
        pair=View.emit(key=["status", "customer"], value=["customer", "total"]),
        obj=View.emit(key="id", value={"who": "customer"}),
    )
    docs = [
        {"_id": "a", "type": "order", "status": "new", "customer": "ann", "total": "9.50"},
        {"_id": "b", "type": "order", "status": "paid", "customer": "bob", "total": 3},
        {"_id": "c", "type": "order", "customer": "cy", "total": "1"},  # no status
        {"_id": "d", "type": "order", "status": "new", "customer": "dee", "total": "x"},
        {"_id": "e", "type": "user", "status": "new", "customer": "eve", "total": 1},
        {"_id": "f", "type": "order", "status": "new", "total": 2},  # no customer
    ]
    assert run_js(order.by_status.map, docs) == [  # type: ignore[attr-defined]
        ["new", 9.5],  # Decimal strings become numbers for _sum
        ["paid", 3],
        ["new", 2],  # d ("x") is skipped, c has no key, e is not an order
    ]
    assert run_js(order.pair.map, docs) == [  # type: ignore[attr-defined]
        [["new", "ann"], ["ann", "9.50"]],
        [["paid", "bob"], ["bob", 3]],
        [["new", "dee"], ["dee", "x"]],
    ]
    assert run_js(order.obj.map, docs)[0] == ["a", {"who": "ann"}]  # type: ignore[attr-defined]
    assert run_js(order.obj.map, docs)[-1] == ["f", {"who": None}]  # type: ignore[attr-defined]


@needs_node
def test_emit_nested_fields_and_subclasses() -> None:
    @attrs.define
    class Address:
        city: str

    class Shop(Document):
        class Meta:
            doc_type = "shop"

        address: Address | None = None
        by_city = View.emit(key="address.city")

    class BigShop(Shop):
        class Meta:
            doc_type = "bigshop"

    source = Shop.by_city.map
    assert '["bigshop", "shop"].indexOf(doc["type"]) === -1' in source
    docs = [
        {"type": "shop", "address": {"city": "Leeds"}},
        {"type": "bigshop", "address": {"city": "York"}},
        {"type": "shop", "address": None},
        {"type": "shop", "address": "not an object"},
        {"type": "shop"},
    ]
    assert run_js(source, docs) == [["Leeds", None], ["York", None]]
    assert BigShop.by_city is Shop.by_city  # inherited, still Shop's


# --- Mango indexes ---------------------------------------------------------------------


def test_json_index_definition() -> None:
    order = make_order(
        status_created=Index("status", "created", partial_filter={"total": {"$gt": "0"}}),
    )
    index = order.status_created  # type: ignore[attr-defined]
    assert index.kind == "json"
    assert index.fields == ["status", "created"]
    assert index.partial_filter == {"total": {"$gt": "0"}}
    assert index.ddoc.startswith("orders-status_created-")
    assert len(index.ddoc) == len("orders-status_created-") + 8
    assert index.use_index == [index.ddoc, "status_created"]
    assert index.definition() == {
        "index": {
            "fields": [{"status": "asc"}, {"createdAt": "asc"}],
            "partial_filter_selector": {"total": {"$gt": "0"}},
        },
        "type": "json",
        "ddoc": index.ddoc,
        "name": "status_created",
    }


def test_index_design_document_follows_the_definition() -> None:
    a = make_order(idx=Index("status")).idx  # type: ignore[attr-defined]
    same = make_order(idx=Index("status")).idx  # type: ignore[attr-defined]
    other = make_order(idx=Index("status", "customer")).idx  # type: ignore[attr-defined]
    desc = make_order(idx=Index({"status": "desc"})).idx  # type: ignore[attr-defined]
    assert a.ddoc == same.ddoc
    assert len({a.ddoc, other.ddoc, desc.ddoc}) == 3
    assert desc.json_fields() == [{"status": "desc"}]


def test_index_partial_filter_from_an_expression_or_a_callable() -> None:
    class Expr:
        def __init__(self) -> None:
            self.bound_to: Any = None

        def resolve(self, model: Any) -> Expr:
            self.bound_to = model
            return self

        def to_selector(self) -> dict[str, Any]:
            return {"total": {"$gt": "0"}}

    expr = Expr()
    order = make_order(
        a=Index("status", partial_filter=expr),
        b=Index("customer", partial_filter=lambda: {"status": "paid"}),
    )
    assert order.a.partial_filter == {"total": {"$gt": "0"}}  # type: ignore[attr-defined]
    assert expr.bound_to is order
    assert order.b.partial_filter == {"status": "paid"}  # type: ignore[attr-defined]
    with pytest.raises(DesignDefinitionError, match="expected a selector dict"):
        make_order(c=Index("status", partial_filter=42))


def test_lazy_selectors_naming_the_class_being_defined() -> None:
    from cloudant_odm import Q

    # Inside its own body the class does not exist yet: a lambda defers the expression
    # to first use, and Q(...) binds to the class's JSON keys.
    class Shop(Document):
        class Meta:
            design = "shops"

        name: str
        rating: int = 0
        state: str = field(default="open", key="status")
        good = Index("name", partial_filter=lambda: Shop.rating > 3)
        open_ones = Index("name", partial_filter=Q(state="open"))
        open_feed = Filter.selector(lambda: Shop.state == "open")

    assert Shop.good.lazy
    assert Shop.good.partial_filter == {"rating": {"$gt": 3}}
    assert Shop.open_ones.partial_filter == {"status": {"$eq": "open"}}
    assert Shop.open_feed.selector_dict == {"$and": [{"type": "shop"}, {"status": {"$eq": "open"}}]}
    assert [i.name for i in generate(Shop).indexes] == ["good", "open_ones"]

    class Broken(Document):
        name: str
        idx = Index("name", partial_filter=lambda: Nowhere.rating > 3)  # type: ignore[name-defined]  # noqa: F821

    with pytest.raises(DesignDefinitionError, match="the selector callable failed: NameError"):
        generate(Broken)


def test_index_fields_are_checked() -> None:
    with pytest.raises(DesignDefinitionError, match="mix of asc and desc"):
        Index("a", {"b": "desc"})
    with pytest.raises(DesignDefinitionError, match="asc"):
        Index({"a": "up"})
    with pytest.raises(DesignDefinitionError, match="field names"):
        Index(3)  # type: ignore[arg-type]


def test_text_index() -> None:
    order = make_order(
        txt=Index.text("customer", {"total": "number"}, analyzer="english", default_field=False)
    )
    index = order.txt  # type: ignore[attr-defined]
    assert index.kind == "text"
    assert index.definition()["index"] == {
        "fields": [{"name": "customer", "type": "string"}, {"name": "total", "type": "number"}],
        "default_analyzer": "english",
        "default_field": {"enabled": False},
    }
    with pytest.raises(DesignDefinitionError, match="unknown analyzer"):
        Index.text("customer", analyzer="klingon")
    with pytest.raises(DesignDefinitionError, match="string"):
        Index.text({"customer": "date"})


# --- search indexes --------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["standard", "email", "keyword", "simple", "whitespace", "classic", "english"]
)
def test_analyzer_names(name: str) -> None:
    index = SearchIndex(index="function (doc) { index('a', doc.a); }", analyzer=name)
    assert index._analyzer == name


@pytest.mark.parametrize(
    ("analyzer", "message"),
    [
        ("standrad", "unknown analyzer 'standrad'"),
        ("perfield", "needs its fields"),
        ({"name": "perfield", "default": "nope"}, "unknown analyzer 'nope'"),
        ({"name": "perfield", "fields": {"a": "perfield"}}, "unknown analyzer 'perfield'"),
        ({"name": "standard", "fields": {}}, "only go with the perfield"),
        ({"name": "standard", "bogus": 1}, "unknown key"),
        ({"name": "perfield", "stopwords": ["a"]}, "takes no stopwords"),
        ({"name": "standard", "stopwords": "a"}, "list of strings"),
    ],
)
def test_bad_analyzers_are_refused(analyzer: Any, message: str) -> None:
    with pytest.raises(DesignDefinitionError, match=message):
        SearchIndex(index="function (doc) {}", analyzer=analyzer)


def test_bad_analyzer_fails_the_class_statement() -> None:
    with pytest.raises(DesignDefinitionError, match="unknown analyzer 'klingon'"):

        class Order(Document):
            customer: str
            fulltext = SearchIndex(fields={"customer": "klingon"})


def test_search_index_analyzers() -> None:
    order = make_order(
        plain=SearchIndex(index="function (doc) { index('default', doc.customer); }"),
        stop=SearchIndex(fields=["customer"], analyzer="english", stopwords=["the", "a"]),
        per=SearchIndex(fields={"customer": "keyword", "status": {"store": True}}),
        explicit=SearchIndex(
            index="function (doc) {}",
            analyzer={"name": "perfield", "default": "english", "fields": {"sku": "keyword"}},
        ),
    )
    assert order.plain.analyzer == "standard"  # type: ignore[attr-defined]
    assert order.stop.analyzer == {"name": "english", "stopwords": ["the", "a"]}  # type: ignore[attr-defined]
    assert order.per.analyzer == {  # type: ignore[attr-defined]
        "name": "perfield",
        "default": "standard",
        "fields": {"customer": "keyword"},
    }
    assert order.explicit.analyzer["fields"] == {"sku": "keyword"}  # type: ignore[attr-defined]
    with pytest.raises(DesignDefinitionError, match="not both"):
        SearchIndex(index="function (doc) {}", fields=["a"])
    with pytest.raises(DesignDefinitionError, match="unknown option"):
        SearchIndex(fields={"a": {"stored": True}})


@needs_node
def test_search_index_function() -> None:
    order = make_order(per=SearchIndex(fields={"customer": {"store": True}, "status": "keyword"}))
    docs = [
        {"type": "order", "customer": ["ann", "bob"], "status": "new"},
        {"type": "order", "customer": None, "status": {"nested": 1}},
        {"type": "user", "customer": "eve"},
    ]
    assert run_js(order.per.index, docs) == [  # type: ignore[attr-defined]
        ["customer", "ann", {"store": True}],
        ["customer", "bob", {"store": True}],
        ["status", "new", {}],
    ]


# --- filters, validation, options --------------------------------------------------------


def test_filters() -> None:
    order = make_order(
        by_status=Filter("function (doc, req) { return doc.status === req.query.status; }"),
        paid=Filter.selector({"status": "paid"}),
        lazy=Filter.selector(lambda: {"total": {"$gt": "1"}}),
    )
    assert order.by_status.changes_params(status="new") == {  # type: ignore[attr-defined]
        "filter": "orders/by_status",
        "filter_params": {"status": "new"},
    }
    assert order.paid.is_selector  # type: ignore[attr-defined]
    assert order.paid.changes_params() == {  # type: ignore[attr-defined]
        "filter": "_selector",
        "selector": {"$and": [{"type": "order"}, {"status": "paid"}]},
    }
    assert order.lazy.selector_dict["$and"][1] == {"total": {"$gt": "1"}}  # type: ignore[attr-defined]
    body = generate([order])["orders"].body
    assert set(body["filters"]) == {"by_status"}  # selector filters are not deployed


def test_partitioned_design_documents_refuse_filters_and_validation() -> None:
    with pytest.raises(DesignDefinitionError, match="partitioned: filters are not allowed"):

        class P1(Document):
            class Meta:
                partitioned = True

            name: str
            f = Filter("function (doc, req) { return true; }")

    with pytest.raises(DesignDefinitionError, match="validate_doc_update is not allowed"):

        class P2(Document):
            class Meta:
                partitioned = True

            name: str
            v = ValidateDocUpdate("function (newDoc) {}")

    with pytest.raises(DesignDefinitionError, match="only takes built-in reduce"):

        class P3(Document):
            class Meta:
                partitioned = True

            name: str
            v = View(map="function (doc) { emit(doc.name, 1); }", reduce="function (k, v) {}")


def test_partitioned_and_global_do_not_mix() -> None:
    with pytest.raises(DesignDefinitionError, match=r"mixes partitioned .* and global"):

        class P(Document):
            class Meta:
                partitioned = True

            name: str
            local = View.emit(key="name")
            everywhere = View.emit(key="name", partitioned=False)

    class Ok(Document):
        class Meta:
            partitioned = True
            design = "ok"

        name: str
        local = View.emit(key="name")
        # A global design document in a partitioned database: its options say so, and
        # everything in it follows.
        global_options = DesignOptions(design="ok-global", partitioned=False)
        everywhere = View.emit(key="name", design="ok-global")
        checks = ValidateDocUpdate("function (newDoc) {}", design="ok-global")

    generated = generate(Ok)
    assert generated["ok"].body["options"] == {"partitioned": True}
    assert generated["ok-global"].body["options"] == {"partitioned": False}
    assert Ok.everywhere.partitioned is False
    assert Ok.local.partitioned is True


def test_design_options() -> None:
    class Order(Document):
        class Meta:
            design = "orders"

        name: str
        v = View.emit(key="name")
        options = DesignOptions(autoupdate=False)

    body = generate(Order)["orders"].body
    assert body["autoupdate"] is False
    assert body["language"] == "javascript"
    assert "options" not in body  # a non-partitioned model says nothing
    with pytest.raises(DesignDefinitionError, match="Mango indexes"):
        DesignOptions(language="query")


def test_validate_doc_update_at_most_once_per_design_document() -> None:
    with pytest.raises(DesignDefinitionError, match="more than one validate_doc_update"):

        class Order(Document):
            name: str
            a = ValidateDocUpdate("function (newDoc) {}")
            b = ValidateDocUpdate("function (newDoc) { }")


# --- generation ------------------------------------------------------------------------


def test_generate_is_byte_identical_for_the_same_declarations() -> None:
    def declare() -> Generated:
        order = make_order(
            by_status=View.emit(key="status", value="total", reduce="_stats"),
            by_customer=View(
                map="""
                    function (doc) {
                        if (doc.type === 'order') emit(doc.customer, null);
                    }
                """
            ),
            idx=Index("status"),
            fulltext=SearchIndex(fields={"customer": "standard"}),
            f=Filter("function (doc, req) { return true; }"),
            v=ValidateDocUpdate("function (newDoc) {}"),
        )
        return generate([order])

    first, second = declare(), declare()
    assert first.to_json() == second.to_json()
    assert [d.to_json() for d in first] == [d.to_json() for d in second]
    assert first == second
    text = first["orders"].to_json()
    assert text == json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))
    body = first["orders"].body
    assert list(body) == sorted(body)
    assert body["meta"] == {"generated_by": "cloudant_odm", "models": ["Order"]}
    assert body["views"]["by_customer"]["map"] == (
        "function (doc) {\n    if (doc.type === 'order') emit(doc.customer, null);\n}"
    )


def test_generate_from_a_module_and_across_classes() -> None:
    module = types.ModuleType("shop_models")

    class Order(Document):
        class Meta:
            design = "shop"
            doc_type = "order"

        customer: str
        by_customer = View.emit(key="customer")

    class User(Document):
        class Meta:
            design = "shop"
            doc_type = "user"

        email: str
        by_email = View.emit(key="email")
        idx = Index("email")

    module.Order = Order  # type: ignore[attr-defined]
    module.User = User  # type: ignore[attr-defined]
    module.Document = Document  # type: ignore[attr-defined]
    generated = generate(module)
    assert [d.name for d in generated] == ["shop"]
    assert set(generated["_design/shop"].body["views"]) == {"by_customer", "by_email"}
    assert generated["shop"].body["meta"]["models"] == ["Order", "User"]
    assert [i.name for i in generated.indexes] == ["idx"]
    assert generated.indexes[0].group == "shop-idx"
    with pytest.raises(KeyError):
        generated["nope"]


def test_cross_class_conflicts_are_found_by_generate() -> None:
    class A(Document):
        class Meta:
            design = "shared"

        name: str
        same = View.emit(key="name")

    class B(Document):
        class Meta:
            design = "shared"

        name: str
        same = View.emit(key="name")

    with pytest.raises(DesignDefinitionError, match=r"A\.same and B\.same are both named 'same'"):
        generate([A, B])

    class C(Document):
        class Meta:
            design = "shared"
            partitioned = True

        name: str
        other = View.emit(key="name")

    with pytest.raises(DesignDefinitionError, match="mixes partitioned"):
        generate([A, C])

    class D(Document):
        class Meta:
            design = "shared"

        name: str
        opts = DesignOptions(autoupdate=True)

    class E(Document):
        class Meta:
            design = "shared"

        name: str
        opts = DesignOptions(autoupdate=False)

    with pytest.raises(DesignDefinitionError, match="conflicting autoupdate"):
        generate([A, D, E])

    class Lonely(Document):
        name: str
        opts = DesignOptions(autoupdate=False, design="empty")

    with pytest.raises(DesignDefinitionError, match="has options but nothing declared"):
        generate(Lonely)


def test_mango_indexes_never_share_a_javascript_design_document() -> None:
    class A(Document):
        name: str
        idx = Index("name")

    class B(Document):
        name: str
        v = View.emit(key="name", design=A.idx.ddoc)

    with pytest.raises(DesignDefinitionError, match="Mango indexes never share one"):
        generate([A, B])


def test_abstract_class_declarations_are_checked_at_generation() -> None:
    class Base(Document, abstract=True):
        name: str
        by_name = View.emit(key="name")

    with pytest.raises(DesignDefinitionError, match="no concrete document types"):
        generate(Base)

    class Concrete(Base):
        pass

    source = generate(Base)["base"].body["views"]["by_name"]["map"]
    assert '"concrete"' in source


def test_generate_rejects_other_things() -> None:
    with pytest.raises(TypeError, match="expected Document classes or modules"):
        generate([42])  # type: ignore[list-item]


# --- query / search delegate to the query layer --------------------------------------------


def test_query_and_search_delegate(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, ...]] = []

    def query_view(view: Any, session: Any, **params: Any) -> str:
        calls.append((view, session, params))
        return "rows"

    def search_index(index: Any, session: Any, query: str, **params: Any) -> str:
        calls.append((index, session, query, params))
        return "hits"

    # The query layer hands its functions down to the declarations (no upward import).
    runners = QueryRunners(view=query_view, search=search_index)  # type: ignore[arg-type]
    monkeypatch.setattr(declarations, "_runners", runners)
    order = make_order(v=View.emit(key="status"), s=SearchIndex(fields=["customer"]))
    session: Any = object()
    assert order.v.query(session, key="new", limit=2) == "rows"  # type: ignore[attr-defined]
    assert order.s.search(session, "customer:a*", limit=1) == "hits"  # type: ignore[attr-defined]
    assert calls == [
        (order.v, session, {"key": "new", "limit": 2}),  # type: ignore[attr-defined]
        (order.s, session, "customer:a*", {"limit": 1}),  # type: ignore[attr-defined]
    ]

"""References between documents (``Ref[Customer]``): the value, assigning documents,
the JSON form and the write checks; resolving through a session, with mocked HTTP (a
small in-memory server that counts the requests)."""

from __future__ import annotations

import copy
import gzip
import json
import pickle
import re
from collections.abc import Iterator
from typing import Any

import pytest
import responses

from cloudant_odm import (
    DanglingReference,
    Document,
    DocumentDefinitionError,
    DocumentTypeError,
    DocumentValidationError,
    DoesNotExist,
    Embedded,
    Q,
    QueryError,
    QuerySet,
    Ref,
    Session,
    field,
)
from cloudant_odm.client import CloudantV1, NoAuthAuthenticator, NotFoundError
from cloudant_odm.converter import from_json, to_json


class Customer(Document, doc_type="ref-customer", db="crm"):
    name: str


class VipCustomer(Customer, doc_type="ref-vip"):
    level: int = 1


class Product(Document, doc_type="ref-product", db="shop"):
    sku: str


class Shelf(Document, doc_type="ref-shelf", partitioned=True):
    label: str = ""


class Line(Embedded):
    product: Ref[Product]
    qty: int = 1


class Order(Document, doc_type="ref-order", db="orders"):
    customer: Ref[Customer]
    backup: Ref[Customer] | None = None
    products: list[Ref[Product]] = field(factory=list)
    lines: list[Line] = field(factory=list)
    shelf: Ref[Shelf] | None = None


def customer(doc_id: str = "c-1") -> Customer:
    return Customer(id=doc_id, name=doc_id)


def product(doc_id: str = "p-1") -> Product:
    return Product(id=doc_id, sku=doc_id)


# -- the value -------------------------------------------------------------------------


def test_a_ref_is_an_immutable_value_with_the_class_and_the_id() -> None:
    ref = Ref(Customer, "c-1")
    assert (ref.model, ref.id) == (Customer, "c-1")
    assert repr(ref) == "Ref(Customer, 'c-1')"
    assert ref == Ref(Customer, "c-1")
    assert hash(ref) == hash(Ref(Customer, "c-1"))
    assert ref != Ref(Customer, "c-2")
    assert ref != Ref(Product, "c-1")  # unrelated classes: not the same document
    # As in a query, a reference equals its id and its document, in Python too.
    assert ref == "c-1"
    assert "c-1" == ref  # noqa: SIM300  (the reflected comparison is the point)
    assert ref != "c-2"
    assert ref in ["c-1"]
    assert "c-1" in {ref}
    assert ref == Customer(id="c-1", name="Ann")
    assert Customer(id="c-1", name="Ann") == ref
    assert ref != Customer(id="c-2", name="Bob")
    # A subclass's reference is the same reference (a field loads Ref[Customer] back).
    assert Ref(VipCustomer, "c-1") == ref
    assert len({ref, Ref(VipCustomer, "c-1")}) == 1
    with pytest.raises(AttributeError, match="immutable"):
        ref.id = "c-2"  # type: ignore[misc]
    assert copy.deepcopy(ref) is ref
    assert pickle.loads(pickle.dumps(ref)) == ref


def test_a_ref_needs_a_document_class_and_an_id() -> None:
    with pytest.raises(TypeError, match="Document class"):
        Ref(str, "x")  # type: ignore[type-var]
    with pytest.raises(ValueError, match=r"expected a document id, got ''"):
        Ref(Customer, "")
    with pytest.raises(ValueError, match="can't start with '_'"):
        Ref(Customer, "_design/x")
    with pytest.raises(ValueError, match="Shelf is partitioned"):
        Ref(Shelf, "no-partition")
    assert Ref(Shelf, "store:7").id == "store:7"


def test_ref_to_a_document_takes_its_id() -> None:
    assert Ref.to(customer()) == Ref(Customer, "c-1")
    assert Ref.to(VipCustomer(id="v", name="v")).model is VipCustomer
    with pytest.raises(ValueError, match="Customer has no id yet: add it to a session first"):
        Ref.to(Customer(name="new"))
    with pytest.raises(TypeError, match="takes a document"):
        Ref.to("c-1")  # type: ignore[type-var]


# -- declaring ---------------------------------------------------------------------------


def test_a_ref_field_must_name_a_document_class() -> None:
    with pytest.raises(DocumentDefinitionError, match=r"Bare.target: a bare Ref"):

        class Bare(Document, doc_type="ref-bare"):
            target: Ref  # type: ignore[type-arg]

    with pytest.raises(DocumentDefinitionError, match=r"ToInt.target: Ref\[int\]: not a Document"):

        class ToInt(Document, doc_type="ref-to-int"):
            target: Ref[int]  # type: ignore[type-var]


# -- assigning documents -------------------------------------------------------------------


def test_assigning_a_document_stores_a_ref_to_its_id() -> None:
    order = Order(id="o-1", customer=customer(), products=[product(), Ref(Product, "p-2")])
    assert order.customer == Ref(Customer, "c-1")
    assert order.customer.__class__ is Ref
    assert order.products == [Ref(Product, "p-1"), Ref(Product, "p-2")]
    order.backup = VipCustomer(id="v-1", name="v")
    # The field's class, whatever subclass was assigned: as it loads back.
    assert order.backup.model is Customer
    order.lines = [Line(product=product("p-3"))]
    assert order.lines[0].product == Ref(Product, "p-3")
    order.backup = None
    assert order.backup is None


def test_a_list_without_documents_is_kept_as_it_is() -> None:
    refs = [Ref(Product, "p-1")]
    order = Order(customer=Ref(Customer, "c"), products=refs)
    assert order.products is refs


def test_assigning_a_document_without_an_id_is_refused_at_once() -> None:
    with pytest.raises(DocumentValidationError) as caught:
        Order(customer=Customer(name="new"))
    assert str(caught.value) == (
        "Order: customer: Customer has no id yet: add it to a session first (Session.add "
        "gives it its id) or give it one, then refer to it"
    )
    order = Order(customer=customer())
    with pytest.raises(DocumentValidationError, match="products: Product has no id yet"):
        order.products = [Product(sku="new")]
    assert order.customer == Ref(Customer, "c-1")  # unchanged


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (product("p-9"), "customer: expected Ref[Customer], got Product 'p-9'"),
        ("c-1", "customer: expected Ref[Customer], got str 'c-1': write Ref(Customer, 'c-1')"),
        (Ref(Product, "p-9"), "customer: expected Ref[Customer], got Ref(Product, 'p-9')"),
        (None, "customer: expected Ref[Customer], got None"),
        (5, "customer: expected Ref[Customer], got int 5"),
    ],
)
def test_other_values_are_refused_before_a_write(value: object, message: str) -> None:
    order = Order(id="o-1", customer=customer())
    order.customer = value  # type: ignore[assignment]
    with pytest.raises(DocumentValidationError) as caught:
        to_json(order)
    assert str(caught.value) == f"Order 'o-1': {message}"


def test_an_optional_ref_field_keeps_the_hint_of_what_to_write() -> None:
    order = Order(id="o-1", customer=customer())
    order.backup = "c-1"  # type: ignore[assignment]
    with pytest.raises(
        DocumentValidationError,
        match=r"backup: expected Ref\[Customer\], got "
        r"str 'c-1': write Ref\(Customer, 'c-1'\)",
    ):
        to_json(order)
    order.backup = 5  # type: ignore[assignment]
    with pytest.raises(
        DocumentValidationError, match=r"expected Ref\[Customer\] \| None, got int 5"
    ):
        to_json(order)


def test_a_document_put_into_a_list_is_refused_with_what_to_write() -> None:
    order = Order(id="o-1", customer=customer())
    order.products.append(product())  # type: ignore[arg-type]
    with pytest.raises(
        DocumentValidationError,
        match=r"products\[0\]: expected Ref\[Product\], "
        r"got the Product 'p-1' itself: store Ref.to\(it\)",
    ):
        to_json(order)


def test_a_ref_to_a_base_class_is_refused_for_a_subclass_field() -> None:
    class VipOrder(Document, doc_type="ref-vip-order"):
        vip: Ref[VipCustomer]

    order = VipOrder(id="v-o", vip=Ref(VipCustomer, "v"))
    order.vip = Ref(Customer, "c")  # type: ignore[assignment]
    with pytest.raises(DocumentValidationError, match=r"expected Ref\[VipCustomer\], got Ref"):
        to_json(order)


# -- JSON --------------------------------------------------------------------------------


def test_refs_are_stored_as_id_strings_and_load_back() -> None:
    order = Order(
        id="o-1",
        customer=customer(),
        backup=Ref(Customer, "c-2"),
        products=[Ref(Product, "p-1")],
        lines=[Line(product=Ref(Product, "p-2"), qty=2)],
        shelf=Ref(Shelf, "s:1"),
    )
    body = to_json(order)
    assert body == {
        "_id": "o-1",
        "type": "ref-order",
        "customer": "c-1",
        "backup": "c-2",
        "products": ["p-1"],
        "lines": [{"product": "p-2", "qty": 2}],
        "shelf": "s:1",
    }
    assert from_json(body, Order) == order


def test_plain_ids_written_by_other_programs_load_as_refs() -> None:
    data = {"_id": "o-9", "type": "ref-order", "customer": "c-7", "products": ["p-1", "p-2"]}
    order = from_json(data, Order)
    assert order.customer == Ref(Customer, "c-7")
    assert order.customer.model is Customer
    assert order.backup is None
    assert [p.id for p in order.products] == ["p-1", "p-2"]


def test_values_that_are_no_ids_are_refused_on_load() -> None:
    data = {
        "_id": "o-9",
        "type": "ref-order",
        "customer": 7,
        "products": ["", "_design/x"],
        "shelf": "nopartition",
    }
    with pytest.raises(DocumentValidationError) as caught:
        from_json(data, Order)
    assert caught.value.errors == [
        ("customer", "expected a document id (a str), got int"),
        ("products[0]", "expected a document id, got ''"),
        ("products[1]", "'_design/x' is not a document id (ids can't start with '_')"),
        ("shelf", "Shelf is partitioned: its ids look like 'partition:key', got 'nopartition'"),
    ]


# -- a small in-memory server ---------------------------------------------------------

URL = "http://couch.test"
JSON = {"Content-Type": "application/json"}
NO_DB = 404, JSON, json.dumps({"error": "not_found", "reason": "Database does not exist."})


def _body(request: Any) -> dict[str, Any]:
    raw = request.body or b"{}"
    if request.headers.get("Content-Encoding") == "gzip":
        raw = gzip.decompress(raw)
    body: dict[str, Any] = json.loads(raw)
    return body


class FakeCouch:
    """Databases of documents (and deletions), answering GET /{db}/{id},
    POST /{db}/_all_docs with keys, and POST /{db}/_find (the type selector, in id
    order, paged with a numeric bookmark); ``requests`` lists "METHOD path" of each."""

    def __init__(self, mock: responses.RequestsMock) -> None:
        # The databases of the classes here; a document None: deleted.
        self.dbs: dict[str, dict[str, dict[str, Any] | None]] = {
            "crm": {},
            "shop": {},
            "orders": {},
        }
        self.requests: list[str] = []
        self.keys: list[list[str]] = []  # the keys of each _all_docs request
        mock.add_callback(responses.GET, re.compile(rf"{URL}/[^/_][^/]*/[^/_].*"), self.get)
        mock.add_callback(responses.POST, re.compile(rf"{URL}/[^/]+/_all_docs"), self.all_docs)
        mock.add_callback(responses.POST, re.compile(rf"{URL}/[^/]+/_find"), self.find)

    def put(self, db: str, doc: Document) -> None:
        body = to_json(doc)
        body["_rev"] = "1-a"
        self.dbs.setdefault(db, {})[body["_id"]] = body

    def delete(self, db: str, doc_id: str) -> None:
        self.dbs[db][doc_id] = None

    def _db(self, request: Any) -> tuple[str, list[str]]:
        path = request.path_url.split("?")[0].lstrip("/").split("/")
        self.requests.append(f"{request.method} /{'/'.join(path)}")
        return path[0], path[1:]

    def get(self, request: Any) -> tuple[int, dict[str, str], str]:
        db, rest = self._db(request)
        if db not in self.dbs:
            return NO_DB
        if rest[0] not in self.dbs[db]:
            return 404, JSON, json.dumps({"error": "not_found", "reason": "missing"})
        doc = self.dbs[db][rest[0]]
        if doc is None:
            return 404, JSON, json.dumps({"error": "not_found", "reason": "deleted"})
        return 200, JSON, json.dumps(doc)

    def all_docs(self, request: Any) -> tuple[int, dict[str, str], str]:
        db, _ = self._db(request)
        if db not in self.dbs:
            return NO_DB
        keys = _body(request)["keys"]
        self.keys.append(keys)
        rows: list[dict[str, Any]] = []
        for key in keys:
            if key not in self.dbs.get(db, {}):
                rows.append({"key": key, "error": "not_found"})
            elif (doc := self.dbs[db][key]) is None:
                rows.append(
                    {"id": key, "key": key, "value": {"rev": "2-b", "deleted": True}, "doc": None}
                )
            else:
                rows.append({"id": key, "key": key, "value": {"rev": doc["_rev"]}, "doc": doc})
        return 200, JSON, json.dumps({"rows": rows})

    def find(self, request: Any) -> tuple[int, dict[str, str], str]:
        db, _ = self._db(request)
        body = _body(request)
        wanted = body["selector"]["type"]
        types = set(wanted.get("$in", ())) if isinstance(wanted, dict) else {wanted}
        docs = [d for _, d in sorted(self.dbs[db].items()) if d is not None and d["type"] in types]
        start = int(body.get("bookmark", 0))
        page = docs[start : start + body["limit"]]
        return 200, JSON, json.dumps({"docs": page, "bookmark": str(start + len(page))})


@pytest.fixture
def couch() -> Iterator[FakeCouch]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakeCouch(mock)


@pytest.fixture
def session() -> Session:
    """A session on the fake server; each class in its own database (Meta.db)."""
    client = CloudantV1(NoAuthAuthenticator())
    client.set_service_url(URL)
    return Session(client)


# -- resolving --------------------------------------------------------------------------


def test_get_ref_reads_the_document_once_then_uses_the_identity_map(
    couch: FakeCouch, session: Session
) -> None:
    couch.put("crm", customer())
    ref = Ref(Customer, "c-1")
    found = session.get(ref)
    assert isinstance(found, Customer)
    assert found.name == "c-1"
    assert couch.requests == ["POST /crm/_all_docs"]
    assert ref.get(session) is found
    assert session.get(Customer, "c-1") is found
    assert couch.requests == ["POST /crm/_all_docs"]


def test_a_held_document_needs_no_request(couch: FakeCouch, session: Session) -> None:
    mine = Customer(name="new")
    session.add(mine)  # an id now, not yet written
    assert Order(customer=mine).customer.get(session) is mine
    assert couch.requests == []


def test_resolving_is_polymorphic_and_checks_the_class(couch: FakeCouch, session: Session) -> None:
    couch.put("crm", VipCustomer(id="v-1", name="v", level=3))
    assert type(Ref(Customer, "v-1").get(session)) is VipCustomer
    couch.put("crm", Product(id="p-1", sku="x"))  # another class's document, in crm
    with pytest.raises(
        DocumentTypeError, match=r"Customer 'p-1': type: document type 'ref-product'"
    ):
        Ref(Customer, "p-1").get(session)


def test_a_dangling_ref_raises_naming_the_class_and_id(couch: FakeCouch, session: Session) -> None:
    couch.put("crm", customer("c-gone"))
    couch.delete("crm", "c-gone")
    with pytest.raises(DanglingReference) as caught:
        Ref(Customer, "c-gone").get(session)
    error = caught.value
    assert isinstance(error, DoesNotExist)
    assert isinstance(error, LookupError)
    assert (error.model, error.doc_id, error.database, error.deleted) == (
        "Customer",
        "c-gone",
        "crm",
        True,
    )
    assert str(error) == (
        "Customer 'c-gone' was deleted (database 'crm'): a dangling reference; "
        "ref.get(session, default=None) gives None instead"
    )
    with pytest.raises(DanglingReference, match="Customer 'c-never' does not exist"):
        session.get(Ref(Customer, "c-never"))
    assert pickle.loads(pickle.dumps(error)).args == error.args


def test_a_default_is_given_instead_of_raising_and_missing_ids_are_remembered(
    couch: FakeCouch, session: Session
) -> None:
    ref = Ref(Customer, "c-never")
    assert ref.get(session, default=None) is None
    assert session.get(ref, default="none") == "none"
    with pytest.raises(DanglingReference):
        ref.get(session)
    assert couch.requests == ["POST /crm/_all_docs"]  # once
    # Added in the session: found, and no longer missing after it is expunged.
    made = Customer(id="c-never", name="late")
    session.add(made)
    assert ref.get(session) is made
    session.expunge(made)
    with pytest.raises(DanglingReference):
        ref.get(session)
    assert len(couch.requests) == 2
    session.expunge_all()  # forgets what was missing too
    assert ref.get(session, default=None) is None
    assert len(couch.requests) == 3


def test_a_document_marked_for_deletion_is_dangling(couch: FakeCouch, session: Session) -> None:
    couch.put("crm", customer())
    found = Ref(Customer, "c-1").get(session)
    session.delete(found)
    with pytest.raises(DanglingReference, match="is marked for deletion in this session"):
        Ref(Customer, "c-1").get(session)
    assert Ref(Customer, "c-1").get(session, default=None) is None


def test_a_missing_database_is_not_a_dangling_ref(couch: FakeCouch, session: Session) -> None:
    del couch.dbs["crm"]
    with pytest.raises(NotFoundError, match="database 'crm' does not exist"):
        Ref(Customer, "c-1").get(session)


def test_get_takes_a_ref_alone() -> None:
    session = Session(CloudantV1(NoAuthAuthenticator()))
    with pytest.raises(TypeError, match="takes no id"):
        session.get(Ref(Customer, "c"), "c")  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="a document class and an id"):
        session.get(Customer)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="a document class and an id"):
        session.get(Customer, "c", default=None)  # type: ignore[call-overload]


# -- prefetching in a session -------------------------------------------------------------


def test_session_prefetch_reads_each_class_once_and_remembers_the_missing(
    couch: FakeCouch, session: Session
) -> None:
    for n in range(3):
        couch.put("crm", customer(f"c-{n}"))
        couch.put("shop", product(f"p-{n}"))
    couch.put("crm", customer("c-gone"))
    couch.delete("crm", "c-gone")
    held = session.get(Customer, "c-0")  # already held: not asked for
    couch.requests.clear()
    refs = [Ref(Customer, f"c-{n}") for n in (0, 1, 2, 1)] + [
        Ref(Customer, "c-gone"),
        Ref(Customer, "c-never"),
        None,
        *(Ref(Product, f"p-{n}") for n in range(3)),
    ]
    session.prefetch(refs)
    assert couch.requests == ["POST /crm/_all_docs", "POST /shop/_all_docs"]
    assert couch.keys == [["c-1", "c-2", "c-gone", "c-never"], ["p-0", "p-1", "p-2"]]
    resolved = [r.get(session, default=None) for r in refs if r is not None]
    assert resolved[0] is held
    assert [getattr(d, "id", None) for d in resolved] == [
        "c-0",
        "c-1",
        "c-2",
        "c-1",
        None,
        None,
        "p-0",
        "p-1",
        "p-2",
    ]
    with pytest.raises(DanglingReference, match="Customer 'c-gone' was deleted"):
        Ref(Customer, "c-gone").get(session)
    with pytest.raises(DanglingReference, match="Customer 'c-never' does not exist"):
        Ref(Customer, "c-never").get(session)
    session.prefetch(refs)  # everything known: no request
    assert len(couch.requests) == 2


def test_session_prefetch_refuses_a_document_of_another_class(
    couch: FakeCouch, session: Session
) -> None:
    couch.put("crm", Product(id="p-in-crm", sku="x"))
    with pytest.raises(DocumentTypeError, match="Customer 'p-in-crm'"):
        session.prefetch([Ref(Customer, "p-in-crm")])
    with pytest.raises(TypeError, match="takes Refs"):
        session.prefetch(["c-1"])  # type: ignore[list-item]


def test_session_prefetch_asks_for_at_most_1000_ids_a_request(
    couch: FakeCouch, session: Session
) -> None:
    session.prefetch(Ref(Customer, f"c-{n:04d}") for n in range(2500))
    assert [len(keys) for keys in couch.keys] == [1000, 1000, 500]


# -- queries ------------------------------------------------------------------------------


def test_comparing_a_ref_field_compares_the_id() -> None:
    c = customer("c-7")
    assert Order.objects.filter(Order.customer == c).selector() == {
        "type": "ref-order",
        "customer": {"$eq": "c-7"},
    }
    same = [
        Order.customer == Ref(Customer, "c-7"),
        Order.customer == Ref(VipCustomer, "c-7"),
        Order.customer == "c-7",
        Q(customer=c),
    ]
    assert all(e.resolve(Order).to_selector() == {"customer": {"$eq": "c-7"}} for e in same)
    assert Order.customer.in_([c, "c-8", Ref(Customer, "c-9")]).to_selector() == {
        "customer": {"$in": ["c-7", "c-8", "c-9"]}
    }
    assert (Order.backup == None).to_selector() == {"backup": {"$eq": None}}  # noqa: E711
    assert Order.products.contains(product("p-1")).to_selector() == {
        "products": {"$elemMatch": {"$eq": "p-1"}}
    }
    assert Order.lines.elem_match(product=product("p-2")).to_selector() == {
        "lines": {"$elemMatch": {"product": {"$eq": "p-2"}}}
    }


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: Order.customer == product(),
            r"Order.customer: expected Ref\[Customer\], a Customer",
        ),
        (lambda: Order.customer == Ref(Product, "p"), r"got Ref\(Product, 'p'\)"),
        (lambda: Order.customer == 5, "a Customer or its id, got int 5"),
        (lambda: Order.customer == "", "expected a document id, got ''"),
        (lambda: Order.customer == Customer(name="new"), "the Customer compared with has no id"),
        (lambda: Order.customer.name, "Order.customer is a reference, stored as the id"),
    ],
)
def test_a_ref_field_refuses_what_is_no_reference_to_its_class(make: Any, message: str) -> None:
    with pytest.raises((TypeError, ValueError, AttributeError), match=message):
        make()


def test_prefetch_takes_reference_fields_only() -> None:
    query = Order.objects.prefetch(Order.customer, "lines__product", Order.products, "customer")
    assert query._prefetch == (("customer",), ("lines", "product"), ("products",))
    for item, message in [
        ("nope", "Order has no field 'nope'"),
        ("lines", r"follows reference fields \(Ref\[...\]\); Order.lines is list\[Line\]"),
        (Order.id, r"Order.id is str \| None"),
        ("customer__name", "Order.customer has no field 'name'"),
        (Order.lines.item.product, "for references inside list elements, name the path"),
        (Product.sku, "Product.sku is a field of Product"),
    ]:
        with pytest.raises((QueryError, TypeError), match=message):
            Order.objects.prefetch(item)


def stock(couch: FakeCouch, orders: int = 25, per_customer: int = 5) -> None:
    """``orders`` orders, ``per_customer`` consecutive ones by each customer; each with
    two products (one in a list, one in a line)."""
    for n in range(orders // per_customer):
        couch.put("crm", customer(f"c-{n}"))
    for n in range(4):
        couch.put("shop", product(f"p-{n}"))
    for n in range(orders):
        couch.put(
            "orders",
            Order(
                id=f"o-{n:02d}",
                customer=Ref(Customer, f"c-{n // per_customer}"),
                products=[Ref(Product, f"p-{n % 4}")],
                lines=[Line(product=Ref(Product, f"p-{(n + 1) % 4}"))],
            ),
        )


def listing(session: Session, *fields: Any) -> QuerySet[Order]:
    # A filter: the listing is a Mango query (a bare one reads _all_docs).
    return Order.objects.using(session).filter(Order.customer.exists()).prefetch(*fields)


def test_prefetch_reads_the_referenced_documents_once_per_page(
    couch: FakeCouch, session: Session
) -> None:
    stock(couch)
    orders = listing(session, Order.customer).page_size(10).all()
    assert len(orders) == 25
    # One request for each page's references; the next page is read meanwhile (ahead,
    # from another thread), so the two kinds of request interleave in either order.
    assert [r for r in couch.requests if r.endswith("_find")] == ["POST /orders/_find"] * 3
    assert [r for r in couch.requests if not r.endswith("_find")] == ["POST /crm/_all_docs"] * 3
    assert couch.keys == [["c-0", "c-1"], ["c-2", "c-3"], ["c-4"]]
    customers = [o.customer.get(session) for o in orders]
    assert len(couch.requests) == 6  # resolving made no request
    assert [c.id for c in customers[::5]] == ["c-0", "c-1", "c-2", "c-3", "c-4"]
    assert customers[0] is customers[4] is session.get(Customer, "c-0")


def test_prefetch_follows_lists_and_lines_with_one_request_per_class(
    couch: FakeCouch, session: Session
) -> None:
    stock(couch)
    orders = listing(session, "lines__product", Order.products, Order.customer).page_size(25).all()
    # A full page, then an empty one (the end, read ahead), which reads no references.
    assert sorted(couch.requests) == [
        "POST /crm/_all_docs",
        "POST /orders/_find",
        "POST /orders/_find",
        "POST /shop/_all_docs",
    ]
    assert sorted(couch.keys[0]) == ["p-0", "p-1", "p-2", "p-3"]  # both paths, one request
    for order in orders:
        assert order.lines[0].product.get(session).id == order.lines[0].product.id
        assert order.products[0].get(session).sku == order.products[0].id
    assert len(couch.requests) == 4


def test_prefetch_asks_only_for_what_the_session_does_not_hold(
    couch: FakeCouch, session: Session
) -> None:
    stock(couch)
    session.get(Customer, "c-0")
    session.get(Customer, "c-1")
    couch.requests.clear()
    listing(session, Order.customer).page_size(10).all()
    # The first page's customers are held: no request for them.
    assert couch.keys == [["c-2", "c-3"], ["c-4"]]
    assert couch.requests.count("POST /crm/_all_docs") == 2


def test_a_dangling_ref_found_by_a_prefetch_raises_when_resolved_without_a_request(
    couch: FakeCouch, session: Session
) -> None:
    stock(couch, orders=10)
    couch.delete("crm", "c-1")
    orders = listing(session, Order.customer).all()  # the listing itself works
    requests = len(couch.requests)
    assert orders[0].customer.get(session).id == "c-0"
    with pytest.raises(DanglingReference, match="Customer 'c-1' was deleted"):
        orders[5].customer.get(session)
    assert orders[5].customer.get(session, default=None) is None
    assert len(couch.requests) == requests


def test_a_prefetched_document_of_another_class_is_an_error_naming_it(
    couch: FakeCouch, session: Session
) -> None:
    stock(couch, orders=5)
    couch.put("crm", Product(id="c-0", sku="not a customer"))
    with pytest.raises(
        DocumentTypeError, match="Customer 'c-0': type: document type 'ref-product'"
    ):
        listing(session, Order.customer).all()


def test_prefetch_with_partial_objects_get_and_get_many(couch: FakeCouch, session: Session) -> None:
    stock(couch, orders=10)
    query = listing(session, Order.customer)
    # Refused when the query set is built, either way round, before any request.
    with pytest.raises(QueryError, match="follows customer, which fields\\(\\) does not load"):
        query.fields(Order.products)
    with pytest.raises(QueryError, match="follows customer, which fields\\(\\) does not load"):
        Order.objects.using(session).fields(Order.products).prefetch(Order.customer)
    assert couch.keys == []
    partial = query.fields(Order.customer).all()
    assert couch.keys == [["c-0", "c-1"]]
    assert partial[9].customer.get(session).id == "c-1"
    session.expunge_all()
    couch.keys.clear()
    order = Order.objects.using(session).prefetch(Order.customer).get("o-07")
    assert couch.keys == [["c-1"]]
    assert order.customer.get(session).id == "c-1"
    found = Order.objects.using(session).prefetch(Order.customer).get_many(["o-00", "o-09"])
    assert couch.keys == [["c-1"], ["o-00", "o-09"], ["c-0"]]  # c-1 was held already
    assert [o.customer.get(session).id for o in found] == ["c-0", "c-1"]


def test_prefetch_with_detached_results_still_fills_the_session(
    couch: FakeCouch, session: Session
) -> None:
    stock(couch, orders=5)
    orders = list(listing(session, Order.customer).iterator(track=False))
    assert orders[0] not in session
    assert session.held("crm", "c-0") is not None
    assert orders[0].customer.get(session) is session.held("crm", "c-0")

"""References (``Ref[Customer]``) against a real server: what is stored, queries on
them, and what a prefetching listing costs, counted by a recording proxy in front of
the server."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from typing import Any

import pytest
from _proxy import RecordedRequest, RecordingProxy
from _server import ServerConfig, settle, unique_db_name

from cloudant_odm import DanglingReference, Document, Ref, Session, field
from cloudant_odm.client import CloudantV1


class Customer(Document, doc_type="it-ref-customer", db="crm"):
    name: str


class Order(Document, doc_type="it-ref-order", db="orders"):
    customer: Ref[Customer]
    previous: list[Ref[Order]] = field(factory=list)
    total: float = 0.0


@pytest.fixture
def databases(client: CloudantV1, db_name: str) -> Iterator[dict[str, str]]:
    """The classes' databases, renamed: orders in ``db_name``, customers in another."""
    crm = unique_db_name()
    client.put_database(crm)
    try:
        yield {"orders": db_name, "crm": crm}
    finally:
        client.delete_database(crm)


@pytest.fixture
def proxy(server_config: ServerConfig) -> Iterator[RecordingProxy]:
    with RecordingProxy(server_config.url) as recording:
        yield recording


def counted(server_config: ServerConfig, proxy: RecordingProxy, databases: Any) -> Session:
    """A session whose requests the proxy records."""
    return Session(server_config.client(proxy.url), databases=databases)


def kinds(proxy: RecordingProxy, databases: dict[str, str]) -> list[str]:
    """Each recorded request as "POST orders/_find", with the databases' own names."""
    names = {real: name for name, real in databases.items()}
    out = []
    for request in proxy.requests:
        db, _, rest = request.path.lstrip("/").partition("/")
        out.append(f"{request.method} {names.get(db, db)}/{rest}")
    return out


def _keys(request: RecordedRequest) -> list[str]:
    """The ``keys`` an ``_all_docs`` request asked for."""
    body = request.body
    headers = {k.lower(): v for k, v in request.headers.items()}
    if headers.get("content-encoding") == "gzip":
        body = gzip.decompress(body)
    keys: list[str] = json.loads(body)["keys"]
    return keys


def seed(client: CloudantV1, databases: dict[str, str], customer_of: Any) -> None:
    with Session(client, databases=databases) as s:
        customers = [Customer(id=f"c-{n:03d}", name=f"customer {n}") for n in range(100)]
        s.add_all(customers)
        s.add_all(
            Order(id=f"o-{n:04d}", customer=customers[customer_of(n)], total=float(n))
            for n in range(1000)
        )
    settle(client, databases["orders"], 1000)
    settle(client, databases["crm"], 100)


@pytest.mark.parametrize(
    ("customer_of", "keys_per_page"),
    [
        # Ten consecutive orders per customer: each page of 200 names 20 new customers.
        (lambda n: n // 10, [20, 20, 20, 20, 20]),
        # Round robin: the first page names all 100; later pages find them held.
        (lambda n: n % 100, [100]),
    ],
    ids=["new-customers-on-every-page", "all-customers-on-the-first-page"],
)
def test_a_prefetching_listing_of_1000_orders_costs_its_pages_and_one_all_docs_a_page(
    client: CloudantV1,
    server_config: ServerConfig,
    proxy: RecordingProxy,
    databases: dict[str, str],
    customer_of: Any,
    keys_per_page: list[int],
) -> None:
    seed(client, databases, customer_of)
    s = counted(server_config, proxy, databases)
    query = Order.objects.using(s).filter(Order.total >= 0).order_by(Order.id)
    orders = query.prefetch(Order.customer).all()  # pages of 200, the default

    assert [o.id for o in orders] == [f"o-{n:04d}" for n in range(1000)]
    sent = kinds(proxy, databases)
    pages = sent.count("POST orders/_find")
    # Five full pages, and the server may answer a sixth, empty one (a bookmark).
    assert pages in (5, 6)
    assert sent.count("POST crm/_all_docs") == len(keys_per_page)
    assert len(sent) == pages + len(keys_per_page)  # nothing else
    # Each _all_docs follows the page that named its customers, asking for those only.
    all_docs = [r for r in proxy.requests if r.path.endswith("/_all_docs")]
    assert [len(_keys(r)) for r in all_docs] == keys_per_page
    # The first page's customers are asked for before a third page is: pages are read
    # one ahead at most (Pagination: the next page is asked for while one is used).
    assert sent[0] == "POST orders/_find"
    assert sent.index("POST crm/_all_docs") <= 2

    proxy.clear()
    customers = [order.customer.get(s) for order in orders]
    assert proxy.requests == []  # every reference resolved from the identity map
    assert [c.id for c in customers] == [f"c-{customer_of(n):03d}" for n in range(1000)]
    assert customers[0] is s.get(Customer, "c-000")


def test_without_prefetch_each_customer_costs_a_request(
    client: CloudantV1,
    server_config: ServerConfig,
    proxy: RecordingProxy,
    databases: dict[str, str],
) -> None:
    seed(client, databases, lambda n: n % 100)
    s = counted(server_config, proxy, databases)
    orders = Order.objects.using(s).filter(Order.total >= 0).order_by(Order.id).all()
    proxy.clear()
    for order in orders:
        order.customer.get(s)
    # One read per customer (the identity map serves the 900 repeats), 100 in all.
    assert kinds(proxy, databases) == ["POST crm/_all_docs"] * 100
    assert sorted(k for r in proxy.requests for k in _keys(r)) == [f"c-{n:03d}" for n in range(100)]


def test_refs_are_stored_as_ids_and_queried_by_id(
    client: CloudantV1, databases: dict[str, str]
) -> None:
    with Session(client, databases=databases) as s:
        ann, bob = Customer(name="ann"), Customer(name="bob")
        s.add_all([ann, bob])
        first = Order(id="o-1", customer=ann, total=5.0)
        s.add(first)
        s.add(Order(id="o-2", customer=bob, previous=[first], total=7.0))
        s.add(Order(id="o-3", customer=Ref.to(ann), total=9.0))
    stored = client.get_document(databases["orders"], "o-2").get_result()
    assert stored["customer"] == bob.id
    assert stored["previous"] == ["o-1"]
    settle(client, databases["orders"], 3)

    s = Session(client, databases=databases)
    by_ann = Order.objects.using(s).filter(Order.customer == ann).all()
    assert sorted(o.id for o in by_ann) == ["o-1", "o-3"]
    assert Order.objects.using(s).filter(customer=Ref(Customer, str(bob.id))).count() == 1
    assert Order.objects.using(s).filter(Order.customer.in_([ann, str(bob.id)])).count() == 3
    assert Order.objects.using(s).filter(Order.previous.contains(first)).count() == 1
    # A reference to the same class, in a list, prefetched from the same database.
    (second,) = Order.objects.using(s).filter(Order.total == 7.0).prefetch(Order.previous).all()
    assert second.previous[0].get(s) is s.get(Order, "o-1")


def test_a_deleted_customer_is_a_dangling_reference(
    client: CloudantV1,
    server_config: ServerConfig,
    proxy: RecordingProxy,
    databases: dict[str, str],
) -> None:
    with Session(client, databases=databases) as s:
        kept, gone = Customer(id="c-kept", name="kept"), Customer(id="c-gone", name="gone")
        s.add_all([kept, gone])
        s.add_all(
            [
                Order(id="o-1", customer=kept),
                Order(id="o-2", customer=gone),
                Order(id="o-3", customer=Ref(Customer, "c-never")),
            ]
        )
    with Session(client, databases=databases) as s:
        s.delete(s.get(Ref(Customer, "c-gone")))
    settle(client, databases["orders"], 3)

    # Resolving one by one: a request each, then the session remembers.
    s = counted(server_config, proxy, databases)
    o2 = s.get(Order, "o-2")
    assert o2 is not None
    with pytest.raises(DanglingReference) as caught:
        o2.customer.get(s)
    assert str(caught.value).startswith("Customer 'c-gone' was deleted (database ")
    assert caught.value.deleted is True
    assert o2.customer.get(s, default=None) is None
    assert kinds(proxy, databases) == ["GET orders/o-2", "POST crm/_all_docs"]  # once

    # Prefetching: the listing works, and the dangling ones raise without a request.
    s = counted(server_config, proxy, databases)
    orders = (
        Order.objects.using(s).filter(Order.total >= 0).order_by(Order.id).prefetch("customer")
    ).all()
    proxy.clear()
    assert orders[0].customer.get(s).name == "kept"
    with pytest.raises(DanglingReference, match="Customer 'c-gone' was deleted"):
        orders[1].customer.get(s)
    with pytest.raises(DanglingReference, match="Customer 'c-never' does not exist"):
        orders[2].customer.get(s)
    assert [o.customer.get(s, default=None) for o in orders][1:] == [None, None]
    assert proxy.requests == []

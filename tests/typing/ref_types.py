# ruff: noqa: E501 - the expected types are long
"""What type checkers see of references (``Ref[Customer]`` fields); checked with mypy
(plugin cloudant_odm.mypy enabled in pyproject.toml) by tests/unit/test_typing.py.

A trailing comment ``R`` followed by a type gives what mypy must reveal on that line;
``E`` followed by error codes gives the errors it must report there. Any other error
fails. The checks sit in functions that never run.
"""

from typing_extensions import reveal_type

from cloudant_odm import Document, Embedded, Ref, Session, field


class Customer(Document, doc_type="typing-ref-customer"):
    name: str


class VipCustomer(Customer, doc_type="typing-ref-vip"):
    level: int = 1


class Product(Document, doc_type="typing-ref-product"):
    sku: str


class Line(Embedded):
    product: Ref[Product]
    qty: int = 1


class Order(Document, doc_type="typing-ref-order"):
    customer: Ref[Customer]
    backup: Ref[Customer] | None = None
    products: list[Ref[Product]] = field(factory=list)
    lines: list[Line] = field(factory=list)


# One check per line, whatever its length: the expectations are line comments.
# fmt: off


def check_reading(order: Order, session: Session) -> None:
    reveal_type(order.customer)  # R: cloudant_odm.models.refs.Ref[ref_types.Customer]
    reveal_type(order.backup)  # R: cloudant_odm.models.refs.Ref[ref_types.Customer] | None
    reveal_type(order.products)  # R: list[cloudant_odm.models.refs.Ref[ref_types.Product]]
    reveal_type(order.lines[0].product)  # R: cloudant_odm.models.refs.Ref[ref_types.Product]
    reveal_type(order.customer.id)  # R: str
    reveal_type(order.customer.get(session))  # R: ref_types.Customer
    reveal_type(order.customer.get(session, default=None))  # R: ref_types.Customer | None
    reveal_type(session.get(order.customer))  # R: ref_types.Customer
    reveal_type(session.get(order.customer, default=None))  # R: ref_types.Customer | None
    reveal_type(session.get(Customer, "c-1"))  # R: ref_types.Customer | None
    reveal_type(Ref(Customer, "c-1"))  # R: cloudant_odm.models.refs.Ref[ref_types.Customer]
    reveal_type(Ref.to(VipCustomer(name="v")))  # R: cloudant_odm.models.refs.Ref[ref_types.VipCustomer]


def check_assigning(customer: Customer, vip: VipCustomer, product: Product, products: list[Product]) -> None:
    order = Order(customer=customer, backup=vip, products=[product, Ref(Product, "p")], lines=[Line(product=product)])
    Order(customer=Ref.to(customer), products=products)
    order.customer = customer
    reveal_type(order.customer)  # R: cloudant_odm.models.refs.Ref[ref_types.Customer]
    order.customer = Ref(VipCustomer, "v")
    order.backup = None
    order.products = [product]
    order.lines[0].product = product


def check_queries(customer: Customer) -> None:
    reveal_type(Order.customer)  # R: cloudant_odm.query.expressions.Field[cloudant_odm.models.refs.Ref[ref_types.Customer]]
    Order.objects.filter(Order.customer == customer, Order.backup == "c-2")
    Order.objects.filter(Order.customer == Ref(Customer, "c-1"), Order.backup == None)  # noqa: E711
    reveal_type(Order.objects.prefetch(Order.customer, "lines__product").all())  # R: list[ref_types.Order]


def check_mistakes(order: Order, product: Product) -> None:
    order.customer = product  # E: assignment
    order.customer = "c-1"  # E: assignment
    Order(customer=product)  # E: arg-type
    Order(customer=Ref(Product, "p"))  # E: arg-type
    Line(product=Customer(name="x"))  # E: arg-type
    Order.objects.filter(Order.customer > 3)  # E: query-value
    Ref(str, "x")  # E: type-var

# ruff: noqa: E501 - the expected types are long
"""What type checkers see of the async session; checked with mypy by
tests/unit/test_typing.py. ``R`` and ``E`` comments as in client_types.py. The checks
sit in functions that never run."""

from decimal import Decimal

from typing_extensions import reveal_type

from cloudant_odm import Document, Ref
from cloudant_odm.aio import AsyncSession

# fmt: off


class Customer(Document):
    name: str


class Order(Document):
    customer: Ref[Customer]
    total: Decimal


async def check_session(s: AsyncSession, ref: Ref[Customer]) -> None:
    reveal_type(await s.get(Order, "o-1"))  # R: aio_session_types.Order | None
    reveal_type(await s.get(ref))  # R: aio_session_types.Customer
    reveal_type(await s.get(ref, default=None))  # R: aio_session_types.Customer | None
    reveal_type(await ref.get(s))  # R: aio_session_types.Customer
    reveal_type(await ref.get(s, default=0))  # R: aio_session_types.Customer | builtins.int
    reveal_type(await s.get_many(Order, ["a"]))  # R: builtins.list[aio_session_types.Order | None]
    reveal_type(await s.update(Order, "o-1", lambda o: None))  # R: aio_session_types.Order
    reveal_type(await s.get_or_create(Customer, "c-1"))  # R: tuple[aio_session_types.Customer, builtins.bool]
    reveal_type(await s.insert_many([Order(customer=ref, total=Decimal(1))]))  # R: builtins.int
    reveal_type(s.dirty)  # R: builtins.list[cloudant_odm.models.document.Document]
    s.add(Order(customer=ref, total=Decimal(1)))
    await s.commit()
    async with AsyncSession(s.client, db="orders") as owned:
        reveal_type(owned)  # R: cloudant_odm.aio.session.AsyncSession

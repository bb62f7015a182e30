"""Per-document load and dump of a 10-field nested document, no server.

    .venv/bin/python benchmarks/bench_documents.py [--number N] [--repeat R]

Prints a table and writes benchmarks/results/documents.json. With pydantic v2 installed,
the same document as a pydantic model is measured beside it as the reference.
"""

from __future__ import annotations

import argparse
import json
import platform
import timeit
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs

from cloudant_odm import Document, field
from cloudant_odm.models import from_json, to_json

RESULTS = Path(__file__).parent / "results"


@attrs.define
class Address:
    street: str
    city: str
    postcode: str


class BenchOrder(Document, doc_type="bench_order"):
    customer: str
    email: str
    total: Decimal
    quantity: int
    paid: bool
    created: datetime
    tags: list[str] = field(factory=list)
    shipping: Address | None = None
    notes: str | None = None
    rating: float = 0.0


SAMPLE: dict[str, Any] = {
    "_id": "order-000001",
    "_rev": "1-0123456789abcdef0123456789abcdef",
    "type": "bench_order",
    "customer": "Bob Smith",
    "email": "bob@example.com",
    "total": "129.95",
    "quantity": 3,
    "paid": True,
    "created": "2026-11-23T18:19:46.123456+00:00",
    "tags": ["gift", "express", "repeat"],
    "shipping": {"street": "19 Front Street", "city": "Darlington", "postcode": "DL5 1TY"},
    "notes": None,
    "rating": 4.5,
}


def measure(fn: Any, number: int, repeat: int) -> float:
    """Best of ``repeat`` runs, in microseconds per call."""
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def pydantic_timings(number: int, repeat: int) -> dict[str, float] | None:
    try:
        import pydantic
    except ImportError:
        return None

    class PAddress(pydantic.BaseModel):
        street: str
        city: str
        postcode: str

    class POrder(pydantic.BaseModel):
        id: str = pydantic.Field(alias="_id")
        rev: str | None = pydantic.Field(default=None, alias="_rev")
        type: str
        customer: str
        email: str
        total: Decimal
        quantity: int
        paid: bool
        created: datetime
        tags: list[str] = []
        shipping: PAddress | None = None
        notes: str | None = None
        rating: float = 0.0

    model = POrder.model_validate(SAMPLE)
    return {
        "load_us": measure(lambda: POrder.model_validate(SAMPLE), number, repeat),
        "dump_us": measure(lambda: model.model_dump(mode="json", by_alias=True), number, repeat),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    order = from_json(SAMPLE, BenchOrder)
    assert from_json(to_json(order), BenchOrder) == order  # measure a correct round trip
    rows = {
        "cloudant_odm": {
            "load_us": measure(lambda: from_json(SAMPLE, BenchOrder), args.number, args.repeat),
            "dump_us": measure(lambda: to_json(order), args.number, args.repeat),
        }
    }
    reference = pydantic_timings(args.number, args.repeat)
    if reference is not None:
        rows["pydantic v2"] = reference

    print(f"{'library':<14} {'load µs/doc':>12} {'dump µs/doc':>12} {'load+dump':>10}")
    for name, row in rows.items():
        total = row["load_us"] + row["dump_us"]
        print(f"{name:<14} {row['load_us']:>12.2f} {row['dump_us']:>12.2f} {total:>10.2f}")
    if reference is not None:
        ours = rows["cloudant_odm"]["load_us"] + rows["cloudant_odm"]["dump_us"]
        theirs = reference["load_us"] + reference["dump_us"]
        print(f"ratio to pydantic (load+dump): {ours / theirs:.2f}x")

    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "documents.json"
    out.write_text(
        json.dumps(
            {
                "benchmark": "document load/dump, 10 fields, nested",
                "python": platform.python_version(),
                "machine": platform.machine(),
                "number": args.number,
                "repeat": args.repeat,
                "results": rows,
            },
            indent=2,
        )
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

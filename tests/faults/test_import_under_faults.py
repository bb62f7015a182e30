"""A 10 000-document import through the Session with a tenth of all requests failing.

The proxy resets connections before forwarding (the server never sees the request) and
after (the write happened, its answer is lost), answers 429 / 500 / 503 itself, holds
answers back and cuts bodies off halfway. The client retries (``enable_retries``); a
lost answer to a ``_bulk_docs`` makes the retry come back as conflicts, which the Session
must recognise as its own earlier write. The database must then hold exactly what was
added: every id once, with its content, and every object must know its stored rev.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter
from typing import Any

from _proxy import FAULTS, Faults, RecordedRequest, RecordingProxy
from _server import eventually

from cloudant_odm import Document, ObjectState, Session, field
from cloudant_odm.client import CloudantV1
from cloudant_odm.models import to_json

DOCS = 10_000
ADD_ROUNDS = 4  # add and flush this many slices of the documents: several flushes
BATCH_SIZE = 100  # documents per _bulk_docs: ~100 writes, so every fault kind hits one
FAULT_SHARE = 0.10
SEED = int(os.environ.get("FAULTS_SEED", "20240611"))  # vary it to explore


class Reading(Document, doc_type="fault_import_reading"):
    n: int
    sensor: str
    value: float
    tags: list[str] = field(factory=list)
    details: dict[str, Any] = field(factory=dict)


class MixedFaults(RecordingProxy):
    """Fails ``share`` of the requests (a seeded draw), giving each failing request the
    next fault kind in turn, so that even a hundred requests see every kind."""

    def __init__(self, upstream_url: str, share: float, seed: int) -> None:
        self.share = share
        self.draw = random.Random(seed)
        self.turn = 0
        self.turn_lock = threading.Lock()
        super().__init__(upstream_url, Faults(retry_after=0, delay=0.05, seed=seed))

    def choose_fault(self, request: RecordedRequest) -> str | None:
        with self.turn_lock:
            if self.draw.random() >= self.share:
                return None
            kind = FAULTS[self.turn % len(FAULTS)]
            self.turn += 1
            return kind


def make_readings() -> list[Reading]:
    rng = random.Random(SEED)
    return [
        Reading(
            n=n,
            sensor=f"sensor-{n % 37}",
            # Every tenth value is integral (45.0): PouchDB stores it as 45, which the
            # session's check of its own earlier writes once took for someone else's.
            value=float(n % 90 - 45) if n % 10 == 0 else round(rng.uniform(-50, 50), 3),
            tags=[f"t{rng.randrange(10)}" for _ in range(n % 4)],
            details={"batch": n // BATCH_SIZE, "note": "é✓" * (n % 3)},
        )
        for n in range(DOCS)
    ]


def test_import_under_faults_is_exact(proxied: Any, client: CloudantV1, db_name: str) -> None:
    proxy, faulty = proxied(MixedFaults, share=FAULT_SHARE, seed=SEED)
    # Enough retries that ten failures in a row (p = 1e-10 at 10 %) are needed to fail;
    # short back-off so the test stays fast. Retry-After: 0 is honoured as is.
    faulty.enable_retries(max_retries=10, retry_interval=0.05)

    readings = make_readings()
    session = Session(faulty, db=db_name, batch_size=BATCH_SIZE)
    started = time.monotonic()
    per_round = DOCS // ADD_ROUNDS
    for start in range(0, DOCS, per_round):
        session.add_all(readings[start : start + per_round])
        session.flush()  # never raises: every fault is retried or recognised
    took = time.monotonic() - started

    # -- the database holds exactly what was added (read directly, not through the proxy)
    expected = {r.id: r for r in readings}
    assert len(expected) == DOCS  # client-side ids, all distinct

    def counted() -> list[dict[str, Any]]:
        # (doc_count and _all_docs read one copy per shard range: on a cluster the last
        # copies may still be catching up when the flush returns)
        info = client.get_database_information(db_name).get_result()
        assert info["doc_count"] == DOCS
        rows: list[dict[str, Any]] = client.post_all_docs(db_name, include_docs=True).get_result()[
            "rows"
        ]
        assert len(rows) == DOCS  # none duplicated, none lost
        return rows

    rows = eventually(counted)
    stored = {row["id"]: row["doc"] for row in rows}
    assert stored.keys() == expected.keys()
    mismatched = []
    for doc_id, doc in stored.items():
        sent = to_json(expected[doc_id])
        sent.pop("_rev", None)
        kept = {k: v for k, v in doc.items() if k != "_rev"}
        if kept != sent:
            mismatched.append((doc_id, sent, kept))
    assert not mismatched, mismatched[:3]
    assert sorted(doc["n"] for doc in stored.values()) == list(range(DOCS))

    # -- every object is persistent, unmodified, with the stored (first) revision
    assert session.new == []
    assert len(list(session)) == DOCS
    wrong_state = [r.id for r in readings if session.state_of(r) is not ObjectState.PERSISTENT]
    assert not wrong_state, wrong_state[:5]
    assert not any(session.is_modified(r) for r in readings)
    wrong_rev = [
        (r.id, r.rev, stored[r.id]["_rev"]) for r in readings if r.rev != stored[r.id]["_rev"]
    ]
    assert not wrong_rev, wrong_rev[:5]
    # Each document was written once: a retried create conflicted, it never made a 2-.
    assert all(doc["_rev"].startswith("1-") for doc in stored.values())

    # -- the faults did happen, of every kind, on the writes themselves
    with proxy.lock:
        recorded = list(proxy.requests)
    bulk = [r for r in recorded if r.path.endswith("/_bulk_docs")]
    faults_on_writes = Counter(r.fault for r in bulk if r.fault)
    assert set(faults_on_writes) == set(FAULTS), faults_on_writes
    faulted = sum(1 for r in recorded if r.fault)
    assert 0.05 * len(recorded) <= faulted <= 0.2 * len(recorded)
    # A write whose answer was lost (reset after forwarding, body cut off) was sent
    # again and came back as conflicts, which the session checked with _all_docs.
    own_write_checks = [r for r in recorded if r.path.endswith("/_all_docs")]
    assert own_write_checks
    kinds = dict(Counter(r.fault for r in recorded if r.fault))
    # Shown with -s: how the run went.
    print(
        f"\n  import of {DOCS} docs under faults: {took:.1f} s, {len(recorded)} requests, "
        f"{len(bulk)} _bulk_docs, {faulted} faulted: {kinds}"
    )

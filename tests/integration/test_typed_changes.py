"""The typed follower and its checkpoints against the real server."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from decimal import Decimal

import pytest
from _server import ServerConfig

from cloudant_odm import Document, Session
from cloudant_odm.changes import Checkpoint, DocumentChange, follow
from cloudant_odm.client import CloudantV1, NotFoundError


class Invoice(Document, doc_type="changes_test_invoice"):
    number: int
    total: Decimal = Decimal("0")


class Refund(Document, doc_type="changes_test_refund"):
    invoice: str


def seed(client: CloudantV1, db: str, n: int) -> list[Invoice]:
    with Session(client, db=db) as s:
        invoices = [Invoice(id=f"inv-{i:05}", number=i) for i in range(n)]
        s.add_all(invoices)
        s.add(Refund(id="ref-1", invoice="inv-00000"))
    client.put_document(db, "untyped", {"hello": "world"})  # no type: never delivered
    return invoices


def test_one_off_typed_changes_filtered_on_the_server(client: CloudantV1, db_name: str) -> None:
    seed(client, db_name, 30)
    with Session(client, db=db_name) as s:
        gone = s.get(Invoice, "inv-00003")
        assert gone is not None
        s.delete(gone)
    s = Session(client, db=db_name)
    changes = list(follow(s, [Invoice], one_off=True))
    ids = [c.id for c in changes]
    assert sorted(ids) == [f"inv-{i:05}" for i in range(30)]
    by_id = {c.id: c for c in changes}
    assert by_id["inv-00003"].deleted
    assert by_id["inv-00003"].doc is None
    live = by_id["inv-00007"]
    assert isinstance(live.doc, Invoice)
    assert live.doc.number == 7
    assert live.rev is not None
    assert live.rev.startswith("1-")

    both = list(follow(s, [Invoice, Refund], one_off=True))
    assert {type(c.doc).__name__ for c in both if c.doc} == {"Invoice", "Refund"}


def test_selector_narrows_the_feed(client: CloudantV1, db_name: str) -> None:
    seed(client, db_name, 20)
    s = Session(client, db=db_name)
    changes = list(follow(s, [Invoice], one_off=True, selector={"number": {"$gte": 15}}))
    assert sorted(c.id for c in changes) == [f"inv-{i:05}" for i in range(15, 20)]


def test_continuous_sees_a_later_write_and_stops(client: CloudantV1, db_name: str) -> None:
    s = Session(client, db=db_name)
    seen: list[DocumentChange[Invoice]] = []
    feed = follow(s, [Invoice])

    def write_soon() -> None:
        time.sleep(0.5)
        with Session(client, db=db_name) as w:
            w.add(Invoice(id="late", number=99))

    writer = threading.Thread(target=write_soon)
    writer.start()
    for change in feed:
        seen.append(change)
        break
    writer.join()
    assert seen[0].id == "late"
    assert seen[0].doc is not None
    assert seen[0].doc.number == 99


CONSUMER = textwrap.dedent(
    """
    import os, sys
    from cloudant_odm import Document, Session
    from cloudant_odm.changes import Checkpoint, follow
    from cloudant_odm.client import CloudantV1

    class Invoice(Document, doc_type="changes_test_invoice"):
        number: int

    client = CloudantV1.new_instance()
    session = Session(client, db=os.environ["DB"])
    handled = 0
    for change in follow(session, [Invoice], one_off=True,
                         checkpoint=Checkpoint("billing", every=10, interval=3600)):
        print(change.id, flush=True)
        handled += 1
        if handled == 25:
            os._exit(1)  # killed between handling and checkpointing: no clean stop
    """
)


def test_checkpoint_restart_skips_nothing(
    client: CloudantV1, db_name: str, server_config: ServerConfig
) -> None:
    seed(client, db_name, 60)
    env = dict(os.environ, DB=db_name, **server_config.environment())
    killed = subprocess.run(
        [sys.executable, "-c", CONSUMER], env=env, capture_output=True, text=True, timeout=60
    )
    assert killed.returncode == 1, killed.stderr
    first_run = killed.stdout.split()
    assert len(first_run) == 25

    stored = client.get_local_document(db_name, "cloudant-odm-checkpoint-billing").get_result()
    assert stored["seq"] is not None

    s = Session(client, db=db_name)
    second_run = [
        c.id for c in follow(s, [Invoice], one_off=True, checkpoint=Checkpoint("billing"))
    ]
    everything = [f"inv-{i:05}" for i in range(60)]
    assert sorted(set(first_run) | set(second_run)) == everything  # nothing skipped
    # Resumed after the 20th change (the last checkpoint), not from the start: the 21st
    # to 25th, handled but not checkpointed, come again (at least once). The order of
    # the changes is not assumed: on a sharded database (CouchDB, Cloudant) it isn't
    # the order of the writes.
    assert set(first_run[20:25]) <= set(second_run)
    assert len(second_run) < 60

    # A clean, complete run stores its end: a third run has nothing left.
    assert [
        c.id for c in follow(s, [Invoice], one_off=True, checkpoint=Checkpoint("billing"))
    ] == []


def test_checkpoint_saved_when_the_consumer_raises(client: CloudantV1, db_name: str) -> None:
    seed(client, db_name, 10)
    s = Session(client, db=db_name)
    handled: list[str] = []

    def consume() -> None:
        for change in follow(s, [Invoice], one_off=True, checkpoint=Checkpoint("fragile")):
            if len(handled) == 4:
                raise RuntimeError("consumer failed on the 5th change")
            handled.append(change.id)

    with pytest.raises(RuntimeError):
        consume()
    again = [c.id for c in follow(s, [Invoice], one_off=True, checkpoint=Checkpoint("fragile"))]
    assert again[0] not in handled  # the 5th change comes again, the 4 handled ones don't
    assert sorted(set(handled) | set(again)) == [f"inv-{i:05}" for i in range(10)]


def test_manager_changes_follow_a_filter(client: CloudantV1, db_name: str) -> None:
    seed(client, db_name, 12)
    s = Session(client, db=db_name)
    big = [c.id for c in Invoice.objects.using(s).filter(Invoice.number >= 9).changes(one_off=True)]
    assert sorted(big) == ["inv-00009", "inv-00010", "inv-00011"]
    every = list(Invoice.objects.using(s).changes(one_off=True))
    assert len(every) == 12
    assert all(isinstance(c.doc, Invoice) for c in every)


def test_a_missing_database_is_named(client: CloudantV1) -> None:
    with pytest.raises(NotFoundError, match="database 'changes-test-nowhere' does not exist"):
        list(follow(Session(client, db="changes-test-nowhere"), Invoice, one_off=True))

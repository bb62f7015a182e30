"""A first deploy does not wait for the server's background indexer.

On CouchDB a new index waits for the background indexer (ken) until something queries
it; on a server busy with other databases that took a minute and more. ``sync`` builds
its indexes itself (a query that waits for each), so its time depends on the size of
the database, not on what else the server is doing. Here: a class with two Mango
indexes and a view, deployed to a fresh database while other databases with views are
written to the whole time.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import pytest
from _server import ServerConfig, unique_db_name

from cloudant_odm import Document, Index, Session, View
from cloudant_odm.client import CloudantV1, NotFoundError
from cloudant_odm.design import sync

pytestmark = pytest.mark.slow

#: Generous: the deploy takes about a second; what it must never do is wait for ken.
DEPLOY_LIMIT = 15.0
BUSY_DATABASES = {"CLOUDANT_URL": 150, "launched": 20, "CLOUDANT_TEST_SERVER_URL": 20}


class Parcel(Document, doc_type="busy_test_parcel"):
    class Meta:
        design = "parcels"

    sender: str
    weight: int = 0
    city: str = ""

    by_sender = View.emit(key="sender", value="weight", reduce="_sum")
    by_weight = Index("weight")
    by_city_weight = Index("city", "weight")


BUSY_DESIGN = {
    "views": {"by_n": {"map": "function (doc) { emit(doc.n, doc.n * 2); }", "reduce": "_sum"}}
}


@pytest.fixture
def busy_server(client: CloudantV1, server_config: ServerConfig) -> Iterator[None]:
    """Databases with a view each, written to by a thread until the test ends: work
    for the background indexer."""
    count = BUSY_DATABASES[server_config.source]
    names = [unique_db_name("cloudant-odm-busy") for _ in range(count)]
    for name in names:
        client.put_database(name)
        client.put_design_document(name, "busy", BUSY_DESIGN)
    stop = threading.Event()

    def write() -> None:
        n = 0
        while not stop.is_set():
            for name in names:
                if stop.is_set():
                    break
                docs = [{"n": n + i} for i in range(20)]
                with contextlib.suppress(Exception):
                    client.post_bulk_docs(name, {"docs": docs})
            n += 20

    writer = threading.Thread(target=write, name="busy-writer", daemon=True)
    writer.start()
    time.sleep(1.0)  # the indexer has work queued before the deploy starts
    try:
        yield
    finally:
        stop.set()
        writer.join(timeout=60)
        for name in names:
            with contextlib.suppress(NotFoundError):
                client.delete_database(name)


@pytest.mark.usefixtures("busy_server")
def test_a_first_deploy_does_not_wait_for_the_background_indexer(
    client: CloudantV1, db_name: str
) -> None:
    session = Session(client, db=db_name)
    for i in range(10):
        session.add(Parcel(sender=f"s{i % 3}", weight=i, city=f"c{i % 2}"))
    session.commit()

    started = time.monotonic()
    report = sync(client, db_name, [Parcel], timeout=120)
    took = time.monotonic() - started

    created = sorted(c.id for c in report.changes if c.action == "create")
    assert len(created) == 3, report.changes  # the design document and two Mango indexes
    assert took < DEPLOY_LIMIT, f"the deploy took {took:.1f} s"
    # Usable at once: the view and both indexes answer.
    totals = {r.key: r.value for r in Parcel.by_sender.query(session, group=True)}
    assert totals == {"s0": 0 + 3 + 6 + 9, "s1": 1 + 4 + 7, "s2": 2 + 5 + 8}
    heavy = Parcel.objects.using(session).filter(Parcel.weight >= 7).order_by("weight").all()
    assert [p.weight for p in heavy] == [7, 8, 9]

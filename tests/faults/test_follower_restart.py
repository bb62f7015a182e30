"""The typed changes follower when the server goes away and comes back, and when the
consumer itself is killed: every change is delivered at least once, none is skipped.

The server here is a LevelDB-backed PouchDB Server in ``tmp_path`` on a fixed port
(``restartable_server``), so its data and its URL survive ``stop()`` / ``start()``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest
from _proxy import Faults, RecordedRequest, RecordingProxy
from _server import LocalServer, launched

from cloudant_odm import Document, Session
from cloudant_odm.changes import Checkpoint, DocumentChange, follow
from cloudant_odm.client import CloudantV1

DB = "restart-test"
DEADLINE = 40.0  # seconds any one consumer may take before the test gives up
# A follower that fails for this long gives up and raises, so no test can hang on it.
ERROR_TOLERANCE_MS = 30_000
FOLLOWER_LOG = "cloudant_odm.client.follower"


class Tick(Document, doc_type="restart_tick"):
    n: int
    phase: str


def write(client: CloudantV1, phase: str, count: int) -> set[str]:
    """Write ``count`` ticks with ids ``<phase>-0000`` ...; their ids."""
    ticks = [Tick(id=f"{phase}-{i:04}", n=i, phase=phase) for i in range(count)]
    with Session(client, db=DB) as session:
        session.add_all(ticks)
    return {str(t.id) for t in ticks}


def stored_revs(client: CloudantV1) -> dict[str, str]:
    rows = client.post_all_docs(DB).get_result()["rows"]
    return {row["id"]: row["value"]["rev"] for row in rows}


class Watchdog:
    """After ``seconds``, writes a tick (``zz-wake-N``) every second, so a consumer that
    is waiting in a long poll for changes that never come gets one, sees its deadline
    has passed and stops. Writes that fail (server down) are ignored."""

    def __init__(self, client: CloudantV1, seconds: float) -> None:
        self.client = client
        self.deadline = time.monotonic() + seconds
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.run, name="watchdog", daemon=True)
        self.thread.start()

    def expired(self) -> bool:
        return time.monotonic() > self.deadline

    def run(self) -> None:
        if self.done.wait(max(0.0, self.deadline - time.monotonic())):
            return
        for i in range(30):
            with contextlib.suppress(Exception):  # the server may be down: again in 1 s
                self.client.put_document(
                    DB, f"zz-wake-{i}", {"type": "restart_tick", "n": i, "phase": "z"}
                )
            if self.done.wait(1.0):
                return

    def stop(self) -> None:
        self.done.set()
        self.thread.join(timeout=5)


def consume(
    feed: Iterable[DocumentChange[Tick]],
    expected: set[str],
    watchdog: Watchdog,
    on_change: Callable[[list[DocumentChange[Tick]]], None] = lambda seen: None,
    finished: Callable[[], bool] = lambda: True,
    handled_before: Iterable[str] = (),
) -> list[DocumentChange[Tick]]:
    """Iterate ``feed`` until ``finished()`` (all writes made) and every id in
    ``expected`` (which grows as they are made) came here or ``handled_before``, or the
    watchdog expired."""
    seen: list[DocumentChange[Tick]] = []
    ids: set[str] = set(handled_before)
    try:
        for change in feed:
            seen.append(change)
            ids.add(change.id)
            on_change(seen)
            if (finished() and expected <= ids) or watchdog.expired():
                break
    finally:
        # Now, not whenever it is garbage-collected: closing stops the follower and
        # stores the last checkpoint, which needs the server.
        close = getattr(feed, "close", None)
        if close is not None:
            close()
    return seen


@pytest.fixture
def server_client(restartable_server: LocalServer) -> Iterator[CloudantV1]:
    assert restartable_server.url is not None
    client = restartable_server.client()
    client.put_database(DB)
    with client:
        yield client


def restart(server: LocalServer, down_for: float = 0.3) -> None:
    url = server.url
    server.stop()
    time.sleep(down_for)
    assert server.start() == url  # same port, same URL


def test_follower_rides_out_a_server_restart(
    restartable_server: LocalServer, server_client: CloudantV1, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=FOLLOWER_LOG)
    client = server_client
    expected = write(client, "a", 300)  # before
    restarted = threading.Event()
    b_written = threading.Event()

    def outage() -> None:
        restart(restartable_server)
        restarted.set()
        expected.update(write(client, "b", 50))  # right after the restart
        b_written.set()

    outage_thread = threading.Thread(target=outage, name="outage")
    c_written = False

    def on_change(seen: list[DocumentChange[Tick]]) -> None:
        nonlocal c_written
        if len(seen) == 100:
            # Mid-stream: the producer has read ahead, the consumer is a third of the way
            # through; the server goes away under the open long poll.
            outage_thread.start()
        time.sleep(0.002)  # a consumer with some work to do per change
        if (
            b_written.is_set()
            and not c_written
            and {f"b-{i:04}" for i in range(50)} <= {c.id for c in seen}
        ):
            c_written = True
            expected.update(write(client, "c", 50))  # after the follower recovered

    watchdog = Watchdog(client, DEADLINE)
    session = Session(client, db=DB)
    started = time.monotonic()
    try:
        feed = follow(session, [Tick], since="0", error_tolerance=ERROR_TOLERANCE_MS)
        seen = consume(feed, expected, watchdog, on_change, finished=lambda: c_written)
    finally:
        watchdog.stop()
        if outage_thread.ident is not None:
            outage_thread.join(timeout=30)
    took = time.monotonic() - started

    assert restarted.is_set(), "the server was not restarted"
    assert c_written, "the follower did not get past the restart"
    assert not watchdog.expired(), f"gave up after {DEADLINE} s"
    delivered = {(c.id, c.rev) for c in seen}
    # Every change (each document has one revision) came, with the stored revision.
    revs = stored_revs(client)
    assert {doc_id for doc_id, _ in delivered} == set(revs) == expected
    assert delivered == set(revs.items())
    assert all(isinstance(c.doc, Tick) and c.doc.phase == c.id[0] for c in seen)
    # The outage was real: the follower's long poll broke and it retried.
    outage_logs = [r for r in caplog.records if r.name == FOLLOWER_LOG]
    assert outage_logs, "the follower never noticed the restart"
    print(
        f"\n  follower across a restart: {len(seen)} changes in {took:.1f} s, "
        f"{len(outage_logs)} retries logged"
    )


CONSUMER = textwrap.dedent(
    """
    import os
    from cloudant_odm import Document, Session
    from cloudant_odm.changes import Checkpoint, follow
    from cloudant_odm.client import CloudantV1

    class Tick(Document, doc_type="restart_tick"):
        n: int
        phase: str

    client = CloudantV1.new_instance()
    session = Session(client, db=os.environ["DB"])
    handled = 0
    feed = follow(session, [Tick], since="0",
                  checkpoint=Checkpoint("restart", every=20, interval=3600))
    for change in feed:
        print(change.id, flush=True)
        handled += 1
        if handled == int(os.environ["KILL_AT"]):
            os._exit(1)  # killed while handling: no clean stop, no last checkpoint
    """
)


def test_checkpointed_consumer_killed_then_resumed_after_a_server_restart(
    restartable_server: LocalServer, server_client: CloudantV1
) -> None:
    client = server_client
    expected = write(client, "a", 200)
    assert restartable_server.url is not None
    env = dict(os.environ, **launched(restartable_server).environment(), DB=DB, KILL_AT="130")
    killed = subprocess.run(
        [sys.executable, "-c", CONSUMER], env=env, capture_output=True, text=True, timeout=60
    )
    assert killed.returncode == 1, killed.stderr
    first_run = killed.stdout.split()
    assert len(first_run) == 130
    checkpoint = client.get_local_document(DB, "cloudant-odm-checkpoint-restart").get_result()
    assert checkpoint["seq"] is not None

    restart(restartable_server)
    expected |= write(client, "b", 50)  # while no consumer runs
    c_written = False

    def on_change(seen: list[DocumentChange[Tick]]) -> None:
        nonlocal c_written
        if not c_written and len(seen) >= 100:
            c_written = True
            expected.update(write(client, "c", 50))  # while the new consumer runs

    watchdog = Watchdog(client, DEADLINE)
    session = Session(client, db=DB)
    try:
        feed = follow(
            session,
            [Tick],
            since="0",  # the stored checkpoint wins over it
            checkpoint=Checkpoint("restart", every=20, interval=3600),
            error_tolerance=ERROR_TOLERANCE_MS,
        )
        second = consume(
            feed,
            expected,
            watchdog,
            on_change,
            finished=lambda: c_written,
            handled_before=first_run,
        )
    finally:
        watchdog.stop()
    second_run = [c.id for c in second]

    assert not watchdog.expired(), f"gave up after {DEADLINE} s"
    assert set(first_run) | set(second_run) == expected  # nothing skipped
    # Resumed after the last checkpoint (the 120th change): 121..130 come again.
    assert second_run[:10] == first_run[120:130]
    assert not set(second_run[10:]) & set(first_run)  # and nothing before it
    # The clean stop stored where the second consumer got to: the last change it had
    # finished (the loop left during the last one, which will come again).
    final = client.get_local_document(DB, "cloudant-odm-checkpoint-restart").get_result()
    assert final["seq"] == second[-2].seq


def test_a_checkpoint_save_during_an_outage_does_not_end_the_follower(
    restartable_server: LocalServer, server_client: CloudantV1
) -> None:
    client = server_client
    expected = write(client, "a", 100)
    outage = threading.Thread(target=restart, args=(restartable_server, 1.0), name="outage")

    def on_change(seen: list[DocumentChange[Tick]]) -> None:
        if len(seen) == 42:
            restartable_server.stop()  # down before the 45th change is checkpointed
            outage.start()  # ... and back a second later

    watchdog = Watchdog(client, DEADLINE)
    session = Session(client, db=DB)
    try:
        feed = follow(
            session,
            [Tick],
            since="0",
            checkpoint=Checkpoint("outage", every=5, interval=3600),
            error_tolerance=ERROR_TOLERANCE_MS,
        )
        seen = consume(feed, expected, watchdog, on_change)
    finally:
        watchdog.stop()
        if outage.ident is not None:
            outage.join(timeout=30)
    assert {c.id for c in seen} == expected


class BrokenFeed(RecordingProxy):
    """Cuts off, resets or refuses the first ``_changes`` requests, one fault each in
    turn; everything else passes."""

    KINDS = ("truncate", "reset_after", "truncate", "unavailable", "truncate")

    def __init__(self, upstream_url: str) -> None:
        self.changes_requests = 0
        super().__init__(upstream_url, Faults(retry_after=0))

    def choose_fault(self, request: RecordedRequest) -> str | None:
        if not request.path.endswith("/_changes"):
            return None
        with self.lock:
            index = self.changes_requests
            self.changes_requests += 1
        return self.KINDS[index] if index < len(self.KINDS) else None


def test_one_off_follower_resumes_a_feed_cut_off_mid_page(
    proxied: Any, client: CloudantV1, db_name: str
) -> None:
    ids = {f"t-{i:05}" for i in range(3000)}
    with Session(client, db=db_name, batch_size=1000) as writer:
        writer.add_all(Tick(id=doc_id, n=i, phase="t") for i, doc_id in enumerate(sorted(ids)))
    proxy, through = proxied(BrokenFeed)
    session = Session(through, db=db_name)
    seen = list(follow(session, [Tick], one_off=True, error_tolerance=ERROR_TOLERANCE_MS))
    assert {c.id for c in seen} == ids  # at least once each ...
    assert len(seen) < 2 * len(ids)  # ... resumed where each cut came, not from the start
    faults = [r.fault for r in proxy.requests if r.path.endswith("/_changes")]
    assert faults[: len(BrokenFeed.KINDS)] == list(BrokenFeed.KINDS)

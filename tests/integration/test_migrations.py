"""Schema migrations against the server: documents older code wrote load as the current
version on every read path, and ``migrate`` rewrites them in bulk, resuming after a
kill without writing any document twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import _contacts
import pytest
from _contacts import Contact, Vip, older, upgraded
from _server import ServerConfig, eventually, settle

from cloudant_odm import Session, migrate
from cloudant_odm.changes import follow
from cloudant_odm.client import CloudantV1
from cloudant_odm.design import Generated, generate, sync
from cloudant_odm.migrations import CHECKPOINT_PREFIX, MigrationProgress

TESTS = Path(_contacts.__file__).resolve().parent


def seed(client: CloudantV1, db: str, docs: list[dict[str, Any]]) -> None:
    for start in range(0, len(docs), 5000):
        results = client.post_bulk_docs(db, {"docs": docs[start : start + 5000]}).get_result()
        assert all(r.get("ok") for r in results), [r for r in results if not r.get("ok")][:3]


def stored(client: CloudantV1, db: str) -> dict[str, dict[str, Any]]:
    """Every document of ``db`` but design documents, by id."""
    rows = client.post_all_docs(db, include_docs=True).get_result()["rows"]
    return {r["id"]: r["doc"] for r in rows if not r["id"].startswith("_design/")}


def without_rev(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "_rev"}


def environment(config: ServerConfig) -> dict[str, str]:
    """For a process of our own: the server's variables, tests/ importable."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDANT_")}
    environ.update(config.environment())
    path = [str(TESTS), environ.get("PYTHONPATH", "")]
    environ["PYTHONPATH"] = os.pathsep.join(p for p in path if p)
    return environ


def cli(config: ServerConfig, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cloudant_odm.cli", *args],
        env=environment(config),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture
def contacts(client: CloudantV1, db_name: str) -> list[dict[str, Any]]:
    """A few documents as older code wrote them, a current one, and someone else's."""
    docs = [older(n) for n in range(1, 5)] + [older(5, "mig-vip"), older(6, "mig-vip")]
    current = {**upgraded(7), "phones": []}
    other = {"_id": "x1", "type": "invoice", "name": "Not A Contact"}
    seed(client, db_name, [*docs, current, other])
    settle(client, db_name, len(docs) + 2)
    return docs


def test_older_documents_load_as_version_3_on_every_read_path(
    client: CloudantV1, db_name: str, contacts: list[dict[str, Any]]
) -> None:
    session = Session(client, db=db_name)
    one = session.get(Contact, "c00001")
    assert one is not None
    assert (one.first, one.last, one.phones, one.friend) == ("First1", "Last1", ["555-1"], "c00002")
    assert one.extra == {"crm": {"source": "import", "n": 1}}
    loaded = session.get_many(Contact, ["c00002", "c00005"])
    assert [type(c) for c in loaded] == [Contact, Vip]
    assert [c.first for c in loaded if c is not None] == ["First2", "First5"]

    found = eventually(lambda: _all_seven(session))
    assert {c.id: c.last for c in found} == {f"c{n:05d}": f"Last{n}" for n in range(1, 8)}
    partial = eventually(lambda: _seven(Contact.objects.using(session).fields("last").all()))
    assert {c.last for c in partial} == {f"Last{n}" for n in range(1, 8)}
    assert session.dirty
    assert all(session.is_modified(c) for c in found if c.id != "c00007")

    sync(client, db_name, [Contact])
    rows = Contact.by_last.query(session, include_docs=True, reduce=False).all()
    assert sorted(r.doc.phones[0] for r in rows if r.doc is not None and r.doc.phones) == sorted(
        f"555-{n}" for n in range(1, 7)
    )
    changes = [c for c in follow(session, [Contact], one_off=True) if c.doc is not None]
    assert {c.doc.first for c in changes if c.doc is not None} >= {"First1", "First6"}

    # A read-only session upgrades in memory only.
    with Session(client, db=db_name, read_only=True) as reader:
        assert reader.get(Contact, "c00003") is not None
        assert reader.dirty == []

    session.commit()
    after = stored(client, db_name)
    for n in range(1, 7):
        doc = after[f"c{n:05d}"]
        assert doc["_rev"].startswith("2-"), doc
        assert without_rev(doc) == upgraded(n, "mig-vip" if n > 4 else "mig-contact")
    assert after["c00007"]["_rev"].startswith("1-")  # current: not written
    assert after["x1"]["_rev"].startswith("1-")


def _all_seven(session: Session) -> list[Contact]:
    return _seven(Contact.objects.using(session).all())


def _seven(found: list[Contact]) -> list[Contact]:
    assert len(found) == 7, found
    return found


def test_migrate_rewrites_older_documents_and_reports_what_it_could_not(
    client: CloudantV1, db_name: str, contacts: list[dict[str, Any]]
) -> None:
    broken = {"_id": "c00099", "type": "mig-contact", "nom": "typo"}  # no "name": step 1 fails
    seed(client, db_name, [broken])
    settle(client, db_name, len(contacts) + 3)

    # The view understands both shapes: deployed first, it answers the same throughout.
    sync(client, db_name, Generated(generate([Contact]).design_documents, ()))
    view = Contact.by_last.query(Session(client, db=db_name))
    keys_before = [(r.key, r.id) for r in view.all()]
    assert len(keys_before) == 7

    # No index deployed: every document is read to find the older ones.
    dry = migrate(client, db_name, [Contact], dry_run=True)
    assert (dry.scanned, dry.migrated, dry.failed) == (7, 6, 1)
    assert dry.warnings
    assert "not deployed" in dry.warnings[0]
    assert all(d["_rev"].startswith("1-") for d in stored(client, db_name).values())

    events: list[MigrationProgress] = []
    report = migrate(client, db_name, [Contact], progress=events.append, batch_size=2)
    assert [m.model for m in report.models] == ["Contact", "Vip"]
    assert (report.migrated, report.failed, report.already_current) == (6, 1, 0)
    (failure,) = report.failures
    assert (failure.model, failure.doc_id, failure.from_version) == ("Contact", "c00099", 1)
    assert failure.reason == "migration(1) Contact.split_name failed: KeyError: 'name'"
    assert report.models[0].total == 5  # 4 + the broken one
    assert events[-1] == MigrationProgress("Vip", 2, 2, 2, 0, finished=True)
    after = stored(client, db_name)
    assert all(after[f"c{n:05d}"]["_rev"].startswith("2-") for n in range(1, 7))
    assert after["c00099"]["_rev"].startswith("1-")
    assert eventually(lambda: _same_rows(view, keys_before))

    again = eventually(lambda: _only_the_broken_one(client, db_name))
    assert again.failed == 1


def _same_rows(view: Any, rows: list[Any]) -> bool:
    assert [(r.key, r.id) for r in view.all()] == rows
    return True


def _only_the_broken_one(client: CloudantV1, db: str) -> Any:
    report = migrate(client, db, [Contact])
    assert (report.scanned, report.migrated) == (1, 0), report.summary()
    return report


def test_conflicts_are_read_again_and_retried(
    server_config: ServerConfig, db_name: str, contacts: list[dict[str, Any]]
) -> None:
    """Another writer changes documents between the query and the write: one still at
    version 1 (upgraded again, its change kept), one upgraded by a lazy load (current
    now), one deleted."""
    client = server_config.client()
    other = server_config.client()
    send = client.post_bulk_docs
    calls = 0

    def interfere(db: str, body: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            changed = other.get_document(db, "c00001").get_result()
            changed["phone"] = "999"
            other.put_document(db, "c00001", changed)
            with Session(other, db=db) as lazy:
                # Upgraded and changed, stored at commit. (Had it stored exactly what the
                # migration writes, the session would take that write for its own.)
                upgraded_elsewhere = lazy.get(Contact, "c00002")
                assert upgraded_elsewhere is not None
                upgraded_elsewhere.phones.append("777")
            gone = other.get_document(db, "c00003").get_result()
            other.delete_document(db, "c00003", rev=gone["_rev"])
        return send(db, body, **kwargs)

    client.post_bulk_docs = interfere  # type: ignore[method-assign]
    report = migrate(client, db_name, [Contact])
    contact = report.models[0]
    assert (contact.scanned, contact.conflicts_retried) == (4, 3)
    assert (contact.migrated, contact.already_current, contact.deleted) == (2, 1, 1)
    after = stored(client, db_name)
    assert after["c00001"]["phones"] == ["999"]
    assert after["c00001"]["_rev"].startswith("3-")  # the other writer's, then ours
    assert after["c00002"]["phones"] == ["555-2", "777"]
    assert after["c00002"]["_rev"].startswith("2-")  # the lazy load's only
    assert "c00003" not in after


KILLER = """
import os, signal, sys

import _contacts
from cloudant_odm import migrate
from cloudant_odm.client import CloudantV1

db, kill_at, page = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
client = CloudantV1.new_instance()
save = client.put_local_document
saves = 0


def put_local_document(*args, **kwargs):
    # The checkpoint of page `kill_at` is about to be stored: its documents are written.
    global saves
    saves += 1
    if saves == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)
    return save(*args, **kwargs)


client.put_local_document = put_local_document
migrate(client, db, [_contacts.Contact], batch_size=page)
"""


@pytest.mark.slow
def test_migrate_20000_documents_killed_halfway_and_resumed(
    server_config: ServerConfig, client: CloudantV1, db_name: str, tmp_path: Path
) -> None:
    total, page = 20_000, 1000
    others = [{"_id": f"x{n:03d}", "type": "invoice", "name": "Not Mine"} for n in range(50)]
    seed(client, db_name, [older(n) for n in range(total)] + others)
    indexes = generate([Contact]).indexes  # the index of older documents (not the view)
    sync(client, db_name, Generated((), indexes))
    settle(client, db_name, total + len(others))

    script = tmp_path / "killer.py"
    script.write_text(textwrap.dedent(KILLER))
    started = time.monotonic()
    killed = subprocess.run(
        [sys.executable, str(script), db_name, "10", str(page)],
        env=environment(server_config),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    checkpoint = client.get_local_document(db_name, CHECKPOINT_PREFIX + "mig-contact").get_result()
    assert not checkpoint["finished"]
    assert checkpoint["counts"]["migrated"] == 9 * page  # page 10 written, not recorded
    written = sum(1 for d in stored(client, db_name).values() if d.get("schema_version") == 3)
    assert written == 10 * page

    resumed = cli(
        server_config,
        *("migrate", "_contacts", "--db", db_name, "--model", "Contact", "--batch-size", str(page)),
    )
    elapsed = time.monotonic() - started
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "Contact (v3) (resumed): " in resumed.stdout
    # Counts go on from the checkpoint; page 10 was written by the killed run after it.
    assert f"{total - page} migrated, 0 already current" in resumed.stdout
    assert f"/{total - page} documents" in resumed.stderr  # the progress bar's total

    after = stored(client, db_name)
    assert len(after) == total + len(others)  # none lost
    for n in range(total):
        doc = after[f"c{n:05d}"]
        assert doc["_rev"].startswith("2-"), doc  # written once
        assert without_rev(doc) == upgraded(n), doc  # foreign keys and others' keys kept
    assert all(after[f"x{n:03d}"]["_rev"].startswith("1-") for n in range(50))

    third = migrate(client, db_name, [Contact])
    assert (third.scanned, third.migrated, third.failed) == (0, 0, 0)
    assert third.models[0].index is not None
    assert not third.warnings
    print(f"20000 documents: killed and resumed in {elapsed:.1f} s")


def test_cli_dry_run_and_exit_codes(
    server_config: ServerConfig, client: CloudantV1, db_name: str
) -> None:
    seed(client, db_name, [older(1), older(2)])
    settle(client, db_name, 2)
    dry = cli(server_config, "migrate", "_contacts", "--db", db_name, "--dry-run")
    assert dry.returncode == 2, dry.stdout + dry.stderr
    assert "Dry run: 2 older document(s) found, 2 would migrate" in dry.stdout
    assert all(d["_rev"].startswith("1-") for d in stored(client, db_name).values())
    done = cli(server_config, "migrate", "_contacts", "--db", db_name, "--quiet")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Done: 2 older document(s) found, 2 migrated" in done.stdout
    assert done.stderr == ""
    seed(client, db_name, [{"_id": "bad", "type": "mig-contact", "nom": "x"}])
    failed = cli(server_config, "migrate", "_contacts", "--db", db_name)
    assert failed.returncode == 1
    assert "failed 'bad' (version 1): migration(1) Contact.split_name failed" in failed.stdout

"""Eager schema migration: :func:`migrate` rewrites, in bulk, every document of the given
classes that is stored at an older schema version.

For each versioned class (and each of its subclasses: every concrete class is migrated by
its own type) it pages, by document id, through a Mango query for the class's documents
without the version key or below the current version, served by the partial index the
class declares (:mod:`cloudant_odm.schema.stale`; deployed by ``sync``). Each page is
loaded as the lazy path loads documents (the steps run, the converter checks the result),
and the upgraded documents are written in ``_bulk_docs`` requests by a session. A conflict
(the document changed meanwhile) is read again and upgraded again, a bounded number of
times. After each page, where the run got to and its counts are stored in
``_local/cloudant-odm-migrate-<doc_type>``, so a run that was stopped resumes after the
last page it stored. The query only finds documents that are still older, so a document is
never written twice, and a second run finds nothing to do.

Paging is by id (``_id > last``), not by bookmark: the set of matching documents shrinks
as they are migrated, which a bookmark that counts positions (PouchDB Server's) would
skip over, and an id is also what a checkpoint can keep.

The requests are a flow (``client/flows.py``, :func:`migrate_flow`): :func:`migrate` runs
it with ``CloudantV1``, ``cloudant_odm.aio.migrate`` awaits it with ``AsyncCloudantV1``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs

from cloudant_odm.changes import LocalDocumentFlows
from cloudant_odm.client import CloudantV1, ConflictError
from cloudant_odm.client.flows import Flow, Send, run
from cloudant_odm.errors import BulkWriteError, DocumentValidationError, naming_not_found
from cloudant_odm.models import Document, to_json
from cloudant_odm.models.registry import registry
from cloudant_odm.models.versions import needs_upgrade, stale_selector
from cloudant_odm.schema.generate import Models, collect_models
from cloudant_odm.schema.stale import stale_index
from cloudant_odm.session import BaseSession, Session

__all__ = [
    "CHECKPOINT_PREFIX",
    "DEFAULT_BATCH_SIZE",
    "MigrationFailure",
    "MigrationProgress",
    "MigrationReport",
    "ModelMigration",
    "migrate",
]

log = logging.getLogger("cloudant_odm.migrations")

#: Prefix of the ``_local`` document ids that hold a run's checkpoint (one per class).
CHECKPOINT_PREFIX = "cloudant-odm-migrate-"
#: Documents read, and written, per request.
DEFAULT_BATCH_SIZE = 500
#: Ids read per request when counting the documents to migrate.
_COUNT_PAGE = 5000
#: Failures kept in a checkpoint (the count is always kept).
_STORED_FAILURES = 100


@attrs.frozen
class MigrationFailure:
    """A document that was not migrated, and why."""

    model: str
    doc_id: str
    #: The version it is stored at (None if that could not be told).
    from_version: Any
    reason: str

    def __str__(self) -> str:
        return f"{self.model} {self.doc_id!r} (version {self.from_version}): {self.reason}"


@attrs.define
class ModelMigration:
    """What a run did for one class (its own documents, by its ``doc_type``).

    A run that resumed a stopped one includes the counts the stopped one stored.
    """

    model: str
    doc_type: str
    schema_version: int
    #: The ``_local`` document holding the checkpoint (without ``_local/``).
    checkpoint: str
    #: The index the query used (``_design/<ddoc>/json/<name>``), or None: not deployed,
    #: so the query read every document by id.
    index: str | None = None
    #: This run continued a stopped one from its checkpoint.
    resumed: bool = False
    #: Documents to migrate when the run started (counted when progress is shown).
    total: int | None = None
    #: Documents the query found at an older version.
    scanned: int = 0
    #: Written at the class's version (in a dry run: would be).
    migrated: int = 0
    #: Found at the class's version when read again after a conflict (another writer
    #: upgraded them meanwhile).
    already_current: int = 0
    #: Conflicts answered by reading the document again and retrying.
    conflicts_retried: int = 0
    #: Deleted between the query and the write.
    deleted: int = 0
    #: How many failed (``failures`` holds at most the last 100 of a stopped run).
    failed: int = 0
    failures: list[MigrationFailure] = attrs.field(factory=list)


@attrs.define
class MigrationReport:
    """What :func:`migrate` did (or, in a dry run, would do), class by class."""

    db: str
    dry_run: bool = False
    models: list[ModelMigration] = attrs.field(factory=list)
    warnings: list[str] = attrs.field(factory=list)

    def _sum(self, name: str) -> int:
        return sum(getattr(m, name) for m in self.models)

    @property
    def scanned(self) -> int:
        return self._sum("scanned")

    @property
    def migrated(self) -> int:
        return self._sum("migrated")

    @property
    def already_current(self) -> int:
        return self._sum("already_current")

    @property
    def conflicts_retried(self) -> int:
        return self._sum("conflicts_retried")

    @property
    def deleted(self) -> int:
        return self._sum("deleted")

    @property
    def failed(self) -> int:
        return self._sum("failed")

    @property
    def failures(self) -> list[MigrationFailure]:
        return [f for m in self.models for f in m.failures]

    def summary(self) -> str:
        verb = "would migrate" if self.dry_run else "migrated"
        text = (
            f"{self.scanned} older document(s) found, {self.migrated} {verb}, "
            f"{self.already_current} already current, {self.conflicts_retried} conflict(s) "
            f"retried, {self.failed} failed"
        )
        return text + (f", {self.deleted} deleted meanwhile" if self.deleted else "")


@attrs.frozen
class MigrationProgress:
    """Where a run stands with one class, after each page (and before the first)."""

    model: str
    #: Documents handled so far (found and migrated, found current, or failed).
    done: int
    #: Documents to migrate when the run started (None: not counted).
    total: int | None
    migrated: int
    failed: int
    #: The class is done.
    finished: bool = False


ProgressCallback = Callable[[MigrationProgress], None]


def migrate(
    target: CloudantV1 | Session,
    db: str | None,
    models: Models,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    dry_run: bool = False,
    progress: ProgressCallback | None = None,
    restart: bool = False,
    max_retries: int = 5,
) -> MigrationReport:
    """Rewrite every document of ``models`` stored at an older schema version.

    - ``target``: a client, or a session (its client, its database mapping, its write
      settings; its own objects are not touched: pages go through sessions of their own).
    - ``db``: the database; None takes each class's database (the session's, or
      ``Meta.db``).
    - ``models``: classes or modules, as for ``sync``; each class's registered subclasses
      are migrated too. Classes that are not versioned (or at version 1) are skipped.
    - ``batch_size``: documents read per ``_find`` and written per ``_bulk_docs``.
    - ``dry_run``: upgrade and check every document, write nothing (no checkpoint either).
    - ``progress``: called with :class:`MigrationProgress` before the first page and
      after each one; with it, the documents to migrate are counted first (their ids).
    - ``restart``: ignore the checkpoint of a stopped run and start from the first id.
    - ``max_retries``: how often a conflicting document is read and written again.

    A document that can't be migrated (a step raises, the result isn't valid, the server
    refuses the write) is reported in ``failures`` with the reason, and the run goes on.
    Run it again after fixing the cause: it finds only the documents still older.

    ``cloudant_odm.aio.migrate`` is the same with an ``AsyncCloudantV1`` or an
    ``AsyncSession``, awaited.
    """
    session = target if isinstance(target, Session) else None
    client = session.client if session is not None else target
    if not isinstance(client, CloudantV1):
        raise TypeError(f"migrate() takes a CloudantV1 client or a Session, got {target!r}")
    flow = migrate_flow(
        client,
        session,
        db,
        models,
        batch_size=batch_size,
        dry_run=dry_run,
        progress=progress,
        restart=restart,
        max_retries=max_retries,
    )
    return run(flow, client)


def migrate_flow(
    client: Any,
    session: BaseSession[Any] | None,
    db: str | None,
    models: Models,
    *,
    batch_size: int,
    dry_run: bool,
    progress: ProgressCallback | None,
    restart: bool,
    max_retries: int,
) -> Flow[MigrationReport]:
    """The work of :func:`migrate` as a flow (``client/flows.py``), which ``migrate``
    runs with ``CloudantV1`` and ``cloudant_odm.aio.migrate`` awaits with
    ``AsyncCloudantV1``. ``client`` (the session's, if a session is given) is the one
    it is sent with: the pages' sessions are made with it. The arguments are checked
    before the first request."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if max_retries < 0:
        raise ValueError("max_retries can't be negative")
    if session is not None and not dry_run:
        session.check_writable("migrate documents (pass dry_run=True to count them)")
    report = MigrationReport(db or "", dry_run=dry_run)
    classes = _versioned(collect_models(models))
    if not classes:
        report.warnings.append("none of the classes has a schema_version above 1: nothing to do")
        return report
    deployed: dict[str, set[tuple[str, str]]] = {}
    for model in classes:
        database = _database(model, db, session)
        report.db = report.db or database
        if database not in deployed:
            deployed[database] = yield from _deployed_indexes(database)
        job = _Run(
            client,
            database,
            model,
            session=session,
            batch_size=batch_size,
            dry_run=dry_run,
            max_retries=max_retries,
        )
        report.models.append(job.result)
        warning = job.choose_index(deployed[database])
        if warning:
            report.warnings.append(warning)
        yield from job.start(restart=restart, count=progress is not None)
        yield from job.go(progress)
    return report


def _versioned(models: Iterable[type[Document]]) -> list[type[Document]]:
    """The concrete classes to migrate: those given and their registered subclasses,
    versioned at 2 or more, in a stable order."""
    found: dict[type[Document], None] = {}
    for model in models:
        for cls in (model, *registry.classes()):
            if issubclass(cls, model) and stale_selector(cls) is not None:
                found.setdefault(cls)
    return list(found)


def _database(model: type[Document], db: str | None, session: BaseSession[Any] | None) -> str:
    if db:
        return db
    if session is not None:
        return session.db_for(model)
    if model._options.db:
        return model._options.db
    raise ValueError(f"migrate(): no database for {model.__name__}: give db= or set Meta.db")


def _deployed_indexes(db: str) -> Flow[set[tuple[str, str]]]:
    with naming_not_found(db):
        found = (yield Send("get_indexes_information", db)).get_result().get("indexes", [])
    return {(str(i.get("ddoc") or "").removeprefix("_design/"), str(i.get("name"))) for i in found}


class _Run:
    """The migration of one class's documents: its requests are flows."""

    def __init__(
        self,
        client: Any,
        db: str,
        model: type[Document],
        *,
        session: BaseSession[Any] | None,
        batch_size: int,
        dry_run: bool,
        max_retries: int,
    ) -> None:
        self.client = client  # (for the pages' sessions)
        self.db = db
        self.model = model
        self.options = model._options
        self.session = session
        self.batch_size = batch_size
        self.dry_run = dry_run
        self.max_retries = max_retries
        selector = stale_selector(model)
        assert selector is not None  # _versioned() kept only classes that have one
        self.selector = selector
        self.use_index: list[str] | None = None
        self.last_id = ""
        self.started = time.time()
        version = self.options.schema_version
        assert version is not None
        self.result = ModelMigration(
            model=model.__name__,
            doc_type=self.options.doc_type,
            schema_version=version,
            checkpoint=CHECKPOINT_PREFIX + self.options.doc_type,
        )
        self.store = LocalDocumentFlows(
            db, self.result.checkpoint, f"checkpoint _local/{self.result.checkpoint}"
        )

    # -- setting out ----------------------------------------------------------------

    def choose_index(self, deployed: set[tuple[str, str]]) -> str | None:
        """Use the class's index if it is deployed; else a warning."""
        index = stale_index(self.model)
        assert index is not None
        if (index.ddoc, index.name) in deployed:
            self.use_index = [index.ddoc, index.name]
            self.result.index = f"_design/{index.ddoc}/json/{index.name}"
            return None
        return (
            f"{self.model.__name__}: the index of older documents (_design/{index.ddoc}) is "
            f"not deployed in {self.db!r}, so every document is read to find them; deploy "
            "it first with `cloudant-odm sync` (or sync())"
        )

    def start(self, *, restart: bool, count: bool) -> Flow[None]:
        """Resume from the checkpoint of a stopped run (unless ``restart`` or a dry
        run), and count what is left when asked."""
        stored = None if self.dry_run or restart else (yield from self.store.reading())
        if stored is not None and self._resumable(stored):
            self.last_id = str(stored["last_id"])
            counts = stored.get("counts") or {}
            for name in ("scanned", "migrated", "already_current", "conflicts_retried"):
                setattr(self.result, name, int(counts.get(name, 0)))
            self.result.deleted = int(counts.get("deleted", 0))
            self.result.failed = int(counts.get("failed", 0))
            self.result.failures = [
                MigrationFailure(self.result.model, f["id"], f.get("from_version"), f["reason"])
                for f in stored.get("failures") or []
            ]
            self.started = float(stored.get("started") or self.started)
            self.result.resumed = True
            log.info("%s: resuming after id %r", self.model.__name__, self.last_id)
        if count:
            self.result.total = self.result.scanned + (yield from self._count())

    def _resumable(self, stored: Mapping[str, Any]) -> bool:
        options = self.options
        return (
            not stored.get("finished")
            and isinstance(stored.get("last_id"), str)
            and stored.get("schema_version") == options.schema_version
            and stored.get("version_key") == options.schema_version_key
            and stored.get("type_field") == options.type_field
        )

    # -- the pages ------------------------------------------------------------------

    def _find(self, after: str, limit: int, fields: list[str] | None = None) -> Flow[list[Any]]:
        selector = {**self.selector, "_id": {"$gt": after}}
        with naming_not_found(self.db):
            response = yield Send(
                "post_find",
                self.db,
                selector=selector,
                sort=[{"_id": "asc"}],
                limit=limit,
                fields=fields,
                use_index=self.use_index,
            )
        docs: list[Any] = response.get_result().get("docs", [])
        return docs

    def _count(self) -> Flow[int]:
        total, after = 0, self.last_id
        while True:
            ids = yield from self._find(after, _COUNT_PAGE, fields=["_id"])
            if not ids:
                return total
            total += len(ids)
            after = ids[-1]["_id"]

    def go(self, progress: ProgressCallback | None) -> Flow[None]:
        self._report(progress)
        pages = 0
        while True:
            docs = yield from self._find(self.last_id, self.batch_size)
            if not docs:
                break
            yield from self._migrate_page(docs)
            self.last_id = docs[-1]["_id"]
            pages += 1
            if not self.dry_run:
                yield from self._save(finished=False)
            self._report(progress)
        # A run that found nothing, and resumed nothing, leaves the checkpoint as it was.
        if not self.dry_run and (pages or self.result.resumed):
            yield from self._save(finished=True)
        self._report(progress, finished=True)

    def _report(self, progress: ProgressCallback | None, *, finished: bool = False) -> None:
        if progress is None:
            return
        r = self.result
        done = r.migrated + r.already_current + r.deleted + r.failed
        progress(MigrationProgress(r.model, done, r.total, r.migrated, r.failed, finished))

    # -- one page -------------------------------------------------------------------

    def _new_session(self) -> BaseSession[Any]:
        # Only the session's flows are used (sent by the run's driver), so the shared
        # base does for both clients.
        source = self.session
        if source is None:
            return BaseSession(self.client, db=self.db)
        return BaseSession(
            self.client,
            db=self.db,
            batch_bytes=source.batch_bytes,
            batch_size=source.batch_size,
            accepted_writes=source.accepted_writes,
        )

    def _migrate_page(self, docs: Sequence[dict[str, Any]]) -> Flow[None]:
        session = self._new_session()
        self.result.scanned += len(docs)
        versions = {str(d.get("_id")): self._stored_version(d) for d in docs}
        self._load(session, docs, versions)
        pending = [obj for obj in session if session.is_modified(obj)]
        if self.dry_run:
            self.result.migrated += len(pending)
            return
        for attempt in range(self.max_retries + 1):
            written, conflicted = yield from self._write(session, versions)
            self.result.migrated += written
            if not conflicted:
                return
            if attempt == self.max_retries:
                reason = f"still conflicting after {self.max_retries} retries"
                for doc_id in conflicted:
                    self._fail(doc_id, versions.get(doc_id), reason)
                return
            self.result.conflicts_retried += len(conflicted)
            yield from self._read_again(session, conflicted, versions)

    def _stored_version(self, data: Mapping[str, Any]) -> Any:
        return data.get(self.options.schema_version_key, 1)

    def _load(
        self, session: BaseSession[Any], docs: Iterable[dict[str, Any]], versions: dict[str, Any]
    ) -> None:
        """Load (so upgrade) each document into ``session``; a document that can't be
        loaded, or whose upgraded form can't be stored, is a failure and left out."""
        for data in docs:
            doc_id = str(data.get("_id"))
            try:
                obj = session.load_json(self.model, self.db, data)
                to_json(obj)  # what flush would refuse for the whole batch
            except DocumentValidationError as exc:
                held = session.held(self.db, doc_id)
                if held is not None:
                    session.expunge(held)
                problems = "; ".join(f"{path}: {msg}" if path else msg for path, msg in exc.errors)
                self._fail(doc_id, versions.get(doc_id), problems)

    def _write(
        self, session: BaseSession[Any], versions: Mapping[str, Any]
    ) -> Flow[tuple[int, list[str]]]:
        """Flush; the number written and the ids that conflicted (now expunged)."""
        pending = len(session.dirty)
        if not pending:
            return 0, []
        try:
            yield from session._flush_flow(None)
        except BulkWriteError as error:
            conflicted: list[str] = []
            for failure in error.failures:
                doc_id = str(failure.document.id)
                session.expunge(failure.document)
                if isinstance(failure.error, ConflictError):
                    conflicted.append(doc_id)
                else:
                    self._fail(doc_id, versions.get(doc_id), failure.error.message)
            return error.written, conflicted
        return pending, []

    def _read_again(
        self, session: BaseSession[Any], ids: list[str], versions: dict[str, Any]
    ) -> Flow[None]:
        """Conflicts: read the current revisions and upgrade them again (those another
        writer upgraded meanwhile are current now; deleted ones are left)."""
        with naming_not_found(self.db):
            response = yield Send("post_all_docs", self.db, keys=ids, include_docs=True)
        rows = response.get_result()
        again: list[dict[str, Any]] = []
        for row in rows["rows"]:
            doc = row.get("doc")
            if doc is None or (row.get("value") or {}).get("deleted"):
                self.result.deleted += 1
            elif (
                not needs_upgrade(self.model, doc)
                and doc.get(self.options.type_field) == self.options.doc_type
            ):
                self.result.already_current += 1
            else:
                versions[str(doc.get("_id"))] = self._stored_version(doc)
                again.append(doc)
        self._load(session, again, versions)

    def _fail(self, doc_id: str, from_version: Any, reason: str) -> None:
        self.result.failed += 1
        self.result.failures.append(
            MigrationFailure(self.result.model, doc_id, from_version, reason)
        )
        log.info("%s %r not migrated: %s", self.result.model, doc_id, reason)

    # -- the checkpoint -------------------------------------------------------------

    def _save(self, *, finished: bool) -> Flow[None]:
        r = self.result
        options = self.options
        yield from self.store.saving(
            {
                "model": r.model,
                "doc_type": options.doc_type,
                "type_field": options.type_field,
                "version_key": options.schema_version_key,
                "schema_version": options.schema_version,
                "last_id": self.last_id,
                "finished": finished,
                "counts": {
                    "scanned": r.scanned,
                    "migrated": r.migrated,
                    "already_current": r.already_current,
                    "conflicts_retried": r.conflicts_retried,
                    "deleted": r.deleted,
                    "failed": r.failed,
                },
                "failures": [
                    {"id": f.doc_id, "from_version": f.from_version, "reason": f.reason}
                    for f in r.failures[-_STORED_FAILURES:]
                ],
                "started": self.started,
                "updated": time.time(),
            }
        )

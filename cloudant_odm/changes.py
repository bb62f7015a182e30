"""The typed changes follower: ``DocumentChange[T]`` events with model instances, filtered by
type on the server, with optional at-least-once checkpoints in a ``_local/`` document.

Built on the client's ``ChangesFollower`` (back-off, error tolerance, batching).
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import timedelta
from typing import Any, Generic, TypeVar

import attrs

from cloudant_odm.client import (
    ChangesFollower,
    ChangesResultItem,
    CloudantV1,
    ConflictError,
    NotFoundError,
)
from cloudant_odm.client.flows import Flow, Send, Sleep, check_client, run
from cloudant_odm.client.follower import FOREVER_MS, is_transient
from cloudant_odm.errors import naming_not_found
from cloudant_odm.models import Document, DocumentTypeError
from cloudant_odm.models.conversion import document_loader
from cloudant_odm.models.registry import type_selector
from cloudant_odm.session import Session

__all__ = ["Change", "Checkpoint", "DocumentChange", "follow", "type_selector"]

log = logging.getLogger("cloudant_odm.changes")

T = TypeVar("T", bound=Document)

#: Prefix of the ``_local`` document ids that hold checkpoints.
CHECKPOINT_PREFIX = "cloudant-odm-checkpoint-"


@attrs.frozen
class DocumentChange(Generic[T]):
    """One change: the document ``id``, the sequence ``seq`` to resume after, the
    revision ``rev``, whether it is a deletion, and ``doc``: the document as an instance
    of its class, or None when it was deleted (or not fetched, or of another type)."""

    id: str
    seq: str | int | None
    rev: str | None
    deleted: bool
    doc: T | None


#: The earlier name of :class:`DocumentChange` (kept for old imports; the endpoint
#: client's ``Change`` is another thing, the SDK's revision model).
Change = DocumentChange


@attrs.define
class Checkpoint:
    """Where a named consumer got to, kept in ``_local/cloudant-odm-checkpoint-<name>``.

    The sequence of a change is stored only after the consumer has handled it (the loop
    body finished and asked for the next change): every ``every`` changes, at least
    every ``interval`` seconds, and when the loop ends. A consumer restarted with the
    same checkpoint resumes after the last stored change, so nothing is skipped; the
    changes after it may be delivered again (at least once).
    """

    name: str
    every: int = 100
    interval: float = 5.0

    def __attrs_post_init__(self) -> None:
        if not self.name or "/" in self.name:
            raise ValueError(f"Checkpoint name must be non-empty and without '/': {self.name!r}")
        if self.every < 1 or self.interval <= 0:
            raise ValueError("Checkpoint every must be >= 1 and interval > 0")

    @property
    def doc_id(self) -> str:
        return CHECKPOINT_PREFIX + self.name


#: Writes of a checkpoint tried before its conflict is taken for another consumer's.
_CHECKPOINT_ATTEMPTS = 5


class LocalDocumentFlows:
    """One ``_local`` document (a checkpoint), read and written with its ``_rev``: its
    requests as flows (``client/flows.py``), which ``LocalDocument`` sends with the
    synchronous client and ``cloudant_odm.aio``'s with the async one.

    A write that conflicts (the document changed under us) reads the current revision
    and goes again; on a cluster the read itself may still see an older revision for a
    moment, so a few times, waiting a little longer each time (``pause_before``), then
    ``ConflictError`` (``contended``): another consumer writes it too. ``what`` names
    the document in that error."""

    attempts = _CHECKPOINT_ATTEMPTS

    def __init__(self, db: str, doc_id: str, what: str) -> None:
        self.db = db
        self.doc_id = doc_id
        self.what = what
        self.rev: str | None = None

    def reading(self) -> Flow[dict[str, Any] | None]:
        """The document, or None if there is none."""
        try:
            response = yield Send("get_local_document", self.db, self.doc_id)
        except NotFoundError:
            self.rev = None
            return None
        doc: dict[str, Any] = response.get_result()
        self.rev = doc.get("_rev")
        return doc

    def writing(self, body: dict[str, Any], attempt: int) -> Flow[bool]:
        """Write attempt number ``attempt`` (0 first): False if it conflicted. A retry
        reads the current revision first."""
        if attempt:
            yield from self.reading()
        if self.rev is not None:
            body["_rev"] = self.rev
        else:
            body.pop("_rev", None)
        try:
            response = yield Send("put_local_document", self.db, self.doc_id, body)
        except ConflictError:
            return False
        self.rev = response.get_result().get("rev", self.rev)
        return True

    @staticmethod
    def pause_before(attempt: int) -> float:
        """Seconds to wait before write attempt ``attempt``: none before the first two,
        then 0.1 s, doubling, for the cluster's copies to agree."""
        return 0.0 if attempt < 2 else 0.05 * 2 ** (attempt - 1)

    def contended(self) -> ConflictError:
        """The error once every attempt has conflicted."""
        return ConflictError(409, f"{self.what} is being written by another consumer")

    def saving(self, body: dict[str, Any]) -> Flow[None]:
        """Write ``body``: every attempt, with its pause, until one does not conflict;
        then ``contended()`` is raised."""
        for attempt in range(self.attempts):
            pause = self.pause_before(attempt)
            if pause:
                yield Sleep(pause)
            if (yield from self.writing(body, attempt)):
                return
        raise self.contended()


class LocalDocument(LocalDocumentFlows):
    """A ``_local`` document read and written with the synchronous ``client`` (see
    ``LocalDocumentFlows``)."""

    def __init__(self, client: CloudantV1, db: str, doc_id: str, what: str) -> None:
        super().__init__(db, doc_id, what)
        self.client = client

    def load(self) -> dict[str, Any] | None:
        """The document, or None if there is none."""
        return run(self.reading(), self.client)

    def save(self, body: dict[str, Any]) -> None:
        run(self.saving(body), self.client)


_D = TypeVar("_D", bound=LocalDocumentFlows)


class _CheckpointStore(Generic[_D]):
    """What a checkpoint document holds (the sequence, and when it was stored) and when
    it is written: every ``every`` changes handled, at least every ``interval`` seconds,
    and at the end. No I/O: ``document`` is read and written by the driver."""

    def __init__(self, document: _D, checkpoint: Checkpoint) -> None:
        self.checkpoint = checkpoint
        self.document = document
        self.handled: str | int | None = None  # seq of the last change the consumer finished
        self.saved: str | int | None = None
        self._unsaved = 0
        self._last_save = time.monotonic()

    @staticmethod
    def seq_in(doc: Mapping[str, Any] | None) -> str | int | None:
        """The stored sequence of a checkpoint document (None: there is none)."""
        seq: str | int | None = None if doc is None else doc.get("seq")
        return seq

    @staticmethod
    def body(seq: str | int) -> dict[str, Any]:
        return {"seq": seq, "updated": time.time()}

    def handle(self, seq: str | int) -> bool:
        """The consumer has handled the change ``seq``: whether to store it now."""
        self.handled = seq
        self._unsaved += 1
        checkpoint = self.checkpoint
        return (
            self._unsaved >= checkpoint.every
            or time.monotonic() - self._last_save >= checkpoint.interval
        )

    def stored(self, ok: bool) -> None:
        """The write of ``handled`` has been tried (``ok``: it is stored)."""
        if ok:
            self.saved = self.handled
        self._unsaved, self._last_save = 0, time.monotonic()

    def unsaved(self) -> str | int | None:
        """At the end: the sequence still to store, if any."""
        return self.handled if self.handled is not None and self.handled != self.saved else None

    def save_failed(self, error: Exception) -> None:
        """A write failed: a transient failure (the server is away) is logged and tried
        again at the next checkpoint, as the follower rides out the same outage; a
        conflict (another consumer writing this checkpoint) or any other error is
        raised."""
        if isinstance(error, ConflictError) or not is_transient(error):
            raise error
        log.warning("checkpoint %r not saved (%s); trying again later", self.checkpoint.name, error)


@attrs.frozen
class _FollowPlan(Generic[T]):
    """What a ``follow()`` call asks for, decided once for both drivers: the database,
    the classes, and the follower's options (``since`` from a checkpoint comes later)."""

    client: Any  # the session's, or the client given
    database: str
    models: tuple[type[T], ...]
    options: dict[str, Any]
    one_off: bool
    since: str | int | None
    checkpoint: Checkpoint | None

    def checkpoint_document(self) -> tuple[str, str, str]:
        """The database, id and description of the checkpoint's ``_local`` document."""
        assert self.checkpoint is not None
        name = self.checkpoint.name
        return self.database, self.checkpoint.doc_id, f"checkpoint {name!r}"

    def start_from(self, stored: str | int | None) -> str | int:
        """Where to start: the stored checkpoint's sequence, else ``since``, else the
        beginning (one-off) or now."""
        if stored is not None:
            return stored
        if self.since is not None:
            return self.since
        return "0" if self.one_off else "now"


def _plan(
    session: Any,
    models: type[T] | Sequence[type[T]],
    *,
    db: str | None,
    since: str | int | None,
    include_docs: bool,
    selector: Mapping[str, Any] | Any,
    one_off: bool,
    checkpoint: Checkpoint | None,
    error_tolerance: float | timedelta | None,
    limit: int | None,
    awaited: bool = False,
) -> _FollowPlan[T]:
    """``follow()``'s arguments checked and turned into a plan (no I/O); ``awaited``:
    for the async ``follow()``."""
    where = "cloudant_odm.aio.follow()" if awaited else "follow()"
    if isinstance(models, str):
        raise TypeError(f"{where} takes Document classes, not the string {models!r}")
    if checkpoint is not None and not isinstance(checkpoint, Checkpoint):
        raise TypeError(
            f"{where}: checkpoint= takes a Checkpoint (Checkpoint({checkpoint!r})), "
            f"got {checkpoint!r}"
        )
    classes: tuple[type[T], ...] = (models,) if isinstance(models, type) else tuple(models)
    if not classes:
        raise ValueError(f"{where} needs at least one Document class")
    for model in classes:
        if not (isinstance(model, type) and issubclass(model, Document)):
            raise TypeError(f"{where} takes Document classes, not {model!r}")
    # A session (synchronous or async) knows each class's database; a client doesn't.
    is_session = hasattr(session, "db_for")
    client = session.client if is_session else session
    other = "cloudant_odm.changes.follow()" if awaited else "cloudant_odm.aio.follow()"
    check_client(client, awaited=awaited, where=where, instead=other)
    if db:
        database = db
    elif is_session:
        database = session.db_for(classes[0])
    else:
        database = classes[0]._options.db or ""
        if not database:
            raise ValueError(
                f"No database for {classes[0].__name__}: give follow(..., db=...) "
                "or set Meta.db on the class"
            )
    full_selector = type_selector(classes)
    if selector is not None:
        extra = selector.to_selector() if hasattr(selector, "to_selector") else dict(selector)
        full_selector = {"$and": [full_selector, extra]}
    options: dict[str, Any] = {
        "error_tolerance": error_tolerance,
        "db": database,
        "include_docs": include_docs,
        "filter": "_selector",
        "selector": full_selector,
        "limit": limit,
    }
    return _FollowPlan(client, database, classes, options, one_off, since, checkpoint)


def follow(
    session: Session | CloudantV1,
    models: type[T] | Sequence[type[T]],
    *,
    db: str | None = None,
    since: str | int | None = None,
    include_docs: bool = True,
    selector: Mapping[str, Any] | Any = None,
    one_off: bool = False,
    checkpoint: Checkpoint | None = None,
    error_tolerance: float | timedelta | None = FOREVER_MS,
    limit: int | None = None,
) -> Iterator[DocumentChange[T]]:
    """Follow the changes of ``models``' documents (a class, or several) as typed
    ``DocumentChange`` events, in ``session``'s database for the first class (or
    ``db``); ``session`` may also be a client, the database then being ``db`` or the
    class's ``Meta.db``.

    Documents of other types are filtered out on the server (a ``_selector`` on the type
    field, ANDed with ``selector`` — a dict or a query expression). ``one_off=True``
    reads to the end of the feed and stops; otherwise the follower waits for new changes
    until the loop is left. ``since`` defaults to the checkpoint's stored sequence, else
    ``"0"`` for one-off and ``"now"`` for continuous following.

    Deletions match the type filter only if the tombstone keeps the type field, which
    ``Session.delete`` does; a deletion made by another program without it is not seen.
    """
    plan = _plan(
        session,
        models,
        db=db,
        since=since,
        include_docs=include_docs,
        selector=selector,
        one_off=one_off,
        checkpoint=checkpoint,
        error_tolerance=error_tolerance,
        limit=limit,
    )
    client: CloudantV1 = plan.client
    store = None
    stored = None
    if plan.checkpoint is not None:
        store = _CheckpointStore(
            LocalDocument(client, *plan.checkpoint_document()), plan.checkpoint
        )
        stored = store.seq_in(store.document.load())
    follower = ChangesFollower(client, since=plan.start_from(stored), **plan.options)
    # Chunks of rows, usual ones as the parser's dicts: no ChangesResultItem is built.
    chunks = follower._start_rows(plan.one_off)
    return _typed_changes(follower, chunks, plan.models, store, plan.database)


def _typed_changes(
    follower: ChangesFollower,
    chunks: Iterator[list[dict[str, Any] | ChangesResultItem]],
    models: tuple[type[T], ...],
    store: _CheckpointStore[LocalDocument] | None,
    db: str,
) -> Iterator[DocumentChange[T]]:
    try:
        with naming_not_found(db):  # (the feed's 404: the database is missing)
            to_change = _change_maker(models)
            for row in itertools.chain.from_iterable(chunks):
                change = to_change(row)
                yield change
                # Control is back here: the consumer has handled ``change``.
                if store is not None and change.seq is not None and store.handle(change.seq):
                    store.stored(_save(store, change.seq))
    finally:
        follower.stop()
        if store is not None:
            seq = store.unsaved()
            if seq is not None:
                _save(store, seq)


def _save(store: _CheckpointStore[LocalDocument], seq: str | int) -> bool:
    """Store a checkpoint with the synchronous client: whether it was stored."""
    try:
        store.document.save(store.body(seq))
    except Exception as error:
        store.save_failed(error)
        return False
    return True


def _change_maker(
    models: tuple[type[T], ...],
) -> Callable[[dict[str, Any] | ChangesResultItem], DocumentChange[T]]:
    """What turns a feed's rows into changes: a row (``seq``, ``id``, ``changes`` of
    ``{"rev": ...}``, perhaps ``deleted`` and ``doc``, as the follower hands them over)
    into its change, the document loaded as the first of ``models`` it is one of. Each
    class's loader is taken once for the feed, not looked up for every row."""
    loaders = [(model, document_loader(model)) for model in models]

    def to_change(row: dict[str, Any] | ChangesResultItem) -> DocumentChange[T]:
        if not isinstance(row, dict):
            row = row.to_dict()
        doc: T | None = None
        data = row.get("doc")
        deleted = row.get("deleted")
        if data is not None and not deleted:
            for model, load in loaders:
                try:
                    # The row's own dict, read by nothing else: loaded without a copy.
                    doc = load(data, model)
                except DocumentTypeError:
                    continue
                break
            else:
                names = [m.__name__ for m in models]
                log.debug("change %r is not one of %s", data.get("_id"), names)
        changes = row["changes"]
        rev = changes[0]["rev"] if changes else None
        return DocumentChange(row["id"], row["seq"], rev, bool(deleted), doc)

    return to_change

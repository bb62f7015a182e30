"""The typed changes follower: ``DocumentChange[T]`` events with model instances, filtered by
type on the server, with optional at-least-once checkpoints in a ``_local/`` document.

Built on the client's ``ChangesFollower`` (back-off, error tolerance, batching).
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Iterator, Mapping, Sequence
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
from cloudant_odm.client.follower import FOREVER_MS, is_transient
from cloudant_odm.models import Document, DocumentTypeError, from_json
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


class LocalDocument:
    """One ``_local`` document (a checkpoint), read and written with its ``_rev``.

    A write that conflicts (the document changed under us) reads the current revision
    and goes again; on a cluster the read itself may still see an older revision for a
    moment, so a few times, then ``ConflictError``: another consumer writes it too.
    ``what`` names the document in that error."""

    def __init__(self, client: CloudantV1, db: str, doc_id: str, what: str) -> None:
        self.client = client
        self.db = db
        self.doc_id = doc_id
        self.what = what
        self.rev: str | None = None

    def load(self) -> dict[str, Any] | None:
        """The document, or None if there is none."""
        try:
            doc: dict[str, Any] = self.client.get_local_document(self.db, self.doc_id).get_result()
        except NotFoundError:
            self.rev = None
            return None
        self.rev = doc.get("_rev")
        return doc

    def save(self, body: dict[str, Any]) -> None:
        for attempt in range(_CHECKPOINT_ATTEMPTS):
            if self.rev is not None:
                body["_rev"] = self.rev
            else:
                body.pop("_rev", None)
            try:
                result = self.client.put_local_document(self.db, self.doc_id, body).get_result()
            except ConflictError:
                if attempt:
                    time.sleep(0.05 * 2**attempt)
                self.load()
                continue
            self.rev = result.get("rev", self.rev)
            return
        raise ConflictError(409, f"{self.what} is being written by another consumer")


class _CheckpointStore:
    """Reads and writes one checkpoint document."""

    def __init__(self, client: CloudantV1, db: str, checkpoint: Checkpoint) -> None:
        self.checkpoint = checkpoint
        self.document = LocalDocument(
            client, db, checkpoint.doc_id, f"checkpoint {checkpoint.name!r}"
        )

    def load(self) -> str | int | None:
        doc = self.document.load()
        seq: str | int | None = None if doc is None else doc.get("seq")
        return seq

    def save(self, seq: str | int) -> None:
        self.document.save({"seq": seq, "updated": time.time()})


def follow(
    session: Session,
    models: Sequence[type[T]],
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
    """Follow the changes of ``models``' documents as typed ``DocumentChange`` events.

    Documents of other types are filtered out on the server (a ``_selector`` on the type
    field, ANDed with ``selector`` — a dict or a query expression). ``one_off=True``
    reads to the end of the feed and stops; otherwise the follower waits for new changes
    until the loop is left. ``since`` defaults to the checkpoint's stored sequence, else
    ``"0"`` for one-off and ``"now"`` for continuous following.

    Deletions match the type filter only if the tombstone keeps the type field, which
    ``Session.delete`` does; a deletion made by another program without it is not seen.
    """
    if not models:
        raise ValueError("follow() needs at least one Document class")
    database = db or session.db_for(models[0])
    full_selector = type_selector(models)
    if selector is not None:
        extra = selector.to_selector() if hasattr(selector, "to_selector") else dict(selector)
        full_selector = {"$and": [full_selector, extra]}

    store = _CheckpointStore(session.client, database, checkpoint) if checkpoint else None
    start = since
    if store is not None:
        stored = store.load()
        if stored is not None:
            start = stored
    if start is None:
        start = "0" if one_off else "now"

    follower = ChangesFollower(
        session.client,
        error_tolerance=error_tolerance,
        db=database,
        include_docs=include_docs,
        filter="_selector",
        selector=full_selector,
        since=start,
        limit=limit,
    )
    # Chunks of rows, usual ones as the parser's dicts: no ChangesResultItem is built.
    chunks = follower._start_rows(one_off)
    return _typed_changes(follower, chunks, tuple(models), store)


def _typed_changes(
    follower: ChangesFollower,
    chunks: Iterator[list[dict[str, Any] | ChangesResultItem]],
    models: tuple[type[T], ...],
    store: _CheckpointStore | None,
) -> Iterator[DocumentChange[T]]:
    handled: str | int | None = None  # seq of the last change the consumer finished
    saved: str | int | None = None
    unsaved = 0
    last_save = time.monotonic()
    try:
        for row in itertools.chain.from_iterable(chunks):
            change = _to_change(row if isinstance(row, dict) else row.to_dict(), models)
            yield change
            # Control is back here: the consumer has handled ``change``.
            if change.seq is None:
                continue
            handled = change.seq
            unsaved += 1
            if store is not None and (
                unsaved >= store.checkpoint.every
                or time.monotonic() - last_save >= store.checkpoint.interval
            ):
                if _save(store, handled):
                    saved = handled
                unsaved, last_save = 0, time.monotonic()
    finally:
        follower.stop()
        if store is not None and handled is not None and handled != saved:
            _save(store, handled)


def _save(store: _CheckpointStore, seq: str | int) -> bool:
    """Store a checkpoint; a transient failure (the server is away) is logged and tried
    again at the next checkpoint, as the follower rides out the same outage. A conflict
    (another consumer writing this checkpoint) still ends the loop."""
    try:
        store.save(seq)
    except Exception as error:
        if isinstance(error, ConflictError) or not is_transient(error):
            raise
        log.warning(
            "checkpoint %r not saved (%s); trying again later", store.checkpoint.name, error
        )
        return False
    return True


def _to_change(row: dict[str, Any], models: tuple[type[T], ...]) -> DocumentChange[T]:
    """The change of a row with ``seq``, ``id``, ``changes`` (of ``{"rev": ...}``) and
    perhaps ``deleted`` and ``doc``, as the follower hands them over."""
    doc: T | None = None
    data = row.get("doc")
    deleted = row.get("deleted")
    if data is not None and not deleted:
        doc = _as_model(data, models)
    changes = row["changes"]
    rev = changes[0]["rev"] if changes else None
    return DocumentChange(row["id"], row["seq"], rev, bool(deleted), doc)


def _as_model(data: Mapping[str, Any], models: tuple[type[T], ...]) -> T | None:
    for model in models:
        try:
            # The row's own dict, read by nothing else: loaded without a copy.
            loaded = from_json(data, model)
        except DocumentTypeError:
            continue
        return loaded
    log.debug("change %r is not one of %s", data.get("_id"), [m.__name__ for m in models])
    return None

"""``Session``: the unit of work. It keeps one object per document id (the identity map),
remembers what each document looked like when it was loaded or last written (its
snapshot), and on ``flush`` writes only what changed, in ``_bulk_docs`` batches.

A snapshot is the document's canonical JSON (sorted keys, without ``_rev``) as bytes: the
same bytes are compared at flush and, for new documents, sent. Bytes are immutable, so a
nested value mutated in place can't change the snapshot along with the document.

A document read from the server first gets a cheaper snapshot: the JSON it was loaded
from, frozen with ``marshal`` (also immutable bytes). It is turned into canonical JSON
only when it is first compared (at flush, ``dirty``, ``is_modified``, ``rollback``), so
reading many documents that are never written costs no encoding.
"""

from __future__ import annotations

import base64
import enum
import inspect
import json
import logging
import marshal
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import IO, Any, ClassVar, Generic, Literal, TypeVar, cast, overload

import attrs
import requests

from cloudant_odm.client import CloudantV1, ConflictError, DetailedResponse, NotFoundError
from cloudant_odm.client.flows import Begin, Flow, Pending, Send, check_client, run
from cloudant_odm.client.service import ServiceSettings
from cloudant_odm.client.transport import compress, sent_times
from cloudant_odm.errors import (
    AcceptedWriteError,
    BulkWriteError,
    DanglingReference,
    SessionError,
    WriteFailure,
    document_error,
    is_missing_document,
    naming_not_found,
    not_found,
)
from cloudant_odm.identity import IdentityMap
from cloudant_odm.models import (
    Document,
    DocumentTypeError,
    DocumentValidationError,
    from_json,
)
from cloudant_odm.models.checks import attribute_checker
from cloudant_odm.models.conversion import canonical_document, encode_body
from cloudant_odm.models.document import is_partial
from cloudant_odm.models.errors import prefixed
from cloudant_odm.models.ids import check_id
from cloudant_odm.models.refs import Ref
from cloudant_odm.models.versions import needs_upgrade

__all__ = ["BaseSession", "ObjectState", "Session"]

log = logging.getLogger("cloudant_odm.session")

D = TypeVar("D", bound=Document)
T = TypeVar("T")
C = TypeVar("C", bound=ServiceSettings[Any])

#: Default upper bound of one _bulk_docs body, below CouchDB's 4 MB default request
#: limit with room to spare, and small enough to keep memory flat.
DEFAULT_BATCH_BYTES = 1_000_000
#: Attachments up to this size travel inline (base64) with the document's next write.
INLINE_ATTACHMENT_LIMIT = 64 * 1024
#: Ids per ``_all_docs`` request of :meth:`Session.prefetch` (a POST body: no URL limit).
PREFETCH_KEYS = 1000
_RAISE: Any = object()


class ObjectState(enum.Enum):
    """Where an object stands with a session, as SQLAlchemy names it."""

    TRANSIENT = "transient"  # never added to this session
    PENDING = "pending"  # added, not yet written ("new")
    PERSISTENT = "persistent"  # loaded or written, tracked for changes
    DELETED = "deleted"  # marked for deletion at the next flush
    DETACHED = "detached"  # was in the session, no longer tracked


#: A snapshot not yet in canonical form: a 1-tuple holding the JSON a document was loaded
#: from, frozen with ``marshal`` (immutable bytes, like a canonical snapshot, and several
#: times cheaper to make than encoding the document). A tuple rather than an object of a
#: class of its own: the garbage collector stops tracking a tuple that holds only bytes at
#: its first pass, where an instance stays tracked, and walked by every full collection,
#: for as long as the session holds it (a tracked read keeps one per document).
_Loaded = tuple[bytes]


class _Entry:
    __slots__ = ("db", "obj", "rewrite", "snapshot", "state")

    def __init__(
        self, obj: Document, db: str, state: ObjectState, snapshot: bytes | _Loaded | None = None
    ) -> None:
        self.obj = obj
        self.db = db
        self.state = state
        # Canonical JSON without _rev, as last loaded or written (or _Loaded: see above).
        self.snapshot = snapshot
        # Written at the next flush even if unchanged (Session.mark_changed).
        self.rewrite = False

    def settled(self) -> bytes | None:
        """The snapshot as canonical JSON bytes (settling a ``_Loaded`` one first); None
        when there is none, or when what was loaded can't be written by its class as it
        is (another program stored an int beyond 2**53, say): it stays ``_Loaded``."""
        if isinstance(self.snapshot, tuple):
            loaded = from_json(marshal.loads(self.snapshot[0]), type(self.obj))
            try:
                self.snapshot = canonical_document(loaded)[0]
            except ValueError:
                return None
        return self.snapshot

    def stored(self) -> dict[str, Any] | None:
        """The JSON (without ``_rev``) the snapshot holds, or None."""
        if isinstance(self.snapshot, tuple):
            data: dict[str, Any] = marshal.loads(self.snapshot[0])
            data.pop("_rev", None)
            return data
        return json.loads(self.snapshot) if self.snapshot is not None else None

    def as_loaded(self) -> bool:
        """Whether the object still equals what was loaded, value for value (for an object
        that can't be encoded: a value stored by another program this class can't write)."""
        data = self.stored()
        if data is None or not isinstance(self.snapshot, tuple):
            return False
        data["_rev"] = self.obj.rev
        return _identical(from_json(data, type(self.obj)), self.obj)


#: A planned write: the entry, its element of the ``_bulk_docs`` body and its snapshot
#: once written (None for a deletion).
_Write = tuple[_Entry, bytes, bytes | None]


@attrs.define
class _Outcome:
    """What a bulk write has done so far: documents written, and the ones that failed."""

    written: int = 0
    failures: list[WriteFailure] = attrs.Factory(list)


def _loaded_snapshot(data: dict[str, Any], obj: Document, read_only: bool) -> bytes | _Loaded:
    if not read_only and needs_upgrade(type(obj), data):
        # Upgraded on load (an older schema version): the snapshot is what is stored, so
        # the object compares as changed and the next flush stores the upgraded form.
        stored = {key: value for key, value in data.items() if key != "_rev"}
        return encode_body(stored, obj.id)
    try:
        return (marshal.dumps(data),)
    except ValueError:  # not plain JSON values (never the case for a server's answer)
        return canonical_document(obj)[0]


def _with_rev(core: bytes, rev: str | None) -> bytes:
    """Put ``_rev`` back into canonical bytes without encoding the document again."""
    if rev is None:
        return core
    return b'{"_rev":' + json.dumps(rev).encode() + b"," + core[1:]


def _generation(rev: str | None) -> int:
    if not rev:
        return 0
    head, _, _ = rev.partition("-")
    return int(head) if head.isdigit() else 0


#: ``Session(databases=...)``: database name -> the name to use instead, as a mapping
#: or a function.
DatabaseMap = Mapping[str, str] | Callable[[str], str]
#: What a session does when the server only accepts a write (202).
AcceptedPolicy = Literal["warn", "raise", "ignore"]


class BaseSession(Generic[C]):
    """What :class:`Session` and ``cloudant_odm.aio.AsyncSession`` share: the identity
    map, snapshots and states, the methods that make no request, and the requests'
    work as flows (``client/flows.py``: ``_get_flow``, ``_flush_flow``, ...) that each
    session drives with its own client, synchronous or awaited.
    """

    #: Whether the session's client is the async one (None: either, the caller drives).
    _ASYNC: ClassVar[bool | None] = None

    def __init__(
        self,
        client: C,
        db: str | None = None,
        *,
        databases: DatabaseMap | None = None,
        batch_bytes: int = DEFAULT_BATCH_BYTES,
        batch_size: int | None = None,
        accepted_writes: AcceptedPolicy = "warn",
        read_only: bool = False,
    ) -> None:
        if batch_bytes <= 0 or (batch_size is not None and batch_size <= 0):
            raise ValueError("batch_bytes and batch_size must be positive")
        if accepted_writes not in ("warn", "raise", "ignore"):
            raise ValueError(
                "Session(accepted_writes=...) is 'warn', 'raise' or 'ignore', "
                f"got {accepted_writes!r}"
            )
        if db is not None and (not isinstance(db, str) or not db):
            raise TypeError(f"Session(db=...) takes a database name, got {db!r}")
        if databases is not None and not (callable(databases) or isinstance(databases, Mapping)):
            raise TypeError(
                "Session(databases=...) takes a mapping of database names or a function, "
                f"got {type(databases).__name__}"
            )
        if self._ASYNC is not None:
            check_client(
                client,
                awaited=self._ASYNC,
                where=type(self).__name__,
                instead="cloudant_odm.aio.AsyncSession" if not self._ASYNC else "Session",
            )
        self.client = client
        self.db = db
        self.databases = databases
        self.batch_bytes = batch_bytes
        self.batch_size = batch_size
        self.accepted_writes: AcceptedPolicy = accepted_writes
        #: Never writes: adding, deleting and flushing changes raise SessionError, and
        #: documents upgraded from an older schema version on load are not "changed".
        self._read_only = read_only
        #: The documents of the last flush that the server only accepted (202): stored
        #: by fewer copies than its write quorum (a cluster with nodes down).
        self.accepted: list[Document] = []
        self._identity: IdentityMap[_Entry] = IdentityMap()
        # (db, id) -> deleted?: documents found missing while resolving references, so
        # that resolving them again makes no request (forgotten when the id is added or
        # loaded, and by expunge_all()).
        self._absent: dict[tuple[str, str], bool] = {}
        self._write_count = 0

    def __repr__(self) -> str:
        return f"<{type(self).__name__} db={self.db!r} objects={len(self._identity)}>"

    @property
    def read_only(self) -> bool:
        """Made read-only, a session stays so: the documents it upgraded on load were not
        counted as changed, and would never be written."""
        return self._read_only

    @property
    def write_count(self) -> int:
        """How many write requests this session has sent. A reader that fetched data
        earlier (a query reading its next page ahead) compares it to know whether the
        session wrote since, and its data may be older than what the session holds."""
        return self._write_count

    def check_writable(self, doing: str) -> None:
        """Raise SessionError if this session is read-only (``doing``: what was asked)."""
        if self.read_only:
            raise SessionError(f"this session is read-only: it can't {doing}")

    # -- state --------------------------------------------------------------------

    def db_for(self, model: type[Document]) -> str:
        """The database ``model``'s documents live in, in this session: the session's
        ``db`` if given, else the class's ``Meta.db``, renamed by ``databases``."""
        db = self.db or model._options.db
        if not db:
            raise SessionError(
                f"No database for {model.__name__}: give Session(client, db=...) "
                "or set Meta.db on the class"
            )
        if self.databases is None:
            return db
        renamed = (
            self.databases.get(db, db)
            if isinstance(self.databases, Mapping)
            else self.databases(db)
        )
        if not isinstance(renamed, str) or not renamed:
            raise SessionError(
                f"Session(databases=...) gave {renamed!r} for database {db!r} "
                f"({model.__name__}); expected a database name"
            )
        return renamed

    def held(self, db: str, doc_id: str) -> Document | None:
        """The session's object for ``doc_id`` in ``db``, without a request, or None
        (whatever its state: see :meth:`state_of`)."""
        entry = self._identity.get(db, doc_id)
        return None if entry is None else entry.obj

    def state_of(self, obj: Document) -> ObjectState:
        entry = self._identity.of(obj)
        if entry is not None:
            return entry.state
        if self._identity.is_detached(obj):
            return ObjectState.DETACHED
        return ObjectState.TRANSIENT

    def __contains__(self, obj: object) -> bool:
        return obj in self._identity

    def __iter__(self) -> Iterator[Document]:
        return (entry.obj for entry in self._identity.entries())

    @property
    def new(self) -> list[Document]:
        """Objects added and not yet written."""
        return [e.obj for e in self._identity if e.state is ObjectState.PENDING]

    @property
    def deleted(self) -> list[Document]:
        """Objects marked for deletion."""
        return [e.obj for e in self._identity if e.state is ObjectState.DELETED]

    @property
    def dirty(self) -> list[Document]:
        """Persistent objects whose JSON differs from their snapshot (or that hold a
        value that can't be stored, which flush will refuse)."""
        return [e.obj for e in self._identity if e.state is ObjectState.PERSISTENT and _changed(e)]

    def is_modified(self, obj: Document) -> bool:
        entry = self._entry(obj)
        return entry.state is not ObjectState.PERSISTENT or _changed(entry)

    def _entry(self, obj: Document) -> _Entry:
        entry = self._identity.of(obj)
        if entry is None:
            raise SessionError(f"{type(obj).__name__} {obj.id!r} is not in this session")
        return entry

    def _register(
        self, obj: Document, db: str, state: ObjectState, snapshot: bytes | _Loaded | None
    ) -> None:
        assert obj.id is not None
        other = self._identity.get(db, obj.id)
        if other is not None and other.obj is not obj:
            raise SessionError(
                f"{type(obj).__name__} {obj.id!r} is already in this session as another "
                "object; use session.get() to reach it, or expunge() the other first"
            )
        self._hold(obj, db, state, snapshot)

    def _hold(
        self, obj: Document, db: str, state: ObjectState, snapshot: bytes | _Loaded | None
    ) -> None:
        """Put ``obj``, which has an id no object holds here, in the identity map."""
        self._identity.add(_Entry(obj, db, state, snapshot))
        if self._absent and obj.id is not None:  # (a reference to it no longer dangles)
            self._absent.pop((db, obj.id), None)

    def _forget(self, entry: _Entry, *, detach: bool = False) -> None:
        # Stored before: DETACHED, where a never-stored object is TRANSIENT.
        self._identity.remove(entry, detach=detach)

    def load_json(self, model: type[D], db: str, data: dict[str, Any]) -> D:
        """Turn a document the server sent (from ``db``) into the identity map's object
        for its id: a known object is updated in place unless it has unwritten changes.
        (What queries do with the documents they read.)"""
        loaded = self._load_json(model, db, data, skip_deleted=False)
        assert loaded is not None  # (raised for a deleted one instead)
        return loaded

    def _load_json(
        self,
        model: type[D],
        db: str,
        data: dict[str, Any],
        *,
        skip_deleted: bool,
        load: Callable[[Mapping[str, Any], type[D]], D] | None = None,
    ) -> D | None:
        """:meth:`load_json`; for an id held marked for deletion, None with
        ``skip_deleted`` (a query's results leave it out), else SessionError. ``load``:
        ``model``'s loader (``document_loader``), when the caller took it for a page."""
        known = self._identity.get(db, str(data.get("_id")))
        if known is not None and known.state is ObjectState.DELETED and skip_deleted:
            return None
        obj = from_json(data, model) if load is None else load(data, model)
        if known is not None:
            if known.state is ObjectState.DELETED:
                raise SessionError(
                    f"{type(known.obj).__name__} {known.obj.id!r} is marked for deletion in "
                    "this session: flush first, or add() it back"
                )
            if known.state is ObjectState.PERSISTENT and not self.is_modified(known.obj):
                _copy_fields(obj, known.obj)
                known.snapshot = _loaded_snapshot(data, known.obj, self._read_only)
            return _as_model(known.obj, model)
        snapshot = _loaded_snapshot(data, obj, self._read_only)
        if obj.id is None:
            self._register(obj, db, ObjectState.PERSISTENT, snapshot)  # (asserts an id)
            return obj
        # No object holds its id (obj.id is the "_id" looked up above): hold it, without
        # _register's second look-up (this is every document of a tracked read).
        self._hold(obj, db, ObjectState.PERSISTENT, snapshot)
        return obj

    # -- adding, deleting, forgetting ---------------------------------------------

    def add(self, obj: Document) -> None:
        """Track ``obj``; a new one gets its id now (client-side, so a retried write of it
        can never make a second document) and is written at the next flush."""
        if not isinstance(obj, Document):
            raise TypeError(f"Session.add() takes a Document, not {type(obj).__name__}")
        self.check_writable(f"add {type(obj).__name__} {obj.id!r}")
        entry = self._identity.of(obj)
        if entry is not None:
            if entry.state is ObjectState.DELETED:
                entry.state = ObjectState.PERSISTENT  # add() after delete() undoes it
            return
        _give_id(obj)
        db = self.db_for(type(obj))
        # An object that already has a rev was read elsewhere: with no snapshot to
        # compare against, it is written at the next flush.
        state = ObjectState.PENDING if obj.rev is None else ObjectState.PERSISTENT
        self._register(obj, db, state, None)

    def add_all(self, objs: Iterable[Document]) -> None:
        for obj in objs:
            self.add(obj)

    def _insert_many_flow(self, objs: Iterable[Document]) -> Flow[int]:
        self.check_writable("insert documents")
        outcome = _Outcome()
        self.accepted = []
        try:
            yield from self._send_batches_flow(
                self._batches(self._new_writes(objs)), outcome, overlap=True
            )
        except Exception as error:
            if outcome.failures and error.__cause__ is None:
                raise error from BulkWriteError(outcome.failures, outcome.written)
            raise
        self._report(outcome)
        return outcome.written

    def _new_writes(self, objs: Iterable[Document]) -> Iterator[tuple[str, _Write]]:
        """For insert_many: each object given an id, checked and encoded, with its
        database, as a write of a new document the session doesn't track."""
        databases: dict[type[Document], str] = {}
        for obj in objs:
            if not isinstance(obj, Document):
                raise TypeError(f"insert_many() takes Documents, not {type(obj).__name__}")
            if obj.rev is not None or obj in self._identity:
                where = "is tracked by this session" if obj in self._identity else "has a rev"
                raise SessionError(
                    f"{type(obj).__name__} {obj.id!r} {where}: insert_many() writes new "
                    "documents (add() a stored one to a session and flush to write changes)"
                )
            _give_id(obj)
            model = type(obj)
            db = databases.get(model) or databases.setdefault(model, self.db_for(model))
            assert obj.id is not None  # given above
            if self._identity.get(db, obj.id) is not None:
                raise SessionError(
                    f"{model.__name__} {obj.id!r} is already in this session as another "
                    "object: insert_many() would write over what the session holds"
                )
            core = canonical_document(obj)[0]  # no rev: the element is the snapshot
            yield db, (_Entry(obj, db, ObjectState.PENDING), core, core)

    def delete(self, obj: Document) -> None:
        """Mark ``obj`` for deletion at the next flush (a pending one is just dropped)."""
        self.check_writable(f"delete {type(obj).__name__} {obj.id!r}")
        entry = self._identity.of(obj)
        if entry is None:
            if obj.id is None or obj.rev is None:
                raise SessionError(
                    f"{type(obj).__name__} {obj.id!r} was never stored: nothing to delete"
                )
            self.add(obj)
            entry = self._entry(obj)
            entry.snapshot = canonical_document(obj)[0]  # as given: rollback() must not write it
        if entry.state is ObjectState.PENDING:
            self._forget(entry)
            return
        entry.state = ObjectState.DELETED

    def mark_changed(self, obj: Document) -> None:
        """Write ``obj`` at the next flush even if it holds what was loaded: it is then
        stored in the form this version of its class writes (a Decimal as a number, a
        datetime in UTC, a field the stored JSON lacked with its value). A document
        loaded in an older form is not changed by loading it, so a flush alone never
        rewrites it. ``rollback()`` and ``revert()`` drop the mark."""
        self.check_writable(f"rewrite {type(obj).__name__} {obj.id!r}")
        entry = self._entry(obj)
        if entry.state is ObjectState.DELETED:
            raise SessionError(
                f"{type(obj).__name__} {obj.id!r} is marked for deletion: add() it back "
                "before marking it changed"
            )
        entry.rewrite = True  # (a new object is written anyway)

    def expunge(self, obj: Document) -> None:
        """Stop tracking ``obj`` (it becomes detached); pending changes to it are dropped."""
        entry = self._entry(obj)
        self._forget(entry, detach=entry.state is not ObjectState.PENDING)

    def expunge_all(self) -> None:
        """Forget every object (they are TRANSIENT to this session afterwards), and which
        referenced documents were found missing."""
        self._identity.clear()
        self._absent.clear()

    close = expunge_all

    # -- reading ------------------------------------------------------------------

    def _get_flow(
        self, model: type[D] | Ref[D], doc_id: str | None, conflicts: bool, default: Any
    ) -> Flow[Any]:
        if isinstance(model, Ref):
            if doc_id is not None or conflicts:
                raise TypeError("get(ref) takes no id and no conflicts=: the Ref names one")
            return (yield from self._resolve_flow(model, default))
        if doc_id is None or default is not _RAISE:
            raise TypeError("get() takes a document class and an id (or a Ref)")
        _check_ids(model, "get", [doc_id])
        db = self.db_for(model)
        known = self._identity.get(db, doc_id)
        if known is not None and not conflicts:
            if known.state is ObjectState.DELETED:
                return None
            return _as_model(known.obj, model)
        try:
            data = (
                yield Send("get_document", db, doc_id, conflicts=conflicts or None)
            ).get_result()
        except NotFoundError as exc:
            if is_missing_document(exc):
                return None
            raise not_found(exc, db, doc_id) from exc  # no database: not "no document"
        return self.load_json(model, db, data)

    def _get_many_flow(self, model: type[D], ids: Sequence[str]) -> Flow[list[D | None]]:
        if isinstance(ids, str):
            raise TypeError(
                f"get_many({model.__name__}, ...) takes a list of ids, not the str {ids!r}"
            )
        _check_ids(model, "get_many", ids)
        db = self.db_for(model)
        missing = [i for i in dict.fromkeys(ids) if self._identity.get(db, i) is None]
        if missing:
            with naming_not_found(db):
                response = yield Send("post_all_docs", db, keys=missing, include_docs=True)
            for row in response.get_result()["rows"]:
                doc = row.get("doc")
                if doc is not None and "error" not in row:
                    self.load_json(model, db, doc)
        found: list[D | None] = []
        for doc_id in ids:
            entry = self._identity.get(db, doc_id)
            if entry is None or entry.state is ObjectState.DELETED:
                found.append(None)
            else:
                found.append(_as_model(entry.obj, model))
        return found

    # -- references -----------------------------------------------------------------

    def _resolve_flow(self, ref: Ref[D], default: Any) -> Flow[Any]:
        model = ref.model
        db = self.db_for(model)
        if self._identity.get(db, ref.id) is None and (db, ref.id) not in self._absent:
            # Read as a prefetch of one: _all_docs tells a deleted document from one that
            # never was on every server (a GET's 404 says "missing" for both on PouchDB).
            yield from self._prefetch_flow([ref])
        entry = self._identity.get(db, ref.id)
        if entry is not None and entry.state is not ObjectState.DELETED:
            return _as_model(entry.obj, model)
        if default is not _RAISE:
            return default
        if entry is not None:
            reason, deleted = "is marked for deletion in this session", False
        else:
            deleted = self._absent.get((db, ref.id), False)
            reason = "was deleted" if deleted else "does not exist"
        raise DanglingReference(model.__name__, ref.id, db, reason, deleted)

    def _prefetch_flow(self, refs: Iterable[Ref[Document] | None]) -> Flow[None]:
        wanted: dict[tuple[str, type[Document]], dict[str, None]] = {}
        for ref in refs:
            if ref is None:
                continue
            if not isinstance(ref, Ref):
                raise TypeError(f"prefetch() takes Refs, got {type(ref).__name__} {ref!r}")
            db = self.db_for(ref.model)
            if self._identity.get(db, ref.id) is None and (db, ref.id) not in self._absent:
                wanted.setdefault((db, ref.model), {})[ref.id] = None
        for (db, model), ids in wanted.items():
            keys = list(ids)
            for start in range(0, len(keys), PREFETCH_KEYS):
                chunk = keys[start : start + PREFETCH_KEYS]
                with naming_not_found(db):
                    result = yield Send("post_all_docs", db, keys=chunk, include_docs=True)
                for row in result.get_result()["rows"]:
                    doc = row.get("doc")
                    if doc is not None and "error" not in row:
                        self.load_json(model, db, doc)
                    elif isinstance(row.get("key"), str):
                        deleted = bool((row.get("value") or {}).get("deleted"))
                        self._absent[(db, row["key"])] = deleted

    def _refresh_flow(self, obj: Document) -> Flow[None]:
        entry = self._entry(obj)
        assert obj.id is not None
        with naming_not_found(entry.db, obj.id):
            data = (yield Send("get_document", entry.db, obj.id)).get_result()
        fresh = from_json(data, type(obj))
        _copy_fields(fresh, obj)
        entry.snapshot = _loaded_snapshot(data, obj, self._read_only)
        entry.state = ObjectState.PERSISTENT

    # -- writing ------------------------------------------------------------------

    def _flush_flow(self, objects: Iterable[Document] | None) -> Flow[None]:
        if objects is None:
            yield from self._write_flow(self._identity.entries())
        else:
            yield from self._write_flow([self._entry(obj) for obj in objects])

    def _roll_back_after_error(self) -> None:
        """End a session's block that raised: nothing pending is written."""
        try:
            self.rollback()
        except Exception:  # the block's own exception is the one to see
            log.exception("rollback after an error in a %s block failed", type(self).__name__)

    def rollback(self) -> None:
        """Forget unwritten changes: new objects are dropped, deletions unmarked, and
        changed objects restored to their snapshot."""
        for entry in self._identity.entries():
            if entry.state is ObjectState.PENDING:
                self._forget(entry)
                continue
            entry.state = ObjectState.PERSISTENT
            self._revert(entry)

    def revert(self, obj: Document) -> None:
        """Restore ``obj`` to what was last loaded or written (no request): its unwritten
        changes are dropped, whatever it holds now. A deletion mark stays."""
        self._revert(self._entry(obj))

    def _revert(self, entry: _Entry) -> None:
        entry.rewrite = False
        # _changed(): an object holding a value that can't be dumped is restored too.
        data = entry.stored()
        if data is not None and _changed(entry):
            data["_rev"] = entry.obj.rev
            _copy_fields(from_json(data, type(entry.obj)), entry.obj)

    def _write_flow(self, entries: Sequence[_Entry]) -> Flow[None]:
        by_db: dict[str, list[_Write]] = {}
        for entry in entries:
            planned = self._plan(entry)
            if planned is not None:
                by_db.setdefault(entry.db, []).append((entry, *planned))
        if by_db:
            first = next(iter(by_db.values()))[0][0].obj
            self.check_writable(f"write {type(first).__name__} {first.id!r} (changed since loaded)")
        # Every document is checked and encoded above, before the first request (a
        # document that can't be stored leaves the whole flush unsent): what overlaps
        # the server's work here is making the next batch's body.
        batches = [
            found for db, items in by_db.items() for found in self._batches((db, i) for i in items)
        ]
        outcome = _Outcome()
        self.accepted = []
        yield from self._send_batches_flow(batches, outcome, overlap=len(batches) > 1)
        self._report(outcome)

    def _report(self, outcome: _Outcome) -> None:
        """Raise BulkWriteError for the documents that failed, then say (by
        ``accepted_writes``) which ones the server only accepted."""
        if outcome.failures:
            raise BulkWriteError(outcome.failures, outcome.written)
        if self.accepted and self.accepted_writes != "ignore":
            error = AcceptedWriteError(self.accepted)
            if self.accepted_writes == "raise":
                raise error
            log.warning(
                "%s; they are stored, but could be lost if those copies fail before the "
                "others catch up (Session(accepted_writes='raise') makes this an error)",
                error,
            )

    def _plan(self, entry: _Entry) -> tuple[bytes, bytes | None] | None:
        """The request element for an entry and its snapshot-to-be, or None when there
        is nothing to write."""
        obj = entry.obj
        if self._identity.get(entry.db, str(obj.id)) is not entry:
            # Written under the new id, it would be a second document, and the session
            # would still find this object under the old one.
            raise SessionError(
                f"{type(obj).__name__} {obj.id!r}: its id was changed after it was added to "
                "or loaded into the session; an id is fixed once tracked: to copy the "
                "document, make a new object (attrs.evolve(obj, id=..., rev=None)) and add it"
            )
        if entry.state is ObjectState.DELETED:
            # The tombstone keeps the type field, so a changes feed filtered by type
            # (the typed follower's _selector) still sees the deletion.
            options = type(obj)._options
            body = {"_id": obj.id, "_rev": obj.rev, "_deleted": True}
            body[options.type_field] = options.doc_type
            return encode_body(body, obj.id), None
        try:
            core, rev = canonical_document(obj)
        except ValueError:
            if entry.state is ObjectState.PERSISTENT and not entry.rewrite and entry.as_loaded():
                return None  # unchanged since loaded: nothing to write, nothing to refuse
            raise
        if entry.state is ObjectState.PERSISTENT and not entry.rewrite and core == entry.settled():
            return None
        return _with_rev(core, rev), core

    def _batches(self, writes: Iterable[tuple[str, _Write]]) -> Iterator[tuple[str, list[_Write]]]:
        """``writes`` grouped into ``_bulk_docs`` batches of one database each, bounded by
        ``batch_bytes`` (and ``batch_size``); a batch is yielded as soon as it is full,
        the unfilled ones at the end. If ``writes`` raises, the batches of what it gave
        before are yielded all the same, then its error is raised."""
        open_batches: dict[str, tuple[list[_Write], int]] = {}
        try:
            for db, item in writes:
                batch, size = open_batches.get(db) or ([], 0)
                if batch and (
                    size + len(item[1]) > self.batch_bytes
                    or (self.batch_size is not None and len(batch) >= self.batch_size)
                ):
                    yield db, batch
                    batch, size = [], 0
                batch.append(item)
                open_batches[db] = (batch, size + len(item[1]) + 1)
        except Exception:
            for db, (batch, _) in open_batches.items():
                yield db, batch
            raise
        for db, (batch, _) in open_batches.items():
            yield db, batch

    def _send_batches_flow(
        self, batches: Iterable[tuple[str, list[_Write]]], outcome: _Outcome, *, overlap: bool
    ) -> Flow[None]:
        """Write each batch with one ``_bulk_docs`` request and take its results (revs,
        failures) before the next request: at most one request in flight, in order.

        With ``overlap``, each request is begun (``Begin``: from a thread of its own, with
        the synchronous client) while the next batch is taken from ``batches`` (for
        :meth:`insert_many`, its documents made, checked and encoded) and its body
        joined. A transport error raises where the
        batch's results are taken; when ``batches`` raises, the batch in flight is waited
        for and its results taken first, so every document the server wrote has its rev.
        """
        in_flight: tuple[str, list[_Write], Pending] | None = None
        # Compressed here, not as it is sent: in the time the server takes for a batch.
        headers = {"Content-Encoding": "gzip"} if self.client.get_enable_gzip_compression() else {}
        try:
            for db, batch in batches:
                body = b'{"docs":[' + b",".join(element for _, element, _ in batch) + b"]}"
                if headers:
                    body = compress(body)
                if in_flight is not None:
                    finishing, in_flight = in_flight, None  # (finished once, raising or not)
                    yield from self._finish_flow(*finishing, outcome)
                    del finishing  # (nothing of a batch outlives its results)
                self._write_count += 1
                send = Send("post_bulk_docs", db, body, headers=headers)
                if overlap:
                    in_flight = (db, batch, (yield Begin(send)))
                else:
                    with naming_not_found(db):
                        response = yield send
                    yield from self._take_results_flow(db, batch, response, outcome)
        finally:
            if in_flight is not None:
                yield from self._finish_flow(*in_flight, outcome)

    def _finish_flow(
        self, db: str, batch: list[_Write], call: Pending, outcome: _Outcome
    ) -> Flow[None]:
        with naming_not_found(db):
            response = call.result()
        yield from self._take_results_flow(db, batch, response, outcome)

    def _take_results_flow(
        self, db: str, batch: list[_Write], response: DetailedResponse, outcome: _Outcome
    ) -> Flow[None]:
        """Map a ``_bulk_docs`` response back to the batch's documents: revs for the
        written ones, failures for the others (when retries sent the request more than
        once, conflicts that are our own earlier attempt count as written)."""
        results = response.get_result()
        by_id = {r.get("id"): r for r in results}
        # 202: some documents were only accepted. CouchDB marks them "accepted": true;
        # without any mark, take every written document of the request as accepted.
        accepted = response.get_status_code() == 202
        marked = accepted and any(r.get("accepted") is True for r in results)
        conflicted: list[_Write] = []
        written: list[_Entry] = []
        for item in batch:
            entry = item[0]
            result = by_id.get(entry.obj.id) or {}
            rev = result.get("rev")
            if rev and not result.get("error"):
                self._written(item, rev)
                written.append(entry)
                if accepted and (result.get("accepted") is True or not marked):
                    self.accepted.append(entry.obj)
            elif result.get("error") == "conflict":
                conflicted.append(item)
            else:
                outcome.failures.append(self._failure(entry, result))
        # A conflict is our own write only if the request went more than once (an earlier
        # attempt may have been applied and its answer lost). Sent once, it is another
        # writer's, even one that stored exactly what we sent: CouchDB gives two identical
        # edits of one revision the same new revision id, and taking that as ours would
        # lose our change (two `n -= 1` leaving n one lower).
        if response.attempts > 1:
            settled = yield from self._own_writes_flow(db, conflicted)
        else:
            settled = [(item, None) for item in conflicted]
        for item, stored_rev in settled:
            if stored_rev is not None:
                self._written(item, stored_rev)
                written.append(item[0])
            else:
                conflict = {"error": "conflict", "reason": "Document update conflict."}
                outcome.failures.append(self._failure(item[0], conflict))
        yield from self._take_stubs_flow(
            db,
            [
                e
                for e in written
                if e.obj.meta.attachments  # (most documents have none: no call for them)
                and e.state is ObjectState.PERSISTENT
                and _has_inline(e.obj)
            ],
        )
        outcome.written += len(written)

    def _take_stubs_flow(self, db: str, entries: Sequence[_Entry]) -> Flow[None]:
        """Replace attachment data just written (or uploaded) with the server's stubs.

        A stub with its digest is what every server accepts on the next write (PouchDB
        Server refuses a bare ``{"stub": true}``), and the data isn't sent again."""
        if not entries:
            return
        ids = cast("list[str]", [e.obj.id for e in entries])  # written: they have ids
        with naming_not_found(db):
            response = yield Send("post_all_docs", db, keys=ids, include_docs=True)
        rows = response.get_result()["rows"]
        stored = {r["id"]: r["doc"] for r in rows if r.get("doc")}
        for entry in entries:
            obj = entry.obj
            doc = stored.get(obj.id)
            if doc is not None and doc.get("_rev") == obj.rev:  # still the revision we wrote
                obj.meta = attrs.evolve(obj.meta, attachments=doc.get("_attachments"))
                entry.snapshot = canonical_document(obj)[0]

    def _own_writes_flow(
        self, db: str, items: list[_Write]
    ) -> Flow[list[tuple[_Write, str | None]]]:
        """For writes that came back as conflicts, find the ones that are our own earlier
        attempt (a retried request whose first response was lost): the stored revision is
        one generation on from the one we sent and holds exactly what we sent (or is the
        deletion we sent). Those succeeded; the rest are conflicts."""
        if not items:
            return []
        ids = cast("list[str]", [item[0].obj.id for item in items])  # written: they have ids
        with naming_not_found(db):
            response = yield Send("post_all_docs", db, keys=ids, include_docs=True)
        rows = response.get_result()["rows"]
        by_id = {row["id"]: row for row in rows if "id" in row}
        outcome: list[tuple[_Write, str | None]] = []
        for item in items:
            entry, _, core = item
            row = by_id.get(entry.obj.id) or {}
            value = row.get("value") or {}
            stored_rev = value.get("rev")
            ours = _generation(stored_rev) == _generation(entry.obj.rev) + 1
            if entry.state is ObjectState.DELETED:
                ours = ours and bool(value.get("deleted"))
            else:
                doc = row.get("doc")
                ours = ours and doc is not None and core is not None and _same_content(doc, core)
            outcome.append((item, stored_rev if ours else None))
        return outcome

    def _written(self, item: _Write, rev: str) -> None:
        entry, _, core = item
        if entry.state is ObjectState.DELETED:
            entry.obj.rev = rev
            self._forget(entry, detach=True)
            return
        entry.obj.rev = rev
        entry.snapshot = core
        entry.state = ObjectState.PERSISTENT
        entry.rewrite = False

    def _failure(self, entry: _Entry, result: dict[str, Any]) -> WriteFailure:
        obj = entry.obj
        error = document_error(
            str(obj.id),
            obj.rev,
            str(result.get("error") or "unknown_error"),
            str(result.get("reason") or "the server gave no result for this document"),
        )
        return WriteFailure(obj, error)

    def _flush_one_flow(self, obj: Document) -> Flow[None]:
        try:
            yield from self._write_flow([self._entry(obj)])
        except BulkWriteError as exc:
            raise exc.failures[0].error from None

    # -- conflict handling ----------------------------------------------------------

    def _update_flow(
        self, model: type[D], doc_id: str, change: Callable[[D], object], max_retries: int
    ) -> Flow[D]:
        db = self.db_for(model)
        for attempt in range(max_retries + 1):
            known = self._identity.get(db, doc_id)
            if known is not None and known.state is not ObjectState.PERSISTENT:
                raise SessionError(
                    f"{doc_id!r} is {known.state.value} in this session: flush it before update()"
                )
            if attempt == 0 and known is not None and _changed(known):
                # Reading it again would drop those changes without a word.
                raise SessionError(
                    f"{type(known.obj).__name__} {doc_id!r} has unwritten changes in this "
                    "session: flush them, or drop them with revert(obj), before update()"
                )
            if known is not None:
                obj = _as_model(known.obj, model)
                yield from self._refresh_flow(obj)
            else:
                with naming_not_found(db, doc_id):
                    data = (yield Send("get_document", db, doc_id)).get_result()
                obj = self.load_json(model, db, data)
            try:
                _called_back(change(obj), "update(..., change)")
            except BaseException:
                self.revert(obj)  # nothing of a change that failed stays behind
                raise
            try:
                yield from self._flush_one_flow(obj)
            except ConflictError:
                log.debug("update of %r conflicted; reading it again", doc_id)
                continue
            except BaseException:
                self.revert(obj)  # refused (a value that can't be stored, ...): unchanged
                raise
            return obj
        raise document_error(
            doc_id, None, "conflict", f"still conflicting after {max_retries} retries"
        )

    def _get_or_create_flow(
        self, model: type[D], doc_id: str, defaults: dict[str, Any] | None
    ) -> Flow[tuple[D, bool]]:
        found = yield from self._get_flow(model, doc_id, False, _RAISE)
        if found is not None:
            return found, False
        db = self.db_for(model)
        self.check_writable(f"create {model.__name__} {doc_id!r}")
        obj = model(id=doc_id, **(defaults or {}))
        check_id(doc_id, model=model.__name__, partitioned=model._options.partitioned)
        core, _ = canonical_document(obj)
        self._write_count += 1
        try:
            with naming_not_found(db, doc_id):
                result = (yield Send("put_document", db, doc_id, core)).get_result()
        except ConflictError as conflict:
            with naming_not_found(db, doc_id):
                data = (yield Send("get_document", db, doc_id)).get_result()
            # Retries sent the create more than once: the first may have made it, its
            # answer lost. Ours if it is the first revision and holds what was sent.
            ours = (
                sent_times(conflict.http_response) > 1
                and _generation(data.get("_rev")) == 1
                and _same_content(data, core)
            )
            return self.load_json(model, db, data), ours
        obj.rev = result["rev"]
        self._register(obj, db, ObjectState.PERSISTENT, core)
        return obj, True

    def _update_or_create_flow(
        self, model: type[D], doc_id: str, values: dict[str, Any], max_retries: int
    ) -> Flow[tuple[D, bool]]:
        _check_field_names(model, values, f"update_or_create({model.__name__}, {doc_id!r}, ...)")
        _check_field_values(model, values, doc_id)
        obj, created = yield from self._get_or_create_flow(model, doc_id, values)
        if created:
            return obj, True

        def assign(doc: D) -> None:
            for name, value in values.items():
                setattr(doc, name, value)

        return (yield from self._update_flow(model, doc_id, assign, max_retries)), False

    def _resolve_conflicts_flow(self, obj: D, choose: Callable[[D, list[D]], D]) -> Flow[D]:
        self.check_writable(f"resolve the conflicts of {type(obj).__name__} {obj.id!r}")
        entry = self._entry(obj)
        if entry.state is not ObjectState.PERSISTENT or self.is_modified(obj):
            raise SessionError(
                f"{type(obj).__name__} {obj.id!r} has unwritten changes: flush or refresh it "
                "before resolving its conflicts"
            )
        model = type(obj)
        assert obj.id is not None
        data = (yield Send("get_document", entry.db, obj.id, conflicts=True)).get_result()
        _copy_fields(from_json(data, model), obj)  # the winning revision, whatever we held
        entry.snapshot = canonical_document(obj)[0]
        losing_revs: list[str] = list(data.get("_conflicts", []))
        losers = []
        for losing_rev in losing_revs:
            loser = (yield Send("get_document", entry.db, obj.id, rev=losing_rev)).get_result()
            losers.append(from_json(loser, model))
        winner = _called_back(choose(obj, losers), "resolve_conflicts(..., choose)")
        if winner is not obj:
            _copy_fields(winner, obj)
            obj.rev = data["_rev"]
        core, rev = canonical_document(obj)
        elements = [_with_rev(core, rev)] + [
            encode_body({"_id": obj.id, "_rev": r, "_deleted": True}, obj.id) for r in losing_revs
        ]
        body = b'{"docs":[' + b",".join(elements) + b"]}"
        self._write_count += 1
        results = (yield Send("post_bulk_docs", entry.db, body)).get_result()
        # Results come in the order sent: the winner, then one per losing revision.
        sent_revs = [rev, *losing_revs]
        if results and results[0].get("rev") and not results[0].get("error"):
            obj.rev = results[0]["rev"]
            entry.snapshot = core
        for result, sent_rev in zip(results, sent_revs, strict=False):
            if result.get("error"):
                raise document_error(
                    obj.id, sent_rev, str(result["error"]), str(result.get("reason", ""))
                )
        return obj

    # -- attachments --------------------------------------------------------------

    def _put_attachment_flow(
        self, obj: Document, name: str, data: bytes | IO[bytes], content_type: str
    ) -> Flow[None]:
        self.check_writable(f"attach {name!r} to {type(obj).__name__} {obj.id!r}")
        entry = self._entry(obj)
        if entry.state is ObjectState.DELETED:
            raise SessionError(f"{type(obj).__name__} {obj.id!r} is marked for deletion")
        if isinstance(data, bytes) and len(data) <= INLINE_ATTACHMENT_LIMIT:
            stub = {"content_type": content_type, "data": base64.b64encode(data).decode()}
            _set_attachment(obj, name, stub)
            return
        if entry.state is ObjectState.PENDING:
            yield from self._flush_one_flow(obj)
        elif self.is_modified(obj):
            # The upload makes a new revision now: writing the changes with it would
            # store what a rollback() is meant to drop.
            raise SessionError(
                f"{type(obj).__name__} {obj.id!r} has unwritten changes: a large attachment "
                "is uploaded at once, which would write them too; flush (or roll back) first"
            )
        assert obj.id is not None
        self._write_count += 1
        put = Send("put_attachment", entry.db, obj.id, name, data, content_type, rev=obj.rev)
        obj.rev = (yield put).get_result()["rev"]
        yield from self._take_stubs_flow(entry.db, [entry])

    def _open_attachment_flow(self, obj: Document, name: str) -> Flow[Any]:
        entry = self._entry(obj)
        assert obj.id is not None
        send = Send("get_attachment", entry.db, obj.id, name, rev=obj.rev, stream=True)
        return (yield send).get_result()

    def delete_attachment(self, obj: Document, name: str) -> None:
        """Remove the attachment with the document's next write."""
        attachments = dict(obj.meta.attachments or {})
        if name not in attachments:
            raise KeyError(f"{type(obj).__name__} {obj.id!r} has no attachment {name!r}")
        del attachments[name]
        obj.meta = attrs.evolve(obj.meta, attachments=attachments or None)


class Session(BaseSession[CloudantV1]):
    """A unit of work over one client: ``add``, ``get``, ``delete``, then ``commit``.

    ``with Session(client, db="orders") as s:`` commits when the block ends normally and
    rolls back (nothing pending is written) when it raises. Not thread-safe: use one
    session per thread or task, as with SQLAlchemy.

    Which database a class's documents go to (:meth:`db_for`): the session's ``db`` if
    given, else the class's ``Meta.db``; then ``databases`` renames it, for a test
    database or a database per tenant without touching the classes:
    ``Session(client, databases=lambda name: f"tenant42-{name}")``.

    ``read_only=True`` makes a session that never writes (adding, deleting, creating,
    attaching and flushing changes raise :class:`SessionError`): for reports, or for
    code that must not write while older code still runs. A document of a versioned
    class stored at an older schema version is upgraded on load and, except in a
    read-only session, counts as changed, so the next flush stores it.
    """

    # Each request-making method runs its flow (BaseSession) with the client; the
    # async session (cloudant_odm.aio.AsyncSession) awaits the same flows.

    _ASYNC = False

    def __enter__(self) -> Session:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        if exc_type is None:
            self.commit()
        else:
            self._roll_back_after_error()

    # -- reading ------------------------------------------------------------------

    @overload
    def get(self, model: type[D], doc_id: str, *, conflicts: bool = False) -> D | None: ...
    @overload
    def get(self, model: Ref[D]) -> D: ...
    @overload
    def get(self, model: Ref[D], *, default: T) -> D | T: ...
    def get(
        self,
        model: type[D] | Ref[D],
        doc_id: str | None = None,
        *,
        conflicts: bool = False,
        default: Any = _RAISE,
    ) -> Any:
        """The ``model`` document with this id, or None. Within a session the same id
        always gives the same object, and a second ``get`` makes no request.

        ``get(ref)``: the document a :class:`~cloudant_odm.models.refs.Ref` names, the
        same way; one that is missing or deleted raises :class:`DanglingReference` (a
        ``DoesNotExist``), or gives ``default`` when one is passed (``default=None``).
        """
        return run(self._get_flow(model, doc_id, conflicts, default), self.client)

    def get_many(self, model: type[D], ids: Sequence[str]) -> list[D | None]:
        """The documents with these ids, in the same order (None where there is none), in
        one ``_all_docs`` request for the ones the session doesn't hold yet."""
        return run(self._get_many_flow(model, ids), self.client)

    def prefetch(self, refs: Iterable[Ref[Document] | None]) -> None:
        """Read the documents ``refs`` name into the session, so that resolving them
        (``ref.get(session)``) makes no request: one ``_all_docs`` request per class
        referred to (of up to 1000 ids), for the ids the session doesn't hold yet.
        Missing and deleted ones are remembered, and resolving them raises
        ``DanglingReference`` without a request. ``None`` items are skipped.

        A document of another class than the reference's raises
        ``DocumentTypeError`` naming its id (as resolving it would)."""
        run(self._prefetch_flow(refs), self.client)

    def refresh(self, obj: Document) -> None:
        """Reload ``obj`` from the server, discarding its unwritten changes."""
        run(self._refresh_flow(obj), self.client)

    # -- writing ------------------------------------------------------------------

    def flush(self, objects: Iterable[Document] | None = None) -> None:
        """Write every new, changed and deleted document through ``_bulk_docs``, or only
        those of ``objects`` (as SQLAlchemy's ``flush(objects)``).

        Raises ``BulkWriteError`` listing the documents that failed; the others are
        written, get their new revs and are not written again.
        """
        run(self._flush_flow(objects), self.client)

    def commit(self) -> None:
        """Flush. (CouchDB has no transactions: each document write is atomic alone.)"""
        run(self._flush_flow(None), self.client)

    def flush_one(self, obj: Document) -> None:
        """Write one document now, raising its typed error (``ConflictError`` ...)
        instead of a ``BulkWriteError``."""
        run(self._flush_one_flow(obj), self.client)

    def insert_many(self, objs: Iterable[Document]) -> int:
        """Write new documents as ``objs`` yields them, in ``_bulk_docs`` batches, without
        tracking them: the way to load many documents. Returns how many were written.

        Each object gets its id (as with :meth:`add`) and, once written, its rev; the
        session keeps none of them, so memory stays flat however many there are (give a
        generator). While the server writes a batch, the next one is made: taken from
        ``objs``, checked and encoded. At most one request is in flight.

        Documents the server refuses raise :class:`BulkWriteError` after all batches,
        as a flush does (the failed objects are not in the session). An object that
        can't be stored (a value of the wrong type, a bad id, one with a rev or that
        this session tracks) stops the load with its error, as an error raised by
        ``objs`` itself does: what came before it is written first, so each object
        taken from ``objs`` is either written (it has a rev) or not (no rev). A
        ``BulkWriteError`` for earlier batches is then the error's ``__cause__``.
        """
        return run(self._insert_many_flow(objs), self.client)

    # -- conflict handling ----------------------------------------------------------

    def update(
        self, model: type[D], doc_id: str, change: Callable[[D], object], *, max_retries: int = 10
    ) -> D:
        """Read the document, apply ``change`` to it, write it; on a conflict read the
        new revision and apply ``change`` again (up to ``max_retries`` times). No
        last-write-wins: every write is based on the revision it was computed from."""
        return run(self._update_flow(model, doc_id, change, max_retries), self.client)

    def get_or_create(
        self, model: type[D], doc_id: str, defaults: dict[str, Any] | None = None
    ) -> tuple[D, bool]:
        """The document with this id, creating it from ``defaults`` when it doesn't exist.
        Race-free: the create is a PUT without a rev, which fails if another writer got
        there first; then the winner's document is read and returned."""
        return run(self._get_or_create_flow(model, doc_id, defaults), self.client)

    def update_or_create(
        self, model: type[D], doc_id: str, values: dict[str, Any], *, max_retries: int = 10
    ) -> tuple[D, bool]:
        """Set ``values`` on the document with this id, creating it when it doesn't
        exist; conflicts are retried as in :meth:`update`."""
        return run(self._update_or_create_flow(model, doc_id, values, max_retries), self.client)

    def resolve_conflicts(self, obj: D, choose: Callable[[D, list[D]], D]) -> D:
        """Settle a document's replication conflicts: ``choose(current, losers)`` returns
        the content to keep; it is written on the current (winning) revision and every
        losing revision is deleted, in one ``_bulk_docs`` request."""
        return run(self._resolve_conflicts_flow(obj, choose), self.client)

    # -- attachments --------------------------------------------------------------

    def put_attachment(
        self, obj: Document, name: str, data: bytes | IO[bytes], content_type: str
    ) -> None:
        """Attach ``data`` to ``obj``. Small byte strings go inline with the document's
        next write; larger ones and streams are uploaded now, streamed, to the stored
        document (a new one is written first; one with unwritten changes is refused,
        as the upload would store them)."""
        run(self._put_attachment_flow(obj, name, data, content_type), self.client)

    def get_attachment(self, obj: Document, name: str) -> bytes:
        """The attachment's bytes (read whole; use :meth:`open_attachment` to stream)."""
        with self.open_attachment(obj, name) as response:
            return response.content

    def open_attachment(self, obj: Document, name: str) -> requests.Response:
        """The attachment as an unread streamed response: iterate it, then close it (it
        is a context manager)."""
        response: requests.Response = run(self._open_attachment_flow(obj, name), self.client)
        return response


def _called_back(result: T, what: str) -> T:
    """A callback's result, refused when it is awaitable: the flows call it in line, so
    an ``async def`` callback would never run (and its change would be lost)."""
    if inspect.isawaitable(result):
        if inspect.iscoroutine(result):
            result.close()  # (no "never awaited" warning on top of this error)
        raise TypeError(
            f"{what}: the callback returned an awaitable; pass a plain function (it is "
            "called with the document and changes it in place, without awaiting)"
        )
    return result


def _check_field_names(model: type[Document], values: Mapping[str, Any], where: str) -> None:
    """Refuse names that are not fields of ``model`` before anything is sent: set on an
    object, they would be plain attributes, never stored."""
    cls: type = model  # an attrs class, made so by Document.__init_subclass__
    fields = {attribute.name for attribute in attrs.fields(cls)}
    unknown = sorted(set(values) - fields)
    if unknown:
        raise TypeError(f"{where}: {model.__name__} has no field {', '.join(map(repr, unknown))}")


def _check_field_values(
    model: type[Document], values: Mapping[str, Any], doc_id: str | None
) -> None:
    """Refuse values ``model``'s fields can't store (a float for a Decimal field, True
    for an int one) before anything is sent, as a write of the document would: one equal
    to the stored value (``7.5 == Decimal("7.5")``) leaves the document unchanged, so no
    write would refuse it. ``values`` are fields of ``model``."""
    cls: type = model  # an attrs class, made so by Document.__init_subclass__
    fields = attrs.fields_dict(attrs.resolve_types(cls))  # string annotations too
    errors: list[tuple[str, str]] = []
    for name, value in values.items():
        attribute = fields[name]
        convert: Any = attribute.converter
        if isinstance(convert, attrs.Converter):  # may need the object: checked on write
            continue
        found = attribute_checker(attribute)(value if convert is None else convert(value))
        if found:
            errors.extend(prefixed(name, found))
    if errors:
        raise DocumentValidationError(model.__name__, doc_id, errors)


def _check_ids(model: type[Document], method: str, ids: Iterable[object]) -> None:
    """Refuse an id that is not a str before anything is sent (``get(Order, 123)`` would
    otherwise read the document ``"123"``)."""
    for doc_id in ids:
        if not isinstance(doc_id, str):
            raise TypeError(
                f"{method}({model.__name__}, ...): a document id is a str, "
                f"got {type(doc_id).__name__} {doc_id!r}"
            )


def _give_id(obj: Document) -> None:
    """Check that ``obj`` can be stored as a new document, and give it an id if it has
    none (client-side, so a retried write of it can never make a second document)."""
    if is_partial(obj):
        # Loaded with QuerySet.fields(): writing it would drop the fields it lacks.
        raise SessionError(
            f"{type(obj).__name__} {obj.id!r} is partial (loaded with fields(...)) and "
            "can't be stored; load the whole document to change it"
        )
    options = type(obj)._options
    if options.abstract:
        raise SessionError(f"{type(obj).__name__} is abstract and can't be stored")
    if obj.id is None:
        obj.id = options.new_id(obj)  # checked there
    else:
        check_id(obj.id, model=type(obj).__name__, partitioned=options.partitioned)


def _changed(entry: _Entry) -> bool:
    """Whether the object's JSON differs from its snapshot. An object holding a value
    that can't be stored has changed (its snapshot was stored), and so has one marked
    with ``mark_changed``."""
    if entry.rewrite:
        return True
    try:
        core = canonical_document(entry.obj)[0]
    except ValueError:  # DocumentValidationError, or not JSON
        return not entry.as_loaded()
    return core != entry.settled()


def _identical(loaded: Any, held: Any) -> bool:
    """``loaded == held``, and each value of the same class: a float put in a ``Decimal``
    field equals the Decimal loaded (``7.5 == Decimal("7.5")``), but is not what was
    loaded, and a write must refuse it. attrs objects compare the fields ``==`` compares."""
    if type(loaded) is not type(held):
        return False
    if attrs.has(type(loaded)):
        return all(
            _identical(getattr(loaded, a.name), getattr(held, a.name))
            for a in attrs.fields(type(loaded))
            if a.eq
        )
    if isinstance(loaded, dict):
        return loaded.keys() == held.keys() and all(
            _identical(value, held[key]) for key, value in loaded.items()
        )
    if isinstance(loaded, (list, tuple)):
        return len(loaded) == len(held) and all(map(_identical, loaded, held))
    return bool(loaded == held)


def _has_inline(obj: Document) -> bool:
    attachments = obj.meta.attachments
    if not attachments:
        return False
    return any("data" in a for a in attachments.values())


def _same_content(stored: dict[str, Any], core: bytes) -> bool:
    """Whether a stored document holds what was sent as ``core``. Attachments are
    compared by name: the server turns sent data into stubs."""
    sent = json.loads(core)
    kept = {k: v for k, v in stored.items() if k != "_rev"}
    if set(kept.pop("_attachments", None) or ()) != set(sent.pop("_attachments", None) or ()):
        return False
    return _same_json(kept, sent)


def _same_json(a: Any, b: Any) -> bool:
    """Whether two decoded JSON values are the same, numbers compared by value: a server
    may write back a number it was sent in another form (PouchDB, as JavaScript does,
    turns ``45.0`` into ``45``, ``-0.0`` into ``0`` and ``1.2e17`` into digits)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_json(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_json(x, y) for x, y in zip(a, b, strict=True))
    if _is_number(a) and _is_number(b):
        if isinstance(a, float) or isinstance(b, float):
            try:
                return float(a) == float(b)
            except OverflowError:  # an integer beyond any float: not equal to one
                return False
        return bool(a == b)
    return type(a) is type(b) and bool(a == b)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _as_model(obj: Document, model: type[D]) -> D:
    """``obj`` if it is a ``model``; loading an id as the wrong class is an error (the
    same one as when the document is read from the server)."""
    if not isinstance(obj, model):
        problem = f"is a {type(obj).__name__}, not a {model.__name__}"
        raise DocumentTypeError(model.__name__, obj.id, [("", problem)])
    return obj


def _set_attachment(obj: Document, name: str, value: dict[str, Any]) -> None:
    attachments = dict(obj.meta.attachments or {})
    attachments[name] = value
    obj.meta = attrs.evolve(obj.meta, attachments=attachments)


def _copy_fields(source: Document, target: Document) -> None:
    """Make ``target`` hold ``source``'s values, keeping ``target``'s identity."""
    if type(source) is not type(target):
        raise SessionError(
            f"{target.id!r} is now a {type(source).__name__} on the server, "
            f"not a {type(target).__name__}"
        )
    cls: type = type(target)  # an attrs class, made so by Document.__init_subclass__
    for attribute in attrs.fields(cls):
        setattr(target, attribute.name, getattr(source, attribute.name))

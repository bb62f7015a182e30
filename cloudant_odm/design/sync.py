"""Deploying design documents: :func:`sync`, :func:`rollback` and the deploy lock.

The procedure follows CouchDB's "deploying a view change in a live environment" and
Cloudant's "move and switch" (see docs/deploying.md):

1. Plan: read the database's design documents (one ``_all_docs`` request), its Mango
   indexes (``GET _index``) and our state document, and compare canonical bodies
   (without ``_rev``). Nothing changed means nothing is written, not even the lock.
2. Lock: our ``_local/`` state document holds the deploy lock, taken and renewed with
   its revision, so two deploys can't interleave; then plan again under the lock.
3. Write: new design documents are PUT; a changed one is copied to ``<ddoc>_OLD`` (the
   rollback copy; same content, so the same index, nothing rebuilt) and uploaded as
   ``<ddoc>_NEW``, while queries keep using the live one. A change that leaves every
   index definition alone (filters, validate_doc_update) is written in place: it
   rebuilds nothing. New Mango indexes are POSTed to ``_index``.
4. Build: a cheap query starts each index (``update=lazy``, ``limit=0``), progress comes
   from ``_active_tasks`` and ``_info``, and a real query (``limit=1``, waiting for the
   index) proves each one built.
5. Switch: ``COPY <ddoc>_NEW`` onto the live name (``Destination: _design/<ddoc>?rev=``).
   Same content, same signature, so the built index is used at once; ``_NEW`` is
   deleted, and ``_OLD`` too unless ``keep_old``.
6. Clean up: older versions of changed Mango indexes are deleted, and with ``prune``
   whatever this library deployed and no longer declares; ``POST _view_cleanup``
   removes the index files nothing uses any more.

Every step that makes requests is a flow (``client/flows.py``), and the waits between
polls are its ``Sleep`` steps: :func:`sync` and :func:`rollback` run them with
``CloudantV1``, ``cloudant_odm.aio.sync_design`` and ``rollback_design`` await the same
flows with ``AsyncCloudantV1``.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, Literal

import attrs
import requests

from cloudant_odm.client import ApiException, CloudantV1, ConflictError, NotFoundError
from cloudant_odm.client.flows import Flow, Send, Sleep, check_client, run
from cloudant_odm.errors import (
    BuildTimeoutError,
    DeployConflictError,
    DeployError,
    DeployLockedError,
)
from cloudant_odm.schema.declarations import canonical_json
from cloudant_odm.schema.generate import (
    GENERATED_BY,
    MARKER,
    Generated,
    GeneratedDesignDocument,
    MangoIndex,
    Models,
    generate,
)

__all__ = [
    "STATE_DOC",
    "BuildTimeoutError",
    "Change",
    "DeployChange",
    "DeployConflictError",
    "DeployError",
    "DeployLockedError",
    "Progress",
    "ProgressCallback",
    "Strategy",
    "SyncReport",
    "render",
    "rollback",
    "sync",
]

log = logging.getLogger("cloudant_odm.design")

#: Id (after ``_local/``) of the document holding the deploy lock, the Mango indexes
#: this library created, and a record of the last deploy.
STATE_DOC = "cloudant_odm.design"
STATE_FORMAT = 1

Strategy = Literal["move-and-switch", "in-place"]
STRATEGIES: tuple[str, ...] = ("move-and-switch", "in-place")
Phase = Literal[
    "create", "backup", "stage", "update", "building", "built", "switch", "remove", "done"
]
Action = Literal["create", "update", "unchanged", "remove"]

# Keys of a design document that its index signatures depend on: changing anything
# else (filters, validate_doc_update, our marker) rebuilds nothing.
_INDEX_KEYS = ("views", "indexes", "language", "options", "st_indexes", "nouveau")
_SUFFIXES = ("_NEW", "_OLD")
_VIEW_CLEANUP_ERRORS = (ApiException, requests.RequestException)

# Injected by tests (the waits between polls are flows' Sleep steps: flows.sleep).
_monotonic = time.monotonic


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


# --- progress and report ---------------------------------------------------------------


@attrs.frozen
class Progress:
    """One step of a deploy, given to the ``progress`` callback.

    ``target`` is the design document name (``orders``) or a Mango index id;
    ``phase`` one of ``create``, ``backup``, ``stage``, ``update``, ``building``
    (repeated while waiting, with ``changes_done`` / ``total_changes`` when the server
    reports them in ``_active_tasks``), ``built``, ``switch``, ``remove`` and, once at
    the end with an empty target, ``done``.
    """

    target: str
    phase: Phase
    changes_done: int | None = None
    total_changes: int | None = None
    message: str = ""

    @property
    def fraction(self) -> float | None:
        """``changes_done / total_changes`` (0..1), or None when unknown."""
        if self.changes_done is None or not self.total_changes:
            return None
        return max(0.0, min(1.0, self.changes_done / self.total_changes))


ProgressCallback = Callable[[Progress], None]


@attrs.frozen
class DeployChange:
    """What a deploy did (or, in a dry run, would do) to one design document or index.

    ``method``: ``create`` (PUT), ``in-place`` (PUT over the live revision),
    ``move-and-switch``, ``post-index``, ``delete`` or ``rollback``. ``diff`` is a
    unified diff of the readable form (see :func:`render`). ``signature`` is the index
    signature ``_info`` reported after a switch, when the server reports one.
    """

    kind: Literal["design", "index"]
    id: str
    action: Action
    method: str | None = None
    diff: str = ""
    signature: str | None = None


#: The earlier name of :class:`DeployChange` (kept for old imports).
Change = DeployChange


@attrs.define
class SyncReport:
    """The outcome of :func:`sync` or :func:`rollback`."""

    db: str
    dry_run: bool = False
    changes: list[DeployChange] = attrs.field(factory=list)
    warnings: list[str] = attrs.field(factory=list)
    #: The lock record of a crashed deploy this one took over, if any.
    resumed_from: dict[str, Any] | None = None

    def _ids(self, action: Action) -> list[str]:
        return [c.id for c in self.changes if c.action == action]

    @property
    def created(self) -> list[str]:
        return self._ids("create")

    @property
    def updated(self) -> list[str]:
        return self._ids("update")

    @property
    def unchanged(self) -> list[str]:
        return self._ids("unchanged")

    @property
    def removed(self) -> list[str]:
        return self._ids("remove")

    @property
    def changed(self) -> bool:
        """True when something was (or, in a dry run, would be) written or removed."""
        return any(c.action != "unchanged" for c in self.changes)

    def summary(self) -> str:
        verb = "would be " if self.dry_run else ""
        parts = [
            f"{len(self.created)} {verb}created",
            f"{len(self.updated)} {verb}updated",
            f"{len(self.unchanged)} unchanged",
            f"{len(self.removed)} {verb}removed",
        ]
        return ", ".join(parts)

    def diff(self) -> str:
        """Every change's diff, one after the other."""
        return "".join(c.diff for c in self.changes if c.diff)


# --- readable form and diffs -----------------------------------------------------------


def render(body: Mapping[str, Any]) -> list[str]:
    """A design document as lines a person can diff: one line per member
    (``views.by_status.reduce: "_sum"``), function source as an indented block."""
    lines: list[str] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping) and value:
            for key in sorted(value):
                walk(f"{prefix}.{key}" if prefix else str(key), value[key])
        elif isinstance(value, str) and "\n" in value:
            lines.append(f"{prefix}:")
            lines.extend(f"    {line}" for line in value.split("\n"))
        else:
            lines.append(f"{prefix}: {json.dumps(value, sort_keys=True, ensure_ascii=False)}")

    walk("", {k: v for k, v in body.items() if k != "_rev"})
    return lines


def _diff(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None, name: str) -> str:
    old = render(before) if before is not None else []
    new = render(after) if after is not None else []
    lines = difflib.unified_diff(
        old,
        new,
        fromfile=f"{name} (deployed)" if before is not None else "/dev/null",
        tofile=f"{name} (declared)" if after is not None else "/dev/null",
        lineterm="",
    )
    text = "\n".join(lines)
    return text + "\n" if text else ""


def _content(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A design document without ``_id`` and ``_rev``: what deploys compare."""
    return {k: v for k, v in doc.items() if k not in ("_id", "_rev")}


def _same(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return canonical_json(_content(a)) == canonical_json(_content(b))


def _index_part(doc: Mapping[str, Any]) -> str:
    return canonical_json({k: doc.get(k) for k in _INDEX_KEYS})


def _is_ours(doc: Mapping[str, Any]) -> bool:
    marker = doc.get(MARKER)
    return isinstance(marker, Mapping) and marker.get("generated_by") == GENERATED_BY


def _base_name(name: str) -> str:
    for suffix in _SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _db_of_task(database: Any) -> str | None:
    """The database of an ``_active_tasks`` entry: ``shards/<range>/<db>.<stamp>`` on a
    cluster, the plain name on a single node."""
    if not isinstance(database, str):
        return None
    name = database
    if name.startswith("shards/"):
        name = name.split("/", 2)[2] if name.count("/") >= 2 else name
        head, dot, stamp = name.rpartition(".")
        if dot and stamp.isdigit():
            name = head
    return name


# --- reading the database --------------------------------------------------------------


@attrs.define
class _Remote:
    design_docs: dict[str, dict[str, Any]]  # name (no _design/) -> doc with _rev
    indexes: dict[tuple[str, str], dict[str, Any]]  # (ddoc name, index name) -> _index entry
    state: dict[str, Any] | None


def _read(db: str) -> Flow[_Remote]:
    try:
        response = yield Send(
            "post_all_docs", db, start_key="_design/", end_key="_design0", include_docs=True
        )
    except NotFoundError as exc:
        raise DeployError(f"database {db!r} does not exist ({exc.message})") from exc
    rows = response.get_result()["rows"]
    docs: dict[str, dict[str, Any]] = {}
    for row in rows:
        doc = row.get("doc")
        doc_id = row.get("id", "")
        if isinstance(doc, dict) and doc_id.startswith("_design/"):
            docs[doc_id[len("_design/") :]] = doc
    found = (yield Send("get_indexes_information", db)).get_result().get("indexes", [])
    indexes = {
        (str(i["ddoc"]).removeprefix("_design/"), str(i["name"])): i
        for i in found
        if isinstance(i, dict) and i.get("ddoc") and i.get("name")
    }
    return _Remote(docs, indexes, (yield from _load_state(db)))


def _load_state(db: str) -> Flow[dict[str, Any] | None]:
    try:
        response = yield Send("get_local_document", db, STATE_DOC)
    except NotFoundError:
        return None
    doc = response.get_result()
    return doc if isinstance(doc, dict) else None


# --- planning --------------------------------------------------------------------------


@attrs.define
class _DesignStep:
    doc: GeneratedDesignDocument
    action: Action
    method: str | None
    live: dict[str, Any] | None
    new: dict[str, Any] | None  # an existing <name>_NEW
    old: dict[str, Any] | None  # an existing <name>_OLD
    diff: str = ""


@attrs.define
class _IndexStep:
    index: MangoIndex
    action: Action


@attrs.define
class _Removal:
    kind: Literal["design", "index"]
    ddoc: str  # without _design/
    name: str  # index name ("" for a design document)
    index_type: str
    rev: str | None
    reason: str
    diff: str = ""

    @property
    def id(self) -> str:
        if self.kind == "design":
            return f"_design/{self.ddoc}"
        return f"_design/{self.ddoc}/{self.index_type}/{self.name}"


@attrs.define
class _Plan:
    designs: list[_DesignStep]
    indexes: list[_IndexStep]
    removals: list[_Removal]
    notes: list[str]

    @property
    def changed(self) -> bool:
        return (
            any(s.action != "unchanged" for s in self.designs)
            or any(s.action != "unchanged" for s in self.indexes)
            or bool(self.removals)
        )

    def changes(self) -> list[DeployChange]:
        out = [DeployChange("design", s.doc.id, s.action, s.method, s.diff) for s in self.designs]
        for step in self.indexes:
            index = step.index
            if step.action == "create":
                diff = _diff(None, index.definition, index.id)
                out.append(DeployChange("index", index.id, "create", "post-index", diff))
            else:
                out.append(DeployChange("index", index.id, step.action))
        out += [DeployChange(r.kind, r.id, "remove", "delete", r.diff) for r in self.removals]
        return _ordered(out)


def _ordered(changes: list[DeployChange]) -> list[DeployChange]:
    """Report order: design documents, then Mango indexes, removals last; by id."""
    return sorted(changes, key=lambda c: (c.action == "remove", c.kind != "design", c.id))


def _registry(state: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    entries = (state or {}).get("indexes") or []
    return [dict(e) for e in entries if isinstance(e, Mapping) and e.get("ddoc") and e.get("name")]


def _plan(generated: Generated, remote: _Remote, strategy: str, prune: bool) -> _Plan:
    docs = remote.design_docs
    designs: list[_DesignStep] = []
    removals: list[_Removal] = []
    notes: list[str] = []
    declared = {d.name for d in generated.design_documents}

    for doc in generated.design_documents:
        name = doc.name
        live, new, old = docs.get(name), docs.get(f"{name}_NEW"), docs.get(f"{name}_OLD")
        if live is None:
            step = _DesignStep(
                doc, "create", "create", None, new, old, _diff(None, doc.body, doc.id)
            )
        elif _same(live, doc.body):
            step = _DesignStep(doc, "unchanged", None, live, new, old)
        else:
            if live.get("language") == "query":
                raise DeployError(
                    f"{doc.id} on the server is a Mango (language query) design document; "
                    "refusing to replace it with a JavaScript one: rename the declaration's "
                    "design document"
                )
            if not _is_ours(live):
                notes.append(f"{doc.id} was not deployed by cloudant_odm; it is replaced")
            in_place = strategy == "in-place" or _index_part(live) == _index_part(doc.content)
            method = "in-place" if in_place else "move-and-switch"
            step = _DesignStep(doc, "update", method, live, new, old, _diff(live, doc.body, doc.id))
        designs.append(step)
        if new is not None and step.method != "move-and-switch":
            # A staging copy nothing will switch to (left by a crashed deploy).
            removals.append(
                _Removal("design", f"{name}_NEW", "", "", new.get("_rev"), "leftover", "")
            )

    for name, deployed in sorted(docs.items()):
        base = _base_name(name)
        if base in declared or not _is_ours(deployed):
            continue
        if prune:
            removals.append(
                _Removal(
                    "design",
                    name,
                    "",
                    "",
                    deployed.get("_rev"),
                    "prune",
                    _diff(deployed, None, name),
                )
            )
        else:
            notes.append(f"_design/{name} is no longer declared (sync with prune to remove it)")

    index_steps = [
        _IndexStep(i, "unchanged" if (i.ddoc, i.name) in remote.indexes else "create")
        for i in generated.indexes
    ]
    wanted = {(i.ddoc, i.name) for i in generated.indexes}
    groups = {i.group for i in generated.indexes}
    for entry in _registry(remote.state):
        key = (str(entry["ddoc"]), str(entry["name"]))
        if key in wanted or key not in remote.indexes:
            continue
        found = remote.indexes[key]
        index_type = str(found.get("type") or entry.get("type") or "json")
        if entry.get("group") in groups:
            reason = "superseded"
        elif prune:
            reason = "prune"
        else:
            notes.append(
                f"Mango index {key[1]!r} in _design/{key[0]} is no longer declared "
                "(sync with prune to remove it)"
            )
            continue
        index_id = f"_design/{key[0]}/{index_type}/{key[1]}"
        shown = {"ddoc": key[0], "name": key[1], "type": index_type, "index": found.get("def")}
        diff = _diff(shown, None, index_id)
        removals.append(_Removal("index", key[0], key[1], index_type, None, reason, diff))
    return _Plan(designs, index_steps, removals, notes)


# --- the state document and its lock ---------------------------------------------------


class _State:
    """Our ``_local/`` document: the deploy lock, our Mango indexes, the last deploy.

    Every write carries the revision we last saw, so a write based on a stale read is
    refused (409): taking the lock is a compare-and-swap, and a deploy whose lock was
    taken over finds out at its next write.
    """

    def __init__(
        self,
        db: str,
        *,
        lock_timeout: float,
        resume: bool,
        heartbeat: float,
    ) -> None:
        self.db = db
        self.lock_timeout = lock_timeout
        self.resume = resume
        self.heartbeat_every = heartbeat
        self.owner = uuid.uuid4().hex
        self.doc: dict[str, Any] = {}
        self.rev: str | None = None
        self.held = False
        self.taken_over: dict[str, Any] | None = None
        self._last_beat = 0.0

    def _put(self, body: dict[str, Any]) -> Flow[None]:
        document = {**body, "_id": f"_local/{STATE_DOC}"}
        if self.rev is not None:
            document["_rev"] = self.rev
        response = yield Send("put_local_document", self.db, STATE_DOC, document)
        result = response.get_result()
        self.rev = result.get("rev") if isinstance(result, dict) else None
        self.doc = body

    def acquire(self, ddocs: Sequence[str]) -> Flow[None]:
        current = yield from _load_state(self.db)
        self.rev = current.get("_rev") if current else None
        self.doc = _content(current) if current else {"format": STATE_FORMAT, "indexes": []}
        lock = self.doc.get("lock")
        if isinstance(lock, Mapping) and lock:
            age = self._age(lock)
            # resume takes over a crashed deploy's lock at once, but never a live one: a
            # running deploy refreshes its heartbeat every heartbeat_every seconds.
            limit = 3 * self.heartbeat_every if self.resume else self.lock_timeout
            if age is not None and age < limit:
                raise DeployLockedError(_locked_message(self.db, lock, age), lock)
            self.taken_over = dict(lock)
            log.warning("taking over the deploy lock of %s", _describe_lock(lock))
        now = _utcnow().isoformat(timespec="seconds")
        record = {
            "owner": self.owner,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "acquired_at": now,
            "heartbeat_at": now,
            "ddocs": sorted(ddocs),
            "step": "planning",
        }
        try:
            yield from self._put({**self.doc, "lock": record})
        except ConflictError as exc:
            holder = (yield from _load_state(self.db)) or {}
            raise DeployLockedError(
                f"another deploy to {self.db!r} took the lock just now", holder.get("lock")
            ) from exc
        self.held = True
        self._last_beat = _monotonic()

    def _age(self, lock: Mapping[str, Any]) -> float | None:
        try:
            beat = datetime.fromisoformat(str(lock.get("heartbeat_at")))
        except ValueError:
            return None
        if beat.tzinfo is None:
            beat = beat.replace(tzinfo=timezone.utc)
        return (_utcnow() - beat).total_seconds()

    def save(self, **changes: Any) -> Flow[None]:
        """Write ``changes`` into the document (refreshing the heartbeat)."""
        body = {**self.doc, **changes}
        lock = body.get("lock")
        if self.held and isinstance(lock, Mapping):
            body["lock"] = {**lock, "heartbeat_at": _utcnow().isoformat(timespec="seconds")}
        try:
            yield from self._put(body)
        except ConflictError as exc:
            current = (yield from _load_state(self.db)) or {}
            holder = current.get("lock") or {}
            self.held = False
            raise DeployLockedError(
                f"the deploy lock of {self.db!r} was taken over by {_describe_lock(holder)} "
                "(this deploy was idle longer than lock_timeout); stopping",
                holder,
            ) from exc
        self._last_beat = _monotonic()

    def beat(self, step: str) -> Flow[None]:
        if self.held and _monotonic() - self._last_beat >= self.heartbeat_every:
            yield from self.step(step)

    def step(self, step: str) -> Flow[None]:
        lock = self.doc.get("lock")
        if self.held and isinstance(lock, Mapping):
            yield from self.save(lock={**lock, "step": step})

    @property
    def indexes(self) -> list[dict[str, Any]]:
        return _registry(self.doc)

    def release(self, result: str, report: SyncReport | None) -> Flow[None]:
        if not self.held:
            return
        last: dict[str, Any] = {
            "owner": self.owner,
            "host": socket.gethostname(),
            "finished_at": _utcnow().isoformat(timespec="seconds"),
            "result": result,
        }
        if report is not None:
            last.update(
                created=report.created,
                updated=report.updated,
                removed=report.removed,
            )
        yield from self.save(lock=None, last_deploy=last)
        self.held = False


def _describe_lock(lock: Mapping[str, Any]) -> str:
    return (
        f"{lock.get('host', '?')} (pid {lock.get('pid', '?')}, deploying "
        f"{', '.join(lock.get('ddocs') or []) or '?'}, step {lock.get('step', '?')!r}, "
        f"last heartbeat {lock.get('heartbeat_at', '?')})"
    )


def _locked_message(db: str, lock: Mapping[str, Any], age: float | None) -> str:
    ago = f"{age:.0f} s ago" if age is not None else "at an unknown time"
    return (
        f"a deploy to {db!r} is in progress: {_describe_lock(lock)}, heartbeat {ago}. "
        "If that deploy crashed (its heartbeat has stopped), run sync again with "
        "resume=True (--resume) to take over and finish it, or rollback(force=True) "
        "(cloudant-odm rollback --force) to restore the previous design documents"
    )


# --- building --------------------------------------------------------------------------


#: The partition keys the verification queries of partitioned indexes use (no document
#: needs to be in them), and how many to try to find one per shard range.
_VERIFY_PARTITION = "cloudant-odm-verify"
_PARTITION_PROBES = 64


@attrs.define
class _Build:
    target: str  # what the user knows it by
    ddoc: str  # the design document whose indexes build (without _design/)
    views: list[str] = attrs.field(factory=list)
    searches: list[str] = attrs.field(factory=list)
    mango: MangoIndex | None = None
    # True / False as the design document's options say; None: the database's default.
    partitioned: bool | None = None


class _Deployer:
    """The steps of a deploy (and of a rollback); each one that makes requests is a flow
    (``client/flows.py``)."""

    def __init__(
        self,
        db: str,
        report: SyncReport,
        state: _State,
        *,
        progress: ProgressCallback | None,
        keep_old: bool,
        timeout: float | None,
        poll_interval: float,
    ) -> None:
        self.db = db
        self.report = report
        self.state = state
        self.progress = progress
        self.keep_old = keep_old
        self.timeout = timeout
        self.poll_interval = poll_interval
        self._tasks_available = True
        self._search_warned = False
        self._db_partitioned: bool | None = None
        self._partition_keys: list[str] | None = None

    def emit(self, target: str, phase: Phase, **values: Any) -> None:
        if self.progress is not None:
            self.progress(Progress(target, phase, **values))

    # -- requests -------------------------------------------------------------------

    def put(self, name: str, content: Mapping[str, Any], rev: str | None) -> Flow[str | None]:
        # _id always names the target: PouchDB Server stores a body's _id over the URL's.
        body = {**content, "_id": f"_design/{name}"}
        if rev is not None:
            body["_rev"] = rev
        result = (yield Send("put_design_document", self.db, name, body)).get_result()
        return result.get("rev") if isinstance(result, dict) else None

    def rev_of(self, name: str) -> Flow[str | None]:
        try:
            response = yield Send("get_design_document", self.db, name)
        except NotFoundError:
            return None
        doc = response.get_result()
        rev = doc.get("_rev") if isinstance(doc, dict) else None
        return str(rev) if rev else None

    def delete(self, name: str, rev: str | None) -> Flow[None]:
        rev = rev or (yield from self.rev_of(name))
        if rev is None:
            return
        try:
            yield Send("delete_design_document", self.db, name, rev=rev)
        except NotFoundError:
            pass  # gone already: that is what we wanted
        except ConflictError:
            # Changed since we read it: someone else (a person, another deploy) wrote it,
            # so it is no longer what we planned to delete. Leave it; a leftover copy is
            # harmless and the next sync sees it again.
            log.warning("_design/%s changed since it was read; not deleting it", name)

    def info(self, ddoc: str) -> Flow[dict[str, Any] | None]:
        """``_info``'s ``view_index``, or None where the server does not report one
        (PouchDB Server answers ``"Not implemented."``)."""
        try:
            response = yield Send("get_design_document_information", self.db, ddoc)
        except (ApiException, requests.RequestException):
            return None
        result = response.get_result()
        view_index = result.get("view_index") if isinstance(result, dict) else None
        return view_index if isinstance(view_index, dict) else None

    def active_tasks(self) -> Flow[list[dict[str, Any]] | None]:
        if not self._tasks_available:
            return None
        try:
            response = yield Send("get_active_tasks")
        except (ApiException, requests.RequestException) as exc:
            # Not an admin (403), or not offered: progress then has no numbers.
            log.info("no _active_tasks (%s); progress without counts", exc)
            self._tasks_available = False
            return None
        result = response.get_result()
        return [t for t in result if isinstance(t, dict)] if isinstance(result, list) else None

    # -- build, wait, verify -----------------------------------------------------------

    def build_for(self, target: str, ddoc: str, doc: GeneratedDesignDocument) -> _Build:
        options = doc.body.get("options")
        flag = options.get("partitioned") if isinstance(options, dict) else None
        return _Build(
            target,
            ddoc,
            views=sorted(doc.body.get("views") or {}),
            searches=sorted(doc.body.get("indexes") or {}),
            partitioned=flag if isinstance(flag, bool) else None,
        )

    # -- partitions -------------------------------------------------------------------

    def partitioned(self, build: _Build) -> Flow[bool]:
        """Whether the build's indexes answer only per partition: as its design document
        says, else as the database's default (a partitioned database makes design
        documents partitioned unless they say otherwise)."""
        if build.partitioned is not None:
            return build.partitioned
        if self._db_partitioned is None:
            try:
                info = (yield Send("get_database_information", self.db)).get_result()
            except (ApiException, requests.RequestException):
                info = {}
            props = info.get("props") if isinstance(info, dict) else None
            self._db_partitioned = isinstance(props, dict) and props.get("partitioned") is True
        return self._db_partitioned

    def partition_keys(self) -> Flow[list[str]]:
        """Partition keys with one in each shard range of the database, so that querying
        each builds every shard's copy of a partitioned index (a partition query reads
        only its own shard). Found with ``/_shards``; without it, one key."""
        if self._partition_keys is not None:
            return self._partition_keys
        keys = [_VERIFY_PARTITION]
        try:
            shards = (yield Send("get_shards_information", self.db)).get_result()
            ranges = set(shards.get("shards") or {}) if isinstance(shards, dict) else set()
            found: dict[str, str] = {}
            for i in range(_PARTITION_PROBES):
                if len(found) >= len(ranges):
                    break
                key = f"{_VERIFY_PARTITION}-{i}"
                response = yield Send("get_document_shards_info", self.db, f"{key}:x")
                where = response.get_result()
                shard = where.get("range") if isinstance(where, dict) else None
                if isinstance(shard, str):
                    found.setdefault(shard, key)
            if found:
                keys = sorted(found.values())
        except (ApiException, requests.RequestException) as exc:
            log.info("no /_shards (%s): partitioned indexes verified in one partition", exc)
        self._partition_keys = keys
        return keys

    def trigger(self, build: _Build) -> Flow[None]:
        """Start the build without waiting for it: one view query with ``update=lazy``
        answers at once and starts the index update (every view of a design document
        shares one index). Search and Mango indexes are started by the first waiting
        query instead."""
        if not build.views:
            return
        view = build.views[0]
        try:
            if (yield from self.partitioned(build)):
                for key in (yield from self.partition_keys()):
                    yield Send(
                        "post_partition_view",
                        self.db,
                        key,
                        build.ddoc,
                        view,
                        limit=0,
                        update="lazy",
                    )
            else:
                yield Send("post_view", self.db, build.ddoc, view, limit=0, update="lazy")
        except (ApiException, requests.RequestException) as exc:
            log.info("trigger query on %s: %s (the wait will start the build)", build.ddoc, exc)

    def busy(
        self, build: _Build, tasks: list[dict[str, Any]] | None
    ) -> Flow[tuple[bool, int | None, int | None]]:
        """Whether the server says the build runs, and its changes done / total."""
        running = False
        done: int | None = None
        total: int | None = None
        if tasks:
            mine = [
                t
                for t in tasks
                if t.get("type") in ("indexer", "search_indexer")
                and t.get("design_document") == f"_design/{build.ddoc}"
                and _db_of_task(t.get("database")) == self.db
            ]
            if mine:
                running = True
                # One task per shard copy: add them up.
                done = sum(_int(t.get("changes_done")) for t in mine)
                total = sum(_int(t.get("total_changes")) for t in mine) or None
        info = (yield from self.info(build.ddoc)) if build.views or build.mango else None
        # Pending updates alone don't mean a build runs: on CouchDB they stay pending
        # until the background indexer gets to the database (a minute and more on a busy
        # server). With no build running, the verification query builds the index.
        if info is not None and info.get("updater_running") is True:
            running = True
        return running, done, total

    def verify(self, build: _Build) -> Flow[bool]:
        """Real queries that wait for the index: True once all answer, False while they
        time out (the index is still building)."""
        keys: list[str | None] = [None]
        if (yield from self.partitioned(build)):
            keys = [*(yield from self.partition_keys())]
        try:
            for key in keys:
                for view in build.views:
                    if key is None:
                        yield Send("post_view", self.db, build.ddoc, view, limit=1)
                    else:
                        yield Send("post_partition_view", self.db, key, build.ddoc, view, limit=1)
                for index in build.searches:
                    yield from self.verify_search(build.ddoc, index, key)
                if build.mango is not None:
                    yield from self.verify_mango(build.mango, key)
        except requests.Timeout as exc:
            log.info("%s: still building (%s)", build.target, exc)
            return False
        except ApiException as exc:
            if exc.status_code in (502, 504):
                # A proxy in front of the server gave up waiting for the index.
                log.info("%s: still building (%s)", build.target, exc)
                return False
            raise DeployError(
                f"{build.target}: the verification query on _design/{build.ddoc} failed: "
                f"{exc}; nothing was switched"
            ) from exc
        return True

    def verify_search(self, ddoc: str, index: str, partition: str | None) -> Flow[None]:
        try:
            if partition is None:
                yield Send("post_search", self.db, ddoc, index, query="*:*", limit=1)
            else:
                yield Send(
                    "post_partition_search", self.db, partition, ddoc, index, query="*:*", limit=1
                )
        except ApiException as exc:
            if exc.status_code in (400, 404, 501, 503) and not _search_error_in_index(exc):
                if not self._search_warned:
                    self.report.warnings.append(
                        f"search indexes could not be verified: the server answered {exc} "
                        "(no search service?)"
                    )
                    self._search_warned = True
                return
            raise

    def verify_mango(self, index: MangoIndex, partition: str | None) -> Flow[None]:
        fields = index.definition["index"].get("fields") or []
        names = [(f.get("name") if index.kind == "text" else next(iter(f))) for f in fields if f]
        selector: dict[str, Any] = {n: {"$exists": True} for n in names if isinstance(n, str)}
        query: dict[str, Any] = {
            "selector": selector or {"_id": {"$gt": None}},
            "use_index": [index.ddoc, index.name],
            "limit": 1,
        }
        if partition is None:
            yield Send("post_find", self.db, **query)
        else:
            yield Send("post_partition_find", self.db, partition, **query)

    def wait(self, builds: Sequence[_Build]) -> Flow[None]:
        if not builds:
            return
        for build in builds:
            yield from self.trigger(build)
            self.emit(build.target, "building")
        pending = list(builds)
        deadline = None if self.timeout is None else _monotonic() + self.timeout
        while pending:
            tasks = yield from self.active_tasks()
            for build in list(pending):
                running, done, total = yield from self.busy(build, tasks)
                self.emit(build.target, "building", changes_done=done, total_changes=total)
                if not running and (yield from self.verify(build)):
                    pending.remove(build)
                    self.emit(build.target, "built")
            if not pending:
                break
            if deadline is not None and _monotonic() > deadline:
                names = ", ".join(b.target for b in pending)
                raise BuildTimeoutError(
                    f"indexes of {names} were not built within {self.timeout:g} s; nothing "
                    "of theirs was switched. The build goes on on the server: run sync "
                    "again later and it picks the staged copies up"
                )
            yield from self.state.beat(f"building {', '.join(b.ddoc for b in pending)}")
            yield Sleep(self.poll_interval)

    # -- the steps ------------------------------------------------------------------

    def run(self, plan: _Plan) -> Flow[None]:
        builds: list[_Build] = []
        switches: list[tuple[_DesignStep, str | None]] = []
        report = self.report
        for step in plan.designs:
            doc, name = step.doc, step.doc.name
            if step.action == "unchanged":
                report.changes.append(DeployChange("design", doc.id, "unchanged"))
                continue
            if step.method == "create":
                yield from self.state.step(f"creating {name}")
                yield from self.put(name, doc.content, None)
                self.emit(name, "create")
                report.changes.append(DeployChange("design", doc.id, "create", "create", step.diff))
                builds.append(self.build_for(name, name, doc))
            elif step.method == "in-place":
                assert step.live is not None
                yield from self.state.step(f"updating {name} in place")
                yield from self.put(name, doc.content, step.live.get("_rev"))
                self.emit(name, "update")
                report.changes.append(
                    DeployChange("design", doc.id, "update", "in-place", step.diff)
                )
                if _index_part(step.live) != _index_part(doc.content):
                    builds.append(self.build_for(name, name, doc))
            else:
                new_rev = yield from self.stage(step)
                switches.append((step, new_rev))
                builds.append(self.build_for(name, f"{name}_NEW", doc))

        registry = self.state.indexes
        for index_step in plan.indexes:
            index = index_step.index
            if index_step.action == "unchanged":
                report.changes.append(DeployChange("index", index.id, "unchanged"))
                continue
            yield from self.state.step(f"creating index {index.id}")
            result = (yield Send("post_index", self.db, **index.definition)).get_result()
            if not isinstance(result, dict) or result.get("result") not in ("created", "exists"):
                raise DeployError(f"creating Mango index {index.id}: unexpected answer {result!r}")
            self.emit(index.id, "create")
            diff = _diff(None, index.definition, index.id)
            report.changes.append(DeployChange("index", index.id, "create", "post-index", diff))
            registry = [e for e in registry if (e["ddoc"], e["name"]) != (index.ddoc, index.name)]
            registry.append(
                {"ddoc": index.ddoc, "name": index.name, "type": index.kind, "group": index.group}
            )
            # Recorded before the wait: a crash mid-build must not orphan it.
            yield from self.state.save(indexes=registry)
            flag = index.definition.get("partitioned")
            builds.append(
                _Build(
                    index.id,
                    index.ddoc,
                    mango=index,
                    partitioned=flag if isinstance(flag, bool) else None,
                )
            )
        # Declared indexes that exist but were never recorded (a crash between POST
        # and save) are ours too.
        known = {(e["ddoc"], e["name"]) for e in registry}
        missing = [s.index for s in plan.indexes if (s.index.ddoc, s.index.name) not in known]
        if missing:
            registry += [
                {"ddoc": i.ddoc, "name": i.name, "type": i.kind, "group": i.group} for i in missing
            ]
            yield from self.state.save(indexes=registry)

        yield from self.wait(builds)

        for step, new_rev in switches:
            yield from self.switch(step, new_rev)

        for removal in plan.removals:
            yield from self.remove(removal)
        removed = {(r.ddoc, r.name) for r in plan.removals if r.kind == "index"}
        if removed:
            registry = [e for e in self.state.indexes if (e["ddoc"], e["name"]) not in removed]
            yield from self.state.save(indexes=registry)

        report.changes = _ordered(report.changes)
        if any(c.action in ("update", "remove") for c in report.changes):
            yield from self.clean_up_views()
        self.emit("", "done")

    def clean_up_views(self) -> Flow[None]:
        """``POST _view_cleanup``: the index files nothing uses any more are removed (a
        failure is a warning: the deploy is done)."""
        try:
            yield Send("post_view_cleanup", self.db)
        except _VIEW_CLEANUP_ERRORS as exc:
            self.report.warnings.append(f"POST /{self.db}/_view_cleanup failed: {exc}")

    def stage(self, step: _DesignStep) -> Flow[str | None]:
        """Keep a rollback copy of the live document as ``_OLD`` and upload the new one
        as ``_NEW`` (reused if a crashed deploy already staged exactly this)."""
        doc, name = step.doc, step.doc.name
        assert step.live is not None
        yield from self.state.step(f"staging {name}")
        old_rev = step.old.get("_rev") if step.old is not None else None
        if step.old is None or not _same(step.old, step.live):
            try:
                yield Send(
                    "copy_design_document",
                    self.db,
                    name,
                    f"{name}_OLD",
                    rev=step.live.get("_rev"),
                    destination_rev=old_rev,
                )
            except ConflictError as exc:
                raise DeployConflictError(
                    f"_design/{name}_OLD changed while this deploy ran; try again"
                ) from exc
        self.emit(name, "backup")
        if step.new is not None and _same(step.new, doc.body):
            new_rev = step.new.get("_rev")
            self.emit(name, "stage", message="reusing the staged copy")
        else:
            new_rev = yield from self.put(
                f"{name}_NEW", doc.content, step.new.get("_rev") if step.new else None
            )
            self.emit(name, "stage")
        return str(new_rev) if new_rev else (yield from self.rev_of(f"{name}_NEW"))

    def switch(self, step: _DesignStep, new_rev: str | None) -> Flow[None]:
        doc, name = step.doc, step.doc.name
        assert step.live is not None
        yield from self.state.step(f"switching {name}")
        before = ((yield from self.info(f"{name}_NEW")) or {}).get("signature")
        try:
            yield Send(
                "copy_design_document",
                self.db,
                f"{name}_NEW",
                name,
                rev=new_rev,
                destination_rev=step.live.get("_rev"),
            )
        except ConflictError as exc:
            raise DeployConflictError(
                f"{doc.id} was changed by someone else while this deploy built its new "
                f"version; nothing was switched. _design/{name}_NEW is kept (sync again "
                "to retry with it)"
            ) from exc
        after = ((yield from self.info(name)) or {}).get("signature")
        if before and after and before != after:
            self.report.warnings.append(
                f"{doc.id}: index signature {before} before the switch, {after} after: "
                "queries will wait for a rebuild"
            )
        self.emit(name, "switch")
        yield from self.delete(f"{name}_NEW", new_rev)
        if not self.keep_old:
            yield from self.delete(f"{name}_OLD", None)
        signature = after or before
        self.report.changes.append(
            DeployChange("design", doc.id, "update", "move-and-switch", step.diff, signature)
        )

    def remove(self, removal: _Removal) -> Flow[None]:
        yield from self.state.step(f"removing {removal.id}")
        if removal.kind == "design":
            yield from self.delete(removal.ddoc, removal.rev)
        else:
            with contextlib.suppress(NotFoundError):
                yield Send("delete_index", self.db, removal.ddoc, removal.index_type, removal.name)
        self.emit(removal.id, "remove", message=removal.reason)
        self.report.changes.append(
            DeployChange(removal.kind, removal.id, "remove", "delete", removal.diff)
        )


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _search_error_in_index(exc: ApiException) -> bool:
    # A server with search that fails on the index itself names the index function.
    text = f"{exc.message} {getattr(exc, 'reason', '') or ''}".lower()
    return "function" in text or "syntax" in text


# --- the public functions --------------------------------------------------------------


def sync(
    client: CloudantV1,
    db: str,
    models: Models | Generated,
    *,
    strategy: Strategy = "move-and-switch",
    dry_run: bool = False,
    prune: bool = False,
    progress: ProgressCallback | None = None,
    keep_old: bool = False,
    resume: bool = False,
    timeout: float | None = None,
    poll_interval: float = 2.0,
    lock_timeout: float = 900.0,
) -> SyncReport:
    """Make the design documents and Mango indexes of ``db`` match ``models``.

    - Unchanged design documents are never written (bodies compared canonically,
      ignoring ``_rev``); new ones are created and built.
    - ``strategy="move-and-switch"`` (the default) changes an existing design document
      without making queries wait: staged as ``<ddoc>_NEW``, built, checked with a real
      query, then copied over the live one (``_OLD`` keeps the previous version until
      the switch succeeded, or for good with ``keep_old=True``). ``"in-place"`` PUTs
      over the live revision: fine for new or small databases. A change that touches no
      index definition (filters, validate_doc_update) is always written in place, since
      nothing needs rebuilding.
    - Mango indexes are created idempotently; a changed one is a new design document,
      built before the old version is deleted.
    - ``prune=True`` also removes the design documents and Mango indexes this library
      deployed before and no longer declares (never anything it did not create).
    - ``dry_run=True`` only reports what would change (with diffs).
    - ``progress`` is called with :class:`Progress` events.
    - A deploy lock keeps concurrent deploys apart; ``resume=True`` takes over the lock
      of a deploy that crashed (a lock whose heartbeat is older than ``lock_timeout``
      seconds is taken over anyway) and finishes its work, reusing staged copies.
    - ``timeout`` bounds the wait for index builds (None: no limit).

    Returns a :class:`SyncReport`; raises :class:`DeployError` (and its subclasses) when
    the deploy can't be completed, and ``DesignDefinitionError`` for bad declarations.
    ``cloudant_odm.aio.sync_design`` does the same with an ``AsyncCloudantV1``, awaited.
    """
    check_client(client, awaited=False, where="sync()", instead="cloudant_odm.aio.sync_design()")
    flow = sync_flow(
        db,
        models,
        strategy=strategy,
        dry_run=dry_run,
        prune=prune,
        progress=progress,
        keep_old=keep_old,
        resume=resume,
        timeout=timeout,
        poll_interval=poll_interval,
        lock_timeout=lock_timeout,
    )
    return run(flow, client)


def sync_flow(
    db: str,
    models: Models | Generated,
    *,
    strategy: Strategy,
    dry_run: bool,
    prune: bool,
    progress: ProgressCallback | None,
    keep_old: bool,
    resume: bool,
    timeout: float | None,
    poll_interval: float,
    lock_timeout: float,
) -> Flow[SyncReport]:
    """The work of :func:`sync` as a flow (``client/flows.py``), which ``sync`` runs
    with ``CloudantV1`` and ``cloudant_odm.aio.sync_design`` awaits with
    ``AsyncCloudantV1``. The arguments are checked, and the models' design documents
    generated, before its first request."""
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, not {strategy!r}")
    generated = models if isinstance(models, Generated) else generate(models)
    report = SyncReport(db, dry_run=dry_run)
    plan = _plan(generated, (yield from _read(db)), strategy, prune)
    report.warnings.extend(plan.notes)
    if dry_run or not plan.changed:
        report.changes = plan.changes()
        return report

    state = _State(
        db, lock_timeout=lock_timeout, resume=resume, heartbeat=min(30.0, lock_timeout / 3)
    )
    yield from state.acquire([d.name for d in generated.design_documents])
    report.resumed_from = state.taken_over
    try:
        # Plan again under the lock: another deploy may have finished in between.
        plan = _plan(generated, (yield from _read(db)), strategy, prune)
        deployer = _Deployer(
            db,
            report,
            state,
            progress=progress,
            keep_old=keep_old,
            timeout=timeout,
            poll_interval=poll_interval,
        )
        yield from deployer.run(plan)
    except BaseException as exc:
        # (A cancellation too: the drivers throw it in, so the lock is released while
        # requests can still be made.)
        yield from _release_after_failure(state, exc)
        raise
    yield from state.release("ok", report)
    return report


def _release_after_failure(state: _State, exc: BaseException) -> Flow[None]:
    if isinstance(exc, DeployLockedError):
        return  # not ours any more
    try:
        yield from state.release(f"failed: {type(exc).__name__}: {exc}", None)
    except Exception:  # the original error matters more
        log.exception("could not release the deploy lock of %s", state.db)


def rollback(
    client: CloudantV1,
    db: str,
    ddocs: Sequence[str] | None = None,
    *,
    force: bool = False,
    progress: ProgressCallback | None = None,
    lock_timeout: float = 900.0,
) -> SyncReport:
    """Restore design documents from the ``<ddoc>_OLD`` copies a deploy kept.

    For each design document (``ddocs``, else the ones a crashed deploy's lock names,
    else every one with an ``_OLD`` copy): ``_OLD`` is copied back over the live name
    when they differ, then ``_OLD`` and any ``_NEW`` are deleted. ``force=True`` takes
    over the lock of a deploy that is still marked as running (use it for a crashed
    one). Mango index versions are not rolled back: an older definition is recreated
    by syncing the older declarations. ``cloudant_odm.aio.rollback_design`` does the
    same with an ``AsyncCloudantV1``, awaited.
    """
    check_client(
        client, awaited=False, where="rollback()", instead="cloudant_odm.aio.rollback_design()"
    )
    flow = rollback_flow(db, ddocs, force=force, progress=progress, lock_timeout=lock_timeout)
    return run(flow, client)


def rollback_flow(
    db: str,
    ddocs: Sequence[str] | None,
    *,
    force: bool,
    progress: ProgressCallback | None,
    lock_timeout: float,
) -> Flow[SyncReport]:
    """The work of :func:`rollback` as a flow (see :func:`sync_flow`)."""
    report = SyncReport(db)
    state = _State(db, lock_timeout=lock_timeout, resume=force, heartbeat=30.0)
    remote = yield from _read(db)
    names = [n.removeprefix("_design/") for n in ddocs] if ddocs is not None else None
    yield from state.acquire(names or [])
    report.resumed_from = state.taken_over
    try:
        if names is None and state.taken_over:
            names = list(state.taken_over.get("ddocs") or [])
        if not names:
            names = sorted(_base_name(n) for n in remote.design_docs if n.endswith("_OLD"))
        deployer = _Deployer(
            db,
            report,
            state,
            progress=progress,
            keep_old=False,
            timeout=None,
            poll_interval=1.0,
        )
        for name in names:
            yield from _rollback_one(deployer, remote, name)
        if report.changed:
            yield from deployer.clean_up_views()
        deployer.emit("", "done")
    except BaseException as exc:
        yield from _release_after_failure(state, exc)
        raise
    yield from state.release("rolled back", report)
    return report


def _rollback_one(deployer: _Deployer, remote: _Remote, name: str) -> Flow[None]:
    docs = remote.design_docs
    live, old, new = docs.get(name), docs.get(f"{name}_OLD"), docs.get(f"{name}_NEW")
    report = deployer.report
    if old is None:
        report.warnings.append(f"_design/{name}: no _OLD copy to roll back to")
    elif live is None or not _same(live, old):
        yield Send(
            "copy_design_document",
            deployer.db,
            f"{name}_OLD",
            name,
            rev=old.get("_rev"),
            destination_rev=live.get("_rev") if live is not None else None,
        )
        deployer.emit(name, "switch", message="restored from _OLD")
        diff = _diff(live, old, f"_design/{name}")
        report.changes.append(DeployChange("design", f"_design/{name}", "update", "rollback", diff))
    else:
        report.changes.append(DeployChange("design", f"_design/{name}", "unchanged"))
    for suffix, doc in (("_NEW", new), ("_OLD", old)):
        if doc is not None:
            yield from deployer.delete(f"{name}{suffix}", doc.get("_rev"))
            deployer.emit(f"{name}{suffix}", "remove")
            report.changes.append(
                DeployChange("design", f"_design/{name}{suffix}", "remove", "delete")
            )

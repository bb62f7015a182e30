"""The identity map: one object per document id in a session (as SQLAlchemy's
``identity.py``). It only holds and finds the session's entries; what to write, and
when, is the unit of work's (:mod:`cloudant_odm.session`)."""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

if TYPE_CHECKING:
    from cloudant_odm.models import Document

__all__ = ["IdentityMap"]


class _Held(Protocol):
    @property
    def db(self) -> str: ...

    @property
    def obj(self) -> Document: ...


E = TypeVar("E", bound=_Held)


class IdentityMap(Generic[E]):
    """Entries (an object with its database and state) by database and id, and by object.

    Objects that were stored and then expunged or deleted are remembered weakly, to tell
    a DETACHED object from a TRANSIENT one (not by ``clear()``: marking every object
    would cost bulk loads).
    """

    __slots__ = ("_by_key", "_by_obj", "_detached", "_ever_detached")

    def __init__(self) -> None:
        # A dict per database rather than (db, id) keys: no tuple per document held.
        self._by_key: dict[str, dict[str, E]] = {}
        self._by_obj: dict[int, E] = {}
        self._detached: weakref.WeakValueDictionary[int, Document] = weakref.WeakValueDictionary()
        # Whether _detached was ever written to: a plain test, where asking the weak
        # dict's length is a Python-level call for every object added.
        self._ever_detached = False

    def get(self, db: str, doc_id: str) -> E | None:
        """The entry for ``doc_id`` in ``db``, or None."""
        held = self._by_key.get(db)
        return held.get(doc_id) if held is not None else None

    def of(self, obj: object) -> E | None:
        """The entry holding ``obj`` itself, or None."""
        return self._by_obj.get(id(obj))

    def add(self, entry: E) -> None:
        """Hold ``entry`` (the caller checked that no other object has its id)."""
        obj = entry.obj
        assert obj.id is not None
        held = self._by_key.get(entry.db)
        if held is None:
            held = self._by_key[entry.db] = {}
        held[obj.id] = entry
        self._by_obj[id(obj)] = entry
        if self._ever_detached:
            self._detached.pop(id(obj), None)

    def remove(self, entry: E, *, detach: bool) -> None:
        """Stop holding ``entry``; ``detach``: its object was stored (DETACHED)."""
        obj = entry.obj
        assert obj.id is not None
        held = self._by_key.get(entry.db)
        if held is not None:
            held.pop(obj.id, None)
        self._by_obj.pop(id(obj), None)
        if detach:
            self._detached[id(obj)] = obj
            self._ever_detached = True

    def is_detached(self, obj: object) -> bool:
        return self._detached.get(id(obj)) is obj

    def clear(self) -> None:
        self._by_key.clear()
        self._by_obj.clear()

    def entries(self) -> list[E]:
        """Every entry, in the order they were added (a copy: safe to change the map
        while going through it)."""
        return list(self._by_obj.values())

    def __iter__(self) -> Iterator[E]:
        return iter(self._by_obj.values())

    def __len__(self) -> int:
        return len(self._by_obj)

    def __contains__(self, obj: object) -> bool:
        return id(obj) in self._by_obj

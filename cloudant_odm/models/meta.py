"""CouchDB's own ``_``-prefixed members of a document, kept apart from the user's fields."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

__all__ = ["META_KEYS", "DocumentMeta"]

# JSON key -> DocumentMeta attribute. Every one of these comes back from a read
# (GET ?conflicts=true, ?revs=true, ?revs_info=true, ?local_seq=true, _changes, ...).
META_KEYS: Mapping[str, str] = {
    "_attachments": "attachments",
    "_conflicts": "conflicts",
    "_deleted_conflicts": "deleted_conflicts",
    "_revisions": "revisions",
    "_revs_info": "revs_info",
    "_local_seq": "local_seq",
    "_deleted": "deleted",
}


@attrs.frozen
class DocumentMeta:
    """CouchDB metadata of a loaded document (``doc.meta``).

    Only ``attachments`` is written back on save: the stubs tell CouchDB to keep the
    attachments, and leaving them out would delete them. The others describe the revision
    that was read; CouchDB ignores ``_conflicts``, ``_deleted_conflicts``, ``_revs_info`` and
    ``_local_seq`` in a write, but it *applies* ``_revisions`` (it replaces the revision
    path) and ``_deleted`` (it deletes the document), so sending them back would be wrong.

    It is immutable so that documents can share the empty default; replace it with
    ``attrs.evolve(doc.meta, attachments=...)``.
    """

    attachments: Mapping[str, Any] | None = None
    conflicts: tuple[str, ...] = ()
    deleted_conflicts: tuple[str, ...] = ()
    revisions: Mapping[str, Any] | None = None
    revs_info: tuple[Mapping[str, Any], ...] = ()
    local_seq: int | str | None = None
    deleted: bool = False
    #: Other ``_`` members the server keeps in the document, by JSON key (the
    #: ``_replication_*`` keys of ``_replicator`` documents): read, never written back.
    other: Mapping[str, Any] | None = None

    @classmethod
    def from_json(cls, members: Mapping[str, Any]) -> DocumentMeta:
        """Build from the ``_``-prefixed members of a JSON document (other keys ignored)."""
        values: dict[str, Any] = {}
        for key, name in META_KEYS.items():
            if key in members:
                value = members[key]
                if name in ("conflicts", "deleted_conflicts", "revs_info"):
                    value = tuple(value)
                elif name == "deleted":
                    value = bool(value)
                values[name] = value
        other = {
            key: value
            for key, value in members.items()
            if key.startswith("_") and key not in META_KEYS and key not in ("_id", "_rev")
        }
        if other:
            values["other"] = other
        return cls(**values)


EMPTY_META = DocumentMeta()

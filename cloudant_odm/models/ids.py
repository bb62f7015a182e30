"""Document id strategies: random, natural key, or your own function; partition prefixes.

Ids are made on the client, when a document is added to a session, so a create that is
retried after a lost response writes the same id again and gets a conflict instead of a
second copy of the document.
"""

from __future__ import annotations

import os
import uuid
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Any

__all__ = ["SEPARATOR", "check_id", "id_part", "random_key"]

# Joins natural-key parts. It is also CouchDB's partition separator, so the first part of
# a natural key can double as the partition of a partitioned database.
SEPARATOR = ":"


#: Keys made per read of the system's random source (one ``os.urandom`` call per key
#: cost a system call each: about half of the key's cost).
_KEYS_PER_READ = 256
_keys: list[str] = []  # made ahead; list.pop() and extend() are atomic, so thread-safe


def _make_keys() -> list[str]:
    raw = bytearray(os.urandom(16 * _KEYS_PER_READ))
    keys = []
    for start in range(0, len(raw), 16):
        key = raw[start : start + 16]
        key[6] = (key[6] & 0x0F) | 0x40  # version 4
        key[8] = (key[8] & 0x3F) | 0x80  # RFC 4122 variant
        keys.append(key.hex())
    return keys


def random_key() -> str:
    """A random (uuid4) key, 32 hex digits: what ``uuid.uuid4().hex`` gives, without a
    ``UUID`` object or a system call per key (made a few hundred at a time)."""
    while True:
        try:
            return _keys.pop()
        except IndexError:
            _keys.extend(_make_keys())


if hasattr(os, "register_at_fork"):
    # A forked child must never hand out the keys its parent also holds.
    os.register_at_fork(after_in_child=_keys.clear)


def id_part(doc: Any, name: str) -> str:
    """The string form of field ``name`` of ``doc`` for use inside an id."""
    value = getattr(doc, name)
    text = _as_text(value)
    if text is None:
        raise ValueError(
            f"{type(doc).__name__}.{name} is {value!r}: an id can only be made from a str, "
            "int, UUID, Enum, Decimal, date, time or datetime value"
        )
    if not text:
        raise ValueError(f"{type(doc).__name__}.{name} is empty: it can't be part of an id")
    if SEPARATOR in text:
        # Refused rather than escaped: ('a:b', 'c') and ('a', 'b:c') would give one id.
        raise ValueError(
            f"{type(doc).__name__}.{name} is {text!r}: an id part can't contain {SEPARATOR!r}"
        )
    return text


def _as_text(value: Any) -> str | None:
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (str, int, uuid.UUID, Decimal)):
        return str(value)
    if isinstance(value, (date, datetime, time)):
        return value.isoformat()
    return None


def check_id(doc_id: Any, *, model: str, partitioned: bool) -> str:
    """Raise ``ValueError`` unless ``doc_id`` is a usable id for a new document."""
    if not isinstance(doc_id, str) or not doc_id:
        raise ValueError(f"{model}: a document id must be a non-empty str, got {doc_id!r}")
    if doc_id.startswith("_"):
        raise ValueError(f"{model}: a document id can't start with '_': {doc_id!r}")
    if partitioned:
        partition, sep, key = doc_id.partition(SEPARATOR)
        if not sep or not partition or not key:
            raise ValueError(
                f"{model} is partitioned: its id must look like 'partition:key', got {doc_id!r}"
            )
    return doc_id

"""The Mango index that finds a versioned class's documents stored at an older schema
version: what ``cloudant_odm.migrate`` queries, declared for every class with
``Meta.schema_version`` of 2 or more, and deployed by ``sync`` with the rest.

It is a partial index over ``_id``: only the class's own documents below its version
are in it (:func:`~cloudant_odm.models.versions.stale_selector`), so it shrinks as they
are migrated, a run pages through it by id, and once every document is current it is
empty. Its design document is ``migrate-<doc_type>-stale-<hash>``; a new schema version
changes the hash, and ``sync`` builds the new index before it removes the old one.
"""

from __future__ import annotations

import hashlib
import re
import weakref

from cloudant_odm.models.document import Document
from cloudant_odm.models.registry import registry
from cloudant_odm.models.versions import stale_selector
from cloudant_odm.schema.declarations import Index

__all__ = ["stale_index", "stale_indexes"]

_made: weakref.WeakKeyDictionary[type[Document], Index] = weakref.WeakKeyDictionary()
_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]")


def _design(doc_type: str) -> str:
    """``migrate-<doc_type>``, with a digest in place of what a design name can't hold."""
    safe = _UNSAFE.sub("_", doc_type)[:100]
    if safe != doc_type:
        safe += "-" + hashlib.sha256(doc_type.encode()).hexdigest()[:8]
    return f"migrate-{safe}"


def stale_index(model: type[Document]) -> Index | None:
    """The index of ``model``'s own documents at an older schema version, or None when
    the class has none (not versioned, at version 1, or abstract)."""
    selector = stale_selector(model)
    if selector is None:
        return None
    index = _made.get(model)
    if index is None:
        options = model._options
        index = Index(
            "id",
            name="stale",
            design=_design(options.doc_type),
            partial_filter=selector,
            # Across partitions: a migration reads the whole database.
            partitioned=False if options.partitioned else None,
        )
        # Declared by the class's Meta.schema_version rather than in its body.
        index.__set_name__(model, "Meta.schema_version")
        index._bound = True
        index._check()
        _made[model] = index
    return index


def stale_indexes(model: type[Document]) -> list[Index]:
    """The stale-version indexes of ``model`` and its registered subclasses (each
    concrete class has its own: their documents are migrated by type)."""
    classes = [model, *(c for c in registry.classes() if c is not model and issubclass(c, model))]
    return [index for index in map(stale_index, classes) if index is not None]

"""Versioned document classes for the migration tests, importable by the tests and by the
processes they start (tests/ is on their PYTHONPATH), and the documents older code wrote.

Version 1 stored ``{"name": "Ann Lee", "phone": "555"}``; version 2 split the name;
version 3 keeps a list of phones. Another program adds keys of its own (``crm``), and
``friend`` holds another document's id.
"""

from __future__ import annotations

from typing import Any

from cloudant_odm import Document, View, migration


class Contact(Document):
    class Meta:
        doc_type = "mig-contact"
        design = "mig-contacts"
        schema_version = 3

    first: str
    last: str
    phones: list[str]
    friend: str | None = None

    # Understands both shapes, so it answers the same before, during and after the
    # migration (deploy it first).
    by_last = View(
        map="""
            function (doc) {
                if (doc.type !== "mig-contact" && doc.type !== "mig-vip") return;
                var last = doc.last !== undefined ? doc.last : doc.name.split(" ")[1];
                emit(last, null);
            }
        """
    )

    @migration(1)
    @staticmethod
    def split_name(doc: dict[str, Any]) -> dict[str, Any]:
        first, _, last = doc.pop("name").partition(" ")
        doc["first"], doc["last"] = first, last
        return doc

    @migration(2)
    @staticmethod
    def phone_list(doc: dict[str, Any]) -> dict[str, Any]:
        phone = doc.pop("phone", None)
        doc["phones"] = [phone] if phone else []
        return doc


class Vip(Contact):
    class Meta:
        doc_type = "mig-vip"

    level: int = 1


def older(n: int, doc_type: str = "mig-contact") -> dict[str, Any]:
    """Document number ``n`` as older code wrote it: version 1 for odd numbers, 2 for even
    ones, each with a foreign key and another program's own keys."""
    doc: dict[str, Any] = {"_id": f"c{n:05d}", "type": doc_type, "friend": f"c{n + 1:05d}"}
    if n % 2:
        doc.update(name=f"First{n} Last{n}", phone=f"555-{n}", crm={"source": "import", "n": n})
    else:
        doc.update(schema_version=2, first=f"First{n}", last=f"Last{n}", phone=f"555-{n}")
        doc["crm"] = [n, "kept"]
    return doc


def upgraded(n: int, doc_type: str = "mig-contact") -> dict[str, Any]:
    """What document number ``n`` holds at version 3 (without ``_rev``)."""
    return {
        "_id": f"c{n:05d}",
        "type": doc_type,
        "schema_version": 3,
        "first": f"First{n}",
        "last": f"Last{n}",
        "phones": [f"555-{n}"],
        "friend": f"c{n + 1:05d}",
        "crm": {"source": "import", "n": n} if n % 2 else [n, "kept"],
        **({"level": 1} if doc_type == "mig-vip" else {}),
    }

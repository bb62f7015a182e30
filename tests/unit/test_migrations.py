"""Schema versions and migrations without a server: declarations, the upgrade chain on
load, its errors, what a session makes of upgraded documents, the declared index."""

from __future__ import annotations

import copy
import gzip
import json
import pickle
from typing import Any

import pytest
import responses
from _contacts import Contact, older, upgraded

from cloudant_odm import (
    Document,
    DocumentDefinitionError,
    DocumentValidationError,
    MigrationError,
    SchemaVersionError,
    Session,
    SessionError,
    migration,
)
from cloudant_odm.client import CloudantV1, NoAuthAuthenticator
from cloudant_odm.converter import from_json, to_json
from cloudant_odm.design import generate
from cloudant_odm.models.versions import needs_upgrade, stale_selector

URL = "http://couch.test"


# Contact (version 3) and documents of versions 1 and 2: tests/_contacts.py.
V1 = {**older(1), "_rev": "1-a"}
V2 = {**older(2), "_rev": "1-b"}
V3 = {**upgraded(3), "_rev": "1-c"}


# --- the chain on load ------------------------------------------------------------------


def test_older_documents_load_at_the_class_version_and_the_stored_json_is_not_changed() -> None:
    given = copy.deepcopy(V1)
    contact = from_json(given, Contact)
    assert (contact.first, contact.last, contact.phones) == ("First1", "Last1", ["555-1"])
    assert contact.friend == "c00002"  # another document's id, carried over
    assert given == V1  # the steps ran on a copy
    body = to_json(contact)
    assert body["schema_version"] == 3
    assert "name" not in body
    assert "phone" not in body
    assert list(body)[:4] == ["_id", "_rev", "type", "schema_version"]

    two = from_json(V2, Contact)
    assert (two.first, two.phones) == ("First2", ["555-2"])
    assert from_json(V3, Contact).first == "First3"


def test_unknown_keys_survive_every_step_and_stay_out_of_extra_as_the_version() -> None:
    contact = from_json(V1, Contact)
    assert contact.extra == {"crm": {"source": "import", "n": 1}}
    assert to_json(contact)["crm"] == {"source": "import", "n": 1}
    assert from_json(V2, Contact).extra == {"crm": [2, "kept"]}
    assert "schema_version" not in from_json(V3, Contact).extra


def test_a_step_removes_a_key_only_on_purpose() -> None:
    class Note(Document, schema_version=2):
        text: str

        @migration(1)
        @staticmethod
        def drop_legacy(doc: dict[str, Any]) -> dict[str, Any]:
            doc.pop("legacy", None)
            return doc

    note = from_json({"type": "note", "text": "t", "legacy": 1, "keep": 2}, Note)
    assert note.extra == {"keep": 2}


def test_a_class_with_unknown_forbid_accepts_its_version_key() -> None:
    class Strict(Document, schema_version=2, unknown="forbid"):
        n: int

        @migration(1)
        def nothing(doc):  # type: ignore[no-untyped-def]  # (a plain function works too)
            return doc

    assert from_json({"type": "strict", "schema_version": 2, "n": 1}, Strict).n == 1
    assert from_json({"type": "strict", "n": 1}, Strict).n == 1


def test_version_one_without_the_key_is_current_and_unversioned_classes_write_no_key() -> None:
    class First(Document, schema_version=1):
        n: int = 0

    class Plain(Document):
        n: int = 0

    assert not needs_upgrade(First, {"type": "first", "n": 1})
    assert to_json(First(n=1))["schema_version"] == 1
    assert "schema_version" not in to_json(Plain(n=1))
    assert from_json({"type": "plain", "schema_version": 9}, Plain).extra == {"schema_version": 9}
    assert stale_selector(First) is None
    assert stale_selector(Plain) is None


def test_the_version_key_is_configurable_and_inherited_with_the_steps() -> None:
    class Base(Document):
        class Meta:
            schema_version = 2
            schema_version_key = "v"

        title: str

        @migration(1)
        @staticmethod
        def rename(doc: dict[str, Any]) -> dict[str, Any]:
            doc["title"] = doc.pop("name")
            return doc

    class Derived(Base):
        class Meta:
            schema_version = 3

        pages: int = 0

        @migration(2)
        @staticmethod
        def count(doc: dict[str, Any]) -> dict[str, Any]:
            doc["pages"] = len(doc.get("text", ""))
            return doc

    assert sorted(Derived._options.migrations) == [1, 2]
    derived = from_json({"type": "derived", "name": "x", "text": "abc"}, Base)
    assert isinstance(derived, Derived)
    assert (derived.title, derived.pages) == ("x", 3)
    assert to_json(derived)["v"] == 3
    assert to_json(Base(title="t"))["v"] == 2
    assert stale_selector(Derived) == {
        "type": "derived",
        "$or": [{"v": {"$exists": False}}, {"v": {"$lt": 3}}],
    }


# --- refusals -------------------------------------------------------------------------------


def test_a_document_newer_than_the_class_is_refused_never_downgraded() -> None:
    newer = {**V3, "schema_version": 4, "email": "x"}
    with pytest.raises(SchemaVersionError) as caught:
        from_json(newer, Contact)
    error = caught.value
    assert isinstance(error, DocumentValidationError)
    assert (error.model, error.doc_id) == ("Contact", "c00003")
    assert (error.stored_version, error.supported_version) == (4, 3)
    message = str(error)
    assert message.startswith("Contact 'c00003': schema_version: stored version 4 is newer")
    assert "schema_version 3" in message
    assert "never downgraded" in message


@pytest.mark.parametrize("stored", ["2", 0, -1, True, 2.0, None, [2]])
def test_a_version_that_is_not_a_whole_number_from_one_is_refused(stored: Any) -> None:
    with pytest.raises(SchemaVersionError, match="is not a version") as caught:
        from_json({**V2, "schema_version": stored}, Contact)
    assert caught.value.stored_version == stored


def test_a_version_older_than_the_first_step_is_refused() -> None:
    class Retired(Document, schema_version=3):
        a: int = 0

        @migration(2)
        def two(doc):  # type: ignore[no-untyped-def]
            return doc

    assert from_json({"type": "retired", "schema_version": 2}, Retired).a == 0
    with pytest.raises(SchemaVersionError, match=r"older than Retired's first migration") as caught:
        from_json({"_id": "r", "type": "retired"}, Retired)
    assert caught.value.stored_version is None  # no version key: version 1
    assert caught.value.supported_version == 3


def test_a_step_that_fails_is_reported_with_class_id_version_and_cause() -> None:
    with pytest.raises(MigrationError) as caught:
        from_json({"_id": "c9", "type": "mig-contact", "nom": "x"}, Contact)
    error = caught.value
    assert (error.model, error.doc_id, error.from_version) == ("Contact", "c9", 1)
    assert isinstance(error.__cause__, KeyError)
    assert str(error) == ("Contact 'c9': migration(1) Contact.split_name failed: KeyError: 'name'")


def test_a_step_must_return_a_dict_and_keep_the_id_revision_and_type() -> None:
    class Odd(Document, schema_version=2):
        a: int = 0

        @migration(1)
        @staticmethod
        def step(doc: dict[str, Any]) -> dict[str, Any]:
            if doc.get("mode") == "none":
                return None  # type: ignore[return-value]
            if doc.get("mode") == "id":
                doc["_id"] = "other"
            if doc.get("mode") == "type":
                doc["type"] = "even"
            if doc.get("mode") == "fresh":
                return {"a": 5}  # _id, _rev, type and the attachment stubs left out
            return doc

    with pytest.raises(MigrationError, match="returned NoneType, not a dict"):
        from_json({"_id": "o", "type": "odd", "mode": "none"}, Odd)
    with pytest.raises(MigrationError, match="changed _id from 'o' to 'other'"):
        from_json({"_id": "o", "type": "odd", "mode": "id"}, Odd)
    with pytest.raises(MigrationError, match="changed type from 'odd' to 'even'"):
        from_json({"_id": "o", "type": "odd", "mode": "type"}, Odd)
    stub = {"a.txt": {"stub": True, "digest": "md5-x", "length": 1, "content_type": "text/plain"}}
    fresh = {"_id": "o", "_rev": "2-r", "type": "odd", "mode": "fresh", "_attachments": stub}
    odd = from_json(fresh, Odd)
    assert (odd.id, odd.rev, odd.a) == ("o", "2-r", 5)
    assert odd.meta.attachments == stub


def test_errors_pickle_with_their_members() -> None:
    for error in (
        SchemaVersionError("A", "x", [("v", "p")], stored_version=4, supported_version=3),
        MigrationError("A", "x", [("", "p")], from_version=2),
    ):
        again = pickle.loads(pickle.dumps(error))
        assert type(again) is type(error)
        assert again.__dict__ == error.__dict__
        assert str(again) == str(error)


# --- declarations -----------------------------------------------------------------------------


def define(body: str) -> None:
    exec(
        "from typing import Any\nfrom cloudant_odm import Document, field, migration\n" + body,
        {},
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "class Bad(Document, schema_version=3):\n"
            "    @migration(1)\n    def a(doc): return doc\n",
            "Bad: schema_version 3 needs a step from each version from 1 to 2; "
            "missing: migration(2)",
        ),
        (
            "class Bad(Document, schema_version=4):\n"
            "    @migration(1)\n    def a(doc): return doc\n"
            "    @migration(3)\n    def c(doc): return doc\n",
            "missing: migration(2)",
        ),
        (
            "class Bad(Document, schema_version=3):\n    pass\n",
            "Bad: schema_version 3 needs migration(2), the step from version 2",
        ),
        (
            "class Bad(Document, schema_version=2):\n"
            "    @migration(1)\n    def a(doc): return doc\n"
            "    @migration(2)\n    def b(doc): return doc\n",
            "Bad: migration(2) (Bad.b) upgrades from version 2, but schema_version is 2",
        ),
        (
            "class Bad(Document, schema_version=3):\n"
            "    @migration(2)\n    def a(doc): return doc\n"
            "    @migration(2)\n    def b(doc): return doc\n",
            "Bad: two migrations from version 2: a and b",
        ),
        (
            "class Bad(Document):\n    @migration(1)\n    def a(doc): return doc\n",
            "Bad: Bad.a is a migration, but the class has no Meta.schema_version",
        ),
        (
            "class Bad(Document, schema_version=2):\n"
            "    schema_version: int = 0\n"
            "    @migration(1)\n    def a(doc): return doc\n",
            "field 'schema_version' uses the JSON key 'schema_version', which is the schema "
            "version key",
        ),
        (
            "class Bad(Document, schema_version=1):\n"
            "    version: int = field(default=0, key='schema_version')\n",
            "field 'version' uses the JSON key 'schema_version'",
        ),
        ("class Bad(Document, schema_version=1, schema_version_key='_v'):\n    pass\n", "'_'"),
        (
            "class Bad(Document, schema_version=1, schema_version_key='type'):\n    pass\n",
            "schema_version_key 'type' is the type field",
        ),
        ("class Bad(Document, schema_version=0):\n    pass\n", "whole number from 1"),
        ("class Bad(Document, schema_version='2'):\n    pass\n", "whole number from 1"),
        ("class Bad(Document, schema_version=True):\n    pass\n", "whole number from 1"),
        ("class Bad(Document, schema_version=1, schema_version_key=''):\n    pass\n", "non-empty"),
        (
            "class Base(Document, schema_version=1):\n    pass\n"
            "class Bad(Base, schema_version_key='v'):\n    pass\n",
            "Bad: schema_version_key 'v' differs from Base's 'schema_version'",
        ),
        (
            "class Base(Document, schema_version=2):\n"
            "    @migration(1)\n    def a(doc): return doc\n"
            "class Bad(Base, schema_version=1):\n    pass\n",
            "Bad: migration(1) (Base.a) upgrades from version 1, but schema_version is 1",
        ),
        ("class Bad(Document, schema_version=2):\n    @migration(0)\n    def a(doc): ...\n", "1"),
        ("class Bad(Document):\n    class Meta:\n        schema_versoin = 2\n", "unknown option"),
    ],
)
def test_bad_declarations_fail_when_the_class_is_defined(body: str, message: str) -> None:
    with pytest.raises(DocumentDefinitionError) as caught:
        define(body)
    assert message in str(caught.value)


def test_an_unversioned_class_may_have_a_field_named_like_the_version_key() -> None:
    class Legacy(Document):
        schema_version: str = "x"

    assert to_json(Legacy())["schema_version"] == "x"


def test_the_decorated_step_stays_callable() -> None:
    assert Contact.split_name({"name": "A B"}) == {"first": "A", "last": "B"}
    assert repr(Contact._options.migrations[2]).startswith("<migration from version 2:")


# --- the declared index ---------------------------------------------------------------------


def test_generate_declares_the_partial_index_of_older_documents() -> None:
    class Base(Document, schema_version=2, partitioned=True):
        a: int = 0

        @migration(1)
        def up(doc):  # type: ignore[no-untyped-def]
            return doc

    class Sub(Base):
        b: int = 0

    generated = generate([Base])
    by_ddoc = {i.ddoc.rsplit("-", 1)[0]: i.definition for i in generated.indexes}
    assert set(by_ddoc) == {"migrate-base-stale", "migrate-sub-stale"}
    assert by_ddoc["migrate-sub-stale"]["index"] == {
        "fields": [{"_id": "asc"}],
        "partial_filter_selector": {
            "type": "sub",
            "$or": [{"schema_version": {"$exists": False}}, {"schema_version": {"$lt": 2}}],
        },
    }
    assert by_ddoc["migrate-base-stale"]["partitioned"] is False  # over the whole database
    assert generate([Sub]).indexes[0].ddoc.startswith("migrate-sub-stale-")


# --- the session ----------------------------------------------------------------------------


@pytest.fixture
def client() -> CloudantV1:
    c = CloudantV1(NoAuthAuthenticator())
    c.set_service_url(URL)
    return c


def written(call: Any) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = json.loads(gzip.decompress(call.request.body))["docs"]
    return docs


def bulk_ok(request: Any) -> tuple[int, dict[str, str], str]:
    docs = json.loads(gzip.decompress(request.body))["docs"]
    results = [{"ok": True, "id": d["_id"], "rev": "2-new"} for d in docs]
    return 201, {"Content-Type": "application/json"}, json.dumps(results)


@responses.activate
def test_an_upgraded_document_is_modified_and_the_next_flush_stores_it(client: CloudantV1) -> None:
    responses.add_callback(responses.POST, f"{URL}/db/_bulk_docs", callback=bulk_ok)
    s = Session(client, db="db")
    loaded = s.load_json(Contact, "db", copy.deepcopy(V1))
    current = s.load_json(Contact, "db", copy.deepcopy(V3))
    assert s.is_modified(loaded)
    assert not s.is_modified(current)
    assert s.dirty == [loaded]
    s.rollback()  # what was loaded is the upgraded object: still to be stored
    assert loaded.first == "First1"
    assert s.is_modified(loaded)
    s.flush()
    (doc,) = written(responses.calls[0])
    assert doc == {**upgraded(1), "_rev": "1-a"}
    assert loaded.rev == "2-new"
    assert not s.is_modified(loaded)


@responses.activate
def test_refresh_of_an_older_document_also_leaves_it_modified(client: CloudantV1) -> None:
    responses.add(responses.GET, f"{URL}/db/c00001", json=V1)
    s = Session(client, db="db")
    contact = s.get(Contact, "c00001")
    assert contact is not None
    assert s.is_modified(contact)
    contact.first = "changed"
    s.refresh(contact)
    assert contact.first == "First1"
    assert s.is_modified(contact)


@responses.activate
def test_a_read_only_session_upgrades_in_memory_and_never_writes(client: CloudantV1) -> None:
    responses.add(responses.GET, f"{URL}/db/c00001", json=V1)
    responses.add(
        responses.GET,
        f"{URL}/db/nope",
        status=404,
        json={"error": "not_found", "reason": "missing"},
    )
    with Session(client, db="db", read_only=True) as s:
        contact = s.get(Contact, "c00001")
        assert contact is not None
        assert contact.first == "First1"
        assert not s.is_modified(contact)
        assert s.dirty == []
        with pytest.raises(SessionError, match="read-only"):
            s.add(Contact(first="a", last="b", phones=[]))
        with pytest.raises(SessionError, match="read-only"):
            s.delete(contact)
        with pytest.raises(SessionError, match="read-only"):
            s.get_or_create(Contact, "nope", {"first": "a", "last": "b", "phones": []})
        contact.last = "changed"
        with pytest.raises(SessionError, match="read-only: it can't write Contact 'c00001'"):
            s.flush()
        s.rollback()
    assert [c.request.method for c in responses.calls] == ["GET", "GET"]


def test_migrate_through_a_read_only_session_is_refused_before_any_request(
    client: CloudantV1,
) -> None:
    from cloudant_odm import migrate

    with responses.RequestsMock() as mock:  # nothing may be sent
        with pytest.raises(SessionError, match="read-only: it can't migrate documents"):
            migrate(Session(client, db="db", read_only=True), None, [Contact])
        assert len(mock.calls) == 0


def test_a_step_named_as_a_field_is_refused_naming_both() -> None:
    with pytest.raises(DocumentDefinitionError, match="has the name of the field 'city'"):

        class Place(Document, db="places"):
            city: str

            class Meta:
                schema_version = 2

            @migration(1)
            def city(doc: dict[str, Any]) -> dict[str, Any]:
                return doc


@responses.activate
def test_a_partial_page_drops_an_older_document_deleted_before_it_is_read_whole(
    client: CloudantV1,
) -> None:
    from cloudant_odm.query.loading import load_partials

    partial = [
        {"_id": "c00001", "type": "mig-contact", "last": None},  # version 1: read whole
        {"_id": "c00005", "type": "mig-contact", "last": None},  # deleted meanwhile
        {k: V3[k] for k in ("_id", "type", "schema_version", "last")},
    ]
    deleted = {"id": "c00005", "key": "c00005", "value": {"rev": "2-x", "deleted": True}}
    whole = {"id": "c00001", "key": "c00001", "value": {"rev": "1-a"}, "doc": V1}
    responses.post(f"{URL}/db/_all_docs", json={"rows": [whole, {**deleted, "doc": None}]})
    loaded = load_partials(Contact, Session(client, db="db"), "db", partial, ["last"])
    assert [c.id for c in loaded] == ["c00001", V3["_id"]]
    assert loaded[0].last == "Last1"


def test_a_read_only_session_stays_read_only(client: CloudantV1) -> None:
    s = Session(client, db="db", read_only=True)
    with pytest.raises(AttributeError):
        s.read_only = False  # type: ignore[misc]
    assert s.read_only

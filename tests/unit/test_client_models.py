"""Unit tests for cloudant_odm.client.models: typed request/response models."""

from __future__ import annotations

import base64
import copy
import datetime
import json
import pickle
import typing
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import cloudant_odm.client.models as models
from cloudant_odm._typing import union_members
from cloudant_odm.client.models import (
    AllDocsResult,
    Analyzer,
    AnalyzerConfiguration,
    Attachment,
    BulkDocs,
    BulkGetQueryDocument,
    BulkGetResult,
    ChangesResult,
    ChangesResultItem,
    DatabaseInformation,
    DesignDocument,
    DesignDocumentOptions,
    DesignDocumentViewsMapReduce,
    DocsResultRow,
    DocsResultRowValue,
    Document,
    DocumentResult,
    ExecutionStats,
    FindResult,
    IndexDefinition,
    IndexField,
    Model,
    OpenModel,
    ReplicationDatabase,
    ReplicationDatabaseAuth,
    ReplicationDatabaseAuthBasic,
    ReplicationDatabaseAuthIam,
    ReplicationDocument,
    Revisions,
    SearchIndexDefinition,
    SearchResult,
    Security,
    SecurityObject,
    ServerInformation,
    ServerVendor,
    SessionInformation,
    ViewResult,
    ViewResultRow,
    convert_model,
)
from cloudant_odm.client.models import __all__ as public_names

# -- Document: id / _id mapping ---------------------------------------------------------


def test_document_id_keyword_maps_to_underscore_id() -> None:
    # The SDK's README example: Document(id=...) must set _id, not a field called "id".
    doc = Document(id="example", name="Bob")
    assert doc.to_dict() == {"_id": "example", "name": "Bob"}
    doc.rev = "1-abc"
    assert doc.to_dict() == {"_id": "example", "_rev": "1-abc", "name": "Bob"}


def test_document_underscore_names_are_aliases() -> None:
    doc = Document(_id="x", _rev="1-a", _deleted=True)
    assert (doc.id, doc.rev, doc.deleted) == ("x", "1-a", True)
    assert doc._id == "x"
    doc._rev = "2-b"
    assert doc.rev == "2-b"
    assert doc.get_properties() == {}
    assert doc.to_dict() == {"_id": "x", "_rev": "2-b", "_deleted": True}
    assert doc == Document(id="x", rev="2-b", deleted=True)


def test_document_id_given_twice_is_an_error() -> None:
    with pytest.raises(TypeError, match="multiple values for 'id'"):
        Document(id="a", _id="b")


def test_document_takes_no_positional_arguments() -> None:
    with pytest.raises(TypeError, match="positional"):
        Document("a")


def test_document_free_form_fields_as_attributes() -> None:
    doc = Document(id="a", name="Bob", nothing=None)
    assert doc.name == "Bob"
    assert doc.nothing is None
    doc.age = 42
    doc._private = "kept"
    assert doc.get_properties() == {"name": "Bob", "nothing": None, "age": 42, "_private": "kept"}
    del doc.age
    assert "age" not in doc.to_dict()
    with pytest.raises(AttributeError, match="missing"):
        _ = doc.missing
    assert not hasattr(doc, "missing")
    assert doc.to_dict() == {"_id": "a", "name": "Bob", "nothing": None, "_private": "kept"}


def test_document_set_properties_replaces_free_form_fields() -> None:
    doc = Document(id="a", name="Bob")
    doc.set_properties({"colour": "red", "id": "user-field"})
    assert doc.to_dict() == {"_id": "a", "colour": "red", "id": "user-field"}
    assert doc.id == "a"
    with pytest.raises(ValueError, match="'_rev' cannot be specified"):
        doc.set_properties({"_rev": "1-a"})


def test_document_from_dict_keeps_unknown_underscore_and_none_values() -> None:
    data = {
        "_id": "a",
        "_rev": "1-x",
        "type": None,
        "_unknown": {"nested": [1, 2, None]},
        "id": "a field called id",
        "rev": 7,
    }
    doc = Document.from_dict(data)
    assert doc.id == "a"
    assert doc.rev == "1-x"
    assert doc.get_properties() == {
        "type": None,
        "_unknown": {"nested": [1, 2, None]},
        "id": "a field called id",
        "rev": 7,
    }
    assert doc.to_dict() == data


def test_document_to_dict_copies_containers() -> None:
    doc = Document(id="a", tags=["x"])
    out = doc.to_dict()
    out["tags"].append("y")
    assert doc.tags == ["x"]


def test_document_metadata_fields_decode_to_models() -> None:
    data = {
        "_id": "a",
        "_revisions": {"ids": ["b", "a"], "start": 2},
        "_revs_info": [{"rev": "2-b", "status": "available"}],
        "_conflicts": ["2-c"],
        "_local_seq": 5,
    }
    doc = Document.from_dict(data)
    assert doc.revisions == Revisions(ids=["b", "a"], start=2)
    assert doc.revs_info is not None
    assert doc.revs_info[0].status == "available"
    assert doc.to_dict() == data


def test_document_equality_evolve_copy_and_pickle() -> None:
    doc = Document.from_dict({"_id": "a", "n": [1]})
    assert doc == Document(id="a", n=[1])
    assert doc != Document(id="a", n=[2])
    assert copy.deepcopy(doc) == doc
    assert pickle.loads(pickle.dumps(doc)) == doc
    newer = attrs.evolve(doc, rev="1-z")  # type: ignore[call-arg]
    assert newer.to_dict() == {"_id": "a", "_rev": "1-z", "n": [1]}


def test_str_is_pretty_json() -> None:
    doc = Document(id="a", n=1)
    assert str(doc) == json.dumps({"_id": "a", "n": 1}, indent=2)


# -- attachments ----------------------------------------------------------------------


def test_attachment_data_is_bytes_and_base64_in_json() -> None:
    payload = b"\x00\xffhello"
    encoded = base64.b64encode(payload).decode()
    doc = Document.from_dict(
        {"_id": "a", "_attachments": {"f.bin": {"content_type": "x/y", "data": encoded}}}
    )
    assert doc.attachments is not None
    att = doc.attachments["f.bin"]
    assert isinstance(att, Attachment)
    assert att.data == payload
    assert doc.to_dict()["_attachments"] == {"f.bin": {"content_type": "x/y", "data": encoded}}
    built = Document(
        id="b", attachments={"t.txt": Attachment(content_type="text/plain", data=b"hi")}
    )
    assert built.to_dict()["_attachments"]["t.txt"]["data"] == "aGk="


def test_attachment_stub_round_trip() -> None:
    stub = {"content_type": "text/plain", "digest": "md5-x", "length": 3, "revpos": 1, "stub": True}
    assert Attachment.from_dict(stub).to_dict() == stub


def test_attachment_bad_base64_names_the_key() -> None:
    with pytest.raises(ValueError, match="'data' in Attachment"):
        Attachment.from_dict({"data": "not base64!"})
    with pytest.raises(ValueError, match="'_attachments' in Document"):
        Document.from_dict({"_attachments": {"a": {"data": 5}}})


# -- generic rules ----------------------------------------------------------------------


def test_required_key_missing_names_key_and_model() -> None:
    with pytest.raises(ValueError, match="Required property 'id' not present in DocumentResult"):
        DocumentResult.from_dict({"ok": True})
    with pytest.raises(ValueError, match="'seq' not present in ChangesResultItem"):
        ChangesResultItem.from_dict({"changes": [], "id": "a"})
    # null where null is not allowed counts as absent
    with pytest.raises(ValueError, match="'id' not present"):
        DocumentResult.from_dict({"id": None})


def test_nested_required_key_error_names_outer_property() -> None:
    with pytest.raises(ValueError, match="'rows' in AllDocsResult") as info:
        AllDocsResult.from_dict({"total_rows": 1, "rows": [{"id": "a"}]})
    assert "'key' not present in DocsResultRow" in str(info.value)


def test_from_dict_rejects_non_objects() -> None:
    with pytest.raises(ValueError, match="must be an object"):
        Document.from_dict(["_id"])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="expected an array"):
        ChangesResult.from_dict({"last_seq": "1", "results": {"id": "a"}})


def test_closed_model_keeps_unknown_keys() -> None:
    data = {"id": "a", "rev": "1-a", "ok": True, "new_server_field": {"x": 1}}
    result = DocumentResult.from_dict(data)
    assert result == DocumentResult("a", rev="1-a", ok=True, _extra={"new_server_field": {"x": 1}})
    assert result.to_dict() == data


def test_none_fields_dropped_from_closed_models() -> None:
    assert DocumentResult("a", error="conflict").to_dict() == {"id": "a", "error": "conflict"}


def test_dicts_work_where_models_are_expected() -> None:
    ddoc = DesignDocument(id="_design/a", options={"partitioned": True})  # SDK issue #119
    assert ddoc.to_dict() == {"_id": "_design/a", "options": {"partitioned": True}}
    assert convert_model({"a": [Document(id="x")], "b": 1}) == {"a": [{"_id": "x"}], "b": 1}
    assert convert_model(Document(id="x")) == {"_id": "x"}


# -- every model: Model(**m.__dict__), as SDK users (and its tests) write ----------------

MODEL_CLASSES = list(
    dict.fromkeys(  # SessionAuthenticationInfo is SessionAuthentication
        cls
        for cls in (getattr(models, name) for name in public_names)
        if isinstance(cls, type) and issubclass(cls, Model) and cls not in (Model, OpenModel)
    )
)


def _sample(tp: Any) -> Any:
    """A Python value of annotation ``tp``: a model is built with every field filled."""
    members = union_members(tp)
    if members is not None:
        return _sample(members[0])
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is list:
        return [_sample(args[0])]
    if origin is dict:
        return {"k": _sample(args[1])}
    if isinstance(tp, type) and issubclass(tp, Model):
        return _full_instance(tp)
    samples: dict[Any, Any] = {
        str: "s",
        int: 7,
        bool: True,
        float: 1.5,
        bytes: b"\x00data",
        datetime.datetime: datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc),
    }
    return samples.get(tp, {"any": ["json", 1]})


def _full_instance(cls: type[Model]) -> Any:
    hints = typing.get_type_hints(cls)
    values = {a.name: _sample(hints[a.name]) for a in attrs.fields(cls) if a.name != "_extra"}
    return cls(**values)


@pytest.mark.parametrize("cls", MODEL_CLASSES, ids=lambda c: c.__name__)
def test_model_rebuilt_from_its_dict_equals_it(cls: type[Model]) -> None:
    full = _full_instance(cls)
    data = {**full.to_dict(), "x-newer-server": {"kept": [1, None]}}
    model = cls.from_dict(data)
    assert model == cls.from_dict(data)
    rebuilt = cls(**model.__dict__)  # models are not slotted: SDK code does this
    assert rebuilt == model
    assert rebuilt.to_dict() == data  # the unknown key survives the trip through __dict__
    assert cls.from_dict(full.to_dict()) == full


def test_model_dict_holds_fields_by_attribute_name() -> None:
    doc = Document.from_dict({"_id": "a", "_rev": "1-x", "colour": "red"})
    assert doc.__dict__ == {
        **dict.fromkeys(a.name for a in attrs.fields(Document)),
        "id": "a",
        "rev": "1-x",
        "_extra": {"colour": "red"},
    }
    assert Document(**doc.__dict__).colour == "red"


def test_the_model_set_is_the_sdks() -> None:
    assert len(MODEL_CLASSES) == 107  # the SDK's model classes, no more, no fewer


@pytest.mark.parametrize("cls", MODEL_CLASSES, ids=lambda c: c.__name__)
def test_an_empty_object_reads_or_names_a_required_key(cls: type[Model]) -> None:
    refused: ValueError | None = None
    try:
        obj = cls.from_dict({})
    except ValueError as exc:
        refused = exc
    if refused is not None:
        assert f"not present in {cls.__name__} JSON" in str(refused)
        return
    nulls = {key: None for key, value in obj.to_dict().items() if value is None}
    assert obj.to_dict() == nulls  # only nullable fields are written, as null
    assert cls.from_dict(nulls) == obj


# -- bulk --------------------------------------------------------------------------------


def test_bulk_docs_mixes_models_and_dicts() -> None:
    body = BulkDocs([Document(id="a", n=1), {"_id": "b", "_deleted": True}], new_edits=False)
    expected = {"docs": [{"_id": "a", "n": 1}, {"_id": "b", "_deleted": True}], "new_edits": False}
    assert body.to_dict() == expected
    parsed = BulkDocs.from_dict(expected)
    assert all(isinstance(d, Document) for d in parsed.docs)
    assert parsed.to_dict() == expected


def test_bulk_get_query_and_result() -> None:
    assert BulkGetQueryDocument("a", rev="1-x").to_dict() == {"id": "a", "rev": "1-x"}
    data = {
        "results": [
            {
                "id": "a",
                "docs": [
                    {"ok": {"_id": "a", "_rev": "1-x", "v": 1}},
                    {"error": {"id": "a", "rev": "9-z", "error": "not_found", "reason": "missing"}},
                ],
            }
        ]
    }
    result = BulkGetResult.from_dict(data)
    item = result.results[0]
    assert item.docs[0].ok == {"_id": "a", "_rev": "1-x", "v": 1}
    assert item.docs[1].error == DocumentResult("a", rev="9-z", error="not_found", reason="missing")
    assert result.to_dict() == data


# -- design documents and indexes ------------------------------------------------------


def test_design_document_round_trip_with_nested_models_and_extras() -> None:
    data = {
        "_id": "_design/app",
        "_rev": "3-a",
        "language": "javascript",
        "autoupdate": False,
        "options": {"partitioned": False},
        "views": {
            "by_name": {"map": "function (doc) { emit(doc.name, 1); }", "reduce": "_count"},
            "mango": {"map": {"fields": {"a": "asc"}}, "options": {"def": {"fields": ["a"]}}},
        },
        "indexes": {
            "simple": {"index": "function (doc) { index('n', doc.n); }", "analyzer": "standard"},
            "perfield": {
                "index": "function (doc) { index('default', doc.t); }",
                "analyzer": {
                    "name": "perfield",
                    "default": "english",
                    "fields": {"es": "spanish", "x": {"name": "standard", "stopwords": ["a"]}},
                },
            },
        },
        "filters": {"important": "function (doc, req) { return doc.important; }"},
        "validate_doc_update": "function (n, o, u) {}",
        "shows": {"s": "function (doc, req) {}"},
        "updates": {"u": "function (doc, req) {}"},
    }
    ddoc = DesignDocument.from_dict(data)
    assert isinstance(ddoc, Document)
    assert ddoc.id == "_design/app"
    assert ddoc.options == DesignDocumentOptions(partitioned=False)
    assert ddoc.views is not None
    assert ddoc.views["by_name"] == DesignDocumentViewsMapReduce(
        "function (doc) { emit(doc.name, 1); }", reduce="_count"
    )
    mango = ddoc.views["mango"]
    assert mango.map == {"fields": {"a": "asc"}}
    assert mango._extra == {"options": {"def": {"fields": ["a"]}}}
    assert ddoc.indexes is not None
    perfield = ddoc.indexes["perfield"].analyzer
    assert isinstance(perfield, AnalyzerConfiguration)
    assert perfield.default == "english"
    assert perfield.fields is not None
    assert perfield.fields["x"] == Analyzer("standard", stopwords=["a"])
    assert ddoc.indexes["simple"].analyzer == "standard"
    assert ddoc.shows == {"s": "function (doc, req) {}"}
    assert ddoc.get_properties() == {"shows": data["shows"], "updates": data["updates"]}
    assert ddoc.to_dict() == data


def test_design_document_built_from_models() -> None:
    ddoc = DesignDocument(
        id="_design/s",
        views={"v": DesignDocumentViewsMapReduce("function (doc) { emit(doc._id); }")},
        indexes={
            "i": SearchIndexDefinition(
                "function (doc) { index('a', doc.a); }",
                analyzer=AnalyzerConfiguration(
                    "perfield", default=Analyzer("english"), fields={"b": "keyword"}
                ),
            )
        },
        options=DesignDocumentOptions(partitioned=True),
        lists={"l": "function (head, req) {}"},
    )
    assert ddoc.to_dict() == {
        "_id": "_design/s",
        "indexes": {
            "i": {
                "index": "function (doc) { index('a', doc.a); }",
                "analyzer": {
                    "name": "perfield",
                    "default": {"name": "english"},
                    "fields": {"b": "keyword"},
                },
            }
        },
        "options": {"partitioned": True},
        "views": {"v": {"map": "function (doc) { emit(doc._id); }"}},
        "lists": {"l": "function (head, req) {}"},
    }


def test_index_field_serialises_as_field_to_direction() -> None:
    assert IndexField("created", "asc").to_dict() == {"created": "asc"}
    assert IndexField(name="name", type="desc").to_dict() == {"name": "desc"}
    assert IndexField(email="asc").to_dict() == {"email": "asc"}  # the SDK's extras form
    # a text index field keeps the {"name", "type"} form
    assert IndexField("address", "string").to_dict() == {"name": "address", "type": "string"}


def test_index_field_from_dict_reads_both_forms() -> None:
    sort = IndexField.from_dict({"created": "desc"})
    assert (sort.name, sort.type) == ("created", "desc")
    text = IndexField.from_dict({"name": "address", "type": "string"})
    assert (text.name, text.type) == ("address", "string")
    assert IndexField.from_dict({"name": "asc"}).to_dict() == {"name": "asc"}
    odd = {"a": "asc", "b": "desc"}
    assert IndexField.from_dict(odd).to_dict() == odd


def test_index_definition_round_trip() -> None:
    data = {
        "fields": ["plain", {"created": "asc"}, {"name": "title", "type": "string"}],
        "partial_filter_selector": {"type": {"$eq": "order"}},
        "default_analyzer": "keyword",
        "default_field": {"enabled": True, "analyzer": "standard"},
        "index_array_lengths": False,
    }
    index = IndexDefinition.from_dict(data)
    assert index.fields is not None
    assert index.fields[0] == "plain"
    assert isinstance(index.fields[1], IndexField)
    assert index.fields[1].name == "created"
    assert index.to_dict() == data
    assert IndexDefinition([IndexField("a", "asc"), "b"]).to_dict() == {
        "fields": [{"a": "asc"}, "b"]
    }
    assert IndexDefinition.from_dict({}).to_dict() == {}  # a text index on all fields


# -- replication and security -------------------------------------------------------------


def test_replication_database_headers_underscore_maps_to_headers() -> None:
    db = ReplicationDatabase("https://h/db", headers_={"X-A": "1"})
    assert db.to_dict() == {"url": "https://h/db", "headers": {"X-A": "1"}}
    parsed = ReplicationDatabase.from_dict({"url": "u", "headers": {"X-B": "2"}})
    assert parsed.headers_ == {"X-B": "2"}
    assert parsed._extra == {}
    with pytest.raises(TypeError):
        ReplicationDatabase("u", headers={"X": "1"})  # type: ignore[call-arg]


def test_replication_document_round_trip() -> None:
    doc = ReplicationDocument(
        ReplicationDatabase(
            "https://a/src",
            auth=ReplicationDatabaseAuth(iam=ReplicationDatabaseAuthIam("key")),
        ),
        ReplicationDatabase(
            "https://b/tgt",
            auth=ReplicationDatabaseAuth(
                basic=ReplicationDatabaseAuthBasic(password="p", username="u")
            ),
        ),
        id="rep1",
        continuous=True,
        selector={"type": "order"},
        note="free-form",
    )
    data = doc.to_dict()
    assert data == {
        "_id": "rep1",
        "source": {"url": "https://a/src", "auth": {"iam": {"api_key": "key"}}},
        "target": {"url": "https://b/tgt", "auth": {"basic": {"username": "u", "password": "p"}}},
        "continuous": True,
        "selector": {"type": "order"},
        "note": "free-form",
    }
    assert ReplicationDocument.from_dict(data) == doc
    with pytest.raises(ValueError, match="'target' not present in ReplicationDocument"):
        ReplicationDocument.from_dict({"source": "https://a/src"})


def test_replication_document_accepts_url_strings() -> None:
    data = {
        "_id": "r",
        "source": "https://a/src",
        "target": "https://b/tgt",
        "_replication_state": "x",
    }
    doc = ReplicationDocument.from_dict(data)
    assert doc.source == "https://a/src"
    assert doc._replication_state == "x"
    assert doc.to_dict() == data
    assert ReplicationDocument(source="s", target="t").to_dict() == {"source": "s", "target": "t"}


def test_security_round_trip() -> None:
    sec = Security(
        admins=SecurityObject(names=["admin"]),
        members=SecurityObject(roles=["reader"]),
        cloudant={"nobody": ["_reader"]},
    )
    data = {
        "admins": {"names": ["admin"]},
        "members": {"roles": ["reader"]},
        "cloudant": {"nobody": ["_reader"]},
    }
    assert sec.to_dict() == data
    assert Security.from_dict(data) == sec


# -- results ----------------------------------------------------------------------------


def test_changes_result_round_trip_with_null_seq() -> None:
    data = {
        "results": [
            {"seq": None, "id": "a", "changes": [{"rev": "1-a"}]},
            {
                "seq": "2-g1A",
                "id": "b",
                "changes": [{"rev": "2-b"}],
                "deleted": True,
                "doc": {"_id": "b", "_rev": "2-b", "_deleted": True},
            },
        ],
        "last_seq": "2-g1A",
        "pending": 0,
    }
    result = ChangesResult.from_dict(data)
    first, second = result.results
    assert first.seq is None
    assert first.changes[0].rev == "1-a"
    assert second.deleted is True
    assert second.doc == {"_id": "b", "_rev": "2-b", "_deleted": True}
    assert result.to_dict() == data
    assert ChangesResultItem([], "x", None).to_dict() == {"changes": [], "id": "x", "seq": None}


def test_changes_result_without_pending() -> None:
    # PouchDB sends no "pending"
    data = {"results": [], "last_seq": 3}
    assert ChangesResult.from_dict(data).to_dict() == data


def test_all_docs_result() -> None:
    data = {
        "total_rows": 2,
        "offset": 0,
        "rows": [
            {"id": "a", "key": "a", "value": {"rev": "1-a"}, "doc": {"_id": "a", "_rev": "1-a"}},
            {"key": "gone", "error": "not_found"},
            {"id": "d", "key": "d", "value": {"rev": "2-d", "deleted": True}},
        ],
    }
    result = AllDocsResult.from_dict(data)
    assert result.rows[0].value == DocsResultRowValue("1-a")
    assert result.rows[1] == DocsResultRow("gone", error="not_found")
    assert result.rows[2].value is not None
    assert result.rows[2].value.deleted is True
    assert result.to_dict() == data


def test_view_row_null_key_and_value_round_trip() -> None:
    reduce_row = {"key": None, "value": None}
    row = ViewResultRow.from_dict(reduce_row)
    assert row.key is None
    assert row.value is None
    assert row.to_dict() == reduce_row
    assert ViewResultRow(None, 3).to_dict() == {"key": None, "value": 3}
    # an error row has no value: read as None (as the SDK reads it), written back as null
    error_row = ViewResultRow.from_dict({"key": "k", "error": "not_found"})
    assert error_row.value is None
    assert error_row.to_dict() == {"key": "k", "value": None, "error": "not_found"}


def test_view_result_round_trip() -> None:
    data = {
        "total_rows": 2,
        "offset": 0,
        "rows": [
            {"id": "a", "key": ["x", 1], "value": {"n": 1}},
            {"id": "b", "key": None, "value": 2, "doc": {"_id": "b"}},
        ],
    }
    result = ViewResult.from_dict(data)
    assert result.rows[0].key == ["x", 1]
    assert result.total_rows == 2
    assert result.to_dict() == data
    reduced = {"rows": [{"key": None, "value": 42}]}
    assert ViewResult.from_dict(reduced).to_dict() == reduced


def test_find_result() -> None:
    data = {
        "docs": [{"_id": "a", "n": 1}],
        "bookmark": "g1",
        "warning": "no matching index found",
        "execution_stats": {
            "total_keys_examined": 0,
            "total_docs_examined": 3,
            "total_quorum_docs_examined": 0,
            "results_returned": 1,
            "execution_time_ms": 5.1,
        },
    }
    result = FindResult.from_dict(data)
    assert isinstance(result.execution_stats, ExecutionStats)
    assert result.execution_stats.total_docs_examined == 3
    assert result.docs == [{"_id": "a", "n": 1}]
    assert result.to_dict() == data


def test_search_result_plain_and_grouped() -> None:
    plain = {
        "total_rows": 1,
        "bookmark": "g2",
        "rows": [
            {
                "id": "a",
                "order": [1.0, 0],
                "fields": {"name": "bob"},
                "highlights": {"name": ["<em>bob</em>"]},
            }
        ],
        "counts": {"type": {"order": 1}},
    }
    result = SearchResult.from_dict(plain)
    assert result.rows is not None
    assert result.rows[0].fields == {"name": "bob"}
    assert result.to_dict() == plain
    grouped = {
        "total_rows": 1,
        "groups": [{"by": "x", "total_rows": 1, "rows": [{"id": "a", "order": [1], "fields": {}}]}],
    }
    parsed = SearchResult.from_dict(grouped)
    assert parsed.rows is None
    assert parsed.groups is not None
    assert parsed.groups[0].rows is not None
    assert parsed.groups[0].rows[0].id == "a"
    assert parsed.to_dict() == grouped


def test_database_information_couchdb_and_pouchdb_shapes() -> None:
    couch = {
        "db_name": "orders",
        "purge_seq": "0-g1",
        "update_seq": "5-g1",
        "sizes": {"file": 100, "external": 10, "active": 50},
        "props": {"partitioned": True},
        "doc_del_count": 0,
        "doc_count": 5,
        "disk_format_version": 8,
        "compact_running": False,
        "cluster": {"q": 2, "n": 1, "w": 1, "r": 1},
        "instance_start_time": "0",
    }
    info = DatabaseInformation.from_dict(couch)
    assert info.sizes is not None
    assert info.sizes.active == 50
    assert info.props is not None
    assert info.props.partitioned is True
    assert info.to_dict() == couch
    pouch = {"db_name": "orders", "doc_count": 0, "update_seq": 0, "backend_adapter": "MemDOWN"}
    assert DatabaseInformation.from_dict(pouch).to_dict() == pouch
    with pytest.raises(ValueError, match="'db_name' not present in DatabaseInformation"):
        DatabaseInformation.from_dict({"doc_count": 1})


def test_server_information_couchdb_and_pouchdb_shapes() -> None:
    couch = {
        "couchdb": "Welcome",
        "version": "3.3.3",
        "git_sha": "40afbcfc7",
        "uuid": "u",
        "features": ["access-ready", "partitioned"],
        "vendor": {"name": "The Apache Software Foundation"},
    }
    info = ServerInformation.from_dict(couch)
    assert info.vendor == ServerVendor("The Apache Software Foundation")
    assert info.features == ["access-ready", "partitioned"]
    assert info.to_dict() == couch
    pouch = {"express-pouchdb": "Welcome!", "version": "4.2.0"}
    assert ServerInformation.from_dict(pouch).to_dict() == pouch
    vendor = ServerVendor.from_dict({"name": "IBM", "variant": "paas", "extra_field": 1})
    assert vendor.extra_field == 1


def test_session_information_user_ctx() -> None:
    data = {
        "ok": True,
        "userCtx": {"name": None, "roles": []},
        "info": {"authentication_handlers": ["cookie", "default"]},
    }
    session = SessionInformation.from_dict(data)
    assert session.user_ctx is not None
    assert session.user_ctx.name is None
    assert session.to_dict() == data


# -- property test -----------------------------------------------------------------------

METADATA_KEYS = {
    "_id",
    "_rev",
    "_attachments",
    "_conflicts",
    "_deleted",
    "_deleted_conflicts",
    "_local_seq",
    "_revisions",
    "_revs_info",
}

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
attachments = st.fixed_dictionaries(
    {},
    optional={
        "content_type": st.text(),
        "data": st.binary(max_size=20).map(lambda b: base64.b64encode(b).decode()),
        "digest": st.text(),
        "length": st.integers(min_value=0),
        "revpos": st.integers(min_value=1),
        "stub": st.booleans(),
    },
)
metadata = st.fixed_dictionaries(
    {},
    optional={
        "_id": st.text(min_size=1),
        "_rev": st.text(min_size=1),
        "_deleted": st.booleans(),
        "_conflicts": st.lists(st.text(), max_size=3),
        "_deleted_conflicts": st.lists(st.text(), max_size=3),
        "_local_seq": st.integers() | st.text(),
        "_attachments": st.dictionaries(st.text(), attachments, max_size=3),
        "_revisions": st.fixed_dictionaries(
            {"ids": st.lists(st.text(), max_size=3), "start": st.integers(min_value=0)}
        ),
        "_revs_info": st.lists(
            st.fixed_dictionaries(
                {"rev": st.text(), "status": st.sampled_from(["available", "missing"])}
            ),
            max_size=3,
        ),
    },
)
DESIGN_KEYS = {f.name for f in attrs.fields(DesignDocument)}
free_form = st.dictionaries(
    st.text().filter(lambda k: k not in METADATA_KEYS and k not in DESIGN_KEYS),
    json_values,
    max_size=6,
)
documents = st.builds(lambda meta, free: {**free, **meta}, metadata, free_form)


@given(documents)
def test_document_from_dict_to_dict_round_trip(data: dict[str, Any]) -> None:
    doc = Document.from_dict(data)
    assert doc.to_dict() == data
    assert Document.from_dict(doc.to_dict()) == doc
    assert json.loads(str(doc)) == json.loads(json.dumps(data))


@given(documents)
def test_design_document_round_trip_of_arbitrary_documents(data: dict[str, Any]) -> None:
    assert DesignDocument.from_dict(data).to_dict() == data


def test_design_document_refuses_a_misspelt_field_but_keeps_free_form_ones() -> None:
    from cloudant_odm.client import DesignDocument

    ddoc = DesignDocument(id="_design/app", views={}, shows={"s": "function(){}"}, lib={"x": 1})
    assert ddoc.to_dict() == {
        "_id": "_design/app",
        "views": {},
        "shows": {"s": "function(){}"},
        "lib": {"x": 1},
    }
    with pytest.raises(TypeError, match=r"no field 'viewz': did you mean 'views'\?"):
        DesignDocument(id="_design/app", viewz={"v": {"map": "function(d){}"}})
    with pytest.raises(TypeError, match="did you mean 'filters'"):
        ddoc.filtres = {}
    # Stored documents are read as they are, and set_properties() takes any name.
    assert DesignDocument.from_dict({"_id": "_design/x", "viewz": 1}).get_properties() == {
        "viewz": 1
    }
    ddoc.set_properties({"viewz": 2})
    assert ddoc.to_dict()["viewz"] == 2

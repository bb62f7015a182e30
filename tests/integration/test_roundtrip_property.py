"""The write-check promise, as properties against the server: a document of every kind of
declared field is stored and read back unchanged, and any value set on any field is
either refused before a request is sent or stored and read back unchanged."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from _samples import SAMPLE_FIELDS, Sample, any_values, samples
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cloudant_odm import DocumentValidationError, Session
from cloudant_odm.client import CloudantV1
from cloudant_odm.models import to_json
from cloudant_odm.session import _same_json as same_json

# Each example makes a request or two; the server's answer time is not the property.
SERVER_EXAMPLES = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def sent(client: CloudantV1, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every write request the client sends (database names)."""
    calls: list[str] = []
    for name in ("post_bulk_docs", "put_document", "post_document"):
        real = getattr(client, name)

        def recording(db: str, *args: Any, _real: Any = real, **kwargs: Any) -> Any:
            calls.append(db)
            return _real(db, *args, **kwargs)

        monkeypatch.setattr(client, name, recording)
    return calls


def has_key(value: Any, key: str) -> bool:
    if isinstance(value, dict):
        return key in value or any(has_key(v, key) for v in value.values())
    if isinstance(value, list):
        return any(has_key(v, key) for v in value)
    return False


def skip_pouchdb_gaps(doc: Sample, is_pouchdb: bool) -> None:
    # PouchDB Server (JavaScript) drops a "__proto__" key; CouchDB keeps it
    # (docs/compatibility.md).
    if is_pouchdb:
        try:
            body = to_json(doc)
        except DocumentValidationError:
            return
        assume(not has_key(body, "__proto__"))


def read_back(client: CloudantV1, db: str, doc: Sample) -> Sample:
    assert doc.id is not None
    again = Session(client, db=db).get(type(doc), doc.id)
    assert again is not None
    return again


@SERVER_EXAMPLES
@given(doc=samples)
def test_every_declared_field_type_round_trips_through_the_server(
    client: CloudantV1, db_name: str, is_pouchdb: bool, doc: Sample
) -> None:
    doc.id, doc.rev = uuid.uuid4().hex, None
    skip_pouchdb_gaps(doc, is_pouchdb)
    session = Session(client, db=db_name)
    session.add(doc)
    session.commit()
    again = read_back(client, db_name, doc)
    assert type(again) is type(doc)
    # Unknown keys hold untyped JSON, compared as JSON numbers compare: PouchDB Server
    # (JavaScript) writes a float beyond 2**53 as integer digits (docs/compatibility.md).
    assert same_json(again.extra, doc.extra)
    assert all(same_json(a.extra, b.extra) for a, b in zip(again.notes, doc.notes, strict=True))
    for note in (*again.notes, *doc.notes):
        note.extra = {}
    again.extra = doc.extra = {}
    assert again == doc


@SERVER_EXAMPLES
@given(doc=samples, name=st.sampled_from(SAMPLE_FIELDS), value=any_values)
def test_any_value_is_refused_before_sending_or_read_back_unchanged(
    client: CloudantV1,
    db_name: str,
    is_pouchdb: bool,
    sent: list[str],
    doc: Sample,
    name: str,
    value: Any,
) -> None:
    doc.id, doc.rev = uuid.uuid4().hex, None
    setattr(doc, name, value)
    skip_pouchdb_gaps(doc, is_pouchdb)
    session = Session(client, db=db_name)
    session.add(doc)
    before = len(sent)
    refused: DocumentValidationError | None = None
    try:
        session.commit()
    except DocumentValidationError as error:
        refused = error
    if refused is not None:
        assert len(sent) == before, f"refused ({refused}) after a request was sent"
        assert name in str(refused)
        return
    assert getattr(read_back(client, db_name, doc), name) == value

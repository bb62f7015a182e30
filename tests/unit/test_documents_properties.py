"""Property tests: a generated document survives save and load unchanged, unknown keys and all."""

import json
from typing import Any

from _samples import Sample, samples
from hypothesis import given
from hypothesis import strategies as st

from cloudant_odm.models import from_json, to_json


@given(samples)
def test_load_of_save_is_the_same_document(doc: Sample) -> None:
    again = from_json(to_json(doc))
    assert type(again) is type(doc)
    assert again == doc
    assert again.extra == doc.extra
    assert [n.extra for n in again.notes] == [n.extra for n in doc.notes]


@given(samples)
def test_survives_real_json_text(doc: Sample) -> None:
    body = to_json(doc)
    text = json.dumps(body, allow_nan=False)
    assert json.loads(text) == body  # only JSON types in the body
    again = from_json(json.loads(text), Sample)
    assert again == doc
    # Timezone offsets and microseconds are compared by the strings, not by instants.
    assert to_json(again) == body


@given(samples, st.dictionaries(st.sampled_from(["_conflicts", "_local_seq"]), st.just(["1-a"])))
def test_saving_a_loaded_document_writes_what_was_read(doc: Sample, meta: dict[str, Any]) -> None:
    data = json.loads(json.dumps(to_json(doc)))
    loaded = from_json({**data, **meta})
    assert to_json(loaded) == data

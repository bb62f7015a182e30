"""The compiled codecs (models/codecs.py) are shortcuts: on any value, what they give is
what the general path (to_json + canonical encoding, cattrs' loader) gives, or they
step aside and the general path answers (or refuses) as before."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any, get_args, get_origin

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudant_odm import Document, DocumentValidationError, field, migration
from cloudant_odm._typing import strip_optional
from cloudant_odm.client import encoding as _json
from cloudant_odm.models import conversion, from_json, to_json
from cloudant_odm.models.codecs import compile_encoder, compile_loader
from cloudant_odm.models.conversion import canonical_document


def _classes(suffix: str) -> tuple[type[Document], type[Document]]:
    """Two document classes of the common field kinds: one plain, one with renamed keys,
    a schema version and defaults (named apart per use, so each gets its own hooks)."""

    class Plain(Document, doc_type=f"codec_plain{suffix}"):
        name: str
        n: int
        price: float
        active: bool
        tags: list[str]
        scores: list[int]
        ratios: list[float]
        flags: list[bool]

    class Shaped(Document, doc_type=f"codec_shaped{suffix}", schema_version=2):
        @migration(1)
        @staticmethod
        def add_title(doc: dict[str, Any]) -> dict[str, Any]:
            return {"Title": "", **doc}

        title: str = field(key="Title")  # sorts before "_id"
        count: int | None = None
        weight: float | None = field(default=None, key="zz%s")
        note: str | None = None
        labels: list[str] = field(factory=list)
        done: bool = False

    for cls in (Plain, Shaped):
        attrs.resolve_types(cls)  # (annotations are strings in this module)
    return Plain, Shaped


@pytest.fixture(autouse=True)
def stdlib_json(monkeypatch: pytest.MonkeyPatch) -> None:
    # The general path's bytes are compared with the compiled ones: both the stdlib's.
    monkeypatch.setattr(_json, "_orjson", None)


@pytest.fixture(scope="module")
def compiled() -> tuple[type[Document], type[Document]]:
    return _classes("")


@pytest.fixture(scope="module")
def general() -> tuple[type[Document], type[Document]]:
    """The same classes with no compiled loader (defined and first loaded without)."""
    patch = pytest.MonkeyPatch()
    patch.setattr(conversion, "compile_loader", lambda cls: None)
    classes = _classes("_general")
    for cls in classes:
        conversion.converter.get_structure_hook(cls)
    patch.undo()
    return classes


def _general_bytes(doc: Document) -> tuple[bytes, str | None]:
    body = to_json(doc)
    rev = body.pop("_rev", None)
    return conversion.encode_body(body, doc.id), rev


# Values for any field: right ones, wrong ones and the edge cases of each type.
texts = st.text() | st.sampled_from(['"', "\\", "%s", "é\u2028", "\x00", "\ud800"])
numbers = (
    st.integers(min_value=-(2**60), max_value=2**60)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([2**53 - 1, 2**53, -(2**53) + 1, 5e-324, 1e300, 1e-300, -0.0, 1e16])
)
scalars = texts | numbers | st.booleans() | st.none()
values = scalars | st.lists(scalars, max_size=4) | st.tuples(st.text()) | st.just({"k": 1})
_OF_TYPE = {
    str: texts,
    int: st.integers(-(2**60), 2**60) | st.sampled_from([2**53 - 1, 2**53, -(2**53), True, 2.0]),
    float: st.floats() | st.sampled_from([5e-324, 1e-300, 1e300, -0.0, 1e16, 3, False]),
    bool: st.booleans() | st.sampled_from([0, 1]),
}


def _of_type(tp: Any) -> st.SearchStrategy[Any]:
    """Values meant for a field of type ``tp``, right and wrong ones near it."""
    bare = strip_optional(tp)
    if bare is not tp:  # X | None
        return st.none() | _of_type(bare)
    if get_origin(tp) is list:
        return st.lists(_of_type(get_args(tp)[0]), max_size=4)
    return _OF_TYPE[tp]


def _field_value(data: st.DataObject, attribute: attrs.Attribute[Any]) -> Any:
    # Mostly a value near the field's type (so the compiled path is taken), sometimes any.
    if data.draw(st.sampled_from(["typed"] * 15 + ["any"]), label="value") == "typed":
        return data.draw(_of_type(attribute.type), label=attribute.name)
    return data.draw(values, label=attribute.name)


def _build(cls: type[Document], data: dict[str, Any]) -> Document:
    """An object of ``cls`` holding ``data``'s values whatever their types (as code
    assigning attributes can leave it)."""
    obj = cls.__new__(cls)
    for attribute in attrs.fields(cls):
        default: Any = attribute.default
        value = data.get(attribute.name, attrs.NOTHING)
        if value is attrs.NOTHING:
            value = default.factory() if isinstance(default, attrs.Factory) else default  # type: ignore[arg-type]
        obj.__dict__[attribute.name] = value
    return obj


def _outcome(make: Any) -> Any:
    try:
        return ("ok", make())
    except (DocumentValidationError, ValueError, TypeError) as exc:
        return ("error", type(exc).__name__)


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_the_encoder_writes_what_the_general_path_writes(
    compiled: tuple[type[Document], type[Document]], data: st.DataObject
) -> None:
    cls = data.draw(st.sampled_from(compiled))
    fields = {
        a.name: _field_value(data, a)
        for a in attrs.fields(cls)
        if a.name not in ("id", "rev", "extra", "meta")
    }
    fields["id"] = data.draw(st.none() | st.text(min_size=1) | st.integers(), label="id")
    fields["rev"] = data.draw(st.none() | st.just("1-a") | st.integers(), label="rev")
    if data.draw(st.booleans(), label="with extra"):
        fields["extra"] = {"zextra": data.draw(scalars, label="extra value")}
    obj = _build(cls, fields)
    assert _outcome(lambda: canonical_document(obj)) == _outcome(lambda: _general_bytes(obj))


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_the_loader_gives_the_object_the_general_loader_gives(
    compiled: tuple[type[Document], type[Document]],
    general: tuple[type[Document], type[Document]],
    data: st.DataObject,
) -> None:
    index = data.draw(st.sampled_from([0, 1]))
    fast_cls, slow_cls = compiled[index], general[index]
    doc: dict[str, Any] = {}
    for attribute in attrs.fields(fast_cls):
        if attribute.name in ("id", "rev", "extra", "meta"):
            continue
        if data.draw(st.integers(0, 9), label=f"has {attribute.name}"):  # mostly present
            key = fast_cls._options.keys.get(attribute.name, attribute.name)
            doc[key] = _field_value(data, attribute)
    if data.draw(st.booleans(), label="has _id"):
        doc["_id"] = data.draw(st.text() | st.integers(), label="_id")
    if data.draw(st.booleans(), label="has _rev"):
        doc["_rev"] = data.draw(st.just("1-a") | st.none() | st.integers(), label="_rev")
    if data.draw(st.booleans(), label="unknown key"):
        doc["other"] = data.draw(values, label="other")

    def load(cls: type[Document]) -> Any:
        options = cls._options
        body = {**doc, options.type_field: options.doc_type}
        if options.schema_version is not None:
            body[options.schema_version_key] = options.schema_version
        obj = from_json(body, cls)
        # No list is the page's own: changing one in place must show as a change.
        given_lists = [id(v) for v in body.values() if isinstance(v, list)]
        assert not [v for v in vars(obj).values() if id(v) in given_lists]
        # Equal values of the same types, in the same order (1 == 1.0 == True).
        return [(k, type(v), v) for k, v in vars(obj).items()]

    assert _outcome(lambda: load(fast_cls)) == _outcome(lambda: load(slow_cls))


def test_the_compiled_codecs_handle_the_common_classes(
    compiled: tuple[type[Document], type[Document]],
) -> None:
    # Not vacuous: the property tests above compare something compiled.
    for cls in compiled:
        assert compile_encoder(cls) is not None
        assert compile_loader(cls) is not None


def test_a_class_with_another_field_type_keeps_the_general_path() -> None:
    class Priced(Document, doc_type="codec_priced"):
        price: Decimal

    conversion.converter.get_structure_hook(Priced)
    assert compile_encoder(Priced) is None
    assert compile_loader(Priced) is None
    obj = Priced(id="p", price=Decimal("1.5"))
    assert canonical_document(obj) == (b'{"_id":"p","price":1.5,"type":"codec_priced"}', None)


def test_a_validator_or_converter_is_run_on_load() -> None:
    class Checked(Document, doc_type="codec_checked"):
        n: int = field(validator=attrs.validators.ge(0))
        name: str = attrs.field(default="", converter=str.strip)

    loaded = from_json({"type": "codec_checked", "n": 1, "name": " a "}, Checked)
    assert loaded.name == "a"  # the converter ran
    with pytest.raises(DocumentValidationError, match="n"):
        from_json({"type": "codec_checked", "n": -1}, Checked)


def test_an_encoded_document_is_the_request_body_and_the_snapshot(
    compiled: tuple[type[Document], type[Document]],
) -> None:
    _, shaped = compiled
    obj = shaped(id="s1", rev="3-x", title="t%", weight=math.pi, labels=["b", "a"])
    core, rev = canonical_document(obj)
    assert rev == "3-x"
    assert json.loads(core) == {
        "_id": "s1",
        "Title": "t%",
        "count": None,
        "done": False,
        "labels": ["b", "a"],
        "note": None,
        "schema_version": 2,
        "type": shaped._options.doc_type,
        "zz%s": math.pi,
    }
    assert list(json.loads(core)) == sorted(json.loads(core))

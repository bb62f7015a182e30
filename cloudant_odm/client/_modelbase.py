"""The mechanism behind the client models (`cloudant_odm.client.models`): ``from_dict`` /
``to_dict`` read the attrs fields of a model class, its type annotations and the field
metadata that `meta` makes. The rules it implements are described in ``models``."""

from __future__ import annotations

import base64
import binascii
import datetime
import difflib
import json
import typing
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar, cast

import attrs

from cloudant_odm._typing import union_members
from cloudant_odm.client.encoding import datetime_to_string, string_to_datetime

__all__ = ["Model", "OpenModel", "convert_model", "meta"]

_M = TypeVar("_M", bound="Model")
_Codec = Callable[[Any], Any]

_KEY = "cloudant_odm.json_key"
_NULLABLE = "cloudant_odm.nullable"
_ABSENT_OK = "cloudant_odm.absent_ok"
_EXTRA = "_extra"


def meta(
    key: str | None = None, *, nullable: bool = False, absent_ok: bool = False
) -> dict[str, Any]:
    """attrs field metadata: the JSON key (if not the attribute name); *nullable*: written
    as JSON ``null`` when ``None``; *absent_ok*: a field the constructor requires (as the
    SDK's does) that ``from_dict`` reads as ``None`` when a server leaves it out."""
    data: dict[str, Any] = {_NULLABLE: nullable, _ABSENT_OK: absent_ok}
    if key is not None:
        data[_KEY] = key
    return data


# -- the generic mechanism ------------------------------------------------------------


@attrs.frozen
class _Prop:
    name: str  # attribute name
    alias: str  # __init__ parameter name
    key: str  # JSON key
    required: bool  # from_dict refuses JSON without it
    fill_none: bool  # from_dict passes None when the JSON has no value for it
    nullable: bool
    decode: _Codec | None  # None: the JSON value is kept as it is
    encode: _Codec


@attrs.frozen
class _Spec:
    props: tuple[_Prop, ...]
    by_key: Mapping[str, _Prop]  # JSON key -> field
    by_name: Mapping[str, _Prop]  # attribute name -> field


_SPECS: dict[type[Any], _Spec] = {}


def _spec(cls: type[Model]) -> _Spec:
    spec = _SPECS.get(cls)
    if spec is None:
        hints = typing.get_type_hints(cls)
        props = tuple(
            _Prop(
                name=a.name,
                alias=a.alias or a.name,
                key=a.metadata.get(_KEY, a.name),
                required=a.default is attrs.NOTHING and not a.metadata.get(_ABSENT_OK),
                fill_none=a.default is attrs.NOTHING and bool(a.metadata.get(_ABSENT_OK)),
                nullable=bool(a.metadata.get(_NULLABLE)),
                decode=_decoder(hints[a.name]),
                encode=_encoder(hints[a.name]),
            )
            for a in attrs.fields(cls)
            if a.name != _EXTRA
        )
        spec = _Spec(props, {p.key: p for p in props}, {p.name: p for p in props})
        _SPECS[cls] = spec
    return spec


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, Model)


def _non_none(tp: Any) -> list[Any]:
    members = union_members(tp)
    return [tp] if members is None else members


def _decoder(tp: Any) -> _Codec | None:
    """How to turn the JSON value of a field of type ``tp`` into its Python value."""
    options = _non_none(tp)
    if len(options) > 1:  # e.g. ``Analyzer | str``: a model when the JSON is an object
        models = [a for a in options if _is_model(a)]
        if not models:
            return None
        model = models[0]
        return lambda v: model.from_dict(v) if isinstance(v, Mapping) else v
    tp = options[0]
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if _is_model(tp):
        return lambda v: _load(tp, v)
    if tp is bytes:
        return _b64decode
    if tp is datetime.datetime:
        return string_to_datetime
    if origin is list:
        item = _decoder(args[0])
        if item is None:
            return None
        return lambda v: [item(x) for x in _expect(v, list, "an array")]
    if origin is dict:
        value = _decoder(args[1])
        if value is None:
            return None
        return lambda v: {k: value(x) for k, x in _expect(v, Mapping, "an object").items()}
    return None


def _encoder(tp: Any) -> _Codec:
    if _non_none(tp) == [bytes]:
        return lambda v: base64.b64encode(v).decode("ascii") if isinstance(v, bytes) else v
    if _non_none(tp) == [datetime.datetime]:
        return lambda v: datetime_to_string(v) if isinstance(v, datetime.datetime) else v
    return _to_json


def _expect(value: Any, kind: type[Any], what: str) -> Any:
    if not isinstance(value, kind):
        raise ValueError(f"expected {what}, got {type(value).__name__}")
    return value


def _load(model: type[Model], value: Any) -> Any:
    if isinstance(value, model):
        return value
    return model.from_dict(_expect(value, Mapping, "an object"))


def _b64decode(value: Any) -> bytes:
    try:
        return base64.b64decode(_expect(value, str, "a base64 string"), validate=True)
    except binascii.Error as exc:
        raise ValueError(f"invalid base64 data: {exc}") from exc


def _to_json(value: Any) -> Any:
    """Models become dicts, recursively, inside plain dicts and lists too."""
    if isinstance(value, Model):
        return value.to_dict()
    if isinstance(value, Mapping):
        return {k: _to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_json(v) for v in value]
    return value


def convert_model(value: Any) -> Any:
    """A body as JSON-ready data: a model's ``to_dict()``, a dict or list with the models
    inside it converted; anything else unchanged."""
    return _to_json(value)


@attrs.define(slots=False)
class Model:
    """Base of every model: ``from_dict``/``to_dict`` driven by the attrs fields."""

    _extra: dict[str, Any] = attrs.field(factory=dict, kw_only=True, alias="_extra")
    """JSON keys the model does not declare, kept as they came and written back."""

    @classmethod
    def from_dict(cls: type[_M], d: Mapping[str, Any]) -> _M:
        """Build the model from parsed JSON."""
        if not isinstance(d, Mapping):
            raise ValueError(f"{cls.__name__} JSON must be an object, not {type(d).__name__}")
        d = cls._prepare_json(d)
        spec = _spec(cls)
        values: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in d.items():
            prop = spec.by_key.get(key)
            if prop is None:
                extra[key] = value
            elif value is None:
                if prop.nullable:
                    values[prop.alias] = None
            elif prop.decode is None:
                values[prop.alias] = value
            else:
                try:
                    values[prop.alias] = prop.decode(value)
                except (ValueError, TypeError) as exc:
                    raise ValueError(
                        f"Property '{key}' in {cls.__name__} JSON is not valid: {exc}"
                    ) from exc
        for prop in spec.props:
            if prop.alias not in values:
                if prop.required:
                    raise ValueError(
                        f"Required property '{prop.key}' not present in {cls.__name__} JSON"
                    )
                if prop.fill_none:
                    values[prop.alias] = None
        return cls._build(values, extra)

    def to_dict(self) -> dict[str, Any]:
        """The model as JSON-ready data (``None`` fields left out unless nullable)."""
        out: dict[str, Any] = {}
        for prop in _spec(type(self)).props:
            value = getattr(self, prop.name)
            if value is not None:
                out[prop.key] = prop.encode(value)
            elif prop.nullable:
                out[prop.key] = None
        for key, value in self._extra.items():
            if key not in out:  # a declared field wins over a stray extra of the same key
                out[key] = _to_json(value)
        return out

    @classmethod
    def _from_dict(cls: type[_M], d: Mapping[str, Any]) -> _M:
        """Alias of `from_dict`, as the SDK has."""
        return cls.from_dict(d)

    def _to_dict(self) -> dict[str, Any]:
        """Alias of `to_dict`, as the SDK has."""
        return self.to_dict()

    def __str__(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def _prepare_json(cls, d: Mapping[str, Any]) -> Mapping[str, Any]:
        """Hook: reshape the JSON before the fields are read."""
        return d

    @classmethod
    def _build(cls: type[_M], values: dict[str, Any], extra: dict[str, Any]) -> _M:
        return cls(**values, _extra=extra)


@attrs.define(slots=False, init=False)
class OpenModel(Model):
    """A model that also holds free-form fields (JSON "additional properties").

    The constructor takes the declared fields by attribute name or by JSON key (``id=`` or
    ``_id=``) and every other keyword as a free-form field. Free-form fields read and write
    as attributes (``doc.name``) and through `get_properties` / `set_properties`. They are
    written by ``to_dict`` as they are, ``None`` included.
    """

    _positional: ClassVar[tuple[str, ...] | None] = None
    """Attribute names positional arguments fill; by default the required fields."""

    _refuse_near_misses: ClassVar[bool] = False
    """Refuse a free-form keyword or attribute spelt nearly as a declared field (``viewz``
    for ``views``), which the server would store under that name, the field left unset."""

    def _free_form(self, name: str) -> str:
        """``name`` as a free-form field, unless it looks like a misspelt declared one."""
        if self._refuse_near_misses:
            declared = [p.name for p in _spec(type(self)).props]
            close = difflib.get_close_matches(name, declared, n=1, cutoff=0.8)
            if close:
                raise TypeError(
                    f"{type(self).__name__} has no field {name!r}: did you mean "
                    f"{close[0]!r}? (set_properties() stores a free-form field of that name)"
                )
        return name

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        spec = _spec(type(self))
        positional = self._positional
        if positional is None:
            positional = tuple(p.name for p in spec.props if p.required)
        if len(args) > len(positional):
            raise TypeError(
                f"{type(self).__name__}() takes {len(positional)} positional arguments "
                f"but {len(args)} were given"
            )
        values = {
            spec.by_name[name].alias: arg for name, arg in zip(positional, args, strict=False)
        }
        extra: dict[str, Any] = dict(kwargs.pop(_EXTRA, None) or {})
        for key, value in kwargs.items():
            prop = spec.by_name.get(key) or spec.by_key.get(key)
            if prop is None:
                extra[self._free_form(key)] = value
            elif prop.alias in values:
                raise TypeError(f"{type(self).__name__}() got multiple values for {prop.name!r}")
            else:
                values[prop.alias] = value
        cast(Any, self).__attrs_init__(**values, _extra=extra)

    @classmethod
    def _build(cls: type[_M], values: dict[str, Any], extra: dict[str, Any]) -> _M:
        obj = cls.__new__(cls)
        cast(Any, obj).__attrs_init__(**values, _extra=extra)
        return obj

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: JSON-key aliases, then free-form fields.
        if not name.startswith("__"):
            prop = _spec(type(self)).by_key.get(name)
            if prop is not None and prop.name != name:
                return getattr(self, prop.name)
            try:
                extra = object.__getattribute__(self, _EXTRA)
            except AttributeError:
                pass
            else:
                if name in extra:
                    return extra[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        spec = _spec(type(self))
        if name in spec.by_name or name == _EXTRA or name.startswith("__"):
            object.__setattr__(self, name, value)
        elif name in spec.by_key:
            object.__setattr__(self, spec.by_key[name].name, value)
        else:
            self._extra[self._free_form(name)] = value

    def __delattr__(self, name: str) -> None:
        spec = _spec(type(self))
        if name in spec.by_name or name in spec.by_key:
            setattr(self, name, None)
        elif name in self._extra:
            del self._extra[name]
        else:
            object.__delattr__(self, name)

    def get_properties(self) -> dict[str, Any]:
        """The free-form fields, by JSON key."""
        return dict(self._extra)

    def set_properties(self, properties: Mapping[str, Any]) -> None:
        """Replace the free-form fields. Keys are JSON keys; declared ones are refused."""
        spec = _spec(type(self))
        for key in properties:
            if key in spec.by_key:
                raise ValueError(
                    f"Property '{key}' cannot be specified as an additional property "
                    f"of {type(self).__name__}"
                )
        object.__setattr__(self, _EXTRA, dict(properties))

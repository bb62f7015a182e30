"""JSON encoding for the layers above the client: documents on the hot path (the
session's snapshots and ``_bulk_docs`` bodies), and what JSON can't carry faithfully
(NaN, infinities, subnormal floats).

The standard library does it, unless `orjson <https://pypi.org/project/orjson/>`_ is
installed (it is never required): then orjson encodes, about twice as fast, and the
standard library takes over wherever the two would differ, so the JSON values are the
same either way. ``CLOUDANT_ODM_JSON=stdlib`` in the environment turns orjson off.

Responses are always read by the standard library: orjson reads integers beyond 64 bits
as floats, and telling such bodies apart (a regular expression over each response)
costs more than orjson saves.

- Writing: orjson writes NaN and infinities as ``null`` where the standard library
  (with ``allow_nan=False``) refuses them, and refuses integers beyond 64 bits,
  subclasses and types it doesn't know: those documents are encoded by the standard
  library, which raises for what JSON can't hold. (orjson still writes ``UUID`` and
  ``Enum`` values that the standard library refuses; documents never hold them after
  ``to_json``, except in values put into ``extra`` by hand.)
"""

from __future__ import annotations

import datetime
import importlib
import json
import math
import os
import re
import sys
from collections.abc import Callable
from typing import Any

__all__ = [
    "BACKEND",
    "MIN_NORMAL_FLOAT",
    "canonical",
    "datetime_to_string",
    "has_non_finite",
    "is_subnormal",
    "refuse_subnormal",
    "string_to_datetime",
]

#: The smallest normal double. Readers disagree below it (except at 0): CouchDB 3.4
#: stores 5e-324 as 0, PouchDB keeps it. Such a number is refused, never sent.
MIN_NORMAL_FLOAT = sys.float_info.min
# What every subnormal double prints as (and some normal ones and some strings): a
# cheap test of the encoded bytes, so that bodies are walked only when it matches.
_TINY_EXPONENT = re.compile(rb"[eE]-3(?:0[89]|[1-9][0-9])")


def _optional_orjson() -> Any:
    if os.environ.get("CLOUDANT_ODM_JSON", "").strip().lower() == "stdlib":
        return None
    try:  # imported by name: it is optional, so type checkers needn't know it
        return importlib.import_module("orjson")
    except ImportError:  # the default: the standard library
        return None


_orjson: Any = _optional_orjson()

#: Which library does the work: "orjson" or "json".
BACKEND = "orjson" if _orjson is not None else "json"
# Sorted keys; datetimes, dataclasses and subclasses of str/int/dict/list are left to
# the standard library (which writes subclasses as their base and refuses the rest).
_OPTIONS = (
    _orjson.OPT_SORT_KEYS
    | _orjson.OPT_PASSTHROUGH_DATETIME
    | _orjson.OPT_PASSTHROUGH_DATACLASS
    | _orjson.OPT_PASSTHROUGH_SUBCLASS
    if _orjson is not None
    else 0
)


def _stdlib_canonical() -> Callable[[Any], str]:
    """``json.dumps`` with sorted keys, compact separators, UTF-8 and no NaN, without
    building a new encoder per call: the C encoder itself when this Python has it (about
    twice as fast per small document), else a reused ``JSONEncoder``."""
    encoder = json.JSONEncoder(
        sort_keys=True,
        allow_nan=False,
        ensure_ascii=False,
        separators=(",", ":"),
        check_circular=False,  # a cycle raises RecursionError instead
    )
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is not None:
        try:
            c_encoder = make(
                None, encoder.default, json.encoder.encode_basestring, None,
                ":", ",", True, False, False,
            )  # fmt: skip
            if "".join(c_encoder({"b": [1.5, None], "a": "é"}, 0)) == '{"a":"é","b":[1.5,null]}':
                return lambda value: "".join(c_encoder(value, 0))
        except Exception:  # another signature: use the public API
            pass
    return encoder.encode


#: ``value`` as canonical JSON text, always by the standard library (what the compiled
#: codecs of cloudant_odm.models write beside their own inline values).
canonical_text = _stdlib_canonical()


def has_non_finite(value: Any) -> bool:
    """Whether a JSON-like value holds NaN or an infinity."""
    if value.__class__ is float:
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(has_non_finite(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(has_non_finite(v) for v in value)
    return isinstance(value, float) and not math.isfinite(value)


def is_subnormal(value: float) -> bool:
    """Whether ``value`` is a subnormal double (not 0, smaller than the smallest normal)."""
    return value != 0.0 and -MIN_NORMAL_FLOAT < value < MIN_NORMAL_FLOAT


def _subnormal_at(value: Any, path: str) -> str | None:
    if isinstance(value, float):
        return path if is_subnormal(value) else None
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = _subnormal_at(item, f"{path}[{key!r}]")
        if found is not None:
            return found
    return None


def refuse_subnormal(encoded: bytes) -> None:
    """Raise ``ValueError`` naming where, if the JSON ``encoded`` holds a subnormal
    number: the server could store another number than the one sent."""
    if _TINY_EXPONENT.search(encoded) is None:
        return
    where = _subnormal_at(json.loads(encoded), "")
    if where is not None:
        raise ValueError(
            f"The request body holds a subnormal float at {where or 'the top'} (below "
            f"{MIN_NORMAL_FLOAT!r} in size): CouchDB would store another number (it reads "
            "5e-324 as 0)"
        )


def canonical(value: Any) -> bytes:
    """``value`` as compact UTF-8 JSON with sorted keys. Raises ``ValueError`` (NaN,
    infinity), ``TypeError`` (a value JSON can't hold) or ``RecursionError`` (a cycle),
    as ``json.dumps(..., allow_nan=False)`` does."""
    if _orjson is not None:
        try:
            out: bytes = _orjson.dumps(value, option=_OPTIONS)
        except TypeError:
            pass  # a big integer, a subclass, another type: the standard library says
        else:
            if b"null" not in out or not has_non_finite(value):
                return out
    return canonical_text(value).encode()


# -- date-times, as the SDK's models carry them ---------------------------------------


def datetime_to_string(value: datetime.datetime) -> str:
    """ISO 8601 in UTC with a ``Z``; a naive date-time is taken to be UTC already."""
    if value.tzinfo is None:
        return value.isoformat() + "Z"
    return value.astimezone(datetime.timezone.utc).isoformat().replace("+00:00", "Z")


def string_to_datetime(text: str) -> datetime.datetime:
    """An ISO 8601 date-time (``Z`` or an offset; none means UTC) as an aware datetime."""
    if not isinstance(text, str):
        raise ValueError(f"expected an ISO 8601 date-time string, got {type(text).__name__}")
    # fromisoformat reads a final "Z" only from Python 3.11 on.
    parsed = datetime.datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=datetime.timezone.utc)

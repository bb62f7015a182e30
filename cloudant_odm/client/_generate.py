"""Writes ``_methods.py`` and ``aio/_methods.py``: a typed method for every operation in
``_catalogue.py``, for ``CloudantV1`` and, ``async``, for ``AsyncCloudantV1``.

    python -m cloudant_odm.client._generate           # rewrite both files
    python -m cloudant_odm.client._generate --check   # exit 1 if either is out of date

Each method has the operation's real signature (required parameters positionally, the
others keyword-only, ``**kwargs`` typed as ``RequestOptions``), with the types of
``PARAMETER_TYPES`` / ``TYPE_OVERRIDES``, and one line of body: it passes its arguments,
in ``parameters`` order, to the operation's ``request`` (an ``Op``'s or a ``Compound``'s)
and the request to the client's transport (``self._transport.call(...)``, awaited in the
async file). The two files differ only in that. The output is already ruff-formatted.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from cloudant_odm.client import _catalogue, enums, models
from cloudant_odm.client._operations import (
    Compound,
    FeedRequestOptions,
    Operation,
    RequestOptions,
)

__all__ = ["ASYNC", "COMMAND", "FLAVOURS", "SYNC", "Flavour", "main", "parameter_type", "render"]


class Flavour(NamedTuple):
    """One client's generated file: where it goes and what differs between the two."""

    target: Path
    client: str  # the class that inherits the methods
    mixin: str  # the generated class
    transport: tuple[str, str]  # the transport's module and class
    stream_result: str  # what a streamed operation's docstring says its result is
    is_async: bool


SYNC = Flavour(
    target=Path(__file__).with_name("_methods.py"),
    client="CloudantV1",
    mixin="Operations",
    transport=("cloudant_odm.client.transport", "Transport"),
    stream_result="The result is the unread ``requests.Response``: read or close it.",
    is_async=False,
)
ASYNC = Flavour(
    target=Path(__file__).parents[1] / "aio" / "_methods.py",
    client="AsyncCloudantV1",
    mixin="AsyncOperations",
    transport=("cloudant_odm.aio._transport", "AsyncTransport"),
    stream_result=(
        "The result is an unread ``AsyncStream``: iterate it (``async for``) and close it."
    ),
    is_async=True,
)
FLAVOURS = (SYNC, ASYNC)
COMMAND = "python -m cloudant_odm.client._generate"

_LINE = 100  # pyproject.toml's ruff line-length
_BUILTINS = frozenset({"None", "bool", "bytes", "dict", "float", "int", "list", "object", "str"})
_STDLIB = {
    "Any": "typing",
    "IO": "typing",
    "Mapping": "collections.abc",
    "Sequence": "collections.abc",
}
_NAME = re.compile(r"[A-Za-z_]\w*")
_VARIANT = re.compile(r"_as_(stream|mixed|related)$")


def parameter_type(op: Operation, name: str) -> str:
    """The type of ``op``'s parameter ``name``: its operation's override, else the
    catalogue's type for the name. A name without a type is an error, not ``Any``."""
    family = _VARIANT.sub("", op.name)
    override = _catalogue.TYPE_OVERRIDES.get(family, {})
    if name in override:
        return override[name]
    try:
        return _catalogue.PARAMETER_TYPES[name]
    except KeyError:
        raise LookupError(
            f"{op.name}: parameter {name!r} has no type in _catalogue.PARAMETER_TYPES"
        ) from None


def _options_type(op: Operation) -> str:
    """The ``**kwargs`` TypedDict: ``RequestOptions`` unless a parameter takes one of its
    names (``timeout`` of the feeds), which then belongs to the parameter."""
    shared = set(op.parameters) & set(RequestOptions.__annotations__)
    if not shared:
        return RequestOptions.__name__
    if shared == set(RequestOptions.__annotations__) - set(FeedRequestOptions.__annotations__):
        return FeedRequestOptions.__name__
    raise LookupError(f"{op.name}: parameters {sorted(shared)} clash with RequestOptions")


def _docstring(op: Operation, flavour: Flavour) -> list[str]:
    if isinstance(op, Compound):  # its route's own docstring
        first, *rest = op.doc.splitlines()
        lines = [f'        """{first}', *(f"        {line}" if line else "" for line in rest)]
        lines[-1] += '"""'
        return lines
    lines = [f"``{op.method} {op.path}``."]
    if op.accept not in (None, "application/json"):
        lines.append(f"Sent with ``Accept: {op.accept}``.")
    if op.stream:
        lines.append(flavour.stream_result)
    if len(lines) == 1:
        return [f'        """{lines[0]}"""']
    body = [f'        """{lines[0]}', ""] + [f"        {line}" for line in lines[1:]]
    return [*body, '        """']


_CLOSE = ("            )", "        )")


def _call(op: Operation, flavour: Flavour) -> list[str]:
    """``return [await ]self._transport.call(_c.<name>.request(kwargs, <parameters>))``,
    wrapped as ruff would."""
    args = ", ".join(("kwargs", *op.parameters))
    head = f"        return {'await ' if flavour.is_async else ''}self._transport.call("
    request = f"_c.{op.name}.request("
    if len(head) + len(request) + len(args) + 2 <= _LINE:
        return [f"{head}{request}{args}))"]
    if 12 + len(request) + len(args) + 1 <= _LINE:
        return [head, f"            {request}{args})", "        )"]
    if 16 + len(args) <= _LINE:
        return [head, f"            {request}", f"                {args}", *_CLOSE]
    return [
        head,
        f"            {request}",
        *(f"                {arg}," for arg in args.split(", ")),
        *_CLOSE,
    ]


def _method(op: Operation, flavour: Flavour) -> list[str]:
    define = "async def" if flavour.is_async else "def"
    lines = [f"    {define} {op.name}(", "        self,"]
    for name in op.required:
        lines.append(f"        {name}: {parameter_type(op, name)},")
    keywords = op.parameters[len(op.required) :]
    if keywords:
        lines.append("        *,")
    for name in keywords:
        lines.append(f"        {name}: {parameter_type(op, name)} | None = None,")
    lines.append(f"        **kwargs: Unpack[{_options_type(op)}],")
    lines.append("    ) -> DetailedResponse:")
    return lines + _docstring(op, flavour) + _call(op, flavour)


def _isort_key(name: str) -> tuple[int, str]:
    """isort's order by type: CONSTANTS, then Classes, then functions and modules."""
    if name.isupper() and len(name) > 1:
        return 0, name
    return (1 if name[:1].isupper() else 2), name


def _from_import(module: str, names: Sequence[str]) -> list[str]:
    names = sorted(names, key=_isort_key)
    line = f"from {module} import {', '.join(names)}"
    if len(line) <= _LINE:
        return [line]
    return [f"from {module} import (", *(f"    {name}," for name in names), ")"]


def _imports(annotations: Sequence[str], options: set[str], flavour: Flavour) -> list[str]:
    """The import block for the names the annotations use, grouped and sorted as ruff's
    isort does (standard library, third party, this package)."""
    by_module: dict[str, set[str]] = {}
    for annotation in annotations:
        for name in _NAME.findall(annotation):
            if name in _BUILTINS:
                continue
            if name in _STDLIB:
                module = _STDLIB[name]
            elif name in enums.__all__:
                module = enums.__name__
            elif name in models.__all__:
                module = models.__name__
            else:
                raise LookupError(f"type {annotation!r}: don't know where {name!r} comes from")
            by_module.setdefault(module, set()).add(name)
    stdlib = sorted(m for m in by_module if not m.startswith("cloudant_odm"))
    module, transport = flavour.transport
    ours = {
        "cloudant_odm.client": ["_catalogue as _c"],
        "cloudant_odm.client._operations": list(options),
        "cloudant_odm.client.transport": ["DetailedResponse"],
    }
    ours.setdefault(module, []).append(transport)
    ours.update({m: list(names) for m, names in by_module.items() if m not in stdlib})
    lines: list[str] = []
    for module in stdlib:
        lines += _from_import(module, list(by_module[module]))
    lines += ["", "from typing_extensions import Unpack", ""]
    for module in sorted(ours):
        lines += _from_import(module, ours[module])
    return lines


def render(flavour: Flavour = SYNC) -> str:
    """The text of ``flavour``'s file."""
    ops = list(_catalogue.OPERATIONS.values())
    methods: list[str] = []
    for op in ops:
        methods += ["", *_method(op, flavour)]
    annotations = [parameter_type(op, n) for op in ops for n in op.parameters]
    options = {_options_type(op) for op in ops}
    awaited = ", awaited," if flavour.is_async else ""
    header = [
        f"# Generated by `{COMMAND}` from _catalogue.py: don't edit.",
        f'"""The typed methods of ``{flavour.client}``\'s operations, one per catalogue entry.',
        "",
        "Each passes its arguments, in the catalogue's order, to the operation's request",
        "builder, ``Op.request`` or ``Compound.request`` (``client/_operations.py``), and the",
        f"request{awaited} to the client's transport.",
        '"""',
        "",
        *_imports(annotations, options, flavour),
        "",
        f'__all__ = ["{flavour.mixin}"]',
        "",
        "",
        f"class {flavour.mixin}:",
        f'    """The catalogue\'s operations as methods; ``{flavour.client}`` inherits them."""',
        "",
        f"    _transport: {flavour.transport[1]}",
    ]
    return "\n".join(header + methods) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a file is stale")
    args = parser.parse_args(argv)
    stale = 0
    for flavour in FLAVOURS:
        text = render(flavour)
        current = flavour.target.read_text() if flavour.target.exists() else ""
        if current == text:
            continue
        if args.check:
            print(f"{flavour.target} is out of date: run {COMMAND}", file=sys.stderr)
            stale = 1
        else:
            flavour.target.write_text(text)
            print(f"wrote {flavour.target}")
    return stale


if __name__ == "__main__":
    sys.exit(main())

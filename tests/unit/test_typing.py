"""Runs mypy on the files in tests/typing/ and compares with their expectations.

On each line of those files, ``# R: <type>`` is the type ``reveal_type`` must show and
``# E: <code>[, <code>]`` the error codes mypy must report; any other error fails.
mypy reads pyproject.toml, so the cloudant_odm.mypy plugin is enabled as for users.

Every client operation is also revealed to mypy and to pyright (the checker of VS Code's
Pylance), which must both see its named, typed parameters.
"""

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cloudant_odm.client._catalogue import OPERATIONS

mypy_api = pytest.importorskip("mypy.api")

ROOT = Path(__file__).resolve().parents[2]
TYPING_DIR = ROOT / "tests" / "typing"

REPORT = re.compile(r"^(?P<path>.+?):(?P<line>\d+): (?P<kind>error|note): (?P<text>.*)$")
REVEALED = re.compile(r'^Revealed type is "(?P<type>.*)"$')
# The note mypy adds to a call error: where the function called is defined.
DEFINED = re.compile(r'^".+" defined in ".+"$')
CODE = re.compile(r"\s+\[(?P<code>[a-z-]+)\]$")
EXPECT = re.compile(r"#\s*(?P<kind>[RE]):\s*(?P<value>.+?)\s*$")


def _normal(type_text: str) -> str:
    # mypy 1.x prints builtins.str where 2.x prints str.
    return type_text.replace("builtins.", "")


def _expectations(path: Path) -> tuple[dict[int, str], dict[int, set[str]]]:
    reveals: dict[int, str] = {}
    errors: dict[int, set[str]] = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        match = EXPECT.search(line)
        if match is None:
            continue
        if match["kind"] == "R":
            reveals[number] = _normal(match["value"])
        else:
            errors[number] = {code.strip() for code in match["value"].split(",")}
    return reveals, errors


def _mypy(path: Path, tmp_path: Path) -> str:
    """mypy's report on ``path``, one line per error or note."""
    out, err, _ = mypy_api.run(
        [
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(tmp_path / "mypy-cache"),
            "--hide-error-context",
            "--no-error-summary",
            "--no-pretty",
            "--show-error-codes",
            str(path),
        ]
    )
    assert not err, err
    return out


def _check(path: Path, tmp_path: Path) -> None:
    out = _mypy(path, tmp_path)
    revealed: dict[int, str] = {}
    reported: dict[int, set[str]] = {}
    unexpected: list[str] = []
    for line in out.splitlines():
        match = REPORT.match(line)
        if match is None or Path(match["path"]).name != path.name:
            unexpected.append(line)
            continue
        number, text = int(match["line"]), match["text"]
        reveal = REVEALED.match(text)
        if match["kind"] == "note" and reveal is not None:
            revealed[number] = _normal(reveal["type"])
        elif match["kind"] == "error":
            code = CODE.search(text)
            reported.setdefault(number, set()).add(code["code"] if code else "?")
        elif DEFINED.match(text) is not None:
            continue
        else:
            unexpected.append(line)

    reveals, errors = _expectations(path)
    assert reveals, "no expectations found"
    assert unexpected == []
    assert revealed == reveals
    assert reported == errors


def test_mypy_sees_documents_as_typed_attrs_classes(tmp_path: Path) -> None:
    _check(TYPING_DIR / "document_types.py", tmp_path)


def test_mypy_sees_query_expressions_and_typed_results(tmp_path: Path) -> None:
    """With the plugin, Order.total is a Field[Decimal] on the class, Order.total > 3 a
    Condition (not a bool), and Order.objects.filter(...).all() a list[Order]."""
    _check(TYPING_DIR / "query_types.py", tmp_path)


def test_mypy_sees_reference_fields(tmp_path: Path) -> None:
    """A Ref[Customer] field reads as Ref[Customer] and takes a Customer where the class
    converts one (__init__, assignment); ref.get(session) is a Customer; a query
    compares the field with a Customer, a Ref or an id."""
    _check(TYPING_DIR / "ref_types.py", tmp_path)


def test_mypy_sees_client_operations_with_their_parameters(tmp_path: Path) -> None:
    """client.get_document is a method with named, typed parameters (not (*Any, **Any)):
    a misspelt keyword, a wrong type or a wrong request option is an error."""
    _check(TYPING_DIR / "client_types.py", tmp_path)


def test_mypy_sees_the_async_client_awaited(tmp_path: Path) -> None:
    """AsyncCloudantV1's operations are coroutines of DetailedResponse, with the sync
    client's parameters; a stream is an AsyncStream."""
    pytest.importorskip("httpx", reason="the async extra is not installed")
    _check(TYPING_DIR / "aio_client_types.py", tmp_path)


def test_mypy_sees_async_queries_awaited(tmp_path: Path) -> None:
    """Order.objects.using(async_session) is an AsyncQuerySet[Order] through the chain,
    ``await ....all()`` a list[Order], ``async for`` gives Orders (``for`` is an error);
    a view query in an AsyncSession is an AsyncViewQuery, a search awaits to
    AsyncSearchResults."""
    pytest.importorskip("httpx", reason="the async extra is not installed")
    _check(TYPING_DIR / "aio_query_types.py", tmp_path)


def test_mypy_sees_the_async_session_awaited(tmp_path: Path) -> None:
    """AsyncSession's request-making methods are coroutines of what Session's return
    (``await s.get(Order, id)`` is ``Order | None``, ``await ref.get(s)`` a Customer);
    the shared methods (add, dirty) are plain."""
    pytest.importorskip("httpx", reason="the async extra is not installed")
    _check(TYPING_DIR / "aio_session_types.py", tmp_path)


def test_mypy_sees_the_async_followers_and_pagination(tmp_path: Path) -> None:
    """AsyncChangesFollower and follow() are async iterators of typed changes; the
    overloads of AsyncPagination.new_pagination give its rows' type."""
    pytest.importorskip("httpx", reason="the async extra is not installed")
    _check(TYPING_DIR / "aio_follow_types.py", tmp_path)


def test_the_package_itself_is_strict_clean() -> None:
    """mypy --strict over cloudant_odm (as configured in pyproject.toml, plugin included)."""
    out, err, status = mypy_api.run(
        ["--config-file", str(ROOT / "pyproject.toml"), "-p", "cloudant_odm"]
    )
    assert status == 0, out + err


# -- every operation, seen by mypy and by pyright ---------------------------------------

PUBLIC_OPERATIONS = [op for name, op in OPERATIONS.items() if not name.startswith("_")]
# Mistakes both checkers must report (each goes on a line of its own).
MISTAKES = {
    "misspelt keyword": 'client.get_document("db", "id", revv="1-a")',
    "wrong type": 'client.post_all_docs("db", limit="10")',
    "misspelt request option": 'client.get_document("db", "id", timeoutt=5)',
}


# The two clients: (class, module, whether its operations are awaited).
CLIENTS = {
    "sync": ("CloudantV1", "cloudant_odm.client", False),
    "async": ("AsyncCloudantV1", "cloudant_odm.aio", True),
}


def _client_usage(tmp_path: Path, flavour: str) -> tuple[Path, dict[str, int], dict[str, int]]:
    """A file revealing every public operation of the ``flavour`` client, then the
    mistakes (awaited, for the async client); with the line number (1-based) of each
    reveal and of each mistake."""
    cls, module, awaited = CLIENTS[flavour]
    if awaited:
        pytest.importorskip("httpx", reason="the async extra is not installed")
    lines = [
        "from typing_extensions import reveal_type",
        "",
        f"from {module} import {cls}",
        "",
        "",
        f"{'async ' if awaited else ''}def check(client: {cls}) -> None:",
    ]
    reveals: dict[str, int] = {}
    for op in PUBLIC_OPERATIONS:
        lines.append(f"    reveal_type(client.{op.name})")
        reveals[op.name] = len(lines)
    mistakes: dict[str, int] = {}
    for what, call in MISTAKES.items():
        lines.append(f"    {'await ' if awaited else ''}{call}")
        mistakes[what] = len(lines)
    path = tmp_path / f"{flavour}_client_usage.py"
    path.write_text("\n".join(lines) + "\n")
    return path, reveals, mistakes


def _options(name: str) -> str:
    """The TypedDict of the operation's ``**kwargs``: the feeds' own ``timeout``
    parameter leaves it out of their request options."""
    return "FeedRequestOptions" if "timeout" in OPERATIONS[name].parameters else "RequestOptions"


def _assert_typed(name: str, revealed: str, options: str) -> None:
    """The revealed callable names every parameter of the operation with a type (not
    Any), has no ``*args`` and takes ``**kwargs`` as ``options``."""
    op = OPERATIONS[name]
    assert "*args" not in revealed, (name, revealed)
    for param in op.parameters:
        typed = re.search(rf"[(\s]{param}: (?!Any\b)", revealed)
        assert typed is not None, (name, param, revealed)
    assert options in revealed, (name, revealed)


@pytest.mark.parametrize("flavour", list(CLIENTS))
def test_mypy_sees_every_operation_typed(tmp_path: Path, flavour: str) -> None:
    path, reveals, mistakes = _client_usage(tmp_path, flavour)
    out = _mypy(path, tmp_path)
    revealed: dict[int, str] = {}
    errors: dict[int, str] = {}
    for line in out.splitlines():
        match = REPORT.match(line)
        assert match is not None, line
        reveal = REVEALED.match(match["text"])
        if reveal is not None:
            revealed[int(match["line"])] = reveal["type"]
        elif match["kind"] == "error":
            errors[int(match["line"])] = match["text"]
    for name, number in reveals.items():
        typed_dict = f"**kwargs: **TypedDict(cloudant_odm.client._operations.{_options(name)},"
        _assert_typed(name, revealed[number], typed_dict)
        result = "cloudant_odm.client.transport.DetailedResponse"
        if CLIENTS[flavour][2]:
            result = f"typing.Coroutine[Any, Any, {result}]"
        assert revealed[number].endswith(f") -> {result}"), (name, revealed[number])
    assert 'did you mean "rev"' in errors[mistakes["misspelt keyword"]]
    assert "[arg-type]" in errors[mistakes["wrong type"]]
    assert "[call-arg]" in errors[mistakes["misspelt request option"]]
    assert set(errors) == set(mistakes.values()), errors


def _pyright(path: Path) -> dict[str, Any]:
    """pyright's JSON report on ``path``, resolving cloudant_odm from this checkout."""
    if importlib.util.find_spec("pyright") is None:
        pytest.skip("pyright is not installed: pip install -e '.[dev]'")
    command = [sys.executable, "-m", "pyright", "--outputjson", "--pythonpath", sys.executable]
    try:
        done = subprocess.run(
            [*command, str(path)], cwd=ROOT, capture_output=True, text=True, timeout=600
        )
    except subprocess.TimeoutExpired:
        pytest.skip("pyright did not finish in 10 minutes (fetching its node package?)")
    try:
        report: dict[str, Any] = json.loads(done.stdout)
    except ValueError:
        # Not a report: the PyPI wrapper could not get node or pyright's npm package.
        pytest.skip(f"pyright cannot run here: {(done.stderr or done.stdout)[-800:]}")
    return report


@pytest.mark.parametrize("flavour", list(CLIENTS))
def test_pyright_sees_every_operation_typed(tmp_path: Path, flavour: str) -> None:
    path, reveals, mistakes = _client_usage(tmp_path, flavour)
    report = _pyright(path)
    revealed: dict[int, str] = {}
    errors: dict[int, list[str]] = {}
    for diagnostic in report["generalDiagnostics"]:
        number = diagnostic["range"]["start"]["line"] + 1
        if diagnostic["severity"] == "information":
            match = re.match(r'^Type of ".+" is "(?P<type>.*)"$', diagnostic["message"], re.S)
            assert match is not None, diagnostic
            revealed[number] = match["type"]
        else:
            assert diagnostic["severity"] == "error", diagnostic
            errors.setdefault(number, []).append(diagnostic["message"])
    result = (
        "CoroutineType[Any, Any, DetailedResponse]" if CLIENTS[flavour][2] else "DetailedResponse"
    )
    for name, number in reveals.items():
        _assert_typed(name, revealed[number], f"**kwargs: **{_options(name)})")
        assert revealed[number].endswith(f") -> {result}"), (name, revealed[number])
    assert revealed[reveals["get_document"]].startswith(
        "(db: str, doc_id: str, *, if_none_match: str | None = None, attachments: bool | None"
    )
    assert errors.pop(mistakes["misspelt keyword"]) == ['No parameter named "revv"']
    wrong = errors.pop(mistakes["wrong type"])
    assert 'parameter "limit" of type "int | None"' in wrong[0]
    assert errors.pop(mistakes["misspelt request option"]) == ['No parameter named "timeoutt"']
    assert errors == {}

"""Runs mypy on the files in tests/typing/ and compares with their expectations.

On each line of those files, ``# R: <type>`` is the type ``reveal_type`` must show and
``# E: <code>[, <code>]`` the error codes mypy must report; any other error fails.
mypy reads pyproject.toml, so the cloudant_odm.mypy plugin is enabled as for users.
"""

import re
from pathlib import Path

import pytest

mypy_api = pytest.importorskip("mypy.api")

ROOT = Path(__file__).resolve().parents[2]
TYPING_DIR = ROOT / "tests" / "typing"

REPORT = re.compile(r"^(?P<path>.+?):(?P<line>\d+): (?P<kind>error|note): (?P<text>.*)$")
REVEALED = re.compile(r'^Revealed type is "(?P<type>.*)"$')
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


def _check(path: Path, tmp_path: Path) -> None:
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


def test_the_package_itself_is_strict_clean() -> None:
    """mypy --strict over cloudant_odm (as configured in pyproject.toml, plugin included)."""
    out, err, status = mypy_api.run(
        ["--config-file", str(ROOT / "pyproject.toml"), "-p", "cloudant_odm"]
    )
    assert status == 0, out + err

"""Every Python block in README.md and docs/**/*.md runs against the test server.

One test per page: the page's ```` ```python ```` blocks run in order, in one namespace
(a real module, so attrs and cattrs can resolve annotations), with

- ``CLOUDANT_URL`` pointing at the test server, with its admin's credentials (unless
  ``CLOUDANT_URL`` is already set: then the configured server and credentials are used),
  no credentials file and no ``VCAP_SERVICES``, in an empty working directory;
- a fresh database name substituted for the string literal ``"orders"`` (and in
  ``EXAMPLES_DB``); the database is deleted afterwards.

A failure names the page, the block number and its line; the traceback points at the
Markdown file's own lines.

A block that can't run here (it needs IAM, an external URL, ...) is marked with an HTML
comment right before its fence, with the reason::

    <!-- snippet: skip (needs an IAM API key) -->
    ```python
    ...
    ```

Keep those rare: prefer a snippet that runs.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import traceback
import types
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from _server import REQUEST_TIMEOUT, ServerConfig, unique_db_name

REPO = Path(__file__).resolve().parents[2]
#: Seconds one block may run (a feed that never ends would hang the suite otherwise).
BLOCK_TIMEOUT = 120

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$")
_SKIP = re.compile(r"^<!--\s*snippet:\s*skip\s*(?:\((?P<reason>.*)\))?\s*-->$")
_MARKER = re.compile(r"^<!--\s*snippet\b")
_PYTHON = frozenset({"python", "py", "python3"})
_DB_LITERAL = re.compile(r"""(["'])orders\1""")


@dataclass(frozen=True)
class Snippet:
    page: Path
    number: int  # 1-based, among the page's Python blocks
    line: int  # the line of the block's first code line (1-based)
    source: str
    skip: str | None  # the reason, for a block marked to be skipped

    @property
    def where(self) -> str:
        return f"{relative(self.page)}, python block {self.number} (line {self.line})"


class SnippetSyntaxError(ValueError):
    """A malformed or misplaced ``<!-- snippet: ... -->`` marker."""


def relative(page: Path) -> str:
    return page.relative_to(REPO).as_posix() if page.is_relative_to(REPO) else page.name


def pages() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]


def extract(page: Path) -> list[Snippet]:
    """The page's Python blocks, in order, with their skip markers."""
    lines = page.read_text(encoding="utf-8").splitlines()
    snippets: list[Snippet] = []
    skip: tuple[int, str] | None = None  # (line, reason) of a marker waiting for its block
    index = 0
    while index < len(lines):
        text = lines[index].strip()
        if _MARKER.match(text):
            marker = _SKIP.match(text)
            reason = (marker.group("reason") or "").strip() if marker else ""
            if not reason:
                raise SnippetSyntaxError(
                    f"{relative(page)}:{index + 1}: write a skip marker as "
                    f"'<!-- snippet: skip (the reason) -->', got {text!r}"
                )
            skip = (index + 1, reason)
            index += 1
            continue
        fence = _FENCE.match(lines[index])
        if fence is None:
            if text and skip is not None:
                raise SnippetSyntaxError(
                    f"{relative(page)}:{skip[0]}: a skip marker must be right before a "
                    "```python block"
                )
            index += 1
            continue
        mark, indent = fence.group("fence"), len(fence.group("indent"))
        end = index + 1
        while end < len(lines) and not _closes(lines[end], mark):
            end += 1
        language = (fence.group("info").split() or [""])[0].lower()
        if language in _PYTHON:
            body = [_dedent(line, indent) for line in lines[index + 1 : end]]
            snippets.append(
                Snippet(
                    page=page,
                    number=len(snippets) + 1,
                    line=index + 2,
                    source="\n".join(body) + "\n",
                    skip=skip[1] if skip else None,
                )
            )
        elif skip is not None:
            raise SnippetSyntaxError(
                f"{relative(page)}:{skip[0]}: a skip marker must be right before a "
                f"```python block, not a {language or 'plain'} one"
            )
        skip = None
        index = end + 1
    if skip is not None:
        raise SnippetSyntaxError(f"{relative(page)}:{skip[0]}: a skip marker at the end")
    return snippets


def _dedent(line: str, indent: int) -> str:
    """Remove the fence's own indentation (at most ``indent`` spaces)."""
    spaces = len(line) - len(line.lstrip(" "))
    return line[min(spaces, indent) :]


def _closes(line: str, mark: str) -> bool:
    stripped = line.strip()
    return len(stripped) >= len(mark) and set(stripped) == {mark[0]}


def pages_with_snippets() -> list[Path]:
    found = []
    for page in pages():
        try:
            if extract(page):
                found.append(page)
        except SnippetSyntaxError:
            found.append(page)  # reported by test_snippet_markers_are_well_formed
    return found


# -- without a server ------------------------------------------------------------


def test_snippet_markers_are_well_formed() -> None:
    problems = []
    for page in pages():
        try:
            extract(page)
        except SnippetSyntaxError as error:
            problems.append(str(error))
    assert problems == []


def test_the_readme_and_the_client_guide_have_snippets() -> None:
    assert len(extract(REPO / "README.md")) >= 1
    assert len(extract(REPO / "docs" / "client.md")) >= 4
    assert len(extract(REPO / "docs" / "index.md")) >= 1


def test_extract_reads_markers_and_fences(tmp_path: Path) -> None:
    page = tmp_path / "probe.md"
    page.write_text(
        "# t\n\n```python\na = 1\n```\n\n<!-- snippet: skip (needs IAM (a real key)) -->\n"
        "```python\nb = 2\n```\n\n```text\nnot python\n```\n\n"
        " ````py\n c = '```'\n ````\n",
        encoding="utf-8",
    )
    snippets = extract(page)
    assert [(s.number, s.line, s.source, s.skip) for s in snippets] == [
        (1, 4, "a = 1\n", None),
        (2, 9, "b = 2\n", "needs IAM (a real key)"),
        (3, 17, "c = '```'\n", None),
    ]
    page.write_text("```python\nif a:\n    b = 1\n```\n", encoding="utf-8")
    assert extract(page)[0].source == "if a:\n    b = 1\n"
    page.write_text("<!-- snippet: skip -->\n```python\nx\n```\n", encoding="utf-8")
    with pytest.raises(SnippetSyntaxError, match="the reason"):
        extract(page)
    page.write_text("<!-- snippet: skip (why) -->\n```bash\nx\n```\n", encoding="utf-8")
    with pytest.raises(SnippetSyntaxError, match="right before"):
        extract(page)


# -- against the server ----------------------------------------------------------


@pytest.fixture
def snippet_env(
    server_config: ServerConfig,
    server_http: requests.Session,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[str]:
    """The environment the snippets run in; yields the database name for "orders"."""
    db = unique_db_name("cloudant-odm-docs")
    if not server_config.external:
        for name in list(os.environ):
            if name.startswith("CLOUDANT_"):
                monkeypatch.delenv(name)
        for name, value in server_config.environment().items():
            monkeypatch.setenv(name, value)
    empty = tmp_path / "ibm-credentials.env"
    empty.write_text("")
    monkeypatch.setenv("IBM_CREDENTIALS_FILE", str(empty))
    monkeypatch.delenv("VCAP_SERVICES", raising=False)
    monkeypatch.setenv("EXAMPLES_DB", db)
    monkeypatch.chdir(tmp_path)
    try:
        yield db
    finally:
        server_http.delete(f"{server_config.url}/{db}", timeout=REQUEST_TIMEOUT)


class _BlockTimeout(Exception):
    pass


def _alarm(signum: int, frame: object) -> None:
    raise _BlockTimeout(f"the block ran longer than {BLOCK_TIMEOUT} s")


@contextmanager
def isolated_document_registry() -> Iterator[None]:
    """The ODM registers every Document class in one process-wide registry. A page's
    classes must not outlive its run (another page, or a test, defines the same ones),
    nor see classes of runs already over (their module is gone from ``sys.modules``)."""
    try:
        from cloudant_odm.models.registry import registry
    except ImportError:  # no ODM in this checkout
        yield
        return
    classes: dict[str, dict[str, Any]] = registry._classes
    saved = {field: dict(by_type) for field, by_type in classes.items()}
    for by_type in classes.values():
        for doc_type, cls in list(by_type.items()):
            if cls.__module__ not in sys.modules:
                del by_type[doc_type]
    try:
        yield
    finally:
        classes.clear()
        classes.update(saved)


def run_snippets(page: Path, db: str) -> list[str]:
    """Run the page's blocks in one module; return the skip reasons."""
    with isolated_document_registry():
        return _run_snippets(page, db)


def _run_snippets(page: Path, db: str) -> list[str]:
    module = types.ModuleType(f"doc_snippets_{re.sub(r'[^0-9a-zA-Z]+', '_', relative(page))}")
    module.__file__ = str(page)
    sys.modules[module.__name__] = module
    skipped = []
    failure = None
    use_alarm = hasattr(signal, "SIGALRM")
    previous = signal.signal(signal.SIGALRM, _alarm) if use_alarm else None
    try:
        for snippet in extract(page):
            if snippet.skip is not None:
                skipped.append(f"{snippet.where}: {snippet.skip}")
                continue
            source = _DB_LITERAL.sub(lambda m: f"{m.group(1)}{db}{m.group(1)}", snippet.source)
            # Pad so that tracebacks show the Markdown file's own line numbers.
            code = compile("\n" * (snippet.line - 1) + source, str(page), "exec", dont_inherit=True)
            if use_alarm:
                signal.alarm(BLOCK_TIMEOUT)
            try:
                exec(code, module.__dict__)
            except Exception as error:
                failure = f"{snippet.where} failed:\n{_snippet_traceback(error, db)}"
                break
            finally:
                if use_alarm:
                    signal.alarm(0)
    finally:
        sys.modules.pop(module.__name__, None)
        if use_alarm:
            signal.signal(signal.SIGALRM, previous)
    if failure is not None:
        pytest.fail(failure, pytrace=False)
    return skipped


def _snippet_traceback(error: BaseException, db: str) -> str:
    """The traceback from the snippet's own frame on (not this file's ``exec``)."""
    trace = traceback.format_exception(type(error), error, error.__traceback__.tb_next)
    return "".join(trace).replace(db, "orders")


@pytest.mark.parametrize("page", pages_with_snippets(), ids=relative)
def test_page_snippets_run(page: Path, snippet_env: str) -> None:
    skipped = run_snippets(page, snippet_env)
    ran = len(extract(page)) - len(skipped)
    if ran == 0:
        pytest.skip("every block is marked skip: " + "; ".join(skipped))

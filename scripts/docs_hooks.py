"""MkDocs hooks for the documentation site (mkdocs.yml: ``hooks``).

- Every Markdown page in ``docs/`` is in the navigation: a page that ``nav`` does not
  list is appended to its "Guide" section (with a note in the build log), so a new page
  is never left out of the site.
- A link from a page to a repository file outside ``docs/`` (``../examples/x.py``)
  works on GitHub but not in the built site: it is rendered as its text. A link to a
  file that does not exist is left alone, so the strict build still fails on it.
- Sphinx roles in docstrings (``:class:`Field```) are rendered as plain code, and a
  paragraph ending in reST's literal-block marker ``::`` ends in one colon, as Sphinx
  shows it.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

log = logging.getLogger("mkdocs.hooks.cloudant_odm")

GUIDE = "Guide"
_LINK = re.compile(r"(?<!!)\[(?P<text>[^\]\n]+)\]\((?P<target>[^)\s#]+)(?P<anchor>#[^)\s]*)?\)")
_ROLE = re.compile(r":(?:class|func|meth|data|attr|mod|exc|obj):(<code>)~?")


def _listed(nav: Any) -> set[str]:
    """Every page path named in a nav structure."""
    found: set[str] = set()
    if isinstance(nav, str):
        found.add(nav)
    elif isinstance(nav, list):
        for item in nav:
            found |= _listed(item)
    elif isinstance(nav, dict):
        for value in nav.values():
            found |= _listed(value)
    return found


def on_config(config: Any) -> Any:
    nav = config["nav"]
    if not nav:
        return config
    docs = Path(config["docs_dir"])
    listed = _listed(nav)
    missing = sorted(
        path.relative_to(docs).as_posix()
        for path in docs.rglob("*.md")
        if path.relative_to(docs).as_posix() not in listed
    )
    if not missing:
        return config
    guide = next((item for item in nav if isinstance(item, dict) and GUIDE in item), None)
    if guide is None:
        guide = {GUIDE: []}
        nav.append(guide)
    guide[GUIDE].extend(missing)
    log.info("pages not listed in mkdocs.yml nav, added to %s: %s", GUIDE, ", ".join(missing))
    return config


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    docs = Path(config["docs_dir"]).resolve()
    repo = Path(config["config_file_path"]).resolve().parent
    source = (docs / page.file.src_path).resolve()

    def unlink(match: re.Match[str]) -> str:
        target = match.group("target")
        if "://" in target or target.startswith(("/", "mailto:")):
            return match.group(0)
        resolved = (source.parent / target).resolve()
        outside_docs = not resolved.is_relative_to(docs)
        if outside_docs and resolved.is_relative_to(repo) and resolved.exists():
            return match.group("text")
        return match.group(0)

    return _LINK.sub(unlink, markdown)


def on_page_content(html: str, page: Any, config: Any, files: Any) -> str:
    return _ROLE.sub(r"\1", html).replace("::</p>", ":</p>")

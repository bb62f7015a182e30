"""The documentation site's configuration (mkdocs.yml) and hooks (scripts/docs_hooks.py).
The strict build itself runs in CI (``scripts/docs``)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def hooks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_hooks", REPO / "scripts" / "docs_hooks.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def mkdocs_config() -> dict[str, Any]:
    yaml = pytest.importorskip("yaml")
    # mkdocs.yml has no custom tags, so the plain loader reads it.
    config: dict[str, Any] = yaml.safe_load((REPO / "mkdocs.yml").read_text())
    return config


def test_config_is_strict_and_lists_the_reference(hooks: ModuleType) -> None:
    config = mkdocs_config()
    assert config["strict"] is True
    assert config["nav"][0] == {"Home": "index.md"}
    listed = hooks._listed(config["nav"])
    for page in listed:
        assert (REPO / "docs" / page).is_file(), f"nav names a missing page: {page}"
    assert {"reference/client.md", "reference/odm.md"} <= listed


def test_every_page_ends_up_in_the_nav(hooks: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "index.md").write_text("# Home\n")
    (tmp_path / "client.md").write_text("# Client\n")
    (tmp_path / "new-page.md").write_text("# New\n")
    (tmp_path / "reference").mkdir()
    (tmp_path / "reference" / "extra.md").write_text("# Extra\n")
    nav: list[Any] = [{"Home": "index.md"}, {"Guide": ["client.md"]}]
    hooks.on_config({"nav": nav, "docs_dir": str(tmp_path)})
    assert nav == [
        {"Home": "index.md"},
        {"Guide": ["client.md", "new-page.md", "reference/extra.md"]},
    ]
    # The real configuration: every page in docs/ is listed, or added by the hook.
    config = mkdocs_config()
    config["docs_dir"] = str(REPO / "docs")
    hooks.on_config(config)
    listed = hooks._listed(config["nav"])
    assert {p.relative_to(REPO / "docs").as_posix() for p in (REPO / "docs").rglob("*.md")} <= (
        listed
    )


def test_links_to_repository_files_become_text(hooks: ModuleType) -> None:
    config = {"docs_dir": str(REPO / "docs"), "config_file_path": str(REPO / "mkdocs.yml")}
    page = SimpleNamespace(file=SimpleNamespace(src_path="client.md"))
    markdown = (
        "See [the quickstart](../examples/quickstart.py), [auth](auth.md#secrets), "
        "[gone](../examples/no-such-file.py), [web](https://example.com/x) and "
        "![img](../examples/quickstart.py)."
    )
    assert hooks.on_page_markdown(markdown, page, config, None) == (
        "See the quickstart, [auth](auth.md#secrets), "
        "[gone](../examples/no-such-file.py), [web](https://example.com/x) and "
        "![img](../examples/quickstart.py)."
    )


def test_sphinx_roles_render_as_code(hooks: ModuleType) -> None:
    html = "<p>A :class:<code>Field</code> and :meth:<code>~x.Y.z</code>, as below::</p>"
    assert hooks.on_page_content(html, None, None, None) == (
        "<p>A <code>Field</code> and <code>x.Y.z</code>, as below:</p>"
    )

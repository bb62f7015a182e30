"""The packaged launcher is installed into a cache folder once (npm faked here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import cloudant_odm.testing.server as server


def test_packaged_launcher_installs_into_the_cache_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    packaged = tmp_path / "site-packages" / "couch-server"
    packaged.mkdir(parents=True)
    for name in ("server.js", "package.json", "package-lock.json"):
        (packaged / name).write_text(f"// {name}")
    monkeypatch.setattr(server, "_PACKAGED", packaged)
    monkeypatch.setenv("CLOUDANT_ODM_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(server.shutil, "which", lambda name: "/usr/bin/npm")
    calls: list[tuple[list[str], Path]] = []

    def fake_npm(args: list[str], cwd: Path, **kwargs: Any) -> None:
        calls.append((args, Path(cwd)))
        (Path(cwd) / "node_modules").mkdir()

    monkeypatch.setattr(server.subprocess, "run", fake_npm)
    folder = server.ensure_installed()
    assert folder.parent == tmp_path / "cache"
    assert (folder / "server.js").read_text() == "// server.js"
    assert calls == [
        (["/usr/bin/npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], folder)
    ]
    assert server.ensure_installed() == folder
    assert len(calls) == 1  # installed once; the stamp matches the lock file

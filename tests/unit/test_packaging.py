"""The sdist and the wheel, built as a release would build them (``python -m build``: the
sdist first, then the wheel from the unpacked sdist, so a file missing from the sdist
breaks the wheel): the package with its type marker, no tests in the wheel, the
metadata PyPI shows, and ``twine check`` passing on both."""

from __future__ import annotations

import email
import importlib.util
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import cloudant_odm

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("build", reason="the build package is not installed (dev extra)")
    out = tmp_path_factory.mktemp("dist")
    command = [sys.executable, "-m", "build", "--outdir", str(out), str(REPO)]
    if importlib.util.find_spec("hatchling") is not None:
        command.insert(3, "--no-isolation")  # the backend is here: no download needed
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return out


@pytest.fixture(scope="module")
def wheel(dist: Path) -> Path:
    wheels = list(dist.glob("*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="module")
def sdist(dist: Path) -> Path:
    sdists = list(dist.glob("*.tar.gz"))
    assert len(sdists) == 1, sdists
    return sdists[0]


def names(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def test_wheel_has_the_package_and_its_type_marker(wheel: Path) -> None:
    contents = names(wheel)
    assert "cloudant_odm/py.typed" in contents
    for name in ("server.js", "package.json", "package-lock.json"):  # for cloudant_odm.testing
        assert f"cloudant_odm/testing/couch-server/{name}" in contents
    assert "cloudant_odm/__init__.py" in contents
    assert "cloudant_odm/client/__init__.py" in contents
    assert not [name for name in contents if name.endswith((".pyc", ".orig", ".rej"))]


def test_wheel_has_no_tests_or_project_files(wheel: Path) -> None:
    top_level = {name.split("/", 1)[0] for name in names(wheel)}
    dist_info = f"cloudant_odm-{cloudant_odm.__version__}.dist-info"
    assert top_level == {"cloudant_odm", dist_info}
    assert not [name for name in names(wheel) if re.search(r"(^|/)tests?/", name)]


def test_wheel_metadata(wheel: Path) -> None:
    version = cloudant_odm.__version__
    assert wheel.name == f"cloudant_odm-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        info = f"cloudant_odm-{version}.dist-info"
        metadata = email.message_from_bytes(archive.read(f"{info}/METADATA"))
        license_text = archive.read(f"{info}/licenses/LICENSE").decode()
    assert metadata["Name"] == "cloudant-odm"
    assert metadata["Version"] == version
    assert metadata["Requires-Python"] == ">=3.10"
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata["Description-Content-Type"] == "text/markdown"
    requires = metadata.get_all("Requires-Dist") or []
    runtime = sorted(r.replace(" ", "") for r in requires if "extra ==" not in r)
    tomllib = pytest.importorskip("tomllib", reason="Python 3.11+ reads pyproject.toml")
    with (REPO / "pyproject.toml").open("rb") as file:
        declared = tomllib.load(file)["project"]["dependencies"]
    assert runtime == sorted(d.replace(" ", "") for d in declared)
    assert {"requests", "attrs", "cattrs"} <= {re.split(r"[<>=!~;\[]", r)[0] for r in runtime}
    assert "Apache License" in license_text
    assert "Version 2.0, January 2004" in license_text


def test_sdist_has_the_sources_and_no_local_state(sdist: Path) -> None:
    version = cloudant_odm.__version__
    assert sdist.name == f"cloudant_odm-{version}.tar.gz"
    root = f"cloudant_odm-{version}/"
    with tarfile.open(sdist) as archive:
        contents = [name.removeprefix(root) for name in archive.getnames()]
    for name in (
        "pyproject.toml",
        "README.md",
        "LICENSE",
        "CHANGELOG.md",
        "cloudant_odm/py.typed",
        "cloudant_odm/__init__.py",
        "scripts/couch-server/server.js",
        "scripts/couch-server/package-lock.json",
    ):
        assert name in contents, name
    local_state = ("node_modules/", ".venv/", "benchmarks/results/", "site/", ".state/")
    assert not [n for n in contents if any(part in n for part in local_state)]
    assert not [n for n in contents if n.endswith((".pyc", ".orig", ".rej"))]


def test_twine_check_passes(dist: Path, wheel: Path, sdist: Path) -> None:
    pytest.importorskip("twine", reason="twine is not installed (dev extra)")
    done = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(wheel), str(sdist)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("PASSED") == 2, done.stdout

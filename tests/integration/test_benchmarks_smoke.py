"""benchmarks/run.py still runs: a quick pass of every workload with the libraries that
need no extra packages (raw HTTP and the ODM). Nothing is timed or compared here; the
run checks its own counts and checksums and exits non-zero when one is wrong."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from _server import ServerConfig

RUN = Path(__file__).resolve().parents[2] / "benchmarks" / "run.py"
GETS = RUN.with_name("concurrent_gets.py")


@pytest.fixture
def run_benchmark(server_config: ServerConfig) -> Callable[..., None]:
    """Runs a benchmark script against the test server, failing with its output when it
    exits non-zero (it checks its own counts and checksums)."""
    if server_config.auth_type not in ("NOAUTH", "BASIC"):
        pytest.skip("the benchmarks speak basic auth or none")
    env = dict(os.environ, **server_config.environment())

    def run(script: Path, *args: str) -> None:
        done = subprocess.run(
            [sys.executable, str(script), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]

    return run


def test_quick_benchmark_run_of_raw_and_odm(
    run_benchmark: Callable[..., None], tmp_path: Path
) -> None:
    out = tmp_path / "results.json"
    run_benchmark(RUN, "--quick", "--libs", "raw,odm", "--out", str(out))
    report = json.loads(out.read_text())
    assert set(report["workloads"]) == {
        "insert",
        "read",
        "query",
        "changes",
        "memory",
        "documents",
    }
    for name in ("insert", "read", "query", "changes"):
        assert set(report["workloads"][name]["results"]) == {"raw", "odm"}
    assert "| odm |" in out.with_suffix(".md").read_text()


def test_quick_concurrent_gets_run(run_benchmark: Callable[..., None], tmp_path: Path) -> None:
    """benchmarks/concurrent_gets.py runs both clients and checks what they read."""
    pytest.importorskip("httpx", reason="the async extra is not installed")
    out = tmp_path / "gets.json"
    run_benchmark(GETS, "--quick", "--concurrency=4,20", "--no-pin", f"--out={out}")
    report = json.loads(out.read_text())
    assert set(report["results"]) == {"4", "20"}
    for results in report["results"].values():
        assert set(results) == {"threads", "async"}
    assert "| 20 | async |" in out.with_suffix(".md").read_text()

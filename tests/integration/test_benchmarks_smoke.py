"""benchmarks/run.py still runs: a quick pass of every workload with the libraries that
need no extra packages (raw HTTP and the ODM). Nothing is timed or compared here; the
run checks its own counts and checksums and exits non-zero when one is wrong."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from _server import ServerConfig

RUN = Path(__file__).resolve().parents[2] / "benchmarks" / "run.py"
GETS = RUN.with_name("concurrent_gets.py")


def test_quick_benchmark_run_of_raw_and_odm(server_config: ServerConfig, tmp_path: Path) -> None:
    if server_config.auth_type not in ("NOAUTH", "BASIC"):
        pytest.skip("benchmarks/run.py speaks basic auth or none")
    env = dict(os.environ, **server_config.environment())
    out = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, str(RUN), "--quick", "--libs", "raw,odm", "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
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


def test_quick_concurrent_gets_run(server_config: ServerConfig, tmp_path: Path) -> None:
    """benchmarks/concurrent_gets.py runs both clients and checks what they read."""
    pytest.importorskip("httpx", reason="the async extra is not installed")
    if server_config.auth_type not in ("NOAUTH", "BASIC"):
        pytest.skip("benchmarks/run.py speaks basic auth or none")
    env = dict(os.environ, **server_config.environment())
    out = tmp_path / "gets.json"
    done = subprocess.run(
        [sys.executable, str(GETS), "--quick", "--concurrency=4,20", "--no-pin", f"--out={out}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    report = json.loads(out.read_text())
    assert set(report["results"]) == {"4", "20"}
    for results in report["results"].values():
        assert set(results) == {"threads", "async"}
    assert "| 20 | async |" in out.with_suffix(".md").read_text()

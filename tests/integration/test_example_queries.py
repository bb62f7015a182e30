"""examples/queries.py runs against the server and prints what it promises."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from _server import REQUEST_TIMEOUT, ServerConfig, unique_db_name

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "queries.py"


@pytest.fixture
def example_db(server_config: ServerConfig, server_http: requests.Session) -> Iterator[str]:
    name = unique_db_name()
    yield name
    server_http.delete(f"{server_config.url}/{name}", timeout=REQUEST_TIMEOUT)


def run(config: ServerConfig, db: str) -> list[str]:
    env = dict(os.environ, EXAMPLES_DB=db, **config.environment())
    done = subprocess.run(
        [sys.executable, str(EXAMPLE)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_the_queries_example(server_config: ServerConfig, example_db: str) -> None:
    for _ in range(2):  # it can run again on the same database
        lines = run(server_config, example_db)
        assert lines[0] == "paid orders of 40 or more: 5"
        assert lines[1] == (
            "gifts or small orders of dee: ['example-00', 'example-03', 'example-07', "
            "'example-10', 'example-20', 'example-30']"
        )
        assert lines[2] == "latest new orders: ['example-38', 'example-36', 'example-34']"
        assert lines[3] == "paid orders read in 3 pages of 7"
        assert lines[4] == "total per customer: {'ann': 280, 'bob': 290, 'cy': 300, 'dee': 310}"
        assert re.fullmatch(r"example-01 is refunded, revision \d+-[0-9a-f]+", lines[5])
        assert lines[6] == "cancelled 5, deleted 40"

"""The four client examples run against the server and print what docs/examples.md shows."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from _server import ServerConfig, unique_db_name

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_example(script: str, config: ServerConfig, db: str) -> str:
    """Run ``examples/<script>`` against the test server; its standard output."""
    env = dict(os.environ, EXAMPLES_DB=db, **config.environment())
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def json_after(header: str, output: str) -> dict[str, object]:
    start = output.index(header) + len(header)
    decoded: dict[str, object] = json.JSONDecoder().raw_decode(output[start:].lstrip())[0]
    return decoded


@pytest.fixture
def examples_db(server_config: ServerConfig, server_http: requests.Session) -> Iterator[str]:
    """The examples create "orders" by default; here a throwaway name instead."""
    name = unique_db_name()
    yield name
    server_http.delete(f"{server_config.url}/{name}", timeout=30)


def test_the_four_examples_in_order(server_config: ServerConfig, examples_db: str) -> None:
    def run(name: str) -> str:
        return run_example(f"client/{name}", server_config, examples_db).replace(
            examples_db, "orders"
        )

    out = run("1_create_db_and_doc.py")
    assert out.startswith('"orders" database created.\nYou have created the document:\n')
    created = json_after("You have created the document:\n", out)
    assert created["_id"] == "example"
    assert re.fullmatch(r"1-[0-9a-f]+", str(created["_rev"]))
    assert created["name"] == "Bob Smith"
    assert created["joined"] == "2019-01-24T10:42:59.000Z"

    again = run("1_create_db_and_doc.py")
    assert again.splitlines()[0] == 'Cannot create "orders" database, it already exists.'
    assert 'Cannot create the document "example", it already exists.' in again

    out = run("2_get_info_from_existing_database.py")
    assert out.startswith("Server Version: ")
    assert 'Document count in "orders" database is 1.' in out
    assert json_after("Document retrieved from database:\n", out) == created

    out = run("3_update_doc.py")
    updated = json_after("You have updated the document:\n", out)
    assert updated["address"] == "19 Front Street, Darlington, DL5 1TY"
    assert "joined" not in updated
    assert str(updated["_rev"]).startswith("2-")

    out = run("4_delete_doc.py")
    assert out == "You have deleted the document.\n"
    out = run("4_delete_doc.py")
    assert "document was not found" in out


def test_shop_example_shows_the_odm_end_to_end(
    server_config: ServerConfig, examples_db: str
) -> None:
    lines = run_example("shop.py", server_config, examples_db).splitlines()
    assert lines[0].startswith("deploy: ")
    assert "created" in lines[0]
    assert lines[1:] == [
        "stored 2 customers and 3 orders",
        "refused: tags: expected list[str], got str 'gift'",
        "orders over 10: [('ann', '12.00'), ('bob', '47.50')]",
        "paid orders: 2",
        "total per customer: {'ann': '21.50', 'bob': '47.50'}",
        "changes: 3 orders, 69.00 in all",
    ]
    again = run_example("shop.py", server_config, examples_db).splitlines()
    assert again[0] == "deploy: 0 created, 0 updated, 2 unchanged, 0 removed"
    assert again[1:] == lines[1:]  # the same documents: running it again changes nothing


def test_quickstart_runs_the_odm_then_the_client(
    server_config: ServerConfig, examples_db: str
) -> None:
    out = run_example("quickstart.py", server_config, examples_db)
    assert out.startswith("=== the ODM: examples/shop.py\ndeploy: ")
    assert "\n=== the endpoint client: examples/client/\n--- 1_create_db_and_doc.py\n" in out
    assert "You have deleted the document." in out


def test_session_example(server_config: ServerConfig, examples_db: str) -> None:
    lines = run_example("session.py", server_config, examples_db).splitlines()
    assert lines[0].startswith("stored ")
    assert re.match(r"PriorityOrder \w+ is paid at 2-", lines[1])
    assert lines[2].startswith("conflict, as expected: Order ")
    assert re.search(r"cancelled, total 10\.50, at 3-", lines[3])
    assert lines[4] == "deleted both"


def test_typed_changes_example_resumes_from_its_checkpoint(
    server_config: ServerConfig, examples_db: str
) -> None:
    first = run_example("typed_changes.py", server_config, examples_db).splitlines()
    assert len(first) == 4
    assert first[-1] == "up to date"
    second = run_example("typed_changes.py", server_config, examples_db).splitlines()
    assert len(second) == 4  # only the three orders the second run added
    assert not set(first[:3]) & set(second[:3])

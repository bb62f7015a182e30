"""``cloudant_odm.testing``: the fixtures an application's own tests use."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from _server import ServerConfig

USER_TESTS = textwrap.dedent(
    """
    from cloudant_odm import Document

    pytest_plugins = ["cloudant_odm.testing"]

    class Note(Document, doc_type="plugin_note"):
        text: str

    def test_session_writes_to_a_fresh_database(cloudant_session, cloudant_client, cloudant_db):
        assert cloudant_client.get_database_information(cloudant_db).get_result()["doc_count"] == 0
        cloudant_session.add(Note(id="n1", text="hello"))
        cloudant_session.commit()
        assert cloudant_client.get_document(cloudant_db, "n1").get_result()["text"] == "hello"

    def test_each_test_gets_its_own_database(cloudant_client, cloudant_db):
        assert cloudant_client.get_database_information(cloudant_db).get_result()["doc_count"] == 0
    """
)


def run_user_tests(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_user_app.py").write_text(USER_TESTS)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_fixtures_against_a_configured_server(tmp_path: Path, server_config: ServerConfig) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDANT_")}
    env.update(server_config.environment())
    done = run_user_tests(tmp_path, env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout


@pytest.mark.server
def test_fixtures_start_a_local_server_when_none_is_configured(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDANT_")}
    done = run_user_tests(tmp_path, env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout

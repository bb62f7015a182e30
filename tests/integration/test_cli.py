"""The ``cloudant-odm`` command, run in a subprocess against the test server with a
small models module written to tmp_path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from _server import ServerConfig

MODELS = """
from decimal import Decimal

from cloudant_odm import Document, Filter, Index, View


class Order(Document):
    class Meta:
        design = "orders"
        doc_type = "order"{db_line}

    customer: str
    total: Decimal = Decimal("0")
    status: str = "new"

    by_key = View.emit(key="{key}", value="total", reduce="_sum")
    status_idx = Index("status")
    with_status = Filter("function (doc, req) {{ return doc.status === req.query.status; }}")
"""


def write_models(folder: Path, key: str = "status", db: str | None = None) -> Path:
    db_line = f"\n        db = {db!r}" if db else ""
    path = folder / "shop_models.py"
    path.write_text(MODELS.format(key=key, db_line=db_line))
    return path


def cli(
    *args: str, cwd: Path, config: ServerConfig | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDANT_")}
    if config is not None:
        environ.update(config.environment())
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "cloudant_odm.cli", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_help(tmp_path: Path) -> None:
    top = cli("--help", cwd=tmp_path)
    assert top.returncode == 0
    assert "usage: cloudant-odm" in top.stdout
    for command in ("sync", "check", "rollback", "changes", "migrate"):
        assert command in top.stdout
    assert "2 a dry run found differences" in top.stdout
    sync_help = cli("sync", "--help", cwd=tmp_path)
    assert sync_help.returncode == 0
    for option in ("--db", "--dry-run", "--prune", "--strategy", "--url", "--keep-old"):
        assert option in sync_help.stdout
    # docs/deploying.md shows the same text.
    docs = (Path(__file__).resolve().parents[2] / "docs" / "deploying.md").read_text()
    for option in ("--dry-run", "--prune", "--strategy", "--keep-old", "--resume", "--timeout"):
        assert option in docs


def test_usage_errors_exit_1_not_2(tmp_path: Path) -> None:
    done = cli("sync", cwd=tmp_path)
    assert done.returncode == 1
    assert "the following arguments are required: MODELS" in done.stderr


def test_check(tmp_path: Path) -> None:
    write_models(tmp_path)
    done = cli("check", "shop_models.py", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "== _design/orders" in done.stdout
    assert '      if (doc["type"] !== "order") return;' in done.stdout
    assert "== Mango index _design/orders-status_idx-" in done.stdout
    assert done.stdout.rstrip().endswith("OK: 1 design document(s), 1 Mango index(es)")

    as_json = cli("check", "shop_models", "--json", cwd=tmp_path)
    assert as_json.returncode == 0, as_json.stderr
    generated = json.loads(as_json.stdout)
    assert generated["design_documents"][0]["_id"] == "_design/orders"
    assert generated["indexes"][0]["name"] == "status_idx"


def test_check_reports_bad_declarations(tmp_path: Path) -> None:
    write_models(tmp_path, key="nope")
    done = cli("check", "shop_models.py", cwd=tmp_path)
    assert done.returncode == 1
    assert "invalid declarations: Order.by_key: 'nope' is not a field of Order" in done.stderr
    missing = cli("check", "no_such_module", cwd=tmp_path)
    assert missing.returncode == 1
    assert "could not import no_such_module" in missing.stderr


def test_sync_dry_run_sync_and_drift(
    tmp_path: Path, server_config: ServerConfig, db_name: str
) -> None:
    write_models(tmp_path)
    plan = cli(
        "sync", "shop_models", "--db", db_name, "--dry-run", cwd=tmp_path, config=server_config
    )
    assert plan.returncode == 2, plan.stderr
    assert "  create    _design/orders\n" in plan.stdout
    assert '+views.by_key.reduce: "_sum"' in plan.stdout
    assert "nothing was written" in plan.stdout

    done = cli(
        "sync",
        "shop_models.py",
        "--db",
        db_name,
        "--poll-interval",
        "0.05",
        cwd=tmp_path,
        config=server_config,
    )
    assert done.returncode == 0, done.stderr
    assert "Done: 2 created, 0 updated, 0 unchanged, 0 removed." in done.stdout
    assert "  built     orders" in done.stderr  # the progress display

    again = cli(
        "sync", "shop_models", "--db", db_name, "--dry-run", cwd=tmp_path, config=server_config
    )
    assert again.returncode == 0, again.stderr
    assert "Dry run: up to date." in again.stdout

    write_models(tmp_path, key="customer")
    drift = cli(
        "sync", "shop_models", "--db", db_name, "--dry-run", cwd=tmp_path, config=server_config
    )
    assert drift.returncode == 2
    assert "  update    _design/orders  (move-and-switch)" in drift.stdout
    assert '-      var key0 = doc["status"];' in drift.stdout
    assert '+      var key0 = doc["customer"];' in drift.stdout

    deploy = cli(
        "sync",
        "shop_models",
        "--db",
        db_name,
        "--keep-old",
        "--quiet",
        cwd=tmp_path,
        config=server_config,
    )
    assert deploy.returncode == 0, deploy.stderr
    assert "Done: 0 created, 1 updated, 1 unchanged, 0 removed." in deploy.stdout
    assert deploy.stderr == ""  # --quiet: no progress

    back = cli("rollback", "--db", db_name, "--ddoc", "orders", cwd=tmp_path, config=server_config)
    assert back.returncode == 0, back.stderr
    assert "  update    _design/orders  (rollback)" in back.stdout
    after = cli(
        "sync", "shop_models", "--db", db_name, "--dry-run", cwd=tmp_path, config=server_config
    )
    assert after.returncode == 2  # the rolled-back view differs from the declared one


def test_sync_database_from_meta_and_errors(
    tmp_path: Path, server_config: ServerConfig, db_name: str
) -> None:
    write_models(tmp_path, db=db_name)
    done = cli("sync", "shop_models", "--poll-interval", "0.05", cwd=tmp_path, config=server_config)
    assert done.returncode == 0, done.stderr
    assert f'Database "{db_name}"' in done.stdout

    no_credentials = cli("sync", "shop_models", cwd=tmp_path)
    assert no_credentials.returncode == 1
    assert "no configuration found" in no_credentials.stderr

    write_models(tmp_path)  # no Meta.db
    no_db = cli("sync", "shop_models", cwd=tmp_path, config=server_config)
    assert no_db.returncode == 1
    assert "give --db" in no_db.stderr

    missing = cli("sync", "shop_models", "--db", "no-such-db-x", cwd=tmp_path, config=server_config)
    assert missing.returncode == 1
    assert "does not exist" in missing.stderr


def test_url_flag_overrides_the_environment(
    tmp_path: Path, server_config: ServerConfig, db_name: str
) -> None:
    write_models(tmp_path)
    done = cli(
        "sync",
        "shop_models",
        "--db",
        db_name,
        "--url",
        server_config.url,
        cwd=tmp_path,
        config=server_config,  # the credentials
        env={"CLOUDANT_URL": "http://127.0.0.1:9"},
    )
    assert done.returncode == 0, done.stderr
    assert server_config.url in done.stdout
    assert "Done: 2 created" in done.stdout


def test_changes_prints_typed_json_lines(
    tmp_path: Path, server_config: ServerConfig, db_name: str, client: Any
) -> None:
    write_models(tmp_path)
    docs = [
        {"_id": f"o{i}", "type": "order", "customer": f"c{i}", "total": str(i)} for i in range(3)
    ]
    client.post_bulk_docs(db_name, {"docs": [*docs, {"_id": "other", "type": "invoice"}]})
    run = cli(
        "changes",
        "shop_models",
        "--db",
        db_name,
        "--one-off",
        "--checkpoint",
        "cli",
        cwd=tmp_path,
        config=server_config,
    )
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert sorted(line["id"] for line in lines) == ["o0", "o1", "o2"]
    assert all(line["type"] == "Order" for line in lines)
    assert {line["doc"]["customer"] for line in lines} == {"c0", "c1", "c2"}
    again = cli(
        "changes",
        "shop_models",
        "--db",
        db_name,
        "--one-off",
        "--checkpoint",
        "cli",
        cwd=tmp_path,
        config=server_config,
    )
    assert again.returncode == 0, again.stderr
    assert again.stdout == ""  # resumed from the checkpoint: nothing new
    bad = cli(
        "changes",
        "shop_models",
        "--db",
        db_name,
        "--model",
        "Nope",
        "--one-off",
        cwd=tmp_path,
        config=server_config,
    )
    assert bad.returncode == 1
    assert "no Document class named Nope" in bad.stderr


def test_cli_page_shows_the_current_help(tmp_path: Path) -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()
    for command in ((), ("sync",), ("check",), ("rollback",), ("changes",), ("migrate",)):
        shown = cli(*command, "--help", cwd=tmp_path, env={"COLUMNS": "80"}).stdout
        assert f"```text\n{shown}```" in page, f"docs/cli.md is out of date for {command}"


def test_no_subcommand_prints_credentials_from_the_url(
    tmp_path: Path, server_config: ServerConfig, db_name: str
) -> None:
    """Dry runs are meant for CI logs: a password in --url or CLOUDANT_URL never shows."""
    secret = "Pa55-in-the-URL"
    parts = urlsplit(server_config.url)
    with_password = urlunsplit(parts._replace(netloc=f"deployer:{secret}@{parts.netloc}"))
    write_models(tmp_path, db=db_name)
    runs = [
        ("check", "shop_models"),
        ("sync", "shop_models", "--dry-run"),
        ("sync", "shop_models"),
        ("rollback", "--db", db_name),
        ("changes", "shop_models", "--one-off", "--limit", "1"),
        ("migrate", "shop_models", "--dry-run"),
    ]
    for args in runs:
        for how in ("flag", "environment"):
            if how == "flag":
                done = cli(*args, "--url", with_password, cwd=tmp_path, config=server_config)
            else:
                env = {"CLOUDANT_URL": with_password, "CLOUDANT_AUTH_TYPE": "NOAUTH"}
                done = cli(*args, cwd=tmp_path, env=env)
            shown = done.stdout + done.stderr
            assert secret not in shown, (args, how, shown)
    bad = cli("sync", "shop_models", "--url", f"ftp://u:{secret}@host", cwd=tmp_path)
    assert bad.returncode == 1
    assert secret not in bad.stdout + bad.stderr

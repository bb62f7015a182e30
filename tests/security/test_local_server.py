"""The local test server lets no one in without its generated credentials.

Any user on the machine can connect to a loopback port, and PouchDB runs a design
document's functions in the server's own process (``vm.runInNewContext`` is no
sandbox: a filter function reaches ``process`` through the documents it is given), so
a design document from another local user would run code as the user running the
tests. Each :class:`LocalServer` therefore has its own admin with a random
password, and the launcher refuses every request without it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from _server import LocalServer

from cloudant_odm.client import CloudantV1, CouchDbSessionAuthenticator, NotFoundError

pytestmark = pytest.mark.server

# Run by another process (and, where the tests run as root, by another user): every
# way in without the admin's password. Prints {attempt: status}. Without the
# launcher's authentication gate every attempt but the guessed passwords succeeds and
# the filter function writes the marker file as the user running the server.
INTRUDER = textwrap.dedent(
    """
    import base64, json, sys, urllib.error, urllib.request

    url, db, marker = sys.argv[1:4]
    # A filter function gets the server's own objects: through them, its `process`.
    evil = {
        "filters": {"run": "function (doc, req) { doc.constructor.constructor("
                    "'return process')().mainModule.require('fs').writeFileSync("
                    + json.dumps(marker) + ", 'ran'); return true; }"},
    }

    def send(method, path, body=None, headers=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def basic(name, password):
        token = base64.b64encode(f"{name}:{password}".encode()).decode()
        return {"Authorization": "Basic " + token}

    ddoc = f"/{db}/_design/evil"
    print(json.dumps({
        "GET /": send("GET", "/"),
        "PUT database": send("PUT", "/intruder-db"),
        "PUT design document": send("PUT", ddoc, evil),
        "run the filter": send("GET", f"/{db}/_changes?filter=evil/run"),
        "wrong admin password": send("PUT", ddoc, evil, basic("admin", "guess")),
        "unknown user": send("PUT", ddoc, evil, basic("mallory", "guess")),
        "made-up cookie": send("PUT", ddoc, evil, {"Cookie": "AuthSession=YWRtaW46MTIzNDU2"}),
        "login with a guess": send("POST", "/_session", {"name": "admin", "password": "x"}),
        "read the config": send("GET", "/_config"),
        "create an admin": send("PUT", "/_config/admins/mallory", "pw"),
    }))
    """
)


@pytest.fixture(scope="module")
def local() -> Iterator[LocalServer]:
    if os.environ.get("CLOUDANT_URL"):
        pytest.skip("about the local test server")
    with LocalServer() as server:
        yield server


@pytest.fixture
def database(local: LocalServer) -> Iterator[str]:
    client = local.client()
    client.put_database("victim")
    client.put_document("victim", "a", {"n": 1})
    yield "victim"
    client.delete_database("victim")


def attempts(command: list[str], local: LocalServer, db: str, marker: Path) -> dict[str, int]:
    assert local.url is not None
    done = subprocess.run(
        [*command, "-c", INTRUDER, local.url, db, str(marker)],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},  # nothing of ours
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    statuses: dict[str, int] = json.loads(done.stdout)
    return statuses


def assert_nothing_got_in(local: LocalServer, db: str, marker: Path) -> None:
    client = local.client()
    assert not marker.exists()
    names = client.get_all_dbs().get_result()
    assert "intruder-db" not in names
    with pytest.raises(NotFoundError):
        client.get_design_document(db, "evil")
    admins = requests.get(
        f"{local.url}/_config/admins", auth=(local.username, local.password), timeout=10
    )
    assert admins.status_code == 200
    assert "mallory" not in admins.json()


def test_another_process_cannot_get_in(local: LocalServer, database: str, tmp_path: Path) -> None:
    marker = tmp_path / "map-function-ran"
    statuses = attempts([sys.executable], local, database, marker)
    assert statuses == dict.fromkeys(statuses, 401), statuses
    assert_nothing_got_in(local, database, marker)


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="needs root (and setpriv) to run as another user",
)
def test_another_user_cannot_get_in_nor_read_the_password(
    local: LocalServer, database: str, tmp_path: Path
) -> None:
    python = shutil.which("python3", path="/usr/bin:/bin")
    if python is None:
        pytest.skip("no system python3 for the other user")
    tmp_path.chmod(0o777)  # so that the marker could be written whoever ran the filter
    marker = tmp_path / "map-function-ran"
    nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", python]
    statuses = attempts(nobody, local, database, marker)
    assert statuses == dict.fromkeys(statuses, 401), statuses
    assert_nothing_got_in(local, database, marker)

    process = local._process
    assert process is not None
    snoop = textwrap.dedent(
        """
        import sys
        try:
            print(open(sys.argv[1], "rb").read().decode("latin-1"))
        except OSError as error:
            print("refused", error.errno)
        """
    )
    for what in ("environ", "cmdline"):
        seen = subprocess.run(
            [*nobody, "-c", snoop, f"/proc/{process.pid}/{what}"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
        assert local.password not in seen, what
    assert local.password not in Path(f"/proc/{process.pid}/cmdline").read_text("latin-1")


def test_the_admin_gets_in_with_basic_auth_and_with_a_session_cookie(
    local: LocalServer, database: str
) -> None:
    client = local.client()
    design = {"views": {"all": {"map": "function (doc) { emit(doc._id, null); }"}}}
    client.put_design_document(database, "app", design)
    rows = client.post_view(database, "app", "all").get_result()["rows"]
    assert [row["id"] for row in rows] == ["a"]
    assert client.get_session_information().get_result()["userCtx"] == {
        "name": "admin",
        "roles": ["_admin"],
    }

    by_cookie = CloudantV1(CouchDbSessionAuthenticator(local.username, local.password))
    assert local.url is not None
    by_cookie.set_service_url(local.url)
    info = by_cookie.get_session_information().get_result()
    assert info["info"]["authenticated"] == "cookie"
    assert info["userCtx"]["name"] == "admin"
    by_cookie.put_document(database, "b", {"n": 2})
    assert client.get_document(database, "b").get_result()["n"] == 2


def test_a_restarted_server_keeps_its_credentials(tmp_path: Path) -> None:
    if os.environ.get("CLOUDANT_URL"):
        pytest.skip("about the local test server")
    server = LocalServer(memory=False, data_dir=tmp_path / "data")
    with server:
        client = server.client()
        client.put_database("kept")
        client.put_document("kept", "a", {"n": 1})
    with server:  # the same object, the same password: old clients keep working
        client.set_service_url(server.url or "")
        assert client.get_document("kept", "a").get_result()["n"] == 1
        anonymous = requests.get(f"{server.url}/kept", timeout=10)
        assert anonymous.status_code == 401
        assert anonymous.json() == {"error": "unauthorized", "reason": "Authentication required."}
    assert server.password not in repr(server)


def test_a_relative_data_dir_is_the_callers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new user's ``LocalServer(memory=False, data_dir=Path("couch"))`` keeps its data
    under their working directory, not in the launcher's folder."""
    if os.environ.get("CLOUDANT_URL"):
        pytest.skip("about the local test server")
    monkeypatch.chdir(tmp_path)
    with LocalServer(memory=False, data_dir=Path("couch")) as server:
        server.client().put_database("kept")
        server.client().put_document("kept", "a", {"n": 1})
    assert (tmp_path / "couch").is_dir()
    assert any((tmp_path / "couch").iterdir())

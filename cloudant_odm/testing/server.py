"""A local CouchDB-compatible server (PouchDB Server) for tests: started on 127.0.0.1
on a free port, in memory or on LevelDB, and stopped cleanly.

The Node launcher (``server.js`` with its pinned ``package.json`` / ``package-lock.json``)
ships inside the wheel; its npm packages are installed on first use into a cache folder
(``$CLOUDANT_ODM_CACHE`` or ``~/.cache/cloudant-odm``). In a source checkout the launcher
in ``scripts/couch-server`` is used, installed in place.

Every request to the server must authenticate: each :class:`LocalServer` has its own
admin, with a random password, that :meth:`LocalServer.client` and
:meth:`LocalServer.authenticator` use. (Any local user can reach a loopback port, and
PouchDB runs map functions in the server's process without a sandbox.)
"""

from __future__ import annotations

import hashlib
import os
import queue
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from cloudant_odm.client import BasicAuthenticator, CloudantV1

__all__ = ["LocalServer", "ensure_installed", "launcher_dir", "new_database_name"]

START_TIMEOUT = float(os.environ.get("COUCH_SERVER_START_TIMEOUT", "30"))
_PACKAGED = Path(__file__).resolve().parent / "couch-server"
_CHECKOUT = Path(__file__).resolve().parents[2] / "scripts" / "couch-server"
_LAUNCHER_FILES = ("server.js", "package.json", "package-lock.json")


def launcher_dir() -> Path:
    """Where the launcher's files are: in the installed package, else the checkout."""
    for folder in (_PACKAGED, _CHECKOUT):
        if (folder / "server.js").is_file():
            return folder
    raise RuntimeError("the local server launcher (server.js) is missing from this installation")


def ensure_installed() -> Path:
    """The folder to run the launcher from, with its npm packages installed (a quick
    no-op when they are current)."""
    source = launcher_dir()
    if source == _CHECKOUT:  # the checkout's own installer (scripts/couch-server)
        subprocess.run(["bash", str(source / "couch-server"), "install"], check=True)
        return source
    # site-packages may be read-only and is no place for node_modules: use a cache.
    lock = (source / "package-lock.json").read_bytes()
    cache = Path(os.environ.get("CLOUDANT_ODM_CACHE", Path.home() / ".cache" / "cloudant-odm"))
    folder = cache / f"couch-server-{hashlib.sha256(lock).hexdigest()[:12]}"
    folder.mkdir(parents=True, exist_ok=True)
    for name in _LAUNCHER_FILES:
        shutil.copyfile(source / name, folder / name)
    stamp = folder / "node_modules" / ".cloudant-odm-lock"
    if stamp.is_file() and stamp.read_bytes() == hashlib.sha256(lock).digest():
        return folder
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed: cannot install the local server's packages")
    subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=folder,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    stamp.write_bytes(hashlib.sha256(lock).digest())
    return folder


@dataclass
class LocalServer:
    """The node launcher (``scripts/couch-server/server.js``) as a child process.

    ``port`` 0 (the default) takes a free port; a fixed port keeps ``url`` the same when
    the server is stopped and started again. With ``memory=False`` and a ``data_dir``
    the databases are LevelDB directories there and survive a restart.

    The server accepts only requests authenticated as its admin, ``username`` with
    ``password`` (random unless given; the same across a restart of this object), or
    as a ``_users`` user the admin created.
    """

    memory: bool = True
    data_dir: Path | None = None
    port: int = 0
    url: str | None = None
    username: str = "admin"
    password: str = field(default_factory=lambda: secrets.token_urlsafe(24), repr=False)
    log_path: Path | None = None
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _log_file: IO[bytes] | None = field(default=None, repr=False)
    _reader: threading.Thread | None = field(default=None, repr=False)

    def start(self, timeout: float = START_TIMEOUT) -> str:
        node = shutil.which("node")
        if node is None:
            raise RuntimeError(
                "node is not installed: install Node.js >= 18 (with npm), or point the tests "
                "at a server with CLOUDANT_URL"
            )
        folder = ensure_installed()
        args = [node, str(folder / "server.js"), "--port", str(self.port), "--exit-with-parent"]
        if self.memory or self.data_dir is None:
            args.append("--memory")
        else:
            # Absolute: the launcher runs in its own folder, not in the caller's.
            args += ["--data", str(Path(self.data_dir).resolve())]
        log_dir = Path(tempfile.mkdtemp(prefix="cloudant-odm-server-"))
        self.log_path = log_dir / "server.log"
        self._log_file = self.log_path.open("wb")
        # In the environment, not the arguments: other users can read a command line.
        env = dict(
            os.environ,
            COUCH_SERVER_ADMIN_USER=self.username,
            COUCH_SERVER_ADMIN_PASSWORD=self.password,
        )
        self._process = subprocess.Popen(
            args,
            cwd=folder,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._log_file,
            start_new_session=True,  # Ctrl-C in the terminal is handled by us, not by node
        )
        lines: queue.Queue[str | None] = queue.Queue()
        stdout = self._process.stdout
        assert stdout is not None

        def read_stdout() -> None:
            # Keeps draining stdout so the server can never block writing to it.
            for raw in stdout:
                lines.put(raw.decode("utf-8", "replace").strip())
            lines.put(None)

        self._reader = threading.Thread(target=read_stdout, name="couch-server-stdout", daemon=True)
        self._reader.start()
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                tail = self.log_tail()
                self.stop()
                raise RuntimeError(
                    f"local server did not print LISTENING within {timeout:.0f}s\n{tail}"
                )
            try:
                line = lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                code = self._process.wait()
                tail = self.log_tail()
                self.stop()
                raise RuntimeError(f"local server exited with status {code} during startup\n{tail}")
            if line.startswith("LISTENING "):
                self.url = line.split(" ", 1)[1].strip().rstrip("/")
                return self.url

    def authenticator(self) -> BasicAuthenticator:
        """The admin's credentials, as an authenticator for :class:`CloudantV1`."""
        return BasicAuthenticator(self.username, self.password)

    def client(self) -> CloudantV1:
        """A client for the running server, authenticated as its admin."""
        if self.url is None:
            raise RuntimeError("the local server is not running: call start() first")
        client = CloudantV1(authenticator=self.authenticator())
        client.set_service_url(self.url)
        return client

    def stop(self, timeout: float = 10.0) -> None:
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            if self._reader is not None:
                self._reader.join(timeout=timeout)
                self._reader = None
            if process.stdout is not None:
                process.stdout.close()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if self.log_path is not None and not os.environ.get("COUCH_SERVER_KEEP_LOG"):
            shutil.rmtree(self.log_path.parent, ignore_errors=True)
            self.log_path = None

    def log_tail(self, lines: int = 40) -> str:
        if self.log_path is None or not self.log_path.exists():
            return "(no server log)"
        text = self.log_path.read_text("utf-8", "replace").splitlines()
        return f"--- last lines of {self.log_path} ---\n" + "\n".join(text[-lines:])

    def __enter__(self) -> LocalServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def new_database_name(prefix: str = "test") -> str:
    """A unique, valid database name."""
    return f"{prefix}-{uuid.uuid4().hex[:16]}"

"""Shared pytest fixtures: the integration-test server and clients for it.

Server selection (see tests/_server.py): ``CLOUDANT_URL`` (real Cloudant/CouchDB,
credentials from the ``CLOUDANT_*`` variables), else ``CLOUDANT_TEST_SERVER_URL``,
else a local PouchDB Server started for the session (needs node + npm).

Tests that use ``server_url``, ``server_info``, ``is_pouchdb``, ``server_http``,
``db_name``, ``client`` or ``requires`` are marked ``server`` automatically, so
``pytest -m "not server"`` runs without any server.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests

# tests/ holds the helper module _server.py; make it importable whatever the
# import mode (pytest's default "prepend" mode does this already).
if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

import _server
from _server import ServerConfig

if TYPE_CHECKING:
    from cloudant_odm.aio import AsyncCloudantV1
    from cloudant_odm.client import CloudantV1

SERVER_FIXTURES = frozenset(
    {
        "server_config",
        "server_url",
        "server_info",
        "is_pouchdb",
        "server_http",
        "db_name",
        "client",
        "requires",
    }
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "skip_on_pouchdb(*features): skip when the server is PouchDB Server; features are "
        "keys of tests._server.POUCHDB_GAPS (use tests._server.skip_on_pouchdb())",
    )
    config.addinivalue_line(
        "markers", "slow: takes seconds rather than milliseconds (deselect with -m 'not slow')"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _uses_server_fixture(item) or item.get_closest_marker("skip_on_pouchdb"):
            item.add_marker(pytest.mark.server)


def _uses_server_fixture(item: pytest.Item) -> bool:
    """Whether the test uses one of this file's server fixtures (a test module's own
    fixture of the same name, e.g. a mocked ``client``, doesn't count)."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    for name in SERVER_FIXTURES.intersection(info.names_closure):
        definitions = info.name2fixturedefs.get(name, ())
        if definitions and definitions[-1].func.__module__ == __name__:
            return True
    return False


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    """Async tests (``@pytest.mark.anyio``, anyio's pytest plugin) run on asyncio, which
    ``cloudant_odm.aio`` is for."""
    return "asyncio"


@pytest.fixture(scope="session")
def server_config() -> Iterator[ServerConfig]:
    """Where the server is, starting the local PouchDB Server when none is configured."""
    config = _server.config_from_env()
    if config is not None:
        yield config
        return
    local = _server.LocalServer(memory=True)
    local.start()
    try:
        yield _server.launched(local)
    finally:
        local.stop()


@pytest.fixture(scope="session")
def server_http(server_config: ServerConfig) -> Iterator[requests.Session]:
    """A plain, authenticated ``requests.Session`` for the server (Accept: JSON)."""
    session = _server.http_session(server_config)
    try:
        yield session
    finally:
        session.close()


@pytest.fixture(scope="session")
def server_url(server_config: ServerConfig) -> str:
    """The server's base URL, without a trailing slash."""
    return server_config.url


@pytest.fixture(scope="session")
def server_info(server_url: str, server_http: requests.Session) -> dict[str, Any]:
    """The JSON of ``GET /`` (tells PouchDB Server from CouchDB / Cloudant)."""
    return _server.wait_until_up(server_http, server_url)


@pytest.fixture(scope="session")
def is_pouchdb(server_info: dict[str, Any]) -> bool:
    """True when the server is PouchDB Server (the local test server)."""
    return _server.is_pouchdb(server_info)


@pytest.fixture
def requires(is_pouchdb: bool) -> Callable[..., None]:
    """``requires("partitions", ...)`` inside a test: skip it on PouchDB Server."""

    def check(*features: str) -> None:
        reason = _server.pouchdb_skip_reason(features)
        if is_pouchdb:
            pytest.skip(reason)

    return check


@pytest.fixture(autouse=True)
def _skip_on_pouchdb_marker(request: pytest.FixtureRequest) -> None:
    marker = request.node.get_closest_marker("skip_on_pouchdb")
    if marker is None:
        return
    reason = _server.pouchdb_skip_reason(marker.args)
    if request.getfixturevalue("is_pouchdb"):
        pytest.skip(reason)


@pytest.fixture
def db_name(server_url: str, server_http: requests.Session) -> Iterator[str]:
    """A freshly created, uniquely named database; deleted after the test."""
    name = _server.unique_db_name()
    response = server_http.put(f"{server_url}/{name}", timeout=_server.REQUEST_TIMEOUT)
    if response.status_code not in (201, 202):
        pytest.fail(f"could not create database {name}: {response.status_code} {response.text}")
    try:
        yield name
    finally:
        response = server_http.delete(f"{server_url}/{name}", timeout=_server.REQUEST_TIMEOUT)
        if response.status_code not in (200, 202, 404):
            pytest.fail(f"could not delete database {name}: {response.status_code} {response.text}")


@pytest.fixture
def client(server_config: ServerConfig) -> CloudantV1:
    """A ``CloudantV1`` for the server: from the environment when ``CLOUDANT_URL`` is
    set, otherwise as the local test server's admin."""
    return server_config.client()


@pytest.fixture
async def aclient(server_config: ServerConfig) -> AsyncIterator[AsyncCloudantV1]:
    """``client``'s ``AsyncCloudantV1`` (the async extra), closed after the test."""
    client = server_config.async_client()
    async with client:
        yield client

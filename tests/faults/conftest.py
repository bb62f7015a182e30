"""Fixtures for the fault-injection tests: clients behind a fault-injecting proxy, and a
LevelDB-backed server that can be stopped and started again on the same URL."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from _proxy import RecordingProxy
from _server import LocalServer, ServerConfig

from cloudant_odm.client import CloudantV1


def free_port() -> int:
    """A loopback port nothing listens on (right now)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def client_for(server_config: ServerConfig, url: str) -> CloudantV1:
    """A client for the test server (its credentials) that sends to ``url``."""
    return server_config.client(url)


@pytest.fixture
def proxied(
    server_config: ServerConfig,
) -> Iterator[Callable[..., tuple[RecordingProxy, CloudantV1]]]:
    """``proxied(proxy_class=RecordingProxy, **kwargs)``: a proxy in front of the test
    server and a client that talks through it; both closed after the test."""
    made: list[tuple[RecordingProxy, CloudantV1]] = []

    def make(
        proxy_class: type[RecordingProxy] = RecordingProxy, **kwargs: object
    ) -> tuple[RecordingProxy, CloudantV1]:
        proxy = proxy_class(server_config.url, **kwargs)  # type: ignore[arg-type]
        client = client_for(server_config, proxy.url)
        made.append((proxy, client))
        return proxy, client

    yield make
    for proxy, client in made:
        client.close()
        proxy.close()


@pytest.fixture
def restartable_server(tmp_path: Path) -> Iterator[LocalServer]:
    """A PouchDB Server on LevelDB in ``tmp_path``, on a fixed port: ``stop()`` and
    ``start()`` keep its URL and its data. Stopped and its data deleted afterwards."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed: cannot start a local server to restart")
    data_dir = tmp_path / "couch-data"
    server = LocalServer(memory=False, data_dir=data_dir, port=free_port())
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)

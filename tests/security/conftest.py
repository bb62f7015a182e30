"""Fixtures for the security tests: a recording proxy in front of the test server and a
client that talks through it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from _proxy import RecordingProxy
from _server import ServerConfig

from cloudant_odm.client import CloudantV1


@pytest.fixture(scope="module")
def proxy(server_config: ServerConfig) -> Iterator[RecordingProxy]:
    """A recording proxy on 127.0.0.1 in front of the test server."""
    with RecordingProxy(server_config.url) as recording:
        yield recording


@pytest.fixture(scope="module")
def proxied_client(server_config: ServerConfig, proxy: RecordingProxy) -> Iterator[CloudantV1]:
    """A client whose every request goes through ``proxy``."""
    with server_config.client(proxy.url) as client:
        yield client

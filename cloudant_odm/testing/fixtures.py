"""The pytest fixtures of :mod:`cloudant_odm.testing` (imported there when pytest is
installed; enable them with ``pytest_plugins = ["cloudant_odm.testing"]``)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import pytest

from cloudant_odm.client import CloudantV1, NoAuthAuthenticator, NotFoundError
from cloudant_odm.session import Session
from cloudant_odm.testing.server import LocalServer, new_database_name

__all__ = ["cloudant_client", "cloudant_db", "cloudant_server", "cloudant_session"]


@pytest.fixture(scope="session")
def cloudant_server() -> Iterator[str]:
    """The server's URL: ``CLOUDANT_URL``, else a local server started for the run."""
    configured = os.environ.get("CLOUDANT_URL")
    if configured:
        yield configured.rstrip("/")
        return
    with LocalServer() as server:
        assert server.url is not None
        yield server.url


@pytest.fixture(scope="session")
def cloudant_client(cloudant_server: str) -> Iterator[CloudantV1]:
    """A client for :func:`cloudant_server` (credentials from the environment when
    ``CLOUDANT_URL`` is set)."""
    if os.environ.get("CLOUDANT_URL"):
        client = CloudantV1.new_instance()
    else:
        client = CloudantV1(NoAuthAuthenticator())
        client.set_service_url(cloudant_server)
    with client:
        yield client


@pytest.fixture
def cloudant_db(cloudant_client: CloudantV1) -> Iterator[str]:
    """The name of a new, empty database, deleted after the test."""
    name = new_database_name()
    cloudant_client.put_database(name)
    try:
        yield name
    finally:
        with contextlib.suppress(NotFoundError):  # the test may have deleted it
            cloudant_client.delete_database(name)


@pytest.fixture
def cloudant_session(cloudant_client: CloudantV1, cloudant_db: str) -> Session:
    """A :class:`~cloudant_odm.Session` on :func:`cloudant_db` (nothing is committed
    for you: call ``commit()`` as the code under test would)."""
    return Session(cloudant_client, db=cloudant_db)

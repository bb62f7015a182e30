"""The pytest fixtures of :mod:`cloudant_odm.testing` (imported there when pytest is
installed; enable them with ``pytest_plugins = ["cloudant_odm.testing"]``)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import pytest

from cloudant_odm.client import CloudantV1, NotFoundError
from cloudant_odm.session import Session
from cloudant_odm.testing.server import LocalServer, new_database_name

__all__ = [
    "cloudant_client",
    "cloudant_db",
    "cloudant_local_server",
    "cloudant_server",
    "cloudant_session",
]


@pytest.fixture(scope="session")
def cloudant_local_server() -> Iterator[LocalServer | None]:
    """The local server started for the run (its ``url``, ``username``, ``password``,
    ``authenticator()``, ``client()``), or None when ``CLOUDANT_URL`` is set."""
    if os.environ.get("CLOUDANT_URL"):
        yield None
        return
    with LocalServer() as server:
        yield server


@pytest.fixture(scope="session")
def cloudant_server(cloudant_local_server: LocalServer | None) -> str:
    """The server's URL: ``CLOUDANT_URL``, else the local server's."""
    if cloudant_local_server is None:
        return os.environ["CLOUDANT_URL"].rstrip("/")
    assert cloudant_local_server.url is not None
    return cloudant_local_server.url


@pytest.fixture(scope="session")
def cloudant_client(
    cloudant_server: str, cloudant_local_server: LocalServer | None
) -> Iterator[CloudantV1]:
    """A client for :func:`cloudant_server`: credentials from the environment when
    ``CLOUDANT_URL`` is set, else the local server's admin."""
    if cloudant_local_server is None:
        client = CloudantV1.new_instance()
    else:
        client = cloudant_local_server.client()
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

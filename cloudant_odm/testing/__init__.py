"""Test helpers for applications that use cloudant_odm: a throw-away database on a
local CouchDB-compatible server for each test.

Enable the fixtures in your ``conftest.py``::

    pytest_plugins = ["cloudant_odm.testing"]

and use them::

    def test_orders(cloudant_session):
        cloudant_session.add(Order(customer="bob"))
        cloudant_session.commit()

Without ``CLOUDANT_URL`` the fixtures start a local PouchDB Server (Node.js and npm
needed; its packages are installed on first use) on 127.0.0.1 for the test run, which
accepts only its own generated admin credentials (the fixtures use them). With
``CLOUDANT_URL`` (and ``CLOUDANT_AUTH_TYPE`` with credentials) they use that server.
Each test gets its own database, deleted afterwards.

:class:`LocalServer` and :func:`new_database_name` work without pytest installed (to
start a throw-away server from a script, say); the fixtures are defined only when
pytest is importable.
"""

from __future__ import annotations

import importlib.util

from cloudant_odm.testing.server import (
    LocalServer,
    ensure_installed,
    launcher_dir,
    new_database_name,
)

__all__ = [
    "LocalServer",
    "cloudant_client",
    "cloudant_db",
    "cloudant_local_server",
    "cloudant_server",
    "cloudant_session",
    "ensure_installed",
    "launcher_dir",
    "new_database_name",
]

if importlib.util.find_spec("pytest") is None:  # LocalServer alone works without it
    __all__ = ["LocalServer", "ensure_installed", "launcher_dir", "new_database_name"]
else:
    # Module attributes, so that pytest_plugins = ["cloudant_odm.testing"] finds them.
    from cloudant_odm.testing.fixtures import (
        cloudant_client,
        cloudant_db,
        cloudant_local_server,
        cloudant_server,
        cloudant_session,
    )

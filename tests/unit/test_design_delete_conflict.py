"""A design document that changed after a deploy read it is not deleted."""

from __future__ import annotations

import logging

import pytest
import responses

from cloudant_odm.client import CloudantV1, NoAuthAuthenticator
from cloudant_odm.client.flows import run
from cloudant_odm.design.sync import _Deployer

URL = "http://couch.test"


@responses.activate
def test_a_delete_that_conflicts_leaves_the_document(caplog: pytest.LogCaptureFixture) -> None:
    client = CloudantV1(NoAuthAuthenticator())
    client.set_service_url(URL)
    responses.delete(
        f"{URL}/db/_design/legacy",
        status=409,
        json={"error": "conflict", "reason": "Document update conflict."},
    )
    deployer = _Deployer.__new__(_Deployer)  # only its db is used here
    deployer.db = "db"
    with caplog.at_level(logging.WARNING, logger="cloudant_odm.design"):
        run(deployer.delete("legacy", "1-planned"), client)
    assert [c.request.method for c in responses.calls] == ["DELETE"]  # no second delete
    assert "changed since it was read" in caplog.text

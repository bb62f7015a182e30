"""cloudant_odm.client.common: the SDK's helpers for what requests say about themselves."""

from __future__ import annotations

import platform
import re

from cloudant_odm import __version__
from cloudant_odm.client import common
from cloudant_odm.client.transport import user_agent


def test_system_info_names_interpreter_and_machine() -> None:
    info = common.get_system_info()
    assert f"python.version={platform.python_version()};" in info
    assert f"os.name={platform.system()};" in info
    assert info.endswith("lang=python;")


def test_user_agent_names_this_library_and_is_the_clients() -> None:
    agent = common.get_user_agent()
    assert re.fullmatch(rf"cloudant-odm/{re.escape(__version__)} \(.*\)", agent)
    assert user_agent() == agent  # one text, used by the client's requests
    assert common.get_user_agent("iam-authenticator").startswith(
        f"cloudant-odm/{__version__} iam-authenticator ("
    )


def test_sdk_headers() -> None:
    headers = common.get_sdk_headers("cloudant", "V1", "get_document")
    assert headers == {
        "X-IBMCloud-SDK-Analytics": "service_name=cloudant;service_version=V1;"
        "operation_id=get_document",
        "User-Agent": common.get_user_agent(),
    }

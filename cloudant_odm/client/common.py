"""What requests say about the library and the machine, as the SDK's ``common`` module.

One place for the ``User-Agent`` text: the client's requests and the authenticators'
token requests both take it from here.
"""

from __future__ import annotations

import platform

from cloudant_odm._version import __version__

__all__ = [
    "SDK_ANALYTICS_HEADER",
    "SDK_NAME",
    "USER_AGENT_HEADER",
    "get_sdk_analytics",
    "get_sdk_headers",
    "get_system_info",
    "get_user_agent",
]

SDK_ANALYTICS_HEADER = "X-IBMCloud-SDK-Analytics"
USER_AGENT_HEADER = "User-Agent"
#: The name requests carry. Not the SDK's: servers' logs should tell the two apart.
SDK_NAME = "cloudant-odm"


def get_system_info() -> str:
    """``python.version=...; python.vendor=...; os.name=...; os.version=...;
    os.arch=...; lang=python;`` for this interpreter and machine."""
    return (
        f"python.version={platform.python_version()}; "
        f"python.vendor={platform.python_implementation()}; "
        f"os.name={platform.system()}; os.version={platform.release()}; "
        f"os.arch={platform.machine()}; lang=python;"
    )


def get_user_agent(component: str = "") -> str:
    """``cloudant-odm/<version> (<system info>)``; ``component`` (e.g. ``iam-authenticator``)
    goes after the version, for requests that aren't the client's own."""
    middle = f" {component}" if component else ""
    return f"{SDK_NAME}/{__version__}{middle} ({get_system_info()})"


def get_sdk_analytics(service_name: str, service_version: str, operation_id: str) -> str:
    return (
        f"service_name={service_name};service_version={service_version};operation_id={operation_id}"
    )


def get_sdk_headers(service_name: str, service_version: str, operation_id: str) -> dict[str, str]:
    """The SDK's per-operation headers: ``X-IBMCloud-SDK-Analytics`` and ``User-Agent``.
    The client itself sends only the ``User-Agent``; this is for code that built its own
    requests with the SDK's helper."""
    return {
        SDK_ANALYTICS_HEADER: get_sdk_analytics(service_name, service_version, operation_id),
        USER_AGENT_HEADER: get_user_agent(),
    }

"""External configuration: credentials file, environment variables, ``VCAP_SERVICES``.

Keys are read for one service name: ``cloudant`` reads ``CLOUDANT_URL``,
``CLOUDANT_APIKEY``, ``CLOUDANT_AUTH_TYPE`` ... The first source that has any key for
the service is used alone (sources are never merged), in this order: the credentials
file, the environment, ``VCAP_SERVICES``.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs

from cloudant_odm.client.auth import (
    Authenticator,
    BasicAuthenticator,
    BearerTokenAuthenticator,
    ContainerAuthenticator,
    CouchDbSessionAuthenticator,
    IAMAssumeAuthenticator,
    IAMAuthenticator,
    NoAuthAuthenticator,
    VPCInstanceAuthenticator,
    VPCInstanceTokenManager,
)

__all__ = [
    "CREDENTIALS_FILENAME",
    "ServiceConfig",
    "get_authenticator_from_environment",
    "read_external_sources",
    "service_config",
]

logger = logging.getLogger(__name__)

CREDENTIALS_FILENAME = "ibm-credentials.env"

# Keys that say something about authentication; with none of them (and no AUTH_TYPE)
# nothing is configured and no authenticator is built.
_AUTH_KEYS = frozenset(
    {
        "APIKEY",
        "USERNAME",
        "PASSWORD",
        "BEARER_TOKEN",
        "CR_TOKEN_FILENAME",
        "IAM_PROFILE_NAME",
        "IAM_PROFILE_ID",
        "IAM_PROFILE_CRN",
    }
)
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


def env_prefix(service_name: str) -> str:
    """``my-svc`` -> ``MY_SVC``: the prefix of the service's variables (without ``_``)."""
    return service_name.upper().replace(" ", "_").replace("-", "_")


def read_external_sources(service_name: str) -> dict[str, str]:
    """The service's configuration keys (prefix removed) from the first source that has any."""
    prefix = env_prefix(service_name) + "_"
    for source in (_read_credentials_file, _read_environment):
        config = source(prefix)
        if config:
            return config
    return _read_vcap_services(service_name)


def _credentials_file() -> Path | None:
    explicit = os.environ.get("IBM_CREDENTIALS_FILE")
    if explicit:
        return Path(explicit)  # when set, it is the only file consulted
    for directory in (Path.cwd(), Path.home()):
        candidate = directory / CREDENTIALS_FILENAME
        if candidate.is_file():
            return candidate
    return None


def _read_credentials_file(prefix: str) -> dict[str, str]:
    path = _credentials_file()
    if path is None:
        return {}
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        # The SDK ignores an unreadable file; we do too, but say so.
        logger.warning("Can't read credentials file %s: %s", path, exc.strerror or exc)
        return {}
    config: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        name = name.strip()
        if sep and name.startswith(prefix) and len(name) > len(prefix):
            config[name[len(prefix) :]] = value.strip()
    return config


def _read_environment(prefix: str) -> dict[str, str]:
    return {
        name[len(prefix) :]: value
        for name, value in os.environ.items()
        if name.startswith(prefix) and len(name) > len(prefix)
    }


def _read_vcap_services(service_name: str) -> dict[str, str]:
    raw = os.environ.get("VCAP_SERVICES")
    if not raw:
        return {}
    try:
        services = json.loads(raw)
    except ValueError as exc:
        raise ValueError("VCAP_SERVICES is not valid JSON") from exc
    if not isinstance(services, dict):
        raise ValueError("VCAP_SERVICES must be a JSON object")
    entry = _vcap_entry(services, service_name)
    credentials = entry.get("credentials") if entry else None
    if not isinstance(credentials, dict):
        return {}

    def text(key: str) -> str | None:
        value = credentials.get(key)
        return value if isinstance(value, str) and value else None

    config: dict[str, str] = {}
    username, password = text("username"), text("password")
    apikey = text("iam_apikey") or text("apikey")
    if username and password:
        config.update(AUTH_TYPE="basic", USERNAME=username, PASSWORD=password)
    elif apikey:
        config.update(AUTH_TYPE="iam", APIKEY=apikey)
    url = text("url")
    if url:
        # The SDK drops it, leaving the client on a placeholder host; keep it.
        config["URL"] = url
    return config


def _vcap_entry(services: Mapping[str, Any], service_name: str) -> Mapping[str, Any] | None:
    """The entry named ``service_name`` (any type), else the first of type ``service_name``."""
    for entries in services.values():
        if isinstance(entries, list):
            for entry in entries:
                if isinstance(entry, dict) and entry.get("name") == service_name:
                    return entry
    entries = services.get(service_name)
    if isinstance(entries, list) and entries and isinstance(entries[0], dict):
        first: Mapping[str, Any] = entries[0]
        return first
    return None


# -- typed values -----------------------------------------------------------------------


class _Reader:
    """Reads typed values from a config dict; errors name the full variable."""

    def __init__(self, config: Mapping[str, str], service_name: str) -> None:
        self.config = config
        self.prefix = env_prefix(service_name)

    def var(self, key: str) -> str:
        return f"{self.prefix}_{key}"

    def text(self, key: str) -> str | None:
        value = self.config.get(key)
        return value if value else None

    def required(self, key: str, auth_type: str, *, allow_empty: bool = False) -> str:
        value = self.config.get(key)
        if value is None or (not value and not allow_empty):
            raise ValueError(f"{self.var(key)} must be set for AUTH_TYPE {auth_type}")
        return value

    def flag(self, key: str) -> bool | None:
        value = self.config.get(key)
        if value is None or not value.strip():
            return None
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError(f"{self.var(key)} must be true or false, got {value!r}")

    def integer(self, key: str) -> int | None:
        value = self.config.get(key)
        if value is None or not value.strip():
            return None
        try:
            number = int(value.strip())
        except ValueError:
            raise ValueError(f"{self.var(key)} must be an integer, got {value!r}") from None
        if number < 0:
            raise ValueError(f"{self.var(key)} must not be negative, got {value!r}")
        return number

    def number(self, key: str) -> float | None:
        value = self.config.get(key)
        if value is None or not value.strip():
            return None
        try:
            number = float(value.strip())
        except ValueError:
            raise ValueError(f"{self.var(key)} must be a number, got {value!r}") from None
        if not math.isfinite(number) or number < 0:
            raise ValueError(f"{self.var(key)} must be a non-negative number, got {value!r}")
        return number


@attrs.frozen(kw_only=True)
class ServiceConfig:
    """The service-level settings from the external configuration.

    ``None`` means "not configured": the client keeps its own default.
    """

    url: str | None = None
    disable_ssl: bool | None = None
    enable_gzip: bool | None = None
    enable_retries: bool | None = None
    max_retries: int | None = None
    retry_interval: float | None = None

    @classmethod
    def from_config(
        cls, config: Mapping[str, str], service_name: str = "cloudant"
    ) -> ServiceConfig:
        read = _Reader(config, service_name)
        return cls(
            url=read.text("URL"),
            disable_ssl=read.flag("DISABLE_SSL"),
            enable_gzip=read.flag("ENABLE_GZIP"),
            enable_retries=read.flag("ENABLE_RETRIES"),
            max_retries=read.integer("MAX_RETRIES"),
            retry_interval=read.number("RETRY_INTERVAL"),
        )


def service_config(service_name: str = "cloudant") -> ServiceConfig:
    """The service-level settings for ``service_name`` from the external sources."""
    return ServiceConfig.from_config(read_external_sources(service_name), service_name)


# -- authenticators ---------------------------------------------------------------------


def _basic(read: _Reader) -> Authenticator:
    return BasicAuthenticator(
        read.required("USERNAME", "basic"),
        read.required("PASSWORD", "basic", allow_empty=True),
    )


def _bearer(read: _Reader) -> Authenticator:
    return BearerTokenAuthenticator(read.required("BEARER_TOKEN", "bearerToken"))


def _noauth(read: _Reader) -> Authenticator:
    return NoAuthAuthenticator()


def _iam_request(read: _Reader) -> dict[str, Any]:
    """The IAM token request's settings, shared by the IAM family's authenticators."""
    return {
        "url": read.text("AUTH_URL"),
        "client_id": read.text("CLIENT_ID"),
        "client_secret": read.text("CLIENT_SECRET"),
        "disable_ssl_verification": bool(read.flag("AUTH_DISABLE_SSL")),
        "scope": read.text("SCOPE"),
    }


def _iam(read: _Reader) -> Authenticator:
    return IAMAuthenticator(
        read.required("APIKEY", "iam"),
        **_iam_request(read),
    )


def _iam_assume(read: _Reader) -> Authenticator:
    return IAMAssumeAuthenticator(
        read.required("APIKEY", "iamAssume"),
        iam_profile_id=read.text("IAM_PROFILE_ID"),
        iam_profile_crn=read.text("IAM_PROFILE_CRN"),
        iam_profile_name=read.text("IAM_PROFILE_NAME"),
        iam_account_id=read.text("IAM_ACCOUNT_ID"),
        **_iam_request(read),
    )


def _container(read: _Reader) -> Authenticator:
    name, profile_id = read.text("IAM_PROFILE_NAME"), read.text("IAM_PROFILE_ID")
    if not name and not profile_id:
        raise ValueError(
            f"Container authentication needs {read.var('IAM_PROFILE_NAME')} or "
            f"{read.var('IAM_PROFILE_ID')} (it is the default when {read.var('AUTH_TYPE')} "
            f"and {read.var('APIKEY')} are not set)"
        )
    return ContainerAuthenticator(
        cr_token_filename=read.text("CR_TOKEN_FILENAME"),
        iam_profile_name=name,
        iam_profile_id=profile_id,
        **_iam_request(read),
    )


def _vpc(read: _Reader) -> Authenticator:
    return VPCInstanceAuthenticator(
        iam_profile_crn=read.text("IAM_PROFILE_CRN"),
        iam_profile_id=read.text("IAM_PROFILE_ID"),
        iam_profile_name=read.text("IAM_PROFILE_NAME"),
        url=read.text("AUTH_URL"),
        service_version=read.text("VPC_IMS_VERSION") or VPCInstanceTokenManager.DEFAULT_VERSION,
    )


def _couchdb_session(read: _Reader) -> Authenticator:
    return CouchDbSessionAuthenticator(
        read.required("USERNAME", "COUCHDB_SESSION"),
        read.required("PASSWORD", "COUCHDB_SESSION", allow_empty=True),
        # DISABLE_SSL (the service's flag), not AUTH_DISABLE_SSL: the login goes to the
        # service itself.
        disable_ssl_verification=bool(read.flag("DISABLE_SSL")),
    )


# Lower-cased AUTH_TYPE -> builder.
_BUILDERS: dict[str, Callable[[_Reader], Authenticator]] = {
    Authenticator.AUTHTYPE_BASIC.lower(): _basic,
    Authenticator.AUTHTYPE_BEARERTOKEN.lower(): _bearer,
    Authenticator.AUTHTYPE_NOAUTH.lower(): _noauth,
    Authenticator.AUTHTYPE_IAM.lower(): _iam,
    Authenticator.AUTHTYPE_IAM_ASSUME.lower(): _iam_assume,
    Authenticator.AUTHTYPE_CONTAINER.lower(): _container,
    Authenticator.AUTHTYPE_VPC.lower(): _vpc,
    Authenticator.AUTHTYPE_COUCHDB_SESSION.lower(): _couchdb_session,
}


def get_authenticator_from_environment(service_name: str = "cloudant") -> Authenticator | None:
    """Build the authenticator the external configuration describes, or None if it
    describes none (no AUTH_TYPE and no credential of any kind)."""
    config = read_external_sources(service_name)
    read = _Reader(config, service_name)
    auth_type = (read.text("AUTH_TYPE") or read.text("AUTHTYPE") or "").strip()
    if not auth_type:
        if not _AUTH_KEYS.intersection(config):
            return None
        # The SDK's default: IAM with an API key, else a container's trusted profile.
        auth_type = "iam" if read.text("APIKEY") else "container"
    builder = _BUILDERS.get(auth_type.lower())
    if builder is None:
        known = ", ".join(
            name
            for name in (
                Authenticator.AUTHTYPE_BASIC,
                Authenticator.AUTHTYPE_BEARERTOKEN,
                Authenticator.AUTHTYPE_NOAUTH,
                Authenticator.AUTHTYPE_IAM,
                Authenticator.AUTHTYPE_IAM_ASSUME,
                Authenticator.AUTHTYPE_CONTAINER,
                Authenticator.AUTHTYPE_VPC,
                Authenticator.AUTHTYPE_COUCHDB_SESSION,
            )
        )
        raise ValueError(
            f"{read.var('AUTH_TYPE')}={auth_type!r} is not supported; use one of {known}"
        )
    try:
        return builder(read)
    except (ValueError, TypeError) as exc:
        # Authenticator messages never contain secret values, so they are safe to pass on.
        raise ValueError(f"Invalid {read.prefix}_* configuration: {exc}") from exc

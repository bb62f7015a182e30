"""``CloudantV1``: every endpoint of the official SDK, plus the ones it lacks.

The operations are declared in ``_catalogue.py`` (one ``Op`` per endpoint, with its
parameters' types, or a ``Compound`` of them) and inherited from
``_methods.Operations``, generated from it. This module adds the configuration methods
(``ServiceSettings``, which the async client shares).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Generic, TypeVar

import requests
from typing_extensions import Self

from cloudant_odm.client._methods import Operations
from cloudant_odm.client._operations import copy_destination, design_id
from cloudant_odm.client.auth import Authenticator
from cloudant_odm.client.config import get_authenticator_from_environment, service_config
from cloudant_odm.client.errors import redact_url
from cloudant_odm.client.transport import Transport, TransportSettings

# copy_destination and design_id are _operations' (named here as before).
__all__ = ["CloudantV1", "ServiceSettings", "copy_destination", "design_id"]


_TransportT = TypeVar("_TransportT", bound=TransportSettings)


class ServiceSettings(ABC, Generic[_TransportT]):
    """The configuration methods of a client, as the SDK names them: ``CloudantV1`` and
    ``cloudant_odm.aio.AsyncCloudantV1`` share them (they configure its transport)."""

    DEFAULT_SERVICE_URL = "https://~replace-with-cloudant-host~.cloudantnosqldb.appdomain.cloud"
    DEFAULT_SERVICE_NAME = "cloudant"

    _transport: _TransportT

    def __init__(self, authenticator: Authenticator | None = None) -> None:
        if authenticator is None:
            raise ValueError("authenticator must be provided")
        authenticator.validate()
        self.authenticator = authenticator
        self._transport = self._new_transport(authenticator)
        self._transport.set_service_url(self.DEFAULT_SERVICE_URL)

    @abstractmethod
    def _new_transport(self, authenticator: Authenticator) -> _TransportT:
        """The transport this client sends with (requests' or httpx's)."""

    @classmethod
    def new_instance(cls, service_name: str = DEFAULT_SERVICE_NAME) -> Self:
        """A client configured from the credentials file, the environment or VCAP_SERVICES
        (``<SERVICE_NAME>_URL``, ``_AUTH_TYPE``, ``_APIKEY``, ``_USERNAME``, ...)."""
        authenticator = get_authenticator_from_environment(service_name)
        if authenticator is None:
            prefix = service_name.upper().replace("-", "_").replace(" ", "_")
            raise ValueError(
                # Starts with the SDK's words, which code written for it may match.
                f"authenticator must be provided: no configuration found for service "
                f"{service_name!r}; set {prefix}_URL and "
                f"{prefix}_AUTH_TYPE (with its credentials) in the environment, a credentials "
                "file or VCAP_SERVICES"
            )
        service = cls(authenticator)
        config = service_config(service_name)
        if config.url:
            service.set_service_url(config.url)
        if config.disable_ssl:
            service.set_disable_ssl_verification(True)
        if config.enable_gzip is not None:
            service.set_enable_gzip_compression(config.enable_gzip)
        if config.enable_retries:
            service.enable_retries(
                max_retries=config.max_retries if config.max_retries is not None else 4,
                retry_interval=config.retry_interval if config.retry_interval is not None else 30.0,
            )
        return service

    def __repr__(self) -> str:
        url = redact_url(self._transport.service_url)
        return f"{type(self).__name__}(service_url={url!r}, authenticator={self.authenticator!r})"

    # -- configuration, as the SDK names it ---------------------------------------

    @property
    def service_url(self) -> str:
        return self._transport.service_url

    def set_service_url(self, service_url: str) -> None:
        self._transport.set_service_url(service_url)

    def get_authenticator(self) -> Authenticator:
        return self.authenticator

    def set_default_headers(self, headers: dict[str, str]) -> None:
        """Headers sent on every request; they override the operation's own."""
        if not isinstance(headers, dict):
            raise TypeError("headers must be a dict")
        self._transport.default_headers = dict(headers)

    def set_http_config(self, http_config: dict[str, Any]) -> None:
        """``requests`` options for every call: ``timeout`` (keeps 60 s / 150 s unless
        given), ``proxies``, ``verify``, ``cert``."""
        if not isinstance(http_config, dict):
            raise TypeError("http_config must be a dict")
        self._transport.set_http_config(http_config)

    @property
    def disable_ssl_verification(self) -> bool:
        """True after ``set_disable_ssl_verification(True)`` (or ``DISABLE_SSL``)."""
        return not self._transport.verify

    def set_disable_ssl_verification(self, status: bool = False) -> None:
        self._transport.set_disable_ssl_verification(status)

    def set_max_response_size(self, size: int | None) -> None:
        """The largest response body (in bytes, after gzip decompression) a call reads
        into memory; a larger one raises ``ResponseTooLarge`` and is not read further.
        64 MiB by default; None for no limit. Streamed results (``*_as_stream``, the
        changes follower) are never limited."""
        self._transport.set_max_response_size(size)

    def get_max_response_size(self) -> int | None:
        return self._transport.max_response_size

    def set_enable_gzip_compression(self, should_enable_compression: bool = False) -> None:
        self._transport.gzip_requests = bool(should_enable_compression)

    def get_enable_gzip_compression(self) -> bool:
        return self._transport.gzip_requests

    def enable_retries(self, max_retries: int = 4, retry_interval: float = 30.0) -> None:
        """Retry 429, 500, 502, 503, 504 and connection errors up to ``max_retries`` times
        with exponential back-off capped at ``retry_interval`` seconds, honouring
        ``Retry-After``. When retries run out the last error is raised as ApiException."""
        self._transport.enable_retries(max_retries, retry_interval)

    def disable_retries(self) -> None:
        self._transport.disable_retries()


class CloudantV1(Operations, ServiceSettings[Transport]):
    """The Cloudant / CouchDB endpoint client, call-compatible with ``ibmcloudant``'s.

    Every operation returns a ``DetailedResponse``. Instances are thread-safe and hold one
    pooled connection set.
    """

    def _new_transport(self, authenticator: Authenticator) -> Transport:
        return Transport(authenticator)

    def set_http_client(self, http_client: requests.Session) -> None:
        self._transport.set_http_client(http_client)

    def get_http_client(self) -> requests.Session:
        return self._transport.session

    def close(self) -> None:
        """Close pooled connections."""
        self._transport.session.close()

    def __enter__(self) -> CloudantV1:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

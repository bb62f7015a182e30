"""The endpoint client: call-compatible with the official ``ibmcloudant`` SDK's ``CloudantV1``.

Code written for that SDK runs after changing its imports to this package::

    from cloudant_odm.client import CloudantV1, ApiException, Document
"""

from cloudant_odm.client.auth import (
    Authenticator,
    BasicAuthenticator,
    BearerTokenAuthenticator,
    ContainerAuthenticator,
    CouchDbSessionAuthenticator,
    CouchDbSessionTokenManager,
    IAMAssumeAuthenticator,
    IAMAuthenticator,
    NoAuthAuthenticator,
    VPCInstanceAuthenticator,
)
from cloudant_odm.client.config import get_authenticator_from_environment, read_external_sources
from cloudant_odm.client.encoding import datetime_to_string, string_to_datetime
from cloudant_odm.client.enums import *  # noqa: F403  (the SDK's *Enums classes are public)
from cloudant_odm.client.enums import __all__ as _enum_names
from cloudant_odm.client.errors import (
    ApiException,
    BadRequestError,
    ConflictError,
    ConnectionFailed,
    ConnectTimedOut,
    ForbiddenError,
    NotFoundError,
    PreconditionFailedError,
    ReadTimedOut,
    RequestTooLargeError,
    ResponseIncomplete,
    ResponseTooLarge,
    ServiceUnavailableError,
    TooManyRequestsError,
    UnauthorizedError,
)
from cloudant_odm.client.follower import ChangesFollower
from cloudant_odm.client.models import *  # noqa: F403  (the models are public, as in the SDK)
from cloudant_odm.client.models import __all__ as _model_names
from cloudant_odm.client.pagination import Pager, PagerType, Pagination
from cloudant_odm.client.service import CloudantV1
from cloudant_odm.client.transport import DetailedResponse

__all__ = [
    "ApiException",
    "Authenticator",
    "BadRequestError",
    "BasicAuthenticator",
    "BearerTokenAuthenticator",
    "ChangesFollower",
    "CloudantV1",
    "ConflictError",
    "ConnectTimedOut",
    "ConnectionFailed",
    "ContainerAuthenticator",
    "CouchDbSessionAuthenticator",
    "CouchDbSessionTokenManager",
    "DetailedResponse",
    "ForbiddenError",
    "IAMAssumeAuthenticator",
    "IAMAuthenticator",
    "NoAuthAuthenticator",
    "NotFoundError",
    "Pager",
    "PagerType",
    "Pagination",
    "PreconditionFailedError",
    "ReadTimedOut",
    "RequestTooLargeError",
    "ResponseIncomplete",
    "ResponseTooLarge",
    "ServiceUnavailableError",
    "TooManyRequestsError",
    "UnauthorizedError",
    "VPCInstanceAuthenticator",
    "datetime_to_string",
    "get_authenticator_from_environment",
    "read_external_sources",
    "string_to_datetime",
    *_enum_names,
    *_model_names,
]

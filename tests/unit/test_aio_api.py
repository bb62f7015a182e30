"""Every public synchronous entry point that makes requests has its async counterpart in
``cloudant_odm.aio``, with the same public names and parameters (async-ness aside).

Each public name of the synchronous API is classified here: it has a counterpart, it
makes no request (a model, an error, a declaration: shared as it is), or it is
synchronous only, with the reason. A name added later and not classified fails the
test, so a new entry point can't be left without its async twin by oversight. The
detailed behaviour of each pair is compared in its own tests (test_aio_session.py,
test_aio_queries.py, test_aio_follow_api.py, test_aio_design.py, ...)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

pytest.importorskip("httpx", reason="the async extra is not installed")

import cloudant_odm
import cloudant_odm.changes
import cloudant_odm.client
import cloudant_odm.design
from cloudant_odm import aio
from cloudant_odm.client import enums, errors, models

#: Synchronous (module, name) -> its counterpart's name in cloudant_odm.aio.
COUNTERPARTS: dict[tuple[ModuleType, str], str] = {
    (cloudant_odm.client, "CloudantV1"): "AsyncCloudantV1",
    (cloudant_odm.client, "ChangesFollower"): "AsyncChangesFollower",
    (cloudant_odm.client, "Pagination"): "AsyncPagination",
    (cloudant_odm.client, "Pager"): "AsyncPager",
    (cloudant_odm, "Session"): "AsyncSession",
    (cloudant_odm, "QuerySet"): "AsyncQuerySet",
    (cloudant_odm, "ViewQuery"): "AsyncViewQuery",
    (cloudant_odm, "SearchResults"): "AsyncSearchResults",
    (cloudant_odm, "migrate"): "migrate",
    (cloudant_odm.changes, "follow"): "follow",
    (cloudant_odm.design, "sync"): "sync_design",
    (cloudant_odm.design, "rollback"): "rollback_design",
}

#: Synchronous only, and why (each reason is also in docs/async.md).
SYNC_ONLY = {
    "connect": "sets up the current Session; async code passes its AsyncSession (using())",
    "disconnect": "the current Session's",
    "current_session": "the current Session is synchronous",
    "use_session": "refuses an AsyncSession, naming using()",
    # Manager: `Order.objects.using(async_session)` is an AsyncQuerySet; its shortcuts
    # (Order.objects.all()) run on the current Session.
    "Manager": "Order.objects.using(async_session) gives the AsyncQuerySet",
}

#: Public names that make no request themselves: used as they are by both APIs.
NO_REQUESTS = {
    # cloudant_odm
    "Document", "Embedded", "Ref", "Field", "Q", "Page", "ViewRow", "SearchHit",
    "SearchGroup", "ObjectState", "MigrationReport", "WriteFailure", "DesignOptions",
    "Filter", "Index", "SearchIndex", "ValidateDocUpdate", "View", "col", "field",
    "migration", "__version__",
    # cloudant_odm.changes
    "Change", "Checkpoint", "DocumentChange", "type_selector",
    # cloudant_odm.design
    "ANALYZERS", "BUILTIN_REDUCES", "Declaration", "DeployChange", "DesignDocument",
    "Generated", "GeneratedDesignDocument", "MangoIndex", "Progress", "ProgressCallback",
    "SyncReport", "collect_models", "declarations_of", "generate", "render",
    # cloudant_odm.client
    "DetailedResponse", "PagerType", "get_authenticator_from_environment",
    "read_external_sources", "datetime_to_string", "string_to_datetime",
    # (its logins are flows, driven by either client's authenticator)
    "CouchDbSessionTokenManager",
}  # fmt: skip


def _is_shared(module: ModuleType, name: str) -> bool:
    """Errors, models, enums and authenticators: the same objects for both APIs."""
    value = getattr(module, name)
    if isinstance(value, type) and issubclass(value, Exception):
        return True
    if name in models.__all__ or name in enums.__all__ or name in errors.__all__:
        return True
    return name.endswith("Authenticator")


def _public_names() -> list[tuple[ModuleType, str]]:
    modules = (cloudant_odm, cloudant_odm.client, cloudant_odm.changes, cloudant_odm.design)
    return [(module, name) for module in modules for name in module.__all__]


def test_every_public_name_is_classified() -> None:
    unclassified = [
        f"{module.__name__}.{name}"
        for module, name in _public_names()
        if (module, name) not in COUNTERPARTS
        and name not in SYNC_ONLY
        and name not in NO_REQUESTS
        and not _is_shared(module, name)
    ]
    assert unclassified == []


def test_every_counterpart_is_exported_from_aio() -> None:
    assert set(COUNTERPARTS.values()) <= set(aio.__all__)


def _parameters(function: Callable[..., Any]) -> list[tuple[str, Any, Any]]:
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]


def _public_members(cls: type) -> set[str]:
    return {name for name in dir(cls) if not name.startswith("_")}


@pytest.mark.parametrize(
    ("module", "name"), list(COUNTERPARTS), ids=[name for _, name in COUNTERPARTS]
)
def test_the_counterpart_has_the_same_names_and_parameters(module: ModuleType, name: str) -> None:
    sync, awaited = getattr(module, name), getattr(aio, COUNTERPARTS[(module, name)])
    if not isinstance(sync, type):
        assert inspect.isfunction(awaited)
        assert _parameters(awaited) == _parameters(sync)
        return
    assert isinstance(awaited, type)
    missing = _public_members(sync) - _public_members(awaited)
    assert missing == set(), f"{awaited.__name__} lacks {sorted(missing)}"
    for member in sorted(_public_members(sync)):
        sync_member = inspect.getattr_static(sync, member)
        async_member = inspect.getattr_static(awaited, member)
        if callable(sync_member) and not isinstance(sync_member, type):
            sync_function = getattr(sync, member)
            async_function = getattr(awaited, member)
            assert _parameters(async_function) == _parameters(sync_function), member
        else:
            assert type(async_member) is type(sync_member), member

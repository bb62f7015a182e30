"""The endpoint client for asyncio: ``AsyncCloudantV1``, on ``httpx``.

Install it with the ``async`` extra (``pip install cloudant-odm[async]``); the
synchronous client and the ODM never import ``httpx``::

    from cloudant_odm.aio import AsyncCloudantV1

    async with AsyncCloudantV1.new_instance() as client:
        doc = (await client.get_document("orders", "example")).get_result()

It takes the synchronous client's authenticators (``cloudant_odm.client``'s) and raises
its errors (``ApiException`` and below, ``ConnectionFailed``, ``ResponseTooLarge``).
"""

try:
    import httpx  # noqa: F401  (only to say what is missing)
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError(
        "cloudant_odm.aio needs httpx, which the async extra installs: "
        "pip install cloudant-odm[async]"
    ) from exc

from cloudant_odm.aio._transport import AsyncStream
from cloudant_odm.aio.changes import AsyncDocumentChanges, follow
from cloudant_odm.aio.design import rollback_design, sync_design
from cloudant_odm.aio.follower import AsyncChangesFollower
from cloudant_odm.aio.migrations import migrate
from cloudant_odm.aio.pagination import AsyncPager, AsyncPagination
from cloudant_odm.aio.queries import AsyncQuerySet, AsyncSearchResults, AsyncViewQuery
from cloudant_odm.aio.service import AsyncCloudantV1
from cloudant_odm.aio.session import AsyncSession

__all__ = [
    "AsyncChangesFollower",
    "AsyncCloudantV1",
    "AsyncDocumentChanges",
    "AsyncPager",
    "AsyncPagination",
    "AsyncQuerySet",
    "AsyncSearchResults",
    "AsyncSession",
    "AsyncStream",
    "AsyncViewQuery",
    "follow",
    "migrate",
    "rollback_design",
    "sync_design",
]

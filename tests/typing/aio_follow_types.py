# ruff: noqa: E501 - the expected types are long
"""What type checkers see of the async followers and pagination; checked with mypy by
tests/unit/test_typing.py. ``R`` and ``E`` comments as in client_types.py; the checks
sit in functions that never run."""

from typing_extensions import reveal_type

from cloudant_odm import Document
from cloudant_odm.aio import AsyncChangesFollower, AsyncCloudantV1, AsyncPagination, follow
from cloudant_odm.client import PagerType

# fmt: off


class Crate(Document):
    n: int


async def check_follower(client: AsyncCloudantV1) -> None:
    follower = AsyncChangesFollower(client, db="db", include_docs=True)
    async for item in follower.start():
        reveal_type(item)  # R: cloudant_odm.client.models.ChangesResultItem
    reveal_type(follower.latest_sequence_from("1-a"))  # R: builtins.str | builtins.int
    follower.stop()
    async for change in follow(client, Crate, db="db", one_off=True):
        reveal_type(change.doc)  # R: aio_follow_types.Crate | None
    await follow(client, [Crate]).aclose()
    for _ in follower.start():  # E: attr-defined
        pass


async def check_pagination(client: AsyncCloudantV1) -> None:
    views = AsyncPagination.new_pagination(client, PagerType.POST_VIEW, db="db", ddoc="d", view="v")
    reveal_type(views)  # R: cloudant_odm.aio.pagination.AsyncPagination[cloudant_odm.client.models.ViewResultRow]
    async for row in views.rows():
        reveal_type(row.key)  # R: Any
    found = AsyncPagination.new_pagination(client, PagerType.POST_FIND, db="db", selector={})
    async for page in found.pages():
        reveal_type(page)  # R: builtins.tuple[cloudant_odm.client.models.Document, ...]
    pager = found.pager()
    reveal_type(pager.has_next())  # R: builtins.bool
    reveal_type(await pager.get_next())  # R: typing.Sequence[cloudant_odm.client.models.Document]

# ruff: noqa: E501 - the expected signatures are long
"""What type checkers see of the async endpoint client; checked with mypy by
tests/unit/test_typing.py (which also runs mypy and pyright on every operation).

``R`` and ``E`` comments as in client_types.py. The checks sit in functions that never
run.
"""

import httpx
from typing_extensions import reveal_type

from cloudant_odm.aio import AsyncCloudantV1, AsyncStream
from cloudant_odm.client import DetailedResponse, Document

# One check per line, whatever its length: the expectations are line comments.
# fmt: off


async def check_signatures(client: AsyncCloudantV1) -> None:
    reveal_type(client.get_document)  # R: def (db: str, doc_id: str, *, if_none_match: str | None =, attachments: bool | None =, att_encoding_info: bool | None =, conflicts: bool | None =, deleted_conflicts: bool | None =, latest: bool | None =, local_seq: bool | None =, meta: bool | None =, rev: str | None =, revs: bool | None =, revs_info: bool | None =, **kwargs: **TypedDict(cloudant_odm.client._operations.RequestOptions, {'cert'?: str | tuple[str, str], 'headers'?: typing.Mapping[str, str], 'proxies'?: typing.Mapping[str, str], 'stream'?: bool, 'timeout'?: float | tuple[float, float] | None, 'verify'?: bool | str})) -> typing.Coroutine[Any, Any, cloudant_odm.client.transport.DetailedResponse]
    reveal_type(await client.get_document("db", "id"))  # R: cloudant_odm.client.transport.DetailedResponse
    reveal_type((await client.get_document("db", "id")).get_result())  # R: Any
    reveal_type(client.copy_document)  # R: def (db: str, doc_id: str, destination: str, *, rev: str | None =, destination_rev: str | None =, batch: str | None =, **kwargs: **TypedDict(cloudant_odm.client._operations.RequestOptions, {'cert'?: str | tuple[str, str], 'headers'?: typing.Mapping[str, str], 'proxies'?: typing.Mapping[str, str], 'stream'?: bool, 'timeout'?: float | tuple[float, float] | None, 'verify'?: bool | str})) -> typing.Coroutine[Any, Any, cloudant_odm.client.transport.DetailedResponse]
    reveal_type(client.get_http_client())  # R: httpx._client.AsyncClient
    reveal_type(AsyncCloudantV1.new_instance())  # R: cloudant_odm.aio.service.AsyncCloudantV1


async def check_calls(client: AsyncCloudantV1) -> None:
    response: DetailedResponse = await client.put_document("db", "id", Document(id="id", name="x"))
    await client.post_all_docs("db", include_docs=True, limit=10, keys=["a", "b"])
    await client.post_changes("db", feed="longpoll", timeout=1000, stream=True)
    stream = response.get_result()
    if isinstance(stream, AsyncStream):
        reveal_type(stream.response)  # R: httpx._models.Response
        async for chunk in stream:
            reveal_type(chunk)  # R: builtins.bytes
    async with AsyncCloudantV1.new_instance() as owned:
        reveal_type(owned)  # R: cloudant_odm.aio.service.AsyncCloudantV1
    client.set_http_client(httpx.AsyncClient())


async def check_mistakes(client: AsyncCloudantV1) -> None:
    await client.get_document("db", "id", revv="1-a")  # E: call-arg
    await client.post_all_docs("db", limit="10")  # E: arg-type
    await client.get_document("db", "id", timeoutt=5)  # E: call-arg
    client.set_http_client(object())  # E: arg-type

# ruff: noqa: E501 - the expected signatures are long
"""What type checkers see of the endpoint client; checked with mypy by
tests/unit/test_typing.py (which also runs pyright on every operation).

A trailing comment ``R`` followed by a type gives what mypy must reveal on that line;
``E`` followed by error codes gives the errors it must report there. Any other error
fails. The checks sit in functions that never run.
"""

import io

from typing_extensions import reveal_type

from cloudant_odm.client import CloudantV1, Document, PagerType, Pagination, PostChangesEnums

# One check per line, whatever its length: the expectations are line comments.
# fmt: off


def check_signatures(client: CloudantV1) -> None:
    reveal_type(client.get_document)  # R: def (db: str, doc_id: str, *, if_none_match: str | None =, attachments: bool | None =, att_encoding_info: bool | None =, conflicts: bool | None =, deleted_conflicts: bool | None =, latest: bool | None =, local_seq: bool | None =, meta: bool | None =, rev: str | None =, revs: bool | None =, revs_info: bool | None =, **kwargs: **TypedDict(cloudant_odm.client._operations.RequestOptions, {'cert'?: str | tuple[str, str], 'headers'?: typing.Mapping[str, str], 'proxies'?: typing.Mapping[str, str], 'stream'?: bool, 'timeout'?: float | tuple[float, float] | None, 'verify'?: bool | str})) -> cloudant_odm.client.transport.DetailedResponse
    reveal_type(client.put_attachment)  # R: def (db: str, doc_id: str, attachment_name: str, attachment: bytes | typing.IO[bytes], content_type: str, *, if_match: str | None =, rev: str | None =, **kwargs: **TypedDict(cloudant_odm.client._operations.RequestOptions, {'cert'?: str | tuple[str, str], 'headers'?: typing.Mapping[str, str], 'proxies'?: typing.Mapping[str, str], 'stream'?: bool, 'timeout'?: float | tuple[float, float] | None, 'verify'?: bool | str})) -> cloudant_odm.client.transport.DetailedResponse
    reveal_type(client.get_document("db", "id").get_result())  # R: Any


def check_calls(client: CloudantV1) -> None:
    client.get_document("db", "id", rev="1-a", conflicts=True, headers={"X-Trace": "t"}, timeout=5)
    client.post_all_docs("db", include_docs=True, limit=10, keys=["a", "b"])
    client.post_view("db", "ddoc", "view", key=["any", 1], keys=[1, "x"])
    client.put_document("db", "id", Document(id="id", name="x"))
    client.put_document("db", "id", {"name": "x"})
    client.put_attachment("db", "id", "a.txt", io.BytesIO(b"x"), "text/plain")
    client.post_changes("db", feed=PostChangesEnums.Feed.LONGPOLL, timeout=1000, stream=True)
    client.post_changes("db", feed="normal", since="now")


def check_pagination(client: CloudantV1) -> None:
    views = Pagination.new_pagination(client, PagerType.POST_VIEW, db="db", ddoc="d", view="v")
    reveal_type(views)  # R: cloudant_odm.client.pagination.Pagination[cloudant_odm.client.models.ViewResultRow]
    for row in views.rows():
        reveal_type(row.key)  # R: Any
    found = Pagination.new_pagination(client, PagerType.POST_FIND, db="db", selector={})
    reveal_type(next(found.pages()))  # R: builtins.tuple[cloudant_odm.client.models.Document, ...]


def check_mistakes(client: CloudantV1) -> None:
    client.get_document("db", "id", revv="1-a")  # E: call-arg
    client.post_all_docs("db", limit="10")  # E: arg-type
    client.get_document("db")  # E: call-arg
    client.get_document("db", "id", "1-a")  # E: call-arg
    client.get_document("db", "id", timeoutt=5)  # E: call-arg
    client.get_document("db", "id", headers={"X-Trace": 1})  # E: dict-item
    client.post_changes("db", timeout=2.5)  # E: arg-type
    client.put_document("db", "id", 42)  # E: arg-type

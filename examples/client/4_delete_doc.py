"""Delete "example" at its current revision."""

import os

from cloudant_odm.client import ApiException, CloudantV1

client = CloudantV1.new_instance()
db_name = os.environ.get("EXAMPLES_DB", "orders")
doc_id = "example"

try:
    current = client.get_document(db=db_name, doc_id=doc_id).get_result()
    client.delete_document(db=db_name, doc_id=doc_id, rev=current["_rev"])
    print("You have deleted the document.")
except ApiException as error:
    if error.status_code != 404:
        raise
    print(
        f'Cannot delete document because either "{db_name}" database or the "{doc_id}" '
        "document was not found."
    )

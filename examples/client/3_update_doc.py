"""Read "example", add a field, remove another, and write it back with its revision."""

import json
import os

from cloudant_odm.client import ApiException, CloudantV1, Document

client = CloudantV1.new_instance()
db_name = os.environ.get("EXAMPLES_DB", "orders")
doc_id = "example"

try:
    doc = Document.from_dict(client.get_document(db=db_name, doc_id=doc_id).get_result())
except ApiException as error:
    if error.status_code != 404:
        raise
    print(
        f'Cannot update document because either "{db_name}" database or the "{doc_id}" '
        "document was not found."
    )
else:
    doc.address = "19 Front Street, Darlington, DL5 1TY"
    props = doc.get_properties()
    props.pop("joined", None)
    doc.set_properties(props)
    # The body carries the current _rev, so a concurrent change makes this a 409.
    result = client.post_document(db=db_name, document=doc).get_result()
    doc.rev = result["rev"]
    print(f"You have updated the document:\n{json.dumps(doc.to_dict(), indent=2)}")

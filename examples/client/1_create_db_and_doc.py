"""Create the "orders" database (if it isn't there) and add the document "example"."""

import json
import os

from cloudant_odm.client import ApiException, CloudantV1, Document

client = CloudantV1.new_instance()  # CLOUDANT_URL, CLOUDANT_AUTH_TYPE, ... from the environment
db_name = os.environ.get("EXAMPLES_DB", "orders")

try:
    if client.put_database(db=db_name).get_result()["ok"]:
        print(f'"{db_name}" database created.')
except ApiException as error:
    if error.status_code != 412:  # 412: it exists already, which is fine here
        raise
    print(f'Cannot create "{db_name}" database, it already exists.')

doc = Document(id="example")  # maps to "_id"
doc.name = "Bob Smith"
doc.joined = "2019-01-24T10:42:59.000Z"

try:
    result = client.post_document(db=db_name, document=doc).get_result()
except ApiException as error:
    if error.status_code != 409:
        raise
    print('Cannot create the document "example", it already exists.')
else:
    doc.rev = result["rev"]  # maps to "_rev"
    print(f"You have created the document:\n{json.dumps(doc.to_dict(), indent=2)}")

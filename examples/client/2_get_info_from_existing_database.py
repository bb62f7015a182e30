"""Read the server's version, the database's document count and the document itself."""

import json
import os

from cloudant_odm.client import CloudantV1

client = CloudantV1.new_instance()
db_name = os.environ.get("EXAMPLES_DB", "orders")
doc_id = "example"

server = client.get_server_information().get_result()
print(f"Server Version: {server['version']}")

info = client.get_database_information(db=db_name).get_result()
print(f'Document count in "{info["db_name"]}" database is {info["doc_count"]}.')

document = client.get_document(db=db_name, doc_id=doc_id).get_result()
print(f"Document retrieved from database:\n{json.dumps(document, indent=2)}")

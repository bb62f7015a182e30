"""Read a database's changes feed from the beginning to its end, printing each change."""

import os

from cloudant_odm.client import ChangesFollower, CloudantV1

client = CloudantV1.new_instance()
db_name = os.environ.get("EXAMPLES_DB", "orders")

follower = ChangesFollower(client, db=db_name)
count = 0
for change in follower.start_one_off():
    deleted = " (deleted)" if change.deleted else ""
    print(f"{change.id} seq={change.seq}{deleted}")
    count += 1
print(f'Changes read from the "{db_name}" database: {count}')

"""The main job of the README's first command: the ODM end to end (shop.py: typed
documents, deployed design documents, a session, queries, a view and typed changes),
then the endpoint client alone, as the official SDK's examples do (the four scripts in
client/: create a database, write, read, update and delete a document)."""

import runpy
from pathlib import Path

HERE = Path(__file__).parent

print("=== the ODM: examples/shop.py")
runpy.run_path(str(HERE / "shop.py"), run_name="__main__")

print("\n=== the endpoint client: examples/client/")
for script in sorted((HERE / "client").glob("[0-9]_*.py")):
    print(f"--- {script.name}")
    runpy.run_path(str(script), run_name="__main__")

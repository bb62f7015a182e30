"""The main job of the README's first command: create a database, then write, read,
update and delete a document through the endpoint client (the four scripts in client/)."""

import runpy
from pathlib import Path

HERE = Path(__file__).parent / "client"

for script in sorted(HERE.glob("[0-9]_*.py")):
    print(f"--- {script.name}")
    runpy.run_path(str(script), run_name="__main__")

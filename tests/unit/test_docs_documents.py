"""The examples in docs/documents.md run, in order, as one module."""

import re
import sys
import types
from pathlib import Path

import pytest

import cloudant_odm

DOC = Path(__file__).resolve().parents[2] / "docs" / "documents.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def test_examples_run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    if not hasattr(cloudant_odm, "Document"):
        pytest.skip("cloudant_odm/__init__.py does not export the document API yet")
    blocks = BLOCK.findall(DOC.read_text())
    assert len(blocks) > 10
    # A real module, so that attrs and cattrs can resolve the examples' annotations.
    module = types.ModuleType("docs_documents")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    for number, source in enumerate(blocks, start=1):
        code = compile(source, f"{DOC.name} (example {number})", "exec", dont_inherit=True)
        exec(code, module.__dict__)
    printed = capsys.readouterr().out
    assert "Order 'abc': total: invalid Decimal 'x'; tags[1]: expected str, got int" in printed

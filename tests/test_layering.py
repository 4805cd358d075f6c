"""`ingest` is the pure side: file → prepared document. `qa` imports it, never the reverse, and it touches no store."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

INGEST = Path(__file__).resolve().parents[1] / "ingest"
FORBIDDEN = ("qa", "chromadb")  # the service package, the store


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted(INGEST.rglob("*.py")), ids=lambda p: p.name)
def test_ingest_modules_import_neither_qa_nor_the_store(path: Path) -> None:
    bad = sorted(n for n in _imports(path) if n.split(".")[0] in FORBIDDEN)
    assert not bad, f"{path.relative_to(INGEST.parent)} imports {bad}"


def test_the_check_sees_imports_inside_functions(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from qa.settings import get_settings\n    import chromadb\n", encoding="utf-8")
    assert _imports(module) == {"qa.settings", "chromadb"}

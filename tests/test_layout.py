"""`tests/` mirrors the packages (tests/README.md): every module of `ingest/` and `qa/` that has logic has its test
module at the same place under tests/ (`qa/findings/evidence.py` → `tests/qa/findings/test_evidence.py`), every test
module there is named after a module of its package (`test_<module>.py`, or `test_<module>_<topic>.py` for a second
one) or is listed below as cross-cutting, and no test imports from another test module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
PACKAGES = ("ingest", "qa")

# Modules with logic whose tests deliberately live elsewhere: module → why.
COVERED_ELSEWHERE = {
    "qa/__main__.py": "the `qa` console script itself (main = runtime defaults + qa.cli.app): every subprocess test "
    "of tests/qa/test_cli.py runs it",
}

# Test modules under tests/ingest and tests/qa that mirror no single module: test module → why.
CROSS_CUTTING = {
    "tests/qa/test_ingest_crash.py": "`qa ingest` killed mid-batch (SIGKILL) and run again: CLI, ingest run, store "
    "repair and BM25 index together",
    "tests/qa/test_load.py": "mixed readers and writers against a real `qa serve`: the whole service under load",
    "tests/qa/test_proxy.py": "rate limits behind a real nginx: deployment end to end",
    "tests/qa/test_reindex.py": "`qa reindex` to a model of another dimension and back: CLI, library, store, models",
    "tests/qa/test_server_mode.py": "two `qa serve` replicas on one `chroma run` server: deployment end to end",
    "tests/qa/api/test_schema_fuzz.py": "every operation of the live OpenAPI schema fuzzed: all routes at once",
}


def has_logic(path: Path) -> bool:
    """A function, or a class with a method: more than constants, types and re-exports."""
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return True
        if isinstance(node, ast.ClassDef) and any(
            isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) for n in node.body
        ):
            return True
    return False


def package_modules() -> list[Path]:
    """Every module of the packages but `__init__.py` (wiring and re-exports), relative to the repository."""
    return sorted(
        p.relative_to(ROOT) for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py") if p.name != "__init__.py"
    )


def mirrored(module: Path) -> Path:
    """Where a package module's tests live: tests/<its folder>/test_<its name>.py."""
    return Path("tests") / module.parent / f"test_{module.name}"


def test_every_module_with_logic_has_a_mirrored_test_module() -> None:
    missing = [
        f"{m} → {mirrored(m)}"
        for m in package_modules()
        if has_logic(ROOT / m) and str(m) not in COVERED_ELSEWHERE and not (ROOT / mirrored(m)).exists()
    ]
    assert not missing, "modules with logic but no test module:\n" + "\n".join(missing)


def test_every_test_module_mirrors_a_module_or_is_cross_cutting() -> None:
    strays = []
    for test in sorted(p.relative_to(ROOT) for pkg in PACKAGES for p in (TESTS / pkg).rglob("test_*.py")):
        folder = ROOT / test.parent.relative_to("tests")
        name = test.stem.removeprefix("test_")
        modules = {p.stem for p in folder.glob("*.py") if p.name != "__init__.py"}
        if not any(name == m or name.startswith(m + "_") for m in modules) and str(test) not in CROSS_CUTTING:
            strays.append(str(test))
    assert not strays, "test modules that mirror no module (rename, move, or list as cross-cutting):\n" + "\n".join(
        strays
    )


def test_the_allow_lists_name_what_exists() -> None:
    assert [m for m in COVERED_ELSEWHERE if not (ROOT / m).exists() or (ROOT / mirrored(Path(m))).exists()] == []
    assert [t for t in CROSS_CUTTING if not (ROOT / t).exists()] == []


def test_mirrored_test_folders_are_packages() -> None:
    folders = {mirrored(m).parent for m in package_modules()} | {
        p.parent.relative_to(ROOT) for p in TESTS.rglob("*.py")
    }
    assert [str(f) for f in sorted(folders) if (ROOT / f).is_dir() and not (ROOT / f / "__init__.py").exists()] == []


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


@pytest.mark.parametrize("path", sorted(TESTS.rglob("*.py")), ids=lambda p: str(p.relative_to(TESTS)))
def test_no_test_imports_another_test_module(path: Path) -> None:
    """Shared helpers live in tests/support/, shared fixtures in a conftest.py."""
    bad = sorted(n for n in _imported(path) if n.startswith("tests.") and n.rsplit(".", 1)[-1].startswith("test_"))
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}"

"""boardrun.testing ships with the library but stays out of the functions: no module of
boardrun outside it imports it, and it imports no test framework (the benchmarks, which
run without pytest, use it)."""

from __future__ import annotations

import ast
from pathlib import Path

import boardrun

PACKAGE = Path(boardrun.__file__).resolve().parent
TESTING = PACKAGE / "testing"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_no_function_code_imports_the_testing_package():
    """Every module of boardrun outside boardrun/testing leaves boardrun.testing alone."""
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if TESTING not in path.parents
        and any(name == "boardrun.testing" or name.startswith("boardrun.testing.") for name in _imports(path))
    ]
    assert offenders == []


def test_the_testing_package_needs_no_test_framework():
    """boardrun.testing imports neither pytest nor anything of tests/."""
    for path in TESTING.rglob("*.py"):
        roots = {name.split(".")[0] for name in _imports(path)}
        assert not roots & {"pytest", "tests", "unittest"}, path.name

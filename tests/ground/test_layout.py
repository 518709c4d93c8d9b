"""The house rules of the package, checked on its source: small modules, nbfleet's own imports at the top of each
module, no private name taken from another module, every package saying what flows in and out."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from support.repo import REPO

PACKAGE = REPO / "nbfleet"
MAX_LINES = 500


def modules(*roots: Path) -> list[Path]:
    return sorted(p for root in roots for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def own(node: ast.AST) -> bool:
    """Whether an import statement loads one of nbfleet's own modules."""
    if isinstance(node, ast.ImportFrom):
        return node.level > 0 or (node.module or "").split(".")[0] == "nbfleet"
    return isinstance(node, ast.Import) and any(a.name.split(".")[0] == "nbfleet" for a in node.names)


def late_imports(tree: ast.AST) -> list[int]:
    """Lines of import statements inside a function or method."""
    return [node.lineno for fn in ast.walk(tree) if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
            for node in ast.walk(fn) if isinstance(node, (ast.Import, ast.ImportFrom)) and own(node)]


def test_no_module_is_over_500_lines():
    big = {str(p.relative_to(REPO)): n for p in modules(PACKAGE) if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert big == {}


def test_nbfleet_imports_its_own_modules_at_the_top_of_each_module():
    """Tests and benchmarks too: code inside a string (run in a subprocess or a container) is not an import here."""
    late = {str(p.relative_to(REPO)): lines for p in modules(PACKAGE, REPO / "tests", REPO / "benchmarks")
            if (lines := late_imports(ast.parse(p.read_text())))}
    assert late == {}


def test_the_check_finds_an_import_made_inside_a_function():
    assert late_imports(ast.parse("def f():\n    from .servers import engine\n    import nbfleet.paths\n")) == [2, 3]
    assert late_imports(ast.parse("from . import paths\ndef f():\n    import docker\n")) == []


def private_imports(path: Path) -> list[str]:
    """``from x import _name`` statements (another module's private name)."""
    tree = ast.parse(path.read_text())
    return [f"{path.relative_to(REPO)}:{node.lineno} {alias.name}" for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module != "__future__"
            for alias in node.names if alias.name.startswith("_") and not alias.name.startswith("__")]


def test_no_private_name_is_taken_from_another_module():
    found = [hit for p in modules(PACKAGE, REPO / "tests", REPO / "benchmarks") for hit in private_imports(p)]
    found += private_imports(REPO / "dodo.py")
    assert found == []


def imports_of_tests(source: str) -> list[str]:
    """Imports of ``conftest`` or of a test module (``test_*``, ``tests.…``): what only the support package may hold."""
    tree = ast.parse(source)
    names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    names += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level == 0]
    return [name for name in names if any(part == "conftest" or part.startswith("test_") or part == "tests"
                                          for part in name.split("."))]


def test_tests_take_helpers_only_from_the_support_package():
    found = {str(p.relative_to(REPO)): hits for p in modules(REPO / "tests", REPO / "benchmarks")
             if (hits := imports_of_tests(p.read_text()))}
    assert found == {}


def test_the_check_finds_a_helper_taken_from_conftest_or_a_test_module():
    assert imports_of_tests("from conftest import course\nimport tests.roster.test_hosts_parse\n"
                            "from test_launch_plan import spec\nfrom support.doit import run\n") == [
        "tests.roster.test_hosts_parse", "conftest", "test_launch_plan"]


@pytest.mark.parametrize("package", sorted(p.parent.relative_to(REPO).as_posix() for p in PACKAGE.rglob("__init__.py")))
def test_every_package_says_what_it_is(package):
    doc = ast.get_docstring(ast.parse((REPO / package / "__init__.py").read_text()))
    assert doc and len(doc.split()) >= 8, f"{package}/__init__.py needs a docstring that says what flows in and out"


STAGES = ("images", "roster", "servers", "assignments", "grading", "workshop", "inside", "tasks", "settings")


@pytest.mark.parametrize("stage", STAGES)
def test_a_stage_names_what_comes_in_and_what_goes_out(stage):
    doc = ast.get_docstring(ast.parse((PACKAGE / stage / "__init__.py").read_text()))
    assert "In:" in doc and "Out:" in doc, doc


@pytest.mark.parametrize("module", ["nbfleet/assignments/__init__.py", "nbfleet/assignments/deliver/__init__.py",
                                    "nbfleet/inside/__init__.py", "nbfleet/__init__.py"])
def test_the_packages_a_helper_container_loads_import_nothing(module):
    tree = ast.parse((REPO / module).read_text())
    assert not [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]

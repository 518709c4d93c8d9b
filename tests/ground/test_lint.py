"""ruff and import-linter run with the tests and fail them: the repository passes both, and each catches what it is
there for (an unused import, an import that goes against the layers, a container program importing the rest)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support.repo import REPO

BIN = Path(sys.executable).parent


def ruff(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "ruff"), "check", "--no-cache", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def lint_imports(cwd: Path = REPO) -> subprocess.CompletedProcess:
    # grimp's cache would outlive a copy's edits; the copy is found first on the path
    return subprocess.run([str(BIN / "lint-imports"), "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={"PYTHONPATH": str(cwd), "PATH": str(BIN)})


def test_ruff_passes():
    result = ruff()
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_import_contracts_are_kept():
    result = lint_imports()
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Contracts: 3 kept, 0 broken." in result.stdout


@pytest.fixture
def copy(tmp_path) -> Path:
    """A copy of the package and its configuration, to break on purpose."""
    dest = tmp_path / "repo"
    dest.mkdir()
    shutil.copytree(REPO / "nbfleet", dest / "nbfleet", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(REPO / "pyproject.toml", dest / "pyproject.toml")
    return dest


def test_ruff_fails_on_an_unused_import(copy):
    module = copy / "nbfleet" / "paths.py"
    module.write_text(module.read_text().replace("import os\n", "import os\nimport sys\n", 1))
    result = ruff("nbfleet", cwd=copy)
    assert result.returncode != 0 and "F401" in result.stdout, result.stdout


def test_lint_imports_fails_when_a_lower_stage_imports_a_higher_one(copy):
    module = copy / "nbfleet" / "servers" / "engine.py"
    module.write_text(module.read_text().replace("from .. import labels\n", "from .. import labels\nfrom ..grading import grade\n", 1))
    result = lint_imports(copy)
    assert result.returncode != 0, result.stdout
    assert "nbfleet.servers.engine -> nbfleet.grading.grade" in result.stdout, result.stdout


def test_lint_imports_fails_when_a_container_program_imports_the_rest(copy):
    module = copy / "nbfleet" / "inside" / "folder_helper.py"
    module.write_text(module.read_text().replace("from nbfleet.errors import NbfleetError\n",
                                                 "from nbfleet.errors import NbfleetError\nfrom nbfleet.settings import load\n", 1))
    result = lint_imports(copy)
    assert result.returncode != 0 and "nbfleet.inside.folder_helper -> nbfleet.settings" in result.stdout, result.stdout

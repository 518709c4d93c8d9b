"""Run doit in a course folder as a teacher does, and give a course the repository's dodo.py (or part of it)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import time
from pathlib import Path

from .repo import REPO


def run(course: Path, *args: str, home: Path | None = None, timeout: float = 900, env: dict | None = None,
        wait: bool = True):
    """``doit ARGS`` in ``course`` (its course.toml; nbfleet from this checkout) with its output captured; with
    ``wait=False`` the running process (stdout and stderr together, for a test that kills it). ``env`` adds to the
    environment (a value of None takes a variable out)."""
    environ = {**os.environ, "NBFLEET_COURSE": str(Path(course) / "course.toml"), "PYTHONPATH": str(REPO),
               "PYTHONFAULTHANDLER": "1", **(env or {})}  # a crash shows its stack
    environ = {k: v for k, v in environ.items() if v is not None}
    if home:
        environ["HOME"] = str(home)
    command = [sys.executable, "-m", "doit", *args]
    if not wait:
        return subprocess.Popen(command, cwd=course, env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
    return subprocess.run(command, cwd=course, env=environ, capture_output=True, text=True, timeout=timeout)


def ok(result) -> str:
    """The output of a doit run that must have succeeded."""
    assert result.returncode == 0, result.stdout[-6000:] + (result.stderr or "")[-6000:]
    return result.stdout


def timed(course: Path, *args: str, timeout: float = 7200, env: dict | None = None) -> tuple[float, str]:
    """``doit ARGS`` in ``course``, which must succeed: the seconds it took (a fresh process, as a teacher runs it) and
    its output (for benchmarks)."""
    start = time.perf_counter()
    result = run(course, *args, timeout=timeout, env=env)
    took = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"doit {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return took, result.stdout


def errors(result) -> list[str]:
    """The one-line errors a run printed."""
    return [ln for ln in (result.stdout + (result.stderr or "")).splitlines() if ln.startswith("error:")]


def dodo(*tasks: str) -> str:
    """The repository's dodo.py with only the task creators ``tasks`` (``"roster"`` for ``task_roster``): the same
    configuration, the same order; the default tasks are those of ``tasks``. No task at all: all of them."""
    text = (REPO / "dodo.py").read_text()
    if not tasks:
        return text
    lines = text.splitlines(keepends=True)
    drop = set()
    for node in ast.parse(text).body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("task_") and node.name[5:] not in tasks:
            drop.update(range(node.lineno - 1, node.end_lineno))
    kept = "".join(line for i, line in enumerate(lines) if i not in drop)
    unknown = set(tasks) - {n.name[5:] for n in ast.parse(text).body if isinstance(n, ast.FunctionDef)}
    assert not unknown, f"dodo.py has no task {unknown}"
    return kept + ('\nDOIT_CONFIG["default_tasks"] = [t for t in DOIT_CONFIG["default_tasks"] if f"task_{t}" in globals()]'
                   '  # the tasks this course has\n')


def write_dodo(course: Path, *tasks: str) -> Path:
    """Give ``course`` the repository's dodo.py with only ``tasks`` (see ``dodo``)."""
    path = Path(course) / "dodo.py"
    path.write_text(dodo(*tasks))
    return path

"""Benchmark: strip 100 notebooks with `doit strip` vs nbgrader 0.9.6's `generate_assignment`, same notebooks, same run.

nbgrader lives in its own venv (build/bench-venv, created here when missing) so that its heavy dependencies never
enter nbfleet's. Both sides are timed as the teacher runs them: a fresh command-line process from a cold start
(no doit database, no previous release), wall time, best of ``repeats``.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from nbfleet.assignments.notebooks.strip import strip_notebook
from support.doit import ok, write_dodo
from support.doit import run as doit
from support.nbgrader import NBGRADER, ensure_nbgrader
from support.repo import REPO

BENCH_VENV = REPO / "build" / "nbgrader-venv"  # the tests' nbgrader (support.nbgrader)
GOAL = 10.0
COURSE_TOML = '[course]\nsolutions = "course/solutions"\n[release]\ntoc = false\n'


def _notebook(i: int):
    """One assignment notebook with nbgrader metadata (nbgrader insists), regions, a hidden test and outputs."""
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    def ng(grade_id, **kw):
        return {"nbgrader": {"schema_version": 3, "grade": False, "solution": False, "locked": False, "grade_id": grade_id, **kw}}

    cells = [new_markdown_cell(f"# Problem set {i}\n\nRead the data and answer the questions.", metadata=ng("intro", locked=True))]
    for part in range(6):
        cells += [
            new_markdown_cell(f"## Part {part}\n\nWrite `f{part}(n)` returning the sum of the first n multiples of {part + 2}."),
            new_code_cell(
                f'def f{part}(n):\n    """Sum of the first n multiples of {part + 2}."""\n    ### BEGIN SOLUTION\n'
                f"    total = 0\n    for k in range(1, n + 1):\n        total += {part + 2} * k\n    return total\n"
                "    ### END SOLUTION",
                metadata=ng(f"f{part}", solution=True), execution_count=2 * part + 1),
            new_code_cell(
                f"assert f{part}(1) == {part + 2}\n### BEGIN HIDDEN TESTS\nassert f{part}(3) == {6 * (part + 2)}\n### END HIDDEN TESTS",
                metadata=ng(f"test_f{part}", grade=True, points=1), execution_count=2 * part + 2,
                outputs=[new_output("stream", name="stdout", text=f"checked f{part}\n" * 20)]),
            new_markdown_cell(f"Explain why f{part} is linear in n.\n\n### BEGIN SOLUTION\nOne addition per k up to n; set {i}.\n### END SOLUTION",
                              metadata=ng(f"why{part}", solution=True, grade=True, points=1)),
        ]
    return new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})


def _ensure_nbgrader() -> Path | None:
    try:
        return ensure_nbgrader(BENCH_VENV) / "bin" / "nbgrader"
    except (RuntimeError, OSError, subprocess.SubprocessError):
        return None


def _best(fn, repeats: int) -> tuple[float, float]:
    """Best wall time and best CPU time (user + system of the child processes) over ``repeats`` runs."""
    import resource

    walls, cpus = [], []
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        walls.append(fn())
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return min(walls), min(cpus)


def run(quick: bool) -> list[dict]:
    import nbformat

    count, repeats = 100, (1 if quick else 5)
    work = Path(tempfile.mkdtemp(prefix="bench-strip-"))
    try:
        ours_dir, theirs_dir = work / "ours", work / "nbgrader"
        src = ours_dir / "course" / "solutions" / "ps1"
        src.mkdir(parents=True)
        (theirs_dir / "source").mkdir(parents=True)
        for i in range(count):
            nbformat.write(_notebook(i), src / f"problem{i:03d}-solutions.ipynb")
        shutil.copytree(src, theirs_dir / "source" / "ps1")
        (ours_dir / "course.toml").write_text(COURSE_TOML)
        write_dodo(ours_dir, "strip")

        def ours() -> float:
            shutil.rmtree(ours_dir / "build", ignore_errors=True)
            t = time.perf_counter()
            ok(doit(ours_dir, "strip", timeout=600))
            elapsed = time.perf_counter() - t
            assert len(list((ours_dir / "build" / "stripped" / "ps1").glob("*.ipynb"))) == count
            return elapsed

        ours_s, ours_cpu = _best(ours, repeats)
        exe = _ensure_nbgrader()
        row = {"benchmark": f"strip {count} notebooks (cold `doit strip` vs `nbgrader generate_assignment`)",
               "ours_s": round(ours_s, 3), "goal": f">= {GOAL:g}x faster than nbgrader 0.9.6"}
        if exe is None:
            return [{**row, "naive_s": None, "ratio": None, "met": False,
                     "note": f"could not install {NBGRADER} into {BENCH_VENV} (no PyPI?)"}]

        def theirs() -> float:
            shutil.rmtree(theirs_dir / "release", ignore_errors=True)
            t = time.perf_counter()
            subprocess.run([str(exe), "generate_assignment", "ps1", "--no-db", "--force", f"--CourseDirectory.root={theirs_dir}"],
                           cwd=theirs_dir, check=True, capture_output=True, timeout=1200)
            elapsed = time.perf_counter() - t
            assert len(list((theirs_dir / "release" / "ps1").glob("*.ipynb"))) == count
            return elapsed

        naive_s, naive_cpu = _best(theirs, min(repeats, 3))
        ratio = naive_s / ours_s
        # the in-process cost alone, for the record (what a second assignment costs inside one doit run)
        nbs = [nbformat.read(p, as_version=4) for p in sorted(src.glob("*.ipynb"))]
        t = time.perf_counter()
        for nb in nbs:
            strip_notebook(nb, "bench")
        pure = time.perf_counter() - t
        return [{**row, "naive_s": round(naive_s, 3), "ratio": round(ratio, 1), "met": ratio >= GOAL,
                 "note": f"ratio = nbgrader/ours, wall time of a fresh process each (best of {repeats} ours, "
                         f"{min(repeats, 3)} nbgrader); CPU time ours {ours_cpu:.2f} s vs nbgrader {naive_cpu:.2f} s "
                         f"= {naive_cpu / ours_cpu:.1f}x; pure stripping alone {pure * 1000:.0f} ms for {count} notebooks"}]
    finally:
        shutil.rmtree(work, ignore_errors=True)

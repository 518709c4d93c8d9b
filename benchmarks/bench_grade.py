"""Benchmark: `doit grade:<a>` on 100 submissions of the sample assignment, against `nbgrader autograde`.

Rows, measured side by side in one run on the same submissions (a third correct, a third with a wrong median,
a third handed in as released):
- ours: `doit grade:assignment1` in a temporary course (the repository's dodo.py, the course image built by
  `./run`), every submission in its own sandbox, ``[grade] parallel`` = this machine's cores, feedback pages
  rendered and delivered; against `nbgrader autograde assignment1` (nbgrader 0.9.6 from PyPI, its own virtual
  environment), which runs every notebook on this machine, as this user, one after another. nbgrader is given the
  same notebooks with nbgrader metadata on the same cells (its test cells = our ``### TEST`` cells), so it executes
  and scores the same work; the totals of both are compared and must agree. Goal: ours <= 1.0x nbgrader's time.
- the sandbox's own cost per submission: the sandbox's whole time (create, start, copy, kernels, answer, remove)
  minus the time its notebooks ran, averaged over the run's submissions;
- a no-op `doit grade:assignment1` (nothing changed): goal <= 1 s.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nbfleet.grading.cells import test_line
from support.courses import copy_records, copy_sample
from support.doit import timed as _doit
from support.edits import student_solves
from support.nbgrader import ensure_nbgrader
from support.repo import REPO

A = "assignment1"


def _course(root: Path, n: int) -> tuple[Path, list[str]]:
    course = copy_sample(root / "course")
    copy_records(REPO, course)  # the images `./run` built
    ids = [f"s{i:07d}" for i in range(n)]
    (course / "roster" / "users.csv").write_text("SNumber,Name,LastName,Email,mbd_url,mbd_server,mbd_port,Password,Admin\n"
                                                + "".join(f"{s},N,L,{s}@example.org,,,,,FALSE\n" for s in ids))
    toml = (course / "course.toml").read_text()
    (course / "course.toml").write_text(toml.replace("parallel = 2 ", f"parallel = {os.cpu_count()} ", 1))
    _doit(course, f"release:{A}")
    for i, sid in enumerate(ids):
        if i % 3 == 0:
            student_solves(course, sid)
        elif i % 3 == 1:
            student_solves(course, sid, replace={"problem1.ipynb": ("statistics.median(", "statistics.mean(")})
    _doit(course, f"collect:{A}")
    return course, ids


def _with_nbgrader_metadata(path: Path) -> dict:
    """The teacher's notebook with nbgrader metadata on the cells nbfleet grades and the answer cells."""
    nb = json.loads(path.read_text())
    for i, cell in enumerate(nb["cells"]):
        if (cell.get("metadata") or {}).get("nbgrader"):
            continue
        text = "".join(cell["source"])
        found = test_line({**cell, "source": text})
        if found:
            meta = {"grade": True, "solution": False, "locked": False, "points": found[1], "grade_id": found[0]}
        elif "BEGIN SOLUTION" in text and cell["cell_type"] == "code":
            meta = {"grade": False, "solution": True, "locked": False, "grade_id": f"answer{i}"}
        elif "BEGIN SOLUTION" in text:  # nbgrader wants a written answer to be graded by a person: for 0 points here
            meta = {"grade": True, "solution": True, "locked": False, "points": 0, "grade_id": f"answer{i}"}
        else:
            continue
        cell.setdefault("metadata", {})["nbgrader"] = {**meta, "schema_version": 3}
    return nb


def _nbgrader_course(root: Path, course: Path, ids: list[str], venv: Path) -> tuple[Path, dict]:
    ng = root / "nbgrader"
    src = ng / "source" / A
    shutil.copytree(course / "course" / "solutions" / A, src, ignore=shutil.ignore_patterns("grading"))
    for path in list(src.glob("*-solutions.ipynb")):
        (src / path.name.replace("-solutions", "")).write_text(json.dumps(_with_nbgrader_metadata(path), indent=1))
        path.unlink()
    (ng / "nbgrader_config.py").write_text(f'c = get_config()\nc.CourseDirectory.course_id = "bench"\nc.CourseDirectory.root = "{ng}"\n')
    env = dict(os.environ, PATH=f"{venv / 'bin'}:{os.environ['PATH']}")
    subprocess.run([str(venv / "bin" / "nbgrader"), "generate_assignment", A, "--force"], cwd=ng, env=env, check=True,
                   capture_output=True)
    meta = {}
    for path in src.glob("*.ipynb"):
        meta[path.name] = {c.get("id"): c["metadata"]["nbgrader"] for c in json.loads(path.read_text())["cells"]
                           if (c.get("metadata") or {}).get("nbgrader")}
    for sid in ids:
        dest = ng / "submitted" / sid / A
        shutil.copytree(course / "build" / "submissions" / A / sid, dest)
        for name, by_id in meta.items():  # the student worked on nbgrader's release: its cells carry the metadata
            nb = json.loads((dest / name).read_text())
            for cell in nb["cells"]:
                if cell.get("id") in by_id:
                    cell.setdefault("metadata", {})["nbgrader"] = by_id[cell["id"]]
            (dest / name).write_text(json.dumps(nb, indent=1))
    return ng, env


SCORES = """
import json, sys
from nbgrader.api import Gradebook
with Gradebook("sqlite:///" + sys.argv[1]) as gb:
    print(json.dumps({s.student_id: s.score for s in gb.assignment_submissions(sys.argv[2])}))
"""


def run(quick: bool) -> list[dict]:
    import pandas as pd

    n = 12 if quick else 100
    root = Path(tempfile.mkdtemp(prefix="nbfleet-bench-grade-"))
    try:
        course, ids = _course(root, n)
        venv = ensure_nbgrader(REPO / "build" / "nbgrader-venv")
        ng, env = _nbgrader_course(root, course, ids, venv)

        ours, out = _doit(course, f"grade:{A}")
        if f"{A}: {n} graded in sandboxes" not in out:
            raise RuntimeError(f"not every submission was graded:\n{out[-3000:]}")
        start = time.perf_counter()
        subprocess.run([str(venv / "bin" / "nbgrader"), "autograde", A, "--create", "--force"], cwd=ng, env=env,
                       check=True, capture_output=True)
        theirs = time.perf_counter() - start

        table = pd.read_csv(course / "build" / "grades" / f"{A}.csv", dtype={"student": str})
        # the autograded tests' points (explain waits for a person here; nbgrader counts it 0 until then)
        tests = [c for c in table.columns if "/" in c and c != "problem1/explain"]
        our_totals = dict(zip(table["student"], table[tests].sum(axis=1, skipna=False), strict=True))
        their_totals = json.loads(subprocess.run([str(venv / "bin" / "python"), "-c", SCORES, str(ng / "gradebook.db"), A],
                                                 check=True, capture_output=True, text=True).stdout)
        agree = sum(our_totals[s] == their_totals.get(s) for s in ids)
        if os.environ.get("BENCH_DEBUG"):
            print({s: (our_totals[s], their_totals.get(s)) for s in ids}, file=sys.stderr)
        state = json.loads((course / "build" / "grades" / ".state" / f"{A}.json").read_text())
        overhead = statistics.mean(r["seconds"] - r["run_seconds"] for r in state.values())
        per = statistics.mean(r["seconds"] for r in state.values())

        noop, out = _doit(course, f"grade:{A}")
        if f"-- grade:{A}" not in out:
            raise RuntimeError(f"the second doit grade was not a no-op:\n{out[-2000:]}")
        return [
            {"benchmark": f"`doit grade:{A}`, {n} submissions, sandboxed, {os.cpu_count()} at once, feedback delivered, "
                          f"vs `nbgrader autograde` (unsandboxed, sequential)",
             "ours_s": ours, "naive_s": theirs, "ratio": ours / theirs, "goal": "<= 1.0x", "met": ours <= theirs,
             "note": f"totals agree for {agree}/{n} students"},
            {"benchmark": "the sandbox's own cost per submission (its whole time minus its notebooks' run time)",
             "ours_s": overhead, "naive_s": None, "ratio": None, "goal": "report", "met": True,
             "note": f"a sandbox takes {per:.2f} s in all, on average"},
            {"benchmark": f"no-op `doit grade:{A}` ({n} graded students)", "ours_s": noop, "naive_s": None, "ratio": None,
             "goal": "<= 1 s", "met": noop <= 1.0, "note": ""},
        ]
    finally:
        subprocess.run(["rm", "-rf", str(root)], check=False)

"""On notebooks with nbgrader metadata, `doit grade` gives the scores `nbgrader autograde` (PyPI) gives.

The corpus is nbgrader's own user-guide problem set (ps1: tests, hidden-free answers graded by a person, a task),
released by nbgrader itself; five students hand in the same files to both: correct, wrong, empty, one whose code
writes to stderr (nbgrader gives 0 to a test that shows stderr) and one who edited every test to `assert True`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from support.doit import ok
from support.doit import run as doit
from support.grading import grades, make_grading_course
from support.nbgrader import STUDENTS, write_submission
from support.repo import CONFORMANCE

pytestmark = [pytest.mark.docker, pytest.mark.slow]
PS1 = CONFORMANCE / "cases" / "nbgrader" / "docs" / "source" / "user_guide" / "source" / "ps1"
SCORES = """
import json, sys
from nbgrader.api import Gradebook
out = {}
with Gradebook("sqlite:///" + sys.argv[1]) as gb:
    for sub in gb.assignment_submissions("ps1"):
        for nb in sub.notebooks:
            for g in nb.grades:
                out.setdefault(sub.student_id, {})[f"{nb.name}/{g.name}"] = g.auto_score
print(json.dumps(out))
"""


def source_ps1(dest: Path) -> None:
    """nbgrader's ps1 with the kernel every Python image here has (the corpus says "python")."""
    dest.mkdir(parents=True)
    for path in PS1.iterdir():
        if path.suffix == ".ipynb":
            nb = json.loads(path.read_text())
            nb["metadata"]["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
            (dest / path.name).write_text(json.dumps(nb, indent=1))
        else:
            shutil.copy2(path, dest / path.name)


def nbgrader(venv: Path, cwd: Path, *args: str) -> str:
    env = dict(os.environ, PATH=f"{venv / 'bin'}:{os.environ['PATH']}")  # nbgrader runs `alembic` from PATH
    got = subprocess.run([str(venv / "bin" / "nbgrader"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    # the kernel nbgrader starts may log "KeyboardInterrupt caught in kernel" as it is shut down: not nbgrader's error
    errors = [line for line in (got.stdout + got.stderr).splitlines() if "ERROR" in line and not line.startswith("[IPKernelApp]")]
    assert got.returncode == 0 and not errors, got.stdout[-4000:] + got.stderr[-4000:]
    return got.stdout


def test_scores_equal_nbgrader_autograde(tmp_path, course_images, nbgrader_venv):
    if not PS1.is_dir():
        pytest.fail(f"the nbgrader conformance corpus is missing: {PS1}")
    ng = tmp_path / "nbgrader-course"
    source_ps1(ng / "source" / "ps1")
    (ng / "nbgrader_config.py").write_text(f'c = get_config()\nc.CourseDirectory.course_id = "parity"\n'
                                          f'c.CourseDirectory.root = "{ng}"\nc.ExecutePreprocessor.timeout = 60\n')
    nbgrader(nbgrader_venv, ng, "generate_assignment", "ps1", "--force")
    for sid, answers in STUDENTS.items():
        write_submission(ng / "release" / "ps1", ng / "submitted" / sid / "ps1", answers)
    nbgrader(nbgrader_venv, ng, "autograde", "ps1", "--create", "--force")
    theirs = json.loads(subprocess.run([str(nbgrader_venv / "bin" / "python"), "-c", SCORES, str(ng / "gradebook.db")],
                                       capture_output=True, text=True, check=True).stdout)

    course = make_grading_course(tmp_path / "course", course_images, roster=list(STUDENTS))
    source_ps1(course / "course" / "solutions" / "ps1")
    for sid in STUDENTS:
        shutil.copytree(ng / "submitted" / sid / "ps1", course / "students" / sid / "ps1")
    ok(doit(course, "collect:ps1"))
    out = ok(doit(course, "grade:ps1"))
    assert "ps1: 5 graded in sandboxes" in out
    ours = grades(course, "ps1")

    assert set(theirs) == set(STUDENTS)
    for sid, cells in theirs.items():
        assert len(cells) == 9
        for name, score in cells.items():
            mine = ours[sid][name]
            assert (None if mine == "" else mine) == score, (sid, name, mine, score)
    # the cases mean something: they are not all zero or all full marks
    assert theirs["correct"]["problem1/squares_invalid_input"] == 1.0 and theirs["wrong"]["problem1/squares_invalid_input"] == 0.0
    assert theirs["noisy"]["problem1/correct_squares"] == 0.0 and theirs["cheat"]["problem1/correct_squares"] == 1.0
    assert ours["correct"]["to_grade_by_hand"].split() == ["problem1/sum_of_squares_equation", "problem1/sum_of_squares_application",
                                                           "problem1/cell-938593c4a215c6cc", "problem2/part-a", "problem2/part-b"]

"""A course to grade: the test course's images and teacher, the sample assignment released, students' work collected.

Everything goes through the real code: `doit release`, the students' edits on disk, `doit collect`, `doit grade`.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from nbfleet import labels

from .courses import copy_records, copy_sample, random_course, retag, toml_section
from .doit import ok, run
from .nbgrader import ensure_nbgrader
from .repo import REPO

TEST_GRADE = {"parallel": 2, "memory": "512m", "cell_timeout": "8s", "notebook_timeout": "90s", "pids": 128}


def make_grading_course(dest: Path, built: Path, roster: list[str] | None = None, grade: dict | None = None) -> Path:
    """The sample course in ``dest`` with the test course's teacher and image records (``built``), a tag of its own
    (its sandboxes are its own), ``roster`` (default: the sample roster) and ``[grade]`` settings for tests."""
    copy_sample(dest)
    (dest / "course.toml").write_text((built / "course.toml").read_text())
    section = toml_section("grade", {**TEST_GRADE, **(grade or {})})
    toml = re.sub(r"(?ms)^\[grade\]\n.*?(?=^\[)", lambda _: section, (dest / "course.toml").read_text())
    (dest / "course.toml").write_text(toml)
    retag(dest, "gr" + random_course()[1:])
    if roster is not None:
        tag = _tag(dest)
        lines = [f"SNumber,Name,LastName,Email,{tag}_url,{tag}_server,{tag}_port,Password,Admin"]
        lines += [f"{sid},N,{sid},{sid}@example.org,,,,,FALSE" for sid in roster]
        (dest / "roster" / "users.csv").write_text("\n".join(lines) + "\n")
    copy_records(built, dest)
    return dest


def _tag(course: Path) -> str:
    return re.search(r'(?m)^tag = "([^"]+)"', (course / "course.toml").read_text()).group(1)


def grades(course: Path, assignment: str = "assignment1") -> dict[str, dict]:
    """``build/grades/<a>.csv`` as {student: row} (pandas, as a teacher would read it)."""
    import pandas as pd

    table = pd.read_csv(course / "build" / "grades" / f"{assignment}.csv", dtype={"student": str})
    table = table.astype(object).where(table.notna(), "")  # an empty cell reads as ""
    return {row["student"]: row for row in table.to_dict("records")}


def sandboxes(client, course: Path) -> list:
    """Grading sandboxes of this course that still exist (there must be none after a run)."""
    tag = _tag(course)
    return [c for c in client.containers.list(all=True) if c.labels.get(labels.GRADING, "").startswith(f"{tag}/")]


def state(course: Path, assignment: str = "assignment1") -> dict:
    return json.loads((course / "build" / "grades" / ".state" / f"{assignment}.json").read_text())


@pytest.fixture
def grading_course(tmp_path, course_images):
    """The sample course, released to everyone on its roster (s1234567, s2345678, s3456789, and teacher, its admin)."""
    course = make_grading_course(tmp_path / "course", course_images)
    ok(run(course, "release:assignment1"))
    return course


@pytest.fixture(scope="session")
def nbgrader_venv() -> Path:
    """nbgrader from PyPI in its own virtual environment, kept in build/ between runs."""
    try:
        return ensure_nbgrader(REPO / "build" / "nbgrader-venv")
    except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
        pytest.fail(str(exc))


AUTOGRADED = ("problem1/load", "problem1/mean_median", "problem2/test_busiest")  # the sample's tests (explain: by hand)


def autograded_points(row: dict):
    """The points of the sample assignment's autograded tests in a row of ``grades`` ("" while one has none)."""
    got = [row[c] for c in AUTOGRADED]
    return "" if "" in got else sum(got)

"""A course to grade: the test course's images and teacher, the sample assignment released, students' work collected.

Everything goes through the real code: `doit release`, the students' edits on disk, `doit collect`, `doit grade`.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest

from hosts_fixtures import doit

REPO = Path(__file__).resolve().parent.parent
TEST_GRADE = {"parallel": 2, "memory": '"512m"', "cell_timeout": '"8s"', "notebook_timeout": '"90s"', "pids": 128}


def make_grading_course(dest: Path, built: Path, roster: list[str] | None = None, grade: dict | None = None) -> Path:
    """A course folder in ``dest`` with the test course's settings and image records (``built``), the repository's
    course material, ``roster`` (default: the sample roster) and ``[grade]`` settings for tests."""
    dest.mkdir(parents=True, exist_ok=True)
    toml = (built / "course.toml").read_text()
    section = "[grade]\n" + "".join(f"{k} = {v}\n" for k, v in {**TEST_GRADE, **(grade or {})}.items()) + "\n"
    toml = re.sub(r"(?ms)^\[grade\]\n.*?(?=^\[)", lambda _: section, toml)
    toml = re.sub(r'(?m)^tag = "[^"]*"', f'tag = "gr{secrets.token_hex(3)}"', toml)  # its sandboxes are its own
    (dest / "course.toml").write_text(toml)
    for name in ("hosts", "dodo.py"):
        shutil.copy2(built / name, dest / name)
    for name in ("course", "docker-stacks", "roster"):
        shutil.copytree(REPO / name, dest / name)
    if roster is not None:
        lines = ["SNumber,Name,LastName,Email,mbd_url,mbd_server,mbd_port,Password,Admin"]
        lines += [f"{sid},N,{sid},{sid}@example.org,,,,,FALSE" for sid in roster]
        (dest / "roster" / "users.csv").write_text("\n".join(lines) + "\n")
    (dest / "build" / "images").mkdir(parents=True)
    for record in (built / "build" / "images").glob("*.json"):
        shutil.copy2(record, dest / "build" / "images" / record.name)
    return dest


def ok(result) -> str:
    """The output of a doit run that must have succeeded."""
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-6000:]
    return result.stdout


def grades(course: Path, assignment: str = "assignment1") -> dict[str, dict]:
    """``build/grades/<a>.csv`` as {student: row} (pandas, as a teacher would read it)."""
    import pandas as pd

    table = pd.read_csv(course / "build" / "grades" / f"{assignment}.csv", dtype={"student": str})
    table = table.astype(object).where(table.notna(), "")  # an empty cell reads as ""
    return {row["student"]: row for row in table.to_dict("records")}


def sandboxes(client, course: Path) -> list:
    """Grading sandboxes of this course that still exist (there must be none after a run)."""
    tag = re.search(r'(?m)^tag = "([^"]+)"', (course / "course.toml").read_text()).group(1)
    return [c for c in client.containers.list(all=True) if c.labels.get("nbfleet.grading", "").startswith(f"{tag}/")]


def state(course: Path, assignment: str = "assignment1") -> dict:
    return json.loads((course / "build" / "grades" / ".state" / f"{assignment}.json").read_text())


@pytest.fixture
def grading_course(tmp_path, course_images):
    """The sample course, released to its students (s1234567, s2345678, s3456789, teacher)."""
    course = make_grading_course(tmp_path / "course", course_images)
    ok(doit(course, "release:assignment1"))
    return course


@pytest.fixture(scope="session")
def nbgrader_venv() -> Path:
    """nbgrader from PyPI in its own virtual environment, kept in build/ between runs."""
    from nbgrader_submissions import ensure_nbgrader

    try:
        return ensure_nbgrader(REPO / "build" / "nbgrader-venv")
    except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
        pytest.fail(str(exc))

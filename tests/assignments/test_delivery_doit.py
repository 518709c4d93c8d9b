"""`doit release:<a>` and `doit collect:<a>` as the teacher runs them, in a copy of the sample course."""

from __future__ import annotations

import json

import pytest

from support.doit import run as doit
from support.edits import student_adds_a_note, teacher_adds_a_hint

STUDENTS = ["s1234567", "s2345678", "s3456789", "teacher"]


@pytest.fixture
def course(sample_course):
    if not (sample_course / "course" / "solutions" / "assignment1").is_dir():
        pytest.fail("the sample course has no course/solutions/assignment1 to release")
    return sample_course


def test_delivery_doit_release_then_noop_then_incremental(course):
    first = doit(course, "release:assignment1")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "assignment1: 4 students" in first.stdout
    for sid in STUDENTS:
        folder = course / "students" / sid / "assignment1"
        assert (folder / "problem1.ipynb").is_file() and (folder / "problem2.ipynb").is_file()
        assert not list(folder.rglob("*-solutions.ipynb")) and not (folder / "grading").exists()

    again = doit(course, "release:assignment1")
    assert again.returncode == 0 and "-- release:assignment1" in again.stdout  # up to date: not even run

    mine = course / "students" / "s2345678" / "assignment1" / "problem1.ipynb"
    student_adds_a_note(mine)
    untouched = {p: p.stat().st_ino for p in (course / "students").rglob("problem2.ipynb")}
    teacher_adds_a_hint(course)

    revised = doit(course, "release:assignment1")
    assert revised.returncode == 0, revised.stdout + revised.stderr
    assert ".  strip:assignment1/problem1.ipynb" in revised.stdout
    assert ".  strip:assignment1/problem2.ipynb" not in revised.stdout  # only the edited notebook re-stripped
    assert "3 update" in revised.stdout and "1 conflict" in revised.stdout and "4 files written" in revised.stdout
    assert "s2345678" in revised.stdout and "problem1.released-2.ipynb" in revised.stdout  # the conflict table
    assert "my notes" in mine.read_text()
    assert "A hint added" in (mine.parent / "problem1.released-2.ipynb").read_text()
    assert "A hint added" in (course / "students" / "s1234567" / "assignment1" / "problem1.ipynb").read_text()
    assert {p: p.stat().st_ino for p in untouched} == untouched


def test_delivery_doit_restore_brings_back_deleted_files_only_when_asked(course):
    assert doit(course, "release:assignment1").returncode == 0
    gone = course / "students" / "s3456789" / "assignment1" / "problem2.ipynb"
    gone.unlink()
    run = doit(course, "release:assignment1")
    assert run.returncode == 0 and not gone.exists()
    run = doit(course, "release:assignment1", "--restore")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 restore" in run.stdout and gone.is_file()


def test_delivery_doit_unknown_assignment_fails_in_one_line_and_releases_nothing(course):
    run = doit(course, "release:assignment9")
    assert run.returncode != 0
    first = (run.stdout + run.stderr).strip().splitlines()[0]
    assert "release:assignment9" in first
    assert not (course / "students").exists()


def test_collect_doit_snapshots_every_student(course):
    assert doit(course, "release:assignment1").returncode == 0
    (course / "students" / "s1234567" / "assignment1" / "answer.txt").write_text("42")
    run = doit(course, "collect:assignment1")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "assignment1: 3 students" in run.stdout
    manifest = json.loads((course / "build" / "submissions" / "assignment1" / "_manifest.json").read_text())
    assert sorted(manifest["students"]) == sorted(s for s in STUDENTS if s != "teacher"), "the admin is staff: not collected"
    assert not (course / "build" / "submissions" / "assignment1" / "teacher").exists()
    assert manifest["students"]["s1234567"]["files"]["answer.txt"]["released"] is False
    assert (course / "build" / "submissions" / "assignment1" / "s1234567" / "answer.txt").read_text() == "42"


def test_delivery_doit_list_is_a_menu(course):
    run = doit(course, "list", "--all")
    assert run.returncode == 0, run.stderr
    lines = {line.split()[0]: line for line in run.stdout.splitlines() if line.strip()}
    for task in ("release", "collect", "release:assignment1", "collect:assignment1"):
        assert task in lines and len(lines[task].split()) > 1, f"{task} has no doc"

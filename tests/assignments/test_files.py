"""Which files an assignment releases and under what name: renames, teacher-only files, symlinks, odd names."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nbfleet import settings as settings_module
from nbfleet.assignments.files import assignments, student_files
from nbfleet.errors import NbfleetError
from nbfleet.paths import stripped


@pytest.fixture
def course(sample_course: Path):
    return settings_module.load(sample_course / "course.toml")


def test_the_sample_assignment_releases_renamed_notebooks_and_data_but_not_teacher_files(course):
    files = student_files(course, "assignment1")
    assert sorted(files) == ["data/measurements.csv", "problem1.ipynb", "problem2.ipynb"]
    assert files["problem1.ipynb"].name == "problem1-solutions.ipynb"
    assert assignments(course) == ["assignment1"]
    assert stripped(course, "assignment1") == course.root / "build" / "stripped" / "assignment1"


def test_teacher_only_patterns_match_names_paths_and_folders(course):
    top = course.solutions_dir / "assignment1"
    (top / "answers.key").write_text("42")
    (top / "notes-teacher.md").write_text("hm")
    (top / "grading" / "deep").mkdir(parents=True)
    (top / "grading" / "deep" / "x.txt").write_text("x")
    (top / "sub" / "grading").mkdir(parents=True)
    (top / "sub" / "grading" / "y.txt").write_text("y")
    (top / "sub" / "key.key").write_text("k")
    (top / ".ipynb_checkpoints").mkdir()
    (top / ".ipynb_checkpoints" / "problem1-solutions-checkpoint.ipynb").write_text("{}")
    names = set(student_files(course, "assignment1"))
    assert not {"answers.key", "notes-teacher.md", "grading/rubric.md", "grading/deep/x.txt", "sub/key.key"} & names
    assert "sub/grading/y.txt" in names  # "grading/*" is anchored at the assignment folder, as in .gitignore
    assert not any(".ipynb_checkpoints" in n for n in names)


def test_names_with_spaces_and_non_ascii_letters_are_accepted(course):
    top = course.solutions_dir / "assignment1"
    (top / "week één-solutions.ipynb").write_bytes((top / "problem2-solutions.ipynb").read_bytes())
    (top / "données brutes.csv").write_text("a,b\n")
    files = student_files(course, "assignment1")
    assert "week één.ipynb" in files and "données brutes.csv" in files


def test_a_missing_assignment_is_an_error_naming_the_folder(course):
    with pytest.raises(NbfleetError) as err:
        student_files(course, "assignment9")
    assert err.value.where.endswith("course/solutions/assignment9") and "assignment1" in err.value.what


def test_a_symlink_leaving_the_course_is_refused(course, tmp_path):
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("not the course's")
    link = course.solutions_dir / "assignment1" / "leak.txt"
    os.symlink(outside, link)
    with pytest.raises(NbfleetError) as err:
        student_files(course, "assignment1")
    assert err.value.where == str(link) and "outside the course" in err.value.what


def test_a_symlink_inside_the_course_is_followed(course):
    shared = course.root / "course" / "shared"
    shared.mkdir()
    (shared / "helpers.py").write_text("def helper():\n    return 1\n")
    os.symlink("../../shared/helpers.py", course.solutions_dir / "assignment1" / "helpers.py")
    assert student_files(course, "assignment1")["helpers.py"].read_text().startswith("def helper")


def test_a_dangling_symlink_is_an_error(course):
    os.symlink("nowhere.csv", course.solutions_dir / "assignment1" / "gone.csv")
    with pytest.raises(NbfleetError, match="does not exist"):
        student_files(course, "assignment1")


def test_two_sources_with_one_released_name_are_an_error(course):
    top = course.solutions_dir / "assignment1"
    (top / "problem1.ipynb").write_bytes((top / "problem1-solutions.ipynb").read_bytes())
    with pytest.raises(NbfleetError, match="released as 'problem1.ipynb'"):
        student_files(course, "assignment1")


def test_a_symlink_to_the_roster_is_refused(course):
    roster = course.root / "roster"
    roster.mkdir(exist_ok=True)
    (roster / "users.csv").write_text("SNumber,Password\ns1,secret\n")
    os.symlink("../../../roster/users.csv", course.solutions_dir / "assignment1" / "students.csv")
    with pytest.raises(NbfleetError, match="outside the course material folder"):
        student_files(course, "assignment1")

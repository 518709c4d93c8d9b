"""The grades as Canvas and Moodle import them: the columns their documentation names, students only, by the roster
column the teacher names (pure: no engine)."""

from __future__ import annotations

import csv
import io

import pytest

from nbfleet.errors import NbfleetError
from nbfleet.grading.grade import write_lms_files
from nbfleet.grading.gradebook import assignment_table, write_table
from nbfleet.grading.lms import canvas_csv, moodle_csv
from nbfleet.roster.students import Student
from nbfleet.settings import load
from support.courses import copy_sample


def student(sid: str, admin: bool = False) -> Student:
    return Student(sid, f"N{sid}", f"L{sid}", f"{sid}@example.org", admin, None, None, None, None)


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_canvas_has_its_import_columns_a_points_possible_row_and_empty_cells_for_grades_not_complete():
    got = rows(canvas_csv([student("s1"), student("s2")], {"s1": "u1", "s2": "u2"},
                          {"a1": {"s1": 3.5, "s2": None}, "a2": {"s2": 2.0}}, {"a1": 4.0, "a2": 2.0}, {"a1": "Assignment 1 (101)"}))
    # Canvas Guides, "How do I import grades in the Gradebook?": Student, ID, SIS User ID, SIS Login ID, Section, then
    # one column per assignment; Canvas's own export has the Points Possible row under the header
    assert got[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Assignment 1 (101)", "a2"]
    assert got[1] == ["Points Possible", "", "", "", "", "4", "2"]
    assert got[2] == ["Ls1, Ns1", "", "u1", "u1", "", "3.5", ""]
    assert got[3] == ["Ls2, Ns2", "", "u2", "u2", "", "", "2"]


def test_moodle_has_its_import_columns_and_one_grade_item_per_assignment():
    got = rows(moodle_csv([student("s1")], {"s1": "u1"}, {"a1": {"s1": 3.0}}, {"a1": "Problem set 1"}))
    # Moodle docs, "Grade import": a column that identifies the user (ID number, email or username), one per grade item
    assert got == [["First name", "Last name", "ID number", "Email address", "Problem set 1"], ["Ns1", "Ls1", "u1", "s1@example.org", "3"]]


def test_a_grade_run_writes_both_files_for_students_only_by_the_column_the_teacher_names(tmp_path):
    course = copy_sample(tmp_path / "course")
    users = course / "roster" / "users.csv"
    lines = users.read_text().splitlines()
    users.write_text("\n".join([lines[0] + ",CanvasLogin"] + [line + f",login{i}" for i, line in enumerate(lines[1:])]) + "\n")
    toml = course / "course.toml"
    toml.write_text(toml.read_text().replace('lms_id = "SNumber"', 'lms_id = "CanvasLogin"\nlms_names = { assignment1 = "PS 1" }', 1))
    s = load(toml)
    state = {sid: {"tests": {"p/t": {"points": pts, "max": 2.0}}, "late": False} for sid, pts in (("s1234567", 2.0), ("s2345678", 1.0))}
    write_table(assignment_table("assignment1", state, [("p/t", 2.0)], []), tmp_path / "course" / "build" / "grades" / "assignment1.csv")
    write_lms_files(s, ["assignment1"])
    canvas = list(csv.reader((course / "build" / "grades" / "canvas.csv").open()))
    assert canvas[0][-1] == "PS 1" and canvas[1][-1] == "2"
    assert [(r[2], r[-1]) for r in canvas[2:]] == [("login0", "2"), ("login1", "1"), ("login2", "")], "no row for the teacher"
    moodle = list(csv.reader((course / "build" / "grades" / "moodle.csv").open()))
    assert [r[2] for r in moodle[1:]] == ["login0", "login1", "login2"]
    toml.write_text(toml.read_text().replace('lms_id = "CanvasLogin"', 'lms_id = "Username"'))
    with pytest.raises(NbfleetError, match=r"grade\.lms_id: the roster has no column 'Username'"):
        write_lms_files(load(toml), ["assignment1"])

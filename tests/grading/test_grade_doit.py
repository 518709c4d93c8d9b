"""`doit grade:assignment1` on the sample assignment, as a teacher runs it: real sandboxes, real kernels."""

from __future__ import annotations

import csv
import json
import re

import pytest

from support.courses import read_record
from support.doit import ok
from support.doit import run as doit
from support.edits import edit_cell, student_adds_a_note, student_solves
from support.grading import autograded_points, grades, make_grading_course, sandboxes, state

pytestmark = [pytest.mark.docker, pytest.mark.slow]
A = "assignment1"


def test_three_students_then_noop_then_one_change_then_overrides(grading_course, docker_client):
    course = grading_course
    student_solves(course, "s1234567")  # correct
    student_solves(course, "s2345678", replace={"problem1.ipynb": ("statistics.median(", "statistics.mean(")})  # median wrong
    # s3456789 hands in what they got (empty); the teacher (Admin=TRUE) is staff, not a student: never graded
    mine = course / "students" / "s1234567" / "feedback" / A / "problem2.html"
    mine.parent.mkdir(parents=True)
    mine.write_text("my own notes, not feedback")  # a file of the student's where feedback will land
    ok(doit(course, f"collect:{A}"))

    out = ok(doit(course, f"grade:{A}"))
    assert f"{A}: 3 graded in sandboxes, 0 unchanged" in out
    g = grades(course)
    assert set(g) == {"s1234567", "s2345678", "s3456789"}, "the teacher is not graded"
    assert not (course / "students" / "teacher" / "feedback").exists()
    assert (autograded_points(g["s1234567"]), autograded_points(g["s2345678"]), autograded_points(g["s3456789"])) == (4, 2, 0)
    # explain waits for a person where it was answered; the stub left as released scores 0
    assert (g["s1234567"]["total"], g["s2345678"]["total"], g["s3456789"]["total"]) == ("", "", 0)
    assert g["s1234567"]["to_grade_by_hand"] == "problem1/explain" and g["s3456789"]["problem1/explain"] == 0
    assert (g["s2345678"]["problem1/load"], g["s2345678"]["problem1/mean_median"], g["s2345678"]["problem2/test_busiest"]) == (1, 0, 1)
    assert all(g[s]["max"] == 5 for s in g) and not any(g[s]["late"] for s in g)
    rec = state(course)["s2345678"]["tests"]["problem1/mean_median"]
    assert rec["why"].startswith("AssertionError")
    book = (course / "build" / "grades" / "gradebook.csv").read_text().splitlines()
    assert book[0].startswith("student,assignment1,assignment1 max,assignment1 late") and any(
        line.startswith("s1234567,,5.0") for line in book)
    assert sandboxes(docker_client, course) == []
    # the LMS files: students only (not the teacher), known by their SNumber
    canvas = list(csv.reader((course / "build" / "grades" / "canvas.csv").open()))
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", A]
    assert canvas[1] == ["Points Possible", "", "", "", "", "5"]
    assert [r[2] for r in canvas[2:]] == ["s1234567", "s2345678", "s3456789"] and canvas[2][5] == "" and canvas[4][5] == "0"
    moodle = list(csv.reader((course / "build" / "grades" / "moodle.csv").open()))
    assert moodle[0] == ["First name", "Last name", "ID number", "Email address", A]
    assert [r[2] for r in moodle[1:]] == ["s1234567", "s2345678", "s3456789"] and moodle[3][4] == "0" and moodle[2][4] == ""

    report = (course / "build" / "grades" / f"{A}-similarity.html").read_text()  # beside the tables, each run
    assert f"{A}: answers that are unusually alike" in report and "3 submissions" in report

    # the feedback: in each student's folder, hidden tests not shown, the student's own file untouched
    page = (course / "students" / "s2345678" / "feedback" / A / "problem1.html").read_text()
    assert "Points: to be completed by the teacher / 4" in page and "mean_median: 0 / 2 points" in page and "11.5" not in page
    assert "<script" not in page.lower()
    assert mine.read_text() == "my own notes, not feedback"
    beside = sorted(p.name for p in mine.parent.iterdir())
    assert beside == ["problem1.html", "problem2.html", "problem2.released-1.html"], beside
    assert "test_busiest: 1 / 1 points" in (mine.parent / "problem2.released-1.html").read_text()
    assert "conflict" in out or "beside it" in out

    # nothing changed: doit does not even run the task; a new collect of the same work grades nobody
    assert f"-- grade:{A}" in ok(doit(course, f"grade:{A}"))
    ok(doit(course, f"collect:{A}"))
    again = ok(doit(course, f"grade:{A}"))
    assert f"{A}: 0 graded in sandboxes, 3 unchanged" in again

    # one student fixes their median: only they are graded again
    student_solves(course, "s2345678")
    ok(doit(course, f"collect:{A}"))
    one = ok(doit(course, f"grade:{A}"))
    assert f"{A}: 1 graded in sandboxes, 2 unchanged" in one
    assert autograded_points(grades(course)["s2345678"]) == 4

    # two students change; the teacher grades one with --student; the next plain run grades the other
    student_adds_a_note(course / "students" / "s1234567" / A / "problem2.ipynb")
    student_adds_a_note(course / "students" / "s2345678" / A / "problem2.ipynb")
    ok(doit(course, f"collect:{A}"))
    assert f"{A}: 1 graded in sandboxes" in ok(doit(course, f"grade:{A}", "--student", "s2345678"))
    assert autograded_points(grades(course)["s2345678"]) == 4
    assert f"{A}: 1 graded in sandboxes, 2 unchanged" in ok(doit(course, f"grade:{A}"))
    assert f"-- grade:{A}" in ok(doit(course, f"grade:{A}"))

    # the teacher's own score survives a regrade of that student
    overrides = course / "grades" / "overrides.csv"
    overrides.parent.mkdir()
    overrides.write_text("assignment,student,test,points,comment\nassignment1,s3456789,problem1/load,0.5,asked for help\n")
    ok(doit(course, f"grade:{A}"))
    assert grades(course)["s3456789"]["problem1/load"] == 0.5 and grades(course)["s3456789"]["total"] == 0.5
    forced = ok(doit(course, f"grade:{A}", "--student", "s3456789"))
    assert f"{A}: 1 graded in sandboxes" in forced
    g = grades(course)
    assert g["s3456789"]["problem1/load"] == 0.5 and g["s3456789"]["overridden"] == "problem1/load"
    assert autograded_points(g["s1234567"]) == 4


def test_bad_submissions_are_named_and_the_others_graded(tmp_path, docker_client, course_images):
    course = make_grading_course(tmp_path / "course", course_images, roster=["s1234567", "s2345678", "s3456789", "s4567890"])
    ok(doit(course, f"release:{A}"))
    # a sandbox an interrupted run left behind (its doit was killed): the next run removes it
    tag = re.search(r'(?m)^tag = "([^"]+)"', (course / "course.toml").read_text()).group(1)
    image = read_record(course_images, "course-notebook")["id"]
    docker_client.containers.create(image, command=["true"], labels={"nbfleet.grading": f"{tag}/{A}"})
    assert len(sandboxes(docker_client, course)) == 1
    student_solves(course, "s1234567")
    (course / "students" / "s2345678" / A / "problem1.ipynb").write_text('{"cells": [')  # not JSON
    (course / "students" / "s3456789" / A / "problem2.ipynb").write_text('{"hello": 1}')  # not a notebook
    teacher = course / "students" / "s4567890" / A / "problem1.ipynb"  # a test cell the teacher does not have
    nb = json.loads(teacher.read_text())
    nb["cells"].append({"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "id": "extra1",
                        "source": "### TEST bonus: 10 points\nassert True"})
    teacher.write_text(json.dumps(nb))
    ok(doit(course, f"collect:{A}"))
    out = ok(doit(course, f"grade:{A}"))
    assert f"{A}: 4 graded in sandboxes, 0 unchanged, 3 to look at" in out
    assert "note: removed 1 sandbox(es) an interrupted run left behind" in out
    assert sandboxes(docker_client, course) == []
    flat = " ".join(out.split())
    assert "s2345678: build/submissions/assignment1/s2345678/problem1.ipynb:1:12: not valid JSON: Expecting value" in flat
    assert "s3456789: build/submissions/assignment1/s3456789/problem2.ipynb: not a Jupyter notebook" in flat
    assert "s4567890: build/submissions/assignment1/s4567890/problem1.ipynb: cell 11: test cell 'bonus' is not in the teacher's version" in flat
    g = grades(course)
    assert autograded_points(g["s1234567"]) == 4
    assert g["s2345678"]["total"] == "" and g["s2345678"]["problem"].endswith("not valid JSON: Expecting value")


def test_duplicate_grade_ids_in_a_submission_and_in_the_teachers_version(grading_course):
    course = grading_course
    mine = course / "students" / "s1234567" / A / "problem2.ipynb"
    nb = json.loads(mine.read_text())
    nb["cells"].append({**nb["cells"][3], "id": "copy-of-test"})  # the test cell pasted again, metadata and all
    mine.write_text(json.dumps(nb))
    ok(doit(course, f"collect:{A}"))
    out = ok(doit(course, f"grade:{A}"))
    assert ("s1234567: build/submissions/assignment1/s1234567/problem2.ipynb: cell 6: grade id 'test_busiest' is also used by "
            "cell 4") in " ".join(out.split())

    src = course / "course" / "solutions" / A / "problem1-solutions.ipynb"
    edit_cell(src, "### TEST load", "### TEST mean_median: 1 point\nrows = load('data/measurements.csv')")
    bad = doit(course, f"grade:{A}")
    assert bad.returncode != 0
    errors = [line for line in (bad.stdout + bad.stderr).splitlines() if line.startswith("error:")]
    assert errors == ["error: course/solutions/assignment1/problem1-solutions.ipynb: cell 8: grade id 'mean_median' is also used "
                      "by cell 5"], bad.stdout + bad.stderr


def test_missing_collect_and_a_bad_override_are_one_line(grading_course):
    course = grading_course
    bad = doit(course, f"grade:{A}")
    assert bad.returncode != 0
    assert ("error: build/submissions/assignment1/_manifest.json: assignment1 was not collected: run `doit collect:assignment1` "
            "first") in bad.stdout + bad.stderr
    ok(doit(course, f"collect:{A}"))
    (course / "grades").mkdir()
    (course / "grades" / "overrides.csv").write_text("assignment,student,test,points\nassignment1,s1234567,problem9/x,1\n")
    bad = doit(course, f"grade:{A}")
    assert bad.returncode != 0
    assert "error: grades/overrides.csv:2: assignment1 has no test 'problem9/x'" in bad.stdout + bad.stderr
    (course / "grades" / "overrides.csv").write_text("assignment,student,test,points\nassignment1,s1234567,problem1/load,lots\n")
    bad = doit(course, f"grade:{A}")
    assert "error: grades/overrides.csv:2: points 'lots' is not a number" in bad.stdout + bad.stderr
    (course / "grades" / "overrides.csv").write_text("assignment,student,test,points\nassignment1,s1234576,problem1/load,1\n")
    bad = doit(course, f"grade:{A}")
    assert "error: grades/overrides.csv:2: no student 's1234576' was collected for assignment1" in bad.stdout + bad.stderr

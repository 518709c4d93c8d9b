"""``paths.shown``: every path a teacher reads in a message, relative to the course folder when inside it."""

from __future__ import annotations

from pathlib import Path

from nbfleet.paths import shown


def test_a_path_inside_the_course_is_shown_relative_to_it(tmp_path: Path):
    (tmp_path / "course" / "solutions").mkdir(parents=True)
    assert shown(tmp_path / "course" / "solutions" / "a1.ipynb", tmp_path) == "course/solutions/a1.ipynb"
    assert shown(str(tmp_path / "build" / "grades" / "a1.csv"), str(tmp_path)) == "build/grades/a1.csv"


def test_a_path_outside_the_course_is_shown_as_it_is(tmp_path: Path):
    (tmp_path / "course").mkdir()
    assert shown(tmp_path / "elsewhere" / "x.csv", tmp_path / "course") == str(tmp_path / "elsewhere" / "x.csv")


def test_a_link_inside_the_course_is_shown_as_the_link_not_its_target(tmp_path: Path):
    course, shared = tmp_path / "course", tmp_path / "shared"
    course.mkdir()
    shared.mkdir()
    (shared / "data.csv").write_text("x\n")
    (course / "data.csv").symlink_to(shared / "data.csv")
    assert shown(course / "data.csv", course) == "data.csv"


def test_a_course_reached_through_a_link_still_shows_relative_paths(tmp_path: Path):
    real = tmp_path / "real"
    (real / "roster").mkdir(parents=True)
    (tmp_path / "via").symlink_to(real)
    assert shown(tmp_path / "via" / "roster" / "users.csv", tmp_path / "via") == "roster/users.csv"

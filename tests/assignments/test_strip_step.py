"""Writing build/stripped/<a>/: stripped notebooks, copied files, the assignment-wide leak guard, bad input, and
`doit strip` re-stripping only what changed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from nbfleet import settings as settings_module
from nbfleet.assignments.files import student_files
from nbfleet.assignments.notebook_file import read_notebook
from nbfleet.assignments.strip import guard_assignment, strip_file
from nbfleet.errors import NbfleetError
from nbfleet.paths import retired, secrets_record, stripped
from support.doit import run as doit
from support.doit import write_dodo


@pytest.fixture
def course(sample_course: Path):
    return settings_module.load(sample_course / "course.toml")


def top(course) -> Path:
    return course.solutions_dir / "assignment1"


def release_all(course, a="assignment1"):
    for name, source in student_files(course, a).items():
        strip_file(course, a, name, source)
    return guard_assignment(course, a)


def test_the_sample_assignment_is_released_stripped_with_toc_and_data_copied_as_is(course):
    summary = release_all(course)
    out = stripped(course, "assignment1")
    assert sorted(summary["files"]) == ["data/measurements.csv", "problem1.ipynb", "problem2.ipynb"]
    assert (out / "data" / "measurements.csv").read_bytes() == (top(course) / "data" / "measurements.csv").read_bytes()
    nb = nbformat.read(out / "problem1.ipynb", as_version=4)
    text = json.dumps(nb)
    assert "YOUR ANSWER HERE" in text and "NotImplementedError" in text
    assert "statistics.mean(float" not in text and "sensor fault" not in text and "median_temperature(rows) == 11.5" not in text
    assert nb.cells[1].source.startswith("# Table of Contents\n\n- [Assignment 1: temperatures](#assignment-1-temperatures)")
    assert all(c.get("outputs", []) == [] for c in nb.cells)
    assert not (out / "grading").exists()
    assert oct(secrets_record(course, "assignment1", "problem1.ipynb").stat().st_mode & 0o777) == "0o600"


def test_released_notebooks_are_written_as_jupyter_writes_them_and_reproducibly(course):
    release_all(course)
    path = stripped(course, "assignment1") / "problem1.ipynb"
    first = path.read_bytes()
    nb = nbformat.read(path, as_version=4)
    assert first == (nbformat.writes(nb) + "\n").encode("utf-8")  # open + save in Jupyter keeps the bytes
    release_all(course)
    assert path.read_bytes() == first


def test_a_binary_file_is_copied_byte_for_byte(course):
    blob = bytes(range(256)) * 40
    (top(course) / "figure.png").write_bytes(blob)
    release_all(course)
    assert (stripped(course, "assignment1") / "figure.png").read_bytes() == blob


def test_invalid_json_is_an_error_with_line_and_column_and_nothing_is_written(course):
    bad = top(course) / "broken-solutions.ipynb"
    bad.write_text('{\n  "cells": [\n    {"cell_type": "code",, }\n  ]\n}\n')
    with pytest.raises(NbfleetError) as err:
        strip_file(course, "assignment1", "broken.ipynb", bad)
    assert err.value.where == "course/solutions/assignment1/broken-solutions.ipynb:3:26"
    assert "not valid JSON" in err.value.what
    assert not (stripped(course, "assignment1") / "broken.ipynb").exists()


def test_an_invalid_v4_document_is_an_error_naming_the_place(course):
    bad = top(course) / "bad-solutions.ipynb"
    bad.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code", "source": "x"}]}))
    with pytest.raises(NbfleetError) as err:
        strip_file(course, "assignment1", "bad.ipynb", bad)
    assert err.value.where == "course/solutions/assignment1/bad-solutions.ipynb"
    assert "not a valid nbformat v4 notebook" in err.value.what
    assert "\n" not in str(err.value)


def test_a_json_file_that_is_not_a_notebook_is_refused(course):
    bad = top(course) / "list-solutions.ipynb"
    bad.write_text("[1, 2, 3]")
    with pytest.raises(NbfleetError, match="not a Jupyter notebook"):
        strip_file(course, "assignment1", "list.ipynb", bad)


def test_an_nbformat_v3_notebook_is_upgraded_and_said_so(course):
    v3 = {"nbformat": 3, "nbformat_minor": 0, "metadata": {"name": ""}, "worksheets": [{"cells": [
        {"cell_type": "code", "language": "python", "collapsed": False, "metadata": {}, "outputs": [],
         "input": "def f():\n    ### BEGIN SOLUTION\n    return 'v3 answer'\n    ### END SOLUTION", "prompt_number": 1}]}]}
    src = top(course) / "old-solutions.ipynb"
    src.write_text(json.dumps(v3))
    notes = strip_file(course, "assignment1", "old.ipynb", src)
    assert notes == ["course/solutions/assignment1/old-solutions.ipynb: nbformat v3 notebook upgraded to v4 for the release "
                     "(the source is not changed)"]
    nb = nbformat.read(stripped(course, "assignment1") / "old.ipynb", as_version=4)
    assert nb.nbformat == 4 and nb.cells[0].source == "def f():\n    # YOUR CODE HERE\n    raise NotImplementedError()"
    assert json.loads(src.read_text())["nbformat"] == 3
    first = (stripped(course, "assignment1") / "old.ipynb").read_bytes()
    strip_file(course, "assignment1", "old.ipynb", src)
    assert (stripped(course, "assignment1") / "old.ipynb").read_bytes() == first, "the upgrade is reproducible"


def test_nbformat_v2_is_refused(course):
    src = top(course) / "ancient-solutions.ipynb"
    src.write_text(json.dumps({"nbformat": 2, "worksheets": []}))
    with pytest.raises(NbfleetError, match="nbformat v2 is not supported"):
        strip_file(course, "assignment1", "ancient.ipynb", src)


def test_a_kernel_language_without_a_stub_is_an_error_and_nothing_is_written(course):
    nb = new_notebook(cells=[new_code_cell("### BEGIN SOLUTION\nmain = putStrLn \"hi\"\n### END SOLUTION")],
                      metadata={"kernelspec": {"name": "haskell", "display_name": "Haskell", "language": "haskell"}})
    src = top(course) / "lazy-solutions.ipynb"
    nbformat.write(nb, src)
    with pytest.raises(NbfleetError) as err:
        strip_file(course, "assignment1", "lazy.ipynb", src)
    assert "course/solutions/assignment1/lazy-solutions.ipynb: cell 1" == err.value.where and "'haskell'" in err.value.what
    assert not (stripped(course, "assignment1") / "lazy.ipynb").exists()


def test_a_failed_restrip_removes_the_previously_released_version(course):
    release_all(course)
    src = top(course) / "problem1-solutions.ipynb"
    nb = nbformat.read(src, as_version=4)
    nb.cells[3].source = nb.cells[3].source.replace("### END SOLUTION", "### end solution")
    nbformat.write(nb, src)
    with pytest.raises(NbfleetError) as err:
        strip_file(course, "assignment1", "problem1.ipynb", src)
    assert err.value.where == "course/solutions/assignment1/problem1-solutions.ipynb: cell 4, line 9"
    assert not (stripped(course, "assignment1") / "problem1.ipynb").exists()


def test_the_assignment_guard_catches_a_solution_copied_into_another_file(course):
    (top(course) / "helpers.py").write_text('def load(path):\n    with open(path, newline="") as f:\n        return list(csv.DictReader(f))\n')
    with pytest.raises(NbfleetError) as err:
        release_all(course)
    assert err.value.where == "course/solutions/assignment1/helpers.py"
    assert "would be released in helpers.py (content)" in err.value.what
    assert not (stripped(course, "assignment1") / "helpers.py").exists()


def test_the_guard_removes_files_that_are_no_longer_released(course):
    release_all(course)
    (top(course) / "data" / "measurements.csv").rename(top(course) / "data" / "old-teacher.csv")  # now teacher-only
    (stripped(course, "assignment1") / "stray.txt").write_text("left from an old release")
    summary = guard_assignment(course, "assignment1")
    assert sorted(summary["files"]) == ["problem1.ipynb", "problem2.ipynb"]
    assert sorted(p.name for p in stripped(course, "assignment1").rglob("*")) == ["problem1.ipynb", "problem2.ipynb"]


def test_stripping_removes_what_an_earlier_nbfleet_kept_under_its_old_names(course):
    kept = [course.build_dir / "release" / "assignment1", course.build_dir / "strip" / "assignment1"]
    other = course.build_dir / "release" / "assignment2" / "problem1.ipynb"
    for folder in kept:
        (folder / "sub").mkdir(parents=True)
        (folder / "sub" / "problem1.ipynb.secrets.json").write_text('{"region_lines": ["the solution"]}')
    other.parent.mkdir(parents=True)
    other.write_text("{}")
    assert retired(course, "assignment1") == kept
    release_all(course)
    assert not any(folder.exists() for folder in kept)
    assert other.is_file(), "only the stripped assignment's own leftovers go"
    assert (stripped(course, "assignment1") / "problem1.ipynb").is_file()


def test_read_notebook_returns_v4_nodes(course):
    nb, notes = read_notebook(top(course) / "problem2-solutions.ipynb", "p2")
    assert nb.nbformat == 4 and notes == []


# ---- through doit -------------------------------------------------------------------------------------------------



def ran(output: str) -> set[str]:
    return {line.split()[1] for line in output.splitlines() if line.startswith(".  ")}


def test_doit_strip_restrips_only_the_edited_notebook(sample_course):
    write_dodo(sample_course, "strip")
    first = doit(sample_course, "strip")
    assert first.returncode == 0, first.stdout + first.stderr
    assert ran(first.stdout) == {"strip:assignment1/problem1.ipynb", "strip:assignment1/problem2.ipynb",
                                 "strip:assignment1/data/measurements.csv", "strip:assignment1"}
    listing = doit(sample_course, "list")
    assert "strip solutions" in listing.stdout
    assert ran(doit(sample_course, "strip").stdout) == set()

    src = sample_course / "course/solutions/assignment1/problem2-solutions.ipynb"
    nb = nbformat.read(src, as_version=4)
    nb.cells[0].source += "\n\nRevised: the data has five rows."
    nbformat.write(nb, src)
    again = doit(sample_course, "strip")
    assert again.returncode == 0, again.stdout + again.stderr
    assert ran(again.stdout) == {"strip:assignment1/problem2.ipynb", "strip:assignment1"}
    assert "Revised" in (sample_course / "build/stripped/assignment1/problem2.ipynb").read_text()


def test_doit_strip_fails_with_one_line_and_releases_nothing_for_a_near_miss_marker(sample_course):
    write_dodo(sample_course, "strip")
    src = sample_course / "course/solutions/assignment1/problem1-solutions.ipynb"
    nb = nbformat.read(src, as_version=4)
    nb.cells[6].source = nb.cells[6].source.replace("### BEGIN SOLUTION", "### BEGIN SOLUTIONS", 1)
    nbformat.write(nb, src)
    result = doit(sample_course, "strip")
    assert result.returncode != 0
    errors = [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("error:")]
    assert errors == ["error: course/solutions/assignment1/problem1-solutions.ipynb: cell 7, line 5: "
                      "'### BEGIN SOLUTIONS' is not a marker but nearly one: write exactly 'BEGIN SOLUTION'"]
    assert "Traceback" not in result.stdout + result.stderr
    assert not (sample_course / "build/stripped/assignment1/problem1.ipynb").exists()
    assert not (sample_course / "build/guard/assignment1/guard.json").exists()


def test_doit_strip_reports_a_symlink_leaving_the_course_in_one_line(sample_course, tmp_path):
    write_dodo(sample_course, "strip")
    (tmp_path / "secret.txt").write_text("x")
    os.symlink(tmp_path / "secret.txt", sample_course / "course/solutions/assignment1/secret.txt")
    result = doit(sample_course, "strip")
    assert result.returncode != 0
    assert "outside the course material folder" in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_solution_markers_in_a_file_that_is_not_a_notebook_stop_the_release(course):
    (top(course) / "helpers.py").write_text("def area(r):\n    ### BEGIN SOLUTION\n    return 3.14 * r * r\n    ### END SOLUTION\n")
    with pytest.raises(NbfleetError) as err:
        strip_file(course, "assignment1", "helpers.py", top(course) / "helpers.py")
    assert err.value.where.endswith("helpers.py:2") and "not a notebook" in err.value.what
    assert not (stripped(course, "assignment1") / "helpers.py").exists()


def test_a_notebook_with_an_upper_case_extension_is_stripped_too(course):
    source = top(course) / "problem1-solutions.ipynb"
    (top(course) / "Extra.IPYNB").write_bytes(source.read_bytes())
    strip_file(course, "assignment1", "Extra.IPYNB", top(course) / "Extra.IPYNB")
    text = (stripped(course, "assignment1") / "Extra.IPYNB").read_text()
    assert "BEGIN SOLUTION" not in text and "YOUR CODE HERE" in text

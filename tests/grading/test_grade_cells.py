"""Which cells grade what, the teacher's cells put back, and points (pure: nbfleet.grading.cells, restore, score, hidden)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbfleet.errors import NbfleetError
from nbfleet.grading.cells import Graded, mark_line, teacher_notebook
from nbfleet.grading.cells import test_line as convention_of
from nbfleet.grading.hidden import hide_hidden_tests
from nbfleet.grading.restore import restore
from nbfleet.grading.score import score_cell
from support.repo import REPO

SAMPLE = REPO / "course" / "solutions" / "assignment1"


def code(source, id=None, nbgrader=None, outputs=None):
    cell = {"cell_type": "code", "metadata": {}, "source": source, "outputs": outputs or [], "execution_count": None}
    if id:
        cell["id"] = id
    if nbgrader:
        cell["metadata"]["nbgrader"] = {"schema_version": 3, "grade": False, "solution": False, "locked": False, **nbgrader}
    return cell


def md(source, id=None):
    return {"cell_type": "markdown", "metadata": {}, "source": source, **({"id": id} if id else {})}


def nb(*cells):
    return {"cells": list(cells), "metadata": {"kernelspec": {"name": "python3", "language": "python"}}, "nbformat": 4, "nbformat_minor": 5}


def sample(name):
    return json.loads((SAMPLE / name).read_text())


def test_the_sample_assignment_has_points():
    p1 = teacher_notebook(sample("problem1-solutions.ipynb"), "problem1.ipynb", "p1")
    p2 = teacher_notebook(sample("problem2-solutions.ipynb"), "problem2.ipynb", "p2")
    assert [(g.grade_id, g.points, g.manual) for _, g in sorted(p1.graded.items())] == [
        ("load", 1.0, False), ("mean_median", 2.0, False), ("explain", 1.0, True)]  # explain: a ### MARK cell
    assert [(g.grade_id, g.points) for _, g in sorted(p2.graded.items())] == [("test_busiest", 1.0)]
    assert p1.max_points + p2.max_points == 5
    assert "explain" not in {p1.keys[i] for i in p1.protected}, "an answer: the student's version is kept"
    # the teacher's version has the hidden tests (markers out); students got the cell without them
    cell = p1.cells[7]["source"]
    assert "median_temperature(rows) == 11.5" in cell and "HIDDEN" not in cell
    assert "11.5" not in p1.released[7]
    # nbgrader's read-only cells are the teacher's too; answer cells are not
    assert {p2.keys[i] for i in p2.protected} == {"intro", "setup", "test_busiest"}


@pytest.mark.parametrize("line,expected", [
    ("### TEST load: 1 point", ("load", 1.0)),
    ("# TEST part_b.2: 2.5 points", ("part_b.2", 2.5)),
    ("// TEST x: 3 points", ("x", 3.0)),
    ("%% TEST y: 0 points", ("y", 0.0)),
    ("### TESTS load: 1 point", None),
    ("assert load() # TEST x: 1 point", None),
])
def test_the_test_line_convention(line, expected):
    assert convention_of(code(line + "\nassert True")) == expected


@pytest.mark.parametrize("cell_type,line,expected", [
    ("markdown", "### MARK explain: 1 point", ("explain", 1.0)),
    ("code", "# MARK plot_b: 2.5 points", ("plot_b", 2.5)),
    ("markdown", "### MARKS explain: 1 point", None),
    ("raw", "### MARK explain: 1 point", None),
])
def test_the_mark_line_convention(cell_type, line, expected):
    assert mark_line({"cell_type": cell_type, "source": line + "\nmy answer"}) == expected


@pytest.mark.parametrize("line", ["### TEST load 1 point", "### test load: 1 point", "# test load: 2 pts", "### TEST load: one point"])
def test_a_near_miss_of_the_test_line_is_an_error_in_the_teachers_version(line):
    with pytest.raises(NbfleetError) as err:
        teacher_notebook(nb(code(line + "\nassert f()", id="a")), "n.ipynb", "src/n.ipynb")
    assert err.value.where == "src/n.ipynb: cell 1, line 1" and "nearly a test line" in err.value.what


@pytest.mark.parametrize("line", ["# Test your function on a few inputs", "# tests", "-- test", "# Test: load"])
def test_an_ordinary_comment_about_testing_is_not_a_test_line(line):
    t = teacher_notebook(nb(code(line + "\nassert f()", id="a")), "n.ipynb", "src/n.ipynb")
    assert t.graded == {} and t.protected == set()


def test_duplicate_grade_ids_in_the_teachers_version():
    with pytest.raises(NbfleetError, match="grade id 't' is also used by cell 1"):
        teacher_notebook(nb(code("### TEST t: 1 point\nassert 1", id="a"), code("### TEST t: 2 points\nassert 2", id="b")), "n.ipynb", "n")


TEACHER = nb(
    md("intro", id="m1"),
    code("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION", id="ans"),
    code("### TEST f1: 1 point\nassert f() == 1\n### BEGIN HIDDEN TESTS\nassert f() + 1 == 2\n### END HIDDEN TESTS", id="t1"),
    code("x = 2", id="given", nbgrader={"grade_id": "given", "locked": True}),
    code("### TEST f2: 2 points\nassert f() * x == 2", id="t2"),
)


def released_cells():
    t = teacher_notebook(TEACHER, "n.ipynb", "n")
    return t, [dict(c, source=src) for c, src in zip(t.cells, t.released, strict=True)]


def test_edited_deleted_and_moved_tests_are_the_teachers_again_in_the_teachers_place():
    t, cells = released_cells()
    mine = [dict(c) for c in cells]
    mine[1] = dict(mine[1], source="def f():\n    return 1")
    mine[2] = dict(mine[2], source="### TEST f1: 1 point\nassert True")  # edited
    mine[3] = dict(mine[3], source="x = 1")  # a read-only cell changed
    moved = mine.pop(4)  # a test moved to the top
    mine.insert(0, moved)
    mine.append(code("print('mine')", id="own"))
    r = restore(t, nb(*mine), "s/n.ipynb")
    sources = [c["source"] for c in r.notebook["cells"]]
    # the student's own cell followed the read-only cell in their notebook: it still does
    assert sources == [t.cells[0]["source"], "def f():\n    return 1", t.cells[2]["source"], "x = 2", "print('mine')", t.cells[4]["source"]]
    assert "assert f() + 1 == 2" in sources[2]
    assert r.where == {"f1": 2, "f2": 5}
    assert sorted(r.notes) == ["read-only cell 'given': changed in the submission; the teacher's version was run",
                               "test 'f1': changed in the submission; the teacher's version was run"]
    deleted = restore(t, nb(*[c for c in cells if c.get("id") != "t2"]), "s")
    assert deleted.where["f2"] == 4 and deleted.notes == ["test 'f2': missing from the submission; the teacher's version was run"]


def test_a_students_own_test_cell_and_duplicates_are_reported():
    t, cells = released_cells()
    with pytest.raises(NbfleetError) as err:
        restore(t, nb(*cells, code("### TEST bonus: 5 points\nassert True", id="b")), "s/n.ipynb")
    assert (err.value.where, err.value.what) == ("s/n.ipynb: cell 6", "test cell 'bonus' is not in the teacher's version")
    with pytest.raises(NbfleetError) as err:
        restore(t, nb(*cells, dict(cells[2], id="copy")), "s/n.ipynb")
    assert (err.value.where, err.value.what) == ("s/n.ipynb: cell 6", "grade id 'f1' is also used by cell 3")


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_whatever_the_student_does_to_cells_the_teachers_tests_run_once_each_in_order(data):
    t, cells = released_cells()
    own = [code(f"print({i})", id=f"own{i}") for i in range(3)]
    pool = cells + own
    chosen = data.draw(st.lists(st.sampled_from(range(len(pool))), unique=True))
    edits = data.draw(st.lists(st.booleans(), min_size=len(chosen), max_size=len(chosen)))
    mine = [dict(pool[i], source=pool[i]["source"] + ("\n# edited" if e and i != 1 else "")) for i, e in zip(chosen, edits, strict=True)]
    r = restore(t, nb(*mine), "s")
    got = r.notebook["cells"]
    protected = [t.cells[i]["source"] for i in sorted(t.protected)]
    assert [c["source"] for c in got if c["source"] in protected] == protected  # each once, in the teacher's order
    assert all(got[r.where[g.grade_id]]["source"] == t.cells[i]["source"] for i, g in t.graded.items())
    kept = [c["source"] for c in got]
    for c in mine:  # nothing of the student's that is not a protected cell is lost
        if c.get("id") not in {t.cells[i].get("id") for i in t.protected}:
            assert c["source"] in kept
    assert len({c["id"] for c in got}) == len(got)


def test_points_follow_nbgrader():
    g = Graded("t", 2.0)
    run = {"execution_count": 1}
    assert score_cell({**run, "cell_type": "code", "outputs": []}, g, None, None).points == 2.0
    err = {"output_type": "error", "ename": "AssertionError", "evalue": "", "traceback": []}
    assert score_cell({**run, "cell_type": "code", "outputs": [err]}, g, None, None) .why == "AssertionError"
    stderr = {"output_type": "stream", "name": "stderr", "text": "careful\n"}
    assert score_cell({**run, "cell_type": "code", "outputs": [stderr]}, g, None, None).points == 0.0
    partial = {"output_type": "execute_result", "data": {"text/plain": "0.5"}, "metadata": {}, "execution_count": 1}
    assert score_cell({**run, "cell_type": "code", "outputs": [partial]}, g, None, None).points == 0.5
    nan = {**partial, "data": {"text/plain": "nan"}}
    assert score_cell({**run, "cell_type": "code", "outputs": [nan]}, g, None, None).points == 2.0  # as nbgrader
    assert score_cell({**run, "cell_type": "code", "outputs": []}, g, None, "interrupted: ran longer than 5 s").points == 0.0
    manual = Graded("m", 3.0, manual=True)
    assert score_cell(md("YOUR ANSWER HERE"), manual, "YOUR ANSWER HERE", None).points == 0.0
    assert score_cell(md("my answer"), manual, "YOUR ANSWER HERE", None).points is None


def test_a_second_cell_matching_one_answer_is_kept_as_the_students_own():
    t, cells = released_cells()
    copy_of_answer = dict(cells[1], source="def f():\n    return 2")  # same cell id, as after a bad merge
    r = restore(t, nb(*cells[:2], copy_of_answer, *cells[2:]), "s")
    assert [c["source"] for c in r.notebook["cells"]][1:3] == [cells[1]["source"], "def f():\n    return 2"]


def test_feedback_shows_no_hidden_test():
    t, cells = released_cells()
    r = restore(t, nb(*cells), "s")
    executed = json.loads(json.dumps(r.notebook))
    at = r.where["f1"]
    executed["cells"][at]["outputs"] = [{"output_type": "error", "ename": "AssertionError", "evalue": "",
                                         "traceback": ["\x1b[0;31m----> 4\x1b[0m assert f() + 1 == 2"]}]
    executed["cells"][-1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": str(["x", t.cells[2]["source"]])}]
    shown = hide_hidden_tests(t, r, executed)
    text = json.dumps(shown)
    assert "f() + 1" not in text and "hidden tests is not shown" in text
    assert "an output that quoted a hidden test was removed" in json.dumps(shown["cells"][-1])

"""Which questions a person marks, and which of a student's cells answer each (pure: the teacher's notebooks as
grading reads them, a student's notebook as released and then edited)."""

from __future__ import annotations

import copy
import json

from nbfleet.assignments.notebooks.strip import strip_notebook
from nbfleet.grading.cells import source_of, teacher_notebook
from nbfleet.grading.teacher import Assignment
from nbfleet.marking import render
from nbfleet.marking.answers import answer_cells
from nbfleet.marking.questions import find, questions
from support.repo import REPO

TASKCELL = REPO.parent / "shared" / "conformance" / "nbgrader" / "cases" / "nbgrader" / "tests" / "preprocessors" / "files" / "test_taskcell.ipynb"


def sample(name: str) -> dict:
    return json.loads((REPO / "course" / "solutions" / "assignment1" / name).read_text())


def assignment(**notebooks) -> Assignment:
    return Assignment("a", {f"{k}.ipynb": teacher_notebook(nb, f"{k}.ipynb", k) for k, nb in notebooks.items()}, {}, "", {})


def released(nb: dict) -> dict:
    return copy.deepcopy(strip_notebook(nb, "w").notebook)


def test_the_sample_assignment_asks_one_question_of_a_person_first():
    a = assignment(problem1=sample("problem1-solutions.ipynb"), problem2=sample("problem2-solutions.ipynb"))
    qs = questions(a)
    assert [(q.id, q.column, q.by_hand, q.kind, q.max_points) for q in qs] == [
        ("explain", "problem1/explain", True, "answer", 1.0), ("load", "problem1/load", False, "test", 1.0),
        ("mean_median", "problem1/mean_median", False, "test", 2.0), ("test_busiest", "problem2/test_busiest", False, "test", 1.0)]
    assert qs[0].prompt.startswith("## Part C: which one would you report?")
    assert find(qs, "problem1/explain") is qs[0] and find(qs, "nothing") is None

    mine = released(sample("problem1-solutions.ipynb"))
    teacher = a.notebooks["problem1.ipynb"]
    got = answer_cells(teacher, qs[0].index, mine)
    assert [source_of(c) for c in got] == ["YOUR ANSWER HERE"], "the ### MARK line is the teacher's, not shown"
    # the student moves their answer to the end and writes it: still found by its cell id
    cell = next(c for c in mine["cells"] if source_of(c).startswith("### MARK explain"))
    mine["cells"].remove(cell)
    mine["cells"].append({**cell, "source": "The median, **because** of the sensor fault."})
    got = answer_cells(teacher, qs[0].index, mine)
    assert [source_of(c) for c in got] == ["The median, **because** of the sensor fault."]
    assert "<strong>because</strong>" in render.cells(got)
    # a test: the student's own code before it (the given cells left out), then the test as released
    load = answer_cells(teacher, qs[1].index, mine)
    assert [source_of(c).split("\n", 1)[0] for c in load] == ["import csv", "### TEST load: 1 point"]


def test_nbgraders_task_and_manually_graded_answers():
    nb = json.loads(TASKCELL.read_text())
    a = assignment(ps=nb)
    qs = questions(a)
    by_hand = [(q.id, q.kind, q.max_points) for q in qs if q.by_hand]
    assert by_hand == [("task1", "task", 2.0), ("sum_of_squares_equation", "answer", 1.0), ("sum_of_squares_application", "answer", 2.0)]
    assert qs[0].prompt.startswith("Do your best!")
    mine = released(nb)
    at = next(i for i, c in enumerate(mine["cells"]) if (c["metadata"].get("nbgrader") or {}).get("grade_id") == "task1")
    mine["cells"].insert(at + 1, {"cell_type": "markdown", "metadata": {}, "source": "I wrote *nicely* formatted code."})
    teacher = a.notebooks["ps.ipynb"]
    assert [source_of(c) for c in answer_cells(teacher, qs[0].index, mine)] == ["I wrote *nicely* formatted code."]
    equation = next(c for c in mine["cells"] if (c["metadata"].get("nbgrader") or {}).get("grade_id") == "sum_of_squares_equation")
    equation["source"] = "$\\sum_{i=1}^n i^2$ <script>window.ran = 1</script>"
    got = answer_cells(teacher, qs[1].index, mine)
    assert got == [equation]
    assert "<script" not in render.cells(got) and "i^2" in render.cells(got)


def test_outputs_render_safely():
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    cell = {"cell_type": "code", "source": "plot()", "outputs": [
        {"output_type": "stream", "name": "stderr", "text": "\x1b[31mwarning\x1b[0m <b>"},
        {"output_type": "display_data", "data": {"image/png": png, "text/plain": "<Figure>"}},
        {"output_type": "display_data", "data": {"image/png": 'x" onerror="alert(1)', "text/plain": "fig"}},
        {"output_type": "execute_result", "data": {"text/html": "<table><tr><td onclick='x()'>1</td></tr></table>"}},
        {"output_type": "error", "ename": "ValueError", "evalue": "bad", "traceback": []}]}
    out = render.cells([cell])
    assert '<pre class="stream stderr">warning &lt;b&gt;</pre>' in out
    assert f'src="data:image/png;base64,{png}"' in out and "onerror" not in out and "<pre class=\"result\">fig</pre>" in out
    assert "<td>1</td>" in out and "onclick" not in out and "ValueError: bad" in out
    assert render.cells([]) == '<p class="empty">(no answer)</p>'
    assert "more characters not shown" in render.cells([{"cell_type": "code", "source": "x", "outputs": [
        {"output_type": "stream", "name": "stdout", "text": "y" * 50_000}]}])

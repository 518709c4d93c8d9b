"""Stripping: stubs, markdown answers, hidden tests, outputs, nbgrader metadata, languages; and the property that no
solution line ever reaches the student notebook."""

from __future__ import annotations

import base64
import json

import nbformat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell

from nbfleet.assignments.notebooks import guard
from nbfleet.assignments.notebooks.strip import strip_notebook
from nbfleet.errors import NbfleetError


def notebook(*cells, language="python"):
    return new_notebook(cells=list(cells), metadata={"kernelspec": {"name": language, "display_name": language, "language": language}})


def sources(stripped):
    return [c["source"] for c in stripped.notebook["cells"]]


def test_code_region_becomes_the_python_stub_with_the_begin_lines_indent():
    nb = notebook(new_code_cell("def f(x):\n    ### BEGIN SOLUTION\n    return x * 2\n    ### END SOLUTION\nf(1)"))
    assert sources(strip_notebook(nb, "p.ipynb")) == ["def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()\nf(1)"]


def test_markdown_and_raw_regions_become_your_answer_here():
    nb = notebook(
        new_markdown_cell("Why?\n\n  ### BEGIN SOLUTION\nBecause of the outlier.\n### END SOLUTION"),
        new_raw_cell("### BEGIN SOLUTION\n42 apples\n### END SOLUTION"),
    )
    assert sources(strip_notebook(nb, "p.ipynb")) == ["Why?\n\n  YOUR ANSWER HERE", "YOUR ANSWER HERE"]


def test_hidden_tests_are_removed_without_a_stub():
    nb = notebook(new_code_cell("assert f(1) == 2\n### BEGIN HIDDEN TESTS\nassert f(2) == 4\n### END HIDDEN TESTS\nprint('ok')"))
    assert sources(strip_notebook(nb, "p.ipynb")) == ["assert f(1) == 2\nprint('ok')"]


def test_outputs_and_execution_counts_are_cleared_and_view_metadata_dropped():
    cell = new_code_cell("print(41 + 1)", execution_count=7, outputs=[new_output("stream", name="stdout", text="42\n")],
                         metadata={"collapsed": False, "scrolled": True, "tags": ["keep"]})
    nb = notebook(cell)
    nb.metadata["celltoolbar"] = "Create Assignment"
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    out = strip_notebook(nb, "p.ipynb").notebook
    c = out["cells"][0]
    assert c["outputs"] == [] and c["execution_count"] is None and c["metadata"] == {"tags": ["keep"]}
    assert "celltoolbar" not in out["metadata"] and "widgets" not in out["metadata"]
    assert nb.cells[0].outputs, "the teacher's notebook is not modified"


def test_notebooks_without_nbgrader_metadata_work_and_get_no_locks():
    nb = notebook(new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION"), new_markdown_cell("Read me"))
    out = strip_notebook(nb, "p.ipynb").notebook
    assert [c["metadata"] for c in out["cells"]] == [{}, {}]


def _ng(**kw):
    return {"nbgrader": {"schema_version": 3, "grade": False, "solution": False, "locked": False, "grade_id": "x", **kw}}


def test_nbgrader_solution_cell_without_region_becomes_the_stub_whole():
    nb = notebook(new_code_cell("answer = 42", metadata=_ng(solution=True)),
                  new_markdown_cell("It is 42.", metadata=_ng(solution=True, grade=True, points=1)))
    out = strip_notebook(nb, "p.ipynb")
    assert sources(out) == ["# YOUR CODE HERE\nraise NotImplementedError()", "YOUR ANSWER HERE"]
    assert "answer = 42" in out.secrets and "It is 42." in out.secrets


def test_nbgrader_locks_as_lockcells_does():
    nb = notebook(
        new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION", metadata=_ng(solution=True)),
        new_code_cell("assert x == 1", metadata=_ng(grade=True, points=1)),
        new_markdown_cell("Instructions", metadata=_ng(locked=True)),
        new_markdown_cell("Answer", metadata=_ng(solution=True, grade=True, points=1)),
        new_code_cell("free", metadata=_ng()),
    )
    meta = [{k: v for k, v in c["metadata"].items() if k != "nbgrader"} for c in strip_notebook(nb, "p.ipynb").notebook["cells"]]
    assert meta == [
        {"deletable": False},
        {"deletable": False, "editable": False},
        {"deletable": False, "editable": False},
        {"deletable": False},
        {},
    ]


@pytest.mark.parametrize(
    ("language", "stub"),
    [
        ("R", "# YOUR CODE HERE\nfail()"),
        ("octave", "% YOUR CODE HERE\nerror('No Answer Given!')"),
        ("matlab", "% YOUR CODE HERE\nerror('No Answer Given!')"),
        ("julia", '# YOUR CODE HERE\nerror("No Answer Given!")'),
        ("scala", '// YOUR CODE HERE\nthrow new NotImplementedError("No Answer Given!")'),
        ("python3", "# YOUR CODE HERE\nraise NotImplementedError()"),
    ],
)
def test_each_kernel_language_gets_its_stub(language, stub):
    nb = notebook(new_code_cell("### BEGIN SOLUTION\nsecret_value <- 1\n### END SOLUTION"), language=language)
    assert sources(strip_notebook(nb, "p.ipynb")) == [stub]


def test_a_kernel_language_without_a_stub_is_an_error_naming_notebook_and_language():
    nb = notebook(new_markdown_cell("intro"), new_code_cell("### BEGIN SOLUTION\nmain = print 1\n### END SOLUTION"), language="haskell")
    with pytest.raises(NbfleetError) as err:
        strip_notebook(nb, "course/solutions/a1/p-solutions.ipynb")
    assert str(err.value).startswith("course/solutions/a1/p-solutions.ipynb: cell 2: kernel language 'haskell' has no stub")


def test_markdown_answers_need_no_code_stub_in_any_language():
    nb = notebook(new_markdown_cell("### BEGIN SOLUTION\nIt is lazy.\n### END SOLUTION"), language="haskell")
    assert sources(strip_notebook(nb, "p.ipynb")) == ["YOUR ANSWER HERE"]


def test_marker_errors_name_notebook_cell_and_line():
    nb = notebook(new_markdown_cell("intro"), new_code_cell("x = 1\ny = 2\n### begin solution\nz = 3"))
    with pytest.raises(NbfleetError) as err:
        strip_notebook(nb, "p-solutions.ipynb")
    assert err.value.where == "p-solutions.ipynb: cell 2, line 3"


def test_secrets_exclude_lines_the_teacher_also_wrote_outside_regions():
    nb = notebook(new_code_cell("import numpy as np\n### BEGIN SOLUTION\nimport numpy as np\nresult = np.arange(10).sum()\n### END SOLUTION"))
    assert strip_notebook(nb, "p.ipynb").secrets == {"result = np.arange(10).sum()"}


PNG_A = base64.b64encode(b"\x89PNG solution plot " + bytes(range(40))).decode()  # pasted into the answer
PNG_M = base64.b64encode(b"\x89PNG the map every student needs " + bytes(range(40, 80))).decode()


def test_an_attachment_used_only_inside_a_solution_region_is_not_released():
    cell = new_markdown_cell("Where?\n### BEGIN SOLUTION\n![answer](attachment:answer.png)\n### END SOLUTION\n"
                             "![map](attachment:map.png)")
    cell.attachments = {"answer.png": {"image/png": PNG_A}, "map.png": {"image/png": PNG_M}}
    stripped = strip_notebook(notebook(cell), "p.ipynb")
    released = stripped.notebook["cells"][0]
    assert released["attachments"] == {"map.png": {"image/png": PNG_M}}  # what the rest still references stays
    assert PNG_A not in json.dumps(stripped.notebook) and "answer.png" not in json.dumps(stripped.notebook)
    assert {PNG_A, "attachment:answer.png"} <= stripped.secrets and PNG_M not in stripped.secrets
    assert guard.leaks_in_notebook(stripped.notebook, stripped.secrets) == []


def test_a_whole_solution_cell_replaced_by_its_stub_keeps_no_attachment_and_no_content_metadata():
    cell = new_markdown_cell("![answer](attachment:answer.png)", metadata={
        **_ng(solution=True), "tags": ["q1"], "ExecuteTime": {"end_time": "2026-01-01"}, "scratch": {"note": "x = 41 + 1"}})
    cell.attachments = {"answer.png": {"image/png": PNG_A}}
    stripped = strip_notebook(notebook(cell), "p.ipynb")
    released = stripped.notebook["cells"][0]
    assert released["source"] == "YOUR ANSWER HERE" and "attachments" not in released
    assert set(released["metadata"]) == {"nbgrader", "tags", "deletable"}
    assert PNG_A in stripped.secrets


def test_widget_state_from_a_solution_is_not_released_and_the_guard_refuses_it():
    nb = notebook(new_code_cell("### BEGIN SOLUTION\nslider.value = 42\n### END SOLUTION"))
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {"m1": {"state": {"value": 42}}}}}
    stripped = strip_notebook(nb, "p.ipynb")
    assert "widgets" not in stripped.notebook["metadata"]
    assert guard.leaks_in_notebook(stripped.notebook, stripped.secrets) == []
    smuggled = {**stripped.notebook, "metadata": {**stripped.notebook["metadata"], "widgets": nb.metadata["widgets"]}}
    assert [leak.place for leak in guard.leaks_in_notebook(smuggled, set())] == ["notebook metadata"]


def test_the_guard_finds_a_solutions_attachment_bytes_wherever_they_are_released():
    cell = new_markdown_cell("### BEGIN SOLUTION\n![answer](attachment:answer.png)\n### END SOLUTION")
    cell.attachments = {"answer.png": {"image/png": PNG_A}}
    stripped = strip_notebook(notebook(cell), "p.ipynb")
    other = new_markdown_cell("![plot](attachment:plot.png)")
    other.attachments = {"plot.png": {"image/png": PNG_A}}  # the same bytes under another name, in another cell
    leaky = {**stripped.notebook, "cells": [*stripped.notebook["cells"], other]}
    assert [leak.place for leak in guard.leaks_in_notebook(leaky, stripped.secrets)] == ["cell 2 attachments"]
    assert [leak.place for leak in guard.leaks_in_notebook(notebook(new_code_cell("x", execution_count=3)), set())] == ["cell 1"]


# ---- property: random notebooks with random regions never release a solution line -------------------------------

WORDS = st.sampled_from(["alpha", "beta", "gamma", "delta", "x", "y", "=", "+", "(", ")", "print", "return", "#", "42", "if", ":"])
LINE = st.lists(WORDS, min_size=0, max_size=6).map(" ".join)
INDENT = st.sampled_from(["", "  ", "    ", "\t"])
PREFIX = st.sampled_from(["### ", "# ", "", "// ", "<!-- ", "% "])


@st.composite
def cell_with_regions(draw):
    kind = draw(st.sampled_from(["code", "markdown", "raw"]))
    parts: list[str] = []
    secret: list[str] = []
    public: list[str] = []
    for _ in range(draw(st.integers(0, 4))):
        open_lines = draw(st.lists(LINE, max_size=3))
        parts.extend(open_lines)
        public.extend(open_lines)
        if draw(st.booleans()):
            marker = draw(st.sampled_from(["SOLUTION", "HIDDEN TESTS"])) if kind == "code" else "SOLUTION"
            indent, prefix = draw(INDENT), draw(PREFIX)
            body = draw(st.lists(LINE, max_size=4))
            # tag secret lines so they are told apart from public ones, as real solution code usually is
            body = [f"{line} secret{draw(st.integers(0, 10**6))}" for line in body]
            parts.append(f"{indent}{prefix}BEGIN {marker}")
            parts.extend(indent + line for line in body)
            parts.append(f"{indent}{prefix}END {marker}")
            secret.extend(body)
    source = "\n".join(parts)
    solution_cell = draw(st.booleans()) and draw(st.booleans())
    metadata = _ng(solution=True) if solution_cell else {}
    if solution_cell and not any("BEGIN SOLUTION" in p for p in parts):
        secret.extend(parts)  # the whole cell is the answer
        public = []
    attachments = {}
    if kind == "markdown" and draw(st.booleans()):  # a pasted image inside a solution, and one in the open
        payload = base64.b64encode(f"secret picture {draw(st.integers(0, 10**6))}".encode() * 3).decode()
        if any("BEGIN SOLUTION" in p for p in parts) or solution_cell:
            at = next((i for i, p in enumerate(parts) if "BEGIN SOLUTION" in p), None)
            name = f"answer{draw(st.integers(0, 99))}.png"
            if at is not None:
                parts.insert(at + 1, f"![a](attachment:{name})")
            else:
                parts.append(f"![a](attachment:{name})")
            attachments[name] = {"image/png": payload}
            secret.append(payload)
        if draw(st.booleans()):
            parts.append("![map](attachment:map.png)")
            if not solution_cell or any("BEGIN SOLUTION" in p for p in parts):
                public.append("![map](attachment:map.png)")
            attachments["map.png"] = {"image/png": base64.b64encode(b"the public map " * 3).decode()}
        source = "\n".join(parts)
    maker = {"code": new_code_cell, "markdown": new_markdown_cell, "raw": new_raw_cell}[kind]
    cell = maker(source, metadata=metadata)
    if attachments:
        cell.attachments = attachments
    if kind == "code" and draw(st.booleans()):
        cell.outputs = [new_output("stream", name="stdout", text="\n".join(secret) + "\n")]
        cell.execution_count = 3
    return cell, secret, public


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(cell_with_regions(), min_size=1, max_size=6))
def test_property_no_solution_line_survives(cells):
    nb = notebook(*[c for c, _s, _p in cells])
    nbformat.validate(nb)
    stripped = strip_notebook(nb, "random.ipynb")
    public = "\n".join(line for _c, _s, p in cells for line in p)  # known from the generator, not from strip
    released = json.dumps(stripped.notebook)
    texts = "\n".join(text for _place, text in guard.notebook_texts(stripped.notebook))
    for _cell, secret, _public in cells:
        for line in secret:
            s = line.strip()
            if guard.is_trivial(s) or s in public:
                continue  # trivial lines and lines the teacher also wrote in the open are not secrets
            assert s not in texts, f"solution line {s!r} survived"
            assert json.dumps(s)[1:-1] not in released
    assert guard.leaks_in_notebook(stripped.notebook, stripped.secrets) == []
    nbformat.validate(nbformat.from_dict(stripped.notebook))
    for (cell, _s, public_lines), out in zip(cells, stripped.notebook["cells"], strict=True):
        if "![map](attachment:map.png)" in public_lines and "map.png" in (cell.get("attachments") or {}):
            assert out["attachments"]["map.png"] == cell.attachments["map.png"]  # what the open text uses stays

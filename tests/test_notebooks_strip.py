"""Stripping: stubs, markdown answers, hidden tests, outputs, nbgrader metadata, languages; and the property that no
solution line ever reaches the student notebook."""

from __future__ import annotations

import json

import nbformat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell

from nbfleet.errors import NbfleetError
from nbfleet.notebooks import guard
from nbfleet.notebooks.strip import strip_notebook


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
    maker = {"code": new_code_cell, "markdown": new_markdown_cell, "raw": new_raw_cell}[kind]
    cell = maker(source, metadata=metadata)
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

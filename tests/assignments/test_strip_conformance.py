"""Conformance with nbgrader 0.9.6: on nbgrader's own test notebooks we produce the cell sources it produced.

The corpus lives in ../shared/conformance/nbgrader (see its README.md): the source notebooks and what
`nbgrader generate_assignment` 0.9.6 wrote for them. Differences we make on purpose are listed in docs/stripping.md;
none of them shows on these notebooks except the header cells (nbgrader's IncludeHeaderFooter, which we do not do).
"""

from __future__ import annotations

import json
import os

import pytest

from nbfleet.assignments.notebook_file import read_notebook
from nbfleet.assignments.notebooks import guard
from nbfleet.assignments.notebooks.strip import strip_notebook
from nbfleet.errors import NbfleetError
from support.repo import CONFORMANCE

if not CONFORMANCE.is_dir() and os.environ.get("CI") == "true":
    raise RuntimeError(f"nbgrader conformance corpus not found at {CONFORMANCE}: CI must run it")
pytestmark = pytest.mark.skipif(
    not CONFORMANCE.is_dir(), reason=f"nbgrader conformance corpus not found at {CONFORMANCE} (it is present in CI)"
)

APPS = "cases/nbgrader/tests/apps/files"
PRE = "cases/nbgrader/tests/preprocessors/files"
DOCS = "cases/nbgrader/docs/source/user_guide"

# expected release folder -> (source notebook, expected notebook, number of header cells nbgrader prepended)
CASES = {
    "test": (f"{APPS}/test.ipynb", "expected/release/test/test.ipynb", 0),
    "test-hidden-tests": (f"{APPS}/test-hidden-tests.ipynb", "expected/release/test-hidden-tests/test-hidden-tests.ipynb", 0),
    "test-with-output": (f"{APPS}/test-with-output.ipynb", "expected/release/test-with-output/test-with-output.ipynb", 0),
    "test_taskcell": (f"{PRE}/test_taskcell.ipynb", "expected/release/test_taskcell/test_taskcell.ipynb", 0),
    "nometa": (f"{APPS}/test-no-metadata.ipynb", "expected/release/nometa/test-no-metadata.ipynb", 0),
    "docs_ps1/problem1": (f"{DOCS}/source/ps1/problem1.ipynb", "expected/release/docs_ps1/problem1.ipynb", 3),
    "docs_ps1/problem2": (f"{DOCS}/source/ps1/problem2.ipynb", "expected/release/docs_ps1/problem2.ipynb", 3),
    "nbgrader's own docs release/ps1/problem1": (f"{DOCS}/source/ps1/problem1.ipynb", f"{DOCS}/release/ps1/problem1.ipynb", 3),
    "nbgrader's own docs release/ps1/problem2": (f"{DOCS}/source/ps1/problem2.ipynb", f"{DOCS}/release/ps1/problem2.ipynb", 3),
}


def _sources(nb) -> list[tuple[str, str]]:
    return [(c["cell_type"], c["source"] if isinstance(c["source"], str) else "".join(c["source"])) for c in nb["cells"]]


def _locks(nb) -> list[dict]:
    return [{k: v for k, v in c.get("metadata", {}).items() if k in ("editable", "deletable")} for c in nb["cells"]]


@pytest.mark.parametrize("case", sorted(CASES))
def test_same_cell_sources_and_locks_as_nbgrader(case):
    source, expected, header = CASES[case]
    nb, _notes = read_notebook(CONFORMANCE / source, source)
    ours = strip_notebook(nb, source)
    theirs = json.loads((CONFORMANCE / expected).read_text(encoding="utf-8"))
    theirs["cells"] = theirs["cells"][header:]
    assert _sources(ours.notebook) == _sources(theirs)
    assert _locks(ours.notebook) == _locks(theirs)
    assert all(c.get("outputs", []) == [] and c.get("execution_count") is None for c in ours.notebook["cells"] if c["cell_type"] == "code")
    assert guard.leaks_in_notebook(ours.notebook, ours.secrets) == []


def test_the_expected_corpus_is_all_covered():
    released = {p.parent.name for p in (CONFORMANCE / "expected" / "release").glob("*/*.ipynb")}
    assert released == {case.split("/")[0] for case in CASES if not case.startswith("nbgrader's")}


CORPUS = sorted(str(p.relative_to(CONFORMANCE)) for p in CONFORMANCE.glob("cases/**/*.ipynb")) if CONFORMANCE.is_dir() else []


@pytest.mark.parametrize("source", CORPUS)
def test_every_corpus_notebook_is_stripped_cleanly_or_refused_in_one_line(source):
    try:
        nb, _notes = read_notebook(CONFORMANCE / source, source)
        out = strip_notebook(nb, source)
    except NbfleetError as exc:
        assert "\n" not in str(exc) and str(exc).startswith(source)
        return
    assert guard.leaks_in_notebook(out.notebook, out.secrets) == []
    text = "\n".join(t for _p, t in guard.notebook_texts(out.notebook))
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "BEGIN MARK SCHEME"):
        if marker in text:  # only in prose about markers (nbgrader's user guide), never as a marker we skipped
            assert source.endswith("creating_and_grading_assignments.ipynb"), (source, marker)


def test_where_nbgrader_silently_drops_an_end_without_begin_we_refuse():
    source = f"{APPS}/test.ipynb"
    nb, _ = read_notebook(CONFORMANCE / source, source)
    nb.cells[8].source = nb.cells[8].source.replace("    ### BEGIN SOLUTION\n", "")
    with pytest.raises(NbfleetError) as err:
        strip_notebook(nb, source)
    assert err.value.where == f"{source}: cell 9, line 4" and "no BEGIN SOLUTION" in err.value.what


def test_where_nbgrader_leaks_a_lower_case_region_we_refuse():
    source = f"{APPS}/test-no-metadata.ipynb"
    nb, _ = read_notebook(CONFORMANCE / source, source)
    nb.cells[2].source = nb.cells[2].source.replace("BEGIN SOLUTION", "begin solution").replace("END SOLUTION", "end solution")
    with pytest.raises(NbfleetError) as err:
        strip_notebook(nb, source)
    assert err.value.where == f"{source}: cell 3, line 6"

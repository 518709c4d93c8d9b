"""Which cells grade what: the teacher's version of each notebook, with its tests, read-only cells and points (pure).

Two ways to say which cells grade what (docs/grading.md):

- nbgrader's cell metadata, as nbgrader writes it: ``grade`` + ``points`` (+ ``grade_id``) on a test cell,
  ``solution`` on an answer cell (both: an answer a person grades), ``locked`` on a read-only cell;
- for notebooks with markers only, nbfleet's own convention: a code cell whose first line is
  ``### TEST <name>: <points> points`` is a test worth that many points (any comment prefix: ``#``, ``//``, ``%``,
  ``--``); a cell (markdown or code) whose first line is ``### MARK <name>: <points> points`` is an answer a person
  marks (``doit mark:<a>``). Both lines are released with the cell, so students see what each is worth.

``restore`` puts these cells back into a submission, ``score`` says what each earned, ``hidden`` what a student may
see of them.
"""

from __future__ import annotations

import copy
import re
from typing import NamedTuple

from ..assignments.notebooks.markers import HIDDEN_TESTS, MarkerError, find_regions
from ..assignments.notebooks.strip import strip_notebook
from ..errors import NbfleetError

TEST_LINE = re.compile(r"^\s*(?:#+|//+|%+|--)\s*TEST\s+(?P<id>[A-Za-z0-9][\w.-]*)\s*:\s*(?P<points>\d+(?:\.\d+)?)\s+points?\s*$")
MARK_LINE = re.compile(r"^\s*(?:#+|//+|%+|--)\s*MARK\s+(?P<id>[A-Za-z0-9][\w.-]*)\s*:\s*(?P<points>\d+(?:\.\d+)?)\s+points?\s*$")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# nearly a test line: a comment starting with "test" that gives points ("### TEST load 1 point", "# test x: 2")
_LOOSE_TEST_LINE = re.compile(r"^\s*(?:#+|//+|%+|--)\s*tests?\b.*(?::\s*\d|\d\s*(?:points?|pts?)\b|:.*\bpoints?\b)", re.IGNORECASE)


class Graded(NamedTuple):
    """One thing that earns points: a test (run by nbfleet) or an answer a person grades (``manual``)."""

    grade_id: str
    points: float
    manual: bool = False
    task: bool = False  # nbgrader's task cell: read-only, its points given by a person


class TeacherNotebook(NamedTuple):
    """The teacher's version of one released notebook, as grading needs it."""

    name: str
    cells: list[dict]  # solutions stubbed as released, hidden tests in, markers out
    keys: list[str | None]  # per cell: its grade id, else its cell id (None: neither)
    protected: set[int]  # indexes of the cells that are always the teacher's (tests, read-only cells)
    graded: dict[int, Graded]  # index -> what that cell earns
    released: list[str]  # per cell: its source as students got it (hidden tests out)
    hidden: dict[int, list[str]]  # index -> the lines of its hidden tests
    metadata: dict

    @property
    def max_points(self) -> float:
        return sum(g.points for g in self.graded.values())


def source_of(cell: dict) -> str:
    """A cell's source as one string."""
    s = cell.get("source", "")
    return s if isinstance(s, str) else "".join(s)


def nbgrader_of(cell: dict) -> dict:
    """A cell's nbgrader metadata ({} when it has none)."""
    meta = (cell.get("metadata") or {}).get("nbgrader")
    return meta if isinstance(meta, dict) else {}


def test_line(cell: dict) -> tuple[str, float] | None:
    """(name, points) when ``cell`` is a test by nbfleet's convention (a code cell starting ``### TEST name: N points``)."""
    if cell.get("cell_type") != "code":
        return None
    first = source_of(cell).split("\n", 1)[0]
    m = TEST_LINE.match(first)
    return (m.group("id"), float(m.group("points"))) if m else None


def mark_line(cell: dict) -> tuple[str, float] | None:
    """(name, points) when ``cell`` is an answer a person marks by nbfleet's convention (first line
    ``### MARK name: N points``, in a markdown or a code cell)."""
    if cell.get("cell_type") not in ("code", "markdown"):
        return None
    m = MARK_LINE.match(source_of(cell).split("\n", 1)[0])
    return (m.group("id"), float(m.group("points"))) if m else None


def grade_id_of(cell: dict) -> str | None:
    """The cell's grade id: nbgrader's ``grade_id``, else the name on its ``### TEST`` or ``### MARK`` line."""
    meta = nbgrader_of(cell)
    if meta.get("grade_id") and (meta.get("grade") or meta.get("solution") or meta.get("locked") or meta.get("task")):
        return str(meta["grade_id"])
    found = test_line(cell) or mark_line(cell)
    return found[0] if found else None


def claims_to_grade(cell: dict) -> bool:
    """Whether a cell says it earns points (an nbgrader grade cell, or a ``### TEST`` line)."""
    return bool(nbgrader_of(cell).get("grade")) or test_line(cell) is not None


def _with_hidden_tests(nb: dict, where: str) -> tuple[dict, dict[int, list[str]]]:
    """A copy of ``nb`` in which the hidden-test marker lines are gone and what they enclosed stays, and the hidden
    lines of each cell (by index)."""
    out = copy.deepcopy(nb)
    hidden: dict[int, list[str]] = {}
    for number, cell in enumerate(out.get("cells", []), 1):
        lines = source_of(cell).split("\n")
        try:
            regions = [r for r in find_regions(lines) if r.kind is HIDDEN_TESTS]
        except MarkerError as exc:
            raise NbfleetError(f"{where}: cell {number}, line {exc.line + 1}", exc.what) from None
        drop = {r.begin for r in regions} | {r.end for r in regions}
        if drop:
            hidden[number - 1] = [line.strip() for r in regions for line in lines[r.begin + 1 : r.end] if line.strip()]
            cell["source"] = "\n".join(line for i, line in enumerate(lines) if i not in drop)
    return out, hidden


def teacher_notebook(source: dict, name: str, where: str) -> TeacherNotebook:
    """The teacher's version of the solution notebook ``source`` (released as ``name``); ``where`` names it in errors.

    Raises NbfleetError for a grade id used twice, points that are not a number, a line that nearly is a
    ``### TEST`` line, and a cell to restore that has neither a grade id nor a cell id.
    """
    for number, cell in enumerate(source.get("cells", []), 1):
        first = source_of(cell).split("\n", 1)[0]
        if (cell.get("cell_type") == "code" and not nbgrader_of(cell) and _LOOSE_TEST_LINE.match(first)
                and not TEST_LINE.match(first)):
            raise NbfleetError(f"{where}: cell {number}, line 1",
                               f"{first.strip()!r} is nearly a test line: write '### TEST <name>: <points> points'")
    with_hidden, hidden = _with_hidden_tests(source, where)
    stripped = strip_notebook(with_hidden, where).notebook
    released = [source_of(c) for c in strip_notebook(source, where).notebook.get("cells", [])]
    cells = stripped.get("cells", [])
    keys: list[str | None] = []
    protected: set[int] = set()
    graded: dict[int, Graded] = {}
    seen: dict[str, int] = {}
    for index, cell in enumerate(cells):
        meta = nbgrader_of(cell)
        gid = grade_id_of(cell)
        if gid is not None:
            if gid in seen:
                raise NbfleetError(f"{where}: cell {index + 1}", f"grade id {gid!r} is also used by cell {seen[gid] + 1}")
            seen[gid] = index
        keys.append(gid or cell.get("id"))
        convention = test_line(cell)
        by_hand = None if (meta.get("grade") or meta.get("task") or convention) else mark_line(cell)
        if meta.get("grade") or meta.get("task") or convention or by_hand:
            try:
                points = float(meta["points"]) if (meta.get("grade") or meta.get("task")) else (convention or by_hand)[1]
            except (KeyError, TypeError, ValueError):
                raise NbfleetError(f"{where}: cell {index + 1}", f"grade cell {gid!r} has no number of points") from None
            graded[index] = Graded(gid or f"cell-{index + 1}", points,
                                   manual=bool(meta.get("solution") or meta.get("task") or by_hand), task=bool(meta.get("task")))
        if (convention or ((meta.get("grade") or meta.get("locked") or meta.get("task")) and not meta.get("solution"))):
            protected.add(index)
            if keys[-1] is None:
                raise NbfleetError(f"{where}: cell {index + 1}",
                                   "a test or read-only cell without a grade id or a cell id cannot be matched in submissions "
                                   "(save the notebook with a recent Jupyter, or give it an nbgrader grade_id)")
    return TeacherNotebook(name, cells, keys, protected, graded, released, hidden, stripped.get("metadata", {}))

"""Which cells grade what, the teacher's cells put back into a submission, and the points it earns (pure).

Two ways to say which cells grade what (docs/grading.md):

- nbgrader's cell metadata, as nbgrader writes it: ``grade`` + ``points`` (+ ``grade_id``) on a test cell,
  ``solution`` on an answer cell (both: an answer a person grades), ``locked`` on a read-only cell;
- for notebooks with markers only, nbfleet's own convention: a code cell whose first line is
  ``### TEST <name>: <points> points`` is a test worth that many points (any comment prefix: ``#``, ``//``, ``%``,
  ``--``). The line is released with the cell, so students see what each test is worth.

Before a submission runs, every test cell and every read-only cell is the teacher's again (hidden tests
included), in the teacher's place, matched by grade id or cell id: a student who edited, deleted or moved one
gets the teacher's. Everything else runs as the student submitted it, in the student's order within the stretch
between two of the teacher's cells.

Points follow nbgrader's rules so that a course moving over gets the same scores: a test cell earns its points
unless it shows an error or writes to stderr; a number it shows as its result is partial credit; an answer a
person grades gets 0 when it is still the released stub, else waits for the teacher's score.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field

from ..errors import NbfleetError
from .markers import HIDDEN_TESTS, MarkerError, find_regions
from .strip import strip_notebook

TEST_LINE = re.compile(r"^\s*(?:#+|//+|%+|--)\s*TEST\s+(?P<id>[A-Za-z0-9][\w.-]*)\s*:\s*(?P<points>\d+(?:\.\d+)?)\s+points?\s*$")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# nearly a test line: a comment starting with "test" that gives points ("### TEST load 1 point", "# test x: 2")
_LOOSE_TEST_LINE = re.compile(r"^\s*(?:#+|//+|%+|--)\s*tests?\b.*(?::\s*\d|\d\s*(?:points?|pts?)\b|:.*\bpoints?\b)", re.IGNORECASE)


@dataclass(frozen=True)
class Graded:
    """One thing that earns points: a test (run by nbfleet) or an answer a person grades (``manual``)."""

    grade_id: str
    points: float
    manual: bool = False
    task: bool = False  # nbgrader's task cell: read-only, its points given by a person


@dataclass
class TeacherNotebook:
    """The teacher's version of one released notebook, as grading needs it."""

    name: str
    cells: list[dict]  # solutions stubbed as released, hidden tests in, markers out
    keys: list[str | None]  # per cell: its grade id, else its cell id (None: neither)
    protected: set[int]  # indexes of the cells that are always the teacher's (tests, read-only cells)
    graded: dict[int, Graded]  # index -> what that cell earns
    released: list[str] = field(default_factory=list)  # per cell: its source as students got it (hidden tests out)
    hidden: dict[int, list[str]] = field(default_factory=dict)  # index -> the lines of its hidden tests
    metadata: dict = field(default_factory=dict)

    @property
    def max_points(self) -> float:
        return sum(g.points for g in self.graded.values())


@dataclass
class Restored:
    """A submission with the teacher's cells put back: the notebook to run, where each graded cell is, and notes."""

    notebook: dict
    where: dict[str, int]  # grade id -> index in ``notebook``
    notes: list[str]
    placed: dict[int, int] = field(default_factory=dict)  # teacher's index -> index in ``notebook``


@dataclass(frozen=True)
class Result:
    """What one graded cell earned: ``points`` None means a person has to grade it."""

    grade_id: str
    points: float | None
    max_points: float
    why: str = ""


def _source(cell: dict) -> str:
    s = cell.get("source", "")
    return s if isinstance(s, str) else "".join(s)


def _nbgrader(cell: dict) -> dict:
    meta = (cell.get("metadata") or {}).get("nbgrader")
    return meta if isinstance(meta, dict) else {}


def test_line(cell: dict) -> tuple[str, float] | None:
    """(name, points) when ``cell`` is a test by nbfleet's convention (a code cell starting ``### TEST name: N points``)."""
    if cell.get("cell_type") != "code":
        return None
    first = _source(cell).split("\n", 1)[0]
    m = TEST_LINE.match(first)
    return (m.group("id"), float(m.group("points"))) if m else None


def grade_id_of(cell: dict) -> str | None:
    """The cell's grade id: nbgrader's ``grade_id``, else the name on its ``### TEST`` line."""
    meta = _nbgrader(cell)
    if meta.get("grade_id") and (meta.get("grade") or meta.get("solution") or meta.get("locked") or meta.get("task")):
        return str(meta["grade_id"])
    found = test_line(cell)
    return found[0] if found else None


def claims_to_grade(cell: dict) -> bool:
    """Whether a cell says it earns points (an nbgrader grade cell, or a ``### TEST`` line)."""
    return bool(_nbgrader(cell).get("grade")) or test_line(cell) is not None


def _with_hidden_tests(nb: dict, where: str) -> tuple[dict, dict[int, list[str]]]:
    """A copy of ``nb`` in which the hidden-test marker lines are gone and what they enclosed stays, and the hidden
    lines of each cell (by index)."""
    out = copy.deepcopy(nb)
    hidden: dict[int, list[str]] = {}
    for number, cell in enumerate(out.get("cells", []), 1):
        lines = _source(cell).split("\n")
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
        first = _source(cell).split("\n", 1)[0]
        if (cell.get("cell_type") == "code" and not _nbgrader(cell) and _LOOSE_TEST_LINE.match(first)
                and not TEST_LINE.match(first)):
            raise NbfleetError(f"{where}: cell {number}, line 1",
                               f"{first.strip()!r} is nearly a test line: write '### TEST <name>: <points> points'")
    with_hidden, hidden = _with_hidden_tests(source, where)
    stripped = strip_notebook(with_hidden, where).notebook
    released = [_source(c) for c in strip_notebook(source, where).notebook.get("cells", [])]
    cells = stripped.get("cells", [])
    keys: list[str | None] = []
    protected: set[int] = set()
    graded: dict[int, Graded] = {}
    seen: dict[str, int] = {}
    for index, cell in enumerate(cells):
        meta = _nbgrader(cell)
        gid = grade_id_of(cell)
        if gid is not None:
            if gid in seen:
                raise NbfleetError(f"{where}: cell {index + 1}", f"grade id {gid!r} is also used by cell {seen[gid] + 1}")
            seen[gid] = index
        keys.append(gid or cell.get("id"))
        convention = test_line(cell)
        if meta.get("grade") or meta.get("task") or convention:
            try:
                points = float(meta["points"]) if (meta.get("grade") or meta.get("task")) else convention[1]
            except (KeyError, TypeError, ValueError):
                raise NbfleetError(f"{where}: cell {index + 1}", f"grade cell {gid!r} has no number of points") from None
            graded[index] = Graded(gid or f"cell-{index + 1}", points, manual=bool(meta.get("solution") or meta.get("task")), task=bool(meta.get("task")))
        if (convention or ((meta.get("grade") or meta.get("locked") or meta.get("task")) and not meta.get("solution"))):
            protected.add(index)
            if keys[-1] is None:
                raise NbfleetError(f"{where}: cell {index + 1}",
                                   "a test or read-only cell without a grade id or a cell id cannot be matched in submissions "
                                   "(save the notebook with a recent Jupyter, or give it an nbgrader grade_id)")
    return TeacherNotebook(name, cells, keys, protected, graded, released, hidden, stripped.get("metadata", {}))


def restore(teacher: TeacherNotebook, submitted: dict, where: str) -> Restored:
    """The notebook to run: ``submitted`` with every protected cell the teacher's, in the teacher's place.

    A student cell goes with the teacher's cell it matches (by grade id, then cell id); a cell of the student's
    own goes after the student cell before it. Raises NbfleetError (naming ``where`` and the cell) for a test
    cell the teacher's version does not have and for a grade id used twice: that submission needs a person.
    """
    by_key = {k: i for i, k in enumerate(teacher.keys) if k is not None}
    by_cell_id = {c.get("id"): i for i, c in enumerate(teacher.cells) if c.get("id")}
    ids_seen: dict[str, int] = {}
    answers: dict[int, dict] = {}  # the teacher's index -> the student's version of that answer cell
    # own[s]: the student's own cells that go after the teacher's (s-1)-th cell (own[0]: before the first)
    own: list[list[dict]] = [[] for _ in range(len(teacher.cells) + 1)]
    present: set[int] = set()
    edited: list[str] = []
    current = 0
    for number, cell in enumerate(submitted.get("cells", []), 1):
        gid = grade_id_of(cell)
        if gid is not None:
            if gid in ids_seen:
                raise NbfleetError(f"{where}: cell {number}", f"grade id {gid!r} is also used by cell {ids_seen[gid]}")
            ids_seen[gid] = number
        match = by_key.get(gid) if gid is not None else None
        if match is None and gid is not None and claims_to_grade(cell):
            raise NbfleetError(f"{where}: cell {number}", f"test cell {gid!r} is not in the teacher's version")
        if match is None:
            match = by_cell_id.get(cell.get("id"))
        if match is None or (match in present and match not in teacher.protected):
            own[current].append(cell)  # the student's own (or a second cell matching one answer)
            continue
        current = match + 1
        present.add(match)
        if match in teacher.protected:
            if _source(cell).strip() != teacher.released[match].strip():
                edited.append(_label(teacher, match))
            continue
        answers[match] = cell
    notes = [f"{label}: changed in the submission; the teacher's version was run" for label in edited]
    notes += [f"{_label(teacher, i)}: missing from the submission; the teacher's version was run"
              for i in sorted(teacher.protected - present)]
    return _assemble(teacher, answers, own, notes)


def _label(teacher: TeacherNotebook, index: int) -> str:
    g = teacher.graded.get(index)
    what = "test" if g and not g.manual else "read-only cell"
    return f"{what} {teacher.keys[index]!r}"


def _assemble(teacher: TeacherNotebook, answers: dict[int, dict], own: list[list[dict]], notes: list[str]) -> Restored:
    """Lay the teacher's cells, the student's answers and the student's own cells out in the teacher's order."""
    cells: list[dict] = []
    where: dict[str, int] = {}
    placed: dict[int, int] = {}
    cells.extend(copy.deepcopy(own[0]))
    for index, teacher_cell in enumerate(teacher.cells):
        if index in teacher.protected:
            cell = copy.deepcopy(teacher_cell)
        elif index in answers:
            cell = copy.deepcopy(answers[index])
        else:
            cell = None  # the student deleted an answer cell of theirs: it stays deleted
        if cell is not None:
            if cell.get("cell_type") == "code":
                cell["outputs"], cell["execution_count"] = [], None
            g = teacher.graded.get(index)
            if g is not None:
                where[g.grade_id] = len(cells)
            placed[index] = len(cells)
            cells.append(cell)
        cells.extend(copy.deepcopy(own[index + 1]))
    for cell in cells:  # ids must stay unique when a student's own cell repeats one of the teacher's
        cell.pop("id", None)
    for i, cell in enumerate(cells):
        cell["id"] = f"graded-{i + 1}"
    nb = {"cells": cells, "metadata": copy.deepcopy(teacher.metadata), "nbformat": 4, "nbformat_minor": 5}
    return Restored(nb, where, notes, placed)


def hide_hidden_tests(teacher: TeacherNotebook, restored: Restored, executed: dict) -> dict:
    """A copy of the executed notebook that shows no hidden test: each cell with hidden tests shows its source as
    released and its errors without a traceback (or a message quoting a hidden line); any other output, in any cell,
    that quotes a hidden line (the student's code printing ``In``, a warning echoing a line) is taken out."""
    from .guard import is_trivial

    nb = copy.deepcopy(executed)
    cells = nb.get("cells", [])
    secret = {line for lines in teacher.hidden.values() for line in lines if not is_trivial(line)}
    for index, lines in teacher.hidden.items():
        at = restored.placed.get(index)
        if at is None or at >= len(cells):
            continue
        cell = cells[at]
        cell["source"] = teacher.released[index]
        for output in cell.get("outputs", []):
            if output.get("output_type") != "error":
                continue
            message = _ANSI.sub("", str(output.get("evalue", "")))
            if any(line in message for line in lines):
                message = "(in a hidden test)"
            output["evalue"] = message
            output["traceback"] = [f"{output.get('ename', 'Error')}: {message}".rstrip(": ")
                                   + "  [the traceback of a cell with hidden tests is not shown]"]
    if secret:
        for cell in cells:
            cell["outputs"] = [_REMOVED if _quotes(o, secret) else o for o in cell.get("outputs", [])]
    return nb


_REMOVED = {"output_type": "stream", "name": "stdout", "text": "[nbfleet: an output that quoted a hidden test was removed]\n"}


def _quotes(output: dict, secret: set[str]) -> bool:
    """Whether an output's text (any of its forms, escapes and all) contains a line of a hidden test."""
    import json

    raw = _ANSI.sub("", json.dumps(output, ensure_ascii=False))
    text = raw.encode().decode("unicode_escape", errors="ignore") if "\\" in raw else raw
    return any(line in raw or line in text for line in secret)


def _partial(output: dict, max_points: float) -> tuple[float, str]:
    text = (output.get("data") or {}).get("text/plain")
    if isinstance(text, list):
        if len(text) > 1:
            return max_points, ""
        text = text[0] if text else ""
    try:
        value = float(text)
    except (TypeError, ValueError):
        return max_points, ""
    if not value >= 0:  # negative, or not a number at all (nan): full points, as nbgrader gives
        return max_points, ""
    if value > max_points:
        return 0.0, f"partial credit {value:g} is more than the test's {max_points:g} points"
    return value, "partial credit" if value < max_points else ""


def _first_line(text) -> str:
    text = text if isinstance(text, str) else "".join(text or [])
    return _ANSI.sub("", text).strip().split("\n", 1)[0][:200]


def score_cell(cell: dict | None, graded: Graded, released: str | None, note: str | None) -> Result:
    """What one graded cell of an executed notebook earned (nbgrader's rules; see the module docstring)."""
    gid, top = graded.grade_id, graded.points
    if graded.task:
        return Result(gid, None, top, "graded by a person")
    if graded.manual:
        if cell is None or (released is not None and _source(cell).strip() == released.strip()):
            return Result(gid, 0.0, top, "no answer")
        return Result(gid, None, top, "graded by a person")
    if cell is None:
        return Result(gid, 0.0, top, "not in the notebook")
    if note:
        return Result(gid, 0.0, top, note)
    if cell.get("cell_type") != "code":
        return Result(gid, None, top, "graded by a person")
    if cell.get("execution_count") is None and not cell.get("outputs"):
        return Result(gid, 0.0, top, "not run")
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return Result(gid, 0.0, top, f"{output.get('ename', 'error')}: {_first_line(output.get('evalue', ''))}".rstrip(": "))
        if output.get("output_type") == "stream" and output.get("name") == "stderr":
            return Result(gid, 0.0, top, f"wrote to stderr: {_first_line(output.get('text', ''))}")
        if output.get("output_type") == "execute_result":
            points, why = _partial(output, top)
            return Result(gid, points, top, why)
    return Result(gid, top, top)


def score(teacher: TeacherNotebook, restored: Restored, executed: dict, notes: dict[int, str]) -> list[Result]:
    """Every graded cell's result, in the teacher's order; ``notes`` are the sandbox's, by cell index."""
    cells = executed.get("cells", [])
    results = []
    for index, graded in sorted(teacher.graded.items()):
        at = restored.where.get(graded.grade_id)
        cell = cells[at] if at is not None and at < len(cells) else None
        results.append(score_cell(cell, graded, teacher.released[index], notes.get(at) if at is not None else None))
    return results

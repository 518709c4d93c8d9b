"""The points each graded cell of an executed notebook earned, by nbgrader's rules (so that a course moving over gets
the same scores): a test earns its points unless it shows an error or writes to stderr; a number it shows as its
result is partial credit; an answer a person grades gets 0 when it is still the released stub, else waits for the
teacher's score."""

from __future__ import annotations

from typing import NamedTuple

from .cells import ANSI, Graded, TeacherNotebook, source_of
from .restore import Restored


class Result(NamedTuple):
    """What one graded cell earned: ``points`` None means a person has to grade it."""

    grade_id: str
    points: float | None
    max_points: float
    why: str = ""


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
    return ANSI.sub("", text).strip().split("\n", 1)[0][:200]


def score_cell(cell: dict | None, graded: Graded, released: str | None, note: str | None) -> Result:
    """What one graded cell of an executed notebook earned (nbgrader's rules; see the module docstring)."""
    gid, top = graded.grade_id, graded.points
    if graded.task:
        return Result(gid, None, top, "graded by a person")
    if graded.manual:
        if cell is None or (released is not None and source_of(cell).strip() == released.strip()):
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

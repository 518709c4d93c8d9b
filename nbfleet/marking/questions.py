"""What a person marks in an assignment: every answer the teacher's notebooks leave to a person (nbgrader's manually
graded answers and tasks, nbfleet's ``### MARK`` cells), then every autograded test, which a person may review and
override (pure)."""

from __future__ import annotations

from typing import NamedTuple

from ..grading.cells import source_of
from ..grading.teacher import Assignment, column


class Question(NamedTuple):
    """One thing that earns points, as the marking page shows it."""

    id: str  # its grade id; ``<notebook>/<grade id>`` when two notebooks use the same one
    column: str  # its column in ``build/grades/<a>.csv`` (and ``test`` in the overrides file)
    notebook: str
    grade_id: str
    max_points: float
    by_hand: bool  # a person marks it (else: an autograded test, open to review)
    kind: str  # "answer", "task" or "test"
    index: int  # the graded cell's index in the teacher's notebook
    prompt: str  # the teacher's words before it (markdown), as released


def questions(a: Assignment) -> list[Question]:
    """Every question of ``a``: those a person marks first, then the autograded tests, each in notebook order."""
    found = []
    for nb, teacher in a.notebooks.items():
        for index, g in sorted(teacher.graded.items()):
            kind = "task" if g.task else ("answer" if g.manual else "test")
            found.append((nb, index, g, kind, _prompt(teacher, index)))
    counts: dict[str, int] = {}
    for _, _, g, _, _ in found:
        counts[g.grade_id] = counts.get(g.grade_id, 0) + 1
    out = [Question(g.grade_id if counts[g.grade_id] == 1 else column(nb, g.grade_id), column(nb, g.grade_id), nb, g.grade_id,
                    g.points, g.manual, kind, index, prompt) for nb, index, g, kind, prompt in found]
    return [q for q in out if q.by_hand] + [q for q in out if not q.by_hand]


def _prompt(teacher, index: int) -> str:
    """The markdown the teacher wrote just before cell ``index`` (a task: the task itself)."""
    if teacher.graded[index].task:
        return teacher.released[index]
    for i in range(index - 1, -1, -1):
        cell = teacher.cells[i]
        if cell.get("cell_type") == "markdown":
            return teacher.released[i]
        if i in teacher.graded:
            break
    return ""


def find(qs: list[Question], wanted: str) -> Question | None:
    """The question named ``wanted`` (its id or its column)."""
    return next((q for q in qs if wanted in (q.id, q.column)), None)


def stub_text(teacher, index: int) -> str:
    """The answer cell as released (what an unanswered question looks like)."""
    return source_of({"source": teacher.released[index]})

"""A student's cells for one question, from the notebook they handed in, with the outputs they saw (pure).

- an answer a person marks: the student's cell that matches it (by grade id, then cell id);
- a task: the cells the student wrote after it, up to the next of the teacher's cells;
- an autograded test: the cells the student wrote since the teacher's cell before it (their code for it), and
  the test itself as the teacher wrote it.

Around a test, the teacher's own text cells (the question, headings: the release adds anchors and a table of
contents to them) are left out; code stubs are kept (an unanswered stub is the answer).
"""

from __future__ import annotations

from ..grading.cells import TeacherNotebook, grade_id_of, mark_line, source_of


def _without_mark_line(cell: dict) -> dict:
    """The cell without its ``### MARK`` line (the teacher's, not the student's words)."""
    if mark_line(cell) is None:
        return cell
    return {**cell, "source": source_of(cell).split("\n", 1)[1] if "\n" in source_of(cell) else ""}


def _teacher_index(teacher: TeacherNotebook, cell: dict, by_key: dict, by_id: dict, by_text: dict) -> int | None:
    gid = grade_id_of(cell)
    if gid is not None and gid in by_key:
        return by_key[gid]
    if cell.get("id") in by_id:
        return by_id[cell.get("id")]
    return by_text.get(source_of(cell).strip())  # a notebook without cell ids: a cell still as the teacher released it


def answer_cells(teacher: TeacherNotebook, index: int, submitted: dict) -> list[dict]:
    """The student's cells that answer the teacher's graded cell ``index`` (see the module docstring)."""
    cells = submitted.get("cells") or []
    by_key = {k: i for i, k in enumerate(teacher.keys) if k is not None}
    by_id = {c.get("id"): i for i, c in enumerate(teacher.cells) if c.get("id")}
    by_text = {}
    for i, text in enumerate(teacher.released):
        by_text.setdefault(text.strip(), i)
    matched = [_teacher_index(teacher, c, by_key, by_id, by_text) for c in cells]
    g = teacher.graded[index]
    if g.manual and not g.task:
        return [_without_mark_line(c) for c, m in zip(cells, matched, strict=True) if m == index][:1]
    at = matched.index(index) if index in matched else None
    if g.task:  # the student's own cells after it, up to the next of the teacher's
        if at is None:
            return []
        out = []
        for c, m in zip(cells[at + 1:], matched[at + 1:], strict=True):
            if m is not None:
                break
            out.append(c)
        return out

    def given(c: dict, m: int | None) -> bool:  # the teacher's cells but code answers (a stub is the student's answer)
        return m is not None and (m in teacher.protected or c.get("cell_type") != "code")

    before = max((i for i in teacher.protected | set(teacher.graded) if i < index), default=None)
    start = (matched.index(before) + 1) if before in matched else 0
    end = at if at is not None else len(cells)
    if end < start:
        start = 0
    mine = [c for c, m in zip(cells[start:end], matched[start:end], strict=True) if not given(c, m)]
    return mine + [{"cell_type": "code", "source": teacher.released[index], "outputs": [], "metadata": {}}]

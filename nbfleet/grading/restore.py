"""The notebook to run: a submission with every test and read-only cell the teacher's again, in the teacher's place.

A student's cell goes with the teacher's cell it matches (by grade id, then cell id); a cell of the student's own goes
after the student's cell before it. Answers run as submitted; an edited, deleted or moved test is the teacher's again,
with a note.
"""

from __future__ import annotations

import copy
from typing import NamedTuple

from ..errors import NbfleetError
from .cells import TeacherNotebook, claims_to_grade, grade_id_of, source_of


class Restored(NamedTuple):
    """A submission with the teacher's cells put back: the notebook to run, where each graded cell is, and notes."""

    notebook: dict
    where: dict[str, int]  # grade id -> index in ``notebook``
    notes: list[str]
    placed: dict[int, int]  # teacher's index -> index in ``notebook``


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
            if source_of(cell).strip() != teacher.released[match].strip():
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

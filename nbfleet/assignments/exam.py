"""Exam mode: every student's server, for the length of an exam, reaches nothing outside and shows only the exam's
assignment; at the end every student's copy is snapshotted, then the servers return to normal.

In: an assignment already released to the class. Out: ``build/exam.json`` while the exam runs (every manifest reads
it, ``servers.exam``); at the end, ``build/submissions/<a>/`` as collect writes it, with ``_exam.json`` saying it is
the exam's snapshot and when it was taken. Relaunching the servers is the caller's (``tasks.exam``).
"""

from __future__ import annotations

import datetime as dt

from .. import paths
from ..errors import NbfleetError
from ..fs import write_json
from ..servers import exam as exam_state
from .classroom import collect_assignment
from .deliver.ledger import ledger_path, load_ledger
from .files import source_folder

SNAPSHOT = "_exam.json"


def start_exam(settings, assignment: str) -> exam_state.Exam:
    """Record an exam of ``assignment`` from now; one line and nothing changed when it cannot start."""
    source_folder(settings, assignment)
    if not load_ledger(ledger_path(settings, assignment))["students"]:
        raise NbfleetError(f"exam:{assignment}", f"{assignment} is not released yet: run `doit release:{assignment}` first")
    current = exam_state.running(settings)
    if current is not None:
        raise NbfleetError(f"exam:{assignment}", f"the exam of {current.assignment} runs since {current.started}: "
                           f"end it first (`doit exam:{current.assignment} --end`)")
    return exam_state.begin(settings, assignment)


def end_exam(settings, assignment: str):
    """Snapshot every student's copy (as collect does, marked as the exam's), then record that no exam runs.

    Returns (the exam, the collect report). One line and nothing changed when no exam of ``assignment`` runs.
    """
    current = exam_state.running(settings)
    if current is None or current.assignment != assignment:
        now = f"the exam of {current.assignment} runs" if current else "no exam runs"
        raise NbfleetError(f"exam:{assignment}", f"no exam of {assignment} to end ({now})")
    ended = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    report = collect_assignment(settings, assignment)
    write_json(paths.submissions(settings, assignment) / SNAPSHOT,
               {"assignment": assignment, "exam": True, "started": current.started, "snapshot": ended,
                "students": len(report.submissions)})
    exam_state.finish(settings)
    return current, report

"""Task creators for delivering assignments to students (``release:<a>``) and collecting them back (``collect:<a>``).

One subtask per assignment, not per student or file: a no-op run stays cheap with 300 students, and the
action itself skips unchanged files through the delivery ledger.
"""

from __future__ import annotations

from doit.tools import config_changed

from .. import paths
from ..assignments.classroom import collect_assignment, release_assignment
from ..assignments.deliver.ledger import ledger_path
from ..assignments.files import assignments, student_files
from ..errors import NbfleetError
from . import render
from .common import action, dep, deps, fails_with, settings

RESTORE = {
    "name": "restore",
    "long": "restore",
    "type": bool,
    "default": False,
    "help": "also restore released files that students deleted",
}


def _asked_to_restore(task, values) -> bool:
    """doit uptodate check: a run with --restore always looks at every student."""
    return not (task.options or {}).get("restore")


def task_release():
    """Deliver an assignment's released files to every student, never touching what a student changed."""
    s = settings()
    yield {"basename": "release", "name": None,
           "doc": "deliver an assignment to every student, never touching what a student changed (release:<a>)"}
    for name in assignments(s):
        doc = f"deliver build/stripped/{name}/ to every student (--restore: bring back files they deleted)"
        try:
            released = student_files(s, name)
        except NbfleetError as exc:  # said in one line when the task runs, not while listing tasks
            yield {"name": name, "doc": doc, "actions": fails_with(exc), "uptodate": [False]}
            continue
        folder = paths.stripped(s, name)
        yield {
            "name": name,
            "doc": doc,
            "actions": [(action(_release), [name])],
            # the leak guard's record: doit runs strip:<a> first, and only what it passed is delivered
            "file_dep": deps([*(folder / f for f in released), paths.guard_record(s, name), s.roster_file, s.hosts_file]),
            "targets": [dep(ledger_path(s, name))],
            "params": [RESTORE],
            "uptodate": [
                _asked_to_restore,
                config_changed({"students": dep(s.students_dir), "teacher": s.section("teacher")}),
            ],
            "verbosity": 2,
        }


def task_collect():
    """Snapshot every student's copy of an assignment into build/submissions/, flagging late work."""
    s = settings()
    yield {"basename": "collect", "name": None,
           "doc": "snapshot every student's copy into build/submissions/<a>/, late work flagged (collect:<a>)"}
    for name in assignments(s):
        yield {
            "name": name,
            "doc": f"snapshot students/*/{name}/ into build/submissions/{name}/ (late work flagged)",
            "actions": [(action(_collect), [name])],
            "uptodate": [False],  # students change their folders without doit knowing
            "verbosity": 2,
        }


def _release(assignment: str, restore: bool = False) -> None:
    report = release_assignment(settings(), assignment, restore=restore)
    render.print_release(report)
    # fail, so that doit retries next time instead of calling the release done
    if report.failed_hosts:
        raise NbfleetError(f"release:{assignment}", "; ".join(report.failed_hosts.values())
                           + " (the other hosts got it; fix and run again)")
    if report.blocked_students:
        blocked = ", ".join(sorted(report.blocked_students))
        raise NbfleetError(f"release:{assignment}", f"not delivered to {blocked} (see above); fix and run again")


def _collect(assignment: str) -> None:
    report = collect_assignment(settings(), assignment)
    render.print_collect(report)
    if report.failed_hosts:
        raise NbfleetError(f"collect:{assignment}", "; ".join(report.failed_hosts.values())
                           + " (the other hosts' students were collected)")

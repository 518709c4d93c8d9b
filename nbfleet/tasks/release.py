"""Task creators for delivering assignments to students (``release:<a>``) and collecting them back (``collect:<a>``).

One subtask per assignment, not per student or file: a no-op run stays cheap with 300 students, and the
action itself skips unchanged files through the delivery ledger.
"""

from __future__ import annotations

from doit.tools import config_changed

from ..errors import NbfleetError
from .common import action, fails_with, rich_console, settings

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
    from ..assignment import GUARD_FILE, assignments, release_dir, released_files, strip_dir
    from ..delivery import ledger_path

    s = settings()
    yield {"basename": "release", "name": None,
           "doc": "deliver an assignment to every student, never touching what a student changed (release:<a>)"}
    for name in assignments(s):
        doc = f"deliver build/release/{name}/ to every student (--restore: bring back files they deleted)"
        try:
            released = released_files(s, name)
        except NbfleetError as exc:  # said in one line when the task runs, not while listing tasks
            yield {"name": name, "doc": doc, "actions": fails_with(exc), "uptodate": [False]}
            continue
        folder = release_dir(s, name)
        yield {
            "name": name,
            "doc": doc,
            "actions": [(action(_release), [name])],
            # the leak guard's record: doit runs strip:<a> first, and only what it passed is delivered
            "file_dep": [folder / f for f in released] + [strip_dir(s, name) / GUARD_FILE, s.roster_file, s.hosts_file],
            "targets": [ledger_path(s, name)],
            "params": [RESTORE],
            "uptodate": [
                _asked_to_restore,
                config_changed({"students": str(s.students_dir), "teacher": s.section("teacher")}),
            ],
            "verbosity": 2,
        }


def task_collect():
    """Snapshot every student's copy of an assignment into build/submissions/, flagging late work."""
    from ..assignment import assignments

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
    from ..classroom import release_assignment

    report = release_assignment(settings(), assignment, restore=restore)
    print_release(report)
    # fail, so that doit retries next time instead of calling the release done
    if report.failed_hosts:
        raise NbfleetError(f"release:{assignment}", "; ".join(report.failed_hosts.values())
                           + " (the other hosts got it; fix and run again)")
    if report.blocked_students:
        blocked = ", ".join(sorted(report.blocked_students))
        raise NbfleetError(f"release:{assignment}", f"not delivered to {blocked} (see above); fix and run again")


def _collect(assignment: str) -> None:
    from ..classroom import collect_assignment

    report = collect_assignment(settings(), assignment)
    print_collect(report)
    if report.failed_hosts:
        raise NbfleetError(f"collect:{assignment}", "; ".join(report.failed_hosts.values())
                           + " (the other hosts' students were collected)")


def print_release(report, console=None) -> None:
    """Print the summary line and, when there are any, a table of the files the teacher should look at."""
    from rich.table import Table

    console = console or rich_console()
    console.print(report.summary())
    for sid, why in sorted(report.blocked_students.items()):
        console.print(f"[red]not delivered to {sid}[/]: {why}")
    rows = report.conflicts()
    if not rows:
        return
    table = Table(title=f"{report.assignment}: files left as the students have them")
    for col in ("student", "file", "what", "new version"):
        table.add_column(col, overflow="fold")
    for d in rows:
        what = d.action.value + (f": {d.note}" if d.note else "")
        if d.action.value == "deleted-by-student":
            what += " (doit release:%s --restore brings it back)" % report.assignment
        table.add_row(d.student, d.name, what, d.beside or "")
    console.print(table)


def print_collect(report, console=None) -> None:
    """Print the summary line and a table: per student, files, own changes, last change, late."""
    from rich.table import Table

    console = console or rich_console()
    console.print(report.summary())
    table = Table(title=f"{report.assignment}: submissions" + (f" (deadline {report.deadline:%Y-%m-%d %H:%M %Z})" if report.deadline else ""))
    for col in ("student", "files", "changed", "last change", "late", "skipped"):
        table.add_column(col, overflow="fold")
    for sub in report.submissions:
        if sub.missing:
            table.add_row(sub.student, "-", "-", "-", "-", sub.skipped.get(".", "no folder"))
            continue
        table.add_row(
            sub.student,
            str(len(sub.files)),
            str(sub.changed),
            sub.last_change or "-",
            "[red]late[/]" if sub.late else "",
            ", ".join(sorted(sub.skipped)),
        )
    console.print(table)

"""Everything the tasks show in the terminal: rich tables, progress bars and the console they go to.

Wherever the output goes to a file or a pipe (a log, CI), tables are wide enough that names are not cut and progress
bars are not drawn. rich is imported inside each function: task creators import this module while doit lists tasks.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time

from ..servers.status_page import COLUMNS, cells, human_bytes, human_duration

LOG_WIDTH = 160  # a log or pipe: never squeeze a table to 80 columns


def console(highlight: bool = False):
    """A rich console; when the output is a file or a pipe (a log), wide enough that names are not cut."""
    from rich.console import Console

    out = Console(highlight=highlight)
    if not out.is_terminal:
        out.width = LOG_WIDTH
    return out


# ---------------------------------------------------------------- launch


class LaunchProgress:
    """One progress display shared by the hosts that launch in parallel threads: a line per host, with a bar."""

    _lock = threading.Lock()
    _users = 0
    _progress = None

    def __init__(self, host: str):
        self.host = host
        with self._lock:
            if LaunchProgress._progress is None:
                from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

                LaunchProgress._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                                    TimeElapsedColumn(), transient=True)
                LaunchProgress._progress.start()
            LaunchProgress._users += 1
            self.bar = LaunchProgress._progress
        self.task = self.bar.add_task(f"{host}: connecting", total=None)

    def say(self, text: str, total: int | None = None) -> None:
        if total is None:
            self.bar.update(self.task, description=f"{self.host}: {text}")
        else:
            self.bar.update(self.task, description=f"{self.host}: {text}", total=total, completed=0)

    def advance(self) -> None:
        self.bar.advance(self.task)

    def close(self) -> None:
        self.bar.remove_task(self.task)
        with self._lock:
            LaunchProgress._users -= 1
            if LaunchProgress._users == 0:
                LaunchProgress._progress.stop()
                LaunchProgress._progress = None


def launch_progress():
    """What reports a host's launch: a progress bar in a terminal, nothing in a log (``servers.launch.Quiet``)."""
    return LaunchProgress if sys.stdout.isatty() else None


def launch_table(results):
    """A rich Table with one row per host: started, recreated, unchanged, removed, pending, failed."""
    from rich.table import Table

    table = Table(title="doit launch")
    for col in ("host", "started", "recreated", "unchanged", "removed", "pending", "failed", "seconds"):
        table.add_column(col, justify="left" if col == "host" else "right")
    for r in results:
        row = r.row()
        table.add_row(row["host"], *(str(row[k]) for k in ("started", "recreated", "unchanged", "removed", "pending")),
                      f"[red]{row['failed']}[/red]" if row["failed"] else "0", f"{r.seconds:.1f}")
    return table


def print_launch(result) -> None:
    """A host's launch: its table row, then what the teacher should know (a backend switch, folders moved, failures,
    students left pending)."""
    out = console()
    out.print(launch_table([result]))
    if result.switched:
        other = "containers" if result.backend == "swarm" else "Swarm services"
        out.print(f"  switched to the {result.backend} backend: removed {result.switched} {other} first (folders kept)")
    for note in result.notes:
        out.print(f"  {note}")
    for name, reason in sorted(result.failed.items()):
        out.print(f"  failed {name}: {reason}")
    if result.counts["pending"]:
        out.print(f"  {result.counts['pending']} pending: students working now; `doit launch:{result.host} --force` interrupts them")


# ---------------------------------------------------------------- status


def print_status(rows) -> None:
    """The status table: one row per student's server, the ones not running in red."""
    from rich.table import Table

    table = Table(title=f"{len(rows)} servers, {sum(r.state == 'running' for r in rows)} running")
    for col in COLUMNS:
        table.add_column(col)
    for r in rows:
        table.add_row(*cells(r), style=None if r.state == "running" else "red")
    console().print(table)


# ---------------------------------------------------------------- release and collect


def print_release(report, out=None) -> None:
    """The summary line and, when there are any, a table of the files the teacher should look at."""
    from rich.table import Table

    out = out or console(highlight=True)
    out.print(report.summary())
    for sid, why in sorted(report.blocked_students.items()):
        out.print(f"[red]not delivered to {sid}[/]: {why}")
    rows = report.conflicts()
    if not rows:
        return
    table = Table(title=f"{report.assignment}: files left as the students have them")
    for col in ("student", "file", "what", "new version"):
        table.add_column(col, overflow="fold")
    for d in rows:
        what = d.action.value + (f": {d.note}" if d.note else "")
        if d.action.value == "deleted-by-student":
            what += f" (doit release:{report.assignment} --restore brings it back)"
        table.add_row(d.student, d.name, what, d.beside or "")
    out.print(table)


def print_collect(report, out=None) -> None:
    """The summary line and a table: per student, files, own changes, last change, late."""
    from rich.table import Table

    out = out or console(highlight=True)
    out.print(report.summary())
    deadline = f" (deadline {report.deadline:%Y-%m-%d %H:%M %Z})" if report.deadline else ""
    table = Table(title=f"{report.assignment}: submissions{deadline}")
    for col in ("student", "files", "changed", "last change", "late", "skipped"):
        table.add_column(col, overflow="fold")
    for sub in report.submissions:
        if sub.missing:
            table.add_row(sub.student, "-", "-", "-", "-", sub.skipped.get(".", "no folder"))
            continue
        table.add_row(sub.student, str(len(sub.files)), str(sub.changed), sub.last_change or "-",
                      "[red]late[/]" if sub.late else "", ", ".join(sorted(sub.skipped)))
    out.print(table)


# ---------------------------------------------------------------- grading


@contextlib.contextmanager
def grading_progress(assignment: str, out):
    """A progress bar while an assignment's submissions are graded (drawn only in a terminal); yields
    ``progress(done, total, student)``."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn(f"grading {assignment}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.fields[last]}"), console=out, disable=not sys.stdout.isatty()) as bar:
        task = bar.add_task("grade", total=None, last="")

        def progress(done, total, sid):
            bar.update(task, completed=done, total=total, last=sid)

        yield progress


def print_grades(report, out) -> None:
    """The summary line, a table of the students graded now, and the ones to look at."""
    from rich.table import Table

    out.print(report.summary())
    if report.leftovers:
        out.print(f"note: removed {report.leftovers} sandbox(es) an interrupted run left behind")
    t = report.table
    if t is None or t.empty:
        return
    shown = t[t["student"].isin(report.graded)] if report.graded else t.iloc[0:0]
    if not shown.empty:
        table = Table(title=f"{report.assignment}: graded now")
        for col in ("student", "total", "max", "late", "notes"):
            table.add_column(col, overflow="fold")
        for _, row in shown.iterrows():
            total = "-" if row["total"] is None or row["total"] != row["total"] else f"{row['total']:g}"
            table.add_row(str(row["student"]), total, f"{row['max']:g}", "late" if row["late"] else "", row["notes"] or "")
        out.print(table)
    for sid, why in report.problems.items():
        out.print(f"[red]{sid}[/]: {why}")
    for d in report.feedback_conflicts:
        out.print(f"note: {d.student} changed feedback/{d.name}; the new page is beside it as {d.beside}")


# ---------------------------------------------------------------- the workshop


def print_workshop(status, settings) -> None:
    """The workshop's table: visitors, free pool servers, and each server's age, idle time and memory."""
    from rich.console import Console
    from rich.table import Table

    w, counts = settings.workshop, status.counts
    table = Table(title=f"Workshop at {status.url}: {counts['visitors']} of {w.max_visitors} visitors, "
                        f"{counts['free']} free pool servers (of {w.pool_size}), {counts['starting']} starting")
    for column in ("user", "role", "container", "age", "idle", "memory"):
        table.add_column(column)
    for r in status.rows:
        table.add_row(r.user, r.role, r.container, human_duration(r.age), human_duration(r.idle), human_bytes(r.memory))
    console = Console(width=140)
    console.print(table)
    if status.session is not None:
        s = status.session
        when = f"{s.start.astimezone():%Y-%m-%d %H:%M}, {s.visitors} visitors, {human_duration(s.length)}"
        if s.start.timestamp() <= time.time():
            line = f"Session on now ({when}): {counts['visitors']} visitors, {counts['free']} servers waiting"
        else:
            line = (f"Next session: {when}: {counts['free']} of {s.visitors} servers waiting, {counts['starting']} "
                    f"starting")
        console.print(line, soft_wrap=True)

"""Task creator for grading (``grade:<a>``): one subtask per assignment, after ``collect:<a>``.

doit skips the whole subtask when nothing it reads changed (the collect's manifest, the teacher's notebooks and
data, the image record, the overrides, ``[grade]``); when something did, the action itself grades only the
students whose fingerprint changed (``nbfleet.grading``), so a no-op run starts no sandbox.
"""

from __future__ import annotations

import json

from doit.tools import config_changed

from ..errors import NbfleetError
from .common import action, fails_with, rich_console, settings

STUDENT = {
    "name": "student",
    "long": "student",
    "type": str,
    "default": "",
    "help": "grade only this student, again (even when nothing changed)",
}


def _no_student_asked(task, values) -> bool:
    """doit uptodate check: a run with --student always grades."""
    return not (task.options or {}).get("student")


def _nothing_left(again):
    """doit uptodate check: the last run left nothing for this one (a student it could not grade, feedback not
    delivered, others changed while one student was graded with --student)."""
    return lambda task, values: not again.exists()


def task_grade():
    """Run every submission's tests in a sandbox; grades tables and feedback."""
    from ..assignment import assignments, release_dir, released_files
    from ..collect import MANIFEST, submissions_dir
    from ..grading import again_path, code_version
    from ..manifest import image_record_path

    s = settings()
    yield {"basename": "grade", "name": None,
           "doc": "grade collected submissions in sandboxes: build/grades/<a>.csv, gradebook.csv, feedback (grade:<a>)"}
    overrides = s.grade.overrides
    code = code_version()
    try:  # the image is a setting here, not a dependency: grading never builds images
        image = json.loads(image_record_path(s).read_bytes()).get("id")
    except (OSError, ValueError, AttributeError):
        image = None
    for name in assignments(s):
        doc = f"grade build/submissions/{name}/ in sandboxes; build/grades/{name}.csv, feedback/{name}/ to students (--student ID)"
        try:
            files = released_files(s, name)
        except NbfleetError as exc:
            yield {"name": name, "doc": doc, "actions": fails_with(exc), "uptodate": [False]}
            continue
        deps = [str(submissions_dir(s, name) / MANIFEST)]
        deps += [str(src) for rel, src in files.items() if rel.endswith(".ipynb")]
        deps += [str(release_dir(s, name) / rel) for rel in files if not rel.endswith(".ipynb")]
        if overrides.is_file():
            deps.append(str(overrides))
        yield {
            "name": name,
            "doc": doc,
            "actions": [(action(_grade), [name])],
            "file_dep": deps,
            "targets": [str(s.build_dir / "grades" / f"{name}.csv")],
            "params": [STUDENT],
            "uptodate": [_no_student_asked, _nothing_left(again_path(s, name)),
                         config_changed({"grade": s.section("grade"), "overrides": overrides.is_file(), "image": image,
                                         "code": code,
                                         "teacher": s.section("teacher"), "roster": str(s.roster_file)})],
            "verbosity": 2,
        }


def _grade(assignment: str, student: str = "") -> None:
    import sys

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ..grading import grade_assignment
    console = rich_console()
    with Progress(TextColumn(f"grading {assignment}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.fields[last]}"), console=console, disable=not sys.stdout.isatty()) as bar:
        task = bar.add_task("grade", total=None, last="")

        def progress(done, total, sid):
            bar.update(task, completed=done, total=total, last=sid)

        report = grade_assignment(settings(), assignment, student=student or None, progress=progress)
    print_grades(report, console)
    if report.failed:
        raise NbfleetError(f"grade:{assignment}", f"{len(report.failed)} submission(s) could not be graded (see above): "
                           "run again to grade them")
    if report.undelivered and not report.feedback_failed:
        console.print(f"note: feedback waits for {', '.join(report.undelivered)} (their folder is moving: "
                      f"`doit launch`); the next `doit grade:{assignment}` delivers it")
    if report.feedback_failed:
        raise NbfleetError(f"grade:{assignment}", "feedback not delivered: " + "; ".join(report.feedback_failed.values())
                           + " (the grades are written; run again to deliver)")


def print_grades(report, console) -> None:
    """The summary line, a table of the students graded now (or all, on a first run) and the ones to look at."""
    from rich.table import Table

    console.print(report.summary())
    if report.leftovers:
        console.print(f"note: removed {report.leftovers} sandbox(es) an interrupted run left behind")
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
        console.print(table)
    for sid, why in report.problems.items():
        console.print(f"[red]{sid}[/]: {why}")
    if report.feedback_conflicts:
        for d in report.feedback_conflicts:
            console.print(f"note: {d.student} changed feedback/{d.name}; the new page is beside it as {d.beside}")

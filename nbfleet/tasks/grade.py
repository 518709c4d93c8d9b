"""Task creator for grading (``grade:<a>``): one subtask per assignment, after ``collect:<a>``.

doit skips the whole subtask when nothing it reads changed (the collect's manifest, the teacher's notebooks and
data, the image record, the overrides, ``[grade]``); when something did, the action itself grades only the
students whose fingerprint changed (``grading.grade``), so a no-op run starts no sandbox.
"""

from __future__ import annotations

from doit.tools import config_changed

from .. import paths
from ..assignments.collect import MANIFEST
from ..assignments.files import assignments, student_files
from ..errors import NbfleetError
from ..grading.grade import grade_assignment
from ..grading.teacher import code_version
from ..images import record
from . import render
from .common import action, dep, deps, fails_with, settings

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
    s = settings()
    yield {"basename": "grade", "name": None,
           "doc": "grade collected submissions in sandboxes: build/grades/<a>.csv, gradebook.csv, feedback (grade:<a>)"}
    overrides = s.grade.overrides
    code = code_version()
    image = record.read(s, s.images.launch).get("id")  # a setting here, not a dependency: grading never builds images
    for name in assignments(s):
        doc = f"grade build/submissions/{name}/ in sandboxes; build/grades/{name}.csv, feedback/{name}/ to students (--student ID)"
        try:
            files = student_files(s, name)
        except NbfleetError as exc:
            yield {"name": name, "doc": doc, "actions": fails_with(exc), "uptodate": [False]}
            continue
        inputs = [paths.submissions(s, name) / MANIFEST]
        inputs += [src for rel, src in files.items() if rel.endswith(".ipynb")]
        inputs += [paths.stripped(s, name) / rel for rel in files if not rel.endswith(".ipynb")]
        if overrides.is_file():
            inputs.append(overrides)
        yield {
            "name": name,
            "doc": doc,
            "actions": [(action(_grade), [name])],
            "file_dep": deps(inputs),
            "targets": [dep(paths.grades_table(s, name))],
            "params": [STUDENT],
            "uptodate": [_no_student_asked, _nothing_left(paths.grading_again(s, name)),
                         config_changed({"grade": s.section("grade"), "overrides": overrides.is_file(), "image": image,
                                         "code": code,
                                         "teacher": s.section("teacher"), "roster": dep(s.roster_file)})],
            "verbosity": 2,
        }


def _grade(assignment: str, student: str = "") -> None:
    console = render.console(highlight=True)
    with render.grading_progress(assignment, console) as progress:
        report = grade_assignment(settings(), assignment, student=student or None, progress=progress)
    render.print_grades(report, console)
    if report.failed:
        raise NbfleetError(f"grade:{assignment}", f"{len(report.failed)} submission(s) could not be graded (see above): "
                           "run again to grade them")
    if report.undelivered and not report.feedback_failed:
        console.print(f"note: feedback waits for {', '.join(report.undelivered)} (their folder is moving: "
                      f"`doit launch`); the next `doit grade:{assignment}` delivers it")
    if report.feedback_failed:
        raise NbfleetError(f"grade:{assignment}", "feedback not delivered: " + "; ".join(report.feedback_failed.values())
                           + " (the grades are written; run again to deliver)")

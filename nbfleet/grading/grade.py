"""Grade an assignment, as ``doit grade:<a>`` does: every collected submission's tests, each in its own sandbox.

The flow, for each student collected by ``doit collect:<a>`` (``build/submissions/<a>/``):

1. the teacher's version of each released notebook (``grading.cells``: tests with their hidden
   part, read-only cells, points) is put back into the student's notebook;
2. the submission, with the teacher's data files over the student's, runs in a sandbox (``grading.sandbox``);
3. each test's points are scored; the student's record goes into ``build/grades/.state/<a>.json``;
4. ``build/grades/<a>.csv`` and ``build/grades/gradebook.csv`` are written (``grading.gradebook``) with the teacher's
   overrides over them, and each graded student gets ``feedback/<a>/<notebook>.html`` in their folder, delivered
   like a release (a file the student changed is never overwritten).

Only what changed is graded again: a student's record keeps a fingerprint of everything their grade depends on (the
hashes of their collected files, the teacher's notebooks and data, the image, the limits, this grader's code).
A student whose submission cannot be graded (not a notebook, a test cell the teacher does not have, a grade id
used twice) is reported in one line and the others are graded.
"""

from __future__ import annotations

import json
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

from .. import paths, threads
from ..assignments.classroom import deliver_feedback
from ..assignments.collect import read_collected
from ..assignments.files import assignments
from ..errors import NbfleetError
from ..fs import write_json, write_text
from ..roster.hosts import load_hosts
from ..roster.students import load_table, validate
from ..servers.engine import local_engine, short_error
from .feedback import page_name
from .gradebook import assignment_table, check_overrides, gradebook, read_overrides, write_table
from .lms import canvas_csv, moodle_csv
from .marked import marks_fingerprint, remake_pages
from .run import grade_one
from .sandbox import check_image, remove_leftovers
from .similarity import similarity_report
from .teacher import load_assignment, sha


@dataclass
class GradeReport:
    assignment: str
    graded: list[str] = field(default_factory=list)
    unchanged: int = 0
    problems: dict[str, str] = field(default_factory=dict)  # student -> the one line
    table: object = None  # the assignment's DataFrame
    feedback_conflicts: list = field(default_factory=list)
    feedback_failed: dict[str, str] = field(default_factory=dict)  # host -> why
    leftovers: int = 0
    failed: list[str] = field(default_factory=list)  # students the engine could not grade (graded again next run)
    undelivered: list[str] = field(default_factory=list)  # feedback waiting for its student's folder
    table_file: str = ""  # where the table is written, as the teacher knows it

    def summary(self) -> str:
        n = 0 if self.table is None else len(self.table)
        return (f"{self.assignment}: {len(self.graded)} graded in sandboxes, {self.unchanged} unchanged, "
                f"{len(self.problems)} to look at, {n} in {self.table_file}")


def _load_state(path: Path) -> dict:
    try:
        return json.loads(path.read_bytes())
    except (FileNotFoundError, ValueError):
        return {}  # none yet, or damaged: that only costs a regrade


def submission_fingerprint(teacher: str, entry: dict) -> str:
    """What a student's grade depends on: the teacher's side and the hash of every file they handed in."""
    files = entry.get("files") or {}
    listing = "".join(f"{name}\0{files[name].get('sha256')}\n" for name in sorted(files))
    return sha(f"{teacher}\n{listing}".encode())


def grade_assignment(settings, name: str, *, student: str | None = None, progress=None) -> GradeReport:
    """Grade what changed in ``name`` (or only ``student``, always), write the tables and deliver the feedback."""
    collected = read_collected(settings, name)
    a = load_assignment(settings, name)
    overrides_shown = paths.shown(settings.grade.overrides, settings.root)
    overrides = read_overrides(settings.grade.overrides, overrides_shown)
    entries = collected["students"]
    check_overrides(name, a.tests, overrides, overrides_shown, set(entries))  # before any sandbox runs
    if student is not None and student not in entries:
        raise NbfleetError(f"grade:{name} --student {student}", f"{student} is not among the collected students of {name}")
    spath = paths.grading_state(settings, name)
    state = _load_state(spath)
    report = GradeReport(name, table_file=paths.shown(paths.grades_table(settings, name), settings.root))
    todo = []
    left_for_later = False  # a --student run leaves the others that changed for the next run
    for sid, entry in sorted(entries.items()):
        fp = submission_fingerprint(a.fingerprint, entry)
        if entry.get("missing"):
            why = (entry.get("skipped") or {}).get(".") or "no folder"
            state[sid] = {"fingerprint": fp, "late": False, "notes": [], "problem": "",
                          "tests": {c: {"points": 0.0, "max": m, "why": f"no submission ({why})"} for c, m in a.tests}}
            continue
        if sid in state:
            state[sid]["late"] = bool(entry.get("late"))  # a new deadline changes it without a regrade
        if student is not None and sid != student:
            left_for_later |= state.get(sid, {}).get("fingerprint") != fp
            continue
        if student is None and state.get(sid, {}).get("fingerprint") == fp:
            report.unchanged += 1
            continue
        todo.append((sid, entry, fp))
    for gone in set(state) - set(entries):
        del state[gone]

    lock = threading.Lock()
    if todo:
        work = paths.grading_work(settings, name)
        out = paths.feedback_pages(settings, name)
        client = local_engine()
        try:
            check_image(client, a.image["id"], settings.images.launch)
            label = f"{settings.course.tag}/{name}"
            report.leftovers = remove_leftovers(client, label)
            shutil.rmtree(work, ignore_errors=True)

            def one(item):
                sid, entry, fp = item
                try:
                    record, pages = grade_one(settings, a, sid, entry, paths.submissions(settings, name) / sid, work / sid,
                                              out / sid, client, label)
                except Exception as exc:  # noqa: BLE001 - the engine failing for one student must not stop the others
                    record, pages = {"late": bool(entry.get("late")), "tests": {}, "notes": [],
                                     "problem": f"could not be graded: {short_error(exc)}"}, {}
                    report.failed.append(sid)
                    fp = None  # graded again by the next run
                record["fingerprint"] = fp
                record["feedback"] = {nb: str(path) for nb, path in pages.items()}
                record["delivered"] = not pages
                with lock:
                    state[sid] = record
                    write_json(spath, state)
                return sid, record, pages

            for done, (sid, _record, _pages) in enumerate(threads.as_done(one, todo, settings.grade.parallel), 1):
                report.graded.append(sid)
                if progress:
                    progress(done, len(todo), sid)
        finally:
            client.close()
            shutil.rmtree(work, ignore_errors=True)
    follow_marks(state, name, overrides)
    write_json(spath, state)
    report.problems = {sid: r["problem"] for sid, r in sorted(state.items()) if r.get("problem")}
    report.table = write_tables(settings, name, state, a.tests, overrides)
    page, _ = similarity_report(paths.submissions(settings, name), paths.stripped(settings, name), name)
    write_text(paths.similarity_report(settings, name), page)
    # feedback not delivered yet: this run's, and any an earlier run could not deliver (a host that was down)
    pending = {sid: {nb: Path(p) for nb, p in r["feedback"].items()} for sid, r in state.items()
               if r.get("feedback") and not r.get("delivered") and all(Path(p).is_file() for p in r["feedback"].values())}
    if pending:
        got = deliver_feedback(settings, name, {sid: {page_name(nb): path for nb, path in pages.items()}
                                                for sid, pages in pending.items()})
        report.feedback_conflicts += got.conflicts
        report.feedback_failed.update(got.failed)
        for sid in got.delivered:
            state[sid]["delivered"] = True
        write_json(spath, state)
    report.undelivered = sorted(sid for sid, r in state.items() if r.get("feedback") and not r.get("delivered"))
    again = paths.grading_again(settings, name)
    if report.failed or report.undelivered or left_for_later:
        again.touch()  # doit must run grade:<a> next time, even with nothing else changed
    else:
        again.unlink(missing_ok=True)
    return report


def write_tables(settings, name: str, state: dict, tests: list[tuple[str, float]], overrides: list[dict]):
    """``build/grades/<a>.csv``, ``gradebook.csv`` and the LMS files from the grading records and the overrides (no
    sandbox: what a mark given by hand changes); the assignment's table (a DataFrame)."""
    table = assignment_table(name, state, tests, overrides)
    write_table(table, paths.grades_table(settings, name))
    names = assignments(settings)
    write_table(gradebook(settings, names), paths.gradebook(settings))
    write_lms_files(settings, names)
    return table


def follow_marks(state: dict, name: str, overrides: list[dict]) -> None:
    """Make the feedback pages of each student whose marks changed again, with the marks and comments in them, and
    leave them to be delivered (no sandbox runs)."""
    by_student: dict[str, dict] = {}
    for o in overrides:
        if o["assignment"] == name:
            by_student.setdefault(o["student"], {})[o["test"]] = o
    for sid, record in state.items():
        marks = by_student.get(sid, {})
        fp = marks_fingerprint(marks)
        if record.get("feedback") and record.get("marks", "") != fp and remake_pages(record["feedback"], marks):
            record["marks"] = fp
            record["delivered"] = False


def write_lms_files(settings, names: list[str]) -> None:
    """``build/grades/canvas.csv`` and ``moodle.csv`` from every graded assignment's table and the roster (students
    only, in roster order, known to the LMS by the ``[grade] lms_id`` column)."""
    import pandas as pd

    table = load_table(settings)
    column = table.index(settings.grade.lms_id)
    if column is None:
        raise NbfleetError(f"{settings.file.name}: grade.lms_id", f"the roster has no column {settings.grade.lms_id!r} "
                           f"(it has: {', '.join(h for h in table.header if h.strip())})")
    students, rows = validate(table, load_hosts(settings), settings.course.tag)
    cells = table.frame[column].tolist()
    lms_ids = {}
    for s, row in zip(students, rows, strict=True):
        lms_ids[s.id] = cells[row].strip()
        if not lms_ids[s.id] and not s.admin:
            raise NbfleetError(table.where(row, settings.grade.lms_id),
                               f"{s.id} has no {settings.grade.lms_id}: the LMS files need one for every student")
    students = [s for s in students if not s.admin]
    totals, maxima = {}, {}
    for name in names:
        path = paths.grades_table(settings, name)
        if path.is_file():
            t = pd.read_csv(path, dtype={"student": str})
            totals[name] = {sid: (None if pd.isna(v) else float(v)) for sid, v in zip(t["student"], t["total"], strict=True)}
            maxima[name] = float(t["max"].max()) if len(t) else None
    lms_names = settings.grade.lms_names
    write_text(paths.lms_file(settings, "canvas"), canvas_csv(students, lms_ids, totals, maxima, lms_names))
    write_text(paths.lms_file(settings, "moodle"), moodle_csv(students, lms_ids, totals, lms_names))

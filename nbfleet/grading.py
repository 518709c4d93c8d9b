"""Grade an assignment, as ``doit grade:<a>`` does: every collected submission's tests, each in its own sandbox.

The flow, for each student collected by ``doit collect:<a>`` (``build/submissions/<a>/``):

1. the teacher's version of each released notebook (``nbfleet.notebooks.grade_cells``: tests with their hidden
   part, read-only cells, points) is put back into the student's notebook;
2. the submission, with the teacher's data files over the student's, runs in a sandbox (``nbfleet.sandbox``);
3. each test's points are scored; the student's record goes into ``build/grades/.state/<a>.json``;
4. ``build/grades/<a>.csv`` and ``build/grades/gradebook.csv`` are written (``nbfleet.gradebook``) with the teacher's
   overrides over them, and each graded student gets ``feedback/<a>/<notebook>.html`` in their folder, delivered
   like a release (a file the student changed is never overwritten).

Only what changed is graded again: a student's record keeps a fingerprint of everything their grade depends on (the
hashes of their collected files, the teacher's notebooks and data, the image, the limits, this grader's code).
A student whose submission cannot be graded (not a notebook, a test cell the teacher does not have, a grade id
used twice) is reported in one line and the others are graded.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from .errors import NbfleetError

FEEDBACK = "feedback"  # the folder in each student's folder where feedback lands: feedback/<a>/<notebook>.html


@dataclass
class Assignment:
    """What grading one assignment needs from the teacher's side."""

    name: str
    notebooks: dict  # released notebook name -> TeacherNotebook
    data: dict[str, Path]  # released non-notebook files (the teacher's, restored over the student's)
    fingerprint: str
    image: dict

    @property
    def tests(self) -> list[tuple[str, float]]:
        """(column, max points) of every graded cell, in order: ``<notebook stem>/<grade id>``."""
        return [(column(nb, g.grade_id), g.points) for nb, t in self.notebooks.items() for _, g in sorted(t.graded.items())]


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

    def summary(self) -> str:
        n = 0 if self.table is None else len(self.table)
        return (f"{self.assignment}: {len(self.graded)} graded in sandboxes, {self.unchanged} unchanged, "
                f"{len(self.problems)} to look at, {n} in build/grades/{self.assignment}.csv")


def column(notebook: str, grade_id: str) -> str:
    """The column of a test in the grades table: ``problem1/load`` for test ``load`` of ``problem1.ipynb``."""
    return f"{notebook.removesuffix('.ipynb')}/{grade_id}"


def page_name(notebook: str) -> str:
    """The feedback page of a notebook: ``problem1.html`` for ``problem1.ipynb``."""
    return f"{notebook.removesuffix('.ipynb')}.html"


def grades_dir(settings) -> Path:
    return settings.build_dir / "grades"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


CODE = ("grade_runner.py", "notebooks/grade_cells.py", "sandbox.py", "feedback.py")


def code_version() -> str:
    """A hash of the grader's own code: a new nbfleet that grades differently grades again."""
    here = Path(__file__).resolve().parent
    return _sha(b"".join((here / p).read_bytes() for p in CODE))


def load_assignment(settings, name: str) -> Assignment:
    """The teacher's side of ``name``: its notebooks' tests, its data files, the image, and their fingerprint."""
    from .assignment import read_notebook, release_dir, released_files
    from .manifest import load_image_record
    from .notebooks.grade_cells import teacher_notebook

    files = released_files(settings, name)
    folder = release_dir(settings, name)
    notebooks, data = {}, {}
    h = hashlib.sha256()
    for rel, source in sorted(files.items()):
        if rel.endswith(".ipynb"):
            shown = _shown(settings, Path(source))
            nb, _ = read_notebook(Path(source), shown, node=False)
            notebooks[rel] = teacher_notebook(nb, rel, shown)
            h.update(f"nb {rel} {_sha(Path(source).read_bytes())}\n".encode())
        else:
            path = folder / rel
            if not path.is_file():
                raise NbfleetError(str(path), f"not released yet: run `doit strip:{name}` first")
            data[rel] = path
            h.update(f"data {rel} {_sha(path.read_bytes())}\n".encode())
    if not notebooks:
        raise NbfleetError(str(Path(settings.solutions_dir) / name), "no notebook to grade in this assignment")
    image = load_image_record(settings)
    h.update(f"image {image['id']}\nlimits {json.dumps(_limits(settings).as_dict(), sort_keys=True)}\ncode {code_version()}\n".encode())
    return Assignment(name, notebooks, data, h.hexdigest(), image)


def _limits(settings):
    from .sandbox import Limits

    g = settings.grade
    return Limits(g.memory, g.cpus, g.pids, g.cell_timeout, g.notebook_timeout)


def read_collected(settings, name: str) -> dict:
    """``build/submissions/<a>/_manifest.json``; NbfleetError when the assignment was not collected."""
    from .collect import MANIFEST, submissions_dir

    path = submissions_dir(settings, name) / MANIFEST
    shown = _shown(settings, path)
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise NbfleetError(shown, f"{name} was not collected: run `doit collect:{name}` first") from None
    except ValueError as exc:
        raise NbfleetError(shown, f"not valid JSON ({exc}): run `doit collect:{name}` again") from None
    if not isinstance(data.get("students"), dict):
        raise NbfleetError(shown, f"no students in it: run `doit collect:{name}` again")
    return data


def state_path(settings, name: str) -> Path:
    return grades_dir(settings) / ".state" / f"{name}.json"


def _load_state(path: Path) -> dict:
    try:
        return json.loads(path.read_bytes())
    except (FileNotFoundError, ValueError):
        return {}  # none yet, or damaged: that only costs a regrade


def submission_fingerprint(teacher: str, entry: dict) -> str:
    """What a student's grade depends on: the teacher's side and the hash of every file they handed in."""
    files = entry.get("files") or {}
    listing = "".join(f"{name}\0{files[name].get('sha256')}\n" for name in sorted(files))
    return _sha(f"{teacher}\n{listing}".encode())


def grade_assignment(settings, name: str, *, student: str | None = None, progress=None) -> GradeReport:
    """Grade what changed in ``name`` (or only ``student``, always), write the tables and deliver the feedback."""
    from .assignment import assignments
    from .atomic import write_json
    from .collect import submissions_dir
    from .engine import local_engine
    from .gradebook import assignment_table, check_overrides, gradebook, read_overrides, write_table
    from .sandbox import check_image, remove_leftovers

    collected = read_collected(settings, name)
    a = load_assignment(settings, name)
    overrides_shown = _shown(settings, settings.grade.overrides)
    overrides = read_overrides(settings.grade.overrides, overrides_shown)
    entries = collected["students"]
    check_overrides(name, a.tests, overrides, overrides_shown, set(entries))  # before any sandbox runs
    if student is not None and student not in entries:
        raise NbfleetError(f"grade:{name} --student {student}", f"{student} is not among the collected students of {name}")
    spath = state_path(settings, name)
    state = _load_state(spath)
    report = GradeReport(name)
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
        work = grades_dir(settings) / ".work" / name
        out = grades_dir(settings) / FEEDBACK / name
        client = local_engine()
        try:
            check_image(client, a.image["id"], settings.images.launch)
            label = f"{settings.course.tag}/{name}"
            report.leftovers = remove_leftovers(client, label)
            shutil.rmtree(work, ignore_errors=True)

            def one(item):
                sid, entry, fp = item
                try:
                    record, pages = grade_one(settings, a, sid, entry, submissions_dir(settings, name) / sid, work / sid,
                                              out / sid, client, label)
                except Exception as exc:  # noqa: BLE001 - the engine failing for one student must not stop the others
                    from .engine import short_error

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

            with ThreadPoolExecutor(max_workers=settings.grade.parallel) as pool:
                futures = [pool.submit(one, item) for item in todo]
                for done, future in enumerate(as_completed(futures), 1):
                    sid, record, pages = future.result()
                    report.graded.append(sid)
                    if progress:
                        progress(done, len(todo), sid)
        finally:
            client.close()
            shutil.rmtree(work, ignore_errors=True)
    write_json(spath, state)
    report.problems = {sid: r["problem"] for sid, r in sorted(state.items()) if r.get("problem")}
    report.table = assignment_table(name, state, a.tests, overrides)
    write_table(report.table, grades_dir(settings) / f"{name}.csv")
    write_table(gradebook(grades_dir(settings), assignments(settings)), grades_dir(settings) / "gradebook.csv")
    # feedback not delivered yet: this run's, and any an earlier run could not deliver (a host that was down)
    pending = {sid: {nb: Path(p) for nb, p in r["feedback"].items()} for sid, r in state.items()
               if r.get("feedback") and not r.get("delivered") and all(Path(p).is_file() for p in r["feedback"].values())}
    if pending:
        for sid in deliver_feedback(settings, name, pending, report):
            state[sid]["delivered"] = True
        write_json(spath, state)
    report.undelivered = sorted(sid for sid, r in state.items() if r.get("feedback") and not r.get("delivered"))
    again = again_path(settings, name)
    if report.failed or report.undelivered or left_for_later:
        again.touch()  # doit must run grade:<a> next time, even with nothing else changed
    else:
        again.unlink(missing_ok=True)
    return report


def again_path(settings, name: str) -> Path:
    """Present while ``grade:<a>`` has work left for its next run (see ``tasks.grade``)."""
    return grades_dir(settings) / ".state" / f"{name}.again"


def _shown(settings, path: Path) -> str:
    return str(path.relative_to(settings.root)) if path.is_relative_to(settings.root) else str(path)


def grade_one(settings, a: Assignment, sid: str, entry: dict, submitted: Path, work: Path, out: Path, client,
              label: str) -> tuple[dict, dict[str, Path]]:
    """Grade one student's submission in a sandbox: (their record, their feedback pages by notebook)."""
    from .assignment import read_notebook
    from .notebooks.grade_cells import Result, hide_hidden_tests, restore, score
    from .sandbox import run_submission

    record = {"late": bool(entry.get("late")), "tests": {}, "problem": None, "notes": [],
              "graded": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    restored, absent = {}, []
    try:
        for nb_name, teacher in a.notebooks.items():
            path = submitted / nb_name
            shown = f"build/submissions/{a.name}/{sid}/{nb_name}"
            if not path.is_file():
                absent.append(nb_name)
                continue
            try:
                nb, _ = read_notebook(path, shown, node=False)
            except RecursionError:
                raise NbfleetError(shown, "not a notebook: nested too deeply") from None
            restored[nb_name] = restore(teacher, nb, shown)
    except NbfleetError as exc:
        record["problem"] = str(exc)
        return record, {}
    try:
        folder = _prepare(work, submitted, a, restored)
    except OSError as exc:
        record["problem"] = f"build/submissions/{a.name}/{sid}: cannot copy it for the sandbox: {exc.strerror or exc}"
        return record, {}
    outcome = run_submission(client, a.image["id"], folder, work / "job", sorted(restored), _limits(settings),
                             (settings.teacher.uid, settings.teacher.gid), label)
    shutil.rmtree(work, ignore_errors=True)
    record["seconds"] = round(outcome.seconds, 3)  # the whole sandbox, from create to its answer
    record["run_seconds"] = round(sum(n.get("seconds", 0.0) for n in outcome.notebooks.values()), 3)  # the notebooks alone
    pages: dict[str, Path] = {}
    for nb_name, teacher in a.notebooks.items():
        if nb_name in absent:
            results = [Result(g.grade_id, 0.0, g.points, f"{nb_name} is not in the submission") for _, g in sorted(teacher.graded.items())]
            record["notes"].append(f"{nb_name}: not in the submission")
        else:
            r = restored[nb_name]
            got = outcome.notebooks.get(nb_name) or {}
            why = outcome.failure or got.get("error")
            record["notes"] += [f"{nb_name}: {n}" for n in r.notes]
            if got.get("error") and not outcome.failure:  # the image, not the student (a missing kernel): a person looks
                record["problem"] = f"{nb_name}: the sandbox could not run it: {got['error']}"
                results = [Result(g.grade_id, None, g.points, why) for _, g in sorted(teacher.graded.items())]
            elif why:
                results = [Result(g.grade_id, 0.0, g.points, why) for _, g in sorted(teacher.graded.items())]
                record["notes"].append(f"{nb_name}: {why}")
            else:
                notes = {int(k): v for k, v in (got.get("notes") or {}).items()}
                record["notes"] += [f"{nb_name}: cell {i + 1}: {n}" for i, n in sorted(notes.items())]
                shown = hide_hidden_tests(teacher, r, got["notebook"])
                results = score(teacher, r, shown, notes)
                pages[nb_name] = _write_feedback(out, a.name, sid, nb_name, shown, r, results, notes)
        for res in results:
            record["tests"][column(nb_name, res.grade_id)] = {"points": res.points, "max": res.max_points, "why": res.why}
    return record, pages


def _prepare(work: Path, submitted: Path, a: Assignment, restored: dict) -> Path:
    """The sandbox's copies: ``work/in``, the student's files (not the notebooks to grade) with the teacher's data
    files over them; ``work/job``, the restored notebooks (the runner deletes them before any kernel starts)."""
    from .assignment import notebook_bytes

    shutil.rmtree(work, ignore_errors=True)
    folder, job = work / "in", work / "job"
    shutil.copytree(submitted, folder, symlinks=False, ignore=lambda d, names: [
        n for n in names if (Path(d) / n).relative_to(submitted).as_posix() in a.notebooks])
    for rel, path in a.data.items():
        target = folder / rel
        for parent in reversed(target.relative_to(folder).parents):  # a file of the student's where a folder must be
            p = folder / parent
            if p.exists() and not p.is_dir():
                p.unlink()
        if target.is_dir():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    for nb_name, r in restored.items():
        (job / nb_name).parent.mkdir(parents=True, exist_ok=True)
        (job / nb_name).write_bytes(notebook_bytes(r.notebook))
    for p in [folder, *folder.rglob("*"), *job.rglob("*")]:  # the sandbox runs as the teacher's uid, maybe not ours
        p.chmod(0o755 if p.is_dir() else 0o644)
    for p in [job, *[d for d in job.rglob("*") if d.is_dir()]]:
        p.chmod(0o777)  # the runner must be able to delete the notebooks once read
    return folder


def _write_feedback(out: Path, assignment: str, sid: str, nb_name: str, executed: dict, r, results, notes) -> Path:
    from .atomic import write_text
    from .feedback import feedback_notebook, to_html

    page = out / page_name(nb_name)
    nb = feedback_notebook(f"{assignment}/{nb_name} ({sid})", executed, r.where, results, r.notes, notes)
    write_text(page, to_html(nb))
    return page


def deliver_feedback(settings, name: str, pages: dict[str, dict[str, Path]], report: GradeReport) -> set[str]:
    """Deliver each student's feedback pages into ``<their folder>/feedback/<a>/``, never over a file they changed;
    the students whose pages were delivered (those on a host that failed, or not on the roster, were not)."""
    from .classroom import reach
    from .delivery import deliver, student_ledger

    r = reach(settings)
    done = set(pages) - {s.id for s in r.students}  # no longer on the roster: nowhere to deliver to
    try:
        here = set(r.here)
        for sid in sorted(pages):
            if sid not in here:
                continue
            files = {f"{name}/{page_name(nb)}": path for nb, path in pages[sid].items()}
            got = deliver(settings, FEEDBACK, files, [sid], ledger_name=student_ledger(FEEDBACK, name, sid))
            report.feedback_conflicts += got.conflicts()
            done.add(sid)
        for host, ids in r.own.items():
            mine = [sid for sid in ids if sid in pages]
            if not mine or host.name in r.failed:
                continue
            files = {f"{sid}/{name}/{page_name(nb)}": path for sid in mine for nb, path in pages[sid].items()}
            job = {"do": "feedback", "assignment": name, "students": mine,
                   "files": {rel: _sha(p.read_bytes()) for rel, p in files.items()}}
            try:
                r.helpers[host.name].run(job, files=files)
            except NbfleetError as exc:
                report.feedback_failed[host.name] = str(exc)
                continue
            done.update(mine)
        report.feedback_failed.update({h: why for h, why in r.failures().items()
                                       if any(s.server == h and s.id in pages for s in r.students)})
    finally:
        r.close()
    return done

"""Grade one student's submission: the teacher's cells put back, the submission run in its sandbox, each test scored,
and the feedback page written."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from .. import paths
from ..assignments.notebook_file import notebook_bytes, read_notebook
from ..errors import NbfleetError
from ..fs import write_text
from .feedback import feedback_notebook, page_name, to_html
from .hidden import hide_hidden_tests
from .marked import FeedbackSource
from .restore import restore
from .sandbox import run_submission
from .score import Result, score
from .teacher import Assignment, column, limits


def grade_one(settings, a: Assignment, sid: str, entry: dict, submitted: Path, work: Path, out: Path, client,
              label: str) -> tuple[dict, dict[str, Path]]:
    """Grade one student's submission in a sandbox: (their record, their feedback pages by notebook)."""
    record = {"late": bool(entry.get("late")), "tests": {}, "problem": None, "notes": [],
              "graded": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    restored, absent = {}, []
    try:
        for nb_name, teacher in a.notebooks.items():
            path = submitted / nb_name
            shown = paths.shown(path, settings.root)
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
        record["problem"] = f"{paths.shown(submitted, settings.root)}: cannot copy it for the sandbox: {exc.strerror or exc}"
        return record, {}
    outcome = run_submission(client, a.image["id"], folder, work / "job", sorted(restored), limits(settings),
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
    page = out / page_name(nb_name)
    source = FeedbackSource(f"{assignment}/{nb_name} ({sid})", nb_name, executed, r.where, results, r.notes, notes)
    write_text(page, to_html(feedback_notebook(*source.page_args())))
    source.save(page)  # the page made again with a person's marks, without a sandbox (``grading.marked``)
    return page

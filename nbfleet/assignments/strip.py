"""The stripping step: course/solutions/<a>/ -> build/stripped/<a>/, the student version, checked by the leak guard.

A notebook is read, stripped (``notebooks.strip``), given its table of contents (``release.toc``), checked by the
leak guard against its own secrets, and only then written; any other file is copied byte for byte (and refused if it
holds solution markers). Then the guard checks the whole student version against every secret of the assignment and
records what it passed (``build/guard/<a>/guard.json``): ``doit release`` delivers exactly those files and bytes.
Every write is a temporary file renamed into place, so a reader never sees half a file.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from .. import paths
from ..errors import NbfleetError
from ..fs import copy_file, write_bytes
from .files import student_files
from .notebook_file import notebook_bytes, read_notebook
from .notebooks import guard
from .notebooks.strip import strip_notebook
from .notebooks.toc import refresh_toc

_MARKERS = (b"begin solution", b"end solution", b"begin hidden tests", b"end hidden tests")


def _refuse_markers(source: Path, shown: str) -> None:
    """A file that is not a notebook is copied as it is, so solution markers in it would release the solution."""
    with open(source, "rb") as fh:
        for number, line in enumerate(fh, 1):
            if any(marker in line.lower() for marker in _MARKERS):
                raise NbfleetError(f"{shown}:{number}", "solution markers in a file that is not a notebook: it would be "
                                   "released as it is (move the solution into a notebook, or mark the file teacher-only)")


def strip_file(settings, assignment: str, name: str, source: Path | None = None) -> list[str]:
    """Write the student version of one file (``name`` in build/stripped/<a>/); returns notes to show.

    A notebook is read, stripped, given its table of contents (if ``release.toc``), checked by the leak guard
    against its own secrets, and only then written. Anything else is copied as is. On any error nothing is written
    and a previously released version of this file is removed, so that it cannot be delivered by mistake.
    """
    if source is None:
        source = student_files(settings, assignment)[name]
    target = paths.stripped(settings, assignment) / name
    record = paths.secrets_record(settings, assignment, name)
    shown = paths.shown(source, settings.root)
    try:
        if not source.name.lower().endswith(".ipynb"):
            _refuse_markers(source, shown)
            copy_file(source, target)
            write_bytes(record, _record(name, shown, [], ""), mode=0o600, durable=False)
            return []
        nb, notes = read_notebook(source, shown, node=False)
        stripped = strip_notebook(nb, shown)
        student = refresh_toc(stripped.notebook) if settings.release.toc else stripped.notebook
        leaks = guard.leaks_in_notebook(student, stripped.secrets)
        if leaks:
            raise NbfleetError(f"{shown}", f"solution line {leaks[0].line!r} would be released in {leaks[0].place}")
        data = notebook_bytes(student)
        write_bytes(record, _record(name, shown, sorted(stripped.region_lines), stripped.public), mode=0o600, durable=False)
        write_bytes(target, data, durable=False)
        return notes
    except BaseException:
        target.unlink(missing_ok=True)
        record.unlink(missing_ok=True)
        raise


def guard_assignment(settings, assignment: str) -> dict:
    """The leak guard over the whole ``build/stripped/<a>/``: every file against every secret of the assignment.

    Removes files that are no longer released (source deleted, renamed or made teacher-only). On a leak, removes the
    leaking files and raises NbfleetError naming the file, the place and the line. Returns a summary (files checked
    with their sha256, number of secrets) that is also written to build/guard/<a>/guard.json.
    """
    files = student_files(settings, assignment)
    out_dir = paths.stripped(settings, assignment)
    _prune(out_dir, set(files))
    region_lines: set[str] = set()
    public: list[str] = []
    for name in files:
        record = paths.secrets_record(settings, assignment, name)
        if not record.is_file() or not (out_dir / name).is_file():
            raise NbfleetError(str(out_dir / name), "not stripped yet: run `doit strip` first")
        data = json.loads(record.read_text(encoding="utf-8"))
        region_lines.update(data["region_lines"])
        public.append(data["public"])
    secrets = guard.secrets_from(region_lines, "\n".join(public))
    checked = {}
    leaking = []
    for name in files:
        path = out_dir / name
        data = path.read_bytes()
        if name.endswith(".ipynb"):
            leaks = guard.leaks_in_notebook(json.loads(data), secrets)
        else:
            leaks = guard.leaks_in_bytes(data, secrets)
        if leaks:
            leaking.append((name, leaks[0]))
        checked[name] = hashlib.sha256(data).hexdigest()
    if leaking:
        for name, _leak in leaking:
            (out_dir / name).unlink(missing_ok=True)
            paths.secrets_record(settings, assignment, name).unlink(missing_ok=True)
        name, leak = leaking[0]
        more = f" (and {len(leaking) - 1} more file(s))" if len(leaking) > 1 else ""
        raise NbfleetError(
            paths.shown(files[name], settings.root),
            f"solution line {leak.line!r} would be released in {name} ({leak.place}){more}; nothing of it was released",
        )
    summary = {"assignment": assignment, "secrets": len(secrets), "files": checked}
    write_bytes(paths.guard_record(settings, assignment), json.dumps(summary, indent=1, sort_keys=True).encode())
    for folder in paths.retired(settings, assignment):
        shutil.rmtree(folder, ignore_errors=True)
    return summary


def _prune(out_dir: Path, keep: set[str]) -> None:
    """Remove files under ``out_dir`` that are not (or no longer) released, and folders left empty."""
    if not out_dir.is_dir():
        return
    for path in sorted(out_dir.rglob("*"), reverse=True):
        relative = path.relative_to(out_dir).as_posix()
        if path.is_dir() and not path.is_symlink():
            if not any(path.iterdir()):
                path.rmdir()
        elif relative not in keep:
            path.unlink()


def _record(name: str, shown: str, region_lines: list[str], public: str) -> bytes:
    return json.dumps({"name": name, "source": shown, "region_lines": region_lines, "public": public}).encode("utf-8")


def stripped_files(settings, assignment: str) -> tuple[dict[str, Path], dict[str, str]]:
    """What the stripping step passed: the student version's files (name -> ``build/stripped/<a>/<name>``) and the
    sha256 the leak guard checked of each; NbfleetError when ``doit strip:<a>`` has not run since they changed."""
    folder = paths.stripped(settings, assignment)
    files = {name: folder / name for name in student_files(settings, assignment)}
    record = paths.guard_record(settings, assignment)
    try:
        guarded = json.loads(record.read_bytes())["files"]
    except (OSError, ValueError, KeyError, TypeError):
        raise NbfleetError(str(record), f"no leak guard record: run `doit strip:{assignment}` first") from None
    for path in files.values():
        if not path.is_file():
            raise NbfleetError(str(path), f"not released yet: run `doit strip:{assignment}` first")
    return files, guarded

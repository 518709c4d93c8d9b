"""Which files of an assignment students get, under what name, and writing each released file safely.

``course/solutions/<a>/`` is the teacher's source; ``build/release/<a>/`` is what students get:
- ``<name>-solutions.ipynb`` is released as ``<name>.ipynb`` (the Twente convention); other notebooks keep their name;
- files matching ``release.teacher_only`` patterns (course.toml) and hidden files/folders (``.ipynb_checkpoints``…)
  are never released;
- a symlink is followed only if it stays inside the course repository; one leaving it is an error;
- any other file (data, images, binaries) is copied byte for byte;
- every write is a temporary file renamed into place, so a reader never sees half a file.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
from pathlib import Path, PurePosixPath

from .atomic import copy_file, write_bytes
from .errors import NbfleetError

SOLUTIONS_SUFFIX = "-solutions.ipynb"
GUARD_FILE = "guard.json"


def assignments(settings) -> list[str]:
    """Folder names under the solutions folder, sorted (hidden folders are not assignments)."""
    root = Path(settings.solutions_dir)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def release_dir(settings, assignment: str) -> Path:
    """Where the student version of ``assignment`` is written: ``build/release/<assignment>``."""
    return Path(settings.build_dir) / "release" / assignment


def strip_dir(settings, assignment: str) -> Path:
    """Where the leak guard keeps what it needs per released file (teacher-only, never delivered)."""
    return Path(settings.build_dir) / "strip" / assignment


def source_dir(settings, assignment: str) -> Path:
    return Path(settings.solutions_dir) / assignment


def released_name(relative: str) -> str:
    """The student-facing name of a source file: ``…-solutions.ipynb`` -> ``….ipynb``, others unchanged."""
    if relative.endswith(SOLUTIONS_SUFFIX):
        return relative[: -len(SOLUTIONS_SUFFIX)] + ".ipynb"
    return relative


def is_teacher_only(relative: str, patterns) -> bool:
    """True if a teacher-only pattern matches ``relative`` (a path inside the assignment folder), as .gitignore does.

    A pattern without ``/`` matches a file or folder name at any depth (``*.key``, ``answers``); a pattern with
    ``/`` matches the path from the assignment folder (``grading/*``). A matching folder hides all it holds.
    """
    parts = PurePosixPath(relative).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        pat = pattern.strip("/")
        if "/" in pat:
            if any(fnmatch.fnmatchcase(p, pat) for p in prefixes):
                return True
        elif any(fnmatch.fnmatchcase(name, pat) for name in parts):
            return True
    return False


def released_files(settings, assignment: str) -> dict[str, Path]:
    """Student-facing relative path in build/release/<a>/ -> source file in course/solutions/<a>/. Cheap (no parsing).

    NbfleetError naming the folder if the assignment does not exist; NbfleetError for a symlink leaving the course,
    a dangling symlink, or two source files that would be released under the same name.
    """
    top = source_dir(settings, assignment)
    if not top.is_dir():
        known = ", ".join(assignments(settings)) or "none"
        raise NbfleetError(str(top), f"no such assignment folder (assignments: {known})")
    # Symlinks may point into the course material (course/shared/…) but never at the rest of the repository:
    # its roster holds passwords, build/ holds invitations, students/ holds other students' work.
    course = Path(settings.solutions_dir).resolve().parent
    if course == Path(settings.root).resolve():
        course = Path(settings.solutions_dir).resolve()
    patterns = tuple(settings.release.teacher_only)
    out: dict[str, Path] = {}
    seen_dirs: set[Path] = set()

    def walk(folder: Path, prefix: str) -> None:
        real = folder.resolve()
        if real in seen_dirs:
            return  # a symlink loop inside the course: each folder once
        seen_dirs.add(real)
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            if entry.name.startswith("."):
                continue
            relative = f"{prefix}{entry.name}"
            if is_teacher_only(relative, patterns):
                continue
            path = Path(entry.path)
            if entry.is_symlink():
                target = path.resolve()
                if not target.exists():
                    raise NbfleetError(str(path), f"symlink to {os.readlink(path)!r}, which does not exist")
                if not target.is_relative_to(course):
                    raise NbfleetError(str(path), f"symlink to {target}, outside the course material folder {course}: copy the file in instead")
            if path.is_dir():
                walk(path, relative + "/")
            elif path.is_file():
                name = released_name(relative)
                if name in out:
                    raise NbfleetError(str(path), f"released as {name!r}, like {out[name]}: rename one of them")
                out[name] = path

    walk(top, "")
    return dict(sorted(out.items()))


def secrets_file(settings, assignment: str, name: str) -> Path:
    """The guard's record for one released file: its secret lines and its public text (teacher-only)."""
    return strip_dir(settings, assignment) / f"{name}.secrets.json"


def read_notebook(path: Path, shown: str, node: bool = True):
    """Read a notebook file as nbformat v4: ``(notebook, notes)``; NbfleetError naming file/line/column if it is bad.

    nbformat v3 notebooks are upgraded to v4 (said in the notes); older or newer major versions are refused.
    The notebook is an nbformat ``NotebookNode``, or with ``node=False`` the same data as plain dicts (cheaper).
    """
    import nbformat

    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NbfleetError(shown, f"not UTF-8 text (byte {exc.start}): a notebook is a JSON file") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NbfleetError(f"{shown}:{exc.lineno}:{exc.colno}", f"not valid JSON: {exc.msg}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("nbformat"), int):
        raise NbfleetError(shown, "not a Jupyter notebook (no integer 'nbformat' field at the top)")
    notes = []
    major = raw["nbformat"]
    if major == 3:
        notes.append(f"{shown}: nbformat v3 notebook upgraded to v4 for the release (the source is not changed)")
    elif major != 4:
        raise NbfleetError(shown, f"nbformat v{major} is not supported: nbfleet reads v4 (and upgrades v3)")
    try:
        if major == 3:
            nb = nbformat.reads(text, as_version=4, capture_validation_error={})
            for i, cell in enumerate(nb.cells):
                cell["id"] = f"cell-{i + 1}"  # the upgrade invents random ids; stable ones keep the release reproducible
            nbformat.validate(nb)
        else:
            from nbformat.v4.rwbase import rejoin_lines

            if raw.get("nbformat_minor", 0) >= 5:
                # nbformat would invent random ids (and warn); stable ones keep the release byte-identical
                for i, cell in enumerate(raw.get("cells") or []):
                    if isinstance(cell, dict) and "id" not in cell:
                        cell["id"] = f"cell-{i + 1}"
            nbformat.validate(raw)
            if node:
                nb = rejoin_lines(nbformat.from_dict(raw))
            else:
                nb = raw
                for cell in raw.get("cells", []):
                    if isinstance(cell.get("source"), list):
                        cell["source"] = "".join(cell["source"])
    except nbformat.ValidationError as exc:
        at = "/".join(str(p) for p in exc.absolute_path) or "top level"
        message = str(exc.message).splitlines()[0]
        raise NbfleetError(shown, f"not a valid nbformat v4 notebook at {at}: {message}") from None
    except Exception as exc:  # nbformat's readers raise many kinds for malformed documents
        raise NbfleetError(shown, f"not a valid notebook: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    return nb, notes


_MARKERS = (b"begin solution", b"end solution", b"begin hidden tests", b"end hidden tests")


def _refuse_markers(source: Path, shown: str) -> None:
    """A file that is not a notebook is copied as it is, so solution markers in it would release the solution."""
    with open(source, "rb") as fh:
        for number, line in enumerate(fh, 1):
            if any(marker in line.lower() for marker in _MARKERS):
                raise NbfleetError(f"{shown}:{number}", "solution markers in a file that is not a notebook: it would be "
                                   "released as it is (move the solution into a notebook, or mark the file teacher-only)")


def release_file(settings, assignment: str, name: str, source: Path | None = None) -> list[str]:
    """Write the student version of one released file (``name`` in build/release/<a>/); returns notes to show.

    A notebook is read, stripped, given its table of contents (if ``release.toc``), checked by the leak guard
    against its own secrets, and only then written. Anything else is copied as is. On any error nothing is written
    and a previously released version of this file is removed, so that it cannot be delivered by mistake.
    """
    from .notebooks import guard
    from .notebooks.strip import strip_notebook
    from .notebooks.toc import refresh_toc

    if source is None:
        source = released_files(settings, assignment)[name]
    target = release_dir(settings, assignment) / name
    record = secrets_file(settings, assignment, name)
    shown = _shown(settings, source)
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


def notebook_bytes(nb: dict) -> bytes:
    """A notebook as Jupyter writes it (sorted keys, indent 1, sources as lists of lines, UTF-8, final newline)."""
    cells = []
    for cell in nb.get("cells", []):
        cell = dict(cell)
        if isinstance(cell.get("source"), str):
            cell["source"] = cell["source"].splitlines(keepends=True)
        cells.append(cell)
    data = {**nb, "cells": cells}
    return (json.dumps(data, sort_keys=True, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def guard_release(settings, assignment: str) -> dict:
    """The leak guard over the whole ``build/release/<a>/``: every released file against every secret of the assignment.

    Removes released files that are no longer released (source deleted, renamed or made teacher-only). On a leak,
    removes the leaking files and raises NbfleetError naming the file, the place and the line. Returns a summary
    (files checked with their sha256, number of secrets) that is also written to build/strip/<a>/guard.json.
    """
    from .notebooks import guard

    files = released_files(settings, assignment)
    out_dir = release_dir(settings, assignment)
    _prune(out_dir, set(files))
    region_lines: set[str] = set()
    public: list[str] = []
    for name in files:
        record = secrets_file(settings, assignment, name)
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
            secrets_file(settings, assignment, name).unlink(missing_ok=True)
        name, leak = leaking[0]
        more = f" (and {len(leaking) - 1} more file(s))" if len(leaking) > 1 else ""
        raise NbfleetError(
            _shown(settings, files[name]),
            f"solution line {leak.line!r} would be released in {name} ({leak.place}){more}; nothing of it was released",
        )
    summary = {"assignment": assignment, "secrets": len(secrets), "files": checked}
    write_bytes(strip_dir(settings, assignment) / GUARD_FILE, json.dumps(summary, indent=1, sort_keys=True).encode())
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


def _shown(settings, path: Path) -> str:
    """A path as the teacher knows it: relative to the course repository when inside it."""
    try:
        return str(Path(path).relative_to(settings.root))
    except ValueError:
        return str(path)

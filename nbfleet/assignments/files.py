"""Which assignments there are, which files of each students get, and under what name (cheap: no file is parsed).

``course/solutions/<a>/`` is the teacher's source of assignment ``<a>``:
- ``<name>-solutions.ipynb`` is released as ``<name>.ipynb`` (the Twente convention); other notebooks keep their name;
- files matching ``release.teacher_only`` patterns (course.toml) and hidden files/folders (``.ipynb_checkpoints``…)
  are never released;
- a symlink is followed only if it stays inside the course material; one leaving it is an error.
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path, PurePosixPath

from ..errors import NbfleetError

SOLUTIONS_SUFFIX = "-solutions.ipynb"


def assignments(settings) -> list[str]:
    """Folder names under the solutions folder, sorted (hidden folders are not assignments)."""
    root = Path(settings.solutions_dir)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def source_folder(settings, assignment: str) -> Path:
    """The teacher's folder of ``assignment``; the one error for an assignment that does not exist."""
    folder = Path(settings.solutions_dir) / assignment
    if not folder.is_dir():
        known = ", ".join(assignments(settings)) or "none"
        raise NbfleetError(str(folder), f"no such assignment folder (assignments: {known})")
    return folder


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


def student_files(settings, assignment: str) -> dict[str, Path]:
    """The files students get: their name (a relative path) -> the source file in course/solutions/<a>/.

    NbfleetError naming the folder if the assignment does not exist; NbfleetError for a symlink leaving the course,
    a dangling symlink, or two source files that would be released under the same name.
    """
    top = source_folder(settings, assignment)
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

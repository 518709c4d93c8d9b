"""Collect an assignment: snapshot every student's folder for it into ``build/submissions/<a>/<id>/``.

Never modifies a student folder: files are opened read-only, relative to directory descriptors, with
``O_NOFOLLOW`` (a symlink a student planted is recorded as skipped, never followed out of their folder),
``O_NONBLOCK`` (a FIFO cannot hang the collect) and ``O_NOATIME`` where allowed (not even access times move).
Jupyter's ``.ipynb_checkpoints`` folders and nbfleet's own temporary files are not collected.

``build/submissions/<a>/_manifest.json`` (student ids never start with ``_``) says, per student, every file
collected with its sha256, size and modification time, whether it is still exactly a released version (not the
student's work), the time of the student's last change, and whether that change came after the assignment's
deadline (``[collect] deadlines`` in ``course.toml``). Each student's snapshot replaces the previous one only
when complete (built in a temporary folder, then renamed into place).
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import json
import os
import secrets
import shutil
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .. import paths
from ..errors import NbfleetError
from ..fs import PARTIAL, READ_FLAGS, Unsafe, open_dir, write_bytes
from .deliver.apply import check_students
from .deliver.ledger import ledger_path, load_ledger

MANIFEST = "_manifest.json"
SKIP_DIRS = {".ipynb_checkpoints"}
_NOATIME = getattr(os, "O_NOATIME", 0)
CHUNK = 1 << 20


def is_late(modified: Iterable[dt.datetime], deadline: dt.datetime | None) -> bool:
    """Late when any of the student's own changes (``modified``) is after the deadline (pure)."""
    return deadline is not None and any(when > deadline for when in modified)


def _iso(ns: int) -> str:
    return dt.datetime.fromtimestamp(ns / 1e9, dt.UTC).isoformat(timespec="microseconds")


@dataclass
class Submission:
    """One student's collected folder."""

    student: str
    files: dict[str, dict] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    missing: bool = False
    late: bool = False
    last_change: str | None = None

    def as_dict(self) -> dict:
        return {
            "missing": self.missing,
            "late": self.late,
            "last_change": self.last_change,
            "files": self.files,
            "skipped": self.skipped,
        }

    @property
    def changed(self) -> int:
        """Number of files that are the student's work (not an untouched released version)."""
        return sum(1 for f in self.files.values() if not f["released"])


@dataclass
class CollectReport:
    assignment: str
    deadline: dt.datetime | None
    submissions: list[Submission] = field(default_factory=list)
    failed_hosts: dict[str, str] = field(default_factory=dict)  # host -> why its students were not collected

    def summary(self) -> str:
        n = len(self.submissions)
        missing = sum(s.missing for s in self.submissions)
        late = sum(s.late for s in self.submissions)
        files = sum(len(s.files) for s in self.submissions)
        hosts = f"; {len(self.failed_hosts)} host(s) failed" if self.failed_hosts else ""
        return f"{self.assignment}: {n} students, {files} files collected, {missing} without a folder, {late} late{hosts}"


def collect(settings, assignment: str, students: Iterable[str], *, progress=None, write_manifest: bool = True) -> CollectReport:
    """Snapshot ``students/<id>/<assignment>/`` for every student into ``build/submissions/<assignment>/<id>/``.

    ``write_manifest=False`` leaves ``_manifest.json`` to the caller (who merges the students of several hosts).
    """
    students = list(students)
    check_students(students)
    deadline = settings.collect.deadlines.get(assignment)
    versions = {name: set(v) for name, v in load_ledger(ledger_path(settings, assignment))["versions"].items()}
    versions[None] = set().union(*versions.values()) if versions else set()  # every released version, any name
    dest = paths.submissions(settings, assignment)
    dest.mkdir(parents=True, exist_ok=True)
    for leftover in dest.glob(".partial-*"):  # from a killed collect
        shutil.rmtree(leftover, ignore_errors=True)
    report = CollectReport(assignment, deadline)
    students_dir = Path(settings.students_dir)
    root_fd = os.open(students_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC) if students_dir.is_dir() else None
    try:
        for i, sid in enumerate(students):
            report.submissions.append(_collect_one(root_fd, sid, assignment, dest, versions, deadline))
            if progress:
                progress(i + 1, len(students))
    finally:
        if root_fd is not None:
            os.close(root_fd)
    if write_manifest:
        write_collect_manifest(dest, report)
    return report


def write_collect_manifest(dest: Path, report: CollectReport) -> None:
    """``<dest>/_manifest.json``: every student's files, hashes, last change and late flag."""
    manifest = {
        "assignment": report.assignment,
        "collected": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "deadline": report.deadline.isoformat() if report.deadline else None,
        "students": {s.student: s.as_dict() for s in report.submissions},
    }
    write_bytes(dest / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True).encode())


def _collect_one(root_fd, sid: str, assignment: str, dest: Path, versions, deadline) -> Submission:
    sub = Submission(sid)
    fds = []
    try:
        if root_fd is None:
            raise FileNotFoundError
        fds.append(open_dir(root_fd, sid, False, None))
        fds.append(open_dir(fds[-1], assignment, False, None))
    except FileNotFoundError:
        sub.missing = True
    except Unsafe as exc:
        sub.missing = True
        sub.skipped["."] = str(exc)
    if not sub.missing:
        tmp = dest / f".partial-{sid}-{secrets.token_hex(4)}"
        tmp.mkdir()
        try:
            _copy_tree(fds[-1], "", tmp, sub, versions)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        finally:
            for fd in fds:
                os.close(fd)
        fds = []
        swap_in(tmp, dest / sid)
        own = [f["mtime_ns"] for f in sub.files.values() if not f["released"]]
        sub.last_change = _iso(max(own)) if own else None
        sub.late = is_late((dt.datetime.fromtimestamp(ns / 1e9, dt.UTC) for ns in own), deadline)
        for f in sub.files.values():
            f["mtime"] = _iso(f.pop("mtime_ns"))
    for fd in fds:
        os.close(fd)
    return sub


def swap_in(tmp: Path, final: Path) -> None:
    """Replace ``final`` (a previous snapshot, if any) by the complete snapshot ``tmp``."""
    if final.exists():
        old = final.with_name(f".partial-old-{final.name}-{secrets.token_hex(4)}")
        final.rename(old)
        tmp.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(final)


def _copy_tree(dir_fd: int, rel: str, out: Path, sub: Submission, versions) -> None:
    """Copy the regular files below ``dir_fd`` into ``out``, recording each; never follow a link."""
    with os.scandir(dir_fd) as it:
        entries = sorted(it, key=lambda e: e.name)
    for e in entries:
        path = f"{rel}{e.name}"
        if e.is_dir(follow_symlinks=False):
            if e.name in SKIP_DIRS:
                continue
            try:
                sub_fd = open_dir(dir_fd, e.name, False, None)
            except (Unsafe, FileNotFoundError) as exc:
                sub.skipped[path] = str(exc) or "gone"
                continue
            try:
                (out / e.name).mkdir()
                _copy_tree(sub_fd, f"{path}/", out / e.name, sub, versions)
            finally:
                os.close(sub_fd)
        elif e.is_symlink():
            sub.skipped[path] = "symlink (not followed)"
        elif not e.is_file(follow_symlinks=False):
            sub.skipped[path] = "not a regular file"
        elif e.name.startswith(PARTIAL):
            continue
        else:
            entry = _copy_file(dir_fd, e.name, out / e.name)
            if entry is None:
                sub.skipped[path] = "not a regular file"
                continue
            # any released version counts, also under another name: nbfleet's own copies beside a conflict
            # (problem1.released-2.ipynb) are not the student's work
            entry["released"] = entry["sha256"] in versions.get(path, ()) or entry["sha256"] in versions[None]
            sub.files[path] = entry


def _open_read(dir_fd: int, name: str) -> int:
    if _NOATIME:
        try:
            return os.open(name, READ_FLAGS | _NOATIME, dir_fd=dir_fd)
        except PermissionError:  # O_NOATIME needs ownership or CAP_FOWNER
            pass
    return os.open(name, READ_FLAGS, dir_fd=dir_fd)


def _copy_file(dir_fd: int, name: str, out: Path) -> dict | None:
    try:
        fd = _open_read(dir_fd, name)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENXIO):
            return None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None
        h = hashlib.sha256()
        size = 0
        with open(out, "wb") as dst:
            while chunk := os.read(fd, CHUNK):
                h.update(chunk)
                dst.write(chunk)
                size += len(chunk)
            dst.flush()
            os.utime(dst.fileno(), ns=(st.st_mtime_ns, st.st_mtime_ns))
    finally:
        os.close(fd)
    return {"sha256": h.hexdigest(), "size": size, "mtime_ns": st.st_mtime_ns}


def read_collected(settings, assignment: str) -> dict:
    """The collect's manifest, ``build/submissions/<a>/_manifest.json``; NbfleetError when ``assignment`` was not
    collected."""
    path = paths.submissions(settings, assignment) / MANIFEST
    shown = paths.shown(path, settings.root)
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise NbfleetError(shown, f"{assignment} was not collected: run `doit collect:{assignment}` first") from None
    except ValueError as exc:
        raise NbfleetError(shown, f"not valid JSON ({exc}): run `doit collect:{assignment}` again") from None
    if not isinstance(data.get("students"), dict):
        raise NbfleetError(shown, f"no students in it: run `doit collect:{assignment}` again")
    return data

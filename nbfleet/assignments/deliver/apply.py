"""The delivery itself: each student's copy of each file looked at safely, decided on (``decide``), written through a
temporary file, made durable once per batch of students, committed, and recorded in the ledger (see the package)."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import re
import secrets
import stat
import time
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from ...errors import NbfleetError
from ...fs import (
    FILE_MODE,
    NEW_FLAGS,
    PARTIAL,
    READ_FLAGS,
    Unsafe,
    clean_partials,
    copy_into,
    has_syncfs,
    open_dir,
    own,
    syncfs,
    write_all,
)
from .decide import NOT_A_FILE, WRITES, Action, Decision, Report, beside_name, decide, plan_file, record_version, revision_of
from .ledger import ensure_ledger_dir, ledger_path, load_ledger, write_ledger

SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
RACY_NS = 2_000_000_000  # a stat fingerprint younger than this is not trusted (see the package docstring)
BATCH = 64  # students per write-sync-commit round


def teacher_owner(settings) -> tuple[int, int] | None:
    """(uid, gid) to give written files: the teacher's, when we can chown (root); None otherwise (we are the owner)."""
    if os.geteuid() != 0:
        return None
    return settings.teacher.uid, settings.teacher.gid


def fingerprint(st: os.stat_result) -> list[int]:
    """What must stay equal for a file's content to be known without reading it (inode, size, mtime, ctime)."""
    return [st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def trusted(fp: list[int], now_ns: int) -> bool:
    """Whether a fingerprint taken at ``now_ns`` may be cached: its ctime must be older than RACY_NS (pure)."""
    return fp[3] < now_ns - RACY_NS


def file_state(dir_fd: int, name: str, cached: list | None, now_ns: int) -> tuple[str | None, list[int] | None, list | None]:
    """(state, fingerprint, cache entry) of file ``name`` in ``dir_fd``; never follows a symlink, never blocks.

    state is a hash, None (absent) or NOT_A_FILE. The cache entry (fingerprint + hash) is reused when the
    fingerprint still matches and returned new only when it may be trusted (see ``trusted``).
    """
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None, None, None
    if not stat.S_ISREG(st.st_mode):
        return NOT_A_FILE, None, None
    fp = fingerprint(st)
    if cached and cached[:4] == fp:
        return cached[4], fp, cached
    try:
        fd = os.open(name, READ_FLAGS, dir_fd=dir_fd)
    except FileNotFoundError:
        return None, None, None
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENXIO):
            return NOT_A_FILE, None, None
        raise
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return NOT_A_FILE, None, None
        digest = hashlib.file_digest(f, "sha256").hexdigest()
    fp = fingerprint(st)
    return digest, fp, ([*fp, digest] if trusted(fp, now_ns) else None)


class Released(NamedTuple):
    """One released file, read once: its hash, its bytes (or its path when large), its revision."""

    name: str
    path: Path
    digest: str
    revision: int
    data: bytes | None
    versions: frozenset = frozenset()  # every version of this file ever released

    def write_to(self, fd: int) -> None:
        if self.data is not None:
            write_all(fd, self.data)
            return
        with open(self.path, "rb") as src:
            copy_into(fd, src)


class Pending(NamedTuple):
    """A temporary file written and waiting to be committed under its final name."""

    decision: Decision
    dir_fd: int
    tmp: str
    final: str  # base name in dir_fd
    replace_fp: list[int] | None  # None: the final name must not exist (link); else: rename over this file


class _Student:
    """Descriptors of one student's folders, opened on demand without following symlinks, closed at the end.

    Folders are created only when a file must be written into them: a folder the student deleted, with all
    the files in it, does not come back (empty) unless a file does.
    """

    def __init__(self, root_fd: int, sid: str, assignment: str, owner):
        self.root_fd, self.sid, self.assignment, self.owner = root_fd, sid, assignment, owner
        self.student_fd = -1
        self.fds: dict[str, int] = {}  # "" is the assignment folder, "data" a sub-folder of it…

    def folder(self, rel: str, create: bool = False) -> int:
        """Descriptor of sub-folder ``rel`` of the assignment folder; -1 if it is missing and not ``create``.

        Raises Unsafe if a part of the path is a symlink or not a folder.
        """
        if rel in self.fds:
            return self.fds[rel]
        if rel == "":
            if self.student_fd < 0:
                try:
                    self.student_fd = open_dir(self.root_fd, self.sid, create, self.owner)
                except FileNotFoundError:
                    return -1
            parent, name = self.student_fd, self.assignment
        else:
            head, _, name = rel.rpartition("/")
            parent = self.folder(head, create)
        if parent < 0:
            return -1
        try:
            fd = open_dir(parent, name, create, self.owner)
        except FileNotFoundError:
            return -1
        self.fds[rel] = fd
        clean_partials(fd)
        return fd

    def close(self) -> None:
        for fd in [*self.fds.values(), self.student_fd]:
            if fd >= 0:
                os.close(fd)
        self.fds.clear()
        self.student_fd = -1


def _split(name: str) -> tuple[str, str]:
    p = PurePosixPath(name)
    return ("" if str(p.parent) == "." else str(p.parent)), p.name


def check_names(names: Iterable[str], where: str) -> None:
    """Released names must be plain relative paths (no absolute path, no ``..``, no empty part)."""
    for name in names:
        parts = name.split("/")
        if name.startswith("/") or any(p in ("", ".", "..") for p in parts) or "\0" in name:
            raise NbfleetError(where, f"{name!r} is not a plain relative file name")
        if any(p.startswith(PARTIAL) for p in parts):
            raise NbfleetError(where, f"{name!r}: names starting with {PARTIAL!r} are reserved for nbfleet")


def check_students(students: Iterable[str]) -> None:
    """Student ids become folder names: they must be safe names."""
    for sid in students:
        if not SAFE_ID.match(sid) or ".." in sid:
            raise NbfleetError("roster", f"student id {sid!r} is not a safe folder name")


def deliver(
    settings,
    assignment: str,
    files: Mapping[str, Path],
    students: Iterable[str],
    *,
    restore: bool = False,
    guarded: Mapping[str, str] | None = None,
    progress=None,
    ledger_name: str | None = None,
) -> Report:
    """Deliver ``files`` (released name -> released file) of ``assignment`` to every student in ``students``.

    Never changes a file a student changed or deleted (a deleted one comes back only with ``restore``); see the
    module docstring for the rules and the safety measures. ``guarded`` (name -> sha256 the leak guard checked),
    when given, must match every file read: nothing the guard has not passed reaches a student.
    ``progress(done, total)`` is called after each batch. ``ledger_name`` (default: the assignment) names the
    ledger, for files that differ per student (their feedback): one ledger per student keeps each one's versions.
    """
    students = list(students)
    check_students(students)
    check_names(files, str(settings.solutions_dir / assignment))
    owner = teacher_owner(settings)
    students_dir = Path(settings.students_dir)
    students_dir.mkdir(parents=True, exist_ok=True)
    lpath = ledger_path(settings, ledger_name or assignment)
    ensure_ledger_dir(lpath.parent, owner)
    report = Report(assignment)

    lock = os.open(lpath.with_suffix(".lock"), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, FILE_MODE)
    try:
        own(lock, owner, FILE_MODE)
        fcntl.flock(lock, fcntl.LOCK_EX)  # one delivery of an assignment at a time
        for leftover in lpath.parent.glob(f"{PARTIAL}{lpath.name}.*"):  # a ledger write a kill interrupted
            leftover.unlink(missing_ok=True)
        ledger = load_ledger(lpath)
        released = {}
        for name, path in sorted(files.items()):
            try:
                data = Path(path).read_bytes() if Path(path).stat().st_size <= 32 << 20 else None
            except OSError as exc:
                raise NbfleetError(str(path), f"cannot read the released file: {exc.strerror}") from None
            digest = hashlib.sha256(data).hexdigest() if data is not None else _hash_path(Path(path))
            if guarded is not None and guarded.get(name) != digest:
                raise NbfleetError(str(path), f"not the version the leak guard passed: run `doit strip:{assignment}` first")
            versions = ledger["versions"][name] = record_version(ledger["versions"].get(name, []), digest)
            released[name] = Released(name, Path(path), digest, revision_of(versions, digest), data, frozenset(versions))
        ledger["assignment"] = assignment

        root_fd = os.open(students_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            for start in range(0, len(students), BATCH):
                batch = students[start : start + BATCH]
                _deliver_batch(root_fd, batch, assignment, released, ledger, owner, restore, report)
                write_ledger(lpath, ledger, owner)
                if progress:
                    progress(min(start + BATCH, len(students)), len(students))
            if not students:
                write_ledger(lpath, ledger, owner)
        finally:
            os.close(root_fd)
    finally:
        os.close(lock)  # releases the flock
    return report


def _hash_path(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _deliver_batch(root_fd, batch, assignment, released, ledger, owner, restore, report: Report) -> None:
    """Plan and write temporaries for a batch of students, sync once, commit, sync again, update the ledger."""
    now_ns = time.time_ns()
    opened: list[_Student] = []
    pending: list[Pending] = []
    outcomes: dict[tuple[str, str], Decision] = {}
    seen: dict[tuple[str, str], list | None] = {}
    try:
        for sid in batch:
            entries = ledger["students"].setdefault(sid, {})
            student = _Student(root_fd, sid, assignment, owner)
            opened.append(student)
            try:
                student.folder("")
            except Unsafe as exc:
                report.blocked_students[sid] = str(exc)
                for name, rel in released.items():
                    report.decisions.append(Decision(sid, name, Action.BLOCKED, rel.revision, note=str(exc)))
                continue
            for name, rel in released.items():
                folder, base = _split(name)
                entry = entries.get(name, {})
                try:
                    dfd = student.folder(folder)
                    state, fp, cache = file_state(dfd, base, entry.get("seen"), now_ns) if dfd >= 0 else (None, None, None)
                    seen[(sid, name)] = cache
                    beside_state = None
                    if decide(rel.digest, entry.get("delivered"), state, restore, rel.versions) is Action.CONFLICT:
                        beside_state = file_state(dfd, _split(beside_name(name, rel.revision))[1], None, now_ns)[0]
                    d = plan_file(sid, name, rel.digest, rel.revision, entry, state, beside_state, restore, rel.versions)
                    if d.writes and dfd < 0:
                        dfd = student.folder(folder, create=True)
                except Unsafe as exc:
                    report.decisions.append(Decision(sid, name, Action.BLOCKED, rel.revision, note=str(exc)))
                    continue
                outcomes[(sid, name)] = d
                if d.action in WRITES:
                    pending.append(write_temp(dfd, base, rel, owner, d, None if d.action is not Action.UPDATE else fp))
                elif d.write_beside:
                    pending.append(write_temp(dfd, _split(d.beside)[1], rel, owner, d, None))
        if pending:
            _sync(opened)  # contents durable before any name points at them
            for p in pending:
                ok, note = commit(p)
                if ok:
                    report.written += 1
                else:
                    d = p.decision
                    outcomes[(d.student, d.name)] = Decision(d.student, d.name, Action.CONFLICT, d.revision, d.beside, False, note)
            pending = []
            _sync(opened)  # the new names durable before the ledger says so
    finally:
        for p in pending:  # anything not committed (an error above): leave no temporary behind
            try:
                os.unlink(p.tmp, dir_fd=p.dir_fd)
            except (FileNotFoundError, OSError):
                pass
        for s in opened:
            s.close()

    for (sid, name), d in outcomes.items():
        report.decisions.append(d)
        entry = ledger["students"][sid].setdefault(name, {})
        rel = released[name]
        if d.action in (Action.NEW, Action.UPDATE, Action.RESTORE, Action.UNCHANGED):
            entry["delivered"] = rel.digest
        if d.action in (Action.UNCHANGED, Action.EDITED, Action.CONFLICT) and seen.get((sid, name)):
            entry["seen"] = seen[(sid, name)]
        else:
            entry.pop("seen", None)  # just written or gone: hash it next time
        if d.action is Action.CONFLICT and (d.write_beside or "already beside" in d.note):
            entry["offered"] = rel.digest


def write_temp(dir_fd: int, final: str, rel: Released, owner, decision: Decision, replace_fp) -> Pending:
    """Write ``rel`` to a temporary file in ``dir_fd``, to be committed as ``final``: by a rename over the file whose
    fingerprint is ``replace_fp``, or (None) by a link that fails if ``final`` exists."""
    tmp = f"{PARTIAL}{hashlib.sha1(final.encode()).hexdigest()[:12]}.{secrets.token_hex(4)}"
    fd = os.open(tmp, NEW_FLAGS, 0o600, dir_fd=dir_fd)
    try:
        rel.write_to(fd)
        own(fd, owner, FILE_MODE)
        if not has_syncfs():
            os.fsync(fd)
    finally:
        os.close(fd)
    return Pending(decision, dir_fd, tmp, final, replace_fp)


def _sync(students: list[_Student]) -> None:
    """Make everything written so far durable: one syncfs per file system (students may span mounts)."""
    if not has_syncfs():
        for s in students:
            for fd in s.fds.values():
                os.fsync(fd)
        return
    devices: dict[int, int] = {}
    for s in students:
        for fd in s.fds.values():
            devices.setdefault(os.fstat(fd).st_dev, fd)
    for fd in devices.values():
        syncfs(fd)


def commit(p: Pending) -> tuple[bool, str]:
    """Put a temporary file under its final name; False (and why) when the student's file changed meanwhile."""
    try:
        if p.replace_fp is None:
            try:
                os.link(p.tmp, p.final, src_dir_fd=p.dir_fd, dst_dir_fd=p.dir_fd, follow_symlinks=False)
            except FileExistsError:
                return False, "the student created this file during the release: left alone"
            return True, ""
        try:
            now = fingerprint(os.stat(p.final, dir_fd=p.dir_fd, follow_symlinks=False))
        except FileNotFoundError:
            now = None
        if now != p.replace_fp:
            return False, "changed by the student during the release: left alone"
        os.rename(p.tmp, p.final, src_dir_fd=p.dir_fd, dst_dir_fd=p.dir_fd)
        return True, ""
    finally:
        try:
            os.unlink(p.tmp, dir_fd=p.dir_fd)
        except FileNotFoundError:
            pass

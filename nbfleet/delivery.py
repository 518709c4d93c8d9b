"""Deliver an assignment's released files to every student without ever destroying a student's work.

Three inputs decide what happens to each student's copy of each released file (a 3-way comparison):
the released version now (``build/release/<a>/<file>``), the version nbfleet last delivered to that student
(the ledger), and what is on the student's disk now.

- missing, nothing delivered before: ``new``, copy it;
- missing, delivered before: ``deleted-by-student``, left alone unless the teacher asks ``--restore`` (``restore``);
- equal to the released version now: ``unchanged``;
- equal to what was delivered last, or to any version ever released (no work of the student's in it): ``update``;
- changed by the student, and what they got is still the released version: ``edited-by-student``, nothing to do;
- anything else, also a symlink, a folder or a FIFO: ``conflict``: the student's file is never touched; the new
  version goes beside it as ``<stem>.released-<revision><suffix>`` and the teacher sees it in a table.

The ledger (one JSON file per assignment) lives at ``<students>/.nbfleet/ledger/<a>.json``, beside the folders it
describes and not under ``build/``: it is part of the state of the students folder (back it up, move it, restore
it together), wiping ``build/`` must not make every student's file look edited, and no student can reach it (a
student container mounts only ``<students>/<id>``; ids never start with a dot). It holds, per file, the list of
released versions (their hashes; the revision number of a version is its place in that list, the same for every
student), and per student and file the hash delivered last, the hash offered beside a conflict, and a stat
fingerprint of what was on disk so that a re-run reads only files whose inode, size, mtime or ctime changed.
Like git's index, a fingerprint is only trusted when the file's ctime is older than the moment it was taken by a
margin (``RACY_NS``): an edit in the same clock tick as our look at the file cannot hide behind it.

Safety, because a student controls the inside of their folder and nbfleet may run as root: every path below
``<students>/<id>`` is opened component by component relative to a directory descriptor with ``O_NOFOLLOW``
(a planted symlink is never followed, to read or to write), files are read with ``O_NONBLOCK`` (a planted FIFO
cannot hang a release), and only regular files are ever replaced. Writes go to a temporary file in the same
folder (``.nbfleet-partial.*``), are made durable (``syncfs`` once per batch of students, which is what makes a
release as fast as the ``cp`` loop it replaces; ``fsync`` per file where ``syncfs`` is missing), and only then
renamed over (update) or hard-linked to (new file, restore, beside copy: fails instead of replacing anything that
appeared meanwhile). Just before a rename the student's file is checked again against what was hashed.
A killed release leaves only temporary files, which the next run removes, and the ledger only records what
was committed; a file found already equal to the released version is adopted, so a re-run completes the job.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import errno
import fcntl
import hashlib
import json
import os
import re
import secrets
import stat
import time
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path, PurePosixPath
from typing import Iterable, Mapping

from .errors import NbfleetError

PARTIAL = ".nbfleet-partial."  # prefix of temporary files; removed when found (only regular files)
LEDGER_DIR = ".nbfleet/ledger"  # under the students folder
SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
RACY_NS = 2_000_000_000  # a stat fingerprint younger than this is not trusted (see module docstring)
BATCH = 64  # students per write-sync-commit round
FILE_MODE, DIR_MODE = 0o644, 0o755
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_NEW_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


# ---------------------------------------------------------------------------------------------------------
# Pure planning
# ---------------------------------------------------------------------------------------------------------


class Action(str, Enum):
    """What delivery does (or did) with one released file for one student."""

    NEW = "new"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    EDITED = "edited-by-student"  # the student works on the current version: nothing to deliver
    CONFLICT = "conflict"
    DELETED = "deleted-by-student"
    RESTORE = "restore"
    BLOCKED = "blocked"  # the path cannot be written safely (a symlink or a file where a folder should be)


NOT_A_FILE = "<not a regular file>"  # disk state of a symlink, folder, FIFO… (never read, never replaced)
WRITES = {Action.NEW, Action.UPDATE, Action.RESTORE}


def decide(
    released: str, delivered: str | None, on_disk: str | None, restore: bool = False, older: Iterable[str] = ()
) -> Action:
    """The 3-way decision for one file: ``released`` hash now, hash ``delivered`` last (or None), disk state.

    ``on_disk`` is the file's hash, None when it does not exist, or NOT_A_FILE. ``older`` are the hashes of
    every version of the file ever released: a copy equal to one of them holds no work of the student's (e.g.
    they took over a version offered beside a conflict), so it is updated like an untouched copy.
    """
    if on_disk is None:
        if delivered is None:
            return Action.NEW
        return Action.RESTORE if restore else Action.DELETED
    if on_disk == released:
        return Action.UNCHANGED
    if (delivered is not None and on_disk == delivered) or on_disk in older:
        return Action.UPDATE
    if delivered == released:
        return Action.EDITED
    return Action.CONFLICT


def beside_name(name: str, revision: int) -> str:
    """Where a new version goes when the student changed ``name``: ``a/problem1.ipynb`` -> ``a/problem1.released-2.ipynb``."""
    path = PurePosixPath(name)
    stem, suffix = (path.stem, path.suffix) if path.stem else (path.name, "")
    return str(path.with_name(f"{stem}.released-{revision}{suffix}"))


def revision_of(versions: list[str], digest: str) -> int:
    """The release revision of a file version: its place (1-based) in the file's list of released versions."""
    return versions.index(digest) + 1


def record_version(versions: list[str], digest: str) -> list[str]:
    """The list of released versions with ``digest`` added at the end if it is new (pure)."""
    return versions if digest in versions else [*versions, digest]


@dataclass(frozen=True)
class Decision:
    """The plan (and after delivery, the outcome) for one student and one released file."""

    student: str
    name: str
    action: Action
    revision: int
    beside: str | None = None  # for a conflict: the name the new version is (or was already) written to
    write_beside: bool = False
    note: str = ""

    @property
    def writes(self) -> bool:
        return self.action in WRITES or self.write_beside


def plan_file(
    student: str,
    name: str,
    released: str,
    revision: int,
    entry: Mapping,
    on_disk: str | None,
    beside_on_disk: str | None,
    restore: bool,
    older: Iterable[str] = (),
) -> Decision:
    """Decide what to do with one file; for a conflict, also whether the beside copy must be written.

    ``entry`` is the student's ledger entry for the file (``delivered``, ``offered`` hashes; may be empty);
    ``beside_on_disk`` the state of the beside name (a hash, None or NOT_A_FILE), only looked at for a conflict.
    """
    action = decide(released, entry.get("delivered"), on_disk, restore, older)
    if action is Action.DELETED and entry.get("delivered") != released:
        return Decision(student, name, action, revision, note="a newer version was released")
    if action is not Action.CONFLICT:
        return Decision(student, name, action, revision)
    beside = beside_name(name, revision)
    why = "not a regular file" if on_disk == NOT_A_FILE else "changed by the student"
    if beside_on_disk == released:
        return Decision(student, name, action, revision, beside, False, f"{why}; new version already beside")
    if beside_on_disk is not None:
        return Decision(student, name, action, revision, beside, False, f"{why}; {beside} also changed: not written")
    if entry.get("offered") == released and not restore:
        return Decision(student, name, action, revision, beside, False, f"{why}; beside copy deleted by the student")
    return Decision(student, name, action, revision, beside, True, why)


def plan_student(
    student: str,
    released: Mapping[str, tuple[str, int]],
    ledger: Mapping[str, Mapping],
    disk: Mapping[str, str | None],
    restore: bool = False,
    versions: Mapping[str, list[str]] | None = None,
) -> list[Decision]:
    """Decisions for one student: ``released`` maps name -> (hash, revision); ``disk`` maps names (and the
    beside names of conflicting files, when known) to their state; ``versions`` every released hash per name.
    Pure: the tests drive it directly."""
    out = []
    for name, (digest, revision) in sorted(released.items()):
        beside = beside_name(name, revision)
        older = (versions or {}).get(name, ())
        out.append(plan_file(student, name, digest, revision, ledger.get(name, {}), disk.get(name), disk.get(beside), restore, older))
    return out


# ---------------------------------------------------------------------------------------------------------
# The report the tasks print
# ---------------------------------------------------------------------------------------------------------


@dataclass
class Report:
    """What one delivery did: every decision, and the counts the teacher sees."""

    assignment: str
    decisions: list[Decision] = field(default_factory=list)
    blocked_students: dict[str, str] = field(default_factory=dict)
    written: int = 0
    failed_hosts: dict[str, str] = field(default_factory=dict)  # host -> why none of its students got the release

    def count(self) -> dict[str, int]:
        """Number of files per action (``new``, ``update``, ``conflict``…), for the summary line."""
        out: dict[str, int] = {}
        for d in self.decisions:
            out[d.action.value] = out.get(d.action.value, 0) + 1
        return out

    def conflicts(self) -> list[Decision]:
        """Files the teacher should know about: conflicts, blocked paths, deleted files a newer version exists of."""
        keep = {Action.CONFLICT, Action.BLOCKED}
        return [d for d in self.decisions if d.action in keep or (d.action is Action.DELETED and d.note)]

    def summary(self) -> str:
        counts = ", ".join(f"{n} {a}" for a, n in sorted(self.count().items())) or "nothing to deliver"
        students = len({d.student for d in self.decisions} | set(self.blocked_students))
        hosts = f"; {len(self.failed_hosts)} host(s) failed" if self.failed_hosts else ""
        return f"{self.assignment}: {students} students, {counts}; {self.written} files written{hosts}"


# ---------------------------------------------------------------------------------------------------------
# Side effects: the ledger, safe file access, atomic durable writes
# ---------------------------------------------------------------------------------------------------------


def ledger_path(settings, assignment: str) -> Path:
    """The assignment's delivery ledger: ``<students>/.nbfleet/ledger/<assignment>.json``."""
    return Path(settings.students_dir) / LEDGER_DIR / f"{assignment}.json"


def student_ledger(folder: str, assignment: str, sid: str) -> str:
    """The ledger name for files that are one student's own (their feedback in ``<id>/<folder>/<assignment>/``)."""
    return f"{folder}@{assignment}@{sid}"


def load_ledger(path: Path) -> dict:
    """The ledger at ``path`` (an empty one when there is none); a damaged ledger is an error, never ignored."""
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        return {"versions": {}, "students": {}}
    except (ValueError, UnicodeDecodeError) as exc:
        raise NbfleetError(str(path), f"the delivery ledger is damaged ({exc}); restore it from a backup") from None
    if not isinstance(data, dict) or not isinstance(data.get("versions"), dict) or not isinstance(data.get("students"), dict):
        raise NbfleetError(str(path), "the delivery ledger is damaged (not an nbfleet ledger)")
    return data


def write_atomic(path: Path, data: bytes, owner: tuple[int, int] | None = None, mode: int = FILE_MODE) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder: fsync, rename, fsync the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{PARTIAL}{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, _NEW_FLAGS, 0o600)
    try:
        _write_all(fd, data)
        _own(fd, owner, mode)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def teacher_owner(settings) -> tuple[int, int] | None:
    """(uid, gid) to give written files: the teacher's, when we can chown (root); None otherwise (we are the owner)."""
    if os.geteuid() != 0:
        return None
    return settings.teacher.uid, settings.teacher.gid


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _own(fd: int, owner: tuple[int, int] | None, mode: int) -> None:
    if owner is not None:
        os.fchown(fd, *owner)
    os.fchmod(fd, mode)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


try:
    _syncfs = ctypes.CDLL(None, use_errno=True).syncfs
except (OSError, AttributeError):  # not Linux/glibc: fall back to fsync per file
    _syncfs = None


class Unsafe(Exception):
    """A path in a student's folder that nbfleet will not go through (symlink, file where a folder should be)."""


def open_dir(parent: int | None, name: str, create: bool, owner: tuple[int, int] | None) -> int:
    """Open folder ``name`` below descriptor ``parent`` without following a symlink; create it if asked."""
    for _ in range(3):
        try:
            return os.open(name, _DIR_FLAGS, dir_fd=parent)
        except FileNotFoundError:
            if not create:
                raise
            try:
                os.mkdir(name, 0o700, dir_fd=parent)
            except FileExistsError:
                continue  # appeared meanwhile: open whatever it is (still without following it)
            fd = os.open(name, _DIR_FLAGS, dir_fd=parent)
            _own(fd, owner, DIR_MODE)
            return fd
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise Unsafe(f"{name} is a symlink or not a folder") from None
            raise
    raise Unsafe(f"{name} keeps changing")


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
        fd = os.open(name, _READ_FLAGS, dir_fd=dir_fd)
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


def _clean_partials(dir_fd: int) -> None:
    """Remove temporary files a killed run left in this folder (regular files with our prefix only)."""
    with os.scandir(dir_fd) as entries:
        for e in entries:
            if e.name.startswith(PARTIAL) and e.is_file(follow_symlinks=False):
                try:
                    os.unlink(e.name, dir_fd=dir_fd)
                except FileNotFoundError:
                    pass


@dataclass
class _Released:
    """One released file, read once: its hash, its bytes (or its path when large), its revision."""

    name: str
    path: Path
    digest: str
    revision: int
    data: bytes | None
    versions: frozenset = frozenset()  # every version of this file ever released

    def write_to(self, fd: int) -> None:
        if self.data is not None:
            _write_all(fd, self.data)
            return
        with open(self.path, "rb") as src:
            while os.sendfile(fd, src.fileno(), None, 1 << 24):
                pass


@dataclass
class _Pending:
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
        _clean_partials(fd)
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
    _ensure_ledger_dir(lpath.parent, owner)
    report = Report(assignment)

    lock = os.open(lpath.with_suffix(".lock"), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, FILE_MODE)
    try:
        _own(lock, owner, FILE_MODE)
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
            released[name] = _Released(name, Path(path), digest, revision_of(versions, digest), data, frozenset(versions))
        ledger["assignment"] = assignment

        root_fd = os.open(students_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            for start in range(0, len(students), BATCH):
                batch = students[start : start + BATCH]
                _deliver_batch(root_fd, batch, assignment, released, ledger, owner, restore, report)
                _write_ledger(lpath, ledger, owner)
                if progress:
                    progress(min(start + BATCH, len(students)), len(students))
            if not students:
                _write_ledger(lpath, ledger, owner)
        finally:
            os.close(root_fd)
    finally:
        os.close(lock)  # releases the flock
    return report


def _ensure_ledger_dir(path: Path, owner) -> None:
    for folder in (path.parent, path):
        if not folder.is_dir():
            folder.mkdir(mode=DIR_MODE, exist_ok=True)
            if owner is not None:
                os.chown(folder, *owner)


def _write_ledger(path: Path, ledger: dict, owner) -> None:
    ledger["written"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    write_atomic(path, json.dumps(ledger, separators=(",", ":"), sort_keys=True).encode(), owner)


def _hash_path(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _deliver_batch(root_fd, batch, assignment, released, ledger, owner, restore, report: Report) -> None:
    """Plan and write temporaries for a batch of students, sync once, commit, sync again, update the ledger."""
    now_ns = time.time_ns()
    opened: list[_Student] = []
    pending: list[_Pending] = []
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
                    pending.append(_write_temp(dfd, base, rel, owner, d, None if d.action is not Action.UPDATE else fp))
                elif d.write_beside:
                    pending.append(_write_temp(dfd, _split(d.beside)[1], rel, owner, d, None))
        if pending:
            _sync(opened)  # contents durable before any name points at them
            for p in pending:
                ok, note = _commit(p)
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


def _write_temp(dir_fd: int, final: str, rel: _Released, owner, decision: Decision, replace_fp) -> _Pending:
    tmp = f"{PARTIAL}{hashlib.sha1(final.encode()).hexdigest()[:12]}.{secrets.token_hex(4)}"
    fd = os.open(tmp, _NEW_FLAGS, 0o600, dir_fd=dir_fd)
    try:
        rel.write_to(fd)
        _own(fd, owner, FILE_MODE)
        if _syncfs is None:
            os.fsync(fd)
    finally:
        os.close(fd)
    return _Pending(decision, dir_fd, tmp, final, replace_fp)


def _sync(students: list[_Student]) -> None:
    """Make everything written so far durable: one syncfs per file system (students may span mounts)."""
    if _syncfs is None:
        for s in students:
            for fd in s.fds.values():
                os.fsync(fd)
        return
    devices: dict[int, int] = {}
    for s in students:
        for fd in s.fds.values():
            devices.setdefault(os.fstat(fd).st_dev, fd)
    for fd in devices.values():
        if _syncfs(fd) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))


def _commit(p: _Pending) -> tuple[bool, str]:
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


# ---------------------------------------------------------------------------------------------------------
# What the release of one assignment delivers (nbfleet.classroom sends it to every host)
# ---------------------------------------------------------------------------------------------------------


def release_inputs(settings, assignment: str) -> tuple[dict[str, Path], dict[str, str]]:
    """The released files of ``assignment`` (name -> ``build/release/<a>/<name>``) and the hashes the leak guard passed."""
    source = Path(settings.solutions_dir) / assignment
    if not source.is_dir():
        raise NbfleetError(str(source), f"no such assignment folder (assignments are the folders of {settings.solutions_dir})")
    from .assignment import GUARD_FILE, release_dir, released_files, strip_dir

    folder = release_dir(settings, assignment)
    paths = {name: folder / name for name in released_files(settings, assignment)}
    guard = strip_dir(settings, assignment) / GUARD_FILE
    try:
        guarded = json.loads(guard.read_bytes())["files"]
    except (OSError, ValueError, KeyError, TypeError):
        raise NbfleetError(str(guard), f"no leak guard record: run `doit strip:{assignment}` first") from None
    for name, path in paths.items():
        if not path.is_file():
            raise NbfleetError(str(path), f"not released yet: run `doit strip:{assignment}` first")
    return paths, guarded

"""The 3-way decision for one released file and one student, and the report of a delivery (pure; see the package)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import PurePosixPath
from typing import NamedTuple


class Action(StrEnum):
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


class Decision(NamedTuple):
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

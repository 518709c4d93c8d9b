"""The overrides file (``grades/overrides.csv``) as a place marks are saved: one mark changed at a time.

Each change reads the file as it is now, under a lock (a thread lock, and ``flock`` on ``<file>.lock`` so that two
marking pages, or a page and a script, take turns), changes only its own row and writes the file atomically. A row
the teacher edited by hand meanwhile is kept; a change to a row that is no longer what the page showed is refused
(``Changed``). Rows keep their place; a new row goes before the first row that sorts after it, so a sorted file stays
sorted and a diff shows one line.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import threading
from pathlib import Path

from ..fs import write_text
from ..grading.gradebook import OVERRIDE_COLUMNS, read_overrides

_THREADS = threading.Lock()


class Changed(Exception):
    """The row is not what the page showed: someone else (or a hand edit) changed it."""

    def __init__(self, now: dict | None):
        super().__init__("changed")
        self.now = now


@contextlib.contextmanager
def locked(path: Path):
    """Hold the overrides file for one change (other threads and other processes wait)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with _THREADS, open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _key(row: dict) -> tuple[str, str, str]:
    return row["assignment"], row["student"], row["test"]


def _text(rows: list[dict]) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(OVERRIDE_COLUMNS)
    for r in rows:
        w.writerow([r["assignment"], r["student"], r["test"], f"{float(r['points']):g}", r.get("comment", "")])
    return out.getvalue()


def same(row: dict | None, mark: dict | None) -> bool:
    """Whether a row of the file says what ``mark`` ({points, comment}, or None for no row) says."""
    if row is None or mark is None:
        return row is None and mark is None
    return float(row["points"]) == float(mark["points"]) and row.get("comment", "") == (mark.get("comment") or "")


_UNSET = object()


def save_mark(path: Path, shown: str, key: tuple[str, str, str], mark: dict | None, expected=_UNSET) -> dict | None:
    """Set (``mark``: {points, comment}) or remove (None) one row of the overrides file; what the row was before.

    ``expected`` is the row as the caller last saw it ({points, comment} or None); when given and the row is no
    longer that, nothing is written and ``Changed`` says what it is now. A file made unreadable by a hand edit raises
    the NbfleetError that names its line, and is left as it is.
    """
    with locked(path):
        rows = read_overrides(path, shown)
        at = next((i for i, r in enumerate(rows) if _key(r) == key), None)
        before = rows[at] if at is not None else None
        if expected is not _UNSET and not same(before, expected):
            raise Changed(before)
        new = None if mark is None else {"assignment": key[0], "student": key[1], "test": key[2],
                                         "points": float(mark["points"]), "comment": mark.get("comment") or ""}
        if at is not None and new is not None:
            rows[at] = new
        elif at is not None:
            del rows[at]
        elif new is not None:
            rows.insert(next((i for i, r in enumerate(rows) if _key(r) > key), len(rows)), new)
        if before is not None or new is not None:
            write_text(path, _text(rows))
        return before

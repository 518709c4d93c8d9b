"""The grades as tables (pandas): ``build/grades/<a>.csv`` per assignment, ``build/grades/gradebook.csv`` across
them, and the teacher's own scores (``[grade] overrides``, ``grades/overrides.csv``) laid over both.

The overrides file is small and kept under version control beside the course; grading never writes it, so a
teacher's score survives every regrade. Its columns::

    assignment,student,test,points,comment
    assignment1,s1234567,problem1/mean_median,1.5,"right idea, rounding off"

``test`` is a test's column in ``<a>.csv`` (``<notebook>/<grade id>``); an answer a person grades (nbgrader's
manually graded cells) gets its score here too.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from .. import paths
from ..errors import NbfleetError
from ..fs import write_text

OVERRIDE_COLUMNS = ["assignment", "student", "test", "points", "comment"]


def read_overrides(path: Path, shown: str) -> list[dict]:
    """The rows of the overrides file (none when it does not exist); NbfleetError naming the line on a bad row."""
    if not path.is_file():
        return []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise NbfleetError(shown, f"cannot read it: {exc}") from None
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in OVERRIDE_COLUMNS[:4] if c not in (reader.fieldnames or [])]
    if missing:
        raise NbfleetError(f"{shown}:1", f"missing column(s) {', '.join(missing)} (the header is {','.join(OVERRIDE_COLUMNS)})")
    rows, seen = [], {}
    for number, row in enumerate(reader, 2):
        where = f"{shown}:{number}"
        key = tuple((row.get(c) or "").strip() for c in OVERRIDE_COLUMNS[:3])
        if not all(key):
            raise NbfleetError(where, "assignment, student and test must all be given")
        try:
            points = float((row.get("points") or "").strip())
        except ValueError:
            raise NbfleetError(where, f"points {row.get('points')!r} is not a number") from None
        if not math.isfinite(points) or points < 0:
            raise NbfleetError(where, f"points {points:g} must be a number of at least 0")
        if key in seen:
            raise NbfleetError(where, f"{key[1]}'s {key[2]} in {key[0]} already has a score on line {seen[key]}")
        seen[key] = number
        rows.append({"assignment": key[0], "student": key[1], "test": key[2], "points": points,
                     "comment": (row.get("comment") or "").strip(), "line": number})
    return rows


def check_overrides(assignment: str, tests: list[tuple[str, float]], overrides: list[dict], shown: str,
                    students=None) -> list[dict]:
    """The overrides of ``assignment``; NbfleetError naming the line of one that names no test of it, or (when
    ``students`` is given) a student who was not collected (a typo must not make a row of its own)."""
    columns = [name for name, _ in tests]
    mine = [o for o in overrides if o["assignment"] == assignment]
    for o in mine:
        if o["test"] not in columns:
            raise NbfleetError(f"{shown}:{o['line']}", f"{assignment} has no test {o['test']!r} (its tests: {', '.join(columns)})")
        if students is not None and o["student"] not in students:
            raise NbfleetError(f"{shown}:{o['line']}", f"no student {o['student']!r} was collected for {assignment}")
    return mine


def assignment_table(assignment: str, students: dict[str, dict], tests: list[tuple[str, float]], overrides: list[dict]):
    """One row per student: points per test, total, max, late, and why a score is what it is (a DataFrame).

    ``students`` maps an id to its grading record (``tests``: column -> {points, max, why}; ``late``; ``problem``;
    ``notes``). A score of None (an answer a person grades, or a submission a person must look at) stays empty
    until an override gives it. ``overrides`` must have passed ``check_overrides``.
    """
    import pandas as pd

    columns = [name for name, _ in tests]
    maximum = sum(m for _, m in tests)
    by_key = {(o["student"], o["test"]): o for o in overrides if o["assignment"] == assignment}
    rows = []
    for sid in sorted(students):
        record = students[sid]
        row = {"student": sid, "late": bool(record.get("late"))}
        overridden, waiting = [], []
        for name in columns:
            o = by_key.get((sid, name))
            value = o["points"] if o else (record.get("tests", {}).get(name) or {}).get("points")
            if o:
                overridden.append(name)
            elif value is None and not record.get("problem"):
                waiting.append(name)
            row[name] = value
        graded = [row[c] for c in columns if row[c] is not None]
        complete = len(graded) == len(columns)
        row["total"] = sum(graded) if complete else None
        row["max"] = maximum
        row["overridden"] = " ".join(overridden)
        row["to_grade_by_hand"] = " ".join(waiting)
        row["problem"] = record.get("problem") or ""
        row["notes"] = "; ".join(record.get("notes", []))
        rows.append(row)
    table = pd.DataFrame(rows, columns=["student", "late", *columns, "total", "max", "overridden", "to_grade_by_hand",
                                        "problem", "notes"])
    return table


def write_table(table, path: Path) -> None:
    """Write a DataFrame as CSV, atomically."""
    write_text(path, table.to_csv(index=False))


def gradebook(settings, assignments: list[str]):
    """Across assignments: one row per student, each assignment's total and late flag, and the sum (a DataFrame)."""
    import pandas as pd

    book = None
    for a in assignments:
        path = paths.grades_table(settings, a)
        if not path.is_file():
            continue
        t = pd.read_csv(path, dtype={"student": str})[["student", "total", "max", "late"]]
        t = t.rename(columns={"total": a, "max": f"{a} max", "late": f"{a} late"})
        book = t if book is None else book.merge(t, on="student", how="outer")
    if book is None:
        return pd.DataFrame(columns=["student", "total", "max"])
    done = [a for a in assignments if a in book.columns]
    book["total"] = book[done].sum(axis=1, min_count=len(done))
    book["max"] = book[[f"{a} max" for a in done]].max(axis=0).sum()
    return book.sort_values("student").reset_index(drop=True)

"""One assignment open for marking: its questions, every student's answer to one of them (identical answers grouped),
the marks over them, and a mark saved (then the tables written again, in the background, without a sandbox).

What is on disk is read again when it changed (the grading records after a ``doit grade``, the overrides file after
a hand edit or another marker's save), so the page always shows the marks as they are in ``grades/overrides.csv``.
"""

from __future__ import annotations

import hashlib
import html
import json
import math
import sys
import threading
from pathlib import Path

from .. import paths
from ..errors import NbfleetError
from ..grading.cells import source_of
from ..grading.grade import write_tables
from ..grading.gradebook import read_overrides
from ..grading.teacher import load_assignment
from . import render
from .answers import answer_cells
from .marks import Changed, save_mark
from .questions import Question, find, questions

MOST_COMMENT = 5000


class BadMark(Exception):
    """A request that cannot be saved: the one line to answer with (HTTP 400), nothing written."""


def _read_file(path: Path, cache: dict, parse):
    """``parse(path)``, read again only when the file changed."""
    try:
        st = path.stat()
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
    except FileNotFoundError:
        stamp = None
    if cache.get("stamp") != stamp or "value" not in cache:
        cache["value"], cache["stamp"] = parse(path) if stamp else None, stamp
    return cache["value"]


class Book:
    """The marking of one graded assignment."""

    def __init__(self, settings, name: str):
        self.settings, self.name = settings, name
        self.state_file = paths.grading_state(settings, name)
        if not self.state_file.is_file():
            raise NbfleetError(f"mark:{name}", f"{name} has not been graded yet: run `doit grade:{name}` first")
        self.assignment = load_assignment(settings, name)
        self.questions = questions(self.assignment)
        self.overrides_file = settings.grade.overrides
        self.overrides_shown = paths.shown(self.overrides_file, settings.root)
        self._state_cache, self._overrides_cache = {}, {}
        self._groups: dict[str, tuple] = {}  # question id -> (state stamp, groups)
        self._lock = threading.Lock()
        self.tables = Refresher(self.write_tables)

    # ------------------------------------------------------------ what is on disk

    def state(self) -> dict:
        """Each graded student's record (``build/grades/.state/<a>.json``)."""
        return _read_file(self.state_file, self._state_cache, lambda p: json.loads(p.read_bytes())) or {}

    def marks(self) -> dict[tuple[str, str], dict]:
        """This assignment's rows of the overrides file, by (student, column)."""
        try:
            rows = _read_file(self.overrides_file, self._overrides_cache, lambda p: read_overrides(p, self.overrides_shown)) or []
        except NbfleetError as exc:  # a hand edit broke the file: the page says where, and writes nothing until it is mended
            raise BadMark(str(exc)) from None
        return {(r["student"], r["test"]): r for r in rows if r["assignment"] == self.name}

    def _submission(self, sid: str, notebook: str) -> dict | None:
        try:
            nb = json.loads((paths.submissions(self.settings, self.name) / sid / notebook).read_bytes())
        except (OSError, ValueError, RecursionError):
            return None
        return nb if isinstance(nb, dict) and isinstance(nb.get("cells"), list) else None

    # ------------------------------------------------------------ answers

    def _answer(self, q: Question, sid: str, record: dict) -> tuple[str, str]:
        """(grouping key, safe HTML) of one student's answer to ``q``."""
        if (record.get("tests", {}).get(q.column) or {}).get("why", "").startswith("no submission"):
            return "missing", '<p class="empty">(no submission)</p>'
        nb = self._submission(sid, q.notebook)
        if nb is None:
            return f"unreadable {sid}", f'<p class="empty">(could not be read: {html.escape(record.get("problem") or q.notebook)})</p>'
        try:
            cs = answer_cells(self.assignment.notebooks[q.notebook], q.index, nb)
        except (TypeError, AttributeError, ValueError):
            cs = []  # a notebook too odd to take apart: shown as no answer
        canon = [(c.get("cell_type"), "\n".join(line.rstrip() for line in source_of(c).strip().splitlines()))
                 for c in cs]
        if q.kind == "test":  # the same code may earn different points (a random seed): grouped only when it earned the same
            t = record.get("tests", {}).get(q.column) or {}
            canon.append(("result", f"{t.get('points')}|{t.get('why')}"))
        key = hashlib.sha256(json.dumps(canon).encode()).hexdigest()
        return key, render.cells(cs)

    def groups(self, q: Question) -> list[dict]:
        """The answers to ``q``, identical ones together: [{key, html, students}], the largest group first."""
        state = self.state()
        stamp = self._state_cache.get("stamp")
        with self._lock:
            cached = self._groups.get(q.id)
            if cached and cached[0] == stamp:
                return cached[1]
        by_key: dict[str, dict] = {}
        for sid in sorted(state):
            key, page = self._answer(q, sid, state[sid])
            by_key.setdefault(key, {"key": key[:16], "html": page, "students": []})["students"].append(sid)
        out = sorted(by_key.values(), key=lambda g: (-len(g["students"]), g["key"]))
        with self._lock:
            self._groups[q.id] = (stamp, out)
        return out

    def _points(self, q: Question, sid: str, record: dict, marks: dict) -> dict:
        auto = record.get("tests", {}).get(q.column) or {}
        mark = marks.get((sid, q.column))
        return {"id": sid, "points": mark["points"] if mark else auto.get("points"), "comment": mark["comment"] if mark else "",
                "marked_by_hand": mark is not None, "autograded": auto.get("points"), "why": auto.get("why") or record.get("problem") or ""}

    # ------------------------------------------------------------ the API's answers

    def overview(self) -> dict:
        """``GET /api/questions``: every question with how many of its answers have points."""
        state, marks = self.state(), self.marks()
        out = []
        for q in self.questions:
            got = [self._points(q, sid, state[sid], marks)["points"] for sid in state]
            out.append({"id": q.id, "column": q.column, "notebook": q.notebook, "grade_id": q.grade_id,
                        "max_points": q.max_points, "by_hand": q.by_hand, "kind": q.kind, "answers": len(got),
                        "marked": sum(p is not None for p in got)})
        return {"assignment": self.name, "students": len(state), "questions": out}

    def question(self, wanted: str) -> dict:
        """``GET /api/questions/<q>``: the question, and its answers grouped, each student with points and comment."""
        q = self._question(wanted)
        state, marks = self.state(), self.marks()
        groups = [{**g, "students": [self._points(q, sid, state[sid], marks) for sid in g["students"] if sid in state]}
                  for g in self.groups(q)]
        return {"id": q.id, "column": q.column, "notebook": q.notebook, "grade_id": q.grade_id, "max_points": q.max_points,
                "by_hand": q.by_hand, "kind": q.kind, "prompt": render.markdown(q.prompt), "groups": groups}

    def _question(self, wanted: str) -> Question:
        q = find(self.questions, wanted)
        if q is None:
            raise BadMark(f"{self.name} has no question {wanted!r} (its questions: {', '.join(x.id for x in self.questions)})")
        return q

    def put(self, wanted: str, sid: str, body) -> dict:
        """``PUT /api/marks/<q>/<student>``: save ``{"points": …, "comment": …}`` (points null: take the mark away;
        ``expected``, the mark as the page showed it: refused when it changed since). The mark as saved."""
        q = self._question(wanted)
        if sid not in self.state():
            raise BadMark(f"{sid!r} is not a student graded in {self.name}")
        if not isinstance(body, dict):
            raise BadMark('the body must be a JSON object: {"points": …, "comment": …}')
        unknown = set(body) - {"points", "comment", "expected"}
        if unknown:
            raise BadMark(f"unknown field(s) {', '.join(sorted(unknown))}: give points and comment")
        if "points" not in body:
            raise BadMark("points is missing (null takes the mark away)")
        points, comment = body["points"], body.get("comment", "")
        if points is not None:
            if isinstance(points, bool) or not isinstance(points, int | float) or not math.isfinite(points):
                raise BadMark(f"points {json.dumps(points)} is not a number")
            if points < 0 or points > q.max_points:
                raise BadMark(f"points {points:g} is outside 0 to {q.max_points:g}, what {q.id} is worth")
        if not isinstance(comment, str):
            raise BadMark("comment must be text")
        if len(comment) > MOST_COMMENT:
            raise BadMark(f"the comment is {len(comment)} characters long: at most {MOST_COMMENT}")
        comment = comment.strip()
        extra = {}
        if "expected" in body:
            e = body["expected"]
            if e is not None and not (isinstance(e, dict) and isinstance(e.get("points"), int | float)):
                raise BadMark("expected must be the mark as shown ({points, comment}) or null")
            extra["expected"] = e
        mark = None if points is None else {"points": float(points), "comment": comment}
        try:
            save_mark(self.overrides_file, self.overrides_shown, (self.name, sid, q.column), mark, **extra)
        except NbfleetError as exc:
            raise BadMark(str(exc)) from None
        self.tables.poke()
        return self._points(q, sid, self.state()[sid], self.marks())

    def write_tables(self) -> None:
        """The tables again from the records and the marks (no sandbox)."""
        rows = read_overrides(self.overrides_file, self.overrides_shown)
        write_tables(self.settings, self.name, self.state(), self.assignment.tests, rows)


class Refresher:
    """Runs ``work`` in a thread of its own after each ``poke``; pokes that come while it runs make one more run."""

    def __init__(self, work):
        self.work = work
        self._wanted = threading.Event()
        self.idle = threading.Event()
        self.idle.set()
        threading.Thread(target=self._loop, daemon=True, name="tables").start()

    def poke(self) -> None:
        self.idle.clear()
        self._wanted.set()

    def _loop(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            try:
                self.work()
            except Exception as exc:  # noqa: BLE001 - a table that cannot be written must not stop the marking
                print(f"note: the grade tables were not written: {exc}", file=sys.stderr, flush=True)
            if not self._wanted.is_set():
                self.idle.set()


__all__ = ["BadMark", "Book", "Changed"]

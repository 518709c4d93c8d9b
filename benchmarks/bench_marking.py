"""Marking by hand (``doit mark:<a>``) for a class of 300: the sample assignment released, each student's written
answer to ``explain`` their own (a few alike), collected; one student graded in a sandbox and the others' records
made from theirs (the marking page reads records and submissions; it runs no sandbox).

- a question page, 300 answers, ready in Chromium (navigation to every answer drawn), warm: goal <= 1 s. Naive: one
  submission at a time, as formgrader shows them: each student's notebook rendered by nbconvert and opened.
- one mark saved (PUT, median of 50): goal <= 50 ms. Naive: the row typed into grades/overrides.csv, then
  ``doit grade:<a>`` to see the total (no sandbox runs: only the tables).
"""

from __future__ import annotations

import json
import shutil
import statistics
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from nbfleet import settings as course_settings
from nbfleet.assignments.collect import read_collected
from nbfleet.grading.grade import submission_fingerprint
from nbfleet.grading.teacher import load_assignment
from nbfleet.marking.book import Book
from nbfleet.marking.server import MarkServer
from support.browser import chromium
from support.courses import copy_records, copy_sample
from support.doit import timed as _doit
from support.edits import edit_cell, student_solves
from support.repo import REPO

A = "assignment1"
WORDS = ["median", "mean", "outlier", "sensor", "fault", "hengelo", "reading", "robust", "skewed", "report"]


def _course(root: Path, n: int) -> Path:
    course = copy_sample(root / "course")
    copy_records(REPO, course)
    ids = [f"s{i:07d}" for i in range(n)]
    (course / "roster" / "users.csv").write_text("SNumber,Name,LastName,Email,mbd_url,mbd_server,mbd_port,Password,Admin\n"
                                                + "".join(f"{s},N,L,{s}@example.org,,,,,FALSE\n" for s in ids))
    _doit(course, f"release:{A}")
    for i, sid in enumerate(ids):
        student_solves(course, sid)
        if i % 10:  # one in ten keeps the teacher's words; the others write their own
            text = " ".join(WORDS[(i * k) % len(WORDS)] for k in range(1, 12 + i % 7))
            edit_cell(course / "students" / sid / A / "problem1.ipynb", "### MARK explain",
                      f"### MARK explain: 1 point\nI would report the **{WORDS[i % 2]}**: {text} (student {i}).")
    _doit(course, f"collect:{A}")
    _doit(course, f"grade:{A}", "--student", ids[0])
    state_file = course / "build" / "grades" / ".state" / f"{A}.json"
    state = json.loads(state_file.read_text())
    settings = course_settings.load(course / "course.toml")
    teacher = load_assignment(settings, A).fingerprint
    entries = read_collected(settings, A)["students"]
    for sid in ids[1:]:  # as if graded: the next `doit grade` grades nobody again
        state[sid] = {**state[ids[0]], "feedback": {}, "delivered": True, "fingerprint": submission_fingerprint(teacher, entries[sid])}
    state_file.write_text(json.dumps(state))
    return course


def _naive_pages(course: Path, browser, n: int) -> float:
    """Each submission rendered by nbconvert and opened, one after another."""
    import nbformat
    from nbconvert import HTMLExporter

    out = course / "build" / "naive-pages"
    out.mkdir()
    page = browser.new_page()
    exporter = HTMLExporter(template_name="classic")
    t0 = time.perf_counter()
    for folder in sorted((course / "build" / "submissions" / A).iterdir())[:n]:
        if not (folder / "problem1.ipynb").is_file():
            continue
        body, _ = exporter.from_notebook_node(nbformat.read(folder / "problem1.ipynb", as_version=4))
        f = out / f"{folder.name}.html"
        f.write_text(body)
        page.goto(f.as_uri(), wait_until="load")
    return time.perf_counter() - t0


def run(quick: bool) -> list[dict]:
    n = 60 if quick else 300
    root = Path(tempfile.mkdtemp(prefix="nbf-bench-marking-"))
    try:
        course = _course(root, n)
        book = Book(course_settings.load(course / "course.toml"), A)
        server = MarkServer(book)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            with chromium() as browser:
                page = browser.new_page(viewport={"width": 1200, "height": 1000})
                times = []
                for _ in range(4):  # the first is cold (every answer rendered once on the server); then warm
                    t0 = time.perf_counter()
                    page.goto(server.url, wait_until="commit")
                    page.wait_for_selector("body[data-ready=yes]")
                    times.append(time.perf_counter() - t0)
                answers = page.locator("li.answer").count()
                warm = statistics.median(times[1:])
                naive = _naive_pages(course, browser, n)
            base = server.url.split("/?token=")[0]
            headers = {"Authorization": f"token {server.token}", "Content-Type": "application/json"}
            put = []
            for i in range(50):
                sid = f"s{i % n:07d}"
                req = urllib.request.Request(f"{base}/api/marks/explain/{sid}", method="PUT", headers=headers,
                                             data=json.dumps({"points": (i % 2) * 1.0, "comment": f"mark {i}"}).encode())
                t0 = time.perf_counter()
                with urllib.request.urlopen(req) as r:
                    r.read()
                put.append(time.perf_counter() - t0)
            book.tables.idle.wait(60)
        finally:
            server.shutdown()
            server.server_close()
        overrides = course / "grades" / "overrides.csv"
        overrides.write_text(overrides.read_text() + f"{A},s{n - 1:07d},problem1/mean_median,1,typed\n")
        by_hand, out = _doit(course, f"grade:{A}")
        assert "0 graded in sandboxes" in out, out
        mark = statistics.median(put)
        return [
            {"benchmark": f"marking: question page, {n} students ({answers} answers shown), ready in Chromium", "ours_s": warm,
             "naive_s": naive, "ratio": warm / naive, "goal": "<= 1 s", "met": warm <= 1.0,
             "note": f"warm median of 3; cold first load {times[0]:.2f} s; naive: {n} submissions rendered by nbconvert and opened one by one"},
            {"benchmark": "marking: one mark saved (PUT, median of 50)", "ours_s": mark, "naive_s": by_hand, "ratio": mark / by_hand,
             "goal": "<= 50 ms", "met": mark <= 0.05,
             "note": f"max {max(put) * 1000:.0f} ms; naive: a row typed into overrides.csv, then doit grade:{A} for the total"},
        ]
    finally:
        shutil.rmtree(root, ignore_errors=True)

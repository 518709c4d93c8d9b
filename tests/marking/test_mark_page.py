"""`doit mark:assignment1` on the sample course, graded for real: the JSON API, the page in Chromium driven by the
keyboard, hostile answers, two markers at once, and the tables and feedback that follow the marks."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect

from support.browser import chromium
from support.doit import ok
from support.doit import run as doit
from support.edits import edit_cell, student_solves
from support.grading import grades, make_grading_course

pytestmark = [pytest.mark.docker, pytest.mark.slow]
A = "assignment1"
STUDENTS = ["s1234567", "s2345678", "s3456789", "s4567890"]
HOSTILE = ('### MARK explain: 1 point\nMy answer <script>window.ran = 1</script><img src=x onerror="window.ran = 2"> '
           '[click me](javascript:window.ran=3) <a id="evil" href="javascript:window.ran=4">evil</a>')


def explain(course, sid: str, text: str) -> None:
    edit_cell(course / "students" / sid / A / "problem1.ipynb", "### MARK explain", text)


class Marking:
    """A running `doit mark:assignment1` and a client for its API."""

    def __init__(self, course):
        self.course = course
        self.process = doit(course, f"mark:{A}", wait=False)
        got: list[str] = []

        def read():  # doit's own line first (".  mark:assignment1"), then the URL
            for line in self.process.stdout:
                got.append(line)
                if line.startswith("marking "):
                    return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(60)
        assert got and got[-1].startswith(f"marking {A}: http://127.0.0.1:"), got
        self.url = got[-1].split(": ", 1)[1].strip()
        self.base, self.token = self.url.split("/?token=")

    def call(self, method: str, path: str, body=None, token: str | None = "header"):
        headers = {"Content-Type": "application/json"}
        url = self.base + path
        if token == "header":
            headers["Authorization"] = f"token {self.token}"
        elif token == "query":
            url += f"?token={self.token}"
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def stop(self):
        self.process.terminate()
        self.process.wait(30)


@pytest.fixture(scope="module")
def marking(tmp_path_factory, course_images):
    course = make_grading_course(tmp_path_factory.mktemp("marking") / "course", course_images, roster=STUDENTS)
    ok(doit(course, f"release:{A}"))
    for sid in STUDENTS:
        student_solves(course, sid)
    explain(course, "s2345678", "### MARK explain: 1 point\nThe mean, because it uses every reading.")
    explain(course, "s3456789", HOSTILE)  # s1234567 and s4567890 wrote the same (the teacher's words)
    ok(doit(course, f"collect:{A}"))
    assert f"{A}: 4 graded in sandboxes" in ok(doit(course, f"grade:{A}"))
    m = Marking(course)
    yield m
    m.stop()


def overrides(course) -> str:
    f = course / "grades" / "overrides.csv"
    return f.read_text() if f.exists() else ""


def test_the_api_lists_questions_and_groups_identical_answers(marking):
    assert marking.call("GET", "/api/questions", token=None)[0] == 403
    assert marking.call("GET", "/api/questions", token="query")[0] == 200
    status, got = marking.call("GET", "/api/questions")
    assert status == 200 and got["students"] == 4
    ids = [q["id"] for q in got["questions"]]
    assert ids == ["explain", "load", "mean_median", "test_busiest"], "the answer marked by hand first, then the tests"
    first = got["questions"][0]
    assert (first["notebook"], first["max_points"], first["by_hand"], first["answers"], first["marked"]) == ("problem1.ipynb", 1, True, 4, 0)
    status, q = marking.call("GET", "/api/questions/explain")
    assert status == 200 and "Explain in two sentences" in q["prompt"]
    groups = [[s["id"] for s in g["students"]] for g in q["groups"]]
    assert groups[0] == ["s1234567", "s4567890"] and sorted(map(len, groups)) == [1, 1, 2]
    assert "sensor fault" in q["groups"][0]["html"]
    hostile = next(g["html"] for g in q["groups"] if g["students"][0]["id"] == "s3456789")
    assert "<script" not in hostile and "onerror" not in hostile and "javascript:" not in hostile
    status, load = marking.call("GET", "/api/questions/problem1/load")  # a test, by its column too
    assert status == 200 and load["kind"] == "test" and all(s["points"] == 1 for g in load["groups"] for s in g["students"])


@pytest.mark.parametrize(("path", "body", "says"), [
    ("/api/marks/explain/s1234567", {"points": 2}, "points 2 is outside 0 to 1, what explain is worth"),
    ("/api/marks/explain/s1234567", {"points": -1}, "points -1 is outside 0 to 1"),
    ("/api/marks/explain/s1234567", {"points": "one"}, 'points "one" is not a number'),
    ("/api/marks/explain/s1234567", {"points": True}, "points true is not a number"),
    ("/api/marks/explain/s1234567", {"comment": "no points"}, "points is missing"),
    ("/api/marks/explain/s1234567", {"points": 1, "grade": 1}, "unknown field(s) grade"),
    ("/api/marks/explain/s1234567", b"{not json", "the body is not JSON"),
    ("/api/marks/bonus/s1234567", {"points": 1}, "assignment1 has no question 'bonus'"),
    ("/api/marks/explain/s9999999", {"points": 1}, "'s9999999' is not a student graded in assignment1"),
    ("/api/marks/explain/teacher", {"points": 1}, "'teacher' is not a student"),
])
def test_a_bad_mark_gets_400_and_one_line_and_nothing_is_written(marking, path, body, says):
    before = overrides(marking.course)
    status, got = marking.call("PUT", path, body)
    assert status == 400 and says in got["error"] and "\n" not in got["error"], got
    assert overrides(marking.course) == before


def test_no_token_no_mark(marking):
    before = overrides(marking.course)
    assert marking.call("PUT", "/api/marks/explain/s1234567", {"points": 1}, token=None)[0] == 403
    status, got = marking.call("GET", "/", token=None)
    assert status == 403 and "token" in got["error"]
    assert overrides(marking.course) == before


def test_mark_three_answers_by_keyboard_then_reload_and_the_total_follows(marking, tmp_path):
    assert grades(marking.course)["s1234567"]["total"] == "", "open while explain waits for a person"
    order = [g["students"][0]["id"] for g in marking.call("GET", "/api/questions/explain")[1]["groups"]]
    zero, one = order[1], order[2]  # the page shows the answers in this order: the second gets 0 and a comment
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1200, "height": 1400})
        dialogs: list = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(marking.url)
        page.wait_for_selector("body[data-ready=yes]")
        assert page.locator("h1").inner_text() == f"Marking {A}"
        assert page.locator("#progress").inner_text() == "0 of 4 marked"
        cards = page.locator("li.answer")
        assert cards.count() == 3 and page.locator("li.answer.current").count() == 1
        assert not page.locator(".who").first.is_visible(), "anonymous by default"
        assert page.locator("li.answer", has_text="sensor fault").locator("p").first.is_visible()
        page.keyboard.press("1")  # the first answer (two students): 1 point, then the next
        expect(page.locator("#progress")).to_have_text("2 of 4 marked")
        page.keyboard.press("0")
        expect(page.locator("#progress")).to_have_text("3 of 4 marked")
        page.keyboard.press("k")  # back to it, to say why
        page.keyboard.press("c")
        page.keyboard.type("The mean is pulled up by the faulty reading.")
        page.keyboard.press("Enter")
        page.keyboard.press("j")
        page.keyboard.press("1")
        expect(page.locator("#progress")).to_have_text("4 of 4 marked")
        page.locator("#evil").click()  # the hostile answer's link, and its script and image: nothing runs
        assert page.evaluate("window.ran === undefined") and not dialogs
        page.screenshot(path=str(tmp_path / "marking.png"), full_page=True)

        page.reload()
        page.wait_for_selector("body[data-ready=yes]")
        assert page.locator("#progress").inner_text() == "4 of 4 marked"
        assert "4 of 4 answers marked" in page.locator("#overall").inner_text()
        states = [s.inner_text() for s in page.locator("li.answer .state").all()]
        assert sorted(states) == ["0 / 1 points", "1 / 1 points", "1 / 1 points"]
        assert page.locator("textarea").nth(1).input_value() == "The mean is pulled up by the faulty reading."
        page.keyboard.press("n")
        assert page.locator(".who").first.inner_text() == "s1234567, s4567890"
        page.keyboard.press("u")  # only what is not marked yet: nothing
        assert page.locator("li.answer").count() == 0
        page.keyboard.press("u")
        page.check("#show-tests")  # the autograded tests too: the next question is load
        page.keyboard.press("]")
        expect(page.locator("#question-title")).to_have_text("load: 1 point (an autograded test: a mark here overrides it)")
        assert page.locator("li.answer .auto").first.inner_text() == "autograded: 1 / 1"
        assert "def load(path)" in page.locator("li.answer .body").first.inner_text()
        page.screenshot(path=str(tmp_path / "marking-a-test.png"), full_page=True)
    rows = overrides(marking.course).splitlines()
    said = {zero: "0,The mean is pulled up by the faulty reading.", one: "1,"}
    assert rows == ["assignment,student,test,points,comment",
                    "assignment1,s1234567,problem1/explain,1,",
                    f"assignment1,s2345678,problem1/explain,{said['s2345678']}",
                    f"assignment1,s3456789,problem1/explain,{said['s3456789']}",
                    "assignment1,s4567890,problem1/explain,1,"]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and grades(marking.course)["s1234567"]["total"] != 5:
        time.sleep(0.2)
    g = grades(marking.course)
    assert (g["s1234567"]["total"], g[zero]["total"], g[one]["total"]) == (5, 4, 5)
    assert g[zero]["overridden"] == "problem1/explain" and g[zero]["to_grade_by_hand"] == ""
    book = (marking.course / "build" / "grades" / "gradebook.csv").read_text()
    assert "s1234567,5.0,5.0" in book
    assert (marking.course / "build" / "grades" / "canvas.csv").read_text().splitlines()[2].endswith(",5")


def test_two_markers_at_once_keep_every_mark_and_a_hand_edit_survives(marking):
    f = marking.course / "grades" / "overrides.csv"
    # the teacher types a row by hand while the page is open
    f.write_text(f.read_text() + "assignment1,s4567890,problem2/test_busiest,0.5,typed by hand\n")
    questions = ["load", "mean_median"]
    errors: list = []

    def marker(k: int):
        for q in questions:
            for sid in STUDENTS:
                status, got = marking.call("PUT", f"/api/marks/{q}/{sid}", {"points": 0.5, "comment": f"marker {k}"})
                if status != 200:
                    errors.append(got)

    ts = [threading.Thread(target=marker, args=(k,)) for k in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors
    text = f.read_text()
    assert "assignment1,s4567890,problem2/test_busiest,0.5,typed by hand" in text
    for q in questions:
        for sid in STUDENTS:
            assert f"assignment1,{sid},problem1/{q},0.5,marker" in text
    # a page that still shows the hand-typed row as unmarked cannot overwrite it
    before = f.read_text()
    status, got = marking.call("PUT", "/api/marks/test_busiest/s4567890", {"points": 1, "comment": "", "expected": None})
    assert status == 409 and "it is now 0.5 points (typed by hand)" in got["error"]
    assert f.read_text() == before
    # taking marks away: the autograded points are back
    for q in questions:
        for sid in STUDENTS:
            assert marking.call("PUT", f"/api/marks/{q}/{sid}", {"points": None})[0] == 200
    assert "problem1/load" not in f.read_text()


def test_a_file_broken_by_hand_is_named_and_nothing_written(marking):
    f = marking.course / "grades" / "overrides.csv"
    good = f.read_text()
    f.write_text(good + "assignment1,s1234567,problem1/load,lots,\n")
    try:
        status, got = marking.call("GET", "/api/questions")
        assert status == 400 and "grades/overrides.csv" in got["error"] and "points 'lots' is not a number" in got["error"]
        assert marking.call("PUT", "/api/marks/explain/s1234567", {"points": 1})[0] == 400
        assert "lots" in f.read_text()
    finally:
        f.write_text(good)
    assert marking.call("GET", "/api/questions")[0] == 200


def test_the_next_grade_runs_no_sandbox_and_the_feedback_shows_the_comment(marking):
    out = ok(doit(marking.course, f"grade:{A}"))
    assert f"{A}: 0 graded in sandboxes, 4 unchanged" in out
    g = grades(marking.course)
    zero = next(sid for sid in g if g[sid]["problem1/explain"] == 0)
    page = (marking.course / "students" / zero / "feedback" / A / "problem1.html").read_text()
    assert "marked by hand: The mean is pulled up by the faulty reading." in page
    assert g[zero]["total"] == 4 and g["s4567890"]["total"] == 4.5

"""The overrides file as marks are saved into it: one row changed at a time, atomically, nobody's row lost."""

from __future__ import annotations

import csv
import multiprocessing
import threading

import pytest

from nbfleet.errors import NbfleetError
from nbfleet.grading.gradebook import read_overrides
from nbfleet.marking.marks import Changed, save_mark

HEADER = "assignment,student,test,points,comment\n"


def rows(path):
    return [(r["assignment"], r["student"], r["test"], r["points"], r["comment"]) for r in read_overrides(path, "overrides.csv")]


def test_set_change_and_take_away_a_mark_in_a_stable_order(tmp_path):
    f = tmp_path / "grades" / "overrides.csv"
    save_mark(f, "o", ("a1", "s2", "p/q"), {"points": 1, "comment": "good"})
    assert f.read_text() == HEADER + "a1,s2,p/q,1,good\n"
    save_mark(f, "o", ("a1", "s1", "p/q"), {"points": 0.5, "comment": "half, with a comma"})
    save_mark(f, "o", ("a1", "s3", "p/q"), {"points": 0, "comment": ""})
    assert f.read_text().splitlines()[1:] == ['a1,s1,p/q,0.5,"half, with a comma"', "a1,s2,p/q,1,good", "a1,s3,p/q,0,"]
    before = save_mark(f, "o", ("a1", "s2", "p/q"), {"points": 0.75, "comment": "good"})
    assert before["points"] == 1 and rows(f)[1] == ("a1", "s2", "p/q", 0.75, "good")
    save_mark(f, "o", ("a1", "s2", "p/q"), None)
    assert [r[1] for r in rows(f)] == ["s1", "s3"]
    assert not list(tmp_path.glob("grades/.nbfleet-partial.*"))


def test_a_hand_edit_is_kept_and_a_stale_change_refused(tmp_path):
    f = tmp_path / "overrides.csv"
    f.write_text(HEADER + "a1,s9,p/q,1,typed by the teacher\na1,s1,p/q,1,\n")  # not sorted: rows keep their place
    save_mark(f, "o", ("a1", "s5", "p/q"), {"points": 0, "comment": ""})
    assert [r[1] for r in rows(f)] == ["s5", "s9", "s1"]  # before the first row that sorts after it
    # the teacher changes s1's row by hand while a page shows the old one: the page's change is refused
    f.write_text(f.read_text().replace("a1,s1,p/q,1,", "a1,s1,p/q,0.5,by hand"))
    before = f.read_text()
    with pytest.raises(Changed) as got:
        save_mark(f, "o", ("a1", "s1", "p/q"), {"points": 0, "comment": "x"}, expected={"points": 1, "comment": ""})
    assert got.value.now["points"] == 0.5 and f.read_text() == before
    save_mark(f, "o", ("a1", "s1", "p/q"), {"points": 0, "comment": "x"}, expected={"points": 0.5, "comment": "by hand"})
    assert rows(f)[2] == ("a1", "s1", "p/q", 0.0, "x")


def test_a_file_broken_by_hand_is_named_and_left_alone(tmp_path):
    f = tmp_path / "overrides.csv"
    f.write_text(HEADER + "a1,s1,p/q,lots,\n")
    with pytest.raises(NbfleetError, match=r"overrides.csv:2: points 'lots' is not a number"):
        save_mark(f, "overrides.csv", ("a1", "s2", "p/q"), {"points": 1, "comment": ""})
    assert f.read_text() == HEADER + "a1,s1,p/q,lots,\n"


def _marker(path, who, n):
    for i in range(n):
        save_mark(path, "o", ("a1", f"s{i:03d}", f"p/{who}"), {"points": 1, "comment": who})


def test_many_writers_at_once_lose_nothing(tmp_path):
    f = tmp_path / "overrides.csv"
    threads = [threading.Thread(target=_marker, args=(f, f"t{k}", 25)) for k in range(4)]
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_marker, args=(f, f"p{k}", 25)) for k in range(2)]  # another marking page, another process
    for w in procs + threads:  # forked before any thread holds a lock
        w.start()
    for w in threads + procs:
        w.join()
    assert all(p.exitcode == 0 for p in procs)
    got = rows(f)
    assert len(got) == 6 * 25 == len(set(got))
    keys = [(r[0], r[1], r[2]) for r in got]
    assert keys == sorted(keys)
    assert list(csv.reader(f.open()))[0] == ["assignment", "student", "test", "points", "comment"]

"""Collect: snapshots with a manifest of hashes and times, late work flagged, student folders never modified."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
from pathlib import Path

import pytest
from rich.console import Console

from nbfleet.assignments.classroom import collect_assignment
from nbfleet.assignments.collect import MANIFEST, collect, is_late
from nbfleet.assignments.deliver.apply import deliver
from nbfleet.errors import NbfleetError
from nbfleet.paths import submissions
from nbfleet.settings import parse
from nbfleet.tasks.render import print_collect

DEADLINE = dt.datetime(2026, 12, 18, 23, 59, tzinfo=dt.timezone(dt.timedelta(hours=1)))
BEFORE = (DEADLINE - dt.timedelta(days=1)).timestamp()
AFTER = (DEADLINE + dt.timedelta(minutes=5)).timestamp()
STUDENTS = ["s1", "s2", "s3", "s4"]


@pytest.fixture
def course(tmp_path):
    (tmp_path / "course" / "solutions" / "a1").mkdir(parents=True)
    settings = parse(
        {
            "teacher": {"user": "teacher", "uid": 1000, "gid": 1000},
            "collect": {"deadlines": {"a1": DEADLINE.isoformat()}},
        },
        tmp_path / "course.toml",
    )
    release = tmp_path / "build" / "stripped" / "a1"
    release.mkdir(parents=True)
    (release / "problem1.ipynb").write_text("released p1")
    (release / "data.csv").write_text("x,y\n")
    deliver(settings, "a1", {"problem1.ipynb": release / "problem1.ipynb", "data.csv": release / "data.csv"}, STUDENTS[:3])
    return settings


def folder(settings, sid):
    return settings.students_dir / sid / "a1"


def tree_state(root: Path) -> dict:
    """Everything about every entry below ``root`` that a modification would change (access times included)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            st = path.lstat()
            content = path.read_bytes() if path.is_file() and not path.is_symlink() else None
            out[str(path)] = (st.st_mode, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_atime_ns, content)
    return out


def test_collect_is_late_only_after_the_deadline():
    assert not is_late([], DEADLINE)
    assert not is_late([DEADLINE], DEADLINE)
    assert is_late([DEADLINE - dt.timedelta(days=3), DEADLINE + dt.timedelta(seconds=1)], DEADLINE)
    assert not is_late([DEADLINE + dt.timedelta(days=300)], None)  # no deadline, never late


def test_collect_snapshots_with_manifest_and_late_flag(course, tmp_path):
    on_time = folder(course, "s1") / "problem1.ipynb"
    on_time.write_text("s1 answer")
    os.utime(on_time, (BEFORE, BEFORE))
    late = folder(course, "s2") / "extra" / "scratch.py"
    late.parent.mkdir()
    late.write_text("print('late')")
    os.utime(late, (AFTER, AFTER))
    # s3 touched nothing: its files are the released ones, written just now (after the deadline), yet not late

    report = collect(course, "a1", STUDENTS)

    out = submissions(course, "a1")
    assert (out / "s1" / "problem1.ipynb").read_text() == "s1 answer"
    assert (out / "s1" / "problem1.ipynb").stat().st_mtime == pytest.approx(BEFORE)
    assert (out / "s2" / "extra" / "scratch.py").read_text() == "print('late')"
    assert (out / "s3" / "data.csv").read_text() == "x,y\n"
    assert not (out / "s4").exists()

    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["deadline"] == DEADLINE.isoformat()
    s1, s2, s3, s4 = (manifest["students"][sid] for sid in STUDENTS)
    entry = s1["files"]["problem1.ipynb"]
    assert entry["sha256"] == hashlib.sha256(b"s1 answer").hexdigest() and entry["size"] == 9
    assert dt.datetime.fromisoformat(entry["mtime"]).timestamp() == pytest.approx(BEFORE)
    assert entry["released"] is False and s1["files"]["data.csv"]["released"] is True
    assert (s1["late"], s2["late"], s3["late"]) == (False, True, False)
    assert s3["last_change"] is None
    assert s4["missing"] is True and s4["files"] == {}
    assert {s.student: s.late for s in report.submissions} == {"s1": False, "s2": True, "s3": False, "s4": False}

    text = io.StringIO()
    print_collect(report, Console(file=text, width=200))
    assert "late" in text.getvalue() and "s2" in text.getvalue()


def test_collect_never_modifies_a_student_folder(course, tmp_path):
    folder(course, "s1").joinpath("problem1.ipynb").write_text("work")
    (folder(course, "s1") / ".ipynb_checkpoints").mkdir()
    (folder(course, "s1") / ".ipynb_checkpoints" / "problem1-checkpoint.ipynb").write_text("old")
    os.mkfifo(folder(course, "s2") / "pipe")
    tree_state(course.students_dir)  # under relatime, the first read after a change moves atime once: ours, not collect's
    before = tree_state(course.students_dir)
    collect(course, "a1", STUDENTS)
    collect(course, "a1", STUDENTS)
    assert tree_state(course.students_dir) == before


def test_collect_never_follows_a_planted_symlink(course, tmp_path):
    secret = tmp_path / "teacher-only.key"
    secret.write_text("the answers")
    (folder(course, "s1") / "answers.txt").symlink_to(secret)
    (folder(course, "s1") / "up").symlink_to(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "solutions.ipynb").write_text("teacher's")
    folder(course, "s2").rename(tmp_path / "moved")
    folder(course, "s2").symlink_to(outside)  # the whole assignment folder is a link

    collect(course, "a1", STUDENTS)

    out = submissions(course, "a1")
    assert not (out / "s1" / "answers.txt").exists() and not (out / "s1" / "up").exists()
    assert not (out / "s2").exists()
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["students"]["s1"]["skipped"] == {"answers.txt": "symlink (not followed)", "up": "symlink (not followed)"}
    assert manifest["students"]["s2"]["missing"] is True
    assert "symlink" in manifest["students"]["s2"]["skipped"]["."]
    text = json.dumps(manifest)
    assert "the answers" not in text and "teacher's" not in text


def test_collect_again_replaces_the_snapshot(course, tmp_path):
    collect(course, "a1", STUDENTS)
    (folder(course, "s1") / "data.csv").unlink()
    (folder(course, "s1") / "new.md").write_text("added")
    collect(course, "a1", STUDENTS)
    out = submissions(course, "a1") / "s1"
    assert sorted(p.name for p in out.iterdir()) == ["new.md", "problem1.ipynb"]
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".partial")]


def test_collect_missing_assignment_folder_is_one_line(course):
    with pytest.raises(NbfleetError) as err:
        collect_assignment(course, "assignment9")
    assert "\n" not in str(err.value) and "assignment9" in str(err.value)
    assert not (course.build_dir / "submissions" / "assignment9").exists()

"""Delivery on a real file system: new, update, conflict, deleted, restore, incremental, ownership, symlink safety."""

from __future__ import annotations

import io
import json
import os
import stat
from pathlib import Path

import pytest
from rich.console import Console

from nbfleet.assignments.classroom import release_assignment
from nbfleet.assignments.deliver import apply as delivery
from nbfleet.assignments.deliver.apply import deliver
from nbfleet.assignments.deliver.decide import Action
from nbfleet.assignments.deliver.ledger import ledger_path
from nbfleet.errors import NbfleetError
from nbfleet.fs import PARTIAL
from nbfleet.settings import parse
from nbfleet.tasks.render import print_release

UID, GID = 1000, 1000
STUDENTS = ["s1234567", "s2345678", "s3456789"]


def make_settings(root: Path):
    (root / "course" / "solutions").mkdir(parents=True, exist_ok=True)
    return parse({"teacher": {"user": "teacher", "uid": UID, "gid": GID}}, root / "course.toml")


def release_folder(root: Path, files: dict[str, str | bytes]) -> dict[str, Path]:
    """A stripped folder as the strip task would leave it; returns released name -> file."""
    folder = root / "build" / "stripped" / "a1"
    out = {}
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        out[name] = path
    return out


def copy_of(s, sid: str, name: str) -> Path:
    return s.students_dir / sid / "a1" / name


def actions(report, sid=None) -> dict[str, str]:
    return {d.name: d.action.value for d in report.decisions if sid is None or d.student == sid}


@pytest.fixture
def course(tmp_path):
    return make_settings(tmp_path)


def test_delivery_new_files_reach_every_student(course, tmp_path):
    files = release_folder(tmp_path, {"problem1.ipynb": "v1", "data/points.csv": b"x,y\n1,2\n", "Opgave één.txt": "hé"})
    report = deliver(course, "a1", files, STUDENTS)
    assert report.count() == {"new": 9} and report.written == 9
    for sid in STUDENTS:
        assert copy_of(course, sid, "problem1.ipynb").read_text() == "v1"
        assert copy_of(course, sid, "data/points.csv").read_bytes() == b"x,y\n1,2\n"
        assert copy_of(course, sid, "Opgave één.txt").read_text() == "hé"
        assert not [p for p in (course.students_dir / sid).rglob(f"{PARTIAL}*")]


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to the teacher needs root; as the teacher the files are ours anyway")
def test_delivery_files_belong_to_the_teacher_and_the_container_user_can_write(course, tmp_path):
    files = release_folder(tmp_path, {"problem1.ipynb": "v1", "data/points.csv": "x"})
    deliver(course, "a1", files, ["s1234567"])
    for path in [course.students_dir / "s1234567", *(course.students_dir / "s1234567").rglob("*")]:
        st = path.lstat()
        assert (st.st_uid, st.st_gid) == (UID, GID), path
        assert st.st_mode & stat.S_IWUSR and st.st_mode & stat.S_IRUSR, path
        if path.is_dir():
            assert stat.S_IMODE(st.st_mode) == 0o755
        else:
            assert stat.S_IMODE(st.st_mode) == 0o644
    ledger = ledger_path(course, "a1")
    assert (ledger.stat().st_uid, ledger.parent.stat().st_uid) == (UID, UID)  # an admin container can re-run


def test_delivery_unchanged_file_is_updated_changed_file_never_touched(course, tmp_path):
    files = release_folder(tmp_path, {"problem1.ipynb": "v1", "problem2.ipynb": "p2 v1"})
    deliver(course, "a1", files, STUDENTS)
    edited = copy_of(course, "s2345678", "problem1.ipynb")
    edited.write_text("my answer")
    before = edited.stat()

    files = release_folder(tmp_path, {"problem1.ipynb": "v2", "problem2.ipynb": "p2 v1"})
    report = deliver(course, "a1", files, STUDENTS)

    assert copy_of(course, "s1234567", "problem1.ipynb").read_text() == "v2"
    assert copy_of(course, "s3456789", "problem1.ipynb").read_text() == "v2"
    after = edited.stat()
    assert edited.read_text() == "my answer"
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    beside = copy_of(course, "s2345678", "problem1.released-2.ipynb")
    assert beside.read_text() == "v2"
    assert actions(report, "s2345678") == {"problem1.ipynb": "conflict", "problem2.ipynb": "unchanged"}
    assert actions(report, "s1234567") == {"problem1.ipynb": "update", "problem2.ipynb": "unchanged"}

    out = io.StringIO()

    print_release(report, Console(file=out, width=200))
    text = out.getvalue()
    assert "s2345678" in text and "problem1.released-2.ipynb" in text and "conflict" in text
    assert "s1234567" not in text  # only what the teacher must look at

    # Re-running changes nothing, writes nothing, and still reports the open conflict.
    again = deliver(course, "a1", files, STUDENTS)
    assert again.written == 0
    assert [d.student for d in again.conflicts()] == ["s2345678"]
    assert edited.read_text() == "my answer"

    # A third version: the conflict copy is numbered by its revision; the first copy stays.
    files = release_folder(tmp_path, {"problem1.ipynb": "v3", "problem2.ipynb": "p2 v1"})
    deliver(course, "a1", files, STUDENTS)
    assert copy_of(course, "s2345678", "problem1.released-3.ipynb").read_text() == "v3"
    assert beside.read_text() == "v2"
    assert edited.read_text() == "my answer"


def test_delivery_student_working_on_the_current_version_is_not_a_conflict(course, tmp_path):
    files = release_folder(tmp_path, {"p.ipynb": "v1"})
    deliver(course, "a1", files, ["s1"])
    copy_of(course, "s1", "p.ipynb").write_text("half done")
    report = deliver(course, "a1", files, ["s1"], restore=True)
    assert actions(report) == {"p.ipynb": "edited-by-student"} and report.conflicts() == []
    assert sorted(p.name for p in copy_of(course, "s1", "").iterdir()) == ["p.ipynb"]
    assert copy_of(course, "s1", "p.ipynb").read_text() == "half done"


def test_delivery_student_who_adopts_the_new_version_gets_updates_again(course, tmp_path):
    files = release_folder(tmp_path, {"p.ipynb": "v1"})
    deliver(course, "a1", files, ["s1"])
    copy_of(course, "s1", "p.ipynb").write_text("mine")
    files = release_folder(tmp_path, {"p.ipynb": "v2"})
    deliver(course, "a1", files, ["s1"])
    copy_of(course, "s1", "p.ipynb").write_text("v2")  # the student takes the new version over
    files = release_folder(tmp_path, {"p.ipynb": "v3"})
    report = deliver(course, "a1", files, ["s1"])
    assert actions(report) == {"p.ipynb": "update"}
    assert copy_of(course, "s1", "p.ipynb").read_text() == "v3"


def test_delivery_deleted_file_restored_only_when_asked(course, tmp_path):
    files = release_folder(tmp_path, {"p.ipynb": "v1", "q.ipynb": "q"})
    deliver(course, "a1", files, ["s1"])
    copy_of(course, "s1", "p.ipynb").unlink()
    files = release_folder(tmp_path, {"p.ipynb": "v2", "q.ipynb": "q"})
    report = deliver(course, "a1", files, ["s1"])
    assert actions(report) == {"p.ipynb": "deleted-by-student", "q.ipynb": "unchanged"}
    assert not copy_of(course, "s1", "p.ipynb").exists()
    report = deliver(course, "a1", files, ["s1"], restore=True)
    assert actions(report) == {"p.ipynb": "restore", "q.ipynb": "unchanged"}
    assert copy_of(course, "s1", "p.ipynb").read_text() == "v2"


def test_delivery_deleted_folders_stay_deleted_unless_asked(course, tmp_path):
    import shutil

    files = release_folder(tmp_path, {"p.ipynb": "v1", "data/points.csv": "x"})
    deliver(course, "a1", files, ["s1", "s2"])
    shutil.rmtree(copy_of(course, "s1", "data"))
    shutil.rmtree(copy_of(course, "s2", ""))
    report = deliver(course, "a1", files, ["s1", "s2"])
    assert actions(report, "s1") == {"p.ipynb": "unchanged", "data/points.csv": "deleted-by-student"}
    assert set(actions(report, "s2").values()) == {"deleted-by-student"}
    assert not copy_of(course, "s1", "data").exists() and not copy_of(course, "s2", "").exists()
    deliver(course, "a1", files, ["s1", "s2"], restore=True)
    assert copy_of(course, "s1", "data/points.csv").read_text() == "x"
    assert copy_of(course, "s2", "p.ipynb").read_text() == "v1"


def test_delivery_incremental_only_the_changed_notebook_is_written(course, tmp_path):
    names = {f"problem{i}.ipynb": f"p{i} v1" for i in range(6)}
    files = release_folder(tmp_path, names)
    deliver(course, "a1", files, STUDENTS)
    before = {p: p.stat() for p in course.students_dir.rglob("*.ipynb")}

    files = release_folder(tmp_path, {**names, "problem3.ipynb": "p3 v2"})
    report = deliver(course, "a1", files, STUDENTS)

    assert report.written == len(STUDENTS)
    assert {d.name for d in report.decisions if d.action is Action.UPDATE} == {"problem3.ipynb"}
    for path, st in before.items():
        now = path.stat()
        same = (now.st_ino, now.st_mtime_ns) == (st.st_ino, st.st_mtime_ns)
        assert same == (path.name != "problem3.ipynb"), path
    # The ledger also tells the next run that nothing changed, without reading the copies again.
    assert deliver(course, "a1", files, STUDENTS).written == 0


def test_delivery_reuses_stat_fingerprints_once_they_are_old(course, tmp_path, monkeypatch):
    files = release_folder(tmp_path, {"p.ipynb": "v1"})
    deliver(course, "a1", files, ["s1"])
    deliver(course, "a1", files, ["s1"])
    entry = json.loads(ledger_path(course, "a1").read_text())["students"]["s1"]["p.ipynb"]
    assert "seen" not in entry  # the copy is younger than RACY_NS: its fingerprint is not trusted yet

    monkeypatch.setattr(delivery.time, "time_ns", lambda: os.stat(copy_of(course, "s1", "p.ipynb")).st_ctime_ns + 2 * delivery.RACY_NS)
    deliver(course, "a1", files, ["s1"])
    entry = json.loads(ledger_path(course, "a1").read_text())["students"]["s1"]["p.ipynb"]
    assert entry["seen"][4] == entry["delivered"]

    reads = []
    real = delivery.hashlib.file_digest
    monkeypatch.setattr(delivery.hashlib, "file_digest", lambda f, algo: reads.append(f) or real(f, algo))
    deliver(course, "a1", files, ["s1"])
    assert reads == []  # unchanged inode, size, mtime and ctime: not read again
    copy_of(course, "s1", "p.ipynb").write_text("v9")  # same size, new ctime: read, and seen as an edit
    files = release_folder(tmp_path, {"p.ipynb": "v2"})
    report = deliver(course, "a1", files, ["s1"])
    assert len(reads) == 1 and actions(report) == {"p.ipynb": "conflict"}
    assert copy_of(course, "s1", "p.ipynb").read_text() == "v9"


def test_delivery_file_the_student_already_had_is_never_overwritten(course, tmp_path):
    """Files that came from the old `cp -r` (no ledger) and differ are conflicts, not overwrites."""
    folder = course.students_dir / "s1" / "a1"
    folder.mkdir(parents=True)
    (folder / "p.ipynb").write_text("work done before nbfleet")
    (folder / "q.ipynb").write_text("q v1")
    files = release_folder(tmp_path, {"p.ipynb": "v1", "q.ipynb": "q v1"})
    report = deliver(course, "a1", files, ["s1"])
    assert actions(report) == {"p.ipynb": "conflict", "q.ipynb": "unchanged"}
    assert (folder / "p.ipynb").read_text() == "work done before nbfleet"
    assert (folder / "p.released-1.ipynb").read_text() == "v1"


def test_delivery_leftovers_of_a_killed_run_are_removed(course, tmp_path):
    files = release_folder(tmp_path, {"p.ipynb": "v1"})
    folder = course.students_dir / "s1" / "a1"
    folder.mkdir(parents=True)
    (folder / f"{PARTIAL}deadbeef.1234").write_text("half a notebo")
    (folder / "nbfleet-partial-notes.txt").write_text("the student's own file")
    deliver(course, "a1", files, ["s1"])
    assert sorted(p.name for p in folder.iterdir()) == ["nbfleet-partial-notes.txt", "p.ipynb"]


# ------------------------------------------------------------------ a student controls their folder


def test_delivery_never_follows_a_symlinked_assignment_folder(course, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (course.students_dir / "s1").mkdir(parents=True)
    (course.students_dir / "s1" / "a1").symlink_to(outside)
    files = release_folder(tmp_path, {"p.ipynb": "v1"})
    report = deliver(course, "a1", files, ["s1", "s2"])
    assert list(outside.iterdir()) == []
    assert "s1" in report.blocked_students
    assert actions(report, "s1") == {"p.ipynb": "blocked"}
    assert copy_of(course, "s2", "p.ipynb").read_text() == "v1"
    assert (course.students_dir / "s1" / "a1").is_symlink()


def test_delivery_never_writes_through_a_planted_file_symlink(course, tmp_path):
    files = release_folder(tmp_path, {"p.ipynb": "v1"})
    deliver(course, "a1", files, ["s1"])
    secret = tmp_path / "etc-shadow"
    secret.write_text("v1")  # same content as delivered: a follower would think "unchanged, update it"
    link = copy_of(course, "s1", "p.ipynb")
    link.unlink()
    link.symlink_to(secret)
    (link.parent / "p.released-2.ipynb").symlink_to(tmp_path / "also-outside")
    files = release_folder(tmp_path, {"p.ipynb": "v2"})
    report = deliver(course, "a1", files, ["s1"], restore=True)
    assert secret.read_text() == "v1"
    assert not (tmp_path / "also-outside").exists()
    assert link.is_symlink() and (link.parent / "p.released-2.ipynb").is_symlink()
    assert actions(report) == {"p.ipynb": "conflict"}


def test_delivery_never_descends_into_a_symlinked_subfolder(course, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    folder = course.students_dir / "s1" / "a1"
    folder.mkdir(parents=True)
    (folder / "data").symlink_to(outside)
    files = release_folder(tmp_path, {"data/points.csv": "x", "p.ipynb": "v1"})
    report = deliver(course, "a1", files, ["s1"])
    assert list(outside.iterdir()) == []
    assert actions(report) == {"data/points.csv": "blocked", "p.ipynb": "new"}


def test_delivery_a_planted_fifo_neither_hangs_nor_is_replaced(course, tmp_path):
    folder = course.students_dir / "s1" / "a1"
    folder.mkdir(parents=True)
    os.mkfifo(folder / "p.ipynb")
    files = release_folder(tmp_path, {"p.ipynb": "v1"})
    report = deliver(course, "a1", files, ["s1"])
    assert stat.S_ISFIFO((folder / "p.ipynb").lstat().st_mode)
    assert (folder / "p.released-1.ipynb").read_text() == "v1"
    assert actions(report) == {"p.ipynb": "conflict"}


def test_delivery_commit_refuses_when_the_student_changed_the_file_meanwhile(course, tmp_path):
    """The window between looking at a file and replacing it: a change there wins over the release."""
    folder = course.students_dir / "s1" / "a1"
    folder.mkdir(parents=True)
    (folder / "p.ipynb").write_text("v1")
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fp = delivery.fingerprint(os.stat("p.ipynb", dir_fd=fd))
        rel = delivery.Released("p.ipynb", folder / "x", "h", 2, b"v2")
        d = delivery.Decision("s1", "p.ipynb", Action.UPDATE, 2)
        pending = delivery.write_temp(fd, "p.ipynb", rel, None, d, fp)
        (folder / "p.ipynb").write_text("student saved just now")
        assert delivery.commit(pending) == (False, "changed by the student during the release: left alone")
        new = delivery.write_temp(fd, "q.ipynb", rel, None, d, None)
        (folder / "q.ipynb").write_text("student created it just now")
        assert delivery.commit(new)[0] is False
    finally:
        os.close(fd)
    assert (folder / "p.ipynb").read_text() == "student saved just now"
    assert (folder / "q.ipynb").read_text() == "student created it just now"
    assert sorted(p.name for p in folder.iterdir()) == ["p.ipynb", "q.ipynb"]


# ------------------------------------------------------------------ bad input


def test_delivery_missing_assignment_folder_is_one_line_and_nothing_released(course, tmp_path):
    with pytest.raises(NbfleetError) as err:
        release_assignment(course, "assignment9")
    message = str(err.value)
    assert "\n" not in message and "course/solutions/assignment9" in message and "no such assignment folder" in message
    assert not course.students_dir.exists()


def test_delivery_damaged_ledger_is_an_error_and_nothing_written(course, tmp_path):
    files = release_folder(tmp_path, {"p.ipynb": "v1"})
    deliver(course, "a1", files, ["s1"])
    ledger_path(course, "a1").write_text("{not json")
    files = release_folder(tmp_path, {"p.ipynb": "v2"})
    with pytest.raises(NbfleetError) as err:
        deliver(course, "a1", files, ["s1"])
    assert "ledger" in str(err.value) and "\n" not in str(err.value)
    assert copy_of(course, "s1", "p.ipynb").read_text() == "v1"


@pytest.mark.parametrize("name", ["../escape.ipynb", "/etc/passwd", "a//b", f"{PARTIAL}x"])
def test_delivery_refuses_released_names_that_leave_the_folder(course, tmp_path, name):
    with pytest.raises(NbfleetError):
        deliver(course, "a1", {name: tmp_path / "x"}, ["s1"])
    assert not course.students_dir.exists()


def test_delivery_refuses_unsafe_student_ids(course, tmp_path):
    files = release_folder(tmp_path, {"p.ipynb": "v1"})
    with pytest.raises(NbfleetError) as err:
        deliver(course, "a1", files, ["s1", "../s2"])
    assert "../s2" in str(err.value)
    assert not course.students_dir.exists()

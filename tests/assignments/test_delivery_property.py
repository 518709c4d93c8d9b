"""Property (hypothesis, stateful): for any sequence of student edits, deletes and re-releases, no student edit is lost.

The machine plays a teacher who revises released files and re-releases (with or without --restore) and students
who edit, delete and re-create files, including the ``*.released-N*`` copies delivery leaves beside a conflict.
Student contents and teacher contents are drawn from disjoint sets of the same length, so that a lost edit
cannot hide behind an equal size or an equal text.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from nbfleet.assignments.deliver.apply import deliver
from nbfleet.fs import PARTIAL
from nbfleet.settings import parse

NAMES = ["p1.ipynb", "data/q.csv", "notes"]
STUDENTS = ["s1", "s2"]
TEACHER = st.sampled_from([f"T{i}" for i in range(6)])
STUDENT = st.sampled_from([f"S{i}" for i in range(6)])


class DeliveryMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.root = Path(tempfile.mkdtemp(prefix="nbfleet-prop-"))
        self.settings = parse({"teacher": {"user": "teacher", "uid": 1000, "gid": 1000}}, self.root / "course.toml")
        self.release_dir = self.root / "release"
        self.work: dict[Path, bytes] = {}  # what each student last wrote, by path: must never be lost
        self.delivered: set[Path] = set()  # paths nbfleet has delivered a version to
        self.deleted: set[Path] = set()  # delivered, then deleted by the student: back only with --restore

    def teardown(self):
        shutil.rmtree(self.root, ignore_errors=True)

    def folder(self, sid: str) -> Path:
        return self.settings.students_dir / sid / "a1"

    @initialize(contents=st.lists(TEACHER, min_size=len(NAMES), max_size=len(NAMES)))
    def first_version(self, contents):
        for name, text in zip(NAMES, contents, strict=True):
            path = self.release_dir / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)

    @rule(name=st.sampled_from(NAMES), text=TEACHER)
    def teacher_revises(self, name, text):
        (self.release_dir / name).write_text(text)

    @rule(restore=st.booleans())
    def release(self, restore):
        files = {name: self.release_dir / name for name in NAMES}
        deliver(self.settings, "a1", files, STUDENTS, restore=restore)
        for sid in STUDENTS:
            for name in NAMES:
                path = self.folder(sid) / name
                if path in self.work:
                    continue  # the student's: checked by the invariant
                if restore:
                    assert path.exists(), f"{path}: --restore did not bring it back"
                    self.deleted.discard(path)
                elif path in self.deleted:
                    assert not path.exists(), f"{path}: deleted by the student, restored without --restore"
                if path.exists():  # not the student's, so ours: it must be the current version
                    assert path.read_bytes() == files[name].read_bytes(), f"{path} did not get the new version"
                    self.delivered.add(path)

    @rule(sid=st.sampled_from(STUDENTS), name=st.sampled_from(NAMES), text=STUDENT)
    def student_edits(self, sid, name, text):
        path = self.folder(sid) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)  # in place: same inode, often the same size
        self.work[path] = text.encode()
        self.deleted.discard(path)

    @rule(sid=st.sampled_from(STUDENTS), name=st.sampled_from(NAMES))
    def student_deletes(self, sid, name):
        path = self.folder(sid) / name
        if path.exists() and path in self.delivered:
            self.deleted.add(path)
        path.unlink(missing_ok=True)
        self.work.pop(path, None)

    @rule(sid=st.sampled_from(STUDENTS), pick=st.integers(0, 10), text=STUDENT, delete=st.booleans())
    def student_touches_a_copy_beside(self, sid, pick, text, delete):
        copies = sorted(self.folder(sid).rglob("*.released-*"))
        if not copies:
            return
        path = copies[pick % len(copies)]
        if delete:
            path.unlink()
            self.work.pop(path, None)
        else:
            path.write_text(text)
            self.work[path] = text.encode()

    @invariant()
    def no_student_edit_is_lost(self):
        for path, text in self.work.items():
            assert path.exists(), f"student file removed: {path}"
            assert path.read_bytes() == text, f"student edit overwritten: {path}"

    @invariant()
    def no_partial_file_left(self):
        if self.settings.students_dir.exists():
            left = [p for p in self.settings.students_dir.rglob(f"{PARTIAL}*")]
            assert left == []


DeliveryMachine.TestCase.settings = hsettings(max_examples=60, stateful_step_count=30, deadline=None)
test_delivery_no_student_edit_is_ever_lost = DeliveryMachine.TestCase

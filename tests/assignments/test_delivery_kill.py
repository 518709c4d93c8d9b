"""kill -9 in the middle of a real delivery (a subprocess), then a re-run: nothing partial, nothing lost, all delivered."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from nbfleet.assignments.deliver.apply import deliver
from nbfleet.fs import PARTIAL
from nbfleet.settings import parse
from support.repo import REPO

STUDENTS = [f"s{n:07d}" for n in range(60)]
NAMES = ["problem1.ipynb", "problem2.ipynb", "data/big.csv", "notes.md"]
SIZE = 512 * 1024

RUN = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    sys.path.insert(0, {repo!r})
    from nbfleet.settings import parse
    from nbfleet.assignments.deliver.apply import deliver
    root = Path({root!r})
    settings = parse({{"teacher": {{"user": "teacher", "uid": 1000, "gid": 1000}}}}, root / "course.toml")
    files = {{n: root / "release" / n for n in {names!r}}}
    deliver(settings, "a1", files, {students!r})
    """
)


def content(version: str, name: str) -> bytes:
    block = hashlib.sha256(f"{version}/{name}".encode()).digest()
    return block * (SIZE // len(block))


def write_release(root: Path, version: str) -> None:
    for name in NAMES:
        path = root / "release" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content(version, name))


def partial_files(students: Path) -> list[Path]:
    return [p for p in students.rglob(f"{PARTIAL}*") if p.parent.name != "ledger"]


def check_nothing_partial_nothing_lost(students: Path, edits: dict[Path, bytes]) -> None:
    complete = {content(v, n) for v in ("v1", "v2") for n in NAMES}
    for sid in STUDENTS:
        for name in NAMES:
            path = students / sid / "a1" / name
            if path in edits:
                assert path.read_bytes() == edits[path], f"student edit lost: {path}"
            elif path.exists():
                assert path.read_bytes() in complete, f"partial file under its final name: {path}"


def test_delivery_killed_mid_way_then_rerun_completes_and_loses_nothing(tmp_path):
    settings = parse({"teacher": {"user": "teacher", "uid": 1000, "gid": 1000}}, tmp_path / "course.toml")
    students = settings.students_dir
    write_release(tmp_path, "v1")
    deliver(settings, "a1", {n: tmp_path / "release" / n for n in NAMES}, STUDENTS)

    rng = random.Random(4)
    edits = {}
    for sid in rng.sample(STUDENTS, 15):
        path = students / sid / "a1" / rng.choice(NAMES)
        edits[path] = f"{sid}'s own work".encode()
        path.write_bytes(edits[path])
    deleted = students / STUDENTS[-1] / "a1" / "notes.md"
    deleted.unlink()

    write_release(tmp_path, "v2")
    script = RUN.format(repo=str(REPO), root=str(tmp_path), names=NAMES, students=STUDENTS)
    kills = 0
    for delay in (0.0, 0.15, 0.4):
        proc = subprocess.Popen([sys.executable, "-c", script])
        deadline = time.monotonic() + 60
        while not partial_files(students) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(delay)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        assert proc.wait(timeout=60) in (0, -signal.SIGKILL)
        check_nothing_partial_nothing_lost(students, edits)
    assert kills >= 1, "the delivery finished before it could be killed: make it bigger"

    report = deliver(settings, "a1", {n: tmp_path / "release" / n for n in NAMES}, STUDENTS)
    check_nothing_partial_nothing_lost(students, edits)
    assert partial_files(students) == []
    assert not list((students / ".nbfleet" / "ledger").glob(f"{PARTIAL}*"))
    for sid in STUDENTS:
        for name in NAMES:
            path = students / sid / "a1" / name
            if path in edits:
                beside = path.with_name(f"{path.stem}.released-2{path.suffix}")
                assert beside.read_bytes() == content("v2", name)
            elif path == deleted:
                assert not path.exists()  # deleted by the student: back only with --restore
            else:
                assert path.read_bytes() == content("v2", name), path
    assert {d.action.value for d in report.decisions} <= {"update", "unchanged", "conflict", "deleted-by-student"}

"""Assignments on a host whose course folder is on its own disk (``shared=no``), for real.

The second test engine plays a lab server with a disk of its own: its course folder is a folder nbfleet never reads
or writes itself (``course_root`` there, different from this course's folder); release and collect reach it only
through that engine, with helper containers from the test course's base-notebook image (moved there by nbfleet).
The sample course is driven with `doit`, as the teacher runs it.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from nbfleet import settings as settings_module
from nbfleet.images import record as records
from nbfleet.settings import Teacher
from support.courses import read_record, retag, teach
from support.doit import errors, write_dodo
from support.doit import run as doit
from support.edits import student_adds_a_note, teacher_adds_a_hint
from support.engines import port_block, remove_course

pytestmark = [pytest.mark.docker, pytest.mark.slow]
HELPER = "nbfleet.helper=folders"
TAG = "hf" + __import__("secrets").token_hex(3)  # never the sample course's own "mbd": its servers may run here


def make_course(sample_course: Path, record: dict, hosts: str) -> Path:
    """The sample course, taught by the image's teacher, with ``hosts`` and the image as its launch image."""
    retag(teach(sample_course, Teacher(record["nb_user"], record["nb_uid"], record["nb_gid"])), TAG)
    (sample_course / "hosts").write_text(hosts)
    records.write(settings_module.load(sample_course / "course.toml"), {**record, "image": "course-notebook"})
    run = doit(sample_course, "roster")
    assert run.returncode == 0, run.stdout + run.stderr
    return sample_course


def servers(course: Path) -> dict[str, str]:
    import csv

    with open(course / "roster" / "users.csv", newline="", encoding="utf-8-sig") as f:
        return {r["SNumber"]: r[f"{TAG}_server"] for r in csv.DictReader(f)}


@pytest.fixture(scope="module")
def record(course_images, second_engine) -> dict:
    """base-notebook (it has python3), not yet on the second engine: the first release must move it there."""
    rec = read_record(course_images, "base-notebook")
    try:
        second_engine.client.images.remove(rec["id"], force=True)
    except Exception:  # noqa: BLE001 - not there
        pass
    return rec


@pytest.fixture
def remote(tmp_path_factory) -> Path:
    """The second host's course folder: a path of its own, which the course's own folder never is."""
    root = tmp_path_factory.mktemp("lab-b-disk") / "srv-course"
    root.mkdir()
    return root


@pytest.fixture
def course(sample_course, record, second_engine, remote):
    hosts = (f"a local capacity=2 public=127.0.0.1\n"
             f"b {second_engine.endpoint} capacity=2 public=127.0.0.1 course_root={remote} shared=no\n")
    return make_course(sample_course, record, hosts)


def test_release_revise_and_collect_on_a_host_with_its_own_disk(course, remote, second_engine, record):
    where = servers(course)
    on_b = sorted(sid for sid, h in where.items() if h == "b")
    on_a = sorted(sid for sid, h in where.items() if h == "a")
    assert len(on_b) == 2 and len(on_a) == 2

    first = doit(course, "release:assignment1")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "assignment1: 4 students" in first.stdout
    assert second_engine.client.images.get(record["id"]), "the course image was moved to the host first"
    for sid in on_b:
        folder = remote / "students" / sid / "assignment1"
        assert (folder / "problem1.ipynb").is_file() and (folder / "data").is_dir()
        assert folder.stat().st_uid == record["nb_uid"] and (folder / "problem1.ipynb").stat().st_uid == record["nb_uid"]
        assert not (course / "students" / sid).exists(), "nothing for b's students in this machine's folder"
        assert "-solutions" not in " ".join(p.name for p in folder.rglob("*"))
    for sid in on_a:
        assert (course / "students" / sid / "assignment1" / "problem1.ipynb").is_file()
    assert (remote / "students" / ".nbfleet" / "ledger" / "assignment1.json").is_file(), "b's ledger is on b's disk"
    assert not second_engine.client.containers.list(all=True, filters={"label": HELPER}), "helpers are removed"
    again = doit(course, "release:assignment1")
    assert again.returncode == 0 and "-- release:assignment1" in again.stdout

    # a student on b edits; the teacher revises the notebook; the revision lands beside the edit
    mine = remote / "students" / on_b[0] / "assignment1" / "problem1.ipynb"
    edited = student_adds_a_note(mine)
    teacher_adds_a_hint(course)
    revised = doit(course, "release:assignment1")
    assert revised.returncode == 0, revised.stdout + revised.stderr
    assert "3 update" in revised.stdout and "1 conflict" in revised.stdout, revised.stdout
    assert on_b[0] in revised.stdout and "problem1.released-2.ipynb" in revised.stdout
    assert mine.read_bytes() == edited
    assert "A hint added" in (mine.parent / "problem1.released-2.ipynb").read_text()
    assert "A hint added" in (remote / "students" / on_b[1] / "assignment1" / "problem1.ipynb").read_text()

    collected = doit(course, "collect:assignment1")
    assert collected.returncode == 0, collected.stdout + collected.stderr
    subs = course / "build" / "submissions" / "assignment1"
    assert (subs / on_b[0] / "problem1.ipynb").read_bytes() == edited, "byte for byte"
    assert (subs / on_b[0] / "problem1.released-2.ipynb").read_bytes() == (mine.parent / "problem1.released-2.ipynb").read_bytes()
    manifest = json.loads((subs / "_manifest.json").read_text())
    assert sorted(manifest["students"]) == sorted(sid for sid in where if sid != "teacher"), "the admin is staff: not collected"
    assert manifest["students"][on_b[0]]["files"]["problem1.ipynb"]["released"] is False
    untouched = next(sid for sid in [*on_b[1:], *on_a] if sid != "teacher")
    assert manifest["students"][untouched]["files"]["problem1.ipynb"]["released"] is True
    for sid in on_a:
        assert (subs / sid / "problem1.ipynb").is_file() == (sid != "teacher")
    assert not [p for p in subs.iterdir() if p.name.startswith(".partial")]

    # graded here, in sandboxes; each student's feedback reaches their folder, b's through b's engine
    graded = doit(course, "grade:assignment1")
    assert graded.returncode == 0, graded.stdout + graded.stderr
    assert "assignment1: 3 graded in sandboxes" in graded.stdout  # the three students; the teacher is staff
    for sid in on_b:
        assert (remote / "students" / sid / "feedback" / "assignment1" / "problem1.html").is_file() == (sid != "teacher")
        assert not (course / "students" / sid).exists(), "nothing for b's students in this machine's folder"
    for sid in on_a:
        assert (course / "students" / sid / "feedback" / "assignment1" / "problem2.html").is_file() == (sid != "teacher")
    assert (remote / "students" / ".nbfleet" / "ledger" / f"feedback@assignment1@{on_b[0]}.json").is_file()


def test_a_helper_killed_mid_release_leaves_nothing_half_written_and_a_rerun_completes(course, remote, second_engine):
    big = course / "course" / "solutions" / "assignment1" / "data" / "big.bin"
    big.write_bytes(os.urandom(128 * 1024 * 1024))  # long enough a write to be killed in the middle
    client = second_engine.client
    run = doit(course, "release:assignment1", wait=False)
    deadline = time.monotonic() + 300
    killed = False
    while run.poll() is None and time.monotonic() < deadline:
        writing = [p for p in (remote / "students").rglob(".nbfleet-partial.*")] if (remote / "students").is_dir() else []
        helpers = client.api.containers(filters={"label": HELPER, "status": "running"}) if writing else []
        if helpers:  # killed while it writes the students' files
            try:
                client.api.kill(helpers[0]["Id"], signal="SIGKILL")
                killed = True
            except Exception:  # noqa: BLE001 - it ended just now
                pass
            break
        time.sleep(0.01)
    out = run.communicate(timeout=600)[0]
    assert killed, f"never saw the helper running: {out[-3000:]}"
    assert run.returncode != 0 and "host b" in out, out
    rerun = doit(course, "release:assignment1")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    released = course / "build" / "stripped" / "assignment1"
    for sid in (s for s, h in servers(course).items() if h == "b"):
        folder = remote / "students" / sid / "assignment1"
        assert not [p for p in folder.rglob("*") if p.name.startswith(".nbfleet-partial")]
        assert (folder / "data" / "big.bin").read_bytes() == (released / "data" / "big.bin").read_bytes()
        assert (folder / "problem1.ipynb").read_bytes() == (released / "problem1.ipynb").read_bytes()


def test_an_unreachable_host_is_named_and_the_others_get_the_release(sample_course, record, second_engine, remote):
    hosts = (f"a local capacity=2 public=127.0.0.1\n"
             f"b {second_engine.endpoint} capacity=1 public=127.0.0.1 course_root={remote} shared=no\n"
             f"c tcp://127.0.0.1:1 capacity=1 course_root=/srv/c shared=no\n")
    course = make_course(sample_course, record, hosts)
    where = servers(course)
    run = doit(course, "release:assignment1")
    assert run.returncode != 0
    assert len(errors(run)) == 1 and "host c: cannot reach the Docker engine at tcp://127.0.0.1:1" in errors(run)[0], run.stdout
    assert "the other hosts got it" in errors(run)[0]
    for sid, host in where.items():
        if host == "a":
            assert (course / "students" / sid / "assignment1" / "problem1.ipynb").is_file()
        elif host == "b":
            assert (remote / "students" / sid / "assignment1" / "problem1.ipynb").is_file()
    collected = doit(course, "collect:assignment1")
    assert collected.returncode != 0 and "host c" in errors(collected)[0]
    manifest = json.loads((course / "build" / "submissions" / "assignment1" / "_manifest.json").read_text())
    (on_c,) = [sid for sid, h in where.items() if h == "c"]
    assert manifest["students"][on_c]["missing"] and "host c" in manifest["students"][on_c]["skipped"]["."]


def test_a_host_claimed_shared_that_is_not_is_caught(sample_course, record, second_engine, remote):
    hosts = (f"a local capacity=2 public=127.0.0.1\n"
             f"b {second_engine.endpoint} capacity=2 public=127.0.0.1 course_root={remote}\n")  # shared=yes by default
    course = make_course(sample_course, record, hosts)
    run = doit(course, "release:assignment1")
    assert run.returncode != 0
    (line,) = errors(run)
    assert f"host b: shared=yes, but {remote}/students there is not this machine's" in line and "set shared=no" in line
    assert not (remote / "students").exists() or not list((remote / "students").glob("s*")), "nothing written on b"


def test_a_bad_shared_value_is_one_line(sample_course, record):
    (sample_course / "hosts").write_text("a local\nb ssh://lab2 shared=perhaps\n")
    run = doit(sample_course, "release:assignment1")
    assert run.returncode != 0
    assert errors(run) == ["error: hosts:2:21: shared='perhaps': say yes (the course folder there is this machine's, "
                           "e.g. over NFS) or no (a disk of its own)"], run.stdout + run.stderr


def test_a_student_moved_to_a_host_with_its_own_disk_takes_their_folder_along(sample_course, record, second_engine, remote,
                                                                             docker_client):
    import csv

    low = port_block(10)
    hosts = (f"a local capacity=2 public=127.0.0.1 ports={low}-{low + 4}\n"
             f"b {second_engine.endpoint} capacity=3 public=127.0.0.1 ports={low + 5}-{low + 9} course_root={remote} shared=no\n")
    course = make_course(sample_course, record, hosts)
    write_dodo(course, "roster", "manifests", "launch", "strip", "release", "collect", "mail", "status", "stop")
    # (the image is given as a record: no image tasks in this course)
    toml = course / "course.toml"
    toml.write_text(toml.read_text().replace('memory = "2g"', 'memory = "512m"'))
    tag = TAG
    try:
        first = doit(course, "-n", "4", "launch")
        assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-2000:]
        released = doit(course, "release:assignment1")
        assert released.returncode == 0, released.stdout[-3000:]
        where = servers(course)
        mover = sorted(sid for sid, h in where.items() if h == "a" and sid != "teacher")[0]
        (course / "students" / mover / "notes.txt").write_text("my work\n")
        (course / "students" / mover / "sub").mkdir()
        (course / "students" / mover / "sub" / "data.csv").write_text("1,2\n")

        roster = course / "roster" / "users.csv"
        with open(roster, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
        head = rows[0]
        for row in rows[1:]:
            if row[0] == mover:
                row[head.index(f"{tag}_server")], row[head.index(f"{tag}_port")], row[head.index(f"{tag}_url")] = "b", "", ""
        with open(roster, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(rows)
        early = doit(course, "release:assignment1")  # before the launch that moves the folder: not into an empty one
        assert early.returncode != 0
        assert f"not delivered to {mover}: {mover}'s folder is still on a: run `doit launch` first (it moves it to b)" \
            in early.stdout, early.stdout[-3000:]
        assert not (remote / "students" / mover).exists()
        moved = doit(course, "-n", "4", "launch")
        assert moved.returncode == 0, moved.stdout[-3000:] + moved.stderr[-2000:]
        assert f"{mover}: folder moved from a" in moved.stdout
        assert servers(course)[mover] == "b"
        there = remote / "students" / mover
        assert (there / "notes.txt").read_text() == "my work\n" and (there / "sub" / "data.csv").read_text() == "1,2\n"
        assert there.stat().st_uid == record["nb_uid"] and (there / "notes.txt").stat().st_uid == record["nb_uid"]
        assert (course / "students" / mover / "notes.txt").read_text() == "my work\n", "the old folder stays"
        assert json.loads((course / "students" / ".nbfleet" / "folders.json").read_text())[mover] == "b"
        assert (there / "assignment1" / "problem1.ipynb").is_file(), "the released files came along"
        assert not docker_client.containers.list(all=True, filters={"name": f"{tag}-{mover}"}), "its server on a is gone"
        late = doit(course, "release:assignment1")
        assert late.returncode == 0, late.stdout[-3000:]
        running = second_engine.client.containers.get(f"{tag}-{mover}")
        code, out = running.exec_run(["cat", f"/home/{record['nb_user']}/work/notes.txt"])
        assert code == 0 and out == b"my work\n", "the server on b shows the student their own work"
        again = doit(course, "-n", "4", "launch")
        assert again.returncode == 0 and "-- launch:b" in again.stdout, "moved once, not again"
    finally:
        for client in (docker_client, second_engine.client):
            remove_course(client, tag)

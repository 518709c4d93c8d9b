"""`doit launch`, `doit status`, `doit stop` as the teacher runs them: roster -> manifests -> containers on two real hosts
(this machine's engine, and a second engine over ssh://), plus one host that does not answer.
"""

from __future__ import annotations

import json
import re

import pytest
import requests

from nbfleet.servers import engine
from support.courses import image_record, launch_course, random_course, read_roster
from support.doit import run as doit
from support.engines import port_block

pytestmark = pytest.mark.docker


def ran(out: str, task: str) -> bool:
    """Did doit execute ``task`` (". task") rather than skip it as up to date ("-- task")?"""
    return re.search(rf"^\.\s+{re.escape(task)}\s*$", out, re.M) is not None


@pytest.fixture
def course(tmp_path, docker_client, second_engine, ssh_host, tiny_image, cleanup_containers):
    tag = random_course()
    low = port_block(30)
    repo = launch_course(
        tmp_path / "course",
        tag,
        [f"a local capacity=2 public=127.0.0.1 ports={low}-{low + 9}",
         f"b {ssh_host.endpoint} capacity=2 public=127.0.0.1 ports={low + 10}-{low + 19} course_root={tmp_path / 'b-course'}",
         f"c tcp://127.0.0.1:1 capacity=1 public=127.0.0.1 ports={low + 20}-{low + 29}"],
        [("s1", False), ("s2", False), ("s3", False), ("s4", False), ("s5", False)],
        image_record(docker_client, tiny_image["tag"]),
    )
    cleanup_containers += [(docker_client, tag), (second_engine.client, tag)]
    return {"repo": repo, "tag": tag, "home": ssh_host.home, "clients": {"a": docker_client, "b": second_engine.client}}


def test_doit_launch_survives_an_unreachable_host_names_it_and_reruns_only_what_failed(course):
    repo, tag, home, clients = course["repo"], course["tag"], course["home"], course["clients"]
    first = doit(repo, "-n", "4", "launch", home=home)
    out = first.stdout + first.stderr
    assert first.returncode != 0, out
    assert re.search(r"error: host c: cannot reach the Docker engine at tcp://127\.0\.0\.1:1", out), out
    roster = read_roster(repo, tag)
    placed = {h: sorted(s for s, r in roster.items() if r["server"] == h) for h in ("a", "b", "c")}
    assert [len(placed[h]) for h in ("a", "b", "c")] == [2, 2, 1], roster
    for h in ("a", "b"):  # the unreachable host stopped neither of the others
        running = {c.student for c in engine.list_containers(clients[h], tag) if c.running}
        assert running == set(placed[h])
        for sid in placed[h]:
            assert requests.get(roster[sid]["url"], timeout=5).status_code == 200
    # no plain password anywhere the engine shows
    for h in ("a", "b"):
        for c in engine.list_containers(clients[h], tag):
            text = json.dumps(clients[h].api.inspect_container(c.id))
            assert not any(r["password"] in text for r in roster.values())

    second = doit(repo, "-n", "4", "launch", home=home)
    out = second.stdout + second.stderr
    assert second.returncode != 0 and "host c" in out
    assert not ran(out, "launch:a") and not ran(out, "launch:b") and ran(out, "launch:c"), out

    # a dead container on b: the next launch runs b only, and the student's files are still there
    victim = placed["b"][0]
    folder = repo.parent / "b-course" / "students" / victim
    (folder / "notes.txt").write_text("mine\n")
    clients["b"].api.kill(f"{tag}-{victim}")
    third = doit(repo, "-n", "4", "launch", home=home)
    out = third.stdout + third.stderr
    assert ran(out, "launch:b") and not ran(out, "launch:a"), out
    assert re.search(r"│\s*b\s*│\s*1\s*│\s*0\s*│\s*1\s*│", out), out  # b: started 1, recreated 0, unchanged 1
    assert requests.get(roster[victim]["url"], timeout=5).status_code == 200
    assert (folder / "notes.txt").read_text() == "mine\n"


def test_doit_status_and_stop_keep_all_data(course):
    repo, tag, home, clients = course["repo"], course["tag"], course["home"], course["clients"]
    doit(repo, "-n", "4", "launch", home=home)
    roster = read_roster(repo, tag)
    status = doit(repo, "status", home=home)
    out = status.stdout + status.stderr
    assert status.returncode != 0 and "cannot reach c" in out, out  # c is down: said, and the table is still there
    page = (repo / "build" / "status.html").read_text()
    for sid, r in roster.items():
        assert sid in out and sid in page
        assert f'href="{r["url"]}"' in page
        assert r["password"] not in page
    assert out.count("running") >= 4
    assert "host unreachable" in out

    b_students = [s for s, r in roster.items() if r["server"] == "b"]
    (repo.parent / "b-course" / "students" / b_students[0] / "keep.txt").write_text("x")
    stop = doit(repo, "stop:b", home=home)
    assert stop.returncode == 0, stop.stdout + stop.stderr
    states = {c.student: c.state for c in engine.list_containers(clients["b"], tag)}
    assert states == {s: "exited" for s in b_students}
    assert all(c.running for c in engine.list_containers(clients["a"], tag))
    assert (repo.parent / "b-course" / "students" / b_students[0] / "keep.txt").read_text() == "x"
    again = doit(repo, "-n", "4", "launch:b", home=home)
    assert again.returncode == 0, again.stdout + again.stderr
    assert all(c.running for c in engine.list_containers(clients["b"], tag))

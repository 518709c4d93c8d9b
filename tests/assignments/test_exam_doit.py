"""`doit exam:<a>` and `doit exam:<a> --end` as a teacher runs them, on real containers (the tiny server stands in
for Jupyter: what is proven here is the exam's network, folders, snapshot and return, not Jupyter's login)."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pytest
import requests

from nbfleet import labels
from support.courses import image_record, random_course, read_roster, retag, write_record
from support.doit import run as doit
from support.doit import write_dodo
from support.engines import port_block
from support.network import PUBLIC_IP, Outside, reach

pytestmark = pytest.mark.docker
A = "assignment1"


@pytest.fixture
def course(sample_course, docker_client, tiny_image, cleanup_containers):
    tag = random_course()
    retag(sample_course, tag)
    low = port_block(10)
    (sample_course / "hosts").write_text(f"local local capacity=10 public=127.0.0.1 ports={low}-{low + 9}\n")
    write_record(sample_course, image_record(docker_client, tiny_image["tag"]))
    shutil.copytree(sample_course / "course" / "solutions" / A, sample_course / "course" / "solutions" / "assignment2")
    write_dodo(sample_course, "roster", "manifests", "launch", "status", "strip", "release", "collect", "exam")
    cleanup_containers.append((docker_client, tag))
    outside = Outside().start()
    yield sample_course, tag, outside
    outside.stop()


def ok(result):
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def one_line_error(result, text: str) -> None:
    assert result.returncode != 0 and text in result.stdout + result.stderr, result.stdout + result.stderr


def in_server(client, name: str, *cmd: str) -> str:
    c = client.containers.get(name)
    return c.exec_run(list(cmd), user="1000:1000").output.decode()


def test_an_exam_cuts_servers_off_shows_only_its_folder_and_ends_with_a_snapshot_holding_the_last_save(course, docker_client):
    repo, tag, outside = course
    one_line_error(doit(repo, "exam:nosuch"), "Invalid parameter: \"exam:nosuch\"")  # not even a task: doit says so
    ok(doit(repo, "launch"))
    one_line_error(doit(repo, f"exam:{A}"), f"{A} is not released yet: run `doit release:{A}` first")
    assert not (repo / "build" / "exam.json").exists()
    ok(doit(repo, f"release:{A}"))
    roster = read_roster(repo, tag)
    student = "s1234567"
    server = f"{tag}-{student}"
    (repo / "students" / student / "diary").mkdir()
    (repo / "students" / student / "diary" / "notes.txt").write_text("not for the exam\n")
    assert reach(docker_client, server, PUBLIC_IP, 443), "before the exam the course's policy (internet) holds"

    now = dt.datetime.now(dt.UTC).isoformat()
    working = json.dumps({"started": now, "last_activity": now, "connections": 1, "kernels": 1})  # a student at work
    docker_client.containers.get(server).exec_run(["sh", "-c", 'printf "%s\\n" "$1" > /tmp/activity.json', "x", working])
    out = ok(doit(repo, f"exam:{A}"))
    assert f"exam {A}: every student's server is recreated now" in out, out
    assert f"exam {A} runs: 1 student(s) were working when their server was recreated ({student})" in out, out
    assert json.loads((repo / "build" / "exam.json").read_text())["assignment"] == A
    one_line_error(doit(repo, f"exam:{A}"), f"the exam of {A} runs since")
    ok(doit(repo, "release:assignment2"))
    one_line_error(doit(repo, "exam:assignment2"), f"the exam of {A} runs since")
    one_line_error(doit(repo, "exam:assignment2", "--end"),
                   "no exam of assignment2 to end (the exam of assignment1 runs)")
    c = docker_client.containers.get(server)
    assert c.labels[labels.EXAM] == A
    assert requests.get(roster[student]["url"], timeout=5).status_code == 200, "same URL throughout"
    assert not reach(docker_client, server, PUBLIC_IP, 443) and not reach(docker_client, server, outside.private_ip, 53)
    assert in_server(docker_client, server, "ls", f"/home/{_user(c)}/work").split() == [A], "only the exam's folder"
    status = ok(doit(repo, "status"))
    assert f"exam {A}" in status
    page = (repo / "build" / "status.html").read_text()
    assert page.count(f"<td>exam {A}</td>") == len(roster) - 1, "every student's server, not the teacher's"
    # a save a moment before the end
    in_server(docker_client, server, "sh", "-c", f"echo 'my answer' > /home/{_user(c)}/work/{A}/answer.txt")

    out = ok(doit(repo, f"exam:{A}", "--end"))
    assert f"exam {A}: snapshot of" in out and f"exam {A} ended" in out
    snap = repo / "build" / "submissions" / A
    assert (snap / student / "answer.txt").read_text() == "my answer\n"
    marker = json.loads((snap / "_exam.json").read_text())
    assert marker["exam"] is True and marker["snapshot"] >= marker["started"]
    assert (repo / "students" / student / A / "answer.txt").read_text() == "my answer\n", "the same folder throughout"
    assert not (repo / "build" / "exam.json").exists()
    c = docker_client.containers.get(server)
    assert labels.EXAM not in c.labels
    assert sorted(in_server(docker_client, server, "ls", f"/home/{_user(c)}/work").split()) == sorted([A, "assignment2", "diary"])
    assert reach(docker_client, server, PUBLIC_IP, 443), "back to the course's policy"
    assert f"exam {A}" not in ok(doit(repo, "status"))
    one_line_error(doit(repo, f"exam:{A}", "--end"), f"no exam of {A} to end (no exam runs)")


def _user(container) -> str:
    return container.attrs["Config"]["WorkingDir"].split("/")[2]

"""The swarm backend for real: a swarm on a test engine of its own (never the machine's), a course driven with `doit`.

One course of three students runs the test course's base-notebook (real Jupyter) as Swarm services; the tests
follow one term in order: launch, log in, a killed server that Swarm brings back by itself, a no-op launch,
status and stop, a new image rolled out, a student leaving, and switching the course to plain containers and back.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
import requests

from support.courses import launch_course, random_course, read_record, read_roster
from support.doit import run as doit
from support.engines import SwarmOn, port_block, remove_course
from support.jupyter import login, wait_for_api
from support.workshop import wait_for

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture(scope="module")
def swarm(second_engine):
    """A one-node swarm on the second test engine; left (and its gateway bridge removed) afterwards."""
    sw = SwarmOn(second_engine).init()
    yield sw
    sw.leave()


def services(client, tag: str) -> dict[str, dict]:
    """The course's services on the swarm, by student."""
    return {s["Spec"]["Labels"]["nbfleet.student"]: s
            for s in client.api.services(filters={"label": f"nbfleet.course={tag}"}, status=True)}


def task_container(client, service: str) -> dict | None:
    """The running task's container of a service (inspect), or None."""
    for t in client.api.tasks(filters={"service": service, "desired-state": "running"}):
        if t["Status"]["State"] == "running":
            return client.api.inspect_container(t["Status"]["ContainerStatus"]["ContainerID"])
    return None


def url(row: dict) -> str:
    """A student's server URL from the roster, without its trailing slash (as jupyter_http takes it)."""
    return row["url"].rstrip("/")


def set_backend(repo: Path, backend: str) -> None:
    toml = repo / "course.toml"
    text = toml.read_text()
    lines = [ln for ln in text.splitlines() if not ln.startswith("backend = ")]
    i = lines.index("[launch]")
    lines.insert(i + 1, f'backend = "{backend}"')
    toml.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def course(tmp_path_factory, swarm, second_engine, course_images, docker_client):
    record = read_record(course_images, "base-notebook")
    tag = random_course()
    low = port_block(10)
    repo = launch_course(tmp_path_factory.mktemp("swarm") / "course", tag,
                            [f"a {second_engine.endpoint} capacity=5 public=127.0.0.1 ports={low}-{low + 9}"],
                            [("s1", False), ("s2", False), ("s3", False)], record,
                            launch={"backend": "swarm", "memory": "512m", "idle_window": "1s"})
    with open(repo / "course.toml", "a") as toml:
        toml.write('\n[swarm]\nreserve_memory = "64m"\nreserve_cpus = 0.1\n')
    t0 = time.monotonic()
    result = doit(repo, "-n", "4", "launch")
    seconds = time.monotonic() - t0
    yield {"repo": repo, "tag": tag, "launch": result, "seconds": seconds, "roster": read_roster(repo, tag),
           "client": second_engine.client, "record": record, "uid": record["nb_uid"]}
    for s in second_engine.client.api.services(filters={"label": f"nbfleet.course={tag}"}):
        second_engine.client.api.remove_service(s["ID"])
    remove_course(second_engine.client, tag)


def test_launch_makes_one_service_per_student_pinned_to_their_host(course):
    assert course["launch"].returncode == 0, course["launch"].stdout[-3000:] + course["launch"].stderr[-3000:]
    client, tag, roster = course["client"], course["tag"], course["roster"]
    found = services(client, tag)
    assert sorted(found) == ["s1", "s2", "s3"]
    node = client.nodes.get(client.info()["Swarm"]["NodeID"])
    assert node.attrs["Spec"]["Labels"].get("nbfleet.host") == "a", "nbfleet labels the host's node from `hosts`"
    for sid, svc in found.items():
        spec = svc["Spec"]
        assert spec["Mode"] == {"Replicated": {"Replicas": 1}} and svc["ServiceStatus"]["RunningTasks"] == 1
        assert spec["TaskTemplate"]["Placement"]["Constraints"] == ["node.labels.nbfleet.host==a"]
        assert spec["TaskTemplate"]["Resources"]["Reservations"] == {"MemoryBytes": 64 * 1024**2, "NanoCPUs": 100_000_000}
        (port,) = spec["EndpointSpec"]["Ports"]
        assert (port["PublishMode"], port["TargetPort"], port["PublishedPort"]) == ("host", 8888, int(roster[sid]["port"]))
        (mount,) = spec["TaskTemplate"]["ContainerSpec"]["Mounts"]
        assert mount["Source"] == str(course["repo"] / "students" / sid) and mount["Type"] == "bind"
        inspect = task_container(client, spec["Name"])
        host_config = inspect["HostConfig"]
        assert (host_config["Memory"], host_config["NanoCpus"], host_config["PidsLimit"]) == (512 * 1024**2, 10**9, 512)
        assert host_config["CapDrop"] == ["ALL"] and inspect["Config"]["User"] == f"{course['uid']}:{course['record']['nb_gid']}"


def test_a_student_logs_in_with_the_roster_password_and_their_files_land_in_their_folder(course):
    r = course["roster"]["s1"]
    session = login(url(r), r["password"])
    put = session.put(url(r) + "/api/contents/hello.txt", json={"type": "file", "format": "text", "content": "hi\n"}, timeout=10)
    assert put.status_code in (200, 201), put.text[:300]
    f = course["repo"] / "students" / "s1" / "hello.txt"
    assert f.read_text() == "hi\n" and f.stat().st_uid == course["uid"]
    bad = requests.Session()
    bad.get(r["url"] + "login", timeout=10)
    wrong = bad.post(r["url"] + "login", data={"password": r["password"] + "x", "_xsrf": bad.cookies.get("_xsrf", "")},
                     allow_redirects=False, timeout=10)
    assert wrong.status_code != 302


def test_service_inspect_shows_no_plain_password(course, second_engine):
    for sid, r in course["roster"].items():
        out = subprocess.run(["docker", "-H", second_engine.endpoint, "service", "inspect", f"{course['tag']}-{sid}"],
                             capture_output=True, text=True, check=True).stdout
        assert r["password"] not in out
        assert "--PasswordIdentityProvider.hashed_password=argon2:$argon2id$" in out


def test_a_killed_server_comes_back_by_itself_with_the_students_files(course):
    client, r = course["client"], course["roster"]["s1"]
    name = f"{course['tag']}-s1"
    before = task_container(client, name)
    t0 = time.monotonic()
    client.api.kill(before["Id"])

    def back():
        c = task_container(client, name)
        return c if c and c["Id"] != before["Id"] else None

    after = wait_for("Swarm to replace the killed server", back, timeout=60, every=0.3)
    wait_for_api(url(r), timeout=60)
    print(f"Swarm replaced the killed server in {time.monotonic() - t0:.1f} s")
    session = login(url(r), r["password"])
    got = session.get(url(r) + "/api/contents/hello.txt", timeout=10).json()
    assert got["content"] == "hi\n" and after["Id"] != before["Id"]


def test_a_no_op_launch_touches_no_service(course):
    client, tag = course["client"], course["tag"]
    versions = {sid: s["Version"]["Index"] for sid, s in services(client, tag).items()}
    t0 = time.monotonic()
    result = doit(course["repo"], "-n", "4", "launch")
    seconds = time.monotonic() - t0
    assert result.returncode == 0, result.stdout[-2000:]
    assert {sid: s["Version"]["Index"] for sid, s in services(client, tag).items()} == versions
    assert "-- launch:a" in result.stdout and ". launch:a" not in result.stdout, "up to date: the host's action does not run"
    assert seconds < 10, seconds


def test_status_and_stop_work_from_the_services(course):
    repo, client, tag = course["repo"], course["client"], course["tag"]
    status = doit(repo, "status")
    assert status.returncode == 0, status.stdout[-2000:]
    assert "3 servers, 3 running" in status.stdout
    stop = doit(repo, "stop")
    assert stop.returncode == 0 and "a: stopped 3 service(s)" in stop.stdout, stop.stdout[-2000:]
    assert all(s["Spec"]["Mode"]["Replicated"]["Replicas"] == 0 for s in services(client, tag).values())
    wait_for("the stopped services' containers to go", lambda: not client.api.containers(filters={"label": f"nbfleet.course={tag}"}),
             timeout=30, every=0.3)
    status = doit(repo, "status")
    assert "3 servers, 0 running" in status.stdout and status.stdout.count("exited") >= 3, status.stdout[-2000:]
    again = doit(repo, "-n", "4", "launch")
    assert again.returncode == 0, again.stdout[-2000:]
    assert all(s["ServiceStatus"]["RunningTasks"] == 1 for s in services(client, tag).values())
    assert (repo / "students" / "s1" / "hello.txt").read_text() == "hi\n"


def test_a_new_image_rolls_every_service_over_and_the_folder_stays(course, docker_client):
    repo, client, tag, record = course["repo"], course["client"], course["tag"], course["record"]
    import io

    dockerfile = f"FROM {record['id']}\nLABEL nbfleet.test.rollout={tag}\n".encode()
    image, _ = docker_client.images.build(fileobj=io.BytesIO(dockerfile), tag=f"nbfleet-test/rollout:{tag}", rm=True)
    new = {**record, "id": image.id, "tags": [f"nbfleet-test/rollout:{tag}"]}
    (repo / "build" / "images" / "course-notebook.json").write_text(json.dumps(new, indent=1))
    try:
        result = doit(repo, "-n", "4", "launch")
        assert result.returncode == 0, result.stdout[-3000:]
        assert "recreated" in result.stdout
        for svc in services(client, tag).values():
            assert svc["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"] == image.id
            assert task_container(client, svc["Spec"]["Name"])["Image"] == image.id
        r = course["roster"]["s1"]
        assert login(url(r), r["password"]).get(url(r) + "/api/contents/hello.txt", timeout=10).json()["content"] == "hi\n"
    finally:
        (repo / "build" / "images" / "course-notebook.json").write_text(json.dumps(record, indent=1))


def test_a_student_who_leaves_loses_the_service_never_the_folder(course):
    repo, client, tag = course["repo"], course["client"], course["tag"]
    (repo / "students" / "s3" / "mine.txt").write_text("keep\n")
    csv = repo / "roster" / "users.csv"
    keep = csv.read_text()
    csv.write_text("".join(ln for ln in keep.splitlines(keepends=True) if not ln.startswith("s3,")))
    result = doit(repo, "-n", "4", "launch")
    assert result.returncode == 0, result.stdout[-3000:]
    assert sorted(services(client, tag)) == ["s1", "s2"]
    assert (repo / "students" / "s3" / "mine.txt").read_text() == "keep\n"


def test_switching_to_containers_and_back_keeps_folders_urls_and_passwords(course):
    repo, client, tag, roster = course["repo"], course["client"], course["tag"], course["roster"]

    def check_logins():
        for sid in ("s1", "s2"):
            r = roster[sid]
            wait_for_api(url(r), timeout=60)
            session = login(url(r), r["password"])
            assert session.get(url(r) + "/api/contents", timeout=10).status_code == 200
        r = roster["s1"]
        assert login(url(r), r["password"]).get(url(r) + "/api/contents/hello.txt", timeout=10).json()["content"] == "hi\n"

    set_backend(repo, "containers")
    result = doit(repo, "-n", "4", "launch")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "removed 2 Swarm services first" in result.stdout
    assert services(client, tag) == {}
    plain = client.api.containers(filters={"label": f"nbfleet.course={tag}"})
    assert sorted(c["Names"][0] for c in plain) == [f"/{tag}-s1", f"/{tag}-s2"]
    assert all("com.docker.swarm.task.id" not in c["Labels"] for c in plain)
    check_logins()

    set_backend(repo, "swarm")
    result = doit(repo, "-n", "4", "launch")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "removed 2 containers first" in result.stdout
    assert sorted(services(client, tag)) == ["s1", "s2"]
    assert all("com.docker.swarm.task.id" in c["Labels"] for c in client.api.containers(filters={"label": f"nbfleet.course={tag}"}))
    check_logins()

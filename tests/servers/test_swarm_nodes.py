"""A two-node swarm for real, and the swarm backend's faults.

The second test engine manages the swarm; a third engine runs in a network namespace of its own (its own address,
as a second machine) and joins as a worker. The tiny stand-in server keeps it quick: what is proven is placement,
a node going down as `doit status` reports it, and the one-line errors.
"""

from __future__ import annotations

import json
import time

import pytest
import requests

from support.courses import image_record, launch_course, random_course, read_roster
from support.doit import run as doit
from support.engines import NetnsEngine, Registry, SwarmOn, port_block, remove_swarm_course

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture(scope="module")
def farm(second_engine):
    """{"swarm", "manager", "worker"}: a swarm on the second engine, a worker engine in its own namespace joined."""
    sw = SwarmOn(second_engine).init()
    worker = NetnsEngine(5, second_engine).start()
    try:
        sw.join(worker)
        yield {"swarm": sw, "manager": second_engine, "worker": worker}
    finally:
        worker.stop()
        sw.leave()


def errors(result) -> list[str]:
    return [ln for ln in (result.stdout + result.stderr).splitlines() if ln.startswith("error:")]


@pytest.fixture
def courses(farm):
    """The test's course tags: each taken off the swarm afterwards, its walls included."""
    tags: list[str] = []
    yield tags
    for tag in tags:
        remove_swarm_course(farm["manager"].client, tag)


def services(client, tag: str) -> dict[str, dict]:
    return {s["Spec"]["Labels"]["nbfleet.student"]: s for s in client.api.services(filters={"label": f"nbfleet.course={tag}"})}


def test_with_a_course_registry_the_manager_pushes_the_image_and_the_other_node_pulls_it(farm, tmp_path, docker_client,
                                                                                        tiny_image):
    manager, worker = farm["manager"], farm["worker"]
    registry = Registry().start()
    address = f"{manager.address.split('/')[0]}:{registry.port}"  # the registry, as both nodes reach it
    tag = random_course()
    low = port_block(4)
    try:
        repo = launch_course(tmp_path / "course", tag,
                                [f"a {manager.endpoint} capacity=1 public=127.0.0.1 ports={low}-{low + 1}",
                                 f"b {worker.endpoint} capacity=1 public={worker.ip} ports={low + 2}-{low + 3}"],
                                [("s1", False), ("s2", False)], image_record(docker_client, tiny_image["tag"]),
                                launch={"backend": "swarm", "memory": "64m", "ready_timeout": "60s"})
        with open(repo / "course.toml", "a") as toml:
            toml.write(f'\n[swarm]\nregistry = "{address}"\n')
        assert not [i for i in worker.client.images.list() if i.id == tiny_image["id"]], "the worker starts without it"
        result = doit(repo, "-n", "4", "launch")
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
        repository, version = tiny_image["tag"].rsplit(":", 1)
        assert version in registry.tags(repository), "pushed once, by the manager"
        pulled = worker.client.images.get(tiny_image["id"])
        assert f"{address}/{tiny_image['tag']}" in pulled.tags, "the worker pulled it from the registry"
        for svc in services(manager.client, tag).values():
            assert svc["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"].startswith(f"{address}/{tiny_image['tag']}")
        roster = read_roster(repo, tag)
        for r in roster.values():
            assert requests.get(r["url"], timeout=5).text == "ok\n"
        again = doit(repo, "-n", "4", "launch")
        assert again.returncode == 0 and "-- launch:a" in again.stdout and "-- launch:b" in again.stdout
    finally:
        remove_swarm_course(manager.client, tag)
        registry.stop()


def test_students_run_on_their_hosts_node_and_a_node_going_down_shows_in_status(farm, tmp_path, docker_client, tiny_image,
                                                                                 courses):
    manager, worker = farm["manager"], farm["worker"]
    tag = random_course()
    courses.append(tag)
    low = port_block(10)
    repo = launch_course(tmp_path / "course", tag,
                            [f"a {manager.endpoint} capacity=2 public=127.0.0.1 ports={low}-{low + 4}",
                             f"b {worker.endpoint} capacity=2 public={worker.ip} ports={low + 5}-{low + 9}"],
                            [(f"s{i}", False) for i in range(1, 5)], image_record(docker_client, tiny_image["tag"]),
                            launch={"backend": "swarm", "memory": "64m", "ready_timeout": "60s"})
    result = doit(repo, "-n", "4", "launch")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    roster = read_roster(repo, tag)
    nodes = {manager.client.info()["Swarm"]["NodeID"]: "a", worker.client.info()["Swarm"]["NodeID"]: "b"}
    found = services(manager.client, tag)
    assert sorted(found) == ["s1", "s2", "s3", "s4"]
    for sid, svc in found.items():
        (task,) = [t for t in manager.client.api.tasks(filters={"service": svc["ID"], "desired-state": "running"})]
        assert nodes[task["NodeID"]] == roster[sid]["server"], f"{sid} runs on the node of its host"
        assert requests.get(roster[sid]["url"], timeout=5).text == "ok\n"
    on_b = sorted(sid for sid, r in roster.items() if r["server"] == "b")
    assert len(on_b) == 2 and roster[on_b[0]]["url"].startswith(f"http://{worker.ip}:")

    worker.halt()  # the machine of host b goes down
    t0 = time.monotonic()
    while True:
        node = manager.client.api.inspect_node(worker_id := next(k for k, v in nodes.items() if v == "b"))
        if node["Status"]["State"] == "down":
            break
        assert time.monotonic() - t0 < 60, "the manager never saw the node go down"
        time.sleep(0.5)
    print(f"the manager reported node b down after {time.monotonic() - t0:.1f} s ({worker_id[:12]})")
    status = doit(repo, "status")
    assert status.returncode != 0
    assert errors(status) == [f"error: swarm: the node of b is down: 2 student(s) without a server ({', '.join(on_b)})"], status.stdout[-3000:]
    rows = {ln.split("│")[1].strip(): ln for ln in status.stdout.splitlines() if ln.count("│") > 3 and ln.split("│")[1].strip().startswith("s")}
    for sid, r in roster.items():
        assert ("node down" in rows[sid]) == (r["server"] == "b"), rows[sid]
        assert ("running" in rows[sid]) == (r["server"] == "a"), rows[sid]
    page = (repo / "build" / "status.html").read_text()
    assert page.count("node down") == 2


def test_a_host_whose_engine_is_not_in_the_swarm_fails_alone(farm, tmp_path, docker_client, tiny_image, courses):
    manager = farm["manager"]
    tag = random_course()
    courses.append(tag)
    low = port_block(10)
    repo = launch_course(tmp_path / "course", tag,
                            [f"a {manager.endpoint} capacity=2 public=127.0.0.1 ports={low}-{low + 4}",
                             f"c local capacity=2 public=127.0.0.1 ports={low + 5}-{low + 9}"],  # this machine's engine: no swarm
                            [(f"s{i}", False) for i in range(1, 5)], image_record(docker_client, tiny_image["tag"]),
                            launch={"backend": "swarm", "memory": "64m", "ready_timeout": "60s"})
    result = doit(repo, "-n", "4", "launch")
    assert result.returncode != 0
    assert "error: host c: its Docker engine is not part of the swarm: run `docker swarm join` there " \
           "(`docker swarm join-token worker` on a prints the command)" in result.stdout + result.stderr
    roster = read_roster(repo, tag)
    found = services(manager.client, tag)
    assert sorted(found) == sorted(sid for sid, r in roster.items() if r["server"] == "a"), "host a's students are up"
    assert not docker_client.containers.list(all=True, filters={"label": f"nbfleet.course={tag}"}), "nothing on host c"


def test_an_engine_that_is_not_a_manager_is_refused_in_one_line(tmp_path, docker_client, tiny_image):
    tag = random_course()
    low = port_block(4)
    repo = launch_course(tmp_path / "course", tag, [f"lab1 local capacity=2 public=127.0.0.1 ports={low}-{low + 3}"],
                            [("s1", False)], image_record(docker_client, tiny_image["tag"]), launch={"backend": "swarm"})
    for command in (["launch"], ["status"], ["stop"]):
        result = doit(repo, *command)
        assert result.returncode != 0, command
        assert errors(result) == ["error: swarm manager lab1: its Docker engine is not a swarm manager: run `docker swarm init` "
                                  "there and `docker swarm join` (with the token `docker swarm join-token worker` prints) "
                                  "on the other hosts"], (command, result.stdout[-2000:], result.stderr[-2000:])
    assert not docker_client.containers.list(all=True, filters={"label": f"nbfleet.course={tag}"})
    assert json.loads((repo / "build" / "launch" / "lab1.json").read_text())["backend"]["kind"] == "swarm"

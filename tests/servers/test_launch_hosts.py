"""`launch_host` against two real engines: this machine's and a second dockerd reached over ssh:// through a real sshd.

The tiny server image stands in for Jupyter here (login, kernels and ownership by a real Jupyter are proven in
test_launch_jupyter.py); what is proven here is the reconcile: image transfer, folders, create/start/recreate/
remove/pending, and that student files survive all of it.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from nbfleet.roster.hosts import Host
from nbfleet.servers import engine
from nbfleet.servers.launch import launch_host
from support.courses import container_entry, manifest, random_course, rehash
from support.engines import free_ports

pytestmark = pytest.mark.docker
UID, GID = 1000, 1000


class Classroom:
    """Two hosts (local engine, second engine over ssh) with manifests made by nbfleet's builder."""

    def __init__(self, tmp: Path, docker_client, second_engine, ssh_host, image: dict, per_host: int = 3):
        self.course = random_course()
        self.local_client, self.remote_client = docker_client, second_engine.client
        self.image = image
        ports = iter(free_ports(2 * per_host))
        self.manifests = {}
        for name, endpoint in (("a", "local"), ("b", ssh_host.endpoint)):
            root = tmp / f"course-{name}"
            host = Host(name, endpoint, public="127.0.0.1", course_root=str(root))
            containers = [container_entry(self.course, f"{name}{i}", next(ports), str(root / "students" / f"{name}{i}"),
                                          image["id"], public="127.0.0.1") for i in range(per_host)]
            self.manifests[name] = manifest(host, self.course, containers, image)

    def client(self, host: str):
        return self.local_client if host == "a" else self.remote_client

    def launch(self, *hosts: str, force: bool = False):
        hosts = hosts or ("a", "b")
        with ThreadPoolExecutor(len(hosts)) as pool:
            results = list(pool.map(lambda h: launch_host(self.manifests[h], UID, GID, force=force, idle_window=900,
                                                          ready_timeout=60, source=self.local_client), hosts))
        return {r.host: r for r in results}

    def ids(self, host: str) -> dict:
        return {c.name: c.id for c in engine.list_containers(self.client(host), self.course)}

    def entry(self, host: str, i: int) -> dict:
        return self.manifests[host]["containers"][i]


@pytest.fixture
def classroom(tmp_path, docker_client, second_engine, ssh_host, ssh_home, tiny_image, cleanup_containers):
    room = Classroom(tmp_path, docker_client, second_engine, ssh_host, tiny_image)
    cleanup_containers += [(docker_client, room.course), (second_engine.client, room.course)]
    return room


def counts(result) -> dict:
    return {k: v for k, v in result.counts.items() if v}


def test_launch_two_hosts_one_over_ssh_every_server_answers_and_folders_belong_to_the_teacher(classroom):
    results = classroom.launch()
    for host in ("a", "b"):
        r = results[host]
        assert r.ok, (r.error, r.failed)
        assert counts(r) == {"create": 3}
        for c in classroom.manifests[host]["containers"]:
            assert requests.get(c["url"], timeout=5).status_code == 200
            st = os.stat(c["folder"])
            assert (st.st_uid, st.st_gid) == (UID, GID), c["folder"]
    # each host's containers run on its own engine, and the image went to the second engine by save/load
    assert set(classroom.ids("b")) == {c["name"] for c in classroom.manifests["b"]["containers"]}
    assert not set(classroom.ids("a")) & set(classroom.ids("b"))
    assert results["b"].image in ("transferred", "present")
    assert classroom.remote_client.images.get(classroom.image["id"]).id == classroom.image["id"]
    # a second launch touches nothing, and the image is not sent again
    again = classroom.launch()
    assert counts(again["a"]) == counts(again["b"]) == {"unchanged": 3}
    assert again["b"].image == "present"


def test_killed_and_removed_containers_come_back_with_the_students_files_intact(classroom):
    assert all(r.ok for r in classroom.launch().values())
    killed, removed = classroom.entry("b", 0), classroom.entry("a", 1)
    for c in (killed, removed):
        (Path(c["folder"]) / "essay.txt").write_text(f"work of {c['student']}\n")
    classroom.client("b").api.kill(killed["name"])
    classroom.client("a").api.remove_container(removed["name"], force=True)
    results = classroom.launch()
    assert counts(results["b"]) == {"start": 1, "unchanged": 2}
    assert counts(results["a"]) == {"create": 1, "unchanged": 2}
    for c in (killed, removed):
        assert (Path(c["folder"]) / "essay.txt").read_text() == f"work of {c['student']}\n"
        assert requests.get(c["url"], timeout=5).status_code == 200


def test_changing_one_students_memory_limit_recreates_only_that_container(classroom):
    assert all(r.ok for r in classroom.launch().values())
    before = {h: classroom.ids(h) for h in ("a", "b")}
    changed = classroom.entry("b", 2)
    changed["server"]["limits"]["memory"] = 384 * 1024**2
    rehash(changed)
    results = classroom.launch()
    assert counts(results["a"]) == {"unchanged": 3}
    assert counts(results["b"]) == {"recreate": 1, "unchanged": 2}
    after = {h: classroom.ids(h) for h in ("a", "b")}
    assert after["a"] == before["a"]
    assert {n for n in after["b"] if after["b"][n] != before["b"][n]} == {changed["name"]}
    assert classroom.client("b").api.inspect_container(changed["name"])["HostConfig"]["Memory"] == 384 * 1024**2


def test_a_working_student_is_pending_not_interrupted_unless_forced(classroom):
    assert all(r.ok for r in classroom.launch().values())
    busy, idle = classroom.entry("a", 0), classroom.entry("a", 1)
    started = json.loads(engine.exec_output(classroom.local_client, busy["name"], ["nbfleet-activity"])[1])["started"]
    now = __import__("datetime").datetime.now(__import__("datetime").timezone.utc).isoformat()
    activity = json.dumps({"started": started, "last_activity": now, "connections": 1, "kernels": 1})
    code, _ = engine.exec_output(classroom.local_client, busy["name"], ["sh", "-c", 'printf "%s\\n" "$1" > /tmp/activity.json', "x", activity])
    assert code == 0
    for c in (busy, idle):
        c["server"]["limits"]["cpus"] = 0.25
        rehash(c)
    before = classroom.ids("a")
    r = classroom.launch("a")["a"]
    assert counts(r) == {"pending": 1, "recreate": 1, "unchanged": 1}
    after = classroom.ids("a")
    assert after[busy["name"]] == before[busy["name"]] and after[idle["name"]] != before[idle["name"]]
    forced = classroom.launch("a", force=True)["a"]
    assert counts(forced) == {"recreate": 1, "unchanged": 2}
    assert classroom.ids("a")[busy["name"]] != before[busy["name"]]


def test_a_student_dropped_from_the_manifest_loses_the_container_but_never_the_folder(classroom):
    assert all(r.ok for r in classroom.launch().values())
    gone = classroom.manifests["b"]["containers"].pop(1)
    (Path(gone["folder"]) / "keep.ipynb").write_text("{}")
    r = classroom.launch("b")["b"]
    assert counts(r) == {"remove": 1, "unchanged": 2}
    assert gone["name"] not in classroom.ids("b")
    assert (Path(gone["folder"]) / "keep.ipynb").read_text() == "{}"


def test_an_unreachable_host_is_reported_without_raising(tmp_path, docker_client, tiny_image):
    host = Host("c", "tcp://127.0.0.1:1", public="127.0.0.1", course_root=str(tmp_path))
    r = launch_host(manifest(host, "x", [], tiny_image), UID, GID)
    assert not r.ok and "host c" in r.error and "tcp://127.0.0.1:1" in r.error

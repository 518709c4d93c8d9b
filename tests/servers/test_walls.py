"""Walls between students, with real containers and real listeners in a network namespace of the test's own.

Each egress policy is checked both ways (an allowed destination connects, a blocked one fails) against the same
listeners, and a container outside the walls reaches every one of them first: a failure proves the block, not a
broken test network.
"""

from __future__ import annotations

import pytest
import requests

from nbfleet import labels
from nbfleet.roster.hosts import Host
from nbfleet.servers.backends.containers import ContainersBackend
from nbfleet.servers.launch import launch_host, stop_host
from nbfleet.servers.walls import networks, rules, swarm_name
from nbfleet.settings.egress import parse
from support.courses import container_entry, manifest, random_course
from support.engines import Engine, SwarmOn, containers, free_ports, nbfleet_rules, remove_walls
from support.network import METADATA_IP, PUBLIC_IP, Outside, host_listener, reach, wait_for

pytestmark = pytest.mark.docker
POLICIES = {"internet": "internet", "open": "open", "none": "none", "list": ["10.98.0.0/16:5432", "public:443"]}


@pytest.fixture(scope="module")
def outside():
    o = Outside().start()
    yield o
    o.stop()


def classroom(tmp_path, course, image, policies, host=None):
    """A manifest of one student per policy (student id = policy name), made with nbfleet's builder."""
    host = host or Host("local", "local", public="127.0.0.1", course_root=str(tmp_path))
    ports = iter(free_ports(len(policies)))
    entries = [container_entry(course, name, next(ports), str(tmp_path / "students" / name), image["id"], public="127.0.0.1",
                               egress=parse(value, "egress")) for name, value in policies.items()]
    return manifest(host, course, entries, image)


def test_each_policy_reaches_what_it_says_and_nothing_else(tmp_path, docker_client, tiny_image, outside, cleanup_containers):
    course = random_course()
    cleanup_containers.append((docker_client, course))
    m = classroom(tmp_path, course, tiny_image, POLICIES)
    result = launch_host(m, 1000, 1000, ready_timeout=60)
    assert result.ok and result.walls == "applied", (result.error, result.failed)
    name = {p: f"{course}-{p}" for p in POLICIES}
    # outside the walls, every listener answers: the blocks below are the walls' doing
    control = docker_client.containers.run(tiny_image["tag"], detach=True, labels={labels.COURSE: course, "test": "control"})
    for address, port in ((METADATA_IP, 80), (PUBLIC_IP, 80), (PUBLIC_IP, 443), (outside.private_ip, 80), (outside.private_ip, 5432)):
        assert reach(docker_client, control.name, address, port), (address, port)
    expect = {  # (address, port) -> which policies reach it
        (METADATA_IP, 80): set(),
        (PUBLIC_IP, 80): {"internet", "open"},
        (PUBLIC_IP, 443): {"internet", "open", "list"},
        (outside.private_ip, 80): {"open"},
        (outside.private_ip, 5432): {"open", "list"},
        (outside.private_ip, 53): {"internet", "open", "list"},  # DNS whenever anything outbound is allowed
    }
    for (address, port), allowed in expect.items():
        for policy in POLICIES:
            assert reach(docker_client, name[policy], address, port) == (policy in allowed), (policy, address, port)
    # every server still serves its student through its published port, "none" included
    for entry in m["containers"]:
        assert requests.get(entry["url"], timeout=5).status_code == 200


def test_a_student_reaches_no_other_student_nor_the_host(tmp_path, docker_client, tiny_image, cleanup_containers):
    course = random_course()
    cleanup_containers.append((docker_client, course))
    m = classroom(tmp_path, course, tiny_image, {"s1": "open", "s2": "open", "s3": "internet"})
    assert launch_host(m, 1000, 1000, ready_timeout=60).ok
    s1, s2, s3 = (f"{course}-s{i}" for i in (1, 2, 3))
    net = docker_client.api.inspect_container(s2)["NetworkSettings"]["Networks"]
    (network, attrs), = net.items()
    gateway = attrs["Gateway"]
    # by container IP and by name, even with egress "open"
    assert not reach(docker_client, s1, attrs["IPAddress"], 8888)
    assert not reach(docker_client, s1, s2, 8888)
    # another policy's network: Docker keeps networks apart, the walls too
    s3_ip = next(iter(docker_client.api.inspect_container(s3)["NetworkSettings"]["Networks"].values()))["IPAddress"]
    assert not reach(docker_client, s1, s3_ip, 8888)
    # through the host: another student's published port, and a service on the host (its Docker API, its sshd)
    s2_port = m["containers"][1]["port"]
    assert not reach(docker_client, s1, gateway, s2_port)
    with host_listener(free_ports(1)[0]) as api:
        port = api.getsockname()[1]
        assert not reach(docker_client, s1, gateway, port)
        control = docker_client.containers.run(tiny_image["tag"], detach=True, labels={labels.COURSE: course, "test": "control"})
        assert reach(docker_client, control.name, _gateway(docker_client, control.name), port)
    assert requests.get(m["containers"][1]["url"], timeout=5).status_code == 200


def _gateway(client, container: str) -> str:
    return next(iter(client.api.inspect_container(container)["NetworkSettings"]["Networks"].values()))["Gateway"]


def test_rules_do_not_pile_up_over_relaunches_and_a_stop(tmp_path, docker_client, tiny_image, cleanup_containers):
    course = random_course()
    cleanup_containers.append((docker_client, course))
    m = classroom(tmp_path, course, tiny_image, {"s1": "internet", "s2": "none"})
    assert launch_host(m, 1000, 1000, ready_timeout=60).walls == "applied"
    prefix = rules.prefix(networks.engine_id(docker_client), course)
    first = sorted(nbfleet_rules(prefix))
    jumps = [line for line in first if not line.split()[1].startswith(prefix)]
    assert len(jumps) == 2 and {line.split()[1] for line in jumps} == {"DOCKER-USER", "INPUT"}
    assert all(f"nbfleet course {course}" in line for line in jumps), "nbfleet's jumps say whose they are"
    for _ in range(5):
        result = launch_host(m, 1000, 1000, force=True, ready_timeout=60)
        assert result.ok and result.walls == "kept"
        assert sorted(nbfleet_rules(prefix)) == first
    with ContainersBackend(Host("local", "local"), course) as backend:
        stop_host(backend)
    result = launch_host(m, 1000, 1000, ready_timeout=60)
    assert result.ok and sorted(nbfleet_rules(prefix)) == first
    # a changed policy: a network of its own, the old one gone once no server uses it, its rules with it
    changed = classroom(tmp_path, course, tiny_image, {"s1": "open", "s2": "none"})
    assert launch_host(changed, 1000, 1000, force=True, ready_timeout=60).ok
    names = {n.name for n in docker_client.networks.list(filters={"label": f"{labels.WALLS}={course}"})}
    assert names == set(changed["walls"])
    now = nbfleet_rules(prefix)
    assert len([line for line in now if line.startswith("-N ")]) == 2 + 2 + 2  # entry chains, two networks' chains


@pytest.mark.slow
def test_the_walls_survive_an_engine_restart(tmp_path, tiny_image, docker_client, outside):
    lab = Engine(3).start()
    course = random_course()
    try:
        host = Host("lab", lab.endpoint, public="127.0.0.1", course_root=str(tmp_path))
        m = classroom(tmp_path, course, tiny_image, {"s1": "internet"}, host=host)
        assert launch_host(m, 1000, 1000, ready_timeout=60, source=docker_client).ok
        prefix = rules.prefix(networks.engine_id(lab.client), course)
        before = sorted(nbfleet_rules(prefix))
        assert not reach(lab.client, f"{course}-s1", METADATA_IP, 80)
        lab.restart()
        assert any(c.status == "running" for c in lab.client.containers.list(filters={"label": f"{labels.COURSE}={course}"}))
        assert sorted(nbfleet_rules(prefix)) == before
        assert not reach(lab.client, f"{course}-s1", METADATA_IP, 80)
        assert not reach(lab.client, f"{course}-s1", outside.private_ip, 80)
        assert reach(lab.client, f"{course}-s1", PUBLIC_IP, 443)
        assert launch_host(m, 1000, 1000, ready_timeout=60, source=docker_client).walls == "kept"
    finally:
        remove_walls(lab.client, course)
        lab.stop()


@pytest.fixture
def swarm_lab(second_engine):
    sw = SwarmOn(second_engine).init()
    yield second_engine
    sw.leave()


def _task(client, service: str) -> str:
    def find():
        found = client.containers.list(filters={"label": f"{labels.SWARM_SERVICE}={service}"})
        return found[0].name if found else ""
    assert wait_for(lambda: bool(find()), 60), f"no running task of {service}"
    return find()


def test_the_same_walls_hold_on_the_swarm_backend(tmp_path, swarm_lab, tiny_image, docker_client, outside):
    course = random_course()
    host = Host("lab", swarm_lab.endpoint, public="127.0.0.1", course_root=str(tmp_path))
    m = classroom(tmp_path, course, tiny_image, {"s1": "internet", "s2": "internet", "s3": "none"}, host=host)
    m = {**m, "backend": {"kind": "swarm", "manager": host.as_dict(), "reserve": {}, "registry": ""}}
    client = swarm_lab.client
    try:
        result = launch_host(m, 1000, 1000, ready_timeout=90, source=docker_client)
        assert result.ok and result.backend == "swarm" and result.walls == "applied", (result.error, result.failed)
        s1, s2, s3 = (_task(client, f"{course}-s{i}") for i in (1, 2, 3))
        s2_net = next(iter(client.api.inspect_container(s2)["NetworkSettings"]["Networks"].values()))
        assert not reach(client, s1, s2_net["IPAddress"], 8888), "student to student"
        assert not reach(client, s1, METADATA_IP, 80)
        assert not reach(client, s1, outside.private_ip, 80)
        assert not reach(client, s1, s2_net["Gateway"], m["containers"][1]["port"]), "through the host's published port"
        assert reach(client, s1, PUBLIC_IP, 443)
        assert not reach(client, s3, PUBLIC_IP, 443) and not reach(client, s3, outside.private_ip, 53)
        for entry in m["containers"]:
            assert requests.get(entry["url"], timeout=5).status_code == 200
        assert launch_host(m, 1000, 1000, ready_timeout=90, source=docker_client).walls == "kept"
    finally:
        for s in client.api.services(filters={"label": f"{labels.COURSE}={course}"}):
            client.api.remove_service(s["ID"])
        wait_for(lambda: not containers(client, {"label": f"{labels.COURSE}={course}"}), 60)
        for name in m["walls"]:
            client.api.remove_network(swarm_name(name))
        remove_walls(client, course)

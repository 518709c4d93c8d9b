"""One server spec, two translations: the containers backend's create arguments and the swarm backend's service spec
agree on everything a student's server is (pure; no engine)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from nbfleet.errors import NbfleetError
from nbfleet.roster.hosts import Host
from nbfleet.servers.backends.containers import create_arguments
from nbfleet.servers.backends.registry import reference as registry_reference
from nbfleet.servers.backends.swarm import placement, service_spec
from nbfleet.servers.manifest import backend_spec, build_manifest, server_entry
from nbfleet.settings import Launch, load
from support.courses import ROSTER_HEADER as HEADER
from support.courses import STANDIN_IMAGE as IMAGE
from support.courses import roster_student as student
from support.courses import sample_settings as course


def entry(**kw):
    args = dict(admin=False, port=20001, url="http://lab1:20001/", folder="/srv/c/students/s1", home="/home/teacher",
                image="sha256:" + "ab" * 32, command=["start-notebook", "--PasswordIdentityProvider.hashed_password=argon2:H"],
                user="1000:1000", memory=2 * 1024**3, cpus=1.0, pids=512, egress=Launch().egress)
    args.update(kw)
    return server_entry("mbd", "s1", **args)


def test_the_service_spec_says_what_the_manifest_says_in_swarm_terms():
    e = entry(extra_mounts=[{"source": "/srv/c/secrets/cert.pem", "target": "/etc/nbfleet/tls/cert.pem", "read_only": True}])
    k = service_spec(e["name"], e["server"], e["hash"], "lab1", {"memory": 512 * 1024**2, "cpus": 0.25})
    c = k["task_template"]["ContainerSpec"]
    assert k["name"] == "mbd-s1" and c["Image"] == "sha256:" + "ab" * 32, "by id: the node has it, no registry is asked"
    assert c["Args"] == e["server"]["command"] and (c["User"], c["Dir"]) == ("1000:1000", "/home/teacher/work")
    assert c["Mounts"] == [{"Type": "bind", "Source": "/srv/c/students/s1", "Target": "/home/teacher/work", "ReadOnly": False},
                           {"Type": "bind", "Source": "/srv/c/secrets/cert.pem", "Target": "/etc/nbfleet/tls/cert.pem", "ReadOnly": True}]
    assert c["CapabilityDrop"] == ["ALL"] and c["Privileges"] == {"NoNewPrivileges": True}
    assert c["Labels"] == {"nbfleet.course": "mbd", "nbfleet.student": "s1", "nbfleet.admin": "false", "nbfleet.settings-hash": e["hash"]}
    r = k["task_template"]["Resources"]
    assert r == {"Limits": {"MemoryBytes": 2 * 1024**3, "NanoCPUs": 10**9, "Pids": 512},
                 "Reservations": {"MemoryBytes": 512 * 1024**2, "NanoCPUs": 250_000_000}}
    assert k["task_template"]["RestartPolicy"]["Condition"] == "any"
    assert k["task_template"]["Placement"] == {"Constraints": ["node.labels.nbfleet.host==lab1"]} and placement("lab1") in str(k)
    assert k["labels"]["nbfleet.host"] == "lab1" and k["labels"]["nbfleet.settings-hash"] == e["hash"]
    assert k["mode"] == {"Replicated": {"Replicas": 1}} and k["update_config"]["Order"] == "stop-first"
    assert k["endpoint_spec"] == {"Ports": [{"Protocol": "tcp", "TargetPort": 8888, "PublishedPort": 20001, "PublishMode": "host"}]}
    assert "Reservations" not in service_spec(e["name"], e["server"], e["hash"], "lab1")["task_template"]["Resources"]


@hsettings(max_examples=60, deadline=None)
@given(memory=st.integers(64 * 1024**2, 64 * 1024**3), cpus=st.floats(0.01, 64, allow_nan=False), pids=st.integers(16, 10**5),
       port=st.integers(1024, 65535), admin=st.booleans(), read_only=st.booleans())
def test_both_backends_translate_the_same_limits_port_mounts_and_labels(memory, cpus, pids, port, admin, read_only):
    e = entry(memory=memory, cpus=cpus, pids=pids, port=port, admin=admin,
              extra_mounts=[{"source": "/k", "target": "/etc/k", "read_only": read_only}])
    c = create_arguments(e["name"], e["server"], e["hash"])
    s = service_spec(e["name"], e["server"], e["hash"], "h")
    limits = s["task_template"]["Resources"]["Limits"]
    assert (c["mem_limit"], c["nano_cpus"], c["pids_limit"]) == (limits["MemoryBytes"], limits["NanoCPUs"], limits["Pids"])
    assert c["ports"] == {f"{p['TargetPort']}/tcp": p["PublishedPort"] for p in s["endpoint_spec"]["Ports"]}
    assert c["volumes"] == {m["Source"]: {"bind": m["Target"], "mode": "ro" if m["ReadOnly"] else "rw"}
                            for m in s["task_template"]["ContainerSpec"]["Mounts"]}
    assert c["labels"] == s["task_template"]["ContainerSpec"]["Labels"]
    assert (c["user"], c["working_dir"], c["command"]) == (s["task_template"]["ContainerSpec"]["User"],
                                                           s["task_template"]["ContainerSpec"]["Dir"],
                                                           s["task_template"]["ContainerSpec"]["Args"])


def test_the_manifest_names_the_backend_and_the_swarm_manager(sample_course):
    hosts = "lab1 ssh://t@lab1 capacity=5\nlab2 ssh://t@lab2 capacity=5\n"
    s = course(sample_course, HEADER, hosts)
    h = [Host("lab1", "ssh://t@lab1"), Host("lab2", "ssh://t@lab2")]
    assert backend_spec(s, h) == {"kind": "containers"}
    course(sample_course, HEADER, hosts, '\n[swarm]\nmanager = "lab2"\n')
    toml = sample_course / "course.toml"
    toml.write_text(toml.read_text().replace('backend = "containers"', 'backend = "swarm"'))
    swarm = load(toml)
    spec = backend_spec(swarm, h)
    assert spec == {"kind": "swarm", "manager": h[1].as_dict(), "reserve": {"memory": 0, "cpus": 0.0}, "registry": ""}
    m = build_manifest(h[0], [student("s1")], swarm, IMAGE, {"s1": "argon2:H"}, spec)
    assert m["backend"]["manager"]["name"] == "lab2"
    toml.write_text(toml.read_text().replace('manager = "lab2"', 'manager = "lab9"'))
    with pytest.raises(NbfleetError, match=r"^course.toml: swarm.manager: no host named 'lab9' in the hosts file$"):
        backend_spec(load(toml), h)
    toml.write_text(toml.read_text().replace('manager = "lab9"\n', ""))
    assert backend_spec(load(toml), h)["manager"]["name"] == "lab1", "by default the first host manages the swarm"


def test_with_a_registry_services_name_the_image_there():
    e = entry()
    assert registry_reference("reg.example.org:5000", "nbfleet/course-notebook:3f2a9c1b7d4e", e["server"]["image"]) == \
        "reg.example.org:5000/nbfleet/course-notebook:3f2a9c1b7d4e"
    assert registry_reference("reg:5000/c", "", "sha256:" + "ab" * 32) == "reg:5000/c/nbfleet/image:abababababab"
    spec = service_spec(e["name"], e["server"], e["hash"], "lab1", image="reg:5000/nbfleet/course-notebook:3f2a9c1b7d4e")
    assert spec["task_template"]["ContainerSpec"]["Image"] == "reg:5000/nbfleet/course-notebook:3f2a9c1b7d4e"


def test_swarm_reservations_are_in_the_spec_and_its_hash():
    plain, reserved = entry(), entry(reserve={"memory": 512 * 1024**2, "cpus": 0.25})
    assert reserved["server"]["limits"]["reserve"] == {"memory": 512 * 1024**2, "cpus": 0.25}
    assert reserved["hash"] != plain["hash"], "a new reservation updates the services"
    assert entry(reserve={"memory": 0, "cpus": 0.0})["hash"] == plain["hash"], "none set: the spec stays as before"
    k = service_spec(reserved["name"], reserved["server"], reserved["hash"], "lab1")
    assert k["task_template"]["Resources"]["Reservations"] == {"MemoryBytes": 512 * 1024**2, "NanoCPUs": 250_000_000}
    assert create_arguments(reserved["name"], reserved["server"], reserved["hash"])["mem_reservation"] == 512 * 1024**2

"""Manifests: the desired containers per host, as pure data with a settings hash, and never a plain password."""

from __future__ import annotations

import copy
import json
import stat
from types import SimpleNamespace

import pytest

from nbfleet import paths
from nbfleet.errors import NbfleetError
from nbfleet.images.record import launch_image as load_image_record
from nbfleet.labels import HASH as HASH_LABEL
from nbfleet.roster import passwords
from nbfleet.roster.allocate import fill_roster
from nbfleet.roster.hosts import Host
from nbfleet.roster.students import load_roster
from nbfleet.servers.backends.containers import create_arguments
from nbfleet.servers.manifest import build_manifest, make_manifest, settings_hash
from nbfleet.settings import load
from support.courses import ROSTER_HEADER as HEADER
from support.courses import STANDIN_IMAGE as IMAGE
from support.courses import roster_student as student
from support.courses import sample_settings as course
from support.courses import serve_https


def settings_for(sample_course):
    return course(sample_course, HEADER, "local local capacity=10\n")


def test_a_student_gets_only_their_folder_and_an_admin_the_course(sample_course):
    s = settings_for(sample_course)
    host = Host("lab2", "ssh://teacher@lab2", 10, "lab2.example.org", (20000, 20999), "/srv/course")
    m = build_manifest(host, [student("s1"), student("boss", admin=True, port=20001)], s, IMAGE, {"s1": "argon2:H1", "boss": "argon2:H2"})
    assert m["host"] == {"name": "lab2", "endpoint": "ssh://teacher@lab2", "public": "lab2.example.org", "ports": [20000, 20999],
                         "course_root": "/srv/course", "tls": None, "shared": True}
    assert (m["course"], m["scheme"]) == ("mbd", "http")
    assert m["image"] == {"name": "course-notebook", "id": IMAGE["id"], "tag": "nbfleet/course-notebook:3f2a9c1b7d4e"}
    s1, boss = m["containers"]
    assert s1["name"] == "mbd-s1" and s1["url"] == "http://lab2.example.org:20000/"
    assert s1["folder"] == "/srv/course/students/s1"
    c = s1["server"]
    assert c["mounts"] == [{"source": "/srv/course/students/s1", "target": "/home/teacher/work", "read_only": False}]
    assert c["command"] == ["start-notebook", "--PasswordIdentityProvider.hashed_password=argon2:H1"]
    assert (c["user"], c["workdir"], c["port"]) == ("1000:1000", "/home/teacher/work", {"published": 20000, "target": 8888})
    assert c["limits"] == {"memory": 2 * 1024**3, "cpus": 1.0, "pids": 512}
    assert c["security"] == {"no_new_privileges": True, "cap_drop": ["ALL"]} and c["environment"] == {}
    assert c["restart"] == "unless-stopped" and c["image"] == IMAGE["id"]
    assert c["labels"] == {"nbfleet.course": "mbd", "nbfleet.student": "s1", "nbfleet.admin": "false"}
    assert s1["hash"] == settings_hash(c)
    b = boss["server"]
    assert b["mounts"] == [{"source": "/srv/course", "target": "/home/teacher/course", "read_only": False}]
    assert b["workdir"] == "/home/teacher/course" and b["limits"]["memory"] == 4 * 1024**3 and b["labels"]["nbfleet.admin"] == "true"
    # the containers backend turns the spec into the create arguments the engine takes, the hash as a label
    k = create_arguments(s1["name"], c, s1["hash"])
    assert k["volumes"] == {"/srv/course/students/s1": {"bind": "/home/teacher/work", "mode": "rw"}}
    assert (k["user"], k["working_dir"], k["ports"]) == ("1000:1000", "/home/teacher/work", {"8888/tcp": 20000})
    assert (k["mem_limit"], k["nano_cpus"], k["pids_limit"]) == (2 * 1024**3, 10**9, 512)
    assert k["security_opt"] == ["no-new-privileges"] and k["cap_drop"] == ["ALL"] and k["environment"] == {}
    assert k["restart_policy"] == {"Name": "unless-stopped"} and k["image"] == IMAGE["id"] and k["name"] == "mbd-s1"
    assert k["labels"] == {**c["labels"], HASH_LABEL: s1["hash"]}
    json.dumps(m)  # JSON-able


def test_the_settings_hash_changes_with_what_needs_a_recreate_and_only_for_that_container(sample_course):
    s = settings_for(sample_course)
    host = Host("local", "local", 10, "localhost", (20000, 20999), str(s.root))
    hashes = {"s1": "argon2:A", "s2": "argon2:B"}
    base = build_manifest(host, [student("s1"), student("s2", port=20001)], s, IMAGE, hashes)
    assert build_manifest(host, [student("s1"), student("s2", port=20001)], s, IMAGE, hashes) == base, "pure: same in, same out"

    def labels(m):
        return [c["hash"] for c in m["containers"]]

    memory = build_manifest(host, [student("s1"), student("s2", port=20001, memory=3 * 1024**3)], s, IMAGE, hashes)
    reset = build_manifest(host, [student("s1"), student("s2", port=20001)], s, IMAGE, {**hashes, "s2": "argon2:C"})
    moved = build_manifest(host, [student("s1"), student("s2", port=20002)], s, IMAGE, hashes)
    for changed in (memory, reset, moved):
        assert labels(changed)[0] == labels(base)[0] and labels(changed)[1] != labels(base)[1]
    image = build_manifest(host, [student("s1"), student("s2", port=20001)], s, {**IMAGE, "id": "sha256:" + "cd" * 32}, hashes)
    assert all(a != b for a, b in zip(labels(image), labels(base), strict=True)), "a new image changes every container"
    server = copy.deepcopy(base["containers"][0]["server"])
    assert settings_hash(server) == labels(base)[0], "the hash is the spec's"
    server["limits"]["pids"] += 1
    assert settings_hash(server) != labels(base)[0]


def test_tls_mounts_the_certificate_read_only_and_says_https(sample_course):
    s = course(sample_course, HEADER, "local local\n", "")
    toml = sample_course / "course.toml"
    serve_https(sample_course)
    s = load(toml)
    host = Host("lab2", "ssh://lab2", 10, "lab2.example.org", (20000, 20999), "/srv/course")
    m = build_manifest(host, [student("s1")], s, IMAGE, {"s1": "argon2:H"})
    c = m["containers"][0]
    assert m["scheme"] == "https" and c["url"] == "https://lab2.example.org:20000/"
    assert c["server"]["mounts"][1:] == [
        {"source": "/srv/course/secrets/cert.pem", "target": "/etc/nbfleet/tls/cert.pem", "read_only": True},
        {"source": "/srv/course/secrets/key.pem", "target": "/etc/nbfleet/tls/key.pem", "read_only": True}]
    assert c["server"]["command"][2:] == ["--ServerApp.certfile=/etc/nbfleet/tls/cert.pem", "--ServerApp.keyfile=/etc/nbfleet/tls/key.pem"]


def test_written_manifests_hold_hashes_the_server_accepts_and_no_plain_password(sample_course):
    roster = HEADER + "s1,Ada,L,a@example.org,,,,,FALSE,\ns2,Bo,M,b@example.org,,,,,FALSE,3g\nboss,T,C,t@example.org,,,,,TRUE,\n"
    s = course(sample_course, roster, "local local capacity=2\nlab2 ssh://teacher@lab2 capacity=5 course_root=/srv/c\n")
    fill_roster(s)
    students = {st.id: st for st in load_roster(s).students}
    for host in ("local", "lab2"):
        path, count, rewritten = make_manifest(s, host)
        assert rewritten and stat.S_IMODE(path.stat().st_mode) == 0o600
        text = path.read_text()
        for st in students.values():
            assert st.password not in text, "a plain password in a manifest"
        for c in json.loads(text)["containers"]:
            hashed = c["server"]["command"][1].split("=", 1)[1]
            assert hashed.startswith("argon2:$argon2id$v=19$m=10240,t=10,p=8$")
            assert passwords.verify(students[c["student"]].password, hashed)
            assert not passwords.verify(students[c["student"]].password + "x", hashed)
        assert make_manifest(s, host)[2] is False, "unchanged inputs: the file is left alone"
    lab2 = json.loads((s.build_dir / "launch" / "lab2.json").read_text())
    s2 = next(c for c in lab2["containers"] if c["student"] == "s2")
    assert s2["server"]["limits"]["memory"] == 3 * 1024**3 and s2["folder"] == "/srv/c/students/s2"
    cache = paths.password_hashes(s, "lab2")
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600 and stat.S_IMODE(cache.parent.stat().st_mode) == 0o700
    assert sorted(p.name for p in (s.build_dir / "launch").glob("*.json")) == ["lab2.json", "local.json"], "only manifests match *.json"


def test_a_roster_not_yet_filled_in_is_refused(sample_course):
    s = course(sample_course, HEADER + "s1,Ada,L,a@example.org,,,,,FALSE,\n", "local local\n")
    with pytest.raises(NbfleetError, match=r"^roster/users.csv:2: s1 has no server, port or password yet: run `doit roster` first$"):
        make_manifest(s, "local")


def test_an_image_built_for_another_uid_or_not_built_is_refused(sample_course):
    s = settings_for(sample_course)
    record = s.build_dir / "images" / "course-notebook.json"
    record.write_text(json.dumps({**IMAGE, "nb_uid": 1234}))
    with pytest.raises(NbfleetError, match="built for nb_uid=1234 but course.toml's teacher has 1000"):
        load_image_record(s)
    record.unlink()
    with pytest.raises(NbfleetError, match=r"^build/images/course-notebook.json: no record of image 'course-notebook': run `doit images` first$"):
        load_image_record(s)


def test_memory_column_must_be_a_size(sample_course):
    s = course(sample_course, HEADER + "s1,Ada,L,a@example.org,,,,,FALSE,lots\n", "local local\n")
    with pytest.raises(NbfleetError) as err:
        load_roster(s)
    assert err.value.where == "roster/users.csv:2:10" and "not a memory size" in err.value.what


def test_hashes_are_reused_while_the_password_is_unchanged(tmp_path):
    cache = paths.password_hashes(SimpleNamespace(build_dir=tmp_path), "local")
    a, b = student("s1", password="first-one-12"), student("s2", password="second-one-1")
    first = passwords.hashes_for([a, b], cache)
    assert passwords.hashes_for([a, b], cache) == first
    changed = passwords.hashes_for([a, student("s2", password="third-one-12")], cache)
    assert changed["s1"] == first["s1"] and changed["s2"] != first["s2"]
    assert set(json.loads(cache.read_text())) == {"s1", "s2"}
    passwords.hashes_for([a], cache)
    assert set(json.loads(cache.read_text())) == {"s1"}, "students who left are dropped from the cache"
    cache.write_text("{not json")
    assert passwords.hashes_for([a], cache)["s1"] != first["s1"], "a broken cache only costs a new hash"

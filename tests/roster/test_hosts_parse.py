"""The hosts file: every endpoint kind and option parses; every malformed line is one error naming line and column."""

from __future__ import annotations

from pathlib import Path

import pytest

from nbfleet.assignments.host_folders import groups
from nbfleet.errors import NbfleetError
from nbfleet.roster.hosts import Host, load_hosts, parse_hosts
from nbfleet.roster.students import Student
from nbfleet.settings import load
from support.repo import REPO

ROOT = Path("/srv/course")


def test_every_endpoint_kind_and_option_parses():
    text = """
# lab servers
local  local  capacity=40 public=localhost ports=20000-20999
lab2   ssh://teacher@lab2.example.org:2222 capacity=60 course_root=/data/course   # a comment
lab3   tcp://10.0.0.3:2376 tls_ca=secrets/ca.pem tls_cert=secrets/cert.pem tls_key=secrets/key.pem ports=30000-30099
second unix:///run/docker-2.sock public=127.0.0.1
lab4   ssh://lab4
lab5   ssh://lab5 course_root=/srv/own shared=no
"""
    hosts = parse_hosts(text, "hosts", ROOT)
    assert [h.name for h in hosts] == ["local", "lab2", "lab3", "second", "lab4", "lab5"]
    local, lab2, lab3, second, lab4, lab5 = hosts
    assert local == Host("local", "local", 40, "localhost", (20000, 20999), "/srv/course", None)
    assert (lab2.endpoint, lab2.capacity, lab2.public, lab2.course_root) == ("ssh://teacher@lab2.example.org:2222", 60,
                                                                              "lab2.example.org", "/data/course")
    assert lab3.public == "10.0.0.3" and lab3.ports == (30000, 30099) and lab3.capacity == 50
    assert lab3.tls == {"ca": "/srv/course/secrets/ca.pem", "cert": "/srv/course/secrets/cert.pem", "key": "/srv/course/secrets/key.pem"}
    assert second.public == "127.0.0.1" and second.is_local and not lab2.is_local
    assert lab4.public == "lab4" and lab4.ports == (20000, 20999) and lab4.course_root == "/srv/course"
    assert lab3.as_dict()["ports"] == [30000, 30099]
    assert all(h.shared for h in hosts[:5]) and not lab5.shared and lab5.course_root == "/srv/own"
    assert Host.from_dict(lab5.as_dict()) == Host("lab5", "ssh://lab5", 50, "lab5", (20000, 20999), "/srv/own", None, False)


def test_the_repository_hosts_file_loads():
    settings = load(REPO / "course.toml")
    hosts = load_hosts(settings)
    assert hosts and all(isinstance(h, Host) for h in hosts)
    assert hosts[0].course_root == str(settings.root)


@pytest.mark.parametrize(
    "line, where, what",
    [
        ("lonely", "hosts:2:1", "needs a name and a Docker endpoint"),
        ("bad/name local", "hosts:2:1", "is not a host name"),
        ("lab1 http://lab1", "hosts:2:6", "unknown scheme 'http'"),
        ("lab1 lab1.example.org", "hosts:2:6", "is not a Docker endpoint"),
        ("lab1 tcp://lab1", "hosts:2:6", "needs a port"),
        ("lab1 tcp://lab1:99999", "hosts:2:6", "is not a port number"),
        ("lab1 ssh://te;acher@lab1", "hosts:2:6", "is not a login name"),
        ("lab1 ssh://teacher@lab_1!", "hosts:2:6", "is not a host name or address"),
        ("lab1 unix://relative.sock", "hosts:2:6", "absolute socket path"),
        ("lab1 local", "hosts:2:1", "listed twice"),
        ("lab1 ssh://lab1 capacity=ten", "hosts:2:26", "not a whole number"),
        ("lab1 ssh://lab1 ports=80-90", "hosts:2:23", "below 1024"),
        ("lab1 ssh://lab1 ports=3000-2000", "hosts:2:23", "LOW <= HIGH"),
        ("lab1 ssh://lab1 ports=3000", "hosts:2:23", "not a range"),
        ("lab1 ssh://lab1 ports=3000-3009 capacity=11", "hosts:2:42", "more than the 10 ports"),
        ("lab1 ssh://lab1 colour=red", "hosts:2:17", "unknown option 'colour'"),
        ("lab1 ssh://lab1 capacity", "hosts:2:17", "is not an option"),
        ("lab1 ssh://lab1 capacity=3 capacity=4", "hosts:2:28", "given twice"),
        ("lab1 ssh://lab1 course_root=srv/course", "hosts:2:29", "absolute path"),
        ("lab1 ssh://lab1 public=bad_name!", "hosts:2:24", "not a host name"),
        ("lab1 ssh://lab1 tls_ca=ca.pem", "hosts:2:24", "for tcp:// endpoints only"),
        ("lab1 tcp://lab1:2376 tls_cert=c.pem", "hosts:2:31", "go together"),
        ("other local", "hosts:2:7", "endpoint local is listed twice"),
        ("lab1 ssh://lab1 shared=maybe", "hosts:2:24", "say yes"),
        ("lab1 unix:///run/d.sock shared=no", "hosts:2:32", "shared=no needs course_root="),
    ],
)
def test_a_malformed_line_names_line_and_column(line, where, what):
    text = "lab0 local\n" + line + "\n" if not line.startswith("lab1 local") else "lab1 ssh://x\n" + line + "\n"
    with pytest.raises(NbfleetError) as err:
        parse_hosts(text, "hosts", ROOT)
    assert err.value.where == where, str(err.value)
    assert what in err.value.what
    assert "\n" not in str(err.value)


def test_no_hosts_at_all_is_an_error():
    with pytest.raises(NbfleetError, match="no hosts listed"):
        parse_hosts("# nothing yet\n\n", "hosts", ROOT)


def test_a_missing_hosts_file_is_one_line(sample_course):
    (sample_course / "hosts").unlink()
    with pytest.raises(NbfleetError, match="^hosts: no hosts file"):
        load_hosts(load(sample_course / "course.toml"))


def test_a_tcp_engine_without_tls_is_refused_unless_on_loopback(tmp_path):
    with pytest.raises(NbfleetError) as err:
        parse_hosts("lab3 tcp://lab3.example.org:2375\n", "hosts", tmp_path)
    assert err.value.where == "hosts:1:6" and "needs tls_ca=" in err.value.what
    assert parse_hosts("lab3 tcp://127.0.0.1:2375\n", "hosts", tmp_path)[0].tls is None


def test_a_hosts_path_that_is_a_folder_is_one_clear_line(sample_course):
    (sample_course / "hosts").unlink()
    (sample_course / "hosts").mkdir()
    with pytest.raises(NbfleetError) as err:
        load_hosts(load(sample_course / "course.toml"))
    assert err.value.where == "hosts" and "cannot read it" in err.value.what


def test_a_host_with_tls_files_and_a_disk_of_its_own_groups_its_students(tmp_path):
    text = ("lab3 tcp://lab3.example:2376 shared=no course_root=/srv/c tls_ca=ca.pem tls_cert=cert.pem tls_key=key.pem\n"
            "local local\n")
    lab3, local = parse_hosts(text, "hosts", tmp_path)
    row = Student("s1", "N", "L", "s1@example.org", False, "lab3", 20000, "pw", "http://lab3.example:20000/")
    here, own = groups([lab3, local], [row, row._replace(id="s2", server="local")])
    assert here == ["s2"] and own == {lab3: ["s1"]}


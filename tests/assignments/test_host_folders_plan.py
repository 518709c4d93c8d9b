"""Which students are served here and which through their host's engine, and whose folder must move (pure)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from nbfleet.assignments.helper import students_folder
from nbfleet.assignments.host_folders import groups, moves, shared_hosts_to_check
from nbfleet.roster.hosts import Host

A = Host("a", "local")
B = Host("b", "ssh://lab2", course_root="/srv/own", shared=False)
C = Host("c", "ssh://lab3", course_root="/mnt/nfs/course")  # shared (NFS), at another path
HOSTS = {h.name: h for h in (A, B, C)}


def student(sid, server):
    return SimpleNamespace(id=sid, server=server)


def test_students_on_shared_hosts_are_served_here_the_others_per_host():
    roster = [student("s1", "a"), student("s2", "b"), student("s3", "c"), student("s4", None), student("s5", "b")]
    here, own = groups(list(HOSTS.values()), roster)
    assert here == ["s1", "s3", "s4"] and own == {B: ["s2", "s5"]}
    assert shared_hosts_to_check(list(HOSTS.values()), roster, Path("/home/t/course")) == [A, C], "their claims are checked"
    here = Host("a", "local", course_root="/home/t/course")
    assert shared_hosts_to_check([here, C], roster, Path("/home/t/course")) == [C], "this machine's own folder is not"


def test_a_hosts_students_folder_is_under_its_course_root():
    settings = SimpleNamespace(students_dir=Path("/home/t/course/students"), root=Path("/home/t/course"))
    assert students_folder(settings, B) == "/srv/own/students"
    assert students_folder(settings, C) == "/mnt/nfs/course/students"


def test_a_move_is_needed_only_when_one_side_has_a_disk_of_its_own():
    placed = {"s1": "a", "s2": "b", "s3": "c", "s4": "gone-host"}
    assert moves(B, ["s1", "s2", "s3", "s4", "s9"], placed, HOSTS) == {"s1": "a", "s3": "c", "s4": "gone-host"}
    assert moves(C, ["s1", "s2"], placed, HOSTS) == {"s2": "b"}, "between shared hosts the folder is the same"
    assert moves(A, ["s1"], placed, HOSTS) == {}, "still where it was"

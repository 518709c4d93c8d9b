"""Allocation is pure and stable: a value once written never changes; new students fill the least-loaded host."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbfleet.errors import NbfleetError
from nbfleet.roster.allocate import PASSWORD_ALPHABET, allocate, new_password
from nbfleet.roster.hosts import Host
from nbfleet.roster.students import Student


def student(i: int, **kw) -> Student:
    base = dict(id=f"s{i}", name="N", last_name="L", email=f"s{i}@example.org", admin=False, server=None, port=None,
                password=None, url=None, line=i + 2)
    return Student(**{**base, **kw})


def counter():
    n = itertools.count()
    return lambda: f"pw{next(n):010d}"


HOSTS = [Host("a", "local", 3, "a.example", (20000, 20009)), Host("b", "ssh://b", 6, "b.example", (21000, 21009))]


def test_new_students_go_to_the_least_loaded_host_on_the_lowest_free_port():
    out = allocate([student(i) for i in range(9)], HOSTS, "http", counter())
    # fill per unit of capacity: b (capacity 6) takes two for every one that a (capacity 3) takes
    assert [s.server for s in out] == ["a", "b", "b", "a", "b", "b", "a", "b", "b"]
    assert [s.port for s in out if s.server == "a"] == [20000, 20001, 20002]
    assert [s.port for s in out if s.server == "b"] == [21000 + i for i in range(6)]
    assert out[0].url == "http://a.example:20000/" and out[1].url == "http://b.example:21000/"
    assert out[0].password == "pw0000000000"


def test_existing_values_are_kept_and_ports_freed_by_leavers_are_reused():
    present = [student(0, server="a", port=20001, password="x" * 12, url="http://old/"), student(1, server="b"), student(3, server="b")]
    out = allocate(present + [student(2)], HOSTS, "https", counter())
    assert (out[0].server, out[0].port, out[0].password) == ("a", 20001, "x" * 12)
    assert out[0].url == "https://a.example:20001/", "the url is derived, so a scheme change reaches it"
    assert (out[1].server, out[1].port) == ("b", 21000), "a student placed by hand keeps the host and gets a port"
    assert out[2].port == 21001
    # a: 1 of 3, b: 2 of 6 -> equally loaded: the host listed first wins
    assert (out[3].server, out[3].port) == ("a", 20000), "the lowest free port, below one in use"


def test_a_full_class_names_the_first_student_without_room():
    with pytest.raises(NbfleetError) as err:
        allocate([student(i) for i in range(10)], HOSTS, "http", counter(), where=lambda s: f"roster/users.csv:{s.line}:6")
    assert err.value.where == "roster/users.csv:11:6"
    assert "no host has room for s9" in err.value.what


def test_new_passwords_are_letters_and_digits_from_secrets():
    words = {new_password() for _ in range(200)}
    assert len(words) == 200
    assert all(len(w) == 12 and set(w) <= set(PASSWORD_ALPHABET) for w in words)
    assert len(new_password(20)) == 20


# --------------------------------------------------------------- properties

host_lists = st.lists(
    st.tuples(st.integers(1, 8), st.integers(0, 4)), min_size=1, max_size=4
).map(lambda specs: [Host(f"h{i}", f"ssh://h{i}", cap, f"h{i}.example", (20000 + 100 * i, 20000 + 100 * i + cap - 1 + extra))
                     for i, (cap, extra) in enumerate(specs)])


@settings(max_examples=150, deadline=None)
@given(hosts=host_lists, data=st.data())
def test_allocation_is_stable_under_adding_and_removing_students(hosts, data):
    room = sum(h.capacity for h in hosts)
    first = data.draw(st.integers(0, room), label="students at first")
    passwords = counter()
    roster = allocate([student(i) for i in range(first)], hosts, "http", passwords)
    check_invariants(roster, hosts)
    next_id = first
    for _ in range(3):
        keep = data.draw(st.lists(st.booleans(), min_size=len(roster), max_size=len(roster)), label="who stays")
        kept = [s for s, k in zip(roster, keep, strict=True) if k]
        added = data.draw(st.integers(0, room - len(kept)), label="newcomers")
        newcomers = [student(next_id + j) for j in range(added)]
        next_id += added
        order = data.draw(st.permutations(kept + newcomers), label="row order")
        again = allocate(order, hosts, "http", passwords)
        check_invariants(again, hosts)
        before = {s.id: s for s in roster}
        for s in again:
            if s.id in before:
                assert s == before[s.id], "a value once written never changes"
        roster = again


@settings(max_examples=100, deadline=None)
@given(hosts=host_lists, n=st.integers(0, 40))
def test_allocation_is_idempotent(hosts, n):
    n = min(n, sum(h.capacity for h in hosts))
    once = allocate([student(i) for i in range(n)], hosts, "http", counter())
    assert allocate(once, hosts, "http", counter()) == once


def check_invariants(roster: list[Student], hosts: list[Host]) -> None:
    by_name = {h.name: h for h in hosts}
    seats = [(s.server, s.port) for s in roster]
    assert len(set(seats)) == len(seats), "no two students share a host and port"
    for s in roster:
        low, high = by_name[s.server].ports
        assert low <= s.port <= high and s.password and s.url.endswith(f":{s.port}/")
    for h in hosts:
        assert sum(s.server == h.name for s in roster) <= h.capacity


def test_allocation_does_not_mutate_its_input():
    given_students = [student(0), student(1, server="b")]
    copies = [s._replace() for s in given_students]
    allocate(given_students, HOSTS, "http", counter())
    assert given_students == copies

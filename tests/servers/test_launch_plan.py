"""The launch plan is pure: desired (manifest) against actual (engine list) gives exactly one step per container."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from nbfleet.servers.activity import is_working
from nbfleet.servers.launch import HostResult
from nbfleet.servers.plan import needs_activity, plan, settled
from nbfleet.tasks.common import group_flag


@dataclass(frozen=True)
class Fake:
    """A backends.Server's fields that plan() reads."""

    name: str
    state: str
    settings_hash: str
    student: str = ""


def want(student: str, h: str = "h1") -> dict:
    return {"name": f"c-{student}", "student": student, "hash": h}


def kinds(steps) -> dict:
    return {s.name: s.kind for s in steps}


def test_plan_creates_missing_starts_stopped_keeps_running():
    desired = [want("a"), want("b"), want("c")]
    actual = [Fake("c-b", "exited", "h1"), Fake("c-c", "running", "h1")]
    assert kinds(plan(desired, actual)) == {"c-a": "create", "c-b": "start", "c-c": "unchanged"}


def test_plan_recreates_on_changed_settings_hash_only():
    desired = [want("a", "new"), want("b", "h1")]
    actual = [Fake("c-a", "running", "old"), Fake("c-b", "running", "h1")]
    assert kinds(plan(desired, actual)) == {"c-a": "recreate", "c-b": "unchanged"}


def test_plan_removes_students_no_longer_in_manifest():
    steps = plan([want("a")], [Fake("c-a", "running", "h1"), Fake("c-gone", "exited", "x", "gone")])
    assert kinds(steps) == {"c-a": "unchanged", "c-gone": "remove"}
    assert [s.student for s in steps if s.kind == "remove"] == ["gone"]


def test_plan_keeps_a_working_student_pending_unless_forced():
    desired, actual = [want("a", "new")], [Fake("c-a", "running", "old")]
    assert kinds(plan(desired, actual, working={"c-a"})) == {"c-a": "pending"}
    assert kinds(plan(desired, actual, working={"c-a"}, force=True)) == {"c-a": "recreate"}


def test_plan_recreates_a_stopped_container_with_old_settings_even_if_marked_working():
    # a stopped server interrupts nobody
    assert kinds(plan([want("a", "new")], [Fake("c-a", "exited", "old")], working={"c-a"})) == {"c-a": "recreate"}


def test_plan_recreates_dead_containers():
    assert kinds(plan([want("a")], [Fake("c-a", "dead", "h1")])) == {"c-a": "recreate"}


def test_activity_is_asked_only_for_running_containers_that_would_be_recreated():
    desired = [want("a", "new"), want("b", "h1"), want("c", "new"), want("d")]
    actual = [Fake("c-a", "running", "old"), Fake("c-b", "running", "h1"), Fake("c-c", "exited", "old")]
    assert needs_activity(desired, actual) == ["c-a"]


def test_settled_only_when_all_run_with_current_hash_and_nothing_extra():
    desired = [want("a"), want("b")]
    assert settled(desired, [Fake("c-a", "running", "h1"), Fake("c-b", "running", "h1")])
    assert not settled(desired, [Fake("c-a", "running", "h1")])
    assert not settled(desired, [Fake("c-a", "running", "h1"), Fake("c-b", "exited", "h1")])
    assert not settled(desired, [Fake("c-a", "running", "h1"), Fake("c-b", "running", "h0")])
    assert not settled(desired, [Fake("c-a", "running", "h1"), Fake("c-b", "running", "h1"), Fake("c-x", "running", "h1")])
    assert not settled(desired, [Fake("c-a", "running", "h1"), Fake("c-b", "restarting", "h1")])  # crash-looping


NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC)


def iso(minutes_ago: float) -> str:
    return (NOW - dt.timedelta(minutes=minutes_ago)).isoformat().replace("+00:00", "Z")


def test_working_means_recent_activity_after_start_up():
    assert is_working({"started": iso(60), "last_activity": iso(2), "connections": 0, "kernels": 0}, NOW, 900)
    assert not is_working({"started": iso(60), "last_activity": iso(20), "connections": 0, "kernels": 0}, NOW, 900)


def test_a_server_nobody_touched_since_start_is_not_working():
    assert not is_working({"started": iso(1), "last_activity": iso(1), "connections": 0, "kernels": 0}, NOW, 900)


def test_open_connections_or_kernels_count_as_working():
    assert is_working({"started": iso(1), "last_activity": iso(1), "connections": 1, "kernels": 0}, NOW, 900)
    assert is_working({"started": iso(1), "last_activity": iso(1), "connections": 0, "kernels": 2}, NOW, 900)
    # but not when even the kernels have been idle beyond the window
    assert not is_working({"started": iso(90), "last_activity": iso(60), "connections": 0, "kernels": 2}, NOW, 900)


def test_no_or_garbled_activity_is_not_working():
    assert not is_working(None, NOW, 900)
    assert not is_working({"last_activity": "yesterday-ish"}, NOW, 900)


def test_host_result_row_counts():
    r = HostResult("lab1")
    r.counts.update(["create", "create", "start", "recreate", "unchanged", "remove", "pending"])
    r.failed["c-x"] = "boom"
    assert r.row() == {"host": "lab1", "started": 3, "recreated": 1, "unchanged": 1, "removed": 1, "pending": 1, "failed": 1}
    assert not r.ok


names = st.sampled_from([f"s{i}" for i in range(8)])
hashes = st.sampled_from(["h0", "h1"])
states = st.sampled_from(["running", "exited", "created", "dead", "paused", "restarting"])


@given(desired=st.dictionaries(names, hashes), actual=st.dictionaries(names, st.tuples(states, hashes)),
       working=st.sets(names), force=st.booleans())
def test_plan_has_one_step_per_container_and_never_loses_one(desired, actual, working, force):
    d = [want(s, h) for s, h in desired.items()]
    a = [Fake(f"c-{s}", state, h, s) for s, (state, h) in actual.items()]
    steps = plan(d, a, {f"c-{s}" for s in working}, force)
    by = kinds(steps)
    assert len(by) == len(steps) == len(set(desired) | set(actual))
    for s in desired:
        k = by[f"c-{s}"]
        if s not in actual:
            assert k == "create"
        elif actual[s][1] == desired[s] and actual[s][0] == "running":
            assert k == "unchanged"
        if k == "pending":
            assert not force and s in working and actual[s][0] == "running"
    for s in set(actual) - set(desired):
        assert by[f"c-{s}"] == "remove"
    # applying the plan and planning again leaves nothing to do
    after = [Fake(f"c-{s}", "running" if by[f"c-{s}"] != "pending" else actual[s][0],
                  desired[s] if by[f"c-{s}"] != "pending" else actual[s][1], s) for s in desired]
    again = kinds(plan(d, after, {f"c-{s}" for s in working}, force))
    assert set(again.values()) <= {"unchanged", "pending"}


def test_force_given_to_the_launch_group_reaches_every_host():
    assert group_flag(["doit", "-n", "4", "launch", "--force"], "launch")
    assert not group_flag(["doit", "-n", "4", "launch"], "launch")
    assert not group_flag(["doit", "launch", "status", "--force"], "launch")  # that flag belongs to status
    assert not group_flag(["doit", "launch:a", "--force"], "launch")  # a subtask's own param, parsed by doit

"""Workshop mode's pure parts: the [workshop] settings, admission, the hub's settings and the pool keeper's rules."""

from __future__ import annotations

import datetime as dt
import importlib
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from nbfleet.errors import NbfleetError
from nbfleet.settings import load
from nbfleet.workshop.hub_api import pool_counts
from nbfleet.workshop.plan import Names, addresses, check_fits, check_schedule, containers, generation, hub_settings, inside, timings
from nbfleet.workshop.report import next_session, rows
from support.repo import REPO

sys.path.insert(0, str(REPO / "docker-stacks" / "workshop-hub"))
pool = importlib.import_module("nbfleet_hub.pool")  # the keeper's rules, as the hub image runs them


def course(tmp_path: Path, workshop: str = "") -> Path:
    f = tmp_path / "course.toml"
    f.write_text('[course]\ntag = "ws"\n[workshop]\n' + workshop)
    return f


def test_sample_course_workshop_defaults():
    w = load(REPO / "course.toml").workshop
    assert (w.port, w.memory, w.cpus, w.idle_timeout) == (8000, 1024**3, 0.5, 600)
    assert (w.per_client, w.busy_limit) == (3, 1800)
    assert w.materials == REPO / "course" / "workshop" and w.materials.is_dir()
    assert {p.name for p in w.materials.glob("*.ipynb")} == {"python.ipynb", "r.ipynb", "octave.ipynb"}


@pytest.mark.parametrize("text, key, what", [
    ("port = 0\n", "port", "below the minimum"),
    ("port = 70000\n", "port", "above the maximum"),
    ('port = "8000"\n', "port", "not an integer"),
    ("pool_size = -1\n", "pool_size", "below the minimum"),
    ("pool_size = 20\nmax_visitors = 10\n", "pool_size", "more than max_visitors"),
    ("max_visitors = 0\n", "max_visitors", "below the minimum"),
    ('memory = "lots"\n', "memory", "not a memory size"),
    ("cpus = 0\n", "cpus", "below the minimum"),
    ('idle_timeout = "soon"\n', "idle_timeout", "not a duration"),
    ("idle_timeout = -5\n", "idle_timeout", "negative"),
    ('idle_timeout = "5s"\n', "idle_timeout", "too short"),
    ('idle_timeout = "10m"\nmax_age = "5m"\n', "max_age", "shorter than idle_timeout"),
    ("pool_refill = 0\n", "pool_refill", "below the minimum"),
    ("per_client = 0\n", "per_client", "would let nobody in"),
    ("per_client = -2\n", "per_client", "below the minimum"),
    ('per_client = "3"\n', "per_client", "not an integer"),
    ('busy_limit = "5s"\n', "busy_limit", "too short"),
    ('busy_limit = "often"\n', "busy_limit", "not a duration"),
    ("schedule = 3\n", "schedule", "must be a list"),
    ('schedule = [{start = 2030-01-01T09:00:00, visitors = 5}]\n', "schedule[1].length", "is missing"),
    ('schedule = [{start = 2030-01-01T09:00:00, visitors = 5, length = "1h", room = 2}]\n', "schedule[1].room", "unknown key"),
    ('schedule = [{start = "soon", visitors = 5, length = "1h"}]\n', "schedule[1].start", "not a date and time"),
    ('schedule = [{start = 2030-01-01T09:00:00, visitors = 0, length = "1h"}]\n', "schedule[1].visitors", "below the minimum"),
    ('schedule = [{start = 2030-01-01T09:00:00, visitors = 50, length = "1h"}]\n', "schedule[1].visitors", "more than max_visitors"),
    ('schedule = [{start = 2030-01-01T09:00:00, visitors = 5, length = "10s"}]\n', "schedule[1].length", "too short"),
    ('schedule = [{start = 2030-01-01T09:00:00, visitors = 5, length = "2h"}, '
     '{start = 2030-01-01T10:30:00, visitors = 5, length = "1h"}]\n', "schedule[2].start", "overlaps the session"),
    ('host = "no such host!"\n', "host", "not a host name"),
    ("poolsize = 3\n", "poolsize", "unknown key"),
])
def test_bad_workshop_settings_name_the_key(tmp_path, text, key, what):
    with pytest.raises(NbfleetError) as err:
        load(course(tmp_path, text))
    assert err.value.where == f"course.toml: workshop.{key}"
    assert what in err.value.what and "\n" not in str(err.value)


def test_a_schedule_is_read_in_order_and_admitted_only_ahead_and_fitting(tmp_path):
    s = load(course(tmp_path, 'max_visitors = 40\nmemory = "1g"\nschedule = ['
                              '{start = 2030-01-01T14:00:00+00:00, visitors = 30, length = "1h"}, '
                              '{start = "2030-01-01T09:00:00+00:00", visitors = 10, length = "90m"}]\n'))
    sessions = s.workshop.schedule  # as the file lists them
    assert [(x.start.hour, x.visitors, x.length) for x in sessions] == [(14, 30, 3600), (9, 10, 5400)]
    morning = dt.datetime(2030, 1, 1, 8, tzinfo=dt.UTC)
    check_schedule(s, 64 * 1024**3, "lab1", morning)
    assert [x["visitors"] for x in hub_settings(s, "img", "sha256:1", now=morning)["schedule"]] == [30, 10]
    during = dt.datetime(2030, 1, 1, 10, tzinfo=dt.UTC)  # the morning session on: still ahead, not over
    assert [x["visitors"] for x in hub_settings(s, "img", "sha256:1", now=during)["schedule"]] == [30, 10]
    assert next_session(sessions, during) == sessions[1] and next_session(sessions, morning.replace(hour=11)) == sessions[0]
    with pytest.raises(NbfleetError) as err:
        check_schedule(s, 16 * 1024**3, "lab1", morning)
    assert err.value.where == "course.toml: workshop.schedule[1].visitors"
    assert "30 servers x 1.0 GiB = 30.0 GiB does not fit in the memory of host lab1" in err.value.what
    with pytest.raises(NbfleetError) as err:  # at noon the morning session is over: an entry in the past
        check_schedule(s, 64 * 1024**3, "lab1", dt.datetime(2030, 1, 1, 12, tzinfo=dt.UTC))
    assert err.value.where == "course.toml: workshop.schedule[2].start" and "is in the past" in err.value.what
    assert next_session(sessions, dt.datetime(2030, 1, 2, tzinfo=dt.UTC)) is None


def test_admission_refuses_what_does_not_fit(tmp_path):
    s = load(course(tmp_path, 'pool_size = 4\nmax_visitors = 30\nmemory = "1g"\n'))
    with pytest.raises(NbfleetError) as err:
        check_fits(s, 8 * 1024**3, "lab1")
    assert err.value.where == "course.toml: workshop.max_visitors"
    assert "30 servers x 1.0 GiB = 30.0 GiB does not fit in the memory of host lab1 (8.0 GiB)" in err.value.what
    check_fits(s, 31 * 1024**3, "lab1")  # fits: no error


def test_short_idle_timeouts_shorten_activity_and_culling():
    assert timings(600) == {"activity_interval": 150, "cull_every": 60, "poll_interval": 30, "busy_every": 5}
    assert timings(600, 1800)["busy_every"] == 60 and timings(600, 30)["busy_every"] == 5
    t = timings(30)
    assert t["activity_interval"] + t["cull_every"] <= 30 / 2 + 10
    assert timings(86400)["activity_interval"] == 300  # never slower than JupyterHub's own default


def test_hub_settings_and_containers(tmp_path):
    s = load(course(tmp_path, 'memory = "512m"\ncpus = 0.25\nport = 8123\n'))
    env = hub_settings(s, "nbfleet/workshop-notebook:abc", "sha256:1", "172.30.0.3")
    n = Names("ws")
    assert (env["per_client"], env["busy_limit"], env["proxy_ip"]) == (3, 1800, "172.30.0.3")
    assert load(course(tmp_path, 'busy_limit = 0\n')).workshop.busy_limit == 0  # 0: never
    assert env["network"] == n.network and env["hub_host"] == n.hub and env["memory"] == 512 * 1024**2
    assert env["generation"] == generation("sha256:1", s) != generation("sha256:2", s)
    where = addresses("172.30.0.0/16")
    assert where == {"hub": "172.30.0.2", "proxy": "172.30.0.3", "visitors": "172.30.128.0/17"}
    specs = containers(s, "nbfleet/workshop-hub:def", env, {"proxy_token": "p", "status_token": "t"}, "/run/docker.sock", where)
    proxy, hub = specs[n.proxy], specs[n.hub]
    assert hub["networking_config"][n.network]["IPAMConfig"]["IPv4Address"] == "172.30.0.2"  # the walls name it
    assert proxy["networking_config"][n.network]["IPAMConfig"]["IPv4Address"] == "172.30.0.3"
    assert proxy["ports"] == {"8123/tcp": 8123} and "ports" not in hub  # the hub is reached through the proxy only
    assert proxy["user"] != "root" and proxy["cap_drop"] == ["ALL"]
    assert hub["volumes"][n.volume]["bind"] == "/srv/jupyterhub"
    assert all(spec["labels"]["nbfleet.workshop"] == "ws" for spec in specs.values())
    # a changed setting changes the hash of the container it concerns
    s2 = load(course(tmp_path, 'memory = "768m"\ncpus = 0.25\nport = 8123\n'))
    specs2 = containers(s2, "nbfleet/workshop-hub:def", hub_settings(s2, "nbfleet/workshop-notebook:abc", "sha256:1"),
                        {"proxy_token": "p", "status_token": "t"}, "/run/docker.sock", where)
    assert specs2[n.proxy]["labels"] == proxy["labels"]
    assert specs2[n.hub]["labels"] != hub["labels"]


def user(name, groups, server=None):
    return {"name": name, "groups": groups, "servers": {"": server} if server else {}}


READY = {"ready": True, "pending": None, "user_options": {"generation": "g1"}}
STARTING = {"ready": False, "pending": "spawn", "user_options": {"generation": "g1"}}
OLD = {"ready": True, "pending": None, "user_options": {"generation": "g0"}}


def test_keeper_fills_the_pool_at_the_refill_rate():
    todo = pool.plan([], pool_size=5, max_visitors=10, pool_refill=2, generation="g1")
    assert (todo.start, todo.retire) == (2, [])
    users = [user("visitora", ["pool"], STARTING), user("visitorb", ["pool"], READY)]
    assert pool.plan(users, pool_size=5, max_visitors=10, pool_refill=2, generation="g1").start == 1


def test_keeper_replaces_old_and_failed_servers_and_forgets_gone_visitors():
    users = [user("visitorold", ["pool"], OLD), user("visitorfailed", ["pool"]),
             user("visitorgone", ["visitors"]), user("visitorhere", ["visitors"], READY),
             user("visitororphan", [])]
    todo = pool.plan(users, pool_size=2, max_visitors=10, pool_refill=5, generation="g1")
    assert sorted(todo.retire) == ["visitorfailed", "visitorgone", "visitorold", "visitororphan"]
    assert todo.start == 2


def test_keeper_never_starts_past_max_visitors():
    users = [user(f"visitor{i}", ["visitors"], READY) for i in range(9)]
    assert pool.plan(users, pool_size=5, max_visitors=10, pool_refill=5, generation="g1").start == 1
    users.append(user("visitorx", ["visitors"], READY))
    assert pool.plan(users, pool_size=5, max_visitors=10, pool_refill=5, generation="g1").start == 0


def test_keeper_starts_nothing_while_a_crowd_arrives_unless_the_pool_is_empty():
    now = dt.datetime(2026, 12, 4, 9, 30, tzinfo=dt.UTC)

    def handed(seconds_ago):  # the login restarts a server's clock when it hands it to a visitor
        return {**READY, "started": (now - dt.timedelta(seconds=seconds_ago)).isoformat().replace("+00:00", "Z")}

    waiting = [user(f"visitorp{i}", ["pool"], READY) for i in range(3)]
    crowd = [user(f"visitorv{i}", ["visitors"], handed(i / 2)) for i in range(4)]  # 4 in 2 s
    trickle = [user(f"visitorv{i}", ["visitors"], handed(5 * i)) for i in range(4)]  # 4 in 20 s
    assert pool.crowd_arriving(crowd, now.timestamp())
    assert not pool.crowd_arriving(trickle, now.timestamp())
    assert not pool.crowd_arriving(crowd, now.timestamp() + 60)  # it has passed
    args = {"pool_size": 10, "max_visitors": 20, "pool_refill": 4, "generation": "g1"}
    assert pool.plan(waiting + crowd, **args, crowd=True).start == 0  # servers still wait: the cores go to logins
    assert pool.plan(waiting + crowd, **args, crowd=False).start == 4
    assert pool.plan(crowd, **args, crowd=True).start == 4  # the pool is empty: refill at once


@hsettings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["pool", "visitors", ""]),
                          st.sampled_from(["ready", "starting", "old", "none"])), max_size=40),
       st.integers(0, 20), st.integers(1, 30), st.integers(1, 5))
def test_keeper_rounds_respect_every_bound(states, pool_size, max_visitors, refill):
    pool_size = min(pool_size, max_visitors)
    server = {"ready": READY, "starting": STARTING, "old": OLD, "none": None}
    users = [user(f"visitor{i}", [g] if g else [], server[s]) for i, (g, s) in enumerate(states)]
    todo = pool.plan(users, pool_size=pool_size, max_visitors=max_visitors, pool_refill=refill, generation="g1")
    live_visitors = sum(1 for g, s in states if g == "visitors" and s != "none")
    current_pool = sum(1 for g, s in states if g == "pool" and s in ("ready", "starting"))
    starting = sum(1 for g, s in states if g == "pool" and s == "starting")
    assert todo.start >= 0 and starting + todo.start <= max(refill, starting)
    assert live_visitors + current_pool + todo.start <= max(max_visitors, live_visitors + current_pool)
    assert current_pool + todo.start <= max(pool_size, current_pool)
    retired = set(todo.retire)
    for (g, s), u in zip(states, users, strict=True):
        if g == "visitors" and s != "none":
            assert u["name"] not in retired  # a visitor with a server is never touched by the keeper
        if s == "starting":
            assert u["name"] not in retired


def test_status_rows_tell_visitors_from_pool_servers_and_idle_never_exceeds_age():
    now = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
    users = [
        {"name": "visitora", "groups": ["visitors"], "last_activity": "2026-12-01T11:40:00Z",
         "servers": {"": {"started": "2026-12-01T11:50:00Z", "last_activity": "2026-12-01T11:45:00Z", "pending": None}}},
        {"name": "visitorb", "groups": ["pool"], "servers": {"": {"started": "2026-12-01T11:59:00Z",
                                                                   "last_activity": "2026-12-01T11:59:30Z", "pending": None}}},
        {"name": "visitorc", "groups": ["pool"], "servers": {"": {"started": None, "pending": "spawn"}}},
        {"name": "visitord", "groups": ["visitors"], "servers": {}},  # culled: no row
    ]
    out = rows(users, "ws-workshop", lambda name: 50 * 1024**2 if name == "ws-workshop-visitora" else None, now)
    assert [(r.user, r.role, r.container) for r in out] == [
        ("visitora", "visitor", "ws-workshop-visitora"), ("visitorb", "pool", "ws-workshop-visitorb"),
        ("visitorc", "starting", "ws-workshop-visitorc")]
    assert (out[0].age, out[0].idle, out[0].memory) == (600.0, 600.0, 50 * 1024**2)  # clamped to its age
    assert (out[1].age, out[1].idle) == (60.0, 30.0)
    assert pool_counts(users) == {"visitors": 1, "free": 1, "starting": 1}
    users[1]["servers"][""]["user_options"] = {"generation": "new"}
    assert pool_counts(users, "new") == {"visitors": 1, "free": 1, "starting": 0}  # the old one starting: not counted


def test_visitors_run_jupyterhub_singleuser_at_the_hubs_version():
    def pin(image: str) -> str:
        lines = (REPO / "docker-stacks" / image / "requirements.txt").read_text().splitlines()
        return next(line.split("==")[1] for line in lines if line.startswith("jupyterhub=="))

    assert pin("workshop-notebook") == pin("workshop-hub") == "6.1.1"


def test_inside_the_workshop_only_jupyterhub_s_own_flows_pass():
    where = addresses("10.77.0.0/24")
    assert where["visitors"] == "10.77.0.128/25" and where["hub"] == "10.77.0.2"
    flows = {(p.source, p.dest, p.ports) for p in inside(where)}
    assert flows == {("10.77.0.2", "", ()),  # the hub: its proxy's API, every visitor's server
                     ("10.77.0.3", "", (8081, 8888)),  # the proxy: the hub, visitors' servers
                     ("", "10.77.0.2", (8081,))}  # a visitor's server: the hub's API, nothing else

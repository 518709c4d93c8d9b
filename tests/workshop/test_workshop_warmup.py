"""The warm-up's and the busy culler's pure parts: how `doit workshop` follows a pool filling up (progress, done, a
real fault; no fixed time limit), the keeper's view of the servers it started, and when a server counts as busy."""

from __future__ import annotations

import importlib
import sys

from nbfleet.workshop.warmup import HUB_SILENCE, STALL, KeeperNews, Warmup, keeper_news
from support.repo import REPO

sys.path.insert(0, str(REPO / "docker-stacks" / "workshop-hub"))
pool = importlib.import_module("nbfleet_hub.pool")  # as the hub image runs them
busy = importlib.import_module("nbfleet_hub.busy")

NONE = KeeperNews([], 0, "")


def counts(free: int, starting: int = 0, visitors: int = 0) -> dict[str, int]:
    return {"free": free, "starting": starting, "visitors": visitors}


def test_a_long_warm_up_is_waited_for_while_servers_keep_getting_ready():
    w = Warmup(pool_size=100, max_visitors=100, pool_refill=4, now=0)
    t, free = 0.0, 0
    while free < 100:  # one server every 5 s: 500 s in all, far past any fixed limit, never a fault
        step = w.step(counts(free, 4), KeeperNews([5.0] * free, 0, ""), t)
        assert not step.fault and not step.done
        t, free = t + 5, free + 1
    step = w.step(counts(100), KeeperNews([5.0] * 100, 0, ""), t)
    assert step.done and "100 of 100 pool servers ready" in step.say


def test_progress_lines_say_how_far_how_fast_and_how_long_still_at_most_every_few_seconds():
    w = Warmup(pool_size=20, max_visitors=20, pool_refill=4, now=0)
    first = w.step(counts(0, 4), NONE, 0.5).say
    assert first.startswith("workshop: 0 of 20 pool servers ready, 4 starting")
    assert w.step(counts(1, 4), KeeperNews([3.0], 0, ""), 1.0).say == ""  # too soon after the last line
    line = w.step(counts(10, 4), KeeperNews([3.0, 4.0, 5.0] + [4.0] * 7, 0, ""), 10.0).say
    assert "10 of 20" in line and "a server starts in 4.0 s" in line and "about 10 s to go" in line


def test_the_target_leaves_room_for_visitors():
    w = Warmup(pool_size=10, max_visitors=12, pool_refill=2, now=0)
    assert w.step(counts(2, 0, visitors=10), NONE, 1).done  # 12 places, 10 taken: 2 waiting is full


def test_a_whole_round_of_failed_starts_is_a_fault_with_the_hubs_reason():
    lines = ["[E 2026-12-03 10:00:00.000 JupyterHub user:1000] Unhandled error starting visitor0123456789ab's server: "
             "image not found",
             "[W 2026-12-03 10:00:01,000 nbfleet.pool-keeper] pool server visitor0123456789ab failed to start (after 1.0 s)"] * 4
    news = keeper_news(lines)
    assert news.failed_in_a_row == 4 and "image not found" in news.last_error
    w = Warmup(pool_size=10, max_visitors=10, pool_refill=4, now=0)
    step = w.step(counts(0), news, 5)
    assert step.fault == "4 pool servers in a row failed to start: Unhandled error starting visitor0123456789ab's server: image not found"
    # one server ready after the failures: not a fault (a start that timed out under load, then the host coped)
    assert keeper_news([*lines, "[I x nbfleet.pool-keeper] pool server visitorab ready after 3.0 s"]).failed_in_a_row == 0


def test_a_silent_hub_or_a_stalled_pool_is_a_fault():
    w = Warmup(pool_size=5, max_visitors=5, pool_refill=2, now=0)
    assert not w.step(None, NONE, HUB_SILENCE - 1).fault  # a hub starting: waited for
    assert "the hub does not answer" in w.step(None, NONE, HUB_SILENCE + 1).fault
    w = Warmup(pool_size=5, max_visitors=5, pool_refill=2, now=0)
    w.step(counts(1, 2), NONE, 1)
    assert not w.step(counts(1, 2), NONE, STALL).fault
    assert "no pool server got ready in" in w.step(counts(1, 2), NONE, STALL + 2).fault


def test_the_keeper_follows_each_server_it_started_until_ready_or_failed():
    def user(name, server=None):
        return {"name": name, "groups": ["pool"], "servers": {"": server} if server else {}}

    users = [user("visitora", {"ready": True, "pending": None}), user("visitorb", {"ready": False, "pending": "spawn"}),
             user("visitorc")]
    assert pool.outcomes(users, {"visitora", "visitorb", "visitorc", "visitord"}) == (["visitora"], ["visitorc", "visitord"])


def test_a_server_is_busy_only_while_it_uses_its_whole_quota_at_every_look():
    s = busy.Streaks(cpus=0.5)
    assert s.see("v", 0, 0.0) == 0  # the first look: nothing to compare with
    assert s.see("v", int(5e9), 10.0) == 10.0  # 5 s of CPU in 10 s at 0.5 CPU: its whole quota
    assert s.see("v", int(9.6e9), 20.0) == 20.0  # 4.6 s: still over 90 %
    assert s.see("v", int(10e9), 30.0) == 0  # a pause: the streak ends
    assert s.see("v", int(15e9), 40.0) == 10.0  # and starts again from there
    s.forget_all_but(set())
    assert s.see("v", int(20e9), 50.0) == 0  # a server gone and back: a fresh start


schedule = importlib.import_module("nbfleet_hub.schedule")


def test_the_pool_grows_early_enough_for_a_session_from_measured_start_times():
    assert schedule.typical_start([]) == schedule.FIRST_GUESS and schedule.typical_start([3.0, 5.0, 4.0]) == 4.0
    # 100 visitors, 5 already waiting, 4 at once, 4 s a start: 24 rounds of 4 s, half as much again, a minute spare
    assert schedule.lead_time(100, 5, 4, 4.0) == 24 * 4.0 * 1.5 + 60
    session = {"start": 10_000.0, "visitors": 100, "length": 3600}
    w = schedule.Warming({"schedule": [session], "pool_size": 5, "pool_refill": 4})
    lead = schedule.lead_time(100, 5, 4, 4.0)
    assert w.expected(10_000 - lead - 1, [4.0], 5) == 0  # not yet
    assert w.expected(10_000 - lead + 1, [4.0], 5) == 100  # its warm-up is on
    assert w.expected(10_000 + 3599, [4.0], 0) == 100  # and the session
    assert w.expected(10_000 + 3600, [4.0], 0) == 0  # over
    slower = schedule.Warming({"schedule": [session], "pool_size": 5, "pool_refill": 4})
    assert slower.expected(10_000 - lead - 1, [8.0], 5) == 100  # a slower host starts earlier


def test_the_keeper_holds_the_sessions_visitors_then_shrinks_back_to_pool_size():
    def user(name, groups, ready=True):
        server = {"ready": ready, "pending": None if ready else "spawn", "user_options": {"generation": "g"}}
        return {"name": name, "groups": groups, "servers": {"": server}}

    waiting = [user(f"visitor{i:02}", ["pool"]) for i in range(10)]
    todo = pool.plan(waiting, pool_size=2, max_visitors=20, pool_refill=4, generation="g", expected=16)
    assert todo.start == 4 and todo.shrink == []  # growing toward 16, 4 at once
    arrived = [user(f"visitor{i:02}", ["visitors"]) for i in range(10, 22)]
    todo = pool.plan(waiting + arrived[:12], pool_size=2, max_visitors=30, pool_refill=4, generation="g", expected=16)
    assert todo.start == 0 and len(todo.shrink) == 6  # 12 came of 16: 4 more expected (10 waiting: 6 too many)
    todo = pool.plan(waiting, pool_size=2, max_visitors=20, pool_refill=4, generation="g")  # the session is over
    assert todo.start == 0 and len(todo.shrink) == 8 and pool.waiting(waiting, "g") == 10

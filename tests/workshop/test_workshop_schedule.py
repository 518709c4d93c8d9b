"""Warm before the room arrives, for real: a session of ``[workshop] schedule`` a few minutes ahead. The pool stays at
``pool_size`` until the keeper, from the start times it measured, grows it just early enough; every expected server is
waiting when the session starts; `doit workshop:status` shows the session and the pool's progress; after the session
the pool shrinks back to ``pool_size``."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest

from support.courses import random_course
from support.doit import run as doit
from support.engines import port_block
from support.workshop import hub_log, hub_users, make_workshop_repo, remove_workshop, wait_for

pytestmark = [pytest.mark.docker, pytest.mark.slow]

AHEAD = 150  # seconds from now to the session's start


def ready_pool(repo, url) -> int:
    return sum(1 for u in hub_users(repo, url) if "pool" in u["groups"] and (u["servers"].get("") or {}).get("ready"))


def test_the_pool_is_warm_when_the_session_starts_and_shrinks_after_it(course_images, docker_client, tmp_path):
    tag, port = random_course(), port_block(1)
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=AHEAD)
    session = {"start": start.isoformat(), "visitors": 8, "length": "1m"}
    repo = make_workshop_repo(tmp_path / "course", tag, course_images,
                              {"port": port, "pool_size": 2, "max_visitors": 10, "memory": "256m", "pool_refill": 4,
                               "schedule": [session]})
    url = f"http://localhost:{port}"
    try:
        result = doit(repo, "workshop", timeout=600)
        assert result.returncode == 0, result.stdout + result.stderr
        assert ready_pool(repo, url) == 2  # pool_size until the session's warm-up begins

        status = doit(repo, "workshop:status")
        assert status.returncode == 0, status.stdout + status.stderr
        local = start.astimezone()
        assert f"Next session: {local:%Y-%m-%d %H:%M}, 8 visitors, 1m 00s: 2 of 8 servers waiting" in status.stdout

        def at_start() -> int | None:
            return ready_pool(repo, url) if time.time() >= start.timestamp() else None

        waiting = wait_for("the session's start", lambda: (n := at_start()) is not None and n + 1, timeout=AHEAD + 60) - 1
        assert waiting >= 8, "every expected visitor's server ready when the session starts"
        log = hub_log(docker_client, tag)
        grew = re.search(r"growing the pool now, (\d+) s ahead \(a server starts in ([\d.]+) s, 4 at once\)", log)
        assert grew, log[-3000:]
        ahead, one = int(grew.group(1)), float(grew.group(2))
        assert ahead < AHEAD - 10, "the pool grew only shortly before the session, not at once"
        assert ahead >= 2 * one, "early enough for two rounds of starts (6 servers, 4 at once)"
        assert re.search(r"session at .*: (8|9|10) servers waiting, \d+ s before it starts", log), log[-3000:]

        wait_for("the pool back to pool_size after the session",
                 lambda: time.time() > start.timestamp() + 60 and ready_pool(repo, url) == 2, timeout=150, every=2)
        assert "over: the pool shrinks back to 2" in hub_log(docker_client, tag)
    finally:
        remove_workshop(docker_client, tag)

"""A workshop that is hard to abuse, for real: one client address holds at most ``per_client`` servers however often it
throws its cookies away (and whatever X-Forwarded-For it makes up), and a visitor's server that keeps its whole CPU
quota busy for ``busy_limit`` is stopped like an idle one, with a line in the hub's log.

One small workshop serves the module, in order: the cap, then the busy cull.
"""

from __future__ import annotations

import sys
import time

import pytest

from support.courses import random_course
from support.doit import run as doit
from support.engines import containers, port_block
from support.network import Outside
from support.workshop import Visitor, hub_log, hub_users, make_workshop_repo, remove_workshop, wait_for

pytestmark = [pytest.mark.docker, pytest.mark.slow]

SETTINGS = {"pool_size": 3, "max_visitors": 8, "memory": "256m", "cpus": 0.5, "idle_timeout": "10m", "pool_refill": 3,
            "per_client": 2, "busy_limit": "20s"}
VISIT = "import requests, sys\nr = requests.get(sys.argv[1] + '/', timeout=60)\nprint(r.status_code, r.url)"
SPIN = "import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', 'while True: pass'], start_new_session=True).pid"


@pytest.fixture(scope="module")
def workshop(course_images, docker_client, tmp_path_factory):
    tag, port = random_course(), port_block(1)
    repo = make_workshop_repo(tmp_path_factory.mktemp("abuse") / "course", tag, course_images, {**SETTINGS, "port": port})
    result = doit(repo, "workshop", timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    yield {"repo": repo, "tag": tag, "url": f"http://localhost:{port}", "port": port, "client": docker_client,
           "visitors": []}
    remove_workshop(docker_client, tag)


def servers(ws, group: str) -> dict[str, dict]:
    """The users of ``group`` whose server is up, by name."""
    return {u["name"]: u for u in hub_users(ws["repo"], ws["url"]) if group in u["groups"] and u["servers"].get("")}


def test_a_client_that_throws_its_cookies_away_gets_429_after_per_client(workshop):
    url = workshop["url"]
    kept = [Visitor(url), Visitor(url)]  # this machine is one client address: per_client = 2 servers
    for v in kept:
        assert v.arrive().status_code == 200 and v.user
    for _ in range(5):  # a script without cookies: every request a new visitor
        r = Visitor(url).arrive(timeout=30)
        assert r.status_code == 429 and r.headers["Retry-After"] == "60", (r.status_code, r.url)
        assert "The workshop is full" in r.text and "the most one address may have" in r.text
    # A made-up X-Forwarded-For (or X-Real-Ip) is not another client: the proxy appends what it saw, and that counts.
    liar = Visitor(url)
    liar.session.headers.update({"X-Forwarded-For": "203.0.113.7", "X-Real-Ip": "203.0.113.8"})
    assert liar.arrive(timeout=30).status_code == 429
    assert set(servers(workshop, "visitors")) == {v.user for v in kept}  # nobody else was handed a server
    wait_for("the pool full again", lambda: sum(1 for u in servers(workshop, "pool").values() if u["servers"][""]["ready"]) == 3,
             timeout=60)  # the refusals took nothing from it
    assert "refused: it holds 2 servers" in hub_log(workshop["client"], workshop["tag"])
    for v in kept:  # a visitor who comes back with their cookie still gets their own server
        user = v.user
        assert v.arrive().status_code == 200 and v.user == user
    workshop["visitors"] = kept


def test_another_client_address_holds_per_client_servers_of_its_own(workshop):
    """Runs after the cap above, with this machine's address at its cap: a client in a network namespace of its own
    (its connections come from its own address, which the proxy puts in X-Forwarded-For) is counted apart."""
    other = Outside().start()
    try:
        url = f"http://{other.host_ip}:{workshop['port']}"
        answers = []
        for _ in range(3):  # no cookies kept between visits
            run = other.run(sys.executable, "-c", VISIT, url)
            assert run.returncode == 0, run.stdout + run.stderr
            answers.append(run.stdout.split())
        assert [a[0] for a in answers] == ["200", "200", "429"], answers
        theirs = {a[1].split("/user/")[1].split("/")[0] for a in answers[:2]}
        assert len(theirs) == 2 and not theirs & {v.user for v in workshop["visitors"]}, "two servers of its own"
        assert theirs <= set(servers(workshop, "visitors"))
        log = hub_log(workshop["client"], workshop["tag"])
        assert f"client {other.private_ip} refused: it holds 2 servers" in log
        assert "not from the proxy" not in log, "nothing rewrites addresses between proxy and hub"
    finally:
        other.stop()


def test_a_visitor_keeping_its_cpu_quota_busy_is_culled_and_an_idle_one_is_not(workshop):
    busy, idle = workshop["visitors"]
    lost = busy.user
    assert busy.run(SPIN).isdigit()  # a process spinning on its own, as a miner would, with no kernel open
    started = time.monotonic()
    wait_for("the busy visitor's server stopped", lambda: lost not in servers(workshop, "visitors"), timeout=120, every=2)
    assert time.monotonic() - started >= 15  # not before busy_limit (20 s, counted from the look before it began)
    log = hub_log(workshop["client"], workshop["tag"])
    assert f"culling {lost}: its whole CPU quota (0.5 CPU) busy for" in log
    assert idle.user in servers(workshop, "visitors")  # the idle visitor keeps theirs
    wait_for("the culled visitor's container removed",
             lambda: not containers(workshop["client"], {"name": f"{workshop['tag']}-workshop-{lost}"}),
             timeout=60)
    # culled like an idle one: on reload, a new server (the old one no longer counts for this client)
    wait_for("a new server on reload", lambda: busy.arrive().status_code == 200 and busy.user != lost, timeout=60, every=2)
    assert busy.run("6*7") == "42"

"""The engine restarting under a workshop (a lab server rebooted): `doit workshop` brings the service back on a host of
its own (a second dockerd, reached through its unix socket), and a visitor who reloads lands on a running server."""

from __future__ import annotations

import time

import pytest

from support.courses import random_course
from support.doit import run as doit
from support.engines import Engine, port_block
from support.workshop import Visitor, make_workshop_repo, workshop_objects

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture
def lab2(docker_client):
    engine = Engine(8).start()
    yield engine
    engine.stop()


def test_after_an_engine_restart_doit_workshop_brings_the_workshop_back(course_images, lab2, tmp_path):
    tag, port = random_course(), port_block(1)
    repo = make_workshop_repo(tmp_path / "course", tag, course_images,
                              {"host": "lab2", "port": port, "pool_size": 2, "max_visitors": 4, "memory": "384m"})
    (repo / "hosts").write_text(f"lab2 {lab2.endpoint} public=127.0.0.1\n")
    first = doit(repo, "workshop", timeout=900)  # the images travel to lab2 first (save/load)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "open http://127.0.0.1:" in first.stdout
    visitor = Visitor(f"http://127.0.0.1:{port}")
    assert visitor.arrive().status_code == 200 and visitor.run("6*7") == "42"
    before = visitor.user

    lab2.restart()
    again = doit(repo, "workshop", timeout=600)
    assert again.returncode == 0, again.stdout + again.stderr
    deadline = time.monotonic() + 120
    while True:  # the visitor reloads until they land on a running server
        r = visitor.arrive()
        if r.status_code == 200:
            break
        assert time.monotonic() < deadline, (r.status_code, r.url)
        time.sleep(2)
    assert visitor.run("6*7") == "42"
    assert visitor.user != before  # their old container did not survive the restart: a new server, at once

    assert doit(repo, "workshop:stop").returncode == 0
    assert workshop_objects(lab2.client, tag) == []

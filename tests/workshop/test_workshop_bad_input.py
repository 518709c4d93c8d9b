"""`doit workshop` with bad input: one line naming the key or file, a non-zero exit, and nothing started."""

from __future__ import annotations

import json
import shutil
import socket

import pytest

from nbfleet.errors import NbfleetError
from nbfleet.images import record as records
from nbfleet.roster.hosts import Host
from nbfleet.settings import Teacher
from nbfleet.settings.egress import Egress
from nbfleet.workshop.host import WorkshopHost
from support.courses import random_course, write_course
from support.doit import run as doit
from support.engines import port_block
from support.workshop import make_workshop_repo, remove_workshop, workshop_objects

pytestmark = pytest.mark.docker


def stand_in(name: str) -> dict:
    """The record of an image no engine has (every check comes before an image is used)."""
    return records.describe(name, "sha256:" + "0" * 64, ["nbfleet/x:latest", "nbfleet/x:000000000000"], 0,
                            Teacher("teacher", 1000, 1000))


def repo_with(tmp_path, workshop: str, records: bool = True):
    """A course with [workshop] ``workshop``; image records that name no real image (every check comes before the
    images are used, so nothing may get that far)."""
    tag = random_course()
    images = [stand_in("workshop-notebook"), stand_in("workshop-hub")]
    repo = write_course(tmp_path / "course", tag, ["local local", "lab2 tcp://127.0.0.1:1"], images=images,
                        tasks=("workshop",))
    (repo / "course.toml").write_text((repo / "course.toml").read_text() + f"[workshop]\n{workshop}")
    (repo / "course" / "workshop").mkdir(parents=True)
    if not records:
        shutil.rmtree(repo / "build" / "images")
    return repo, tag


def refused(repo, tag, docker_client, where: str, what: str) -> None:
    result = doit(repo, "workshop")
    errors = [ln for ln in (result.stdout + result.stderr).splitlines() if ln.startswith("error:")]
    assert result.returncode != 0
    assert len(errors) == 1 and errors[0].startswith(f"error: {where}") and what in errors[0], result.stdout + result.stderr
    assert workshop_objects(docker_client, tag) == []  # nothing started, no network, no volume


def test_a_wrong_key_or_value(tmp_path, docker_client):
    repo, tag = repo_with(tmp_path, "pool_sise = 3\n")
    refused(repo, tag, docker_client, "course.toml: workshop.pool_sise", "unknown key")
    (repo / "course.toml").write_text((repo / "course.toml").read_text().replace("pool_sise = 3", 'memory = "lots"'))
    refused(repo, tag, docker_client, "course.toml: workshop.memory", "not a memory size")


def test_per_client_zero_or_a_busy_limit_too_short(tmp_path, docker_client):
    repo, tag = repo_with(tmp_path, "per_client = 0\n")
    refused(repo, tag, docker_client, "course.toml: workshop.per_client", "would let nobody in")
    (repo / "course.toml").write_text((repo / "course.toml").read_text().replace("per_client = 0", 'busy_limit = "3s"'))
    refused(repo, tag, docker_client, "course.toml: workshop.busy_limit", "too short")


def test_a_schedule_in_the_past_overlapping_or_too_big_for_the_host(tmp_path, docker_client):
    import datetime as dt

    yesterday = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).isoformat()
    repo, tag = repo_with(tmp_path, f'schedule = [{{start = "{yesterday}", visitors = 2, length = "1h"}}]\n')
    refused(repo, tag, docker_client, "course.toml: workshop.schedule[1].start", "is in the past")
    tomorrow = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    two = (f'schedule = [{{start = "{tomorrow.isoformat()}", visitors = 2, length = "2h"}}, '
           f'{{start = "{(tomorrow + dt.timedelta(hours=1)).isoformat()}", visitors = 2, length = "1h"}}]\n')
    (repo / "course.toml").write_text((repo / "course.toml").read_text().split("[workshop]")[0] + "[workshop]\n" + two)
    refused(repo, tag, docker_client, "course.toml: workshop.schedule[2].start", "overlaps the session")
    big = f'max_visitors = 1000\nmemory = "1g"\nschedule = [{{start = "{tomorrow.isoformat()}", visitors = 1000, length = "1h"}}]\n'
    (repo / "course.toml").write_text((repo / "course.toml").read_text().split("[workshop]")[0] + "[workshop]\n" + big)
    refused(repo, tag, docker_client, "course.toml: workshop.schedule[1].visitors", "does not fit in the memory of host local")


def test_a_missing_materials_folder(tmp_path, docker_client):
    repo, tag = repo_with(tmp_path, "")
    shutil.rmtree(repo / "course" / "workshop")
    refused(repo, tag, docker_client, "course.toml: workshop.materials", "no such folder")


def test_images_not_built_yet(tmp_path, docker_client):
    repo, tag = repo_with(tmp_path, "", records=False)
    refused(repo, tag, docker_client, "image workshop-notebook", "run `doit images`")


def test_a_pool_that_does_not_fit_in_memory(tmp_path, docker_client):
    repo, tag = repo_with(tmp_path, 'pool_size = 10\nmax_visitors = 1000\nmemory = "1g"\n')
    refused(repo, tag, docker_client, "course.toml: workshop.max_visitors", "does not fit in the memory of host local")


def test_a_port_in_use(tmp_path, docker_client):
    port = port_block(1)
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", port))
        taken.listen()
        repo, tag = repo_with(tmp_path, f"port = {port}\npool_size = 1\nmax_visitors = 1\n")
        refused(repo, tag, docker_client, "course.toml: workshop.port", f"port {port} is already in use")


def test_an_unknown_or_unreachable_host(tmp_path, docker_client):
    repo, tag = repo_with(tmp_path, 'host = "lab9"\n')
    refused(repo, tag, docker_client, "course.toml: workshop.host", "no host 'lab9' in the hosts file")
    (repo / "course.toml").write_text((repo / "course.toml").read_text().replace('"lab9"', '"lab2"'))
    refused(repo, tag, docker_client, "host lab2", "cannot reach the Docker engine")


@pytest.mark.slow
def test_a_hub_that_cannot_start_is_said_at_once_with_its_own_words(course_images, docker_client, tmp_path):
    import io
    import time

    tag = random_course()
    repo = make_workshop_repo(tmp_path / "course", tag, course_images, {"port": port_block(1), "pool_size": 1,
                                                                       "max_visitors": 1, "memory": "256m"})
    record = json.loads((repo / "build" / "images" / "workshop-hub.json").read_text())
    broken = f"FROM {record['id']}\nRUN echo 'raise SystemExit(\"hub config broken on purpose\")' >> /etc/jupyterhub/jupyterhub_config.py\n"
    image, _ = docker_client.images.build(fileobj=io.BytesIO(broken.encode()), rm=True)
    (repo / "build" / "images" / "workshop-hub.json").write_text(json.dumps(
        {**record, "id": image.id, "tags": [record["tags"][0], f"nbfleet/workshop-hub:broken{image.id[7:15]}"]}))
    try:
        start = time.monotonic()
        result = doit(repo, "workshop", timeout=600)
        errors = [ln for ln in (result.stdout + result.stderr).splitlines() if ln.startswith("error:")]
        assert result.returncode != 0 and time.monotonic() - start < 120
        assert len(errors) == 1 and f"{tag}-workshop-hub" in errors[0], result.stdout + result.stderr
        assert "keeps restarting" in errors[0] or "stopped" in errors[0]
    finally:
        remove_workshop(docker_client, tag)
        docker_client.images.remove(image.id, force=True)


@pytest.mark.slow
def test_pool_servers_that_cannot_start_stop_the_wait_at_once_with_the_hubs_words(course_images, docker_client, tmp_path):
    # `doit workshop` waits for a warm-up as long as servers keep getting ready; servers that all fail are a fault.
    import io
    import time

    tag = random_course()
    repo = make_workshop_repo(tmp_path / "course", tag, course_images, {"port": port_block(1), "pool_size": 4,
                                                                       "max_visitors": 4, "memory": "256m", "pool_refill": 2})
    path = repo / "build" / "images" / "workshop-notebook.json"
    record = json.loads(path.read_text())
    broken = f'FROM {record["id"]}\nCMD ["sh", "-c", "echo visitor broken on purpose >&2; exit 3"]\n'
    image, _ = docker_client.images.build(fileobj=io.BytesIO(broken.encode()), rm=True)
    path.write_text(json.dumps({**record, "id": image.id, "tags": [record["tags"][0], f"nbfleet/workshop-notebook:broken{image.id[7:15]}"]}))
    try:
        start = time.monotonic()
        result = doit(repo, "workshop", timeout=600)
        out = result.stdout + result.stderr
        errors = [ln for ln in out.splitlines() if ln.startswith("error:")]
        assert result.returncode != 0 and time.monotonic() - start < 150, out
        assert len(errors) == 1 and "pool servers in a row failed to start" in errors[0], out
        assert f"docker logs {tag}-workshop-hub" in errors[0]
    finally:
        remove_workshop(docker_client, tag)
        docker_client.images.remove(image.id, force=True)


def test_a_network_too_small_for_max_visitors_is_one_line_and_nothing_is_made(second_engine):
    """The test engine's networks are /24s (its default-address-pool): visitors get the upper half, 127 addresses."""
    ws, name = WorkshopHost(Host("lab2", second_engine.endpoint)), f"{random_course()}-workshop"
    try:
        with pytest.raises(NbfleetError) as refusal:
            ws.ensure_network(name, {}, Egress("none", ()), 202)
        assert str(refusal.value).startswith(f"workshop network {name}: subnet 10.")
        assert "has room for 127 visitors' servers, but [workshop] max_visitors + pool_refill is 202" in str(refusal.value)
        assert not second_engine.client.networks.list(names=[name]), "nothing made"
        where = ws.ensure_network(name, {}, Egress("none", ()), 127)
        assert where["visitors"].endswith(".128/25")
        with pytest.raises(NbfleetError) as again:  # made earlier for a smaller room: say how to make it again
            ws.ensure_network(name, {}, Egress("none", ()), 202)
        assert "max_visitors + pool_refill is 202: run `doit workshop:stop`" in str(again.value)
    finally:
        for n in second_engine.client.networks.list(names=[name]):
            n.remove()
        ws.close()

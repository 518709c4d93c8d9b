"""`doit workshop` with bad input: one line naming the key or file, a non-zero exit, and nothing started."""

from __future__ import annotations

import json
import shutil
import socket

import pytest

from workshop_fixtures import WORKSHOP_DODO, doit, port_block, random_course, workshop_objects

pytestmark = pytest.mark.docker

RECORD = {"id": "sha256:" + "0" * 64, "tags": ["nbfleet/x:latest", "nbfleet/x:000000000000"], "nb_user": "teacher",
          "nb_uid": 1000, "nb_gid": 1000}


def repo_with(tmp_path, workshop: str, records: bool = True):
    """A course with [workshop] ``workshop``; image records that name no real image (every check comes before the
    images are used, so nothing may get that far)."""
    repo = tmp_path / "course"
    repo.mkdir()
    (repo / "dodo.py").write_text(WORKSHOP_DODO)
    (repo / "hosts").write_text("local local\nlab2 tcp://127.0.0.1:1\n")
    tag = random_course()
    (repo / "course.toml").write_text(f'[course]\ntag = "{tag}"\n[images]\nbuild = ["workshop-notebook", "workshop-hub"]\n'
                                      f'launch = "workshop-notebook"\n[workshop]\n{workshop}')
    (repo / "course" / "workshop").mkdir(parents=True)
    if records:
        (repo / "build" / "images").mkdir(parents=True)
        for name in ("workshop-notebook", "workshop-hub"):
            (repo / "build" / "images" / f"{name}.json").write_text(json.dumps(RECORD))
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

    from workshop_fixtures import make_workshop_repo, remove_workshop

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

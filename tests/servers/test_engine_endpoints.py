"""nbfleet.servers.engine against real engines: every endpoint kind, image transfer only when needed, folders made by a
helper container (paths never reach a shell), and a fast, named failure for a host that does not answer.
"""

from __future__ import annotations

import io
import os
import tarfile
import time

import docker
import pytest

from nbfleet.errors import NbfleetError
from nbfleet.roster.hosts import Host
from nbfleet.servers import engine, ready
from support.courses import random_course

pytestmark = pytest.mark.docker


def test_connect_reaches_local_unix_tls_tcp_and_ssh_endpoints(second_engine, ssh_host, ssh_home):
    hosts = [Host("l", "local"), Host("u", second_engine.endpoint), Host("t", second_engine.tcp_endpoint, tls=second_engine.tls),
             Host("s", ssh_host.endpoint)]
    ids = {}
    for h in hosts:
        client = engine.connect(h)
        ids[h.name] = client.info()["DockerRootDir"]
        client.close()
    assert ids["u"] == ids["t"] == ids["s"] != ids["l"]  # three ways to the second engine, one to this machine's


def test_tcp_without_the_client_certificate_is_refused_with_the_host_named(second_engine):
    with pytest.raises(engine.HostUnreachable, match=r"^host t: cannot reach the Docker engine at tcp://127\.0\.0\.1:"):
        engine.connect(Host("t", second_engine.tcp_endpoint))


def test_a_host_that_does_not_answer_fails_fast_and_names_itself():
    t0 = time.monotonic()
    with pytest.raises(engine.HostUnreachable) as info:
        engine.connect(Host("lab9", "tcp://127.0.0.1:1"))
    assert time.monotonic() - t0 < 5
    assert str(info.value).startswith("host lab9: cannot reach the Docker engine at tcp://127.0.0.1:1")
    with pytest.raises(engine.HostUnreachable, match="host gone"):
        engine.connect(Host("gone", "unix:///nonexistent/docker.sock"))


@pytest.fixture
def fresh_image(docker_client, tiny_image):
    """A small image that no engine has yet (the tiny image plus a unique label); removed afterwards everywhere."""
    label = random_course()
    ctx = io.BytesIO()
    with tarfile.open(fileobj=ctx, mode="w") as tar:
        data = f"FROM {tiny_image['tag']}\nLABEL nbfleet.test={label}\n".encode()
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    ctx.seek(0)
    tag = f"nbfleet-test/xfer:{label}"
    image, _ = docker_client.images.build(fileobj=ctx, custom_context=True, tag=tag, rm=True)
    made = [(docker_client, tag)]
    yield {"id": image.id, "tag": tag, "made": made}
    for client, ref in made:
        try:
            client.images.remove(ref, force=True)
        except docker.errors.APIError:
            pass


def test_ensure_image_transfers_only_when_missing(docker_client, second_engine, fresh_image):
    remote = second_engine.client
    fresh_image["made"].append((remote, fresh_image["tag"]))
    with pytest.raises(docker.errors.ImageNotFound):
        remote.images.get(fresh_image["id"])
    assert engine.ensure_image(remote, fresh_image["id"], fresh_image["tag"], source=docker_client) == "transferred"
    got = remote.images.get(fresh_image["tag"])
    assert got.id == fresh_image["id"]
    t0 = time.monotonic()
    assert engine.ensure_image(remote, fresh_image["id"], fresh_image["tag"], source=docker_client) == "present"
    assert time.monotonic() - t0 < 1
    # the local engine has it already: nothing to move
    assert engine.ensure_image(docker_client, fresh_image["id"], fresh_image["tag"]) == "present"


def test_ensure_image_names_an_image_the_local_engine_does_not_have(second_engine):
    with pytest.raises(NbfleetError, match="is not in the local engine: run `doit images` first"):
        engine.ensure_image(second_engine.client, "sha256:" + "0" * 64, "nbfleet/nothing:1")


def test_helper_container_makes_folders_owned_by_the_teacher_and_keeps_existing_files(tmp_path, second_engine, tiny_image):
    remote = second_engine.client
    engine.ensure_image(remote, tiny_image["id"], tiny_image["tag"])
    root = tmp_path / "a course; $(touch pwned) `x`"  # a teacher's path with shell characters stays a path
    existing = root / "students" / "s1"
    existing.mkdir(parents=True)
    (existing / "work.ipynb").write_text("{}")
    os.chown(existing, 0, 0)  # as Docker itself would have left it
    folders = [str(existing), str(root / "students" / "s2"), str(root / "students" / "s3")]
    engine.ensure_folders(remote, folders, 1000, 1000, tiny_image["id"], local=False)
    for f in folders:
        st = os.stat(f)
        assert (st.st_uid, st.st_gid) == (1000, 1000)
    assert (existing / "work.ipynb").read_text() == "{}"
    assert not (tmp_path / "pwned").exists() and not list(tmp_path.rglob("pwned"))
    assert not remote.containers.list(all=True, filters={"label": "nbfleet.helper"})  # the helper is gone
    # an admin's course folder is created if missing but never re-owned
    course_root = tmp_path / "teacher-tree"
    engine.ensure_folders(remote, [str(course_root)], 1000, 1000, tiny_image["id"], local=False, own=False)
    assert course_root.is_dir() and os.stat(course_root).st_uid == 0


def test_local_folders_are_made_directly_and_owned_by_the_teacher(tmp_path, docker_client, tiny_image):
    f = tmp_path / "students" / "s9"
    assert engine.ensure_folders(docker_client, [str(f)], 1000, 1000, tiny_image["id"], local=True) == [str(f)]
    assert (os.stat(f).st_uid, os.stat(f).st_gid) == (1000, 1000)
    assert engine.ensure_folders(docker_client, [str(f)], 1000, 1000, tiny_image["id"], local=True) == []


def test_wait_until_answering_reports_servers_that_never_answer():
    t0 = time.monotonic()
    silent = ready.wait_until_answering(["http://127.0.0.1:1/"], time.monotonic() + 1.5)
    assert list(silent) == ["http://127.0.0.1:1/"] and time.monotonic() - t0 < 5


def test_a_server_whose_container_exits_is_given_up_on_with_its_last_words(docker_client, tiny_image):
    c = docker_client.containers.run(tiny_image["id"], ["sh", "-c", "echo cannot bind 8888 >&2; exit 3"],
                                     entrypoint=[], detach=True, labels={"nbfleet.course": "engine-test"})
    try:
        c.wait(timeout=30)
        t0 = time.monotonic()
        silent = ready.wait_until_answering(["http://127.0.0.1:1/"], time.monotonic() + 60,
                                             gone=lambda _u: engine.exited(docker_client, c.name))
        assert time.monotonic() - t0 < 10
        assert silent == {"http://127.0.0.1:1/": "exited (exit code 3): cannot bind 8888"}
    finally:
        c.remove(force=True)

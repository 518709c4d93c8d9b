"""`doit images` rebuilds exactly what changed, and a no-op run makes no build call at all (real engine)."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import pytest

from support.doit import ok, run, write_dodo
from support.repo import REPO

pytestmark = [pytest.mark.docker, pytest.mark.slow]

TINY = {
    "tiny-a": "ARG BASE_IMAGE=nbft/foundation\nFROM $BASE_IMAGE\nRUN echo a > /tmp/a\n",
    "tiny-b": "ARG BASE_IMAGE=nbft/tiny-a\nFROM $BASE_IMAGE\nRUN echo b > /tmp/b\n",
    "tiny-c": "ARG BASE_IMAGE=nbft/tiny-b\nFROM $BASE_IMAGE\nRUN echo c > /tmp/c\n",
}


@pytest.fixture(scope="module")
def tiny_course(docker_client, tmp_path_factory):
    """A course whose chain is foundation -> tiny-a -> tiny-b -> tiny-c (prefix nbft); its images are removed after."""
    course = tmp_path_factory.mktemp("tiny-course")
    (course / "course.toml").write_text(
        '[teacher]\nuser = "datacamp"\nuid = 17685226\ngid = 17685226\n'
        '[images]\nbuild = ["foundation", "tiny-a", "tiny-b", "tiny-c"]\nlaunch = "tiny-c"\nprefix = "nbft"\n'
    )
    write_dodo(course)
    shutil.copytree(REPO / "docker-stacks" / "foundation", course / "docker-stacks" / "foundation")
    for name, text in TINY.items():
        (course / "docker-stacks" / name).mkdir(parents=True)
        (course / "docker-stacks" / name / "Dockerfile").write_text(text)
    yield course
    for image in docker_client.images.list(name="nbft/*"):
        for tag in image.tags:
            docker_client.images.remove(tag, force=True)


def doit_images(course: Path) -> tuple[str, set[str]]:
    out = ok(run(course, "images"))
    return out, set(re.findall(r"^\[([\w-]+)\] built ", out, re.M))


def ids(course: Path) -> dict[str, str]:
    return {p.stem: json.loads(p.read_text())["id"] for p in (course / "build" / "images").glob("*.json")}


def test_first_build_then_noop_then_only_what_changed(docker_client, tiny_course):
    _, built = doit_images(tiny_course)
    assert built == {"foundation", "tiny-a", "tiny-b", "tiny-c"}
    first = ids(tiny_course)

    # A second run builds nothing and makes no build call: the engine sees no new image event.
    since_ns = time.time_ns()
    start = time.monotonic()
    out, built = doit_images(tiny_course)
    noop_seconds = time.monotonic() - start
    assert built == set() and ". images:" not in out
    events = [e for e in docker_client.events(since=since_ns // 10**9, until=int(time.time()) + 1,
                                               filters={"type": "image"}, decode=True)
              if e["timeNano"] >= since_ns]
    assert events == [], events
    assert noop_seconds < 5, noop_seconds

    # Changing only the last image's Dockerfile rebuilds only that image.
    (tiny_course / "docker-stacks" / "tiny-c" / "Dockerfile").write_text(TINY["tiny-c"] + "RUN echo c2 > /tmp/c2\n")
    _, built = doit_images(tiny_course)
    assert built == {"tiny-c"}
    second = ids(tiny_course)
    assert second["tiny-c"] != first["tiny-c"]
    assert {k: second[k] for k in ("foundation", "tiny-a", "tiny-b")} == {k: first[k] for k in ("foundation", "tiny-a", "tiny-b")}

    # Changing an image in the middle rebuilds it and its descendants, not its parents.
    (tiny_course / "docker-stacks" / "tiny-a" / "Dockerfile").write_text(TINY["tiny-a"] + "RUN echo a2 > /tmp/a2\n")
    _, built = doit_images(tiny_course)
    assert built == {"tiny-a", "tiny-b", "tiny-c"}
    third = ids(tiny_course)
    assert third["foundation"] == first["foundation"]
    assert all(third[k] != second[k] for k in ("tiny-a", "tiny-b", "tiny-c"))

    # The teacher's uid is a setting: changing it rebuilds the whole chain (the user is baked into foundation).
    toml = (tiny_course / "course.toml").read_text()
    (tiny_course / "course.toml").write_text(toml.replace("uid = 17685226", "uid = 17685227"))
    _, built = doit_images(tiny_course)
    assert built == {"foundation", "tiny-a", "tiny-b", "tiny-c"}
    out = docker_client.containers.run(ids(tiny_course)["tiny-c"], ["id", "-u"], remove=True)
    assert out.decode().strip() == "17685227"


def test_a_removed_image_is_rebuilt(docker_client, tiny_course):
    doit_images(tiny_course)
    record = json.loads((tiny_course / "build" / "images" / "tiny-c.json").read_text())
    for tag in record["tags"]:
        docker_client.images.remove(tag, force=True)
    _, built = doit_images(tiny_course)
    assert built == {"tiny-c"}


def test_workshop_materials_rebuild_only_the_workshop_image(docker_client, tiny_course):
    # The workshop image takes course.toml's [workshop] materials into its build context (as materials/).
    (tiny_course / "docker-stacks" / "tiny-w").mkdir()
    (tiny_course / "docker-stacks" / "tiny-w" / "Dockerfile").write_text(
        "ARG BASE_IMAGE=nbft/tiny-a\nFROM $BASE_IMAGE\nCOPY materials/ /srv/materials/\n")
    mats = tiny_course / "mats"
    mats.mkdir()
    (mats / "intro.ipynb").write_text("{}")
    toml = (tiny_course / "course.toml").read_text()
    toml = toml.replace('"tiny-c"]', '"tiny-c", "tiny-w"]') + '[workshop]\nimage = "tiny-w"\nmaterials = "mats"\n'
    (tiny_course / "course.toml").write_text(toml)
    _, built = doit_images(tiny_course)
    assert built == {"tiny-w"}

    def listing() -> list[str]:
        out = docker_client.containers.run(ids(tiny_course)["tiny-w"], ["ls", "/srv/materials"], remove=True)
        return out.decode().split()

    assert listing() == ["intro.ipynb"]
    (mats / "day2.ipynb").write_text("{}")
    _, built = doit_images(tiny_course)
    assert built == {"tiny-w"} and listing() == ["day2.ipynb", "intro.ipynb"]
    (mats / "intro.ipynb").unlink()  # a file taken out is a change too
    _, built = doit_images(tiny_course)
    assert built == {"tiny-w"} and listing() == ["day2.ipynb"]
    _, built = doit_images(tiny_course)
    assert built == set()

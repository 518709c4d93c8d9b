"""Shared fixtures: the Docker engine (fails under CI=true when absent, never skips there) and the course folders."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

pytest_plugins = ["hosts_fixtures"]  # a second engine, an sshd, a tiny server image: one of each per session

REPO = Path(__file__).resolve().parent.parent
CONFORMANCE = REPO.parent / "shared" / "conformance" / "nbgrader"


def _no_engine(reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"this test needs a Docker engine and none answers under CI: {reason}", pytrace=False)
    pytest.skip(f"no Docker engine: {reason}")


@pytest.fixture(scope="session")
def docker_client():
    """A Docker SDK client for the local engine; under CI=true a missing engine is a failure, not a skip."""
    import docker

    try:
        client = docker.from_env(timeout=600)
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure to reach the engine means the same thing here
        _no_engine(str(exc))
    yield client
    client.close()


@pytest.fixture
def sample_course(tmp_path: Path) -> Path:
    """A copy of the repository's sample course (course.toml, hosts, roster, course/) in a fresh folder."""
    dest = tmp_path / "course-repo"
    dest.mkdir()
    for name in ("course.toml", "hosts", "dodo.py"):
        shutil.copy2(REPO / name, dest / name)
    for name in ("roster", "course", "docker-stacks"):
        if (REPO / name).exists():
            shutil.copytree(REPO / name, dest / name)
    return dest


TEST_TEACHER = {"user": "datacamp", "uid": 17685226, "gid": 17685226}  # the Twente course's teacher


def _write_test_course(dest: Path) -> None:
    """The sample course with the Twente teacher's non-root uid, in ``dest`` (kept between runs: builds are incremental)."""
    import re

    dest.mkdir(parents=True, exist_ok=True)
    toml = (REPO / "course.toml").read_text()
    toml = re.sub(r'(?m)^user = "auto"', f'user = "{TEST_TEACHER["user"]}"', toml)
    toml = re.sub(r'(?m)^uid = "auto"', f'uid = {TEST_TEACHER["uid"]}', toml)
    toml = re.sub(r'(?m)^gid = "auto"', f'gid = {TEST_TEACHER["gid"]}', toml)
    if not (dest / "course.toml").exists() or (dest / "course.toml").read_text() != toml:
        (dest / "course.toml").write_text(toml)
    for name in ("hosts", "dodo.py"):
        shutil.copy2(REPO / name, dest / name)
    for name in ("docker-stacks", "roster", "course"):
        if (REPO / name).exists():
            shutil.copytree(REPO / name, dest / name, dirs_exist_ok=True)


@pytest.fixture(scope="session")
def course_images(docker_client) -> Path:
    """The whole image chain built (incrementally) for a test course whose teacher is uid 17685226.

    Returns the test course folder; its ``build/images/<image>.json`` records name the images.
    """
    import subprocess
    import sys

    course = REPO / "build" / "test-course"
    _write_test_course(course)
    doit = Path(sys.executable).with_name("doit")
    result = subprocess.run([str(doit), "images"], cwd=course, capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(f"doit images failed for the test course:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return course

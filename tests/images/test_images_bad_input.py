"""Bad input to `doit images`: one line naming the file or key, a non-zero exit, no target half-written."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from support.doit import errors as error_lines
from support.doit import run, write_dodo
from support.repo import REPO


def course(tmp_path: Path, toml: str, stacks: dict[str, str] | None = None) -> Path:
    (tmp_path / "course.toml").write_text(toml)
    write_dodo(tmp_path)
    for name, text in (stacks or {}).items():
        (tmp_path / "docker-stacks" / name).mkdir(parents=True)
        (tmp_path / "docker-stacks" / name / "Dockerfile").write_text(text)
    return tmp_path


TEACHER = '[teacher]\nuser = "datacamp"\nuid = 17685226\ngid = 17685226\n'


@pytest.mark.parametrize(
    "toml, expected",
    [
        (TEACHER + "[images]\nbiuld = []\n", "error: course.toml: images.biuld: unknown key"),
        ('[teacher]\nuid = "17685226x"\n', "error: course.toml: teacher.uid: '17685226x' is not an integer"),
        ('[teacher]\nuser = "Data Camp"\n', "error: course.toml: teacher.user: 'Data Camp' is not a valid Linux login name"),
        (TEACHER + '[images]\nbuild = ["foundation"]\nlaunch = "course-notebook"\n',
         "error: course.toml: images.launch: image 'course-notebook' is not in images.build"),
    ],
)
def test_malformed_settings(tmp_path, toml, expected):
    result = run(course(tmp_path, toml), "images")
    assert result.returncode != 0
    lines = error_lines(result)
    assert len(lines) == 1 and lines[0].startswith(expected), result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert not (tmp_path / "build" / "images").exists()


def test_missing_dockerfile(tmp_path):
    result = run(course(tmp_path, TEACHER + '[images]\nbuild = ["foundation"]\nlaunch = "foundation"\n'), "images")
    assert result.returncode != 0
    assert error_lines(result) == ["error: docker-stacks/foundation/Dockerfile: missing: image 'foundation' is listed in course.toml images.build"]


def test_image_missing_from_the_chain(tmp_path):
    folder = course(tmp_path, TEACHER + '[images]\nbuild = ["child"]\nlaunch = "child"\n',
                    {"child": "ARG BASE_IMAGE=nbfleet/scipy-notebook\nFROM $BASE_IMAGE\n"})
    result = run(folder, "images")
    assert result.returncode != 0
    assert error_lines(result)[0].startswith("error: course.toml: images.build: 'child' is built FROM 'scipy-notebook'")


def test_cycle_in_the_from_chain(tmp_path):
    folder = course(tmp_path, TEACHER + '[images]\nbuild = ["a", "b"]\nlaunch = "a"\n',
                    {"a": "ARG BASE_IMAGE=nbfleet/b\nFROM $BASE_IMAGE\n", "b": "ARG BASE_IMAGE=nbfleet/a\nFROM $BASE_IMAGE\n"})
    result = run(folder, "images")
    assert result.returncode != 0
    lines = error_lines(result)
    assert len(lines) == 1 and "cycle in the FROM chain" in lines[0]


def test_dockerfile_without_the_user_setting(tmp_path):
    folder = course(tmp_path, TEACHER + '[images]\nbuild = ["foundation"]\nlaunch = "foundation"\n',
                    {"foundation": "ARG ROOT_IMAGE=x\nFROM $ROOT_IMAGE\nARG NB_USER=jovyan\n"})
    result = run(folder, "dockerfiles")
    assert result.returncode != 0
    assert error_lines(result) == ["error: docker-stacks/foundation/Dockerfile: no NB_UID/NB_GID setting (expected ARG NB_UID=… or ENV NB_UID …)"]
    assert not (tmp_path / "build" / "dockerfiles" / "foundation" / "Dockerfile").exists()


def test_no_engine_reachable(tmp_path):
    folder = course(tmp_path, TEACHER + '[images]\nbuild = ["foundation"]\nlaunch = "foundation"\n')
    shutil.copytree(REPO / "docker-stacks" / "foundation", folder / "docker-stacks" / "foundation")
    result = run(folder, "base", env={"DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"})
    assert result.returncode != 0
    lines = error_lines(result)
    assert len(lines) == 1 and lines[0].startswith("error: Docker engine: none answers"), result.stdout + result.stderr
    assert not (tmp_path / "build" / "images" / "root.json").exists()


@pytest.mark.docker
def test_debootstrap_failing(docker_client, tmp_path):
    toml = TEACHER + '[base]\nmirror = "http://127.0.0.1:9/debian"\n[images]\nbuild = ["foundation"]\nlaunch = "foundation"\n'
    folder = course(tmp_path, toml)
    shutil.copytree(REPO / "docker-stacks" / "foundation", folder / "docker-stacks" / "foundation")
    result = run(folder, "base")
    assert result.returncode != 0
    lines = error_lines(result)
    assert len(lines) == 1 and lines[0].startswith("error: course.toml: base (debootstrap bookworm from http://127.0.0.1:9/debian)"), lines
    assert not (tmp_path / "build" / "images" / "root.json").exists()
    assert not list((tmp_path / "build" / "tmp").glob("*"))  # the half-made tree is gone


def test_no_engine_after_a_first_build_is_still_one_line(tmp_path):
    folder = course(tmp_path, TEACHER + '[images]\nbuild = ["foundation"]\nlaunch = "foundation"\n')
    shutil.copytree(REPO / "docker-stacks" / "foundation", folder / "docker-stacks" / "foundation")
    (folder / "build" / "images").mkdir(parents=True)
    (folder / "build" / "images" / "root.json").write_text('{"image": "root", "id": "sha256:0123"}\n')
    result = run(folder, "base", env={"DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"})
    assert result.returncode != 0
    assert "Traceback" not in result.stdout + result.stderr
    lines = error_lines(result)
    assert len(lines) == 1 and lines[0].startswith("error: Docker engine: none answers"), result.stdout + result.stderr

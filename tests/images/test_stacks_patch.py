"""docker-stacks chain discovery and Dockerfile patching (pure functions)."""

from pathlib import Path

import pytest

from nbfleet.errors import NbfleetError
from nbfleet.images.stacks import ROOT, descendants, discover, image_name, parent_of, patch
from support.repo import REPO

UPSTREAM_FOUNDATION = """\
ARG ROOT_IMAGE=ubuntu:24.04
FROM $ROOT_IMAGE
ARG NB_USER="jovyan"
ARG NB_UID="1000"
ARG NB_GID="100"
ENV NB_USER="${NB_USER}" \\
    NB_UID=${NB_UID}
"""

TWENTE_2016 = """\
FROM debian@sha256:32a225e412babcd54c0ea777846183c61003d125278882873fb2bc97f9057c51
MAINTAINER Jupyter Project <jupyter@googlegroups.com>
ENV CONDA_DIR /opt/conda
ENV SHELL /bin/bash
ENV NB_USER datacamp
ENV NB_UID 17685226
ENV HOME /home/$NB_USER
"""


def test_image_name_strips_registry_owner_and_tag():
    assert image_name("$REGISTRY/$OWNER/base-notebook:latest") == "base-notebook"
    assert image_name("quay.io/jupyter/pyspark-notebook@sha256:abc") == "pyspark-notebook"


def test_parent_from_arg_style_and_literal_from():
    assert parent_of("ARG BASE_IMAGE=$REGISTRY/$OWNER/minimal-notebook\nFROM $BASE_IMAGE\n", "x") == "minimal-notebook"
    assert parent_of(UPSTREAM_FOUNDATION, "x") == ROOT
    assert parent_of("FROM jupyter/base-notebook\n", "x") == "base-notebook"
    assert parent_of(TWENTE_2016, "x") == ROOT


def test_from_variable_without_default_is_an_error():
    with pytest.raises(NbfleetError, match="no ARG BASE_IMAGE"):
        parent_of("FROM $BASE_IMAGE\n", "docker-stacks/x/Dockerfile")


def test_patch_arg_style_sets_teacher_and_parent():
    out = patch(UPSTREAM_FOUNDATION, "f", parent_tag="nbfleet/root:bookworm", user="datacamp", uid=17685226, gid=17685226, needs_user=True)
    assert "ARG ROOT_IMAGE=nbfleet/root:bookworm" in out
    assert 'ARG NB_USER="datacamp"' in out and 'ARG NB_UID="17685226"' in out and 'ARG NB_GID="17685226"' in out
    assert 'NB_USER="${NB_USER}"' in out  # references to the ARG are left alone


def test_patch_env_style_of_2016_upstream():
    out = patch(TWENTE_2016, "f", parent_tag="nbfleet/root:bookworm", user="teacher", uid=4242, gid=4242, needs_user=False)
    assert "ENV NB_USER teacher" in out and "ENV NB_UID 4242" in out
    assert out.splitlines()[0] == "FROM nbfleet/root:bookworm"
    assert "ENV HOME /home/$NB_USER" in out


def test_patch_env_equals_style_on_continuation_lines():
    text = "FROM x\nENV A=1 \\\n    NB_USER=jovyan \\\n    NB_UID=1000 NB_GID=100\n"
    out = patch(text, "f", parent_tag="p", user="t", uid=5, gid=6, needs_user=True)
    assert 'NB_USER="t"' in out and 'NB_UID="5"' in out and 'NB_GID="6"' in out


def test_patch_missing_user_setting_names_the_file():
    with pytest.raises(NbfleetError) as err:
        patch("ARG ROOT_IMAGE=x\nFROM $ROOT_IMAGE\nARG NB_USER=a\n", "docker-stacks/foundation/Dockerfile",
              parent_tag="p", user="t", uid=5, gid=6, needs_user=True)
    assert err.value.where == "docker-stacks/foundation/Dockerfile"
    assert "NB_UID" in err.value.what


def test_discover_orders_the_repository_chain():
    wanted = ("course-notebook", "pyspark-notebook", "minimal-notebook", "base-notebook", "foundation")
    order = [s.name for s in discover(REPO / "docker-stacks", wanted)]
    assert order == ["foundation", "base-notebook", "minimal-notebook", "pyspark-notebook", "course-notebook"]


def _stack(tmp_path, images: dict[str, str]) -> Path:
    for name, parent in images.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "Dockerfile").write_text(f"ARG BASE_IMAGE=nbfleet/{parent}\nFROM $BASE_IMAGE\n")
    return tmp_path


def test_discover_rejects_a_cycle(tmp_path):
    stacks = _stack(tmp_path, {"a": "b", "b": "c", "c": "a"})
    with pytest.raises(NbfleetError, match="cycle in the FROM chain"):
        discover(stacks, ("a", "b", "c"))


def test_discover_rejects_a_parent_outside_the_chain(tmp_path):
    stacks = _stack(tmp_path, {"a": "scipy-notebook"})
    with pytest.raises(NbfleetError) as err:
        discover(stacks, ("a",))
    assert err.value.where == "course.toml: images.build" and "scipy-notebook" in err.value.what


def test_discover_missing_dockerfile_names_it(tmp_path):
    with pytest.raises(NbfleetError) as err:
        discover(tmp_path, ("ghost",))
    assert "ghost/Dockerfile" in err.value.where and "missing" in err.value.what


def test_descendants():
    stages = discover(REPO / "docker-stacks", ("foundation", "base-notebook", "minimal-notebook", "pyspark-notebook", "course-notebook"))
    assert descendants(stages, "base-notebook") == ["minimal-notebook", "pyspark-notebook", "course-notebook"]
    assert descendants(stages, "course-notebook") == []

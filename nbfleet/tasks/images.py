"""doit tasks of the image flow: root image -> patched Dockerfiles + wheelhouses -> images, parents first.

    debootstrap --import--> build/images/root.json
    docker-stacks/<img>/Dockerfile --patch--> build/dockerfiles/<img>/Dockerfile --build--> build/images/<img>.json
    docker-stacks/<img>/requirements.txt --resolve--> build/wheels/<img>/pinned.txt ------------^
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

from doit.tools import config_changed

from .. import paths
from ..errors import NbfleetError
from ..fs import write_text
from ..images import record
from ..images.build import build_image, build_root
from ..images.context import context_files, extra_context
from ..images.stacks import ROOT, discover, patch
from ..images.wheels import ALL_PINS, PINNED, read_pins
from ..images.wheels import resolve as resolve_wheels
from .common import action, dep, deps, fails_with, settings

NBFLEET_SOURCE = Path(__file__).resolve().parents[2]  # the checkout nbfleet itself is installed from


@functools.cache
def chain():
    """The images of course.toml's images.build in build order; a broken chain ends the run with one line."""
    s = settings()
    try:
        return discover(s.stacks_dir, s.images.build, s.file.name)
    except NbfleetError as exc:
        sys.stderr.write(f"error: {exc}\n")
        raise SystemExit(2) from None


@functools.cache
def engine():
    """A client for the local Docker engine (builds always happen here), or one clear line saying none answers."""
    import docker

    try:
        client = docker.from_env(timeout=900)
        client.ping()
    except Exception as exc:  # noqa: BLE001 - whatever the reason, the teacher needs the same advice
        raise NbfleetError("Docker engine", f"none answers ({exc.__class__.__name__}); start dockerd or set DOCKER_HOST") from None
    return client


@functools.cache
def _has_wheels(stage) -> bool:
    """Whether the image's Dockerfile installs from a wheelhouse (``COPY wheels/``)."""
    return "wheels/" in stage.dockerfile.read_text(encoding="utf-8")


def _image_still_there(name: str):
    """uptodate check: the image the record names still exists in the engine (one cheap call)."""

    def check(task, values):
        found = record.read(settings(), name)
        try:
            return bool(found) and record.present(engine(), found)
        except NbfleetError:
            return False  # no engine: the action runs and says so in one line

    return check


def task_base():
    """Make the root image with debootstrap + docker import (no registry); rebuilt only when [base] changes."""
    s = settings()

    @action
    def make():
        build_root(engine(), s)

    return {
        "doc": "make the root image: debootstrap + docker import, no registry (again only when [base] changes)",
        "actions": [make],
        "targets": [dep(paths.image_record(s, ROOT))],
        "uptodate": [config_changed({**s.section("base"), "prefix": s.images.prefix}), _image_still_there(ROOT)],
        "verbosity": 2,
    }


def task_dockerfiles():
    """Patch docker-stacks Dockerfiles: local parents, the teacher's NB_USER/NB_UID/NB_GID."""
    s = settings()
    stages = chain()
    yield {"basename": "dockerfiles", "name": None,
           "doc": "patch docker-stacks Dockerfiles: local parents, the teacher's NB_USER/NB_UID/NB_GID"}
    for stage in stages:
        target = paths.dockerfile(s, stage.name)
        parent_tag = f"{s.images.prefix}/{stage.parent}:{s.base.suite if stage.parent == ROOT else 'latest'}"

        @action
        def patched(stage=stage, target=target, parent_tag=parent_tag):
            where = paths.shown(stage.dockerfile, s.root)
            text = patch(stage.dockerfile.read_text(encoding="utf-8"), where, parent_tag=parent_tag,
                         user=s.teacher.user, uid=s.teacher.uid, gid=s.teacher.gid, needs_user=stage.parent == ROOT)
            write_text(target, text)

        yield {
            "name": stage.name,
            "doc": f"patch {stage.name}'s Dockerfile",
            "actions": [patched],
            "file_dep": [dep(stage.dockerfile)],
            "targets": [dep(target)],
            "uptodate": [config_changed({"teacher": s.section("teacher"), "parent": parent_tag})],
            "clean": True,
        }


def task_wheels():
    """Resolve each image's Python packages into build/wheels/<image>/ for the image's own interpreter."""
    s = settings()
    stages = {st.name: st for st in chain()}
    yield {"basename": "wheels", "name": None,
           "doc": "resolve each image's Python packages into build/wheels/<image>/ for the image's own Python"}
    for stage in stages.values():
        if not _has_wheels(stage):
            continue
        folder = paths.wheelhouse(s, stage.name)
        ancestor = _wheel_ancestor(stage, stages)
        requirements = stage.dockerfile.parent / "requirements.txt"
        exclude = _exclude_file(stage, stages)
        inputs = [paths.image_record(s, stage.parent)] + [p for p in (requirements, exclude) if p and p.is_file()]
        if ancestor:
            inputs.append(paths.wheelhouse(s, ancestor) / ALL_PINS)
        local = []
        config = {}
        if stage.name == s.images.launch:
            config["course_packages"] = list(s.images.course_packages)
            if (NBFLEET_SOURCE / "pyproject.toml").is_file():
                local.append(NBFLEET_SOURCE)
                inputs += [NBFLEET_SOURCE / "pyproject.toml", *sorted((NBFLEET_SOURCE / "nbfleet").rglob("*.py"))]

        @action
        def resolve(stage=stage, folder=folder, requirements=requirements, exclude=exclude, ancestor=ancestor, local=local):
            parent = record.read(s, stage.parent)
            if not parent.get("python"):
                raise NbfleetError(str(paths.image_record(s, stage.parent)),
                                   f"no Python recorded for {stage.parent}, the parent of {stage.name}")
            reqs = requirements.read_text().splitlines() if requirements.is_file() else []
            if stage.name == s.images.launch:
                reqs += list(s.images.course_packages)
            parent_pins = read_pins(paths.wheelhouse(s, ancestor) / ALL_PINS) if ancestor else {}
            excluded = set(_lines(exclude)) if exclude else set()
            new = resolve_wheels(folder, reqs, python=parent["python"], glibc=parent["glibc"] or "2.17",
                                 parent_pins=parent_pins, exclude=excluded, local_projects=local,
                                 log=lambda m: print(f"[{stage.name}] {m}", flush=True))
            print(f"[{stage.name}] {len(new)} packages for Python {parent['python']}", flush=True)

        yield {
            "name": stage.name,
            "doc": f"resolve {stage.name}'s wheels",
            "actions": [resolve],
            "file_dep": deps(inputs),
            "targets": deps([folder / PINNED, folder / ALL_PINS]),
            "uptodate": [config_changed(config)],
            "verbosity": 2,
        }


def task_images():
    """Build the course's images, only what changed, parents first (no registry, no PyPI inside builds)."""
    s = settings()
    stages = chain()
    yield {"basename": "images", "name": None,
           "doc": "build the course's images: only what changed, parents first, no registry, no PyPI in builds"}
    for stage in stages:
        patched, wheels = paths.dockerfile(s, stage.name), paths.wheelhouse(s, stage.name)
        inputs = [patched, paths.image_record(s, stage.parent), *context_files(stage)]
        try:
            outside = extra_context(s, stage)
        except NbfleetError as exc:
            yield {"name": stage.name, "doc": f"build {s.images.prefix}/{stage.name}", "actions": fails_with(exc)}
            continue
        inputs += outside.values()
        if _has_wheels(stage):
            inputs.append(wheels / PINNED)
        extra = {"apt": list(s.images.course_apt_packages)} if stage.name == s.images.launch else {}
        if outside:  # a file taken out of the materials is a change too (file_dep only sees files that are there)
            extra["context"] = sorted(outside)

        @action
        def build(stage=stage, patched=patched, wheels=wheels):
            def step(name, text):
                print(f"[{name}] {text}", flush=True)

            built = build_image(engine(), s, stage, patched, wheels if _has_wheels(stage) else None, progress=step)
            print(f"[{stage.name}] built {built['tags'][1]} ({built['size'] / 1e6:.0f} MB)", flush=True)

        yield {
            "name": stage.name,
            "doc": f"build {s.images.prefix}/{stage.name}",
            "actions": [build],
            "file_dep": deps(inputs),
            "targets": [dep(paths.image_record(s, stage.name))],
            "uptodate": [config_changed(extra), _image_still_there(stage.name)],
            "verbosity": 2,
        }


def _wheel_ancestor(stage, stages) -> str | None:
    """The nearest ancestor that has its own wheelhouse (whose all-pins are this image's constraints)."""
    parent = stages.get(stage.parent)
    while parent is not None:
        if _has_wheels(parent):
            return parent.name
        parent = stages.get(parent.parent)
    return None


def _exclude_file(stage, stages) -> Path | None:
    """exclude.txt of the image or its nearest ancestor that has one (children keep leaving out what parents left out)."""
    node = stage
    while node is not None:
        candidate = node.dockerfile.parent / "exclude.txt"
        if candidate.is_file():
            return candidate
        node = stages.get(node.parent)
    return None


def _lines(path: Path) -> list[str]:
    return [ln.strip() for ln in path.read_text().splitlines() if ln.strip() and not ln.lstrip().startswith("#")]

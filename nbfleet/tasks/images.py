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

from ..errors import NbfleetError
from .common import action, fails_with, settings

NBFLEET_SOURCE = Path(__file__).resolve().parents[2]  # the checkout nbfleet itself is installed from


@functools.cache
def chain():
    """The images of course.toml's images.build in build order; a broken chain ends the run with one line."""
    from ..stacks import discover

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


def _paths(name: str):
    """An image's patched Dockerfile, wheelhouse and record."""
    from ..images import record_path

    s = settings()
    return s.build_dir / "dockerfiles" / name / "Dockerfile", s.build_dir / "wheels" / name, record_path(s, name)


@functools.cache
def _has_wheels(stage) -> bool:
    """Whether the image's Dockerfile installs from a wheelhouse (``COPY wheels/``)."""
    return "wheels/" in stage.dockerfile.read_text(encoding="utf-8")


def _image_still_there(record_file: Path):
    """uptodate check: the image the record names still exists in the engine (one cheap call)."""

    def check(task, values):
        from ..images import present, read_record

        record = read_record(record_file)
        try:
            return bool(record) and present(engine(), record)
        except NbfleetError:
            return False  # no engine: the action runs and says so in one line

    return check


def task_base():
    """Make the root image with debootstrap + docker import (no registry); rebuilt only when [base] changes."""
    s = settings()
    record = _paths("root")[2]

    @action
    def make():
        from ..images import root_record
        from ..rootfs import make_root_image, root_tag

        image_id = make_root_image(engine(), s.base, root_tag(s.base, s.images.prefix), s.build_dir / "tmp")
        root_record(engine(), s, image_id)

    return {
        "doc": "make the root image: debootstrap + docker import, no registry (again only when [base] changes)",
        "actions": [make],
        "targets": [record],
        "uptodate": [config_changed({**s.section("base"), "prefix": s.images.prefix}), _image_still_there(record)],
        "verbosity": 2,
    }


def task_dockerfiles():
    """Patch docker-stacks Dockerfiles: local parents, the teacher's NB_USER/NB_UID/NB_GID."""
    s = settings()
    stages = chain()
    yield {"basename": "dockerfiles", "name": None,
           "doc": "patch docker-stacks Dockerfiles: local parents, the teacher's NB_USER/NB_UID/NB_GID"}
    for stage in stages:
        target, _, _ = _paths(stage.name)
        parent_tag = f"{s.images.prefix}/{stage.parent}:{s.base.suite if stage.parent == 'root' else 'latest'}"

        @action
        def patch(stage=stage, target=target, parent_tag=parent_tag):
            from ..atomic import write_text
            from ..stacks import patch as patch_dockerfile

            where = str(stage.dockerfile.relative_to(s.root))
            text = patch_dockerfile(stage.dockerfile.read_text(encoding="utf-8"), where, parent_tag=parent_tag,
                                    user=s.teacher.user, uid=s.teacher.uid, gid=s.teacher.gid,
                                    needs_user=stage.parent == "root")
            write_text(target, text)

        yield {
            "name": stage.name,
            "doc": f"patch {stage.name}'s Dockerfile",
            "actions": [patch],
            "file_dep": [stage.dockerfile],
            "targets": [target],
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
        _, folder, _ = _paths(stage.name)
        ancestor = _wheel_ancestor(stage, stages)
        parent_record = _paths(stage.parent)[2]
        requirements = stage.dockerfile.parent / "requirements.txt"
        exclude = _exclude_file(stage, stages)
        deps = [parent_record] + [p for p in (requirements, exclude) if p and p.is_file()]
        if ancestor:
            deps.append(s.build_dir / "wheels" / ancestor / "all-pins.txt")
        local = []
        config = {}
        if stage.name == s.images.launch:
            config["course_packages"] = list(s.images.course_packages)
            if (NBFLEET_SOURCE / "pyproject.toml").is_file():
                local.append(NBFLEET_SOURCE)
                deps += [NBFLEET_SOURCE / "pyproject.toml", *sorted((NBFLEET_SOURCE / "nbfleet").rglob("*.py"))]

        @action
        def resolve(stage=stage, folder=folder, requirements=requirements, exclude=exclude, ancestor=ancestor,
                    parent_record=parent_record, local=local):
            from ..images import read_record
            from ..wheels import read_pins, resolve as resolve_wheels

            record = read_record(parent_record)
            if not record.get("python"):
                raise NbfleetError(str(parent_record), f"no Python recorded for {stage.parent}, the parent of {stage.name}")
            reqs = requirements.read_text().splitlines() if requirements.is_file() else []
            if stage.name == s.images.launch:
                reqs += list(s.images.course_packages)
            parent_pins = read_pins(s.build_dir / "wheels" / ancestor / "all-pins.txt") if ancestor else {}
            excluded = set(_lines(exclude)) if exclude else set()
            new = resolve_wheels(folder, reqs, python=record["python"], glibc=record["glibc"] or "2.17",
                                 parent_pins=parent_pins, exclude=excluded, local_projects=local,
                                 log=lambda m: print(f"[{stage.name}] {m}", flush=True))
            print(f"[{stage.name}] {len(new)} packages for Python {record['python']}", flush=True)

        yield {
            "name": stage.name,
            "doc": f"resolve {stage.name}'s wheels",
            "actions": [resolve],
            "file_dep": deps,
            "targets": [folder / "pinned.txt", folder / "all-pins.txt"],
            "uptodate": [config_changed(config)],
            "verbosity": 2,
        }


def task_images():
    """Build the course's images, only what changed, parents first (no registry, no PyPI inside builds)."""
    s = settings()
    stages = chain()
    yield {"basename": "images", "name": None,
           "doc": "build the course's images: only what changed, parents first, no registry, no PyPI in builds"}
    from ..images import context_files, extra_context, record_path

    for stage in stages:
        patched, wheels, record = _paths(stage.name)
        deps = [patched, record_path(s, stage.parent), *context_files(stage)]
        try:
            outside = extra_context(s, stage)
        except NbfleetError as exc:
            yield {"name": stage.name, "doc": f"build {s.images.prefix}/{stage.name}", "actions": fails_with(exc)}
            continue
        deps += outside.values()
        if _has_wheels(stage):
            deps.append(wheels / "pinned.txt")
        extra = {"apt": list(s.images.course_apt_packages)} if stage.name == s.images.launch else {}
        if outside:  # a file taken out of the materials is a change too (file_dep only sees files that are there)
            extra["context"] = sorted(outside)

        @action
        def build(stage=stage, patched=patched, wheels=wheels):
            from ..images import build_image

            def step(name, text):
                print(f"[{name}] {text}", flush=True)

            record = build_image(engine(), s, stage, patched, wheels if _has_wheels(stage) else None, progress=step)
            print(f"[{stage.name}] built {record['tags'][1]} ({record['size'] / 1e6:.0f} MB)", flush=True)

        yield {
            "name": stage.name,
            "doc": f"build {s.images.prefix}/{stage.name}",
            "actions": [build],
            "file_dep": deps,
            "targets": [record],
            "uptodate": [config_changed(extra), _image_still_there(record)],
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

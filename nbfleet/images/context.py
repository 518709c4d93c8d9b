"""What goes into an image's build context, the build arguments, and the content digest that tags the image.

The context is the image's folder (its Dockerfile goes in patched), its wheelhouse, and for the workshop image the
workshop's materials (``materials/``): changing them rebuilds that image's last layer and nothing else.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ..errors import NbfleetError
from .stacks import ROOT, Stage
from .wheels import HOST_BUILT, PINNED

CONTEXT_SKIP = {"Dockerfile", "requirements.txt", "exclude.txt"}  # inputs of nbfleet itself, not of the build
MATERIALS = "materials"  # the workshop's materials in the workshop image's build context


def tags(settings, name: str, content: str) -> list[str]:
    """The readable tag and the content tag of an image: ``nbfleet/<name>:latest``, ``nbfleet/<name>:<digest>``."""
    return [f"{settings.images.prefix}/{name}:latest", f"{settings.images.prefix}/{name}:{content[:12]}"]


def context_files(stage: Stage) -> list[Path]:
    """The files of an image's folder that go into its build context (its Dockerfile goes in patched)."""
    folder = stage.dockerfile.parent
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.relative_to(folder).parts[0] not in CONTEXT_SKIP)


def workshop_materials(settings) -> dict[str, Path]:
    """The workshop's materials (course.toml [workshop] materials) by their name in the workshop image's context."""
    folder = settings.workshop.materials
    if not folder.is_dir():
        raise NbfleetError(f"{settings.file.name}: workshop.materials", f"no such folder: {folder}")
    return {f"{MATERIALS}/{p.relative_to(folder)}": p for p in sorted(folder.rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)}


def extra_context(settings, stage: Stage) -> dict[str, Path]:
    """Build-context files from outside the image's folder, by their name in the context (the workshop image's
    materials)."""
    return workshop_materials(settings) if stage.name == settings.workshop.image else {}


def wheel_files(wheels: Path) -> dict[str, Path]:
    """An image's wheelhouse by name in the context (``wheels/``): wheels built here first, then the downloaded ones
    (pip download may have left an older copy of a host-built wheel in the wheelhouse itself)."""
    files: dict[str, Path] = {}
    for whl in [*sorted(wheels.glob(f"{HOST_BUILT}/*.whl")), *sorted(wheels.glob("*.whl")), wheels / PINNED]:
        if whl.is_file():
            files.setdefault(f"wheels/{whl.name}", whl)
    return files


def buildargs(settings, stage: Stage, parent_id: str) -> dict[str, str]:
    """Build arguments: the parent by id, the teacher's user, and the course's OS packages."""
    args = {"NB_USER": settings.teacher.user, "NB_UID": str(settings.teacher.uid), "NB_GID": str(settings.teacher.gid),
            ("ROOT_IMAGE" if stage.parent == ROOT else "BASE_IMAGE"): parent_id}
    if stage.name == settings.images.launch:
        args["COURSE_APT_PACKAGES"] = " ".join(settings.images.course_apt_packages)
    return args


def digest(dockerfile: bytes, files: dict[str, Path], args: dict[str, str]) -> str:
    """The content of a build: the patched Dockerfile, every context file and the build arguments."""
    h = hashlib.sha256(dockerfile)
    for arc, path in sorted(files.items()):
        h.update(arc.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    h.update(json.dumps(args, sort_keys=True).encode())
    return h.hexdigest()

"""Build the images of the chain through the Docker engine and keep a record of each in ``build/images/<image>.json``.

The record (id, tags, size, the image's Python) is the target doit tracks: a child image depends on its parent's
record, so a rebuilt parent rebuilds its descendants and nothing else.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import tarfile
import tempfile
from pathlib import Path

from .atomic import write_json
from .errors import NbfleetError
from .settings import Settings
from .stacks import ROOT, Stage

CONTEXT_SKIP = {"Dockerfile", "requirements.txt", "exclude.txt"}  # inputs of nbfleet itself, not of the build
MATERIALS = "materials"  # the workshop's materials in the workshop image's build context


def record_path(settings: Settings, name: str) -> Path:
    """``build/images/<name>.json`` (``root`` for the debootstrapped root image)."""
    return settings.build_dir / "images" / f"{name}.json"


def read_record(path: Path) -> dict:
    """An image record, or {} when there is none yet."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def tags(settings: Settings, name: str, content: str) -> list[str]:
    """The readable tag and the content tag of an image: ``nbfleet/<name>:latest``, ``nbfleet/<name>:<digest>``."""
    return [f"{settings.images.prefix}/{name}:latest", f"{settings.images.prefix}/{name}:{content[:12]}"]


def context_files(stage: Stage) -> list[Path]:
    """The files of an image's folder that go into its build context (its Dockerfile goes in patched)."""
    folder = stage.dockerfile.parent
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.relative_to(folder).parts[0] not in CONTEXT_SKIP)


def workshop_materials(settings: Settings) -> dict[str, Path]:
    """The workshop's materials (course.toml [workshop] materials) by their name in the workshop image's context."""
    folder = settings.workshop.materials
    if not folder.is_dir():
        raise NbfleetError(f"{settings.file.name}: workshop.materials", f"no such folder: {folder}")
    return {f"{MATERIALS}/{p.relative_to(folder)}": p for p in sorted(folder.rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)}


def extra_context(settings: Settings, stage: Stage) -> dict[str, Path]:
    """Build-context files from outside the image's folder, by their name in the context.

    The workshop image gets the workshop's materials as ``materials/``: changing them rebuilds that image (its last
    layer) and nothing else.
    """
    return workshop_materials(settings) if stage.name == settings.workshop.image else {}


def buildargs(settings: Settings, stage: Stage, parent_id: str) -> dict[str, str]:
    """Build arguments: the parent by id, the teacher's user, and the course's OS packages."""
    args = {"NB_USER": settings.teacher.user, "NB_UID": str(settings.teacher.uid), "NB_GID": str(settings.teacher.gid),
            ("ROOT_IMAGE" if stage.parent == ROOT else "BASE_IMAGE"): parent_id}
    if stage.name == settings.images.launch:
        args["COURSE_APT_PACKAGES"] = " ".join(settings.images.course_apt_packages)
    return args


def _digest(dockerfile: bytes, files: dict[str, Path], args: dict[str, str]) -> str:
    h = hashlib.sha256(dockerfile)
    for arc, path in sorted(files.items()):
        h.update(arc.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    h.update(json.dumps(args, sort_keys=True).encode())
    return h.hexdigest()


def build_image(client, settings: Settings, stage: Stage, patched: Path, wheels: Path | None, progress=None) -> dict:
    """Build one image from its patched Dockerfile, its folder and its wheelhouse; tag it; write its record."""
    parent = read_record(record_path(settings, stage.parent))
    if not parent.get("id"):
        raise NbfleetError(str(record_path(settings, stage.parent)), f"the parent of {stage.name} has not been built")
    files = {str(p.relative_to(stage.dockerfile.parent)): p for p in context_files(stage)}
    files.update(extra_context(settings, stage))
    if wheels is not None:
        # Wheels built here first: pip download may have left an older copy of one in the wheelhouse itself.
        for whl in [*sorted(wheels.glob("host-built/*.whl")), *sorted(wheels.glob("*.whl")), wheels / "pinned.txt"]:
            if whl.is_file():
                files.setdefault(f"wheels/{whl.name}", whl)
    args = buildargs(settings, stage, parent["id"])
    dockerfile = patched.read_bytes()
    content = _digest(dockerfile, files, args)
    image_tags = tags(settings, stage.name, content)

    with tempfile.TemporaryFile(dir=settings.build_dir) as ctx:
        with tarfile.open(fileobj=ctx, mode="w") as tar:
            info = tarfile.TarInfo("Dockerfile")
            info.size, info.mode = len(dockerfile), 0o644
            tar.addfile(info, io.BytesIO(dockerfile))
            if "wheels/pinned.txt" not in files and b"wheels/" in dockerfile:
                empty = tarfile.TarInfo("wheels/pinned.txt")
                tar.addfile(empty, io.BytesIO(b""))
            if stage.name == settings.workshop.image:  # COPY materials/ needs the folder even when it is empty
                folder = tarfile.TarInfo(MATERIALS)
                folder.type, folder.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(folder)
            for arc, path in sorted(files.items()):
                tar.add(path, arcname=arc)
        ctx.seek(0)
        image_id = _run_build(client, ctx, image_tags[0], args, stage.name, progress)

    repo, _, version = image_tags[1].rpartition(":")
    client.api.tag(image_id, repo, version)
    image = client.images.get(image_id)
    previous = read_record(record_path(settings, stage.name))
    python, glibc = _interpreter(client, image_id)
    record = {
        "image": stage.name,
        "id": image_id,
        "tags": image_tags,
        "size": image.attrs.get("Size", 0),
        "parent": stage.parent,
        "parent_id": parent["id"],
        "content": content,
        "built": previous["built"] if previous.get("id") == image_id else dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "nb_user": settings.teacher.user,
        "nb_uid": settings.teacher.uid,
        "nb_gid": settings.teacher.gid,
        "python": python,
        "glibc": glibc,
    }
    write_json(record_path(settings, stage.name), record)
    return record


def _run_build(client, ctx, tag: str, args: dict[str, str], name: str, progress) -> str:
    """Run one build, reporting each step; return the image id or raise with the build's own error line."""
    image_id, last = None, []
    stream = client.api.build(fileobj=ctx, custom_context=True, tag=tag, buildargs=args, rm=True, forcerm=True,
                              decode=True, pull=False)
    for chunk in stream:
        if "error" in chunk:
            raise NbfleetError(f"docker-stacks/{name}/Dockerfile", f"build failed: {chunk['error'].strip()} "
                               f"(last output: {' | '.join(last[-3:])})")
        text = chunk.get("stream", "")
        if text.startswith("Step "):
            if progress:
                progress(name, text.strip())
        elif text.strip():
            last.append(text.strip()[-200:])
            last = last[-5:]
        aux = chunk.get("aux") or {}
        if "ID" in aux:
            image_id = aux["ID"]
    if image_id is None:
        image_id = client.images.get(tag).id
    return image_id


def _interpreter(client, image_id: str) -> tuple[str | None, str | None]:
    """The Python version and glibc version inside an image (what its wheels must be resolved for)."""
    probe = "import platform; print(platform.python_version(), platform.libc_ver()[1])"
    for python in ("/opt/venv/bin/python", "python3"):
        try:
            out = client.containers.run(image_id, [python, "-c", probe], entrypoint=[], remove=True, network_disabled=True)
        except Exception:  # noqa: BLE001 - no Python in this image (the root image)
            continue
        version, _, glibc = out.decode().strip().partition(" ")
        return version, glibc or None
    return None, None


def root_record(client, settings: Settings, image_id: str) -> dict:
    """Write the record of the root image."""
    from .rootfs import root_tag

    image = client.images.get(image_id)
    record = {"image": ROOT, "id": image_id, "tags": [root_tag(settings.base, settings.images.prefix)],
              "size": image.attrs.get("Size", 0), "suite": settings.base.suite, "mirror": settings.base.mirror,
              "built": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    write_json(record_path(settings, ROOT), record)
    return record


def present(client, record: dict) -> bool:
    """Whether the engine still has the image a record names."""
    if not record.get("id"):
        return False
    import docker.errors

    try:
        client.images.get(record["id"])
    except docker.errors.ImageNotFound:
        return False
    return True

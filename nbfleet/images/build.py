"""Build one image of the chain through the Docker engine, then write its record (``images.record``)."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from .. import paths
from ..errors import NbfleetError
from . import record as records
from .context import MATERIALS, buildargs, context_files, digest, extra_context, tags, wheel_files
from .rootfs import make_root_image, root_tag
from .stacks import Stage


def build_image(client, settings, stage: Stage, patched: Path, wheels: Path | None, progress=None) -> dict:
    """Build one image from its patched Dockerfile, its folder and its wheelhouse; tag it; write its record."""
    import tarfile  # only when an image is built: tarfile costs milliseconds that `doit list` need not pay

    parent = records.read(settings, stage.parent)
    if not parent.get("id"):
        raise NbfleetError(str(paths.image_record(settings, stage.parent)), f"the parent of {stage.name} has not been built")
    files = {str(p.relative_to(stage.dockerfile.parent)): p for p in context_files(stage)}
    files.update(extra_context(settings, stage))
    if wheels is not None:
        files.update(wheel_files(wheels))
    args = buildargs(settings, stage, parent["id"])
    dockerfile = patched.read_bytes()
    content = digest(dockerfile, files, args)
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
    previous = records.read(settings, stage.name)
    python, glibc = _interpreter(client, image_id)
    record = records.describe(stage.name, image_id, image_tags, image.attrs.get("Size", 0), settings.teacher,
                              parent=stage.parent, parent_id=parent["id"], content=content,
                              built=previous["built"] if previous.get("id") == image_id else None, python=python, glibc=glibc)
    records.write(settings, record)
    return record


def build_root(client, settings, log=print) -> dict:
    """Make (or pull) the root image and write its record."""
    tag = root_tag(settings.base, settings.images.prefix)
    image_id = make_root_image(client, settings.base, tag, paths.scratch(settings), log)
    record = records.describe_root(image_id, tag, client.images.get(image_id).attrs.get("Size", 0), settings.base)
    records.write(settings, record)
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

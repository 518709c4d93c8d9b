"""The record of each built image, ``build/images/<image>.json``: the target doit tracks, and what later stages run.

A record holds the image's id, its tags (``prefix/<image>:latest`` and ``prefix/<image>:<content>``), its size, its
parent, the teacher it was built for and the Python inside it (what its children's wheels are resolved for). A child
image depends on its parent's record, so a rebuilt parent rebuilds its descendants and nothing else.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from .. import paths
from ..errors import NbfleetError
from ..fs import write_json


def now() -> str:
    """The time a record is written (UTC, to the second)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def describe(image: str, image_id: str, tags: list[str], size: int, teacher, *, parent: str = "", parent_id: str = "",
             content: str = "", built: str | None = None, python: str | None = None, glibc: str | None = None) -> dict[str, Any]:
    """The record of a notebook image (pure): ``teacher`` is the course's (user, uid, gid) it was built for."""
    return {
        "image": image, "id": image_id, "tags": list(tags), "size": size, "parent": parent, "parent_id": parent_id,
        "content": content, "built": built or now(), "nb_user": teacher.user, "nb_uid": teacher.uid, "nb_gid": teacher.gid,
        "python": python, "glibc": glibc,
    }


def describe_root(image_id: str, tag: str, size: int, base) -> dict[str, Any]:
    """The record of the root image (``base`` is course.toml's [base])."""
    return {"image": "root", "id": image_id, "tags": [tag], "size": size, "suite": base.suite, "mirror": base.mirror,
            "built": now()}


def write(settings, record: dict[str, Any]) -> None:
    """Write ``build/images/<image>.json``."""
    write_json(paths.image_record(settings, record["image"]), record)


def read(settings, name: str) -> dict[str, Any]:
    """The record of image ``name``, or {} when there is none yet (or it cannot be read)."""
    try:
        record = json.loads(paths.image_record(settings, name).read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def built(settings, name: str) -> dict[str, Any]:
    """The record of image ``name``; NbfleetError when it was not built."""
    record = read(settings, name)
    if not record.get("id"):
        raise NbfleetError(f"image {name}", f"not built yet: add it to images.build in {settings.file.name} and run `doit images`")
    return record


def launch_image(settings) -> dict[str, Any]:
    """The record of the image students get; it must have been built for this course's teacher uid/gid."""
    path = paths.image_record(settings, settings.images.launch)
    label = paths.shown(path, settings.root)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NbfleetError(label, f"no record of image {settings.images.launch!r}: run `doit images` first") from None
    except ValueError as exc:
        raise NbfleetError(label, f"not valid JSON ({exc}): run `doit images` again") from None
    if not isinstance(record, dict) or not isinstance(record.get("id"), str) or not record["id"]:
        raise NbfleetError(label, "the record has no image id: run `doit images` again")
    teacher = settings.teacher
    for key, want in (("nb_uid", teacher.uid), ("nb_gid", teacher.gid), ("nb_user", teacher.user)):
        if key in record and record[key] != want:
            raise NbfleetError(label, f"the image was built for {key}={record[key]!r} but course.toml's teacher has {want!r}: run `doit images`")
    return record


def image_tag(record: dict[str, Any]) -> str:
    """The image's content tag (``prefix/image:<content>``), else its first tag, else its id."""
    tags = [t for t in record.get("tags", []) if isinstance(t, str)]
    content = [t for t in tags if not t.endswith(":latest")]
    return (content or tags or [record["id"]])[0]


def present(client, record: dict[str, Any]) -> bool:
    """Whether the engine behind ``client`` still has the image a record names."""
    if not record.get("id"):
        return False
    import docker.errors

    try:
        client.images.get(record["id"])
    except docker.errors.ImageNotFound:
        return False
    return True

"""A course registry for the swarm backend (``[swarm] registry``): the manager pushes the image there once, and each
node pulls it before its first server starts, instead of a save/load to every node."""

from __future__ import annotations

import threading
import time

from ...errors import NbfleetError
from .. import engine

_PUSHING: dict[str, threading.Lock] = {}  # image reference -> held while this process pushes it


def reference(registry: str, tag: str, image_id: str) -> str:
    """The name an image has in the course's registry: ``<registry>/<repository>:<content tag>``."""
    repo, _, version = tag.rpartition(":") if tag and "/" not in tag.rpartition(":")[2] else ("", "", "")
    if not repo:
        repo, version = "nbfleet/image", image_id.split(":")[-1][:12]
    return f"{registry}/{repo}:{version}"


def publish(manager, registry: str, image_id: str, tag: str, name: str, source) -> str:
    """Push the image from the manager's engine as ``name``, once ("pushed", or "in registry" when it is there
    already): hosts launching in parallel wait for one another (a registry answers two pushes of the same layers at
    once with errors)."""
    import docker

    with _PUSHING.setdefault(name, threading.Lock()):
        try:
            manager.api.inspect_distribution(name)
            return "in registry"
        except docker.errors.APIError:
            pass  # not there yet (or the registry does not answer: the push says which)
        engine.ensure_image(manager, image_id, tag, source=source)
        repository, _, version = name.rpartition(":")
        manager.api.tag(image_id, repository, version)
        for attempt in range(3):
            errors = [str(line["error"]) for line in manager.api.push(repository, tag=version, stream=True, decode=True)
                      if "error" in line]
            if not errors:
                return "pushed"
            time.sleep(1 + attempt)  # a registry busy with the same layers: try again
        raise NbfleetError(f"swarm registry {registry}", f"cannot push {name}: {' '.join(errors[-1].split())}")


def pull(node, host_name: str, image_id: str, name: str) -> None:
    """The node pulls the image from the registry now (its folder helpers run from it before any task does)."""
    import docker

    try:
        node.images.get(image_id)
    except docker.errors.ImageNotFound:
        repository, _, version = name.rpartition(":")
        try:
            node.images.pull(repository, tag=version)
        except docker.errors.APIError as exc:
            raise NbfleetError(f"host {host_name}", f"cannot pull {name}: {engine.short_error(exc)}") from None

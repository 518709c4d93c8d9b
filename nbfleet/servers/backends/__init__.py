"""Backends: what runs the students' servers on one host, behind one small interface (``base.Backend``).

A launch manifest describes each server in nbfleet's own terms (``servers.manifest.server_entry``); a backend
translates that description to its engine's API and reports what runs, as ``Server`` records that the pure
``servers.plan`` compares with the manifest. The shape follows dockerspawner (one spawner whose
``create_object``/``start_object``/``stop_object``/``remove_object`` SwarmSpawner overrides) and repo2docker's
``ContainerEngine`` (an abstract engine with a Docker implementation):

- ``containers``: one plain container per student on the host's own engine (``backends.containers``);
- ``swarm``: one Swarm service per student, created through the swarm's manager and pinned to the student's
  host by a node label (``backends.swarm``; ``backends.registry`` when the image goes through a registry).

A Kubernetes backend would fit the same interface: a Pod (or a one-replica Deployment) and a Service per
student, the student's folder a PersistentVolumeClaim, the hash an annotation (see docs/backends.md).
"""

from __future__ import annotations

from typing import Any

from ...roster.hosts import Host
from .base import Backend
from .containers import ContainersBackend
from .swarm import SwarmBackend


def open_backend(spec: dict[str, Any], host: Host, course: str) -> Backend:
    """The backend a manifest's ``backend`` entry names, for ``host``."""
    kind = spec.get("kind", "containers")
    if kind == "containers":
        return ContainersBackend(host, course)
    if kind == "swarm":
        return SwarmBackend(host, course, Host.from_dict(spec["manager"]), reserve=spec.get("reserve") or {},
                            registry=spec.get("registry") or "")
    raise ValueError(f"unknown backend {kind!r}")


def for_manifest(manifest: dict[str, Any], host: dict[str, Any] | None = None) -> Backend:
    """The backend that runs a manifest's servers (``containers`` when the manifest names none), on its host or on
    ``host`` (a manifest's host dict)."""
    return open_backend(manifest.get("backend") or {"kind": "containers"}, Host.from_dict(host or manifest["host"]),
                        manifest["course"])

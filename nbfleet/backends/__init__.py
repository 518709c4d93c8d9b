"""Backends: what runs the students' servers on one host, behind one small interface.

A launch manifest describes each server in nbfleet's own terms (``manifest.server_entry``); a backend
translates that description to its engine's API and reports what runs, as ``Server`` records that the pure
``launch.plan`` compares with the manifest. The shape follows dockerspawner (one spawner whose
``create_object``/``start_object``/``stop_object``/``remove_object`` SwarmSpawner overrides) and repo2docker's
``ContainerEngine`` (an abstract engine with a Docker implementation):

- ``containers``: one plain container per student on the host's own engine (``backends.containers``);
- ``swarm``: one Swarm service per student, created through the swarm's manager and pinned to the student's
  host by a node label (``backends.swarm``).

A Kubernetes backend would fit the same interface: a Pod (or a one-replica Deployment) and a Service per
student, the student's folder a PersistentVolumeClaim, the hash an annotation (see docs/backends.md).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Iterable

from ..hosts import Host


@dataclass(frozen=True)
class Server:
    """A student's server as a backend reports it, from as few engine calls as it can.

    ``state`` uses Docker's container words (created, running, restarting, exited, dead, …) so that one plan
    serves every backend; ``detail`` says more when there is more (a Swarm task's error, a node that is down).
    """

    name: str
    id: str
    state: str
    student: str
    settings_hash: str
    labels: dict = field(default_factory=dict)
    detail: str = ""

    @property
    def running(self) -> bool:
        return self.state == "running"


class Backend(ABC):
    """The course's servers on one host. Every operation on a student's server goes through here.

    Opening a backend asks no engine anything; the first call connects. Close it when done (it is a context
    manager): it holds engine connections.
    """

    kind = ""

    def __init__(self, host: Host, course: str):
        self.host = host
        self.course = course

    def __enter__(self) -> "Backend":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @abstractmethod
    def ensure_image(self, image_id: str, tag: str, source=None) -> str:
        """Make sure the host can run ``image_id`` (tagged ``tag``); "present" or "transferred"."""

    @abstractmethod
    def servers(self) -> list[Server]:
        """The course's servers on this host, running or not."""

    @abstractmethod
    def create(self, entry: dict[str, Any]) -> None:
        """Create a manifest entry's server and start it."""

    @abstractmethod
    def update(self, entry: dict[str, Any]) -> None:
        """Give an existing server the entry's new settings (and start it); the student's folder stays."""

    @abstractmethod
    def start(self, name: str) -> None:
        """Start a stopped server."""

    @abstractmethod
    def stop(self, name: str) -> None:
        """Stop a server; the server and its folder stay."""

    @abstractmethod
    def remove(self, name: str) -> None:
        """Stop and remove a server (never its folder)."""

    @abstractmethod
    def activity(self, name: str) -> dict | None:
        """What Jupyter inside says about its use (``nbfleet-activity``), or None if it cannot tell."""

    @abstractmethod
    def usage(self, name: str) -> int | None:
        """Bytes of memory the server uses now, or None."""

    @abstractmethod
    def prepare_folders(self, folders: Iterable[str], uid: int, gid: int, image: str, own: bool = True) -> list[str]:
        """Make sure each folder exists on the host (owned by uid:gid unless ``own`` is false) before a server mounts it."""

    @abstractmethod
    def why_down(self, name: str) -> str:
        """"" while the server runs; else why it does not (exit code and last log line, a scheduling error)."""

    @abstractmethod
    def retire_others(self) -> int:
        """Remove the course's servers on this host that another backend runs (the course switched backends).

        Their folders stay; returns how many went. Called before any server of this backend is created, so that
        ports are free.
        """

    @abstractmethod
    def close(self) -> None:
        """Close the engine connections."""


def open_backend(spec: dict[str, Any], host: Host, course: str) -> Backend:
    """The backend a manifest's ``backend`` entry names, for ``host``."""
    kind = spec.get("kind", "containers")
    if kind == "containers":
        from .containers import ContainersBackend

        return ContainersBackend(host, course)
    if kind == "swarm":
        from .swarm import SwarmBackend

        return SwarmBackend(host, course, Host.from_dict(spec["manager"]), reserve=spec.get("reserve") or {},
                            registry=spec.get("registry") or "")
    raise ValueError(f"unknown backend {kind!r}")

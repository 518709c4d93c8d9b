"""The interface every backend implements, and the ``Server`` record each reports (see ``servers.backends``)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any, NamedTuple

from ...roster.hosts import Host

NODE_DOWN = "node down"  # a Swarm node the manager reports down (its students' servers with it)


class Server(NamedTuple):
    """A student's server as a backend reports it, from as few engine calls as it can.

    ``state`` uses Docker's container words (created, running, restarting, exited, dead, …) so that one plan
    serves every backend; ``detail`` says more when there is more (a Swarm task's error, a node that is down).
    """

    name: str
    id: str
    state: str
    student: str
    settings_hash: str
    labels: dict
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

    def __enter__(self) -> Backend:
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
    def put_up_walls(self, walls: dict[str, str], image: str) -> str:
        """The course's networks ``walls`` (name -> egress policy) on this host, and the rules around them, before any
        server joins one; "kept" when the rules there were already these, else "applied"."""

    @abstractmethod
    def take_down_unused_walls(self, walls: dict[str, str], image: str) -> list[str]:
        """Remove the course's networks that ``walls`` does not name and no server uses any more; the ones removed."""

    @abstractmethod
    def close(self) -> None:
        """Close the engine connections."""

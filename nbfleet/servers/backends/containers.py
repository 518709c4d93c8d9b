"""The ``containers`` backend: one plain container per student on the host's own Docker engine."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from ... import labels
from ...errors import NbfleetError
from .. import activity, engine, walls
from .base import Backend, Server

RETIRE_TIMEOUT = 60.0  # seconds to wait for Swarm to take a removed service's container away


def create_arguments(name: str, server: dict[str, Any], settings_hash: str) -> dict[str, Any]:
    """docker-py ``containers.create`` keyword arguments for a server spec (``servers.manifest.server_entry``)."""
    port, limits, security = server["port"], server["limits"], server["security"]
    reserve = {"mem_reservation": limits["reserve"]["memory"]} if (limits.get("reserve") or {}).get("memory") else {}
    return {
        **reserve,
        "image": server["image"],
        "name": name,
        "command": list(server["command"]),
        "user": server["user"],
        "working_dir": server["workdir"],
        "ports": {f"{port['target']}/tcp": port["published"]},
        "volumes": {m["source"]: {"bind": m["target"], "mode": "ro" if m["read_only"] else "rw"} for m in server["mounts"]},
        "mem_limit": limits["memory"],
        "nano_cpus": int(round(limits["cpus"] * 1e9)),
        "pids_limit": limits["pids"],
        "labels": {**server["labels"], labels.HASH: settings_hash},
        "restart_policy": {"Name": server["restart"]},
        "security_opt": ["no-new-privileges"] if security.get("no_new_privileges") else [],
        "cap_drop": list(security.get("cap_drop", [])),
        "environment": dict(server["environment"]),
        "network": server["network"]["name"],
    }


class ContainersBackend(Backend):
    """Each student's server is a container on the host's engine, restarted by the engine (unless-stopped)."""

    kind = "containers"

    def __init__(self, host, course: str):
        super().__init__(host, course)
        self._client = None

    @property
    def client(self):
        if self._client is None:
            self._client = engine.connect(self.host)
        return self._client

    def ensure_image(self, image_id: str, tag: str, source=None) -> str:
        return engine.ensure_image(self.client, image_id, tag, source=source)

    def servers(self) -> list[Server]:
        return [Server(c.name, c.id, c.state, c.student, c.settings_hash, c.labels)
                for c in engine.list_containers(self.client, self.course)]

    def create(self, entry: dict[str, Any]) -> None:
        self.client.containers.create(**create_arguments(entry["name"], entry["server"], entry["hash"]))
        self.start(entry["name"])

    def update(self, entry: dict[str, Any]) -> None:
        """A container's settings cannot change: it is removed and created again (the folder is a bind mount)."""
        self.remove(entry["name"])
        self.create(entry)

    def start(self, name: str) -> None:
        self.client.api.start(name)

    def stop(self, name: str, timeout: int = 10) -> None:
        self.client.api.stop(name, timeout=timeout)

    def remove(self, name: str, timeout: int = 10) -> None:
        """Stop and remove the container (never its folder). Another launch removing it at the same moment (a
        student moving between hosts launched in parallel) is waited for, not an error."""
        import docker

        try:
            self.client.api.stop(name, timeout=timeout)
            self.client.api.remove_container(name, v=False)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            if exc.status_code != 409:  # 409: its removal is already in progress
                raise
            deadline = time.monotonic() + RETIRE_TIMEOUT
            while self.client.api.containers(all=True, filters={"name": f"^/{name}$"}):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def activity(self, name: str) -> dict | None:
        return activity.ask(self.client, name)

    def usage(self, name: str) -> int | None:
        return engine.memory_usage(self.client, name)

    def prepare_folders(self, folders: Iterable[str], uid: int, gid: int, image: str, own: bool = True) -> list[str]:
        return engine.ensure_folders(self.client, folders, uid, gid, image, self.host.is_local, own=own)

    def why_down(self, name: str) -> str:
        return engine.exited(self.client, name)

    def retire_others(self) -> int:
        """Remove the course's Swarm services pinned to this host (the course went back from swarm to containers).

        Only a manager can remove a service: on a worker, the error says where to do it.
        """
        tasks = self.client.api.containers(all=True, filters={"label": [f"{labels.COURSE}={self.course}", labels.SWARM_TASK]})
        if not tasks:
            walls.forget_other_backend(self.client, self.course, swarm=True)
            return 0
        services = sorted({(c.get("Labels") or {}).get(labels.SWARM_SERVICE, "") for c in tasks} - {""})
        swarm = self.client.info().get("Swarm") or {}
        if not swarm.get("ControlAvailable"):
            raise NbfleetError(f"host {self.host.name}", f"still runs {len(services)} Swarm service(s) of the course "
                               f"({services[0]}, …): remove them on the swarm's manager (`docker service rm`) first")
        import docker

        for name in services:
            try:
                self.client.api.remove_service(name)
            except docker.errors.NotFound:
                pass
        engine.wait_gone(self.client, {"label": [f"{labels.COURSE}={self.course}", labels.SWARM_TASK]},
                         time.monotonic() + RETIRE_TIMEOUT)
        walls.forget_other_backend(self.client, self.course, swarm=True)
        return len(services)

    def put_up_walls(self, wanted: dict[str, str], image: str) -> str:
        return walls.local_walls(self.client, self.course, image, wanted)

    def take_down_unused_walls(self, wanted: dict[str, str], image: str) -> list[str]:
        return walls.prune_local(self.client, self.course, image, wanted)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

"""The ``swarm`` backend: each student is one Docker Swarm service with one replica, pinned to their host.

Services are created, updated, scaled and removed through the swarm's manager; Swarm itself keeps each server
running (it restarts a task whose container dies) and rolls a changed service over to its new settings. A host of
``hosts`` is a swarm node: nbfleet labels that node ``nbfleet.host=<host name>`` and pins each student's service to
it with a placement constraint, so a student keeps the host, port and URL that the roster gives them. The port is
published in host mode on that node (no ingress routing mesh). The host's own engine is still used for what
belongs to the machine: the image (moved there with save/load, no registry), the students' folders (bind mounts
of the node's file system), and asking Jupyter inside a running task about its use.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any

from ... import labels
from ...errors import NbfleetError
from .. import activity, engine, walls
from . import registry as course_registry
from .base import NODE_DOWN, Backend, Server

GONE_TIMEOUT = 60.0  # seconds to wait for a removed service's container to go (its port is free only then)
ROLL_TIMEOUT = 60.0  # seconds to wait for an updated service's old task to stop
ALIVE = ("assigned", "accepted", "preparing", "ready", "starting", "running")  # task states that hold the port
SECOND = 1_000_000_000  # Swarm durations are nanoseconds
# A Swarm task's states, in Docker's container words (what servers.plan and the status table read)
TASK_STATES = {"new": "created", "pending": "created", "assigned": "created", "accepted": "created",
               "preparing": "created", "ready": "created", "starting": "restarting", "running": "running",
               "complete": "exited", "shutdown": "exited", "failed": "exited", "rejected": "dead",
               "remove": "removing", "orphaned": "dead"}


def placement(host_name: str) -> str:
    """The constraint that keeps a student's service on their host's node."""
    return f"node.labels.{labels.HOST}=={host_name}"


def service_spec(name: str, server: dict[str, Any], settings_hash: str, host_name: str,
                 reserve: dict[str, Any] | None = None, replicas: int = 1, image: str | None = None) -> dict[str, Any]:
    """Keyword arguments of the API's service create/update for a server spec (``servers.manifest.server_entry``).

    The image is named by its id, which the node's engine has (nbfleet put it there): Swarm then asks no registry
    (a tag would make every node try a pull first); with a course registry, by ``image``, its name there. The
    password is in the command only as Jupyter's argon2 hash, as in every manifest.
    """
    port, limits, security = server["port"], server["limits"], server["security"]
    reserve = limits.get("reserve") or reserve or {}
    container = {
        "Image": image or server["image"],
        "Args": list(server["command"]),  # the image's entrypoint stays, as with a container's command
        "User": server["user"],
        "Dir": server["workdir"],
        "Labels": {**server["labels"], labels.HASH: settings_hash},
        "Mounts": [{"Type": "bind", "Source": m["source"], "Target": m["target"], "ReadOnly": bool(m["read_only"])}
                   for m in server["mounts"]],
        "Env": [f"{k}={v}" for k, v in sorted(server["environment"].items())],
        "CapabilityDrop": list(security.get("cap_drop", [])),
        "StopGracePeriod": 10 * SECOND,
    }
    if security.get("no_new_privileges"):
        # Docker 27+ (API 1.46) takes Privileges.NoNewPrivileges; older engines drop the key silently (there,
        # `dockerd --no-new-privileges` sets it for every container). With every capability dropped from the
        # bounding set a setuid program gains nothing either way.
        container["Privileges"] = {"NoNewPrivileges": True}
    resources: dict[str, Any] = {"Limits": {"MemoryBytes": int(limits["memory"]), "NanoCPUs": int(round(limits["cpus"] * 1e9)),
                                            "Pids": int(limits["pids"])}}
    reservations = {k: v for k, v in (("MemoryBytes", int(reserve.get("memory") or 0)),
                                      ("NanoCPUs", int(round(float(reserve.get("cpus") or 0) * 1e9)))) if v}
    if reservations:
        resources["Reservations"] = reservations
    restart = {"Condition": "any", "Delay": SECOND, "MaxAttempts": 0}  # as a container's unless-stopped
    return {
        "name": name,
        "task_template": {"ContainerSpec": container, "Resources": resources, "RestartPolicy": restart,
                          "Placement": {"Constraints": [placement(host_name)]},
                          "Networks": [{"Target": walls.swarm_name(server["network"]["name"])}]},
        "labels": {**server["labels"], labels.HASH: settings_hash, labels.HOST: host_name},
        "mode": {"Replicated": {"Replicas": replicas}},
        # one task per service, on a host port: the old task must stop before the new one can bind the port
        "update_config": {"Parallelism": 1, "Order": "stop-first", "FailureAction": "pause", "Monitor": 5 * SECOND},
        "endpoint_spec": {"Ports": [{"Protocol": "tcp", "TargetPort": port["target"], "PublishedPort": port["published"],
                                     "PublishMode": "host"}]},
    }


class SwarmBackend(Backend):
    """The course's services pinned to one host, through the swarm's manager; the host's engine for its machine."""

    kind = "swarm"

    def __init__(self, host, course: str, manager, reserve: dict[str, Any] | None = None, registry: str = ""):
        super().__init__(host, course)
        self.manager = manager
        self.reserve = reserve or {}
        self.registry = registry
        self._references: dict[str, str] = {}  # image id -> its name in the registry
        self._manager = None
        self._node = None
        self._connecting = threading.RLock()  # status asks from several threads at once

    # ---------------------------------------------------------------- connections

    @property
    def api(self):
        """The manager's low-level API; checks once that it is a manager."""
        with self._connecting:
            return self._manager_api()

    def _manager_api(self):
        if self._manager is None:
            client = engine.connect(self.manager)
            swarm = client.info().get("Swarm") or {}
            if swarm.get("LocalNodeState") != "active" or not swarm.get("ControlAvailable"):
                client.close()
                raise NbfleetError(f"swarm manager {self.manager.name}",
                                   "its Docker engine is not a swarm manager: run `docker swarm init` there and "
                                   "`docker swarm join` (with the token `docker swarm join-token worker` prints) on the other hosts")
            self._manager = client
        return self._manager.api

    @property
    def node(self):
        """The host's own Docker engine."""
        with self._connecting:
            if self._node is None:
                self._node = engine.connect(self.host) if self.host.endpoint != self.manager.endpoint else self._manager_client()
            return self._node

    def _manager_client(self):
        self.api  # noqa: B018 - connects and checks
        return self._manager

    def join(self) -> str:
        """The host's swarm node id, labelled ``nbfleet.host=<host>`` (set here from ``hosts``, taken off any other node)."""
        import docker

        swarm = self.node.info().get("Swarm") or {}
        node_id = swarm.get("NodeID") or ""
        if swarm.get("LocalNodeState") != "active" or not node_id:
            raise NbfleetError(f"host {self.host.name}", f"its Docker engine is not part of the swarm: run `docker swarm join` there "
                               f"(`docker swarm join-token worker` on {self.manager.name} prints the command)")
        try:
            node = self.api.inspect_node(node_id)
        except docker.errors.NotFound:
            raise NbfleetError(f"host {self.host.name}", f"its engine belongs to another swarm than {self.manager.name}'s: "
                               "`docker swarm leave` there, then join this one") from None
        for other in self.api.nodes(filters={"node.label": f"{labels.HOST}={self.host.name}"}):
            if other["ID"] != node_id:
                self._set_node_label(other, None)
        if (node["Spec"].get("Labels") or {}).get(labels.HOST) != self.host.name:
            self._set_node_label(node, self.host.name)
        return node_id

    def _set_node_label(self, node: dict, value: str | None) -> None:
        spec = dict(node["Spec"])
        spec["Labels"] = {k: v for k, v in (spec.get("Labels") or {}).items() if k != labels.HOST}
        if value is not None:
            spec["Labels"][labels.HOST] = value
        self.api.update_node(node["ID"], node["Version"]["Index"], spec)

    # ---------------------------------------------------------------- the interface

    def ensure_image(self, image_id: str, tag: str, source=None) -> str:
        """The image on the host's node (save/load from this machine when missing), the node labelled first.

        With a course registry the manager pushes the image there once ("pushed", or "in registry" when it is
        there already) and the node pulls it when its first task starts.
        """
        self.join()
        if not self.registry:
            return engine.ensure_image(self.node, image_id, tag, source=source)
        name = self._references[image_id] = course_registry.reference(self.registry, tag, image_id)
        how = course_registry.publish(self._manager_client(), self.registry, image_id, tag, name, source)
        course_registry.pull(self.node, self.host.name, image_id, name)
        return how

    def _services(self, **filters) -> list[dict]:
        wanted = [f"{labels.COURSE}={self.course}", f"{labels.HOST}={self.host.name}"]
        return self.api.services(filters={"label": wanted, **filters}, status=True)

    def _node_down(self) -> str:
        """"" when the host's node is ready; else what the manager says of it (a node that is down or gone)."""
        nodes = self.api.nodes(filters={"node.label": f"{labels.HOST}={self.host.name}"})
        if not nodes:
            return ""  # never joined yet: launch says so when it needs the node
        status = nodes[0].get("Status") or {}
        if status.get("State") == "ready":
            return ""
        return f"node {nodes[0].get('Description', {}).get('Hostname', self.host.name)} is {status.get('State', 'unknown')}"

    def servers(self) -> list[Server]:
        """One list call for the services (with their running-task counts), one for the node; tasks only for the
        services that do not run."""
        services = self._services()
        down = self._node_down() if services else ""
        out = []
        for svc in services:
            spec = svc["Spec"]
            tags = spec.get("Labels") or {}
            replicas = ((spec.get("Mode") or {}).get("Replicated") or {}).get("Replicas", 1)
            running = (svc.get("ServiceStatus") or {}).get("RunningTasks", 0)
            detail = ""
            if down:
                state, detail = NODE_DOWN, down
            elif replicas == 0:
                state = "exited"
            elif running:
                state = "running"
            else:
                state, detail = self._task_state(spec["Name"])
            out.append(Server(spec["Name"], svc["ID"], state, tags.get(labels.STUDENT, ""), tags.get(labels.HASH, ""), tags, detail))
        return out

    def _latest_task(self, name: str) -> dict | None:
        tasks = self.api.tasks(filters={"service": name, "desired-state": "running"})
        if not tasks:
            tasks = self.api.tasks(filters={"service": name})
        return max(tasks, key=lambda t: (t.get("Version", {}).get("Index", 0)), default=None)

    def _task_state(self, name: str) -> tuple[str, str]:
        task = self._latest_task(name)
        if task is None:
            return "created", ""
        status = task.get("Status") or {}
        return TASK_STATES.get(status.get("State", ""), "created"), status.get("Err") or ""

    def _spec(self, entry: dict[str, Any], replicas: int = 1) -> dict[str, Any]:
        return service_spec(entry["name"], entry["server"], entry["hash"], self.host.name, self.reserve, replicas,
                            self._references.get(entry["server"]["image"]))

    def create(self, entry: dict[str, Any]) -> None:
        """Create the student's service; one that exists under the name (the student moved here from another host)
        is updated instead."""
        import docker

        try:
            self.api.create_service(**self._spec(entry))
        except docker.errors.APIError as exc:
            if exc.status_code != 409:  # 409: the name is taken
                raise
            self.update(entry)

    def update(self, entry: dict[str, Any]) -> None:
        """Swarm rolls the service over to its new settings (stop-first: the task holds a host port).

        Returns once the old task is gone and the new one is on its way, so that whoever waits for the server to
        answer next hears the new one, not the old one still running.
        """
        current = self.api.inspect_service(entry["name"])
        self.api.update_service(entry["name"], current["Version"]["Index"], **self._spec(entry))
        deadline = time.monotonic() + ROLL_TIMEOUT
        while not self._rolled(entry["name"], entry["hash"]) and time.monotonic() < deadline:
            time.sleep(0.2)

    def _rolled(self, name: str, settings_hash: str) -> bool:
        """Does the service have a task with these settings, and no task with older ones still alive?"""
        tasks = self.api.tasks(filters={"service": name})
        new = [t for t in tasks if ((t.get("Spec") or {}).get("ContainerSpec") or {}).get("Labels", {}).get(labels.HASH) == settings_hash]
        old_alive = [t for t in tasks if t not in new and (t.get("Status") or {}).get("State") in ALIVE]
        return bool(new) and not old_alive

    def _scale(self, name: str, replicas: int) -> None:
        current = self.api.inspect_service(name)
        spec = current["Spec"]
        self.api.update_service(name, current["Version"]["Index"], name=spec["Name"], labels=spec.get("Labels"),
                                task_template=spec["TaskTemplate"], mode={"Replicated": {"Replicas": replicas}},
                                update_config=spec.get("UpdateConfig"), endpoint_spec=spec.get("EndpointSpec"))

    def start(self, name: str) -> None:
        self._scale(name, 1)

    def stop(self, name: str) -> None:
        """Scale the service to no replica: Swarm stops its task; the service, its settings and the folder stay."""
        self._scale(name, 0)

    def remove(self, name: str) -> None:
        """Remove the service (never a student who moved to another host meanwhile) and wait until its container
        is gone from this host, so that its port is free."""
        import docker

        try:
            current = self.api.inspect_service(name)
        except docker.errors.NotFound:
            return
        if (current["Spec"].get("Labels") or {}).get(labels.HOST) != self.host.name:
            return
        try:
            self.api.remove_service(name)
        except docker.errors.NotFound:  # removed at the same moment by another host's launch
            pass
        try:
            engine.wait_gone(self.node, {"label": f"{labels.SWARM_SERVICE}={name}"}, time.monotonic() + GONE_TIMEOUT)
        except engine.HostUnreachable:
            pass  # a node that is down has nothing to free

    def _container(self, name: str) -> str:
        task = self._latest_task(name)
        if not task or (task.get("Status") or {}).get("State") != "running":
            return ""
        return ((task.get("Status") or {}).get("ContainerStatus") or {}).get("ContainerID", "")

    def activity(self, name: str) -> dict | None:
        try:
            cid = self._container(name)
            return activity.ask(self.node, cid) if cid else None
        except Exception:  # noqa: BLE001 - a node that cannot be asked has no activity to report
            return None

    def usage(self, name: str) -> int | None:
        try:
            cid = self._container(name)
            return engine.memory_usage(self.node, cid) if cid else None
        except Exception:  # noqa: BLE001
            return None

    def prepare_folders(self, folders: Iterable[str], uid: int, gid: int, image: str, own: bool = True) -> list[str]:
        return engine.ensure_folders(self.node, folders, uid, gid, image, self.host.is_local, own=own)

    def why_down(self, name: str) -> str:
        """"" while the task runs or is on its way; else what Swarm says (no suitable node, a rejected task, …)."""
        try:
            down = self._node_down()
            if down:
                return down
            task = self._latest_task(name)
        except Exception as exc:  # noqa: BLE001
            return f"cannot ask the swarm: {engine.short_error(exc)}"
        if task is None:
            return ""
        status = task.get("Status") or {}
        state, err = status.get("State", ""), status.get("Err") or ""
        if state in ("rejected", "failed") or (state == "pending" and err):
            return f"task {state}: {err or status.get('Message', '')}"
        return ""

    def retire_others(self) -> int:
        """Remove the course's plain containers on this host (the course came from the containers backend)."""
        plain = engine.list_containers(self.node, self.course)
        for c in plain:
            import docker

            try:
                self.node.api.stop(c.name, timeout=10)
                self.node.api.remove_container(c.name, v=False)
            except docker.errors.NotFound:
                pass
        walls.forget_other_backend(self.node, self.course, swarm=False)
        return len(plain)

    def put_up_walls(self, wanted: dict[str, str], image: str) -> str:
        """The course's swarm-scoped networks on the manager, and on this host's node their bridges and rules."""
        return walls.swarm_walls(self._manager_client(), self.node, self.course, self._node_image(image),
                                 wanted)

    def take_down_unused_walls(self, wanted: dict[str, str], image: str) -> list[str]:
        return walls.prune_swarm(self._manager_client(), self.node, self.course, self._node_image(image),
                                 wanted)

    def _node_image(self, image_id: str) -> str:
        """How the node's engine names the course image (its name in the course registry, when there is one)."""
        return self._references.get(image_id, image_id)

    def close(self) -> None:
        for client in {id(c): c for c in (self._node, self._manager) if c is not None}.values():
            client.close()
        self._node = self._manager = None

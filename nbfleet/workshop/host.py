"""The workshop's host and its Docker engine, in the workshop's terms: where it runs, its public URL, the tokens of
its proxy and hub, and the engine calls the workshop makes (containers, a network, a volume, by label)."""

from __future__ import annotations

import errno
import json
import os
import secrets as secrets_module
import socket
import urllib.parse

from .. import labels, paths
from ..errors import NbfleetError
from ..fs import write_private
from ..roster.hosts import Host, load_hosts
from ..servers import engine
from ..servers.walls import local_walls, take_down
from ..servers.walls.networks import BRIDGE, ICC, engine_id
from ..servers.walls.rules import bridge_name
from ..settings import Settings
from ..settings.egress import Egress
from .plan import addresses, inside, room


def workshop_host(settings: Settings):
    """The host of [workshop] host: ``local`` (this machine's engine) or a host of the ``hosts`` file."""
    name = settings.workshop.host
    if name == "local":
        return Host("local", "local")
    for host in load_hosts(settings):
        if host.name == name:
            return host
    raise NbfleetError(f"{settings.file.name}: workshop.host", f"no host {name!r} in the hosts file (or use local)")


def public_url(settings: Settings, host) -> str:
    """Where visitors go: the host's public name and the workshop's port."""
    return f"http://{host.public}:{settings.workshop.port}"


def tokens(settings: Settings) -> dict:
    """The proxy's token and nbfleet's read-only hub token: made once, kept in build/workshop/ (mode 0600)."""
    path = paths.workshop_tokens(settings)
    try:
        data = json.loads(path.read_text())
        if {"proxy_token", "status_token"} <= data.keys():
            return data
    except (OSError, ValueError):
        pass
    data = {"proxy_token": secrets_module.token_hex(32), "status_token": secrets_module.token_hex(32)}
    write_private(path, json.dumps(data))
    return data


class WorkshopHost:
    """The workshop host's engine, in the workshop's terms."""

    def __init__(self, host):
        self.host = host
        self.client = engine.connect(host)

    def close(self) -> None:
        self.client.close()

    def memory(self) -> int:
        return int(self.client.info().get("MemTotal") or 0)

    def docker_socket(self) -> str:
        """The engine's socket path on its own machine, for the hub's DockerSpawner."""
        endpoint = self.host.endpoint
        if endpoint == "local":
            endpoint = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        if endpoint.startswith("unix://"):
            return urllib.parse.urlparse(endpoint).path or endpoint[len("unix://"):]
        return "/var/run/docker.sock"

    def ensure_image(self, record: dict) -> str:
        """The image there (transferred from the local engine when missing); its content tag."""
        tag = record["tags"][1]
        engine.ensure_image(self.client, record["id"], tag)
        return tag

    def container(self, name: str):
        import docker.errors

        try:
            return self.client.containers.get(name)
        except docker.errors.NotFound:
            return None

    def port_user(self, port: int, mine: str) -> str | None:
        """A container other than ``mine`` that publishes ``port`` on this engine, or None."""
        for c in self.client.api.containers(filters={"publish": str(port)}):
            name = (c.get("Names") or ["?"])[0].lstrip("/")
            if name != mine:
                return name
        return None

    def ensure_network(self, name: str, tags: dict, egress: Egress, servers: int) -> dict[str, str]:
        """The workshop's walled network (made if missing: Docker picks a free subnet, then it is made again with
        that subnet, visitors' range and inter-container traffic off); where hub, proxy and visitors sit on it.
        A subnet whose visitors' half holds fewer than ``servers`` is refused in one line, before anything is made."""
        from docker.types import IPAMConfig, IPAMPool

        bridge = bridge_name(engine_id(self.client), name)
        found = [n for n in self.client.api.networks(names=[name]) if n.get("Name") == name]
        if found:
            net = self.client.api.inspect_network(found[0]["Id"])
            pools = (net.get("IPAM") or {}).get("Config") or []
            if (net.get("Options") or {}).get(BRIDGE) != bridge or not pools or not pools[0].get("IPRange"):
                raise NbfleetError(f"workshop network {name}", "was made before the workshop had walls: "
                                   "run `doit workshop:stop`, then `doit workshop`")
            return _roomy(name, addresses(pools[0]["Subnet"]), servers, pools[0]["Subnet"], made=True)
        probe = self.client.api.create_network(name, driver="bridge", labels=tags)  # Docker picks a free subnet
        subnet = self.client.api.inspect_network(probe["Id"])["IPAM"]["Config"][0]["Subnet"]
        self.client.api.remove_network(probe["Id"])
        where = _roomy(name, addresses(subnet), servers, subnet, made=False)
        self.client.api.create_network(
            name, driver="bridge", check_duplicate=True, options={ICC: "false", BRIDGE: bridge},
            labels={**tags, labels.WALLS: name, labels.EGRESS: egress.text},
            ipam=IPAMConfig(pool_configs=[IPAMPool(subnet=subnet, iprange=where["visitors"])]))
        return where

    def put_up_walls(self, name: str, tags: dict, egress: Egress, image: str, where: dict[str, str]) -> str:
        """The rules around the workshop's network, kept by a keeper labelled as the workshop's; "kept" or "applied"."""
        return local_walls(self.client, name, image, {name: egress.text}, inside={name: inside(where)}, extra_labels=tags)

    def take_down_walls(self, name: str) -> bool:
        """The workshop network's rules out of the host's firewall, its keeper removed; False when there was none."""
        return take_down(self.client, name)

    def ensure_volume(self, name: str, labels: dict) -> None:
        import docker.errors

        try:
            self.client.volumes.get(name)
        except docker.errors.NotFound:
            self.client.volumes.create(name, labels=labels)

    def run(self, spec: dict) -> str:
        """Make the container of ``spec`` run: kept when its settings hash is unchanged, else recreated."""
        current = self.container(spec["name"])
        if current is not None and current.labels.get(labels.HASH) == spec["labels"][labels.HASH]:
            if current.status == "running":
                return "running"
            current.start()
            return "started"
        if current is not None:
            current.remove(force=True)
        try:
            self.client.containers.run(detach=True, **spec)
        except Exception as exc:  # noqa: BLE001 - the engine's own words, in one line
            raise NbfleetError(f"workshop {spec['name']}", f"cannot start it: {engine.short_error(exc)}") from None
        return "recreated" if current is not None else "created"

    def trouble(self, name: str) -> str | None:
        """Why the container ``name`` does not serve (gone, stopped, restarting), with its last log line; or None."""
        c = self.container(name)
        if c is None:
            return f"container {name} is gone"
        state = c.attrs.get("State") or {}
        if state.get("Restarting"):
            return self._stopped(c, name, "keeps restarting")
        if not state.get("Running"):
            return self._stopped(c, name, f"stopped (exit code {state.get('ExitCode')})")
        return None

    def log_lines(self, name: str, since: float) -> list[str]:
        """The lines the container ``name`` wrote since ``since`` (seconds since the epoch; 0: all), oldest first."""
        c = self.container(name)
        if c is None:
            return []
        return c.logs(**({"since": int(since)} if since >= 1 else {})).decode("utf-8", "replace").splitlines()

    @staticmethod
    def _stopped(c, name: str, how: str) -> str:
        lines = [ln for ln in c.logs(tail=20).decode("utf-8", "replace").splitlines() if ln.strip()]
        return f"{name} {how}: {engine.short_error(Exception(lines[-1])) if lines else 'no output'}"

    def objects(self, tag: str) -> tuple[list, list, list]:
        """Every container, network and volume of this course's workshop (by label)."""
        f = {"label": f"{labels.WORKSHOP}={tag}"}
        return (self.client.containers.list(all=True, filters=f), self.client.networks.list(filters=f),
                self.client.volumes.list(filters=f))


def port_free_here(port: int) -> bool:
    """Whether this machine can listen on ``port`` (for a local engine, whose published ports are ours)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def _roomy(name: str, where: dict[str, str], servers: int, subnet: str, made: bool) -> dict[str, str]:
    """``where`` if its visitors' range holds ``servers`` servers at once; else one line saying what to change."""
    if room(where) >= servers:
        return where
    fix = ("run `doit workshop:stop`, give this host's dockerd a larger default-address-pool size, then `doit workshop`"
           if made else "give this host's dockerd a larger default-address-pool size (e.g. size=20) or lower max_visitors")
    raise NbfleetError(f"workshop network {name}", f"subnet {subnet} has room for {room(where)} visitors' servers, "
                       f"but [workshop] max_visitors + pool_refill is {servers}: {fix}")

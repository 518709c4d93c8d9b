"""Start, update and remove a course's workshop on its host's Docker engine (the only workshop code that calls it).

``up`` checks everything first (images built, the host known, the pool fits in memory, the port free) and
starts nothing when a check fails; then it makes the network and the hub's volume, (re)creates the proxy and the
hub where their settings changed, starts what is stopped, and waits until the hub answers and the pool is full.
``stop`` removes every container, network and volume labelled as this course's workshop, and nothing else.
"""

from __future__ import annotations

import errno
import json
import os
import secrets as secrets_module
import socket
import time
import urllib.parse

from .. import engine
from ..atomic import write_private
from ..errors import NbfleetError
from ..images import read_record, record_path, workshop_materials
from ..settings import Settings
from .plan import HASH_LABEL, WORKSHOP_LABEL, Names, check_fits, containers, hub_settings

READY_TIMEOUT = 300.0  # seconds for the hub to answer and the pool to fill, on a busy 2-core machine


def workshop_host(settings: Settings):
    """The host of [workshop] host: ``local`` (this machine's engine) or a host of the ``hosts`` file."""
    from ..hosts import Host, load_hosts

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


def _secrets(settings: Settings) -> dict:
    """The proxy's token and nbfleet's read-only hub token: made once, kept in build/workshop/ (mode 0600)."""
    path = settings.build_dir / "workshop" / "secrets.json"
    try:
        data = json.loads(path.read_text())
        if {"proxy_token", "status_token"} <= data.keys():
            return data
    except (OSError, ValueError):
        pass
    data = {"proxy_token": secrets_module.token_hex(32), "status_token": secrets_module.token_hex(32)}
    write_private(path, json.dumps(data))
    return data


def _image(settings: Settings, name: str) -> dict:
    record = read_record(record_path(settings, name))
    if not record.get("id"):
        raise NbfleetError(f"image {name}", f"not built yet: add it to images.build in {settings.file.name} and run `doit images`")
    return record


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

    def ensure_network(self, name: str, labels: dict) -> None:
        if not self.client.networks.list(names=[name]):
            self.client.networks.create(name, driver="bridge", labels=labels)

    def ensure_volume(self, name: str, labels: dict) -> None:
        import docker.errors

        try:
            self.client.volumes.get(name)
        except docker.errors.NotFound:
            self.client.volumes.create(name, labels=labels)

    def run(self, spec: dict) -> str:
        """Make the container of ``spec`` run: kept when its settings hash is unchanged, else recreated."""
        current = self.container(spec["name"])
        if current is not None and current.labels.get(HASH_LABEL) == spec["labels"][HASH_LABEL]:
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

    @staticmethod
    def _stopped(c, name: str, how: str) -> str:
        lines = [ln for ln in c.logs(tail=20).decode("utf-8", "replace").splitlines() if ln.strip()]
        return f"{name} {how}: {engine.short_error(Exception(lines[-1])) if lines else 'no output'}"

    def objects(self, tag: str) -> tuple[list, list, list]:
        """Every container, network and volume of this course's workshop (by label)."""
        f = {"label": f"{WORKSHOP_LABEL}={tag}"}
        return (self.client.containers.list(all=True, filters=f), self.client.networks.list(filters=f),
                self.client.volumes.list(filters=f))


def _port_free_here(port: int) -> bool:
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


def up(settings: Settings, say=print, wait: bool = True) -> str:
    """Start or update the workshop; return its public URL. Every check comes before anything is started."""
    w, names = settings.workshop, Names(settings.course.tag)
    workshop_materials(settings)  # the folder must be there (the image holds what it had when it was built)
    visitor, hub = _image(settings, w.image), _image(settings, w.hub_image)
    host = workshop_host(settings)
    ws = WorkshopHost(host)
    try:
        check_fits(settings, ws.memory(), host.name)
        proxy = ws.container(names.proxy)
        ours = proxy is not None and f"{w.port}/tcp" in (proxy.attrs.get("HostConfig", {}).get("PortBindings") or {})
        other = ws.port_user(w.port, names.proxy)
        if other or (not ours and host.is_local and not _port_free_here(w.port)):
            raise NbfleetError(f"{settings.file.name}: workshop.port",
                               f"port {w.port} is already in use on host {host.name}" + (f" (by container {other})" if other else ""))
        visitor_tag, hub_tag = ws.ensure_image(visitor), ws.ensure_image(hub)
        hub_env = hub_settings(settings, visitor_tag, visitor["id"])
        specs = containers(settings, hub_tag, hub_env, _secrets(settings), ws.docker_socket())
        ws.ensure_network(names.network, names.labels("network"))
        ws.ensure_volume(names.volume, names.labels("hub-data"))
        for spec in specs.values():  # the proxy first: the hub asks it for its routes as it starts
            what = ws.run(spec)
            if what != "running":
                say(f"workshop: {spec['name']} {what}")
        url = public_url(settings, host)
        if wait:
            wait_until_ready(settings, url, say, generation=hub_env["generation"],
                             hub_trouble=lambda: ws.trouble(names.hub) or ws.trouble(names.proxy))
    finally:
        ws.close()
    return url


def wait_until_ready(settings: Settings, url: str, say=print, timeout: float = READY_TIMEOUT,
                     generation: str | None = None, hub_trouble=lambda: None) -> None:
    """Wait until the hub answers through the proxy and the pool holds pool_size servers (of ``generation``).

    ``hub_trouble()`` says why the hub or the proxy cannot answer (stopped, restarting), to stop waiting at once."""
    from .report import hub_users, pool_counts

    token = _secrets(settings)["status_token"]
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            counts = pool_counts(hub_users(url, token), generation)
        except NbfleetError:
            counts = None
            trouble = hub_trouble()
            if trouble:
                raise NbfleetError(f"workshop at {url}", trouble) from None
        if counts is not None:
            if counts != last:
                say(f"workshop: {counts['free']} of {settings.workshop.pool_size} pool servers ready, "
                    f"{counts['starting']} starting, {counts['visitors']} visitors")
                last = counts
            if counts["free"] >= min(settings.workshop.pool_size, settings.workshop.max_visitors - counts["visitors"]):
                return
        if time.monotonic() > deadline:
            what = "the hub does not answer" if counts is None else "the pool is not full"
            raise NbfleetError(f"workshop at {url}", f"{what} after {timeout:.0f} s: see `docker logs {Names(settings.course.tag).hub}`")
        time.sleep(0.5)


def stop(settings: Settings, say=print) -> int:
    """Remove every container, network and volume of this course's workshop; return how many objects went."""
    host = workshop_host(settings)
    ws = WorkshopHost(host)
    removed = 0
    try:
        tag = settings.course.tag
        hub = ws.container(Names(tag).hub)
        if hub is not None and hub.labels.get(WORKSHOP_LABEL) == tag:  # first: it would start new pool servers
            hub.remove(force=True)
            removed += 1
        found, _, _ = ws.objects(tag)
        for c in found:
            c.remove(force=True)
            removed += 1
        _, networks, volumes = ws.objects(tag)
        for obj in [*networks, *volumes]:
            obj.remove()
            removed += 1
    finally:
        ws.close()
    say(f"workshop: removed {removed} containers, networks and volumes")
    return removed

"""What a workshop host runs, from the course's settings: pure functions, no engine calls.

    proxy (configurable-http-proxy, published on [workshop] port) ──> hub (JupyterHub + DockerSpawner)
        └── routes /user/<visitor>/ ──> visitor containers          └── pool keeper, idle culler (hub services)

All of it on one Docker network of the workshop's own, with the hub's database on a volume; every object carries
the label ``nbfleet.workshop=<course tag>`` so that ``doit workshop:stop`` removes exactly these and nothing else.
The network is walled like a class's (``servers.walls``): hub and proxy sit at fixed addresses below the range
visitors get theirs from, and only JupyterHub's own flows pass between containers (``inside``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
from typing import NamedTuple

from .. import labels
from ..errors import NbfleetError
from ..servers.walls import Pass
from ..settings import Settings

HUB_PORT = 8081
VISITOR_PORT = 8888  # where a visitor's Jupyter listens (the image contract)
PROXY_API_PORT = 8001
PROXY_USER = "65534:65534"  # nobody: the proxy needs no privilege at all


class Names(NamedTuple):
    """The Docker names of one course's workshop."""

    tag: str

    @property
    def network(self) -> str:
        return f"{self.tag}-workshop"

    @property
    def volume(self) -> str:
        return f"{self.tag}-workshop-hub"

    @property
    def hub(self) -> str:
        return f"{self.tag}-workshop-hub"

    @property
    def proxy(self) -> str:
        return f"{self.tag}-workshop-proxy"

    @property
    def visitor_prefix(self) -> str:
        """Visitor containers are ``<prefix>-visitor-<hex>`` (DockerSpawner's ``{prefix}-{username}``)."""
        return f"{self.tag}-workshop"

    def labels(self, role: str) -> dict[str, str]:
        return {labels.WORKSHOP: self.tag, labels.WORKSHOP_ROLE: role}


def addresses(subnet: str) -> dict[str, str]:
    """Where the hub and the proxy sit on the workshop's network (fixed: the walls name them by address), and the
    upper half of the subnet, where Docker gives visitors theirs."""
    net = ipaddress.ip_network(subnet)
    return {"hub": str(net.network_address + 2), "proxy": str(net.network_address + 3),
            "visitors": str(list(net.subnets(prefixlen_diff=1))[1])}


def room(where: dict[str, str]) -> int:
    """How many visitors' servers the network's upper half holds at once (its last address is the broadcast)."""
    return ipaddress.ip_network(where["visitors"]).num_addresses - 1


def inside(where: dict[str, str]) -> tuple[Pass, ...]:
    """What passes between the workshop's containers: the hub reaches everything (its proxy's API, every visitor's
    server), the proxy reaches the hub and visitors' servers, a visitor's server reaches the hub's API. A visitor never
    reaches another visitor, nor the proxy's API."""
    return (Pass(where["hub"], "", ()), Pass(where["proxy"], "", (HUB_PORT, VISITOR_PORT)), Pass("", where["hub"], (HUB_PORT,)))


def timings(idle_timeout: float, busy_limit: float = 0) -> dict[str, float]:
    """How often activity is reported, servers are polled and idle ones culled, so that an idle visitor is culled
    soon after ``idle_timeout`` (JupyterHub's 5-minute defaults would add up to 10 minutes to a short timeout); and how
    often the busy culler looks at visitors' CPU time, so that a busy one is stopped soon after ``busy_limit``."""
    return {
        "activity_interval": int(min(300, max(5, idle_timeout / 4))),
        "cull_every": int(min(60, max(5, idle_timeout / 6))),
        "poll_interval": int(min(30, max(5, idle_timeout / 6))),
        "busy_every": int(min(60, max(5, busy_limit / 6))),
    }


def generation(visitor_image_id: str, settings: Settings) -> str:
    """What a pool server was started with (image and limits): a server of an older generation is replaced."""
    w = settings.workshop
    text = json.dumps([visitor_image_id, w.memory, w.cpus, w.pids], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def hub_settings(settings: Settings, visitor_image: str, visitor_image_id: str, proxy_ip: str = "",
                 now: dt.datetime | None = None) -> dict:
    """The JSON the hub's jupyterhub_config.py reads from NBFLEET_WORKSHOP (no secrets in it); ``proxy_ip`` is the
    proxy's address on the workshop's network (``addresses``): only its X-Forwarded-For is believed; the sessions
    are those not over at ``now``."""
    w, n = settings.workshop, Names(settings.course.tag)
    return {
        "name": n.visitor_prefix,
        "network": n.network,
        "hub_host": n.hub,
        "proxy_api": f"http://{n.proxy}:{PROXY_API_PORT}",
        "image": visitor_image,
        "generation": generation(visitor_image_id, settings),
        "labels": n.labels("visitor"),
        "pool_size": w.pool_size,
        "max_visitors": w.max_visitors,
        "pool_refill": w.pool_refill,
        "memory": w.memory,
        "cpus": w.cpus,
        "pids": w.pids,
        "idle_timeout": w.idle_timeout,
        "max_age": w.max_age,
        "per_client": w.per_client,
        "busy_limit": w.busy_limit,
        "proxy_ip": proxy_ip,
        "schedule": sessions_ahead(settings, now or dt.datetime.now(dt.UTC)),
        **timings(w.idle_timeout, w.busy_limit),
    }


def sessions_ahead(settings: Settings, now: dt.datetime) -> list[dict]:
    """The schedule's sessions not over at ``now``, as the pool keeper reads them (times in seconds since the epoch)."""
    return [{"start": s.start.timestamp(), "visitors": s.visitors, "length": s.length}
            for s in settings.workshop.schedule if s.end > now]


def check_schedule(settings: Settings, host_memory: int, host_name: str, now: dt.datetime) -> None:
    """Admission of the schedule: no session already over, and each session's servers fit in the host's memory."""
    w = settings.workshop
    for i, s in enumerate(w.schedule, 1):
        where = f"{settings.file.name}: workshop.schedule[{i}]"
        if s.end <= now:
            raise NbfleetError(f"{where}.start", f"the session of {s.start:%Y-%m-%d %H:%M} is in the past (it ended "
                               f"{s.end:%Y-%m-%d %H:%M}): remove it")
        if host_memory and s.visitors * w.memory > host_memory:
            raise NbfleetError(f"{where}.visitors", f"{s.visitors} servers x {_gib(w.memory)} = {_gib(s.visitors * w.memory)} "
                               f"does not fit in the memory of host {host_name} ({_gib(host_memory)}): lower visitors or "
                               "workshop.memory")


def check_fits(settings: Settings, host_memory: int, host_name: str) -> None:
    """Admission: the most servers the workshop can run at once must fit in the host's memory."""
    w = settings.workshop
    most = max(w.pool_size, w.max_visitors)
    key = "max_visitors" if w.max_visitors >= w.pool_size else "pool_size"
    if host_memory and most * w.memory > host_memory:
        raise NbfleetError(
            f"{settings.file.name}: workshop.{key}",
            f"{most} servers x {_gib(w.memory)} = {_gib(most * w.memory)} does not fit in the memory of host "
            f"{host_name} ({_gib(host_memory)}): lower {key} or workshop.memory")


def _gib(n: int) -> str:
    return f"{n / 1024**3:.1f} GiB"


def containers(settings: Settings, hub_image: str, hub_env: dict, secrets: dict, docker_socket: str,
               where: dict[str, str]) -> dict[str, dict]:
    """The hub's and the proxy's containers as Docker SDK ``containers.create`` arguments, each labelled with the
    hash of its own arguments (a changed setting recreates that container, nothing else), each at its address of
    ``where`` (``addresses``) on the workshop's network."""
    w, n = settings.workshop, Names(settings.course.tag)
    hub_url = f"http://{n.hub}:{HUB_PORT}"
    hardening = {"security_opt": ["no-new-privileges"], "restart_policy": {"Name": "unless-stopped"}}
    proxy = {
        "image": hub_image,
        "name": n.proxy,
        "command": ["configurable-http-proxy", "--ip=0.0.0.0", f"--port={w.port}",
                    "--api-ip=0.0.0.0", f"--api-port={PROXY_API_PORT}",
                    f"--default-target={hub_url}", f"--error-target={hub_url}/hub/error"],
        "environment": {"CONFIGPROXY_AUTH_TOKEN": secrets["proxy_token"]},
        "user": PROXY_USER,
        "ports": {f"{w.port}/tcp": w.port},
        "network": n.network,
        "networking_config": {n.network: {"IPAMConfig": {"IPv4Address": where["proxy"]}}},
        "labels": n.labels("proxy"),
        "cap_drop": ["ALL"],
        "mem_limit": "256m",
        **hardening,
    }
    hub = {
        "image": hub_image,
        "name": n.hub,
        "environment": {
            "NBFLEET_WORKSHOP": json.dumps(hub_env, sort_keys=True),
            "CONFIGPROXY_AUTH_TOKEN": secrets["proxy_token"],
            "NBFLEET_STATUS_TOKEN": secrets["status_token"],
        },
        "volumes": {n.volume: {"bind": "/srv/jupyterhub", "mode": "rw"},
                    docker_socket: {"bind": "/var/run/docker.sock", "mode": "rw"}},
        "network": n.network,
        "networking_config": {n.network: {"IPAMConfig": {"IPv4Address": where["hub"]}}},
        "labels": n.labels("hub"),
        "mem_limit": "1g",
        **hardening,
    }
    out = {}
    for spec in (proxy, hub):
        digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]
        spec["labels"] = {**spec["labels"], labels.HASH: digest}
        out[spec["name"]] = spec
    return out

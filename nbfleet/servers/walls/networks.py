"""The course's Docker networks on one engine: one per egress policy, a Linux bridge of nbfleet's name with Docker's
inter-container switch off (``enable_icc=false``), so that no two servers on it talk to each other.

On Swarm the same bridge is made on each node from a config-only network there, and a swarm-scoped network built
from it on the manager (``--config-from``): services attach to it like containers to a local bridge, and each node
keeps its own bridge, named for its own engine, that the rules on that node match.
"""

from __future__ import annotations

import hashlib

from ... import labels
from ...errors import NbfleetError
from ...settings.egress import Egress, from_text
from .. import engine
from .rules import Network, bridge_name

ICC = "com.docker.network.bridge.enable_icc"
BRIDGE = "com.docker.network.bridge.name"


def network_name(course: str, egress: Egress) -> str:
    """The course's network for servers with this egress policy: ``<course>-net-<8 hex of the policy>``."""
    return f"{course}-net-{hashlib.sha256(egress.text.encode()).hexdigest()[:8]}"


def swarm_name(name: str) -> str:
    """The swarm-scoped network that stands for the course's network ``name`` on Swarm: a name of its own, so that a
    host switching backends never finds the other backend's network under the name it needs."""
    return f"{name}-swarm"


def engine_id(client) -> str:
    """What tells this engine from any other on its machine (bridge and chain names are machine-wide): its id and
    its data root (engines started side by side from one configuration share an id)."""
    info = client.info()
    return f"{info['ID']} {info.get('DockerRootDir', '')}"


def _options(eid: str, name: str) -> dict:
    return {ICC: "false", BRIDGE: bridge_name(eid, name)}


def _labels(course: str, egress: Egress) -> dict:
    return {labels.WALLS: course, labels.EGRESS: egress.text}


def ensure_bridge(client, eid: str, course: str, name: str, egress: Egress) -> Network:
    """The course's local network ``name`` on ``client``'s engine (``eid``: its ``engine_id``), made if missing; its
    walls."""
    options = _options(eid, name)
    found = client.api.networks(names=[name])
    mine = [n for n in found if n.get("Name") == name]
    if mine and (mine[0].get("Options") or {}).get(BRIDGE) != options[BRIDGE]:
        raise NbfleetError(f"network {name}", "exists but was not made by nbfleet for this engine: remove it (`docker network rm`)")
    if not mine:
        client.api.create_network(name, driver="bridge", options=options, labels=_labels(course, egress), check_duplicate=True)
    return Network(name, options[BRIDGE], egress)


def ensure_swarm_network(manager, node, eid: str, course: str, name: str, egress: Egress) -> Network:
    """The course's swarm-scoped network ``name``, its config on ``node`` (``eid``: the node's ``engine_id``), made if
    missing there; the node's walls."""
    options = _options(eid, name)
    config = f"{name}-config"
    if not [n for n in node.api.networks(names=[config]) if n.get("Name") == config]:
        _create(node, {"Name": config, "Driver": "bridge", "ConfigOnly": True, "Options": options,
                       "Labels": _labels(course, egress), "CheckDuplicate": True})
    if not [n for n in manager.api.networks(names=[name]) if n.get("Name") == name]:
        # the swarm network carries nothing of its own (Docker refuses even labels beside ConfigFrom)
        _create(manager, {"Name": name, "Driver": "bridge", "Scope": "swarm", "ConfigFrom": {"Network": config}})
    return Network(name, options[BRIDGE], egress)


def _create(client, body: dict) -> None:
    """POST /networks/create with what docker-py's create_network cannot say (ConfigOnly, ConfigFrom)."""
    import docker

    api = client.api
    try:
        api._result(api._post_json(api._url("/networks/create"), data=body), json=True)
    except docker.errors.APIError as exc:
        # made meanwhile by a launch of another host: a 409, or on a swarm manager a 500 ("name conflicts with an
        # existing object"); either way the network is there now
        made = exc.status_code == 409 or [n for n in api.networks(names=[body["Name"]]) if n.get("Name") == body["Name"]]
        if not made:
            raise NbfleetError(f"network {body['Name']}", f"cannot make it: {engine.short_error(exc)}") from None


def course_networks(client, course: str, config_only: bool = False) -> list[Network]:
    """The course's networks on ``client``'s engine (local bridges, or a node's config-only networks), as walls."""
    out = []
    for n in client.api.networks(filters={"label": f"{labels.WALLS}={course}"}):
        if bool(n.get("ConfigOnly")) != config_only or n.get("Scope") == "swarm":
            continue
        name = n["Name"][: -len("-config")] if config_only else n["Name"]
        out.append(Network(name, (n.get("Options") or {})[BRIDGE], from_text((n.get("Labels") or {})[labels.EGRESS])))
    return out


def remove_unused(client, names: list[str]) -> list[str]:
    """Remove each network of ``names`` that no container uses any more; the ones removed."""
    import docker

    gone = []
    for name in names:
        try:
            client.api.remove_network(name)
            gone.append(name)
        except docker.errors.NotFound:
            gone.append(name)
        except docker.errors.APIError:  # still in use (a student not yet moved to the new policy)
            continue
    return gone

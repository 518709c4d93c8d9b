"""Put a course's walls up on one engine (its networks, then its keeper), and take down networks no server uses.

Policies come as a manifest records them (network name -> egress policy in canonical form).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ...settings.egress import from_text
from .networks import course_networks, engine_id, ensure_bridge, ensure_swarm_network, remove_unused, swarm_name
from .rules import Pass, prefix
from .warden import keep


def local_walls(client, course: str, image: str, wanted: Mapping[str, str],
                inside: Mapping[str, Sequence[Pass]] | None = None, extra_labels: dict | None = None) -> str:
    """The course's networks ``wanted`` on a plain engine, and rules for them and for any older network of the
    course still there (a student not yet moved to a new policy keeps the old one's walls); ``inside``: flows allowed
    between containers of a network; ``extra_labels`` on the keeper. "kept" or "applied"."""
    eid = engine_id(client)
    nets = {n.name: n for n in course_networks(client, course)}
    for name, egress in wanted.items():
        nets[name] = ensure_bridge(client, eid, course, name, from_text(egress))
    nets = {name: n._replace(inside=tuple((inside or {}).get(name, ()))) for name, n in nets.items()}
    return keep(client, course, prefix(eid, course), image, list(nets.values()), extra_labels)


def swarm_walls(manager, node, course: str, image: str, wanted: Mapping[str, str]) -> str:
    """The same on a swarm: the swarm-scoped networks (``swarm_name``) on the manager, their bridges and rules on
    ``node``."""
    eid = engine_id(node)
    nets = {n.name: n for n in course_networks(node, course, config_only=True)}
    for name, egress in wanted.items():
        nets[swarm_name(name)] = ensure_swarm_network(manager, node, eid, course, swarm_name(name), from_text(egress))
    return keep(node, course, prefix(eid, course), image, list(nets.values()))


def forget_other_backend(client, course: str, swarm: bool) -> list[str]:
    """After a host switched backends: remove the course's networks the other backend made on ``client``'s engine
    (``swarm``: its Swarm ones, the swarm-scoped networks first when this engine manages them) that no server uses."""
    if not swarm:
        return remove_unused(client, [n.name for n in course_networks(client, course)])
    configs = [n.name for n in course_networks(client, course, config_only=True)]
    if not configs:
        return []
    if (client.info().get("Swarm") or {}).get("ControlAvailable"):
        remove_unused(client, configs)
    return remove_unused(client, [f"{name}-config" for name in configs])


def prune_local(client, course: str, image: str, wanted: Mapping[str, str]) -> list[str]:
    """Remove the course's networks that are not wanted and no server uses; their rules go with them."""
    gone = remove_unused(client, [n.name for n in course_networks(client, course) if n.name not in wanted])
    if gone:
        local_walls(client, course, image, wanted)
    return gone


def prune_swarm(manager, node, course: str, image: str, wanted: Mapping[str, str]) -> list[str]:
    """The same on a swarm (the manager's networks first: a node's config cannot go while one is built on it)."""
    names = {swarm_name(name) for name in wanted}
    stale = [n.name for n in course_networks(node, course, config_only=True) if n.name not in names]
    gone = [name for name in remove_unused(manager, stale) if remove_unused(node, [f"{name}-config"])]
    if gone:
        swarm_walls(manager, node, course, image, wanted)
    return gone

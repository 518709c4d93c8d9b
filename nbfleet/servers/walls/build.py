"""Put a course's walls up on one engine (its networks, then its keeper), and take down networks no server uses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ...settings.egress import Egress
from .networks import course_networks, engine_id, ensure_bridge, ensure_swarm_network, remove_unused
from .rules import Network, Pass, prefix
from .warden import keep


def local_walls(client, course: str, image: str, wanted: Mapping[str, Egress],
                inside: Mapping[str, Sequence[Pass]] | None = None) -> str:
    """The course's networks ``wanted`` on a plain engine, and rules for them and for any older network of the
    course still there (a student not yet moved to a new policy keeps the old one's walls). "kept" or "applied"."""
    nets = {n.name: n for n in course_networks(client, course)}
    for name, egress in wanted.items():
        nets[name] = ensure_bridge(client, course, name, egress)
    nets = {name: n._replace(inside=tuple((inside or {}).get(name, ()))) for name, n in nets.items()}
    return keep(client, course, prefix(engine_id(client), course), image, list(nets.values()))


def swarm_walls(manager, node, course: str, image: str, wanted: Mapping[str, Egress]) -> str:
    """The same on a swarm: the swarm-scoped networks on the manager, their bridges and rules on ``node``."""
    nets = {n.name: n for n in course_networks(node, course, config_only=True)}
    for name, egress in wanted.items():
        nets[name] = ensure_swarm_network(manager, node, course, name, egress)
    return keep(node, course, prefix(engine_id(node), course), image, list(nets.values()))


def _stale(networks: Sequence[Network], wanted: Mapping[str, Egress]) -> list[str]:
    return [n.name for n in networks if n.name not in wanted]


def prune_local(client, course: str, image: str, wanted: Mapping[str, Egress]) -> list[str]:
    """Remove the course's networks that are not wanted and no server uses; their rules go with them."""
    gone = remove_unused(client, _stale(course_networks(client, course), wanted))
    if gone:
        local_walls(client, course, image, wanted)
    return gone


def prune_swarm(manager, node, course: str, image: str, wanted: Mapping[str, Egress]) -> list[str]:
    """The same on a swarm (the manager's networks first: a node's config cannot go while one is built on it)."""
    stale = _stale(course_networks(node, course, config_only=True), wanted)
    gone = remove_unused(manager, stale)
    gone = [name for name in gone if remove_unused(node, [f"{name}-config"])]
    if gone:
        swarm_walls(manager, node, course, image, wanted)
    return gone

"""The warm pool's rules, as pure functions over JupyterHub's user models (the REST API's JSON).

A *pool* user is a temporary user whose server was started before any visitor came; a *visitor* is a pool user
that the login handed to someone. Group membership says which is which (groups ``pool`` and ``visitors``), and the
``generation`` the keeper put into a server's ``user_options`` says whether it was started with today's image and
limits. The keeper keeps ``min(pool_size, max_visitors - visitors)`` current servers waiting, starting at most
``pool_refill`` at a time; the idle culler only ever sees the ``visitors`` group.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

POOL_GROUP = "pool"
VISITOR_GROUP = "visitors"
USER_PREFIX = "visitor"  # + 12 hex digits: a name DockerSpawner keeps as it is in container names


def settings() -> dict:
    """The workshop's settings as nbfleet wrote them into the hub's environment."""
    return json.loads(os.environ["NBFLEET_WORKSHOP"])


def _server(user: dict) -> dict | None:
    return (user.get("servers") or {}).get("")


def is_ready(user: dict) -> bool:
    server = _server(user)
    return bool(server and server.get("ready") and not server.get("pending"))


def is_pending(user: dict) -> bool:
    server = _server(user)
    return bool(server and server.get("pending"))


def generation_of(user: dict) -> str | None:
    server = _server(user)
    return ((server or {}).get("user_options") or {}).get("generation")


@dataclass
class Plan:
    """What the keeper does in one round."""

    retire: list[str] = field(default_factory=list)  # users to stop and delete
    start: int = 0  # new pool servers to start now


def plan(users: list[dict], *, pool_size: int, max_visitors: int, pool_refill: int, generation: str) -> Plan:
    """One round of the keeper, from the users the hub lists (with their groups and servers)."""
    out = Plan()
    pool = [u for u in users if POOL_GROUP in u.get("groups", [])]
    visitors = [u for u in users if VISITOR_GROUP in u.get("groups", [])]
    live_visitors = 0
    for user in visitors:
        if _server(user) is None:  # culled, crashed or stopped: the visitor gets a new one when they come back
            out.retire.append(user["name"])
        else:
            live_visitors += 1
    waiting = starting = failed = 0
    for user in pool:
        if is_pending(user) and generation_of(user) == generation:
            starting += 1
        elif is_ready(user) and generation_of(user) == generation:
            waiting += 1
        elif not is_pending(user):  # failed to start, stopped, or started with an older image or limits
            out.retire.append(user["name"])
            failed += _server(user) is None
    # Users of neither group are nbfleet's own leftovers (created, never grouped) when they carry the prefix.
    for user in users:
        groups = user.get("groups", [])
        if user["name"].startswith(USER_PREFIX) and POOL_GROUP not in groups and VISITOR_GROUP not in groups:
            if not is_pending(user):
                out.retire.append(user["name"])
    want = max(0, min(pool_size, max_visitors - live_visitors))
    out.start = max(0, min(want - waiting - starting, pool_refill - starting))
    if failed >= pool_refill:  # servers keep failing to start: retire those first, never pile up new ones
        out.start = 0
    return out

"""The warm pool's rules, as pure functions over JupyterHub's user models (the REST API's JSON).

A *pool* user is a temporary user whose server was started before any visitor came; a *visitor* is a pool user
that the login handed to someone. Group membership says which is which (groups ``pool`` and ``visitors``), and the
``generation`` the keeper put into a server's ``user_options`` says whether it was started with today's image and
limits. The keeper keeps ``min(pool_size, max_visitors - visitors)`` current servers waiting (more while a session of
the schedule is near or on: ``schedule``), with ``pool_refill`` of them starting at once (the hub answers a start at
once and spawns in the background); the idle culler only ever sees the ``visitors`` group.

While a crowd arrives (at least ``CROWD`` visitors handed a server in the last ``CROWD_WINDOW`` seconds), the
keeper starts no server as long as one still waits: a start costs about a second of CPU, and on a small host the
starts it would add take the cores the arriving visitors' logins need (measured: 100 visitors over 10 s on 2 cores,
p95 2.75 s with the refills; README.md, "Workshop mode"). It refills once the crowd has passed, or when the pool
is empty.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field

POOL_GROUP = "pool"
VISITOR_GROUP = "visitors"
USER_PREFIX = "visitor"  # + 12 hex digits: a name DockerSpawner keeps as it is in container names
CROWD, CROWD_WINDOW = 2, 3.0  # this many visitors handed a server within this many seconds: a crowd is arriving


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


def waiting(users: list[dict], generation: str) -> int:
    """Pool servers of ``generation`` ready for the next visitor."""
    return sum(1 for u in users if POOL_GROUP in u.get("groups", []) and is_ready(u) and generation_of(u) == generation)


def handed_out(users: list[dict]) -> list[float]:
    """When each visitor was handed their server (seconds since the epoch): the login sets the server's ``started``
    to that moment."""
    out = []
    for user in users:
        started = (_server(user) or {}).get("started") if VISITOR_GROUP in user.get("groups", []) else None
        if started:
            out.append(dt.datetime.fromisoformat(started.replace("Z", "+00:00")).timestamp())
    return out


def crowd_arriving(users: list[dict], now: float, least: int = CROWD, window: float = CROWD_WINDOW) -> bool:
    """Whether at least ``least`` visitors were handed a server in the last ``window`` seconds: faster than one start
    a second, which is about what a small host refills at while visitors work."""
    return sum(1 for t in handed_out(users) if now - window <= t <= now + 1) >= least


@dataclass
class Plan:
    """What the keeper does in one round."""

    retire: list[str] = field(default_factory=list)  # users to stop and delete
    start: int = 0  # new pool servers to start now
    shrink: list[str] = field(default_factory=list)  # waiting servers more than wanted: out of the pool (then retired)


def plan(users: list[dict], *, pool_size: int, max_visitors: int, pool_refill: int, generation: str,
         expected: int = 0, crowd: bool = False) -> Plan:
    """One round of the keeper, from the users the hub lists (with their groups and servers); ``expected``: the
    visitors of a session on now (``schedule``), for whom servers wait until they come (at least ``pool_size``);
    ``crowd``: a crowd is arriving (``crowd_arriving``), so no server starts while one still waits."""
    out = Plan()
    pool = [u for u in users if POOL_GROUP in u.get("groups", [])]
    visitors = [u for u in users if VISITOR_GROUP in u.get("groups", [])]
    live_visitors = 0
    for user in visitors:
        if _server(user) is None:  # culled, crashed or stopped: the visitor gets a new one when they come back
            out.retire.append(user["name"])
        else:
            live_visitors += 1
    ready_now = starting = failed = 0
    ready = []
    for user in pool:
        if is_pending(user) and generation_of(user) == generation:
            starting += 1
        elif is_ready(user) and generation_of(user) == generation:
            ready_now += 1
            ready.append(user["name"])
        elif not is_pending(user):  # failed to start, stopped, or started with an older image or limits
            out.retire.append(user["name"])
            failed += _server(user) is None
    # Users of neither group are nbfleet's own leftovers (created, never grouped) when they carry the prefix.
    for user in users:
        groups = user.get("groups", [])
        if user["name"].startswith(USER_PREFIX) and POOL_GROUP not in groups and VISITOR_GROUP not in groups:
            if not is_pending(user):
                out.retire.append(user["name"])
    wanted = max(pool_size, expected - live_visitors)
    want = max(0, min(wanted, max_visitors - live_visitors))
    out.start = max(0, min(want - ready_now - starting, pool_refill - starting))
    if ready_now > wanted:  # a session is over: back to pool_size
        out.shrink = sorted(ready)[: ready_now - wanted]
    if failed >= pool_refill:  # servers keep failing to start: retire those first, never pile up new ones
        out.start = 0
    if crowd and ready_now > 0:  # the cores go to the arriving visitors; refill when they have passed
        out.start = 0
    return out


def outcomes(users: list[dict], started: set[str]) -> tuple[list[str], list[str]]:
    """Of the pool servers the keeper ``started`` (and has not heard of since): those now ready, and those that failed
    (their user has no server any more, or is gone, before it was ever ready)."""
    by_name = {u["name"]: u for u in users}
    ready, failed = [], []
    for name in sorted(started):
        user = by_name.get(name)
        if user is not None and is_ready(user):
            ready.append(name)
        elif user is None or not is_pending(user):
            failed.append(name)
    return ready, failed

"""Who uses the workshop: the hub's view (visitors, pool servers, activity) joined with the engine's (memory), one row
per server (``tasks.render`` shows them)."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from .. import threads
from ..servers import engine
from ..servers.activity import times
from ..settings import Session
from .host import WorkshopHost, public_url, tokens, workshop_host
from .hub_api import VISITOR_GROUP, hub_users, pool_counts, server_of
from .plan import Names


class Row(NamedTuple):
    """One visitor or pool server."""

    user: str
    role: str  # visitor, pool, starting
    container: str
    age: float | None  # seconds since the server started (a visitor's: since they got it)
    idle: float | None  # seconds since the last activity
    memory: int | None  # bytes


def rows(users: list[dict], prefix: str, memory_of, now: dt.datetime | None = None) -> list[Row]:
    """A row per server; ``memory_of(container name)`` asks the engine (None when it cannot tell)."""
    now = now or dt.datetime.now(dt.UTC)
    out = []
    for user in sorted(users, key=lambda u: u["name"]):
        server = server_of(user)
        if server is None:
            continue
        groups = user.get("groups", [])
        role = "visitor" if VISITOR_GROUP in groups or not groups else ("starting" if server.get("pending") else "pool")
        container = f"{prefix}-{user['name']}"
        age, idle = times({"started": server.get("started"),
                           "last_activity": server.get("last_activity") or user.get("last_activity")}, now)
        out.append(Row(user["name"], role, container, age, idle, memory_of(container)))
    return out


class Status(NamedTuple):
    """The workshop now: where it is, how many visitors and pool servers, a row per server, and the schedule's next
    session (on now, or the next to come; None when there is none)."""

    url: str
    counts: dict[str, int]
    rows: list[Row]
    session: Session | None = None


def next_session(schedule: tuple[Session, ...], now: dt.datetime) -> Session | None:
    """The session on at ``now``, or else the next one; None when every session is over."""
    return min((s for s in schedule if s.end > now), key=lambda s: s.start, default=None)


def status(settings) -> Status:
    """Ask the hub who uses the workshop and the engine how much memory each server uses."""
    host = workshop_host(settings)
    url = public_url(settings, host)
    users = hub_users(url, tokens(settings)["status_token"])
    prefix = Names(settings.course.tag).visitor_prefix
    ws = WorkshopHost(host)
    try:
        names = [f"{prefix}-{u['name']}" for u in users if server_of(u)]
        memory = dict(zip(names, threads.each(lambda n: engine.memory_usage(ws.client, n), names, workers=8), strict=True))
    finally:
        ws.close()
    session = next_session(settings.workshop.schedule, dt.datetime.now(dt.UTC))
    return Status(url, pool_counts(users), rows(users, prefix, memory.get), session)

"""Who uses the workshop: the hub's view (visitors, pool servers, activity) joined with the engine's (memory)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..errors import NbfleetError

POOL_GROUP, VISITOR_GROUP = "pool", "visitors"


def hub_users(url: str, token: str, timeout: float = 10.0) -> list[dict]:
    """Every user of the hub at ``url`` with groups and servers (nbfleet's read-only service token)."""
    import requests

    out, offset = [], 0
    while True:
        try:
            r = requests.get(f"{url}/hub/api/users", params={"offset": offset, "limit": 200}, timeout=timeout,
                             headers={"Authorization": f"token {token}",
                                      "Accept": "application/jupyterhub-pagination+json"})
        except requests.RequestException as exc:
            raise NbfleetError(f"workshop at {url}", f"the hub does not answer ({exc.__class__.__name__})") from None
        if r.status_code != 200:
            raise NbfleetError(f"workshop at {url}", f"the hub answered {r.status_code}")
        body = r.json()
        items = body["items"] if isinstance(body, dict) else body
        out += items
        if not isinstance(body, dict) or not (body.get("_pagination") or {}).get("next"):
            return out
        offset += len(items)


def _server(user: dict) -> dict | None:
    return (user.get("servers") or {}).get("")


def pool_counts(users: list[dict], generation: str | None = None) -> dict[str, int]:
    """Visitors with a server, pool servers ready for the next visitor, pool servers starting. With ``generation``,
    only pool servers of that generation count (older ones are about to be replaced and are never handed out)."""
    counts = {"visitors": 0, "free": 0, "starting": 0}
    for user in users:
        server = _server(user)
        if server is None:
            continue
        groups = user.get("groups", [])
        if VISITOR_GROUP in groups or not groups:  # no pool (plain JupyterHub): every user is a visitor
            counts["visitors"] += 1
        elif POOL_GROUP in groups:
            if generation and (server.get("user_options") or {}).get("generation") != generation:
                continue
            counts["starting" if server.get("pending") else "free"] += 1
    return counts


@dataclass(frozen=True)
class Row:
    """One visitor or pool server."""

    user: str
    role: str  # visitor, pool, starting
    container: str
    age: float | None  # seconds since the server started (a visitor's: since they got it)
    idle: float | None  # seconds since the last activity
    memory: int | None  # bytes


def _seconds_since(iso: str | None, now: dt.datetime) -> float | None:
    if not iso:
        return None
    when = dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return max(0.0, (now - when).total_seconds())


def rows(users: list[dict], prefix: str, memory_of, now: dt.datetime | None = None) -> list[Row]:
    """A row per server; ``memory_of(container name)`` asks the engine (None when it cannot tell)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    out = []
    for user in sorted(users, key=lambda u: u["name"]):
        server = _server(user)
        if server is None:
            continue
        groups = user.get("groups", [])
        role = "visitor" if VISITOR_GROUP in groups or not groups else ("starting" if server.get("pending") else "pool")
        container = f"{prefix}-{user['name']}"
        age = _seconds_since(server.get("started"), now)
        idle = _seconds_since(server.get("last_activity") or user.get("last_activity"), now)
        if age is not None and idle is not None:
            idle = min(idle, age)  # both at the same instant: never idle for longer than it exists
        out.append(Row(user["name"], role, container, age, idle, memory_of(container)))
    return out


def status(settings, say=print) -> list[Row]:
    """Print the workshop's table (visitors, free pool servers, age, idle time, memory) and return its rows."""
    from concurrent.futures import ThreadPoolExecutor

    from rich.console import Console
    from rich.table import Table

    from .. import engine
    from ..status import human_bytes, human_duration
    from .plan import Names
    from .service import WorkshopHost, _secrets, public_url, workshop_host

    host = workshop_host(settings)
    url = public_url(settings, host)
    users = hub_users(url, _secrets(settings)["status_token"])
    ws = WorkshopHost(host)
    try:
        names = [f"{Names(settings.course.tag).visitor_prefix}-{u['name']}" for u in users if _server(u)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            memory = dict(zip(names, pool.map(lambda n: engine.memory_usage(ws.client, n), names)))
    finally:
        ws.close()
    table_rows = rows(users, Names(settings.course.tag).visitor_prefix, memory.get)
    counts = pool_counts(users)
    w = settings.workshop
    table = Table(title=f"Workshop at {url}: {counts['visitors']} of {w.max_visitors} visitors, "
                        f"{counts['free']} free pool servers (of {w.pool_size}), {counts['starting']} starting")
    for column in ("user", "role", "container", "age", "idle", "memory"):
        table.add_column(column)
    for r in table_rows:
        table.add_row(r.user, r.role, r.container, human_duration(r.age), human_duration(r.idle), human_bytes(r.memory))
    Console(width=140).print(table)
    return table_rows

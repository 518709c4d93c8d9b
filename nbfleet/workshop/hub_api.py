"""JupyterHub's REST API as the workshop reads it: every user with their groups and servers (nbfleet's read-only
service token), and how many visitors and pool servers there are."""

from __future__ import annotations

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


def server_of(user: dict) -> dict | None:
    """A user's default server (None when they have none)."""
    return (user.get("servers") or {}).get("")


def pool_counts(users: list[dict], generation: str | None = None) -> dict[str, int]:
    """Visitors with a server, pool servers ready for the next visitor, pool servers starting. With ``generation``,
    only pool servers of that generation count (older ones are about to be replaced and are never handed out)."""
    counts = {"visitors": 0, "free": 0, "starting": 0}
    for user in users:
        server = server_of(user)
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

"""The pool keeper: a JupyterHub service that keeps the warm pool full, through the hub's REST API.

Every round it lists the users, retires visitors whose server is gone and pool servers that failed or were
started with an older image, and starts new pool servers so that ``pool_refill`` of them are starting at once: enough
to keep the host's cores busy, never more than it can bear while visitors work. The hub answers each start at once
(``slow_spawn_timeout = 0`` in the hub's configuration: 202, the spawn goes on in the hub's event loop), so the
servers of one round really start together. While a crowd arrives it starts none as long as a server still waits
(``pool.crowd_arriving``): the cores go to the visitors' logins. Each server it started is followed until it is
ready (``pool server X ready after N s``, the start times `doit workshop` reads) or has failed (``pool server X failed
to start``).
"""

from __future__ import annotations

import logging
import os
import secrets
import sys
import time

import requests

from .pool import POOL_GROUP, USER_PREFIX, crowd_arriving, outcomes, plan, settings, waiting
from .schedule import Warming

log = logging.getLogger("nbfleet.pool-keeper")


class Hub:
    """The few REST calls the keeper makes, with the service's own token."""

    def __init__(self, api_url: str, token: str):
        self.api = api_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"token {token}"

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        r = self.session.request(method, f"{self.api}{path}", timeout=30, **kwargs)
        if r.status_code >= 400 and r.status_code != 404:
            raise RuntimeError(f"{method} {path}: {r.status_code} {r.text[:200]}")
        return r

    def users(self) -> list[dict]:
        out, offset = [], 0
        while True:  # the hub pages its answers (a page is at most 200 here)
            r = self.call("GET", "/users", params={"offset": offset, "limit": 200},
                          headers={"Accept": "application/jupyterhub-pagination+json"})
            body = r.json()
            items = body["items"] if isinstance(body, dict) else body
            out += items
            if not isinstance(body, dict) or not (body.get("_pagination") or {}).get("next"):
                return out
            offset += len(items)

    def retire(self, name: str) -> None:
        self.call("DELETE", f"/users/{name}")

    def leave_pool(self, name: str) -> None:
        """Take a waiting server out of the pool: no visitor can be handed it any more (the hub does both in its one
        event loop), and the next round retires it as a leftover. A visitor who got it first keeps it."""
        self.call("DELETE", f"/groups/{POOL_GROUP}/users", json={"users": [name]})

    def start_pool_server(self, generation: str) -> str:
        name = USER_PREFIX + secrets.token_hex(6)
        self.call("POST", f"/users/{name}")
        self.call("POST", f"/groups/{POOL_GROUP}/users", json={"users": [name]})
        self.call("POST", f"/users/{name}/server", json={"user_options": {"generation": generation}})
        return name


def run_round(hub: Hub, w: dict, started: dict[str, float], measured: list[float], warming: Warming) -> None:
    """One look at the hub and what follows from it; ``started`` holds the pool servers started and not yet ready or
    failed, with the time each was started; ``measured`` the start times so far; ``warming`` the schedule."""
    users = hub.users()
    ready, failed = outcomes(users, set(started))
    for name in ready:
        measured.append(time.monotonic() - started.pop(name))
        log.info("pool server %s ready after %.1f s", name, measured[-1])
    for name in failed:
        log.warning("pool server %s failed to start (after %.1f s)", name, time.monotonic() - started.pop(name))
    expected = warming.expected(time.time(), measured, waiting(users, w["generation"]))
    todo = plan(users, pool_size=w["pool_size"], max_visitors=w["max_visitors"], pool_refill=w["pool_refill"],
                generation=w["generation"], expected=expected, crowd=crowd_arriving(users, time.time()))
    for name in todo.shrink:
        hub.leave_pool(name)
        log.info("%s leaves the pool (more waiting than wanted)", name)
    for name in todo.retire:
        try:
            hub.retire(name)
            log.info("retired %s", name)
        except RuntimeError as exc:  # a server still stopping: next round
            log.info("not yet retired: %s", exc)
    for _ in range(todo.start):
        at = time.monotonic()
        name = hub.start_pool_server(w["generation"])
        started[name] = at
        log.info("starting pool server %s", name)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="[%(levelname).1s %(asctime)s %(name)s] %(message)s", stream=sys.stderr)
    w = settings()
    hub = Hub(os.environ["JUPYTERHUB_API_URL"], os.environ["JUPYTERHUB_API_TOKEN"])
    log.info("keeping %d servers waiting (at most %d visitors, %d started at once)", w["pool_size"], w["max_visitors"], w["pool_refill"])
    started: dict[str, float] = {}
    measured: list[float] = []
    warming = Warming(w)
    while True:
        try:
            run_round(hub, w, started, measured, warming)
        except (requests.RequestException, RuntimeError, ValueError) as exc:  # the hub restarting: try again
            log.warning("round failed: %s", exc)
        time.sleep(w.get("keeper_every", 1.0))


if __name__ == "__main__":
    main()

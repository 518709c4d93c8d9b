"""The pool keeper: a JupyterHub service that keeps the warm pool full, through the hub's REST API.

Every round it lists the users, retires visitors whose server is gone and pool servers that failed or were
started with an older image, and starts new pool servers, at most ``pool_refill`` at a time so that a refill never
takes more of the host than it can bear while visitors work.
"""

from __future__ import annotations

import logging
import os
import secrets
import sys
import time

import requests

from .pool import POOL_GROUP, USER_PREFIX, plan, settings

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

    def start_pool_server(self, generation: str) -> str:
        name = USER_PREFIX + secrets.token_hex(6)
        self.call("POST", f"/users/{name}")
        self.call("POST", f"/groups/{POOL_GROUP}/users", json={"users": [name]})
        self.call("POST", f"/users/{name}/server", json={"user_options": {"generation": generation}})
        return name


def run_round(hub: Hub, w: dict) -> None:
    """One look at the hub and what follows from it."""
    todo = plan(hub.users(), pool_size=w["pool_size"], max_visitors=w["max_visitors"],
                pool_refill=w["pool_refill"], generation=w["generation"])
    for name in todo.retire:
        try:
            hub.retire(name)
            log.info("retired %s", name)
        except RuntimeError as exc:  # a server still stopping: next round
            log.info("not yet retired: %s", exc)
    for _ in range(todo.start):
        log.info("starting pool server %s", hub.start_pool_server(w["generation"]))


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="[%(levelname).1s %(asctime)s %(name)s] %(message)s", stream=sys.stderr)
    w = settings()
    hub = Hub(os.environ["JUPYTERHUB_API_URL"], os.environ["JUPYTERHUB_API_TOKEN"])
    log.info("keeping %d servers waiting (at most %d visitors, %d started at once)", w["pool_size"], w["max_visitors"], w["pool_refill"])
    while True:
        try:
            run_round(hub, w)
        except (requests.RequestException, RuntimeError, ValueError) as exc:  # the hub restarting: try again
            log.warning("round failed: %s", exc)
        time.sleep(w.get("keeper_every", 1.0))


if __name__ == "__main__":
    main()

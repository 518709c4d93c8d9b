"""The busy culler: a JupyterHub service that stops a visitor's server which keeps its whole CPU quota busy for
``busy_limit`` seconds (a crypto-miner, a runaway loop), as the idle culler stops an idle one.

Every ``busy_every`` seconds it lists the visitors (the hub's REST API, with the idle culler's view: visitors only,
never the pool) and reads each server's CPU time from the engine (the hub's own Docker socket, as DockerSpawner does).
A server whose CPU time grew by at least ``BUSY`` of its quota (``cpus``) since the last look is busy; one that has
been busy at every look for ``busy_limit`` seconds is stopped, with a line in the hub's log. The pool keeper then
forgets its temporary user, and the visitor gets a new server if they come back.
"""

from __future__ import annotations

import logging
import os
import sys
import time

import requests

from .keeper import Hub
from .pool import settings

log = logging.getLogger("nbfleet.busy-culler")
BUSY = 0.9  # of the CPU quota, between two looks


class Streaks:
    """How long each server has been busy, from its CPU time at each look (pure: times are passed in)."""

    def __init__(self, cpus: float):
        self.cpus = cpus
        self.last: dict[str, tuple[int, float]] = {}  # server -> (CPU time in ns, when it was read)
        self.since: dict[str, float] = {}  # server -> when its busy streak began

    def see(self, name: str, cpu_ns: int, now: float) -> float:
        """Record one reading; return how long ``name`` has been busy without a pause (0: not busy now)."""
        before = self.last.get(name)
        self.last[name] = (cpu_ns, now)
        if before is None or now <= before[1]:
            return 0.0
        share = (cpu_ns - before[0]) / ((now - before[1]) * 1e9 * self.cpus)
        if share < BUSY:
            self.since.pop(name, None)
            return 0.0
        began = self.since.setdefault(name, before[1])
        return now - began

    def forget_all_but(self, names: set[str]) -> None:
        """Drop what is known of servers that are gone."""
        for table in (self.last, self.since):
            for name in set(table) - names:
                del table[name]


def ready_visitors(hub: Hub) -> list[str]:
    """The names of the visitors whose server is ready (this service sees visitors only)."""
    return [u["name"] for u in hub.users() if ((u.get("servers") or {}).get("") or {}).get("ready")]


def cpu_time(engine, container: str) -> int | None:
    """The CPU time (ns) the container used so far; None when it is gone."""
    import docker.errors

    try:
        stats = engine.api.stats(container, stream=False, one_shot=True)
    except docker.errors.NotFound:
        return None
    return int(((stats.get("cpu_stats") or {}).get("cpu_usage") or {}).get("total_usage") or 0) or None


def run_round(hub: Hub, engine, streaks: Streaks, w: dict) -> None:
    """One look at every visitor's server; stop those busy for busy_limit."""
    names = ready_visitors(hub)
    streaks.forget_all_but(set(names))
    for name in names:
        used = cpu_time(engine, f"{w['name']}-{name}")
        if used is None:
            continue
        busy = streaks.see(name, used, time.monotonic())
        if busy >= w["busy_limit"]:
            log.warning("culling %s: its whole CPU quota (%g CPU) busy for %.0f s (busy_limit %.0f s)",
                        name, w["cpus"], busy, w["busy_limit"])
            try:
                hub.call("DELETE", f"/users/{name}/server")
            except RuntimeError as exc:
                log.warning("could not stop %s: %s", name, exc)
            streaks.forget_all_but(set(names) - {name})


def main() -> None:
    import docker

    logging.basicConfig(level=logging.INFO, format="[%(levelname).1s %(asctime)s %(name)s] %(message)s", stream=sys.stderr)
    w = settings()
    hub = Hub(os.environ["JUPYTERHUB_API_URL"], os.environ["JUPYTERHUB_API_TOKEN"])
    engine = docker.from_env()
    streaks = Streaks(w["cpus"])
    log.info("stopping visitors' servers busy at their whole CPU quota for %.0f s (a look every %.0f s)",
             w["busy_limit"], w["busy_every"])
    while True:
        try:
            run_round(hub, engine, streaks, w)
        except (requests.RequestException, docker.errors.DockerException, RuntimeError, ValueError) as exc:  # the hub restarting
            log.warning("round failed: %s", exc)
        time.sleep(w["busy_every"])


if __name__ == "__main__":
    main()

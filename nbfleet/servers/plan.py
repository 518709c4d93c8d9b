"""What to do on one host: the desired servers (its manifest) against the actual ones (its backend's list), pure.

One step per server: create, recreate (settings hash changed), start (stopped), unchanged, remove (student no longer
on this host) or pending (a student working right now is not interrupted by a recreate unless forced).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple


class Step(NamedTuple):
    """What to do with one container."""

    kind: str
    name: str
    student: str


def _hash(desired: dict) -> str:
    return desired.get("hash", "")


def needs_activity(desired: Iterable[dict], actual: Iterable[Any]) -> list[str]:
    """Names of running containers a plan would recreate: only for those is the student's activity asked."""
    have = {a.name: a for a in actual}
    return [d["name"] for d in desired
            if d["name"] in have and have[d["name"]].state == "running" and have[d["name"]].settings_hash != _hash(d)]


def plan(desired: Iterable[dict], actual: Iterable[Any], working: Iterable[str] = (), force: bool = False) -> list[Step]:
    """One Step per server, desired (manifest entries) against actual (``backends.Server``-like objects).

    ``working`` names containers whose student is working right now: a recreate of those becomes
    ``pending`` unless ``force``. Containers on the host that the manifest does not name are removed
    (their folders stay).
    """
    have = {a.name: a for a in actual}
    working = set(working)
    steps = []
    wanted = set()
    for d in desired:
        name = d["name"]
        wanted.add(name)
        a = have.get(name)
        if a is None:
            kind = "create"
        elif a.settings_hash != _hash(d) or a.state in ("dead", "removing", "paused"):  # the engine cannot start a paused one
            kind = "pending" if (a.state == "running" and name in working and not force) else "recreate"
        elif a.state in ("created", "exited"):
            kind = "start"
        else:
            kind = "unchanged"
        steps.append(Step(kind, name, d["student"]))
    for name, a in sorted(have.items()):
        if name not in wanted:
            steps.append(Step("remove", name, a.student))
    return steps


def settled(desired: Iterable[dict], actual: Iterable[Any]) -> bool:
    """True when every desired container runs with its current settings and nothing else is there."""
    actual = list(actual)
    running = {a.name for a in actual if a.state == "running"}
    return all(s.kind == "unchanged" and s.name in running for s in plan(desired, actual))

"""What every student's server is doing now, one ``Row`` each, from every host at once.

State comes from the course's backend (one list call per host), uptime and last activity from Jupyter itself
(``servers.activity``), memory from the engine's one-shot stats. ``status_page`` shows the rows as a page, the
terminal's table is ``tasks.render``'s.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, NamedTuple

from .. import labels, paths, threads
from ..errors import NbfleetError
from . import activity, backends, engine
from .manifest import read_manifest

UNREACHABLE = "host unreachable"


class Row(NamedTuple):
    """One student's server as the teacher sees it."""

    student: str
    host: str
    container: str
    port: int | None
    url: str
    state: str  # running, exited, created, ..., missing (in the manifest, not on the host), host unreachable
    uptime: float | None = None  # seconds since the Jupyter server started
    last_activity: str = ""  # ISO time, as Jupyter reports it
    idle: float | None = None  # seconds since last_activity, at the same instant as uptime (never more than it)
    working: bool = False
    memory: int | None = None  # bytes in use
    mode: str = ""  # "exam <assignment>" while an exam runs on the server, else ""


def _manifest(settings, host_name: str) -> dict | None:
    try:
        return read_manifest(paths.launch_manifest(settings, host_name))
    except NbfleetError:
        return None


def host_rows(settings, host: Any, now: dt.datetime | None = None, workers: int = 8) -> list[Row]:
    """Rows for one host: every server of the course there (run by the backend its manifest names, else plain
    containers), plus manifest entries with no server."""
    now = now or dt.datetime.now(dt.UTC)
    manifest = _manifest(settings, host.name)
    desired = {c["name"]: c for c in (manifest or {}).get("containers", [])}
    spec = (manifest or {}).get("backend") or {"kind": "containers"}
    with backends.open_backend(spec, host, settings.course.tag) as servers:
        try:
            actual = servers.servers()
        except NbfleetError as exc:
            if not isinstance(exc, engine.HostUnreachable):
                raise
            return [Row(c["student"], host.name, n, c.get("port"), c["url"], UNREACHABLE) for n, c in sorted(desired.items())]

        def one(c) -> Row:
            d = desired.get(c.name, {})
            port = d.get("port")
            mode = f"exam {c.labels[labels.EXAM]}" if c.labels.get(labels.EXAM) else ""
            if not c.running:
                return Row(c.student, host.name, c.name, port, d.get("url", ""), c.state + (f": {c.detail}" if c.detail else ""),
                           mode=mode)
            act = servers.activity(c.name) or {}
            uptime, idle = activity.times(act, now)
            return Row(c.student, host.name, c.name, port, d.get("url", ""), c.state, uptime=uptime,
                       last_activity=act.get("last_activity", ""), idle=idle,
                       working=activity.is_working(act, now, settings.launch.idle_window), memory=servers.usage(c.name),
                       mode=mode)

        rows = threads.each(one, actual, workers)
    there = {r.container for r in rows}
    rows += [Row(c["student"], host.name, n, c.get("port"), c["url"], "missing") for n, c in desired.items() if n not in there]
    return rows


def survey(settings, hosts: Iterable[Any]) -> list[Row]:
    """Rows for every host (hosts asked in parallel), sorted by student."""
    hosts = list(hosts)
    per_host = threads.each(lambda h: host_rows(settings, h), hosts, workers=len(hosts))
    return sorted((r for rows in per_host for r in rows), key=lambda r: (r.student, r.host))

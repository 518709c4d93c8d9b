"""What every student's server is doing now: a live table and a static page (build/status.html).

State comes from the course's backend (one list call per host), uptime and last activity from Jupyter itself
(`nbfleet-activity` inside the server), memory from the engine's one-shot stats.
"""

from __future__ import annotations

import datetime as dt
import html
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from .errors import NbfleetError

UNREACHABLE = "host unreachable"
NODE_DOWN = "node down"  # a Swarm node the manager reports down (its students' servers with it)


@dataclass(frozen=True)
class Row:
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


def _manifest(settings, host_name: str) -> dict | None:
    from .launch import read_manifest

    path = settings.build_dir / "launch" / f"{host_name}.json"
    try:
        return read_manifest(path)
    except NbfleetError:
        return None


def host_rows(settings, host: Any, now: dt.datetime | None = None, workers: int = 8) -> list[Row]:
    """Rows for one host: every server of the course there (run by the backend its manifest names, else plain
    containers), plus manifest entries with no server."""
    from . import engine
    from .backends import open_backend
    from .launch import is_working

    now = now or dt.datetime.now(dt.timezone.utc)
    manifest = _manifest(settings, host.name)
    desired = {c["name"]: c for c in (manifest or {}).get("containers", [])}
    spec = (manifest or {}).get("backend") or {"kind": "containers"}
    with open_backend(spec, host, settings.course.tag) as servers:
        try:
            actual = servers.servers()
        except NbfleetError as exc:
            if not isinstance(exc, engine.HostUnreachable):
                raise
            return [Row(c["student"], host.name, n, c.get("port"), c["url"], UNREACHABLE) for n, c in sorted(desired.items())]

        def one(c) -> Row:
            d = desired.get(c.name, {})
            port = d.get("port")
            if not c.running:
                return Row(c.student, host.name, c.name, port, d.get("url", ""), c.state + (f": {c.detail}" if c.detail else ""))
            act = servers.activity(c.name) or {}
            uptime, idle = activity_times(act, now)
            return Row(c.student, host.name, c.name, port, d.get("url", ""), c.state, uptime=uptime,
                       last_activity=act.get("last_activity", ""), idle=idle,
                       working=is_working(act, now, settings.launch.idle_window), memory=servers.usage(c.name))

        with ThreadPoolExecutor(max_workers=workers) as pool:
            rows = list(pool.map(one, actual))
    there = {r.container for r in rows}
    rows += [Row(c["student"], host.name, n, c.get("port"), c["url"], "missing") for n, c in desired.items() if n not in there]
    return rows


def activity_times(act: dict, now: dt.datetime) -> tuple[float | None, float | None]:
    """Uptime and idle seconds from what Jupyter reports (``started``, ``last_activity``), both at ``now``.

    Jupyter's last activity is never before its start, so the idle time is never longer than the uptime; a server
    that nobody used since it started shows the same figure twice.
    """
    from .launch import _when

    started, last = _when(act.get("started")), _when(act.get("last_activity"))
    uptime = max(0.0, (now - started).total_seconds()) if started else None
    idle = max(0.0, (now - last).total_seconds()) if last else None
    if idle is not None and uptime is not None:
        idle = min(idle, uptime)
    return uptime, idle


def collect(settings, hosts: Iterable[Any]) -> list[Row]:
    """Rows for every host (hosts asked in parallel), sorted by student."""
    hosts = list(hosts)
    with ThreadPoolExecutor(max_workers=max(len(hosts), 1)) as pool:
        per_host = list(pool.map(lambda h: host_rows(settings, h), hosts))
    return sorted((r for rows in per_host for r in rows), key=lambda r: (r.student, r.host))


def human_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(max(seconds, 0))
    d, rest = divmod(seconds, 86400)
    h, rest = divmod(rest, 3600)
    m, s = divmod(rest, 60)
    return f"{d}d {h}h" if d else f"{h}h {m:02d}m" if h else f"{m}m {s:02d}s"


def human_bytes(n: int | None) -> str:
    if n is None:
        return ""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


COLUMNS = ("student", "host", "port", "state", "uptime", "last activity", "memory")


def ago(iso: str, now: dt.datetime | None = None) -> str:
    """'4m 02s ago' for an ISO time, as a teacher reads it."""
    from .launch import _when

    when = _when(iso)
    if when is None:
        return iso
    return human_duration(((now or dt.datetime.now(dt.timezone.utc)) - when).total_seconds()) + " ago"


def cells(r: Row, now: dt.datetime | None = None) -> list[str]:
    state = r.state + (" (working)" if r.working else "")
    if r.idle is not None:  # measured with the uptime, at the same instant
        activity = human_duration(r.idle) + " ago"
    else:
        activity = ago(r.last_activity, now) if r.last_activity else ""
    return [r.student, r.host, "" if r.port is None else str(r.port), state, human_duration(r.uptime),
            activity, human_bytes(r.memory)]


def print_table(rows: list[Row]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(rows)} servers, {sum(r.state == 'running' for r in rows)} running")
    for col in COLUMNS:
        table.add_column(col)
    for r in rows:
        style = None if r.state == "running" else "red"
        table.add_row(*cells(r), style=style)
    console = Console(highlight=False)
    if not console.is_terminal:
        console.width = 160  # a log or pipe: never squeeze the table to 80 columns
    console.print(table)


def render_page(rows: list[Row], title: str, now: dt.datetime | None = None) -> str:
    """A static HTML page with the status table; each student's name links to their server."""
    now = now or dt.datetime.now(dt.timezone.utc)
    esc = html.escape
    head = "".join(f"<th>{esc(c)}</th>" for c in COLUMNS)
    body = []
    for r in rows:
        c = cells(r, now)
        first = f'<a href="{esc(r.url)}">{esc(c[0])}</a>' if r.url else esc(c[0])
        cls = "up" if r.state == "running" else "down"
        body.append(f'<tr class="{cls}"><td>{first}</td>' + "".join(f'<td title="{esc(r.last_activity)}">{esc(x)}</td>' if i == 5 else f"<td>{esc(x)}</td>"
                                                   for i, x in enumerate(c) if i) + "</tr>")
    return (
        "<!doctype html>\n<html><head><meta charset=\"utf-8\">"
        f"<title>{esc(title)}: status</title>"
        "<style>body{font-family:sans-serif}table{border-collapse:collapse}td,th{padding:2px 8px;border-bottom:1px solid #ddd}"
        "tr.down td{color:#a00}</style></head><body>"
        f"<h1>{esc(title)}</h1><p>{len(rows)} servers, {sum(r.state == 'running' for r in rows)} running; "
        f"as of {esc(now.isoformat(timespec='seconds'))}</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>\n" + "\n".join(body) + "\n</tbody></table></body></html>\n"
    )


def write_page(rows: list[Row], path: Path, title: str) -> Path:
    """Write build/status.html atomically (temp file + rename)."""
    from .atomic import write_text

    write_text(Path(path), render_page(rows, title), durable=False)
    return Path(path)

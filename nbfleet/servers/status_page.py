"""The status table's cells as a teacher reads them (``4m 02s ago``, ``51.2 MiB``) and ``build/status.html``, a static
page where each student's name links to their server."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ..fs import write_text
from .activity import when
from .status import Row

COLUMNS = ("student", "host", "port", "state", "mode", "uptime", "last activity", "memory")


def human_duration(seconds: float | None) -> str:
    """``4m 02s``, ``3h 05m``, ``2d 4h``: a duration as a teacher says it ("" when unknown)."""
    if seconds is None:
        return ""
    seconds = int(max(seconds, 0))
    d, rest = divmod(seconds, 86400)
    h, rest = divmod(rest, 3600)
    m, s = divmod(rest, 60)
    return f"{d}d {h}h" if d else f"{h}h {m:02d}m" if h else f"{m}m {s:02d}s"


def human_bytes(n: int | None) -> str:
    """``51.2 MiB``: a size as a teacher reads it ("" when unknown)."""
    if n is None:
        return ""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


def ago(iso: str, now: dt.datetime | None = None) -> str:
    """'4m 02s ago' for an ISO time, as a teacher reads it."""
    at = when(iso)
    if at is None:
        return iso
    return human_duration(((now or dt.datetime.now(dt.UTC)) - at).total_seconds()) + " ago"


def cells(r: Row, now: dt.datetime | None = None) -> list[str]:
    """One row of the status table, as text: the columns of ``COLUMNS``."""
    state = r.state + (" (working)" if r.working else "")
    if r.idle is not None:  # measured with the uptime, at the same instant
        activity = human_duration(r.idle) + " ago"
    else:
        activity = ago(r.last_activity, now) if r.last_activity else ""
    return [r.student, r.host, "" if r.port is None else str(r.port), state, r.mode, human_duration(r.uptime),
            activity, human_bytes(r.memory)]


def render_page(rows: list[Row], title: str, now: dt.datetime | None = None) -> str:
    """A static HTML page with the status table; each student's name links to their server."""
    import html  # with its entities table: only when a page is written, not while doit lists tasks

    now = now or dt.datetime.now(dt.UTC)
    esc = html.escape
    head = "".join(f"<th>{esc(c)}</th>" for c in COLUMNS)
    body = []
    activity = COLUMNS.index("last activity")
    for r in rows:
        c = cells(r, now)
        first = f'<a href="{esc(r.url)}">{esc(c[0])}</a>' if r.url else esc(c[0])
        cls = "up" if r.state == "running" else "down"
        rest = "".join(f'<td title="{esc(r.last_activity)}">{esc(x)}</td>' if i == activity else f"<td>{esc(x)}</td>"
                       for i, x in enumerate(c) if i)
        body.append(f'<tr class="{cls}"><td>{first}</td>{rest}</tr>')
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
    write_text(Path(path), render_page(rows, title), durable=False)
    return Path(path)

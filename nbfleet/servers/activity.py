"""What Jupyter inside a student's server says about its use, and what that means for the teacher.

Every image runs ``nbfleet-activity`` (docker-stacks/base-notebook): one JSON line with the server's start time, its
last activity, its open connections and its kernels. From it: is the student working right now (so that a recreate
waits), and the uptime and idle time the status table shows.
"""

from __future__ import annotations

import datetime as dt
import json

from .engine import exec_output

RESTARTED_GRACE = 5.0  # seconds after a server starts during which its own start-up counts as no activity


def ask(client, name: str) -> dict | None:
    """What Jupyter in the container ``name`` says about its use (`nbfleet-activity`), or None if it cannot tell."""
    try:
        code, out = exec_output(client, name, ["nbfleet-activity"])
    except Exception:  # noqa: BLE001 - a container that cannot exec has no activity to report
        return None
    if code != 0:
        return None
    for line in reversed(out.strip().splitlines()):
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if isinstance(data, dict):
            return data
    return None


def when(value) -> dt.datetime | None:
    """An ISO time as Jupyter writes it (``…Z`` or with an offset; none means UTC), or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        t = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def is_working(activity: dict | None, now: dt.datetime, window: float) -> bool:
    """Is the student using this server right now, by Jupyter's own account (`nbfleet-activity`)?

    Working means: an open connection or a kernel, or a last activity within ``window`` seconds that
    is not just the server's own start-up (a server nobody touched since it started is not in use).
    """
    if not activity:
        return False
    last, started = when(activity.get("last_activity")), when(activity.get("started"))
    if last is None or (now - last).total_seconds() > window:
        return False
    if (activity.get("connections") or 0) > 0 or (activity.get("kernels") or 0) > 0:
        return True
    return started is None or (last - started).total_seconds() > RESTARTED_GRACE


def times(activity: dict, now: dt.datetime) -> tuple[float | None, float | None]:
    """Uptime and idle seconds from what Jupyter reports (``started``, ``last_activity``), both at ``now``.

    Jupyter's last activity is never before its start, so the idle time is never longer than the uptime; a server
    that nobody used since it started shows the same figure twice.
    """
    started, last = when(activity.get("started")), when(activity.get("last_activity"))
    uptime = max(0.0, (now - started).total_seconds()) if started else None
    idle = max(0.0, (now - last).total_seconds()) if last else None
    if idle is not None and uptime is not None:
        idle = min(idle, uptime)
    return uptime, idle

"""jupyterhub-idle-culler, started only once the hub knows its visitors' latest activity.

A hub that just started (recreated by an update, or brought back after a crash) still has the activity times it
last wrote, up to one activity interval old; the proxy, which kept running, knows better, and the hub reads it
every ``activity_interval`` seconds, the first time one interval after it started. Managed services start before
that, so a culler started at once could remove a visitor who was working a minute ago. It waits for that first read.
"""

from __future__ import annotations

import runpy
import sys
import time

from .pool import settings


def main() -> None:
    time.sleep(settings()["activity_interval"] + 2)
    sys.argv = ["jupyterhub-idle-culler", *sys.argv[1:]]
    runpy.run_module("jupyterhub_idle_culler", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()

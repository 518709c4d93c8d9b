"""Task creators of workshop mode: `doit workshop`, `doit workshop:status`, `doit workshop:stop`.

Metadata only while doit lists tasks; the engine and the hub are asked when a task runs. The tasks always run:
the state they act on (containers, the hub's visitors) lives in the engine, not in files.
"""

from __future__ import annotations

from ..workshop import report, service
from . import render
from .common import action, settings


def task_workshop():
    """The workshop: start or update it; its status; stop it."""

    @action
    def start():
        url = service.up(settings(), say=lambda m: print(m, flush=True))
        print(f"workshop: open {url}", flush=True)

    @action
    def status():
        render.print_workshop(report.status(settings()), settings())

    @action
    def stop():
        service.stop(settings(), say=lambda m: print(m, flush=True))

    yield {"basename": "workshop", "doc": "start or update the workshop (JupyterHub, warm pool) at [workshop] port",
           "actions": [start], "uptodate": [False], "verbosity": 2}
    yield {"basename": "workshop:status", "doc": "the workshop's visitors and pool servers: age, idle time, memory",
           "actions": [status], "uptodate": [False], "verbosity": 2}
    yield {"basename": "workshop:stop", "doc": "remove every container, network and volume of the workshop",
           "actions": [stop], "uptodate": [False], "verbosity": 2}

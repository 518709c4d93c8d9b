"""Start, update and remove a course's workshop on its host's Docker engine (through ``workshop.host``).

``up`` checks everything first (images built, the host known, the pool fits in memory, the port free) and
starts nothing when a check fails; then it makes the network and the hub's volume, (re)creates the proxy and the
hub where their settings changed, starts what is stopped, and waits until the hub answers and the pool is full: as
long as servers keep getting ready, saying how far it is (``warmup`` decides what is a fault).
``stop`` removes every container, network and volume labelled as this course's workshop, and nothing else.
"""

from __future__ import annotations

import datetime as dt
import time

from .. import labels
from ..errors import NbfleetError
from ..images import record
from ..images.context import workshop_materials
from ..settings import Settings
from .host import WorkshopHost, port_free_here, public_url, tokens, workshop_host
from .hub_api import hub_users, pool_counts
from .plan import Names, check_fits, check_schedule, containers, hub_settings
from .warmup import KeeperNews, Warmup, keeper_news

LOG_EVERY = 2.0  # seconds between two reads of the hub's log while waiting


def up(settings: Settings, say=print, wait: bool = True) -> str:
    """Start or update the workshop; return its public URL. Every check comes before anything is started."""
    w, names = settings.workshop, Names(settings.course.tag)
    began = time.time()
    workshop_materials(settings)  # the folder must be there (the image holds what it had when it was built)
    visitor, hub = record.built(settings, w.image), record.built(settings, w.hub_image)
    host = workshop_host(settings)
    ws = WorkshopHost(host)
    try:
        memory = ws.memory()
        check_schedule(settings, memory, host.name, dt.datetime.now(dt.UTC))
        check_fits(settings, memory, host.name)
        proxy = ws.container(names.proxy)
        ours = proxy is not None and f"{w.port}/tcp" in (proxy.attrs.get("HostConfig", {}).get("PortBindings") or {})
        other = ws.port_user(w.port, names.proxy)
        if other or (not ours and host.is_local and not port_free_here(w.port)):
            raise NbfleetError(f"{settings.file.name}: workshop.port",
                               f"port {w.port} is already in use on host {host.name}" + (f" (by container {other})" if other else ""))
        visitor_tag, hub_tag = ws.ensure_image(visitor), ws.ensure_image(hub)
        where = ws.ensure_network(names.network, names.labels("network"), w.egress, w.max_visitors + w.pool_refill)
        hub_env = hub_settings(settings, visitor_tag, visitor["id"], where["proxy"])
        specs = containers(settings, hub_tag, hub_env, tokens(settings), ws.docker_socket(), where)
        ws.put_up_walls(names.network, names.labels("walls"), w.egress, hub["id"], where)  # before anything joins it
        ws.ensure_volume(names.volume, names.labels("hub-data"))
        for spec in specs.values():  # the proxy first: the hub asks it for its routes as it starts
            what = ws.run(spec)
            if what != "running":
                say(f"workshop: {spec['name']} {what}")
        url = public_url(settings, host)
        if wait:
            wait_until_ready(settings, url, say, generation=hub_env["generation"],
                             hub_trouble=lambda: ws.trouble(names.hub) or ws.trouble(names.proxy),
                             hub_log=lambda: ws.log_lines(names.hub, began - 1))
    finally:
        ws.close()
    return url


def wait_until_ready(settings: Settings, url: str, say=print, generation: str | None = None,
                     hub_trouble=lambda: None, hub_log=lambda: []) -> None:
    """Wait until the hub answers through the proxy and the pool holds pool_size servers (of ``generation``), saying
    how far the warm-up is; an error only on a fault (``warmup.Warmup``).

    ``hub_trouble()`` says why the hub or the proxy cannot answer (stopped, restarting), to stop waiting at once;
    ``hub_log()`` gives the hub's log lines of this run (the keeper's start times and failures)."""
    token = tokens(settings)["status_token"]
    w = settings.workshop
    warmup = Warmup(w.pool_size, w.max_visitors, w.pool_refill, time.monotonic())
    news, read_at = KeeperNews([], 0, ""), None
    while True:
        try:
            counts = pool_counts(hub_users(url, token), generation)
        except NbfleetError:
            counts = None
            trouble = hub_trouble()
            if trouble:
                raise NbfleetError(f"workshop at {url}", trouble) from None
        now = time.monotonic()
        if counts is not None and (read_at is None or now - read_at >= LOG_EVERY):
            news, read_at = keeper_news(hub_log()), now
        step = warmup.step(counts, news, now)
        if step.say:
            say(step.say)
        if step.done:
            return
        if step.fault:
            raise NbfleetError(f"workshop at {url}", f"{step.fault}: see `docker logs {Names(settings.course.tag).hub}`")
        time.sleep(0.5)


def stop(settings: Settings, say=print) -> int:
    """Remove every container, network and volume of this course's workshop; return how many objects went."""
    host = workshop_host(settings)
    ws = WorkshopHost(host)
    removed = 0
    try:
        tag = settings.course.tag
        hub = ws.container(Names(tag).hub)
        if hub is not None and hub.labels.get(labels.WORKSHOP) == tag:  # first: it would start new pool servers
            hub.remove(force=True)
            removed += 1
        if ws.take_down_walls(Names(tag).network):  # its rules out of the host's firewall first
            removed += 1
        found, _, _ = ws.objects(tag)
        for c in found:
            c.remove(force=True)
            removed += 1
        _, networks, volumes = ws.objects(tag)
        for obj in [*networks, *volumes]:
            obj.remove()
            removed += 1
    finally:
        ws.close()
    say(f"workshop: removed {removed} containers, networks and volumes")
    return removed

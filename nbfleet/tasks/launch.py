"""Task creators for running the class: `doit launch`, `doit status`, `doit stop` (one subtask per host).

Metadata only: the hosts file is parsed (cheap, pure Python); engines are asked nothing until a task
runs, except the `launch:<host>` uptodate check, which is one list call per host.
"""

from __future__ import annotations

import sys

from .. import paths
from ..assignments.host_folders import move_student, pending_moves, record_placed
from ..errors import NbfleetError
from ..roster.hosts import load_hosts
from ..servers import backends, status
from ..servers.backends.base import NODE_DOWN
from ..servers.launch import launch_host, stop_host
from ..servers.manifest import backend_spec, read_manifest
from ..servers.plan import settled
from ..servers.status_page import write_page
from . import render
from .common import action, dep, fails_with, group_flag, settings

FORCE = {"name": "force", "long": "force", "type": bool, "default": False,
         "help": "recreate containers of students who are working right now too"}


def _hosts():
    """The hosts, or the NbfleetError that the hosts file raised (so that `doit list` still works)."""
    try:
        return load_hosts(settings())
    except NbfleetError as exc:
        return exc


def _bad_hosts(error: NbfleetError) -> dict:
    return {"name": "hosts", "doc": "the hosts file has a problem", "actions": fails_with(error)}


def _engine_settled(manifest: str) -> bool:
    """uptodate: the manifest's servers all run with their current settings hash, and nothing else is there."""
    try:
        data = read_manifest(manifest)
        with backends.for_manifest(data) as backend:
            return settled(data["containers"], backend.servers())
    except Exception:  # noqa: BLE001 - an engine that cannot say means: run the task
        return False


def _launch_host(manifest: str, force: bool = False) -> None:
    launch_from_manifest(manifest, force)


def launch_from_manifest(manifest: str, force: bool = False):
    """Launch one host from its manifest as `doit launch:<host>` does (folders moved along, the result printed); its
    HostResult, or NbfleetError in one line when the host or a server failed."""
    s = settings()
    data = read_manifest(manifest)
    host = data["host"]["name"]
    here, moves = pending_moves(s, host, data)
    owner = (s.teacher.uid, s.teacher.gid)

    def bring_folder(student: str, moved: dict, where: dict) -> str:
        return move_student(student, moved, where, data["image"], owner, data["course"])

    result = launch_host(data, s.teacher.uid, s.teacher.gid, force=force, idle_window=s.launch.idle_window,
                         ready_timeout=s.launch.ready_timeout, progress=render.launch_progress(), moves=moves, here=here,
                         bring_folder=bring_folder, on_moved=lambda sid: record_placed(s.students_dir, host, [sid]))
    if not result.error:  # where each student's folder is now: a later move between hosts brings it along
        stayed = [c["student"] for c in data["containers"] if c["name"] not in moves and not c.get("admin")]
        record_placed(s.students_dir, host, stayed)
    render.print_launch(result)
    if result.error:
        raise NbfleetError("", result.error)  # it names its place: the host, the image or the swarm manager
    if result.failed:
        raise NbfleetError(f"host {result.host}", f"{len(result.failed)} container(s) failed: "
                           + "; ".join(f"{k}: {v}" for k, v in sorted(result.failed.items())))
    return result


def task_launch():
    """Start or update every student's server, one subtask per host (`doit -n 4 launch` runs hosts in parallel)."""
    force = {**FORCE, "default": group_flag(sys.argv, "launch")}
    yield {"basename": "launch", "name": None, "params": [FORCE],
           "doc": "start/update every student's server on every host (hosts in parallel with -n 4; --force)"}
    hosts = _hosts()
    if isinstance(hosts, NbfleetError):
        yield _bad_hosts(hosts)
        return
    for host in hosts:
        manifest = dep(paths.launch_manifest(settings(), host.name))
        yield {
            "basename": "launch",
            "name": host.name,
            "doc": f"reconcile {host.name}'s containers with its launch manifest",
            "actions": [(action(_launch_host), [manifest])],
            "file_dep": [manifest],
            "uptodate": [(_engine_settled, [manifest])],
            "params": [force],
            "verbosity": 2,
        }


def _status():
    s = settings()
    hosts = _hosts()
    if isinstance(hosts, NbfleetError):
        raise hosts
    rows = status.survey(s, hosts)
    render.print_status(rows)
    page = write_page(rows, paths.status_page(s), s.course.name)
    print(f"wrote {page}")
    down = sorted({r.host for r in rows if r.state == status.UNREACHABLE})
    if down:
        raise NbfleetError("hosts", f"cannot reach {', '.join(down)}")
    nodes = sorted({r.host for r in rows if r.state.startswith(NODE_DOWN)})
    if nodes:
        affected = [r.student for r in rows if r.state.startswith(NODE_DOWN)]
        raise NbfleetError("swarm", f"the node of {', '.join(nodes)} is down: {len(affected)} student(s) without a server "
                           f"({', '.join(affected[:5])}{', …' if len(affected) > 5 else ''})")


def task_status():
    """A live table per student and build/status.html."""
    return {"doc": "live table of every student's server (state, uptime, activity, memory) and build/status.html",
            "actions": [action(_status)], "uptodate": [False], "verbosity": 2}


def _stop_host(manifest: str, host_name: str):
    s = settings()
    try:
        data = read_manifest(manifest)
    except NbfleetError:  # no manifest yet: the hosts file and course.toml say where and how
        hosts = _hosts()
        if isinstance(hosts, NbfleetError):
            raise hosts from None
        host = next(h for h in hosts if h.name == host_name)
        data = {"host": host.as_dict(), "course": s.course.tag, "backend": backend_spec(s, hosts)}
    with backends.for_manifest(data) as backend:
        stopped = stop_host(backend)
    what = "service(s)" if data.get("backend", {}).get("kind") == "swarm" else "container(s)"
    print(f"{host_name}: stopped {stopped} {what}; folders and servers kept")


def task_stop():
    """Stop the course's containers on every host (or one: stop:<host>); all data stays."""
    yield {"basename": "stop", "name": None, "doc": "stop every student's server (data kept); stop:<host> for one host"}
    hosts = _hosts()
    if isinstance(hosts, NbfleetError):
        yield _bad_hosts(hosts)
        return
    for host in hosts:
        yield {"basename": "stop", "name": host.name, "doc": f"stop the course's containers on {host.name}",
               "actions": [(action(_stop_host), [dep(paths.launch_manifest(settings(), host.name)), host.name])],
               "uptodate": [False], "verbosity": 2}

"""Task creators for running the class: `doit launch`, `doit status`, `doit stop` (one subtask per host).

Metadata only: the hosts file is parsed (cheap, pure Python); engines are asked nothing until a task
runs, except the `launch:<host>` uptodate check, which is one list call per host.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import NbfleetError
from .common import action, fails_with, settings

FORCE = {"name": "force", "long": "force", "type": bool, "default": False,
         "help": "recreate containers of students who are working right now too"}


def _hosts():
    """The hosts, or the NbfleetError that the hosts file raised (so that `doit list` still works)."""
    from ..hosts import load_hosts

    try:
        return load_hosts(settings())
    except NbfleetError as exc:
        return exc


def _bad_hosts(error: NbfleetError) -> dict:
    return {"name": "hosts", "doc": "the hosts file has a problem", "actions": fails_with(error)}


def manifest_path(host_name: str) -> Path:
    return settings().build_dir / "launch" / f"{host_name}.json"


def _engine_settled(manifest: str) -> bool:
    """uptodate: the manifest's servers all run with their current settings hash, and nothing else is there."""
    from .. import launch

    try:
        data = launch.read_manifest(Path(manifest))
        with launch.open_backend(data) as backend:
            return launch.settled(data["containers"], backend.servers())
    except Exception:  # noqa: BLE001 - an engine that cannot say means: run the task
        return False


def _launch_host(manifest: str, force: bool = False):
    from .. import launch
    from ..host_folders import pending_moves, record_placed

    s = settings()
    data = launch.read_manifest(Path(manifest))
    host = data["host"]["name"]
    here, moves = pending_moves(s, host, data)
    result = launch.launch_host(data, s.teacher.uid, s.teacher.gid, force=force, idle_window=s.launch.idle_window,
                                ready_timeout=s.launch.ready_timeout, progress=sys.stdout.isatty(), moves=moves, here=here,
                                on_moved=lambda sid: record_placed(s.students_dir, host, [sid]))
    if not result.error:  # where each student's folder is now: a later move between hosts brings it along
        stayed = [c["student"] for c in data["containers"] if c["name"] not in moves and not c.get("admin")]
        record_placed(s.students_dir, host, stayed)
    _print_result(result)
    if result.error:
        raise NbfleetError("", result.error)  # it names its place: the host, the image or the swarm manager
    if result.failed:
        raise NbfleetError(f"host {result.host}", f"{len(result.failed)} container(s) failed: "
                           + "; ".join(f"{k}: {v}" for k, v in sorted(result.failed.items())))


def _print_result(result) -> None:
    from rich.console import Console

    from ..launch import summary_table

    console = Console(highlight=False)
    if not console.is_terminal:
        console.width = 160
    console.print(summary_table([result]))
    if result.switched:
        other = "containers" if result.backend == "swarm" else "Swarm services"
        console.print(f"  switched to the {result.backend} backend: removed {result.switched} {other} first (folders kept)")
    for note in result.notes:
        console.print(f"  {note}")
    for name, reason in sorted(result.failed.items()):
        console.print(f"  failed {name}: {reason}")
    if result.counts["pending"]:
        console.print(f"  {result.counts['pending']} pending: students working now; `doit launch:{result.host} --force` interrupts them")


def _group_forced(argv: list[str], task: str = "launch") -> bool:
    """Was ``--force`` given to the group task itself (``doit -n 4 launch --force``)?

    doit parses a group task's params but does not hand them to its subtasks, so the group's flag is read
    from the command line here and becomes the subtasks' default.
    """
    for i, arg in enumerate(argv):
        if arg == task:
            for later in argv[i + 1:]:
                if not later.startswith("-"):
                    break
                if later == "--force":
                    return True
    return False


def task_launch():
    """Start or update every student's server, one subtask per host (`doit -n 4 launch` runs hosts in parallel)."""
    force = {**FORCE, "default": _group_forced(sys.argv)}
    yield {"basename": "launch", "name": None, "params": [FORCE],
           "doc": "start/update every student's server on every host (hosts in parallel with -n 4; --force)"}
    hosts = _hosts()
    if isinstance(hosts, NbfleetError):
        yield _bad_hosts(hosts)
        return
    for host in hosts:
        manifest = str(manifest_path(host.name))
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
    from .. import status

    s = settings()
    hosts = _hosts()
    if isinstance(hosts, NbfleetError):
        raise hosts
    rows = status.collect(s, hosts)
    status.print_table(rows)
    page = status.write_page(rows, s.build_dir / "status.html", s.course.name)
    print(f"wrote {page}")
    down = sorted({r.host for r in rows if r.state == status.UNREACHABLE})
    if down:
        raise NbfleetError("hosts", f"cannot reach {', '.join(down)}")
    nodes = sorted({r.host for r in rows if r.state.startswith(status.NODE_DOWN)})
    if nodes:
        affected = [r.student for r in rows if r.state.startswith(status.NODE_DOWN)]
        raise NbfleetError("swarm", f"the node of {', '.join(nodes)} is down: {len(affected)} student(s) without a server "
                           f"({', '.join(affected[:5])}{', …' if len(affected) > 5 else ''})")


def task_status():
    """A live table per student and build/status.html."""
    return {"doc": "live table of every student's server (state, uptime, activity, memory) and build/status.html",
            "actions": [action(_status)], "uptodate": [False], "verbosity": 2}


def _stop_host(manifest: str, host_name: str):
    from .. import launch
    from ..manifest import backend_spec

    s = settings()
    try:
        data = launch.read_manifest(Path(manifest))
    except NbfleetError:  # no manifest yet: the hosts file and course.toml say where and how
        hosts = _hosts()
        if isinstance(hosts, NbfleetError):
            raise hosts
        host = next(h for h in hosts if h.name == host_name)
        data = {"host": host.as_dict(), "course": s.course.tag, "backend": backend_spec(s, hosts)}
    with launch.open_backend(data) as backend:
        stopped = launch.stop_host(backend)
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
               "actions": [(action(_stop_host), [str(manifest_path(host.name)), host.name])],
               "uptodate": [False], "verbosity": 2}

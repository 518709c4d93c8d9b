"""Bring one host's student servers to what its launch manifest says, whatever backend runs them.

``plan`` is pure: desired servers (the manifest) against actual ones (the backend's list) give one
step per server: create, recreate (settings hash changed), start (stopped), unchanged, remove
(student no longer on this host) or pending (a student working right now is not interrupted by a
recreate unless forced). ``launch_host`` applies a plan through the manifest's backend
(``nbfleet.backends``): image first, then folders (owned by the teacher) before any server starts, then
servers, then waits until every server answers. ``stop_host`` stops them all, keeping everything.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from .errors import NbfleetError

KINDS = ("create", "recreate", "start", "unchanged", "remove", "pending")
RESTARTED_GRACE = 5.0  # seconds after a server starts during which its own start-up counts as no activity


@dataclass(frozen=True)
class Step:
    """What to do with one container."""

    kind: str
    name: str
    student: str


@dataclass
class HostResult:
    """What happened on one host; ``error`` is set when the host as a whole failed (unreachable, no image)."""

    host: str
    counts: Counter = field(default_factory=Counter)
    failed: dict = field(default_factory=dict)  # container name -> reason
    error: str = ""
    image: str = ""  # "present" or "transferred"
    seconds: float = 0.0
    switched: int = 0  # servers another backend ran here, removed before this backend's start (folders kept)
    backend: str = "containers"
    notes: list = field(default_factory=list)  # what the teacher should know: folders moved here

    @property
    def ok(self) -> bool:
        return not self.error and not self.failed

    def row(self) -> dict:
        c = self.counts
        return {"host": self.host, "started": c["create"] + c["start"], "recreated": c["recreate"],
                "unchanged": c["unchanged"], "removed": c["remove"], "pending": c["pending"],
                "failed": len(self.failed) + (1 if self.error else 0)}


# ---------------------------------------------------------------- pure planning

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


def _when(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        t = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


def is_working(activity: dict | None, now: dt.datetime, window: float) -> bool:
    """Is the student using this server right now, by Jupyter's own account (`nbfleet-activity`)?

    Working means: an open connection or a kernel, or a last activity within ``window`` seconds that
    is not just the server's own start-up (a server nobody touched since it started is not in use).
    """
    if not activity:
        return False
    last, started = _when(activity.get("last_activity")), _when(activity.get("started"))
    if last is None or (now - last).total_seconds() > window:
        return False
    if (activity.get("connections") or 0) > 0 or (activity.get("kernels") or 0) > 0:
        return True
    return started is None or (last - started).total_seconds() > RESTARTED_GRACE


# ---------------------------------------------------------------- manifests

def read_manifest(path: Path) -> dict:
    """A launch manifest (build/launch/<host>.json), checked for the fields launch relies on."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NbfleetError(str(path), "no such launch manifest: run `doit manifests` first") from None
    except ValueError as exc:
        raise NbfleetError(str(path), f"not valid JSON: {exc}") from None
    for key in ("host", "course", "image", "containers"):
        if key not in data:
            raise NbfleetError(str(path), f"missing key {key!r}")
    for i, c in enumerate(data["containers"]):
        for key in ("name", "student", "url", "folder", "server", "hash"):
            if key not in c:
                raise NbfleetError(str(path), f"containers[{i}]: missing key {key!r}")
    return data


# ---------------------------------------------------------------- applying

class _Progress:
    """One rich progress display shared by the hosts that launch in parallel threads."""

    _lock = threading.Lock()
    _users = 0
    _progress = None

    @classmethod
    def open(cls):
        with cls._lock:
            if cls._progress is None:
                from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

                cls._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                         TimeElapsedColumn(), transient=True)
                cls._progress.start()
            cls._users += 1
            return cls._progress

    @classmethod
    def close(cls):
        with cls._lock:
            cls._users -= 1
            if cls._users == 0 and cls._progress is not None:
                cls._progress.stop()
                cls._progress = None


def open_backend(manifest: dict, host: dict | None = None):
    """The backend that runs the manifest's servers (``containers`` when the manifest names none), on its host or on
    ``host`` (a manifest's host dict)."""
    from .backends import open_backend as _open
    from .hosts import Host

    return _open(manifest.get("backend") or {"kind": "containers"}, Host.from_dict(host or manifest["host"]), manifest["course"])


def launch_host(manifest: dict, teacher_uid: int, teacher_gid: int, *, force: bool = False, idle_window: float = 900.0,
                ready_timeout: float = 120.0, workers: int = 8, progress: bool = True, source=None,
                moves: dict | None = None, here: dict | None = None, on_moved=None) -> HostResult:
    """Reconcile one host with its manifest and wait until every server answers.

    ``moves`` maps server names to where their student's folder still is (another host's own disk; see
    ``host_folders.pending_moves``), ``here`` where this host's folders are: such a folder is brought here, its
    server on the old host removed first, before the student's server starts (``on_moved(student)`` after each).
    Never raises for a server that fails (it is counted under ``failed`` with its reason) nor for an
    unreachable host (``error``); raises NbfleetError only for a malformed manifest.
    """
    from . import engine

    host = manifest["host"]
    result = HostResult(host["name"])
    t0 = time.monotonic()
    bar = _Progress.open() if progress else None
    task = bar.add_task(f"{host['name']}: connecting", total=None) if bar else None

    def say(text: str, **kw):
        if bar:
            bar.update(task, description=f"{host['name']}: {text}", **kw)

    backend = open_backend(manifest)
    result.backend = backend.kind
    try:
        image = manifest["image"]
        say("image")
        result.image = backend.ensure_image(image["id"], image.get("tag", ""), source=source)
        result.switched = backend.retire_others()
        desired = manifest["containers"]
        actual = backend.servers()
        now = dt.datetime.now(dt.timezone.utc)
        working = {n for n in needs_activity(desired, actual) if is_working(backend.activity(n), now, idle_window)}
        steps = plan(desired, actual, working, force)
        # a server already here for a student whose folder is still elsewhere starts again on the folder brought here
        steps = [Step("recreate", s.name, s.student) if s.name in (moves or {}) and s.kind in ("unchanged", "pending") else s
                 for s in steps]
        result.counts.update(s.kind for s in steps)
        by_name = {d["name"]: d for d in desired}
        todo = [s for s in steps if s.kind in ("create", "recreate", "start")]
        gone = [s for s in steps if s.kind == "remove"]
        say("servers", total=len(gone) + len(todo), completed=0)  # one tick per removal, one per server answering

        def advance():
            if bar:
                bar.advance(task)

        def remove(step: Step):
            backend.remove(step.name)
            advance()

        with ThreadPoolExecutor(max_workers=workers) as pool:
            for s, err in zip(gone, pool.map(_catch(remove), gone)):  # first: a removed student's port may be reused
                if err:
                    result.failed[s.name] = err
            moving = [s for s in todo if s.name in (moves or {})]
            if moving:
                say("moving folders")

            def bring(step: Step):
                note = _bring_folder(manifest, by_name[step.name], moves[step.name], here, teacher_uid, teacher_gid)
                if on_moved:
                    on_moved(step.student)
                result.notes.append(f"{step.student}: {note}")

            for s, err in zip(moving, pool.map(_catch(bring), moving)):
                if err:  # never start a student's server in front of an empty folder
                    result.failed[s.name] = f"moved here from {_source(moves[s.name])}, but their folder could not come along: {err}"
            todo = [s for s in todo if s.name not in result.failed]
            folders = [by_name[s.name]["folder"] for s in todo]
            admins = {by_name[s.name]["folder"] for s in todo if by_name[s.name].get("admin")}
            backend.prepare_folders([f for f in folders if f not in admins], teacher_uid, teacher_gid, image["id"])
            backend.prepare_folders([f for f in folders if f in admins], teacher_uid, teacher_gid, image["id"],
                                    own=False)  # the teacher's course tree keeps its owners

            def bring_up(step: Step):
                if step.kind == "create":
                    backend.create(by_name[step.name])
                elif step.kind == "recreate":
                    backend.update(by_name[step.name])
                else:
                    backend.start(step.name)

            for s, err in zip(todo, pool.map(_catch(bring_up), todo)):
                if err:
                    result.failed[s.name] = err
        say("waiting for servers")
        states = {a.name: a.state for a in actual}
        check = todo + [s for s in steps if s.kind == "unchanged" and states.get(s.name) != "running"]  # e.g. restarting
        waiting = {by_name[s.name]["url"]: s.name for s in check if s.name not in result.failed}
        silent = engine.wait_until_answering(waiting, time.monotonic() + ready_timeout, on_ready=lambda _u: advance(),
                                             gone=lambda url: backend.why_down(waiting[url]))
        for url, why in silent.items():
            result.failed[waiting[url]] = why if not why.startswith("no answer") else f"{why} within {ready_timeout:g} s"
    except NbfleetError as exc:
        if isinstance(exc, engine.HostUnreachable) or exc.where.startswith(("image", "host", "swarm", "engine")):
            result.error = str(exc)
        else:
            raise
    except Exception as exc:  # noqa: BLE001 - a host failing mid-way must not stop the other hosts
        result.error = f"host {host['name']}: {engine.short_error(exc)}"
    finally:
        backend.close()
        result.seconds = time.monotonic() - t0
        if bar:
            bar.remove_task(task)
            _Progress.close()
    return result


def _source(moved: dict) -> str:
    return moved.get("gone") or moved["host"]["name"]


def _bring_folder(manifest: dict, entry: dict, moved: dict, here: dict, uid: int, gid: int) -> str:
    """Bring a student's folder from the host they moved from (a disk not shared with this one): their server there is
    removed first, so that nothing they write afterwards stays behind. Returns what the teacher reads of it."""
    from .errors import NbfleetError
    from .host_folders import move_student

    if "gone" in moved:
        raise NbfleetError("hosts", f"host {moved['gone']} is no longer in hosts: put it back for one launch, or copy "
                           f"{entry['student']}'s folder to {entry['folder']} yourself")
    with open_backend(manifest, moved["host"]) as old:
        old.remove(entry["name"])
    return move_student(entry["student"], moved, here, manifest["image"], (uid, gid), manifest["course"])


def stop_host(backend, workers: int = 8) -> int:
    """Stop every running server of the course on the backend's host (nothing is removed); returns how many."""
    running = [s for s in backend.servers() if s.running]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(lambda s: backend.stop(s.name), running))
    return len(running)


def _catch(fn):
    def run(arg):
        try:
            fn(arg)
            return ""
        except Exception as exc:  # noqa: BLE001 - one student's container failing must not stop the class
            from .engine import short_error

            return short_error(exc)

    return run


def summary_table(results: Iterable[HostResult]):
    """A rich Table with one row per host: started, recreated, unchanged, removed, pending, failed."""
    from rich.table import Table

    table = Table(title="doit launch")
    for col in ("host", "started", "recreated", "unchanged", "removed", "pending", "failed", "seconds"):
        table.add_column(col, justify="left" if col == "host" else "right")
    for r in results:
        row = r.row()
        table.add_row(row["host"], *(str(row[k]) for k in ("started", "recreated", "unchanged", "removed", "pending")),
                      f"[red]{row['failed']}[/red]" if row["failed"] else "0", f"{r.seconds:.1f}")
    return table

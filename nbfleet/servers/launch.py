"""Bring one host's student servers to what its launch manifest says, whatever backend runs them.

``launch_host`` applies ``servers.plan`` through the manifest's backend (``servers.backends``): image first, then
folders (owned by the teacher) before any server starts, then servers, then it waits until every server answers.
``stop_host`` stops them all, keeping everything. What happens is reported through a ``progress`` (the terminal's
rich display is ``tasks.render``'s) and returned as a ``HostResult``; one server failing never stops the others.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from .. import threads
from ..errors import NbfleetError
from . import backends, engine
from .activity import is_working
from .plan import Step, needs_activity, plan
from .ready import wait_until_answering


class Quiet:
    """The progress of one host's launch when nobody watches it (a log, a test): it says nothing."""

    def say(self, text: str, total: int | None = None) -> None:
        """What the host is doing now; ``total``: how many ticks the current step has."""

    def advance(self) -> None:
        """One tick: a server removed, or answering."""

    def close(self) -> None:
        """The host is done."""


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
    walls: str = ""  # "kept" (the rules there were already these) or "applied"
    interrupted: list = field(default_factory=list)  # students working right now whose server was recreated (forced)

    @property
    def ok(self) -> bool:
        return not self.error and not self.failed

    def row(self) -> dict:
        c = self.counts
        return {"host": self.host, "started": c["create"] + c["start"], "recreated": c["recreate"],
                "unchanged": c["unchanged"], "removed": c["remove"], "pending": c["pending"],
                "failed": len(self.failed) + (1 if self.error else 0)}


def launch_host(manifest: dict, teacher_uid: int, teacher_gid: int, *, force: bool = False, idle_window: float = 900.0,
                ready_timeout: float = 120.0, workers: int = 8, progress: Callable[[str], Quiet] | None = None, source=None,
                moves: dict | None = None, here: dict | None = None,
                bring_folder: Callable[[str, dict, dict], str] | None = None,
                on_moved: Callable[[str], None] | None = None) -> HostResult:
    """Reconcile one host with its manifest and wait until every server answers.

    ``moves`` maps server names to where their student's folder still is (another host's own disk; see
    ``assignments.host_folders.pending_moves``), ``here`` where this host's folders are: the student's server on the
    old host is removed first, then ``bring_folder(student, moved, here)`` brings the folder here and says how, all
    before the student's server starts (``on_moved(student)`` after each). ``progress(host name)`` gives what reports
    the launch (default: ``Quiet``). Never raises for a server that fails (it is counted under ``failed`` with its
    reason) nor for an unreachable host (``error``); raises NbfleetError only for a malformed manifest.
    """
    host = manifest["host"]
    result = HostResult(host["name"])
    t0 = time.monotonic()
    shown = (progress or (lambda _name: Quiet()))(host["name"])
    say, advance = shown.say, shown.advance
    say("connecting")
    backend = backends.for_manifest(manifest)
    result.backend = backend.kind
    try:
        image = manifest["image"]
        say("image")
        result.image = backend.ensure_image(image["id"], image.get("tag", ""), source=source)
        result.switched = backend.retire_others()
        walls = threads.meanwhile(backend.put_up_walls, manifest["walls"], image["id"])  # in place while the plan is made
        desired = manifest["containers"]
        actual = backend.servers()
        now = dt.datetime.now(dt.UTC)
        working = {n for n in needs_activity(desired, actual) if is_working(backend.activity(n), now, idle_window)}
        steps = plan(desired, actual, working, force)
        result.interrupted = sorted(s.student for s in steps if s.kind == "recreate" and s.name in working)
        # a server already here for a student whose folder is still elsewhere starts again on the folder brought here
        steps = [Step("recreate", s.name, s.student) if s.name in (moves or {}) and s.kind in ("unchanged", "pending") else s
                 for s in steps]
        result.counts.update(s.kind for s in steps)
        by_name = {d["name"]: d for d in desired}
        todo = [s for s in steps if s.kind in ("create", "recreate", "start")]
        gone = [s for s in steps if s.kind == "remove"]
        say("servers", total=len(gone) + len(todo))  # one tick per removal, one per server answering

        def remove(step: Step):
            backend.remove(step.name)
            advance()

        for s, err in zip(gone, threads.each(_catch(remove), gone, workers), strict=True):  # first: a removed student's port may be reused
            if err:
                result.failed[s.name] = err
        moving = [s for s in todo if s.name in (moves or {})]
        if moving:
            say("moving folders")

        def bring(step: Step):
            note = _bring_folder(manifest, by_name[step.name], moves[step.name], here, bring_folder)
            if on_moved:
                on_moved(step.student)
            result.notes.append(f"{step.student}: {note}")

        for s, err in zip(moving, threads.each(_catch(bring), moving, workers), strict=True):
            if err:  # never start a student's server in front of an empty folder
                result.failed[s.name] = f"moved here from {_source(moves[s.name])}, but their folder could not come along: {err}"
        todo = [s for s in todo if s.name not in result.failed]
        folders = [f for s in todo for f in (by_name[s.name]["folder"], by_name[s.name].get("exam_folder")) if f]
        admins = {by_name[s.name]["folder"] for s in todo if by_name[s.name].get("admin")}
        backend.prepare_folders([f for f in folders if f not in admins], teacher_uid, teacher_gid, image["id"])
        backend.prepare_folders([f for f in folders if f in admins], teacher_uid, teacher_gid, image["id"],
                                own=False)  # the teacher's course tree keeps its owners
        say("walls")
        result.walls = walls.result()  # no server starts before its walls are up

        def bring_up(step: Step):
            if step.kind == "create":
                backend.create(by_name[step.name])
            elif step.kind == "recreate":
                backend.update(by_name[step.name])
            else:
                backend.start(step.name)

        for s, err in zip(todo, threads.each(_catch(bring_up), todo, workers), strict=True):
            if err:
                result.failed[s.name] = err
        backend.take_down_unused_walls(manifest["walls"], image["id"])  # a policy no server has any more
        say("waiting for servers")
        states = {a.name: a.state for a in actual}
        check = todo + [s for s in steps if s.kind == "unchanged" and states.get(s.name) != "running"]  # e.g. restarting
        waiting = {by_name[s.name]["url"]: s.name for s in check if s.name not in result.failed}
        silent = wait_until_answering(waiting, time.monotonic() + ready_timeout, on_ready=lambda _u: advance(),
                                      gone=lambda url: backend.why_down(waiting[url]))
        for url, why in silent.items():
            result.failed[waiting[url]] = why if not why.startswith("no answer") else f"{why} within {ready_timeout:g} s"
    except NbfleetError as exc:
        if isinstance(exc, engine.HostUnreachable) or exc.where.startswith(("image", "host", "swarm", "engine", "walls", "network")):
            result.error = str(exc)
        else:
            raise
    except Exception as exc:  # noqa: BLE001 - a host failing mid-way must not stop the other hosts
        result.error = f"host {host['name']}: {engine.short_error(exc)}"
    finally:
        backend.close()
        result.seconds = time.monotonic() - t0
        shown.close()
    return result


def _source(moved: dict) -> str:
    return moved.get("gone") or moved["host"]["name"]


def _bring_folder(manifest: dict, entry: dict, moved: dict, here: dict, bring_folder) -> str:
    """Bring a student's folder from the host they moved from (a disk not shared with this one): their server there is
    removed first, so that nothing they write afterwards stays behind. Returns what the teacher reads of it."""
    if "gone" in moved:
        raise NbfleetError("hosts", f"host {moved['gone']} is no longer in hosts: put it back for one launch, or copy "
                           f"{entry['student']}'s folder to {entry['folder']} yourself")
    if bring_folder is None:
        raise NbfleetError("hosts", f"{entry['student']}'s folder is on {moved['host']['name']}, and this launch cannot move folders")
    with backends.for_manifest(manifest, moved["host"]) as old:
        old.remove(entry["name"])
    return bring_folder(entry["student"], moved, here)


def stop_host(backend, workers: int = 8) -> int:
    """Stop every running server of the course on the backend's host (nothing is removed); returns how many."""
    running = [s for s in backend.servers() if s.running]
    threads.each(lambda s: backend.stop(s.name), running, workers)
    return len(running)


def _catch(fn):
    def run(arg):
        try:
            fn(arg)
            return ""
        except Exception as exc:  # noqa: BLE001 - one student's container failing must not stop the class
            return engine.short_error(exc)

    return run

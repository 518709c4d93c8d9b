"""Students' folders on every host: release and collect reach each host's folders the way its ``hosts`` line says.

A host whose course folder is shared with this machine (``shared=yes``, the default: this machine, or an NFS mount
as on the Twente farm) is served here, directly, as before. For a host with a disk of its own (``shared=no``) the work
goes through that host's Docker engine: one short-lived helper container per host and run, from the course image
(moved there first if missing, as launch does), with the host's students folder mounted, runs nbfleet's own delivery
or collect (``nbfleet.inside.folder_helper``, shipped into the container with the modules it needs) on a bundle of the
released files. One batch per host, never one engine call per student or file; the rules are the same code.

A host claimed shared is checked: nbfleet writes a marker with a fresh token into this machine's students folder,
and a helper on that host must read the same token at the host's path (``course_root``); otherwise the run stops
for that host's students with one line saying what was found.
"""

from __future__ import annotations

import fcntl
import json
import secrets
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from .. import threads
from ..errors import NbfleetError
from ..fs import write_bytes, write_text
from ..roster.hosts import Host, load_hosts
from ..servers import engine
from .helper import Helper, students_folder
from .pack import pack_folder, safe_extract, unpack_folder

MARKER = ".nbfleet/shared-check-"  # + a token per run, under the students folder


def groups(hosts: list, students: Iterable) -> tuple[list[str], dict]:
    """Split roster students: (ids served here, {host: ids} for each host with a disk of its own).

    A student with no server yet, or on a host that shares the course folder, is served here.
    """
    by_name = {h.name: h for h in hosts}
    here, own = [], {}
    for s in students:
        host = by_name.get(s.server or "")
        if host is None or host.shared:
            here.append(s.id)
        else:
            own.setdefault(host, []).append(s.id)
    return here, own


def shared_hosts_to_check(hosts: list, students: Iterable, root: Path) -> list:
    """Hosts said to share the course folder whose claim is checked once per run: the ones with students, except an
    engine on this machine whose course folder is this very folder (``root``)."""
    used = {s.server for s in students}
    return [h for h in hosts if h.shared and h.name in used and not (h.is_local and Path(h.course_root) == Path(root))]


def check_shared(settings, helpers: dict, hosts: list) -> dict[str, str]:
    """{host name: why} for the hosts claimed shared whose folder is not this machine's (or that cannot be asked).

    The marker has a name of its own per run, so that runs at the same time (a release and a collect) do not read
    each other's token; it is removed afterwards.
    """
    if not hosts:
        return {}
    token = secrets.token_hex(16)
    marker = f"{MARKER}{token}"
    here = Path(settings.students_dir) / marker
    write_bytes(here, token.encode())
    bad = {}
    try:
        for host in hosts:
            try:
                seen = helpers[host.name].sees_marker(marker)
            except NbfleetError as exc:
                bad[host.name] = str(exc)
                continue
            except Exception as exc:  # noqa: BLE001 - a host that cannot be asked fails alone
                bad[host.name] = f"host {host.name}: {engine.short_error(exc)}"
                continue
            if seen != token:
                where = students_folder(settings, host)
                bad[host.name] = (f"host {host.name}: shared=yes, but {where} there is not this machine's {settings.students_dir} "
                                  f"(nbfleet's marker {'differs' if seen else 'is missing'}): set shared=no for it in hosts")
    finally:
        here.unlink(missing_ok=True)
    return bad


def open_helpers(settings, hosts: list, image: dict) -> tuple[dict, dict[str, str]]:
    """A prepared Helper per host (in parallel); {host name: why} for those that cannot be reached or given the image."""
    def one(host):
        helper = None
        try:
            helper = Helper.for_course(settings, host, image)
            helper.prepare()
            return host.name, helper, ""
        except Exception as exc:  # noqa: BLE001 - one host failing must not stop the others
            if helper is not None:
                helper.close()
            return host.name, None, str(exc) if isinstance(exc, NbfleetError) else f"host {host.name}: {engine.short_error(exc)}"

    helpers, failed = {}, {}
    if not hosts:
        return helpers, failed
    for name, helper, why in threads.each(one, hosts, workers=len(hosts)):
        if helper is not None:
            helpers[name] = helper
        else:
            failed[name] = why
    return helpers, failed


def placed_path(students_dir: Path) -> Path:
    """``<students>/.nbfleet/folders.json``: for each student, the host whose disk holds their folder now.

    It lives beside the ledgers, not under ``build/``: it is part of the state of the students' folders.
    """
    return Path(students_dir) / ".nbfleet" / "folders.json"


def read_placed(students_dir: Path) -> dict[str, str]:
    """{student: host} from the folders record (empty when there is none yet)."""
    try:
        data = json.loads(placed_path(students_dir).read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def record_placed(students_dir: Path, host: str, students: Iterable[str], only_new: bool = False) -> None:
    """Record that ``students``' folders are now on ``host`` (hosts launch in parallel: under a lock); with
    ``only_new``, only for students the record does not know yet (a release before any launch)."""
    students = list(students)
    if not students:
        return
    path = placed_path(students_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        placed = read_placed(students_dir)
        placed.update({sid: host for sid in students if not (only_new and sid in placed)})
        write_text(path, json.dumps(placed, indent=0, sort_keys=True) + "\n")


def moves(here_host, students: Iterable[str], placed: dict[str, str], hosts: dict) -> dict[str, str]:
    """{student: host their folder is on} for the students of ``here_host`` whose folder is on another host that does
    not share the course folder with it (a host no longer in ``hosts`` counts as not shared). Pure."""
    out = {}
    for sid in students:
        before = placed.get(sid)
        if before is None or before == here_host.name:
            continue
        source = hosts.get(before)
        if source is None or not source.shared or not here_host.shared:
            out[sid] = before
    return out


def where(settings, host) -> dict:
    """Where a host's students' folders are: on the host, and here too when it shares this machine's folder."""
    return {"host": host.as_dict(), "students_dir": students_folder(settings, host),
            "here": str(settings.students_dir) if host.shared else None}


def pending_moves(settings, host_name: str, manifest: dict) -> tuple[dict, dict[str, dict]]:
    """Where this host's folders are, and {server name: where the student's folder is} for the students this host's
    manifest gives it whose folder is still on another host's own disk (admins work in the course folder: they never
    move). Decided when launch runs, from the folders record, so that a move is done once."""
    hosts = {h.name: h for h in load_hosts(settings)}
    host = hosts.get(host_name)
    if host is None:
        return {}, {}
    entries = [c for c in manifest["containers"] if not c.get("admin")]
    moved = moves(host, [c["student"] for c in entries], read_placed(settings.students_dir), hosts)
    return where(settings, host), {
        c["name"]: (where(settings, hosts[moved[c["student"]]]) if moved[c["student"]] in hosts else {"gone": moved[c["student"]]})
        for c in entries if c["student"] in moved}


def waiting_to_move(settings, hosts: list, students: Iterable) -> dict[str, str]:
    """{student: why} for the students whose folder has not followed them to their new host yet (a release or collect
    now would go to an empty folder there): `doit launch` moves it first."""
    placed = read_placed(settings.students_dir)
    by_name = {h.name: h for h in hosts}
    out = {}
    for s in students:
        host = by_name.get(s.server or "")
        if host is None or getattr(s, "admin", False):
            continue
        if moves(host, [s.id], placed, by_name):
            out[s.id] = f"{s.id}'s folder is still on {placed[s.id]}: run `doit launch` first (it moves it to {host.name})"
    return out


def move_student(student: str, source: dict, dest: dict, image: dict, owner: tuple[int, int], course: str) -> str:
    """Copy a student's folder from one host's disk to another's (``where`` dicts), whole or not at all.

    Returns what the teacher reads: where it came from, and where a folder already at the destination was kept
    aside. The folder at the source stays as it was.
    """
    origin = source["host"]["name"]
    nothing = f"no folder on {origin} to bring along"
    work = Path(tempfile.mkdtemp(prefix="nbfleet-move-"))
    helpers = []
    try:
        packed = work / "folder.tar"
        if source["here"]:
            folder = Path(source["here"]) / student
            if not folder.is_dir() or folder.is_symlink():
                return nothing
            pack_folder(folder, packed)
        else:
            helper = Helper(Host.from_dict(source["host"]), source["students_dir"], owner, course, image)
            helpers.append(helper)
            helper.prepare()
            answer, tar = helper.run({"do": "pack", "student": student}, fetch="/job/out/folder.tar")
            try:
                if answer.get("files") is None:
                    return nothing
                safe_extract(tar, work)  # the fetched archive holds folder.tar
            finally:
                tar.unlink(missing_ok=True)
        if dest["here"]:
            return f"folder moved from {origin}{unpack_folder(packed, Path(dest['here']) / student, owner)}"
        helper = Helper(Host.from_dict(dest["host"]), dest["students_dir"], owner, course, image)
        helpers.append(helper)
        helper.prepare()
        answer, _ = helper.run({"do": "unpack", "student": student}, files={"folder.tar": packed})
        return f"folder moved from {origin}{answer['result']}"
    finally:
        for helper in helpers:
            helper.close()
        shutil.rmtree(work, ignore_errors=True)

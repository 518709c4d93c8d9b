"""Students' folders on every host: release and collect reach each host's folders the way its ``hosts`` line says.

A host whose course folder is shared with this machine (``shared=yes``, the default: this machine, or an NFS mount
as on the Twente farm) is served here, directly, as before. For a host with a disk of its own (``shared=no``) the work
goes through that host's Docker engine: one short-lived helper container per host and run, from the course image
(moved there first if missing, as launch does), with the host's students folder mounted, runs nbfleet's own delivery
or collect (``nbfleet.folder_helper``, shipped into the container with the modules it needs) on a bundle of the
released files. One batch per host, never one engine call per student or file; the rules are the same code.

A host claimed shared is checked: nbfleet writes a marker with a fresh token into this machine's students folder,
and a helper on that host must read the same token at the host's path (``course_root``); otherwise the run stops
for that host's students with one line saying what was found.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import tarfile
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from typing import Iterable

from . import engine
from .errors import NbfleetError

HELPER = "nbfleet.helper"
HELPER_COURSE = "nbfleet.helper.course"  # not nbfleet.course: a helper is never taken for a student's server
SHIPPED = ("__init__.py", "errors.py", "delivery.py", "collect.py", "folder_helper.py")  # standard library only
CAPS = ["CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER"]  # root there may write the teacher's files, nothing more
MARKER = ".nbfleet/shared-check-"  # + a token per run, under the students folder
HELPER_TIMEOUT = 3600  # seconds: a release of big files to hundreds of students on a slow disk


class HostFailed(NbfleetError):
    """A host could not be served (unreachable, no image, the helper failed, a folder not shared after all)."""


def students_folder(settings, host) -> str:
    """Where the students' folders are on ``host`` (its course_root in place of this machine's course folder)."""
    from .manifest import on_host

    return on_host(Path(settings.students_dir), Path(settings.root), host)


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


class Helper:
    """Helper containers on one host, from the course image, with the host's students folder."""

    def __init__(self, host, students_dir: str, owner: tuple[int, int], course: str, image: dict):
        self.host, self.students_dir, self.owner, self.course, self.image = host, students_dir, owner, course, image
        self.client = engine.connect(host)

    @classmethod
    def for_course(cls, settings, host, image: dict) -> "Helper":
        return cls(host, students_folder(settings, host), (settings.teacher.uid, settings.teacher.gid), settings.course.tag, image)

    def close(self) -> None:
        self.client.close()

    def prepare(self) -> None:
        """The image on the host (moved there with save/load when missing)."""
        try:
            engine.ensure_image(self.client, self.image["id"], _tag(self.image))
        except NbfleetError as exc:
            raise HostFailed(f"host {self.host.name}", f"cannot put the course image there: {exc.what}") from None

    def run(self, job: dict, files: dict[str, Path] | None = None, fetch: str | None = None) -> tuple[dict, Path | None]:
        """Run ``job`` in a helper with the host's students folder; its JSON answer, and ``fetch`` (a folder in the
        helper) as a tar file here when asked. The container is removed whatever happens."""
        job = {**job, "students_dir": "/course/students", "uid": self.owner[0], "gid": self.owner[1]}
        api = self.client.api
        config = api.create_host_config(  # the students folder only: never the rest of the course (TLS key, roster)
            binds={str(PurePosixPath(self.students_dir)): {"bind": "/course/students", "mode": "rw"}}, cap_drop=["ALL"],
            cap_add=CAPS, security_opt=["no-new-privileges"], pids_limit=256, network_mode="none")
        cid = api.create_container(self.image["id"], entrypoint=["python3", "-m", "nbfleet.folder_helper"], command=[],
                                   user="0:0", environment={"PYTHONPATH": "/job/lib", "PYTHONDONTWRITEBYTECODE": "1"},
                                   labels={HELPER: "folders", HELPER_COURSE: self.course},
                                   host_config=config, network_disabled=True)["Id"]
        try:
            with tempfile.TemporaryFile() as bundle:
                _bundle(bundle, job, files or {})
                bundle.seek(0)
                api.put_archive(cid, "/", bundle)
            api.start(cid)
            code = api.wait(cid, timeout=HELPER_TIMEOUT).get("StatusCode")
            out = api.logs(cid, stdout=True, stderr=False).decode("utf-8", "replace").strip().splitlines()
            try:
                answer = json.loads(out[-1]) if out else {}
            except ValueError:
                answer = {}
            if code != 0 or "error" in answer or not out:
                why = answer.get("error") or engine.last_line(api.logs(cid, stdout=False, stderr=True)) or f"exit code {code}"
                raise HostFailed(f"host {self.host.name}", f"the folder helper failed: {why}")
            tar = None
            if fetch:
                fd, name = tempfile.mkstemp(prefix="nbfleet-fetch-", suffix=".tar")
                tar = Path(name)
                try:
                    stream, _ = api.get_archive(cid, fetch)
                    with os.fdopen(fd, "wb") as f:
                        for chunk in stream:
                            f.write(chunk)
                except BaseException:
                    tar.unlink(missing_ok=True)
                    raise
            return answer, tar
        finally:
            try:
                api.remove_container(cid, force=True)
            except Exception:  # noqa: BLE001 - a container that is already gone
                pass

    def sees_marker(self, marker: str) -> str | None:
        """The token this host's students folder holds at the marker, or None."""
        answer, _ = self.run({"do": "look", "marker": marker})
        return answer.get("marker")


def _tag(image: dict) -> str:
    """The image's tag: a manifest's ``tag``, or the content tag of an image record."""
    from .manifest import image_tag

    return image.get("tag") or image_tag(image)


def _bundle(fileobj, job: dict, files: dict[str, Path]) -> None:
    """The helper's /job as a tar: the job, nbfleet's modules it runs, the released files."""
    here = Path(__file__).resolve().parent
    with tarfile.open(fileobj=fileobj, mode="w") as tar:
        data = json.dumps(job).encode()
        info = tarfile.TarInfo("job/job.json")
        info.size, info.mode = len(data), 0o644
        tar.addfile(info, io.BytesIO(data))
        for name in SHIPPED:
            tar.add(here / name, f"job/lib/nbfleet/{name}")
        for name, path in sorted(files.items()):
            tar.add(path, f"job/files/{name}")


def check_shared(settings, helpers: dict, hosts: list) -> dict[str, str]:
    """{host name: why} for the hosts claimed shared whose folder is not this machine's (or that cannot be asked).

    The marker has a name of its own per run, so that runs at the same time (a release and a collect) do not read
    each other's token; it is removed afterwards.
    """
    if not hosts:
        return {}
    from .delivery import write_atomic

    token = secrets.token_hex(16)
    marker = f"{MARKER}{token}"
    here = Path(settings.students_dir) / marker
    write_atomic(here, token.encode())
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
    with ThreadPoolExecutor(max_workers=len(hosts)) as pool:
        for name, helper, why in pool.map(one, hosts):
            if helper is not None:
                helpers[name] = helper
            else:
                failed[name] = why
    return helpers, failed


def extract(tar: Path, into: Path) -> None:
    """Unpack a fetched folder safely (regular files and folders only, nothing outside ``into``)."""
    from .folder_helper import safe_extract

    safe_extract(tar, into)


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
    import fcntl

    from .atomic import write_text

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
    from .hosts import load_hosts

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
    import shutil

    from .folder_helper import pack_folder, unpack_folder
    from .hosts import Host

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
                extract(tar, work)  # the fetched archive holds folder.tar
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

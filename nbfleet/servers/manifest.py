"""Launch manifests: what should run on each host, as data (``build/launch/<host>.json``).

``build_manifest`` is pure: roster students + host + settings + image record + password hashes -> one JSON-able
dict, the same every time for the same inputs. Each student's server is described in nbfleet's own terms (image,
command with the password hash, mounts, limits, port, labels, user) that every backend translates to its own API,
and carries a hash of them: ``doit launch`` recreates (or updates) a server only when that hash changed. No plain
password ever appears in a manifest. ``read_manifest`` is the one reader of the format, ``write_manifest`` the one
writer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from .. import labels, paths
from ..errors import NbfleetError
from ..fs import write_private
from ..images import record
from ..roster import passwords
from ..roster.allocate import student_url, url_scheme
from ..roster.hosts import Host, load_hosts
from ..roster.students import load_roster
from ..settings.egress import Egress
from .exam import EGRESS as EXAM_EGRESS
from .exam import running as running_exam
from .walls import network_name

FORMAT = 2  # the manifests' layout: a new nbfleet that changes it writes every manifest again
TLS_DIR = "/etc/nbfleet/tls"
SERVER_PORT = 8888  # where Jupyter listens inside every image (the image contract)


def container_name(tag: str, student_id: str) -> str:
    """The server of a student (container or Swarm service): ``<course tag>-<student id>``."""
    return f"{tag}-{student_id}"


def settings_hash(server: dict[str, Any]) -> str:
    """sha256 of a server's spec as canonical JSON: a server is recreated (or updated) exactly when this changes."""
    canonical = json.dumps(server, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def server_entry(course: str, student: str, *, admin: bool, port: int, url: str, folder: str, home: str, image: str,
                 command: Sequence[str], user: str, memory: int, cpus: float, pids: int, egress: Egress,
                 extra_mounts: Sequence[dict[str, Any]] = (), reserve: dict[str, Any] | None = None,
                 exam: str = "") -> dict[str, Any]:
    """One student's server in nbfleet's own terms, whatever backend runs it, with the hash of those terms.

    ``server`` holds image, command, user, working folder, port (published on the host → the server's own),
    mounts, limits, labels, restart and security: each backend translates it to its API (a container's create
    arguments, a Swarm service spec). The student's folder is mounted at ``~/work`` (an admin's course folder at
    ``~/course``); nothing else of the server survives a recreate. During an ``exam`` of an assignment only that
    assignment's folder (``exam_folder``) is mounted, at ``~/work/<assignment>``. ``egress`` is where the server may
    connect: it joins the course's network of that policy (``servers.walls``). ``reserve`` (memory, cpus) is what the
    engine sets aside for the server; it is in the spec (and its hash) only when set.
    """
    workdir = f"{home}/course" if admin else f"{home}/work"
    source, target = (f"{folder}/{exam}", f"{workdir}/{exam}") if exam else (folder, workdir)
    server = {
        "image": image,
        "command": list(command),
        "user": user,
        "workdir": workdir,
        "port": {"published": port, "target": SERVER_PORT},
        "network": {"name": network_name(course, egress), "egress": egress.text},
        "mounts": [{"source": source, "target": target, "read_only": False}, *extra_mounts],
        "limits": {"memory": memory, "cpus": cpus, "pids": pids,
                   **({"reserve": dict(reserve)} if reserve and any(reserve.values()) else {})},
        "labels": {labels.COURSE: course, labels.STUDENT: student, labels.ADMIN: "true" if admin else "false",
                   **({labels.EXAM: exam} if exam else {})},
        "restart": "unless-stopped",
        "security": {"no_new_privileges": True, "cap_drop": ["ALL"]},
        "environment": {},
    }
    return {"name": container_name(course, student), "student": student, "admin": admin, "port": port, "url": url,
            "folder": folder, **({"exam_folder": source} if exam else {}), "server": server, "hash": settings_hash(server)}


def on_host(path: Path, root: Path, host: Host) -> str:
    """Where ``path`` (a path in the local course folder) is on ``host``: the same place under its course_root."""
    try:
        rel = Path(path).relative_to(root)
    except ValueError:
        return str(path)  # outside the course folder: assumed at the same path on every host
    return str(PurePosixPath(host.course_root) / rel.as_posix()) if rel.parts else host.course_root


def build_manifest(host: Host, students: Sequence, settings, image: dict[str, Any], hashes: dict[str, str],
                   backend: dict[str, Any] | None = None, exam: str = "") -> dict[str, Any]:
    """The desired state of ``host``: one server per student allocated to it, in roster order.

    ``students`` are roster Students (all with server == host.name, port and password filled); ``hashes`` maps a
    student id to its argon2 password hash; ``backend`` is ``backend_spec``'s answer (default: containers);
    ``exam`` the assignment of the exam running now ("" for none): students' servers then have egress "none" and
    only that folder; admins' servers stay as they are.
    """
    tag = settings.course.tag
    user, uid, gid = settings.teacher.user, settings.teacher.uid, settings.teacher.gid
    home = f"/home/{user}"
    launch = settings.launch
    scheme = url_scheme(settings)
    root = Path(settings.root)
    tls_args: list[str] = []
    tls_mounts: list[dict[str, Any]] = []
    if launch.tls_cert:
        tls_mounts = [
            {"source": on_host(launch.tls_cert, root, host), "target": f"{TLS_DIR}/cert.pem", "read_only": True},
            {"source": on_host(launch.tls_key, root, host), "target": f"{TLS_DIR}/key.pem", "read_only": True},
        ]
        tls_args = [f"--ServerApp.certfile={TLS_DIR}/cert.pem", f"--ServerApp.keyfile={TLS_DIR}/key.pem"]
    containers = []
    for s in students:
        if s.admin:
            folder, memory = host.course_root, s.memory or launch.admin_memory
        else:
            folder, memory = on_host(Path(settings.students_dir) / s.id, root, host), s.memory or launch.memory
        containers.append(server_entry(
            tag, s.id, admin=s.admin, port=s.port, url=student_url(host, s.port, scheme), folder=folder, home=home,
            image=image["id"], command=["start-notebook", f"--PasswordIdentityProvider.hashed_password={hashes[s.id]}", *tls_args],
            user=f"{uid}:{gid}", memory=memory, cpus=launch.cpus, pids=launch.pids,
            egress=launch.egress if s.admin or not exam else EXAM_EGRESS,
            extra_mounts=tls_mounts, reserve=(backend or {}).get("reserve"), exam="" if s.admin else exam))
    return manifest_document(host, tag, scheme, backend or {"kind": "containers"},
                             {"name": settings.images.launch, "id": image["id"], "tag": record.image_tag(image)}, containers)


def manifest_document(host: Host, course: str, scheme: str, backend: dict[str, Any], image: dict[str, str],
                      containers: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """A manifest: the host, the course, the backend that runs its servers, the image, the networks its servers join
    (``walls``: name -> egress policy in canonical form) and each server (``server_entry``)."""
    walls = {c["server"]["network"]["name"]: c["server"]["network"]["egress"] for c in containers}
    return {"host": host.as_dict(), "course": course, "scheme": scheme, "backend": dict(backend), "image": dict(image),
            "walls": dict(sorted(walls.items())), "containers": list(containers)}


def backend_spec(settings, hosts: Sequence[Host]) -> dict[str, Any]:
    """Which backend runs the course's servers, as a manifest records it: ``{"kind": "containers"}`` or the swarm's
    manager (a host from ``hosts``) and reservations."""
    kind = settings.launch.backend
    if kind != "swarm":
        return {"kind": kind}
    sw = settings.swarm
    manager = next((h for h in hosts if h.name == sw.manager), None) if sw.manager else (hosts[0] if hosts else None)
    if manager is None:
        raise NbfleetError(f"{settings.file.name}: swarm.manager", f"no host named {sw.manager!r} in the hosts file")
    return {"kind": "swarm", "manager": manager.as_dict(),
            "reserve": {"memory": sw.reserve_memory, "cpus": sw.reserve_cpus}, "registry": sw.registry}


def make_manifest(settings, host_name: str) -> tuple[Path, int, bool]:
    """``doit manifests:<host>``: write ``build/launch/<host>.json``; return (path, containers, rewritten?)."""
    hosts = load_hosts(settings)
    host = next((h for h in hosts if h.name == host_name), None)
    if host is None:
        raise NbfleetError(paths.shown(settings.hosts_file, settings.root), f"no host named {host_name!r}")
    roster = load_roster(settings, hosts)
    mine = roster.on_host(host.name)
    missing = [s for s in roster.students if not s.allocated]
    if missing:
        s = missing[0]
        raise NbfleetError(f"{roster.label}:{s.line}", f"{s.id} has no server, port or password yet: run `doit roster` first")
    image = record.launch_image(settings)
    out = paths.launch_manifest(settings, host.name)
    hashes = passwords.hashes_for(mine, paths.password_hashes(settings, host.name))
    exam = running_exam(settings)
    manifest = build_manifest(host, mine, settings, image, hashes, backend_spec(settings, hosts),
                              exam=exam.assignment if exam else "")
    return out, len(mine), write_manifest(out, manifest)


def write_manifest(path: Path, manifest: dict[str, Any]) -> bool:
    """Write a manifest (mode 0600: it holds password hashes) unless the file already says exactly this; whether it
    was written."""
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    try:
        if Path(path).read_text(encoding="utf-8") == text:
            return False
    except FileNotFoundError:
        pass
    write_private(Path(path), text)
    return True


def read_manifest(path: Path) -> dict[str, Any]:
    """A launch manifest (build/launch/<host>.json), checked for the fields launch relies on."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NbfleetError(str(path), "no such launch manifest: run `doit manifests` first") from None
    except ValueError as exc:
        raise NbfleetError(str(path), f"not valid JSON: {exc}") from None
    for key in ("host", "course", "image", "walls", "containers"):
        if key not in data:
            raise NbfleetError(str(path), f"missing key {key!r}" + (": run `doit manifests`" if key == "walls" else ""))
    for i, c in enumerate(data["containers"]):
        for key in ("name", "student", "url", "folder", "server", "hash"):
            if key not in c:
                raise NbfleetError(str(path), f"containers[{i}]: missing key {key!r}")
        if "network" not in c["server"]:
            raise NbfleetError(str(path), f"containers[{i}]: written by an older nbfleet: run `doit manifests`")
    return data

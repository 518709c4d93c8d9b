"""Launch manifests: what should run on each host, as data (``build/launch/<host>.json``).

``build_manifest`` is pure: roster students + host + settings + image record + password hashes -> one JSON-able
dict, the same every time for the same inputs. Each student's server is described in nbfleet's own terms (image,
command with the password hash, mounts, limits, port, labels, user) that every backend translates to its own API,
and carries a hash of them: ``doit launch`` recreates (or updates) a server only when that hash changed. No plain
password ever appears in a manifest.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path, PurePosixPath
from typing import Any, Sequence

from . import labels
from .errors import NbfleetError
from .hosts import Host

HASH_LABEL = labels.HASH
TLS_DIR = "/etc/nbfleet/tls"
SERVER_PORT = 8888  # where Jupyter listens inside every image (the image contract)
BACKENDS = ("containers", "swarm")


def container_name(tag: str, student_id: str) -> str:
    """The server of a student (container or Swarm service): ``<course tag>-<student id>``."""
    return f"{tag}-{student_id}"


def settings_hash(server: dict[str, Any]) -> str:
    """sha256 of a server's spec as canonical JSON: a server is recreated (or updated) exactly when this changes."""
    canonical = json.dumps(server, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def server_entry(course: str, student: str, *, admin: bool, port: int, url: str, folder: str, home: str, image: str,
                 command: Sequence[str], user: str, memory: int, cpus: float, pids: int,
                 extra_mounts: Sequence[dict[str, Any]] = (), reserve: dict[str, Any] | None = None) -> dict[str, Any]:
    """One student's server in nbfleet's own terms, whatever backend runs it, with the hash of those terms.

    ``server`` holds image, command, user, working folder, port (published on the host → the server's own),
    mounts, limits, labels, restart and security: each backend translates it to its API (a container's create
    arguments, a Swarm service spec). The student's folder is mounted at ``~/work`` (an admin's course folder at
    ``~/course``); nothing else of the server survives a recreate. ``reserve`` (memory, cpus) is what the engine
    sets aside for the server; it is in the spec (and its hash) only when set.
    """
    target = f"{home}/course" if admin else f"{home}/work"
    server = {
        "image": image,
        "command": list(command),
        "user": user,
        "workdir": target,
        "port": {"published": port, "target": SERVER_PORT},
        "mounts": [{"source": folder, "target": target, "read_only": False}, *extra_mounts],
        "limits": {"memory": memory, "cpus": cpus, "pids": pids,
                   **({"reserve": dict(reserve)} if reserve and any(reserve.values()) else {})},
        "labels": {labels.COURSE: course, labels.STUDENT: student, labels.ADMIN: "true" if admin else "false"},
        "restart": "unless-stopped",
        "security": {"no_new_privileges": True, "cap_drop": ["ALL"]},
        "environment": {},
    }
    return {"name": container_name(course, student), "student": student, "admin": admin, "port": port, "url": url,
            "folder": folder, "server": server, "hash": settings_hash(server)}


def image_record_path(settings) -> Path:
    """The stamp ``doit images`` writes for the image students get."""
    return settings.build_dir / "images" / f"{settings.images.launch}.json"


def load_image_record(settings) -> dict[str, Any]:
    """Read and check the launch image's record; it must have been built for this course's teacher uid/gid."""
    path = image_record_path(settings)
    label = _label(path, settings.root)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NbfleetError(label, f"no record of image {settings.images.launch!r}: run `doit images` first") from None
    except ValueError as exc:
        raise NbfleetError(label, f"not valid JSON ({exc}): run `doit images` again") from None
    if not isinstance(record, dict) or not isinstance(record.get("id"), str) or not record["id"]:
        raise NbfleetError(label, "the record has no image id: run `doit images` again")
    teacher = settings.teacher
    for key, want in (("nb_uid", teacher.uid), ("nb_gid", teacher.gid), ("nb_user", teacher.user)):
        if key in record and record[key] != want:
            raise NbfleetError(label, f"the image was built for {key}={record[key]!r} but course.toml's teacher has {want!r}: run `doit images`")
    return record


def image_tag(record: dict[str, Any]) -> str:
    """The image's content tag (``prefix/image:<content>``), else its first tag, else its id."""
    tags = [t for t in record.get("tags", []) if isinstance(t, str)]
    content = [t for t in tags if not t.endswith(":latest")]
    return (content or tags or [record["id"]])[0]


def on_host(path: Path, root: Path, host: Host) -> str:
    """Where ``path`` (a path in the local course folder) is on ``host``: the same place under its course_root."""
    try:
        rel = Path(path).relative_to(root)
    except ValueError:
        return str(path)  # outside the course folder: assumed at the same path on every host
    return str(PurePosixPath(host.course_root) / rel.as_posix()) if rel.parts else host.course_root


def build_manifest(host: Host, students: Sequence, settings, image: dict[str, Any], hashes: dict[str, str],
                   backend: dict[str, Any] | None = None) -> dict[str, Any]:
    """The desired state of ``host``: one server per student allocated to it, in roster order.

    ``students`` are roster Students (all with server == host.name, port and password filled); ``hashes`` maps a
    student id to its argon2 password hash; ``backend`` is ``backend_spec``'s answer (default: containers).
    """
    tag = settings.course.tag
    user, uid, gid = settings.teacher.user, settings.teacher.uid, settings.teacher.gid
    home = f"/home/{user}"
    launch = settings.launch
    scheme = "https" if launch.tls_cert else "http"
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
            tag, s.id, admin=s.admin, port=s.port, url=f"{scheme}://{host.public}:{s.port}/", folder=folder, home=home,
            image=image["id"], command=["start-notebook", f"--PasswordIdentityProvider.hashed_password={hashes[s.id]}", *tls_args],
            user=f"{uid}:{gid}", memory=memory, cpus=launch.cpus, pids=launch.pids, extra_mounts=tls_mounts,
            reserve=(backend or {}).get("reserve")))
    return {
        "host": host.as_dict(),
        "course": tag,
        "scheme": scheme,
        "backend": backend or {"kind": "containers"},
        "image": {"name": settings.images.launch, "id": image["id"], "tag": image_tag(image)},
        "containers": containers,
    }


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


def manifest_path(settings, host: str) -> Path:
    return settings.build_dir / "launch" / f"{host}.json"


def make_manifest(settings, host_name: str) -> tuple[Path, int, bool]:
    """``doit manifests:<host>``: write ``build/launch/<host>.json``; return (path, containers, rewritten?)."""
    from . import passwords
    from .hosts import load_hosts
    from .atomic import write_private
    from .roster import load_roster

    hosts = load_hosts(settings)
    host = next((h for h in hosts if h.name == host_name), None)
    if host is None:
        raise NbfleetError(_label(settings.hosts_file, settings.root), f"no host named {host_name!r}")
    roster = load_roster(settings, hosts)
    mine = roster.on_host(host.name)
    missing = [s for s in roster.students if not s.allocated]
    if missing:
        s = missing[0]
        raise NbfleetError(f"{roster.label}:{s.line}", f"{s.id} has no server, port or password yet: run `doit roster` first")
    image = load_image_record(settings)
    out = manifest_path(settings, host.name)
    hashes = passwords.hashes_for(mine, passwords.cache_path(out.parent, host.name))
    manifest = build_manifest(host, mine, settings, image, hashes, backend_spec(settings, hosts))
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    try:
        same = out.read_text(encoding="utf-8") == text
    except FileNotFoundError:
        same = False
    if not same:
        write_private(out, text)
    return out, len(mine), not same


def _label(file: Path, root) -> str:
    try:
        return str(Path(file).resolve().relative_to(Path(root).resolve()))
    except ValueError:
        return str(file)

"""Launch manifests: what should run on each host, as data (``build/launch/<host>.json``).

``build_manifest`` is pure: roster students + host + settings + image record + password hashes -> one JSON-able
dict, the same every time for the same inputs. Each container carries a hash of its settings (image, command
with the password hash, mounts, limits, ports, user, …): ``doit launch`` recreates a container only when that
hash changed. No plain password ever appears in a manifest.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path, PurePosixPath
from typing import Any, Sequence

from .errors import NbfleetError
from .hosts import Host

HASH_LABEL = "nbfleet.settings-hash"
TLS_DIR = "/etc/nbfleet/tls"


def container_name(tag: str, student_id: str) -> str:
    """The container of a student: ``<course tag>-<student id>``."""
    return f"{tag}-{student_id}"


def settings_hash(create: dict[str, Any]) -> str:
    """sha256 of the container's settings as canonical JSON, leaving out the hash label itself."""
    labels = {k: v for k, v in create.get("labels", {}).items() if k != HASH_LABEL}
    canonical = json.dumps({**create, "labels": labels}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


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


def build_manifest(host: Host, students: Sequence, settings, image: dict[str, Any], hashes: dict[str, str]) -> dict[str, Any]:
    """The desired state of ``host``: one container per student allocated to it, in roster order.

    ``students`` are roster Students (all with server == host.name, port and password filled); ``hashes`` maps a
    student id to its argon2 password hash.
    """
    tag = settings.course.tag
    user, uid, gid = settings.teacher.user, settings.teacher.uid, settings.teacher.gid
    home = f"/home/{user}"
    launch = settings.launch
    scheme = "https" if launch.tls_cert else "http"
    root = Path(settings.root)
    tls_args: list[str] = []
    tls_mounts: dict[str, dict[str, str]] = {}
    if launch.tls_cert:
        tls_mounts = {
            on_host(launch.tls_cert, root, host): {"bind": f"{TLS_DIR}/cert.pem", "mode": "ro"},
            on_host(launch.tls_key, root, host): {"bind": f"{TLS_DIR}/key.pem", "mode": "ro"},
        }
        tls_args = [f"--ServerApp.certfile={TLS_DIR}/cert.pem", f"--ServerApp.keyfile={TLS_DIR}/key.pem"]
    containers = []
    for s in students:
        name = container_name(tag, s.id)
        if s.admin:
            folder = host.course_root
            volumes = {folder: {"bind": f"{home}/course", "mode": "rw"}}
            working_dir = f"{home}/course"
            memory = s.memory or launch.admin_memory
        else:
            folder = on_host(Path(settings.students_dir) / s.id, root, host)
            volumes = {folder: {"bind": f"{home}/work", "mode": "rw"}}
            working_dir = f"{home}/work"
            memory = s.memory or launch.memory
        create = {
            "image": image["id"],
            "name": name,
            "command": ["start-notebook", f"--PasswordIdentityProvider.hashed_password={hashes[s.id]}", *tls_args],
            "user": f"{uid}:{gid}",
            "working_dir": working_dir,
            "ports": {"8888/tcp": s.port},
            "volumes": {**volumes, **tls_mounts},
            "mem_limit": memory,
            "nano_cpus": int(round(launch.cpus * 1e9)),
            "pids_limit": launch.pids,
            "labels": {"nbfleet.course": tag, "nbfleet.student": s.id, "nbfleet.admin": "true" if s.admin else "false"},
            "restart_policy": {"Name": "unless-stopped"},
            "security_opt": ["no-new-privileges"],
            "cap_drop": ["ALL"],
            "environment": {},
            "detach": True,
        }
        create["labels"][HASH_LABEL] = settings_hash(create)
        containers.append({
            "name": name, "student": s.id, "admin": s.admin, "port": s.port,
            "url": f"{scheme}://{host.public}:{s.port}/", "folder": folder, "create": create,
        })
    return {
        "host": host.as_dict(),
        "course": tag,
        "scheme": scheme,
        "image": {"name": settings.images.launch, "id": image["id"], "tag": image_tag(image)},
        "containers": containers,
    }


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
    manifest = build_manifest(host, mine, settings, image, hashes)
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

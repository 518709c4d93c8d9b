"""Talking to one Docker engine: what every backend (``servers.backends``) and every helper container builds on.

Connect to a host's endpoint, make sure the exact image is there (transfer it with save/load only when missing),
list the course's plain containers by label, run a command inside a container, read its memory use, create
students' folders. The lifecycle of a student's server (create, update, start, stop, remove) belongs to the
backends. The Docker SDK is imported inside the functions that call it: task creators import this module while
doit lists tasks.
"""

from __future__ import annotations

import os
import socket
import time
import urllib.parse
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from .. import labels
from ..errors import NbfleetError
from ..roster.hosts import Host

CONNECT_TIMEOUT = 10.0  # seconds to open a TCP connection to a remote endpoint
API_TIMEOUT = 900  # seconds per engine call: an image load of a few GB over ssh takes minutes


class HostUnreachable(NbfleetError):
    """The host's Docker engine does not answer."""


class Container(NamedTuple):
    """A container as the engine reports it in one list call (no inspect per container)."""

    name: str
    id: str
    state: str  # created, running, paused, restarting, removing, exited, dead
    student: str
    settings_hash: str
    labels: dict

    @property
    def running(self) -> bool:
        return self.state == "running"


def _tls_config(tls: dict | None):
    """A docker.tls.TLSConfig from a host's tls options (keys tls_ca/tls_cert/tls_key, or ca/cert/key)."""
    if not tls:
        return None
    from docker.tls import TLSConfig

    get = lambda k: tls.get(f"tls_{k}") or tls.get(k)  # noqa: E731
    cert, key, ca = get("cert"), get("key"), get("ca")
    return TLSConfig(client_cert=(str(cert), str(key)) if cert and key else None, ca_cert=str(ca) if ca else None, verify=bool(ca))


def _reachable(endpoint: str, timeout: float) -> None:
    """Fail fast (seconds, not the API timeout) when a tcp:// or ssh:// endpoint does not accept connections."""
    url = urllib.parse.urlparse(endpoint)
    if url.scheme not in ("tcp", "ssh"):
        return
    port = url.port or (22 if url.scheme == "ssh" else 2375)
    with socket.create_connection((url.hostname or "localhost", port), timeout=timeout):
        pass


def connect(host: Host, timeout: float = API_TIMEOUT):
    """A docker.DockerClient for ``host``; HostUnreachable if it does not answer.

    Endpoints: ``local`` (the environment's engine), ``unix:///path``, ``tcp://host:port`` (TLS from the
    host's tls options), ``ssh://user@host[:port]`` (paramiko; keys and known hosts from ``~/.ssh``).
    """
    import docker

    name, endpoint = host.name, host.endpoint
    try:
        if endpoint == "local":
            client = docker.from_env(timeout=timeout)
        elif endpoint.startswith("unix://"):
            client = docker.DockerClient(base_url=endpoint, timeout=timeout)
        elif endpoint.startswith("tcp://"):
            _reachable(endpoint, CONNECT_TIMEOUT)
            client = _tls_client(endpoint, _tls_config(host.tls), timeout)
        elif endpoint.startswith("ssh://"):
            _reachable(endpoint, CONNECT_TIMEOUT)
            client = docker.DockerClient(base_url=endpoint, use_ssh_client=False, timeout=timeout)
        else:
            raise NbfleetError(f"hosts: {name}", f"unknown endpoint {endpoint!r}")
        # no ping: the client's API version negotiation already asked the engine once
    except NbfleetError:
        raise
    except Exception as exc:  # noqa: BLE001 - socket, ssh, TLS and API errors all mean "this host does not answer"
        raise HostUnreachable(f"host {name}", f"cannot reach the Docker engine at {endpoint}: {short_error(exc)}") from None
    return client


def _tls_client(endpoint: str, tls, timeout: float):
    """A client for tcp://; the engine's own CA must win over REQUESTS_CA_BUNDLE and proxies from the environment,
    which requests would otherwise prefer to the session's CA file (so: no environment, then negotiate the API)."""
    import docker

    client = docker.DockerClient(base_url=endpoint, tls=tls, timeout=timeout, version="1.24")
    client.api.trust_env = False
    client.api._version = client.api.version(api_version=False)["ApiVersion"]
    return client


def local_engine(timeout: float = API_TIMEOUT):
    """The engine on this machine, where `doit images` built the course's images."""
    import docker

    return docker.from_env(timeout=timeout)


def short_error(exc: BaseException) -> str:
    """One line for a teacher: the engine's own explanation when there is one (not the request URL around it)."""
    text = getattr(exc, "explanation", None) or str(exc)
    text = " ".join(str(text).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def last_line(raw: bytes) -> str:
    """The last line of a container's log, on one line ("" when it wrote nothing)."""
    lines = raw.decode("utf-8", "replace").strip().splitlines()
    return " ".join(lines[-1].split())[:300] if lines else ""


def ensure_image(client, image_id: str, tag: str, source=None) -> str:
    """Make sure the engine behind ``client`` has exactly ``image_id`` tagged ``tag``.

    Returns ``"present"`` or ``"transferred"``. The image is streamed from ``source`` (default: the local
    engine) with save/load only when it is missing; a transfer of a course image takes many seconds.
    """
    import docker

    try:
        image = client.images.get(image_id)
    except docker.errors.ImageNotFound:
        image = None
    if image is not None:
        if tag and tag not in image.tags:
            image.tag(*_split_tag(tag))
        return "present"
    source = source or local_engine()
    try:
        original = source.images.get(image_id)
    except docker.errors.ImageNotFound:
        raise NbfleetError(f"image {tag or image_id}", "is not in the local engine: run `doit images` first") from None
    named = tag if tag in original.tags else False
    client.images.load(original.save(chunk_size=4 * 1024 * 1024, named=named))
    loaded = client.images.get(image_id)  # raises if the load produced something else
    if tag and tag not in loaded.tags:
        loaded.tag(*_split_tag(tag))
    return "transferred"


def _split_tag(tag: str) -> tuple[str, str]:
    repo, _, version = tag.rpartition(":")
    if not repo or "/" in version:
        return tag, "latest"
    return repo, version


def list_containers(client, course: str) -> list[Container]:
    """The course's plain containers on one engine (running or not), from a single list call.

    Containers that Swarm runs for the course's services carry the same labels and are left out: they belong to
    their service.
    """
    out = []
    for c in client.api.containers(all=True, filters={"label": f"{labels.COURSE}={course}"}):
        tags = c.get("Labels") or {}
        if labels.SWARM_TASK in tags:
            continue
        name = (c.get("Names") or ["/" + c["Id"][:12]])[0].lstrip("/")
        out.append(Container(name, c["Id"], c.get("State", ""), tags.get(labels.STUDENT, ""), tags.get(labels.HASH, ""), tags))
    return out


def exec_output(client, name: str, cmd: list[str], timeout: float = 20) -> tuple[int, str]:
    """Run ``cmd`` (an argument list, never a shell line) in a running container; exit code and stdout."""
    exec_id = client.api.exec_create(name, cmd, stdout=True, stderr=False)["Id"]
    out = client.api.exec_start(exec_id)
    code = client.api.exec_inspect(exec_id).get("ExitCode")
    return (code if code is not None else -1), out.decode("utf-8", "replace")


def memory_usage(client, name: str) -> int | None:
    """Bytes of memory the container uses now (one-shot stats), or None."""
    try:
        stats = client.api.stats(name, stream=False, one_shot=True)
    except Exception:  # noqa: BLE001
        return None
    mem = stats.get("memory_stats") or {}
    usage = mem.get("usage")
    if usage is None:
        return None
    cache = (mem.get("stats") or {}).get("inactive_file", (mem.get("stats") or {}).get("total_inactive_file", 0))
    return max(int(usage) - int(cache or 0), 0)


HELPER_SCRIPT = 'owner="$1"; shift; mkdir -p -- "$@" && { [ "$owner" = - ] || chown -- "$owner" "$@"; }'


def ensure_folders(client, folders: Iterable[str], uid: int, gid: int, image: str, local: bool,
                   own: bool = True) -> list[str]:
    """Make sure each student folder exists on the host and belongs to the teacher (uid:gid) before a container mounts it.

    Docker would otherwise create a missing bind-mount source owned by root, and the student could not
    write. Folders are never emptied or deleted. On the local engine (same filesystem) this is done
    directly when we may; elsewhere a short-lived helper container from ``image`` mounts each folder's
    parent and creates the folders there. With ``own=False`` (an admin's course folder) folders are only
    created, never re-owned. Returns the folders that were created or re-owned.
    """
    folders = sorted(set(folders))
    if not folders:
        return []
    if local and (os.geteuid() == 0 or os.geteuid() == uid):
        changed = []
        for f in folders:
            p = Path(f)
            if p.is_symlink():  # a planted link must never make us chown (as root) whatever it points to
                raise NbfleetError(f, "is a symlink, not a student folder: remove it (nbfleet will make the folder)")
            st = p.stat() if p.is_dir() else None
            if st is None:
                p.mkdir(parents=True, exist_ok=True)
            if own and (st is None or (st.st_uid, st.st_gid) != (uid, gid)):
                if os.geteuid() == 0:
                    os.chown(p, uid, gid, follow_symlinks=False)
                changed.append(f)
            elif st is None:
                changed.append(f)
        return changed
    parents = sorted({str(Path(f).parent) for f in folders})
    mounts = {p: {"bind": f"/nbfleet-parent{i}", "mode": "rw"} for i, p in enumerate(parents)}
    inside = [f"/nbfleet-parent{parents.index(str(Path(f).parent))}/{Path(f).name}" for f in folders]
    client.containers.run(
        image,
        entrypoint=["/bin/sh", "-c", HELPER_SCRIPT, "nbfleet-folders", f"{uid}:{gid}" if own else "-", *inside],
        command=[],
        user="0:0",
        volumes=mounts,
        network_disabled=True,
        remove=True,
        labels={labels.HELPER: "folders"},
    )
    return folders


def exited(client, name: str) -> str:
    """"" while the container runs; else its state, exit code and last log line (why a server never answered)."""
    try:
        state = client.api.inspect_container(name)["State"]
        if state.get("Running"):
            return ""
        logs = client.api.logs(name, tail=3).decode("utf-8", "replace").strip().splitlines()
    except Exception as exc:  # noqa: BLE001
        return f"cannot inspect: {short_error(exc)}"
    return f"{state.get('Status')} (exit code {state.get('ExitCode')})" + (f": {short_error(Exception(logs[-1]))}" if logs else "")


def wait_gone(client, filters: dict, deadline: float) -> None:
    """Wait until no container matching ``filters`` is left on the engine (Swarm removes a service's containers
    a moment after the service; its published port is free only then)."""
    while client.api.containers(all=True, filters=filters):
        if time.monotonic() >= deadline:
            raise NbfleetError("engine", f"containers matching {filters} are still there: try again in a minute")
        time.sleep(0.2)

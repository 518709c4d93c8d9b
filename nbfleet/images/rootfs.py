"""The root image without a registry: a Debian file system made with debootstrap and ``docker import``-ed.

As the IQSS workshop service built its Arch base with mkimage-arch: nothing is pulled. At a site with a
registry, ``[base] pull = "debian:bookworm"`` pulls that image instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from ..errors import NbfleetError
from ..settings import Base


def root_tag(base: Base, prefix: str) -> str:
    """The local tag of the root image, e.g. ``nbfleet/root:bookworm``."""
    return f"{prefix}/root:{base.suite}"


def sources_list(base: Base) -> str:
    """The image's apt sources: the configured mirror, its -updates suite and Debian's security archive."""
    lines = [f"deb {base.mirror} {base.suite} main", f"deb {base.mirror} {base.suite}-updates main"]
    if "deb.debian.org" in base.mirror:
        lines.append(f"deb http://deb.debian.org/debian-security {base.suite}-security main")
    return "\n".join(lines) + "\n"


def debootstrap(base: Base, target: Path, log=print) -> None:
    """Make a minimal Debian tree in ``target`` (needs root and the debootstrap package)."""
    if shutil.which("debootstrap") is None:
        raise NbfleetError("debootstrap", "not installed: apt-get install debootstrap (or set [base] pull in course.toml)")
    if os.geteuid() != 0:
        raise NbfleetError("debootstrap", "needs root to make the root image (or set [base] pull in course.toml)")
    log(f"debootstrap --variant={base.variant} {base.suite} {base.mirror}")
    cmd = ["debootstrap", f"--variant={base.variant}", base.suite, str(target), base.mirror]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        tail = (result.stderr.strip() or result.stdout.strip()).splitlines()[-1:] or ["failed"]
        raise NbfleetError(f"course.toml: base (debootstrap {base.suite} from {base.mirror})", tail[0])
    (target / "etc/apt/sources.list").write_text(sources_list(base))
    # Keep images small: no docs or man pages from later apt installs, no apt caches.
    (target / "etc/dpkg/dpkg.cfg.d").mkdir(parents=True, exist_ok=True)
    (target / "etc/dpkg/dpkg.cfg.d/01-nodoc").write_text(
        "path-exclude /usr/share/doc/*\npath-include /usr/share/doc/*/copyright\n"
        "path-exclude /usr/share/man/*\npath-exclude /usr/share/info/*\npath-exclude /usr/share/locale/*\n"
    )
    (target / "etc/apt/apt.conf.d/01-nbfleet").write_text(
        'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\nAcquire::Retries "3";\n'
    )
    shutil.rmtree(target / "var/cache/apt/archives", ignore_errors=True)
    (target / "var/cache/apt/archives/partial").mkdir(parents=True, exist_ok=True)
    shutil.rmtree(target / "var/lib/apt/lists", ignore_errors=True)
    (target / "var/lib/apt/lists/partial").mkdir(parents=True, exist_ok=True)


def make_root_image(client, base: Base, tag: str, workdir: Path, log=print) -> str:
    """Build (or pull) the root image, tag it ``tag``, and return its id."""
    import tarfile  # only when the root image is made (see images.build)

    repository, _, version = tag.rpartition(":")
    if base.pull:
        log(f"pulling {base.pull}")
        try:
            image = client.images.pull(base.pull)
        except Exception as exc:  # noqa: BLE001 - the engine's message says it best
            raise NbfleetError("course.toml: base.pull", f"cannot pull {base.pull}: {exc}") from None
        image.tag(repository, version)
        return image.id
    workdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        tree = Path(tmp) / "tree"
        debootstrap(base, tree, log)
        archive = Path(tmp) / "root.tar"
        log("packing the root file system")
        with tarfile.open(archive, "w") as tar:
            for entry in sorted(tree.iterdir()):
                if entry.name in ("proc", "sys", "dev"):
                    tar.add(entry, arcname=entry.name, recursive=False)
                else:
                    tar.add(entry, arcname=entry.name)
        log(f"docker import as {tag}")
        client.api.import_image(src=str(archive), repository=repository, tag=version,
                                changes=['CMD ["/bin/bash"]', "ENV LANG=C.UTF-8"])
    return client.images.get(tag).id

"""A student's folder as one tar file and back, whole or not at all: how a folder follows its student to a host with a
disk of its own.

The folder belongs to a student, who may swap a file for a link at any moment: it is packed by descriptor, never
following a link, and unpacked beside its place before it is renamed into it. Standard library and ``nbfleet.fs``
only: this module also runs inside helper containers (``nbfleet.inside.folder_helper``).
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import shutil
import stat
from pathlib import Path

from ..fs import DIR_FLAGS, PARTIAL, READ_FLAGS


def pack_folder(src: Path, tar_path: Path) -> int:
    """A tar of a student's folder (named after it): folders and regular files only.

    The folder belongs to a student, who may swap a file for a link at any moment: it is walked by descriptor
    (``os.fwalk``, never following a link) and each file is opened with ``O_NOFOLLOW | O_NONBLOCK`` and checked to be
    a regular file on the descriptor itself before a byte is read. Returns the number of files packed.
    """
    import tarfile  # only when a folder moves: tarfile costs milliseconds that `doit list` need not pay

    count = 0
    root = os.open(src, DIR_FLAGS)
    try:
        with tarfile.open(tar_path, "w") as tar:
            for top, _dirs, files, dir_fd in os.fwalk(".", dir_fd=root, follow_symlinks=False):
                here = os.path.normpath(os.path.join(src.name, top))
                st = os.fstat(dir_fd)
                info = tarfile.TarInfo(here)
                info.type, info.mode, info.mtime = tarfile.DIRTYPE, st.st_mode & 0o777, int(st.st_mtime)
                tar.addfile(info)
                for name in sorted(files):
                    try:
                        fd = os.open(name, READ_FLAGS, dir_fd=dir_fd)
                    except OSError:  # a link (ELOOP), or gone: not packed
                        continue
                    with os.fdopen(fd, "rb") as fh:
                        st = os.fstat(fd)
                        if not stat.S_ISREG(st.st_mode):
                            continue
                        info = tarfile.TarInfo(f"{here}/{name}")
                        info.size, info.mode, info.mtime = st.st_size, st.st_mode & 0o777, int(st.st_mtime)
                        tar.addfile(info, fh)
                        count += 1
    finally:
        os.close(root)
    return count


def unpack_folder(tar_path: Path, dest: Path, owner: tuple[int, int] | None) -> str:
    """Put a packed folder at ``dest`` whole (unpacked beside it first, then renamed into place). Returns "", or
    where a folder that was already there is kept.

    A folder already at ``dest`` with something in it (the student was here before) is never overwritten: it is
    renamed to ``.nbfleet/replaced/<id>-<time>`` in the same students folder, where no student sees it, and the
    answer says so.
    """
    tmp = dest.with_name(f"{PARTIAL}move-{dest.name}-{secrets.token_hex(4)}")
    tmp.mkdir(parents=True)
    kept = ""
    try:
        safe_extract(tar_path, tmp)
        if owner is not None and os.geteuid() == 0:
            for top, dirs, files in os.walk(tmp):
                for name in [top, *(os.path.join(top, n) for n in dirs + files)]:
                    os.chown(name, *owner, follow_symlinks=False)
        if dest.is_dir() and any(dest.iterdir()):  # only now, with the new folder complete beside it
            aside = dest.parent / ".nbfleet" / "replaced" / f"{dest.name}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}"
            aside.parent.mkdir(parents=True, exist_ok=True)
            dest.rename(aside)
            kept = f" (the folder that was there is kept as .nbfleet/replaced/{aside.name} in the students folder)"
        elif dest.is_dir():
            dest.rmdir()
        (tmp / dest.name).rename(dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return kept


def safe_extract(tar_path: Path, into: Path) -> None:
    """Unpack folders and regular files only, never outside ``into``, each file made durable (tarfile's own
    ``filter`` needs Python 3.11.4; the images' Debian Python is older)."""
    import tarfile  # only when a folder moves: tarfile costs milliseconds that `doit list` need not pay

    into = into.resolve()
    with tarfile.open(tar_path) as tar:
        for member in tar:
            target = (into / member.name).resolve()
            if not (target == into or into in target.parents) or not (member.isdir() or member.isfile()):
                continue
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with tar.extractfile(member) as src, open(target, "wb") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
                dst.flush()
                os.fsync(dst.fileno())  # durable before the folder is renamed into place and recorded
            os.chmod(target, member.mode & 0o777)
            os.utime(target, (member.mtime, member.mtime))

"""Files on disk, safely: one atomic writer, and the helpers that walk a folder a student controls.

The writer puts the new content in a temporary file beside the target (``.nbfleet-partial.<name>.<random>``, created
with ``O_EXCL | O_NOFOLLOW``), gives it its owner and mode before a byte is written (a secret is never readable by
others), makes it durable, and renames it over the target: a reader, or a crash, never sees half a file. A killed run
leaves only such temporary files; whoever finds one (``clean_partials``) removes it.

The folder helpers never follow a symlink: a folder is opened component by component relative to a directory
descriptor with ``O_NOFOLLOW`` (``open_dir``), so a link a student planted is an ``Unsafe`` path, not a way out of
their folder.

Standard library only: this module also runs inside helper containers (``nbfleet.inside.folder_helper``).
"""

from __future__ import annotations

import errno
import functools
import json
import os
import secrets
from pathlib import Path

PARTIAL = ".nbfleet-partial."  # prefix of temporary files; removed when found (only regular files)
FILE_MODE, DIR_MODE = 0o644, 0o755
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
NEW_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


# ---------------------------------------------------------------- the atomic writer


def _replace(path: Path, fill, mode: int, owner: tuple[int, int] | None, durable: bool) -> None:
    """Write ``path`` through a temporary file beside it; ``fill(fd)`` writes the content."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{PARTIAL}{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, NEW_FLAGS, 0o600)
    try:
        try:
            own(fd, owner, mode)  # before any byte is written
            fill(fd)
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if durable:
        fsync_dir(path.parent)


def write_bytes(path: Path, data: bytes, mode: int = FILE_MODE, *, owner: tuple[int, int] | None = None,
                durable: bool = True) -> None:
    """Replace ``path`` with ``data`` atomically. ``mode`` 0o600 for secrets; ``owner`` (uid, gid) when nbfleet runs as
    root and writes a file of the teacher's; ``durable`` fsyncs the file and its folder (build outputs that doit can
    make again may skip it)."""
    _replace(path, lambda fd: write_all(fd, data), mode, owner, durable)


def write_text(path: Path, text: str, mode: int = FILE_MODE, *, durable: bool = True) -> None:
    """Replace ``path`` with UTF-8 ``text`` atomically (no newline translation)."""
    write_bytes(path, text.encode("utf-8"), mode, durable=durable)


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` atomically, readable by its owner only (passwords, hashes, invitations)."""
    write_text(path, text, mode=0o600)


def write_json(path: Path, data, mode: int = FILE_MODE) -> None:
    """Replace ``path`` with ``data`` as indented, key-sorted JSON atomically."""
    write_text(path, json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n", mode)


def copy_file(source: Path, path: Path, *, durable: bool = False) -> None:
    """Copy ``source`` byte for byte to ``path`` atomically, keeping its permission bits (at least 0o644)."""
    mode = (Path(source).stat().st_mode & 0o777) | 0o644
    with open(source, "rb") as src:
        _replace(path, lambda fd: copy_into(fd, src), mode, None, durable)


def copy_into(fd: int, src) -> None:
    """Copy the open file ``src`` to the descriptor ``fd``, in the kernel where it can."""
    while os.sendfile(fd, src.fileno(), None, 1 << 24):
        pass


def write_all(fd: int, data: bytes) -> None:
    """Write all of ``data`` to ``fd`` (``os.write`` may write less)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def own(fd: int, owner: tuple[int, int] | None, mode: int) -> None:
    """Give an open file its owner (when given) and mode."""
    if owner is not None:
        os.fchown(fd, *owner)
    os.fchmod(fd, mode)


def fsync_dir(path: Path) -> None:
    """Make the names in a folder durable (a rename is durable only once its folder is)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@functools.cache
def _libc():
    import ctypes  # only when a delivery syncs: ctypes costs milliseconds that `doit list` need not pay

    try:
        return ctypes.CDLL(None, use_errno=True).syncfs, ctypes.get_errno
    except (OSError, AttributeError):  # not Linux/glibc: callers fsync file by file
        return None


def has_syncfs() -> bool:
    """Whether ``syncfs`` can make a whole file system durable at once (Linux)."""
    return _libc() is not None


def syncfs(fd: int) -> None:
    """Make everything written to the file system of ``fd`` durable (one call for many files)."""
    call, get_errno = _libc()
    if call(fd) != 0:
        err = get_errno()
        raise OSError(err, os.strerror(err))


# ---------------------------------------------------------------- folders a student controls


class Unsafe(Exception):
    """A path in a student's folder that nbfleet will not go through (symlink, file where a folder should be)."""


def open_dir(parent: int | None, name: str, create: bool, owner: tuple[int, int] | None) -> int:
    """Open folder ``name`` below descriptor ``parent`` without following a symlink; create it if asked."""
    for _ in range(3):
        try:
            return os.open(name, DIR_FLAGS, dir_fd=parent)
        except FileNotFoundError:
            if not create:
                raise
            try:
                os.mkdir(name, 0o700, dir_fd=parent)
            except FileExistsError:
                continue  # appeared meanwhile: open whatever it is (still without following it)
            fd = os.open(name, DIR_FLAGS, dir_fd=parent)
            own(fd, owner, DIR_MODE)
            return fd
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise Unsafe(f"{name} is a symlink or not a folder") from None
            raise
    raise Unsafe(f"{name} keeps changing")


def clean_partials(dir_fd: int) -> None:
    """Remove temporary files a killed run left in this folder (regular files with our prefix only)."""
    with os.scandir(dir_fd) as entries:
        for e in entries:
            if e.name.startswith(PARTIAL) and e.is_file(follow_symlinks=False):
                try:
                    os.unlink(e.name, dir_fd=dir_fd)
                except FileNotFoundError:
                    pass

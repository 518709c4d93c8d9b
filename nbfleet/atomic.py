"""Write files so that a reader (or a crash) never sees half of one: temp file in the same folder, fsync, rename."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path


def _replace(path: Path, fill, mode: int, durable: bool) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), mode)  # before any byte is written: a secret is never readable by others
            fill(fh)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_bytes(path: Path, data: bytes, mode: int = 0o644, durable: bool = True) -> None:
    """Replace ``path`` with ``data`` atomically; ``mode`` 0o600 for secrets; ``durable`` fsyncs before the rename
    (build outputs that doit can remake may skip it)."""
    _replace(path, lambda fh: fh.write(data), mode, durable)


def write_text(path: Path, text: str, mode: int = 0o644, durable: bool = True) -> None:
    """Replace ``path`` with UTF-8 ``text`` atomically (no newline translation)."""
    write_bytes(path, text.encode("utf-8"), mode, durable)


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` atomically, readable by its owner only (passwords, hashes, invitations)."""
    write_text(path, text, mode=0o600)


def write_json(path: Path, data, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` as indented, key-sorted JSON atomically."""
    write_text(path, json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n", mode)


def copy_file(source: Path, path: Path, durable: bool = False) -> None:
    """Copy ``source`` byte for byte to ``path`` atomically, keeping its permission bits (at least 0o644)."""
    mode = (Path(source).stat().st_mode & 0o777) | 0o644
    with open(source, "rb") as src:
        _replace(path, lambda fh: shutil.copyfileobj(src, fh), mode, durable)

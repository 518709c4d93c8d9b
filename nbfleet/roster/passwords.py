"""Students' passwords as the notebook server checks them: argon2 hashes, made once and reused.

A hash is salted, so hashing the same password twice gives two different strings, and a different string in
the container's command means a recreated container. The cache keeps each student's hash with a cheap check
(sha256 of password + hash): while the plain password in the roster is unchanged, the same hash comes back.
The cache (``build/launch/.password-hashes/<host>.json``, mode 0600) has one file per host, so hosts can be
done in parallel.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

from ..fs import write_private

PREFIX = "argon2:"
# The parameters jupyter_server.auth.passwd() uses, so the server reads our hashes as its own.
MEMORY_COST, TIME_COST, PARALLELISM = 10240, 10, 8


def hash_password(password: str) -> str:
    """The ``argon2:$argon2id$…`` string jupyter_server's PasswordIdentityProvider.hashed_password expects."""
    import argon2

    hasher = argon2.PasswordHasher(memory_cost=MEMORY_COST, time_cost=TIME_COST, parallelism=PARALLELISM)
    return PREFIX + hasher.hash(password)


def verify(password: str, hashed: str) -> bool:
    """True when ``password`` matches ``hashed`` (a string made by hash_password)."""
    import argon2

    if not hashed.startswith(PREFIX):
        return False
    try:
        return argon2.PasswordHasher().verify(hashed[len(PREFIX):], password)
    except argon2.exceptions.VerificationError:
        return False
    except argon2.exceptions.InvalidHashError:
        return False


def _check(password: str, hashed: str) -> str:
    return hashlib.sha256((password + hashed).encode("utf-8")).hexdigest()


def hashes_for(students: Iterable, cache: Path) -> dict[str, str]:
    """``{student id: hash}`` for ``students`` (objects with ``id`` and ``password``), reusing cached hashes.

    Only a new or changed password is hashed (about 60 ms each, by design of argon2). Students no longer given
    are dropped from the cache; the cache is rewritten atomically (mode 0600) only when it changed.
    """
    try:
        old = json.loads(Path(cache).read_text(encoding="utf-8"))
        if not isinstance(old, dict):
            old = {}
    except (FileNotFoundError, ValueError):
        old = {}  # an unreadable cache only costs new hashes (and so recreated containers), never a wrong one
    new: dict[str, dict[str, str]] = {}
    out: dict[str, str] = {}
    for student in students:
        entry = old.get(student.id)
        if isinstance(entry, dict) and isinstance(entry.get("hash"), str) and entry.get("check") == _check(student.password, entry["hash"]):
            hashed = entry["hash"]
        else:
            hashed = hash_password(student.password)
        new[student.id] = {"hash": hashed, "check": _check(student.password, hashed)}
        out[student.id] = hashed
    if new != old:
        Path(cache).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_private(Path(cache), json.dumps(new, indent=1, sort_keys=True) + "\n")
    return out

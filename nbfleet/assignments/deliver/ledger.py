"""The delivery ledger of an assignment: every version of each file ever released, and per student and file what was
delivered last, what was offered beside a conflict, and a stat fingerprint of what was on disk.

It lives at ``<students>/.nbfleet/ledger/<name>.json``, beside the folders it describes, not under ``build/``: it is
part of the state of the students folder, and no student can reach it (a server mounts only ``<students>/<id>``; ids
never start with a dot).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

from ...errors import NbfleetError
from ...fs import DIR_MODE, write_bytes

LEDGER_DIR = ".nbfleet/ledger"  # under the students folder
FEEDBACK = "feedback"  # the folder in each student's folder where their feedback lands: feedback/<a>/<page>


def ledger_path(settings, assignment: str) -> Path:
    """The assignment's delivery ledger: ``<students>/.nbfleet/ledger/<assignment>.json``."""
    return Path(settings.students_dir) / LEDGER_DIR / f"{assignment}.json"


def student_ledger(folder: str, assignment: str, sid: str) -> str:
    """The ledger name for files that are one student's own (their feedback in ``<id>/<folder>/<assignment>/``)."""
    return f"{folder}@{assignment}@{sid}"


def load_ledger(path: Path) -> dict:
    """The ledger at ``path`` (an empty one when there is none); a damaged ledger is an error, never ignored."""
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        return {"versions": {}, "students": {}}
    except (ValueError, UnicodeDecodeError) as exc:
        raise NbfleetError(str(path), f"the delivery ledger is damaged ({exc}); restore it from a backup") from None
    if not isinstance(data, dict) or not isinstance(data.get("versions"), dict) or not isinstance(data.get("students"), dict):
        raise NbfleetError(str(path), "the delivery ledger is damaged (not an nbfleet ledger)")
    return data


def ensure_ledger_dir(path: Path, owner) -> None:
    """``<students>/.nbfleet/ledger/`` and its parent, the teacher's when we run as root."""
    for folder in (path.parent, path):
        if not folder.is_dir():
            folder.mkdir(mode=DIR_MODE, exist_ok=True)
            if owner is not None:
                os.chown(folder, *owner)


def write_ledger(path: Path, ledger: dict, owner) -> None:
    """Write the ledger (atomic, durable), stamped with the time."""
    ledger["written"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    write_bytes(path, json.dumps(ledger, separators=(",", ":"), sort_keys=True).encode(), owner=owner)

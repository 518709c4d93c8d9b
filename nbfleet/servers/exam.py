"""The exam running now, as every host's manifest reads it: ``build/exam.json`` (assignment and start time).

During an exam each student's server has no outbound connection at all and sees only that assignment's folder
(``servers.manifest``); starting and ending one is ``assignments.exam``'s.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import NamedTuple

from .. import paths
from ..errors import NbfleetError
from ..fs import write_json
from ..settings.egress import Egress

EGRESS = Egress("none")  # what a server may reach during an exam, whatever the course's policy


class Exam(NamedTuple):
    assignment: str
    started: str  # ISO time


def running(settings) -> Exam | None:
    """The exam running now, or None."""
    path = paths.exam(settings)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Exam(data["assignment"], data["started"])
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        raise NbfleetError(paths.shown(path, settings.root), "is not an exam record: remove it if no exam runs") from None


def begin(settings, assignment: str) -> Exam:
    """Record that an exam of ``assignment`` runs from now."""
    exam = Exam(assignment, dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    write_json(paths.exam(settings), exam._asdict())
    return exam


def finish(settings) -> None:
    """Record that no exam runs."""
    paths.exam(settings).unlink(missing_ok=True)

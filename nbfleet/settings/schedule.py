"""``[workshop] schedule``: the workshop's sessions, each a start time, the visitors expected and a length.

    schedule = [{start = 2026-12-04T09:30:00, visitors = 100, length = "90m"}]

A start without a UTC offset is this machine's local time. Checked here: the shape of each entry, visitors between 1
and ``max_visitors``, a length of at least a minute, and no two sessions overlapping. Whether a session is already
over and whether its servers fit in the host's memory depend on the moment and the host: ``workshop.plan`` checks
those when the workshop starts.
"""

from __future__ import annotations

import datetime as dt
from itertools import pairwise

from ..errors import NbfleetError
from .sections import Session
from .table import Section

KEYS = {"start", "visitors", "length"}


def parse(w: Section, max_visitors: int) -> tuple[Session, ...]:
    """The sessions of ``w`` (the [workshop] table), in the file's order (errors name entries by it: ``schedule[2]``);
    one error naming the entry and key at fault."""
    value = w.data.get("schedule", [])
    if not isinstance(value, list) or not all(isinstance(entry, dict) for entry in value):
        raise NbfleetError(w.where("schedule"), "must be a list of {start = …, visitors = …, length = …}")
    sessions = []
    for i, entry in enumerate(value, 1):
        s = Section(entry, w.file, f"{w.prefix}schedule[{i}].")
        missing, unknown = sorted(KEYS - entry.keys()), sorted(entry.keys() - KEYS)
        if missing:
            raise NbfleetError(s.where(missing[0]), "is missing: each session has a start, visitors and a length")
        if unknown:
            raise NbfleetError(s.where(unknown[0]), "unknown key (a session has start, visitors and length)")
        visitors = int(s.number("visitors", 1, low=1, integer=True, high=1000))
        if visitors > max_visitors:
            raise NbfleetError(s.where("visitors"), f"{visitors} is more than max_visitors ({max_visitors}): raise max_visitors")
        length = s.duration("length", 0)
        if length < 60:
            raise NbfleetError(s.where("length"), f"{length:g} s is too short for a session (at least 1m)")
        sessions.append((i, Session(_start(entry["start"], s.where("start")), visitors, length)))
    for (_, before), (i, after) in pairwise(sorted(sessions, key=lambda item: item[1].start)):
        if after.start < before.end:
            raise NbfleetError(f"{w.file}: {w.prefix}schedule[{i}].start",
                               f"{_clock(after.start)} overlaps the session {_clock(before.start)}–{_clock(before.end)}")
    return tuple(session for _, session in sessions)


def _start(value, where: str) -> dt.datetime:
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            raise NbfleetError(where, f"{value!r} is not a date and time such as 2026-12-04T09:30:00") from None
    if not isinstance(value, dt.datetime):
        raise NbfleetError(where, f"{value!r} is not a date and time such as 2026-12-04T09:30:00")
    return value if value.tzinfo else value.astimezone()  # local time of the machine that runs nbfleet


def _clock(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M")

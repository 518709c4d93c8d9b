"""Warm before the room arrives: the pool keeper's view of ``[workshop] schedule``.

Each session (start, visitors, length; times in seconds since the epoch) wants ``visitors`` servers ready when it
starts. The keeper grows the pool early enough for this host: the servers missing, ``pool_refill`` at a time, each
round as long as a start takes here (the median of the start times the keeper measured, the last 50), with half as
much again and a minute to spare. During the session the pool holds the visitors who have not come yet (at least
``pool_size``); after it, the pool shrinks back to ``pool_size``. Pure, except for the lines it writes to the log.
"""

from __future__ import annotations

import logging
import math
import time

log = logging.getLogger("nbfleet.pool-keeper")
FIRST_GUESS = 10.0  # seconds a start takes, before the keeper measured one
SPARE = 60.0  # seconds of margin before a session starts


def typical_start(measured: list[float]) -> float:
    """The median of the last 50 start times measured (FIRST_GUESS before any)."""
    recent = sorted(measured[-50:])
    if not recent:
        return FIRST_GUESS
    mid = len(recent) // 2
    return recent[mid] if len(recent) % 2 else (recent[mid - 1] + recent[mid]) / 2


def lead_time(visitors: int, pool_size: int, pool_refill: int, start_seconds: float) -> float:
    """How long before a session the pool must start growing for ``visitors`` servers to be ready on time."""
    rounds = math.ceil(max(0, visitors - pool_size) / pool_refill)
    return rounds * start_seconds * 1.5 + SPARE


def current(schedule: list[dict], now: float, lead) -> dict | None:
    """The session whose warm-up or time is on at ``now`` (``lead(session)``: how early its warm-up starts)."""
    for session in schedule:
        if session["start"] - lead(session) <= now < session["start"] + session["length"]:
            return session
    return None


def clock(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(epoch))


class Warming:
    """What the keeper wants of the schedule each round, and the lines it says when a session's warm-up begins, when
    its servers are ready, and when it is over."""

    def __init__(self, w: dict):
        self.schedule = sorted(w.get("schedule") or [], key=lambda s: s["start"])
        self.pool_size, self.pool_refill = w["pool_size"], w["pool_refill"]
        self.on: dict | None = None
        self.ready_said = False

    def expected(self, now: float, measured: list[float], waiting: int) -> int:
        """The visitors the pool must be ready for now (0: no session on); ``waiting``: pool servers ready now."""
        start_seconds = typical_start(measured)

        def lead(session: dict) -> float:
            return lead_time(session["visitors"], self.pool_size, self.pool_refill, start_seconds)

        session = current(self.schedule, now, lead)
        if session is not self.on:
            if self.on is not None:
                log.info("session at %s over: the pool shrinks back to %d", clock(self.on["start"]), self.pool_size)
            if session is not None:
                log.info("session at %s (%d visitors): growing the pool now, %.0f s ahead (a server starts in %.1f s, "
                         "%d at once)", clock(session["start"]), session["visitors"], session["start"] - now,
                         start_seconds, self.pool_refill)
            self.on, self.ready_said = session, False
        if session is None:
            return 0
        if not self.ready_said and waiting >= session["visitors"]:
            ahead = session["start"] - now
            log.info("session at %s: %d servers waiting, %.0f s %s it starts", clock(session["start"]), waiting,
                     abs(ahead), "before" if ahead >= 0 else "after")
            self.ready_said = True
        return session["visitors"]

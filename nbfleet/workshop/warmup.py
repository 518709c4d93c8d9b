"""The pool's warm-up as `doit workshop` follows it (pure: no engine or hub calls here).

Two sources: the hub's counts (pool servers ready and starting, visitors) and the pool keeper's lines in the hub's
log (``pool server X ready after N s``, ``pool server X failed to start``). From them: what to tell the teacher (how
far, how fast, how long still), when the pool is full, and when the warm-up has really failed. There is no fixed
time limit: a pool of 100 on a small host takes as long as it takes, while servers keep getting ready. It has failed
when the hub stays silent, when a whole round of starts failed with none ready since, or when no server got ready for
longer than a start may take at all.
"""

from __future__ import annotations

import re
import statistics
from typing import NamedTuple

HUB_SILENCE = 180.0  # seconds the hub may take to answer at all (its first start, a database upgrade)
STALL = 240.0  # seconds without a server getting ready: longer than one start may take (the hub gives up at 180 s)
SAY_EVERY = 5.0  # seconds between two progress lines

READY_LINE = re.compile(r"pool server (\S+) ready after ([\d.]+) s")
FAILED_LINE = re.compile(r"pool server (\S+) failed to start")
ERROR_LINE = re.compile(r"^\[E ")


class KeeperNews(NamedTuple):
    """What the keeper's lines say: each ready server's start time, the failures since the last one got ready, and the
    hub's last error line about a failed server (its reason)."""

    start_times: list[float]
    failed_in_a_row: int
    last_error: str


def keeper_news(lines: list[str]) -> KeeperNews:
    """Read the keeper's lines (and the hub's error lines) of the hub's log, oldest first."""
    times, in_a_row, errors, reason = [], 0, {}, ""
    for line in lines:
        if m := READY_LINE.search(line):
            times.append(float(m.group(2)))
            in_a_row = 0
        elif m := FAILED_LINE.search(line):
            in_a_row += 1
            reason = errors.get(m.group(1), reason)
        elif ERROR_LINE.match(line):
            for name in re.findall(r"visitor[0-9a-f]{12}", line):
                errors[name] = line.split("]", 1)[-1].strip()[:200]
    return KeeperNews(times, in_a_row, reason)


class Step(NamedTuple):
    """What one look at the warm-up gives: a line to say (or ""), done, or why it failed (or "")."""

    say: str
    done: bool
    fault: str


class Warmup:
    """Follows one warm-up, from the moment `doit workshop` started waiting (``now`` is any monotonic clock)."""

    def __init__(self, pool_size: int, max_visitors: int, pool_refill: int, now: float):
        self.pool_size, self.max_visitors, self.pool_refill = pool_size, max_visitors, pool_refill
        self.began = self.heard = self.progress = now
        self.said_at: float | None = None
        self.said = None
        self.best = -1
        self.ready_seen = 0

    def step(self, counts: dict[str, int] | None, news: KeeperNews, now: float) -> Step:
        """One look: ``counts`` from the hub (None when it did not answer), ``news`` from the keeper's lines."""
        if counts is None:
            if now - self.heard > HUB_SILENCE:
                return Step("", False, f"the hub does not answer after {now - self.began:.0f} s")
            return Step("", False, "")
        self.heard = now
        target = max(0, min(self.pool_size, self.max_visitors - counts["visitors"]))
        if counts["free"] > self.best or len(news.start_times) > self.ready_seen:
            self.best, self.ready_seen, self.progress = max(self.best, counts["free"]), len(news.start_times), now
        done = counts["free"] >= target
        line = self._line(counts, target, news, now, done)
        if done:
            return Step(line, True, "")
        if news.failed_in_a_row >= max(2, self.pool_refill):
            why = f": {news.last_error}" if news.last_error else ""
            return Step(line, False, f"{news.failed_in_a_row} pool servers in a row failed to start{why}")
        if now - self.progress > STALL:
            return Step(line, False, f"no pool server got ready in {STALL:.0f} s ({counts['free']} of {target} ready, "
                                     f"{counts['starting']} starting)")
        return Step(line, False, "")

    def _line(self, counts: dict[str, int], target: int, news: KeeperNews, now: float, done: bool) -> str:
        shown = (counts["free"], counts["starting"], counts["visitors"])
        if shown == self.said or (not done and self.said_at is not None and now - self.said_at < SAY_EVERY):
            return ""
        self.said, self.said_at = shown, now
        text = (f"workshop: {counts['free']} of {target} pool servers ready, {counts['starting']} starting, "
                f"{counts['visitors']} visitors ({now - self.began:.0f} s")
        if news.start_times:
            typical = statistics.median(news.start_times)
            text += f"; a server starts in {typical:.1f} s"
            rate = len(news.start_times) / max(now - self.began, 1e-6)
            if not done and rate > 0 and len(news.start_times) >= 2:
                text += f", about {max(0, target - counts['free']) / rate:.0f} s to go"
        return text + ")"

"""Typed access to one table of ``course.toml``: every error names the file and the key (``course.toml: launch.cpus``)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from ..errors import NbfleetError

MEMORY = re.compile(r"^(\d+(?:\.\d+)?)([kmg]?)b?$", re.I)
DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd]?)$")
MIN_MEMORY = 64 * 1024**2


def parse_memory(text: str) -> int:
    """``'2g'``, ``'512m'``, ``'1.5g'`` -> bytes; ValueError when it is not a size or below MIN_MEMORY."""
    m = MEMORY.match(text.strip())
    if not m:
        raise ValueError(f"{text!r} is not a memory size such as '2g' or '512m'")
    size = int(float(m.group(1)) * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[m.group(2).lower()])
    if size < MIN_MEMORY:  # Docker reads 0 as "no limit": a typo must not give anyone unlimited memory
        raise ValueError(f"{text!r} is below the minimum of 64m for a notebook server")
    return size


def did_you_mean(key: str, known: set[str]) -> str:
    """`` (did you mean memory?)`` for a near miss, else the list of known names."""
    import difflib  # only when a key is wrong

    close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else f" (known: {', '.join(sorted(known))})"


class Section:
    """Typed access to one TOML table, with errors that name file and key."""

    def __init__(self, data: dict[str, Any], file: str, prefix: str = ""):
        self.data, self.file, self.prefix = data, file, prefix

    def where(self, key: str) -> str:
        return f"{self.file}: {self.prefix}{key}"

    def only_sections(self, allowed: set[str]) -> None:
        for key, value in self.data.items():
            if key not in allowed:
                raise NbfleetError(self.where(key), f"unknown section{did_you_mean(key, allowed)}")
            if not isinstance(value, dict):
                raise NbfleetError(self.where(key), "must be a table ([section])")

    def section(self, name: str, allowed: set[str]) -> Section:
        sub = Section(self.data.get(name, {}), self.file, f"{name}.")
        for key in sub.data:
            if key not in allowed:
                raise NbfleetError(sub.where(key), f"unknown key{did_you_mean(key, allowed)}")
        return sub

    def get(self, key: str, default: Any) -> Any:
        return self.data.get(key, default)

    def str(self, key: str, default: str) -> str:
        value = self.data.get(key, default)
        if not isinstance(value, str):
            raise NbfleetError(self.where(key), f"{value!r} is not a string")
        return value

    def match(self, key: str, default: str, pattern: re.Pattern, what: str) -> str:
        value = self.str(key, default)
        if not pattern.match(value):
            raise NbfleetError(self.where(key), f"{value!r} is not {what}")
        return value

    def bool(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise NbfleetError(self.where(key), f"{value!r} is not true or false")
        return value

    def number(self, key: str, default: float, low: float, integer: bool = False, high: float | None = None) -> float:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
            raise NbfleetError(self.where(key), f"{value!r} is not {'an integer' if integer else 'a number'}")
        if value < low:
            raise NbfleetError(self.where(key), f"{value} is below the minimum {low}")
        if high is not None and value > high:
            raise NbfleetError(self.where(key), f"{value} is above the maximum {high}")
        return value

    def strlist(self, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = self.data.get(key, list(default))
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise NbfleetError(self.where(key), "must be a list of strings")
        return tuple(value)

    def strtable(self, key: str) -> dict[str, str]:
        """A table of names to strings (``[grade.lms_names]``), empty when not given."""
        value = self.data.get(key, {})
        if not isinstance(value, dict) or not all(isinstance(v, str) and v.strip() for v in value.values()):
            raise NbfleetError(self.where(key), "must be a table of name = \"text\" (no empty text)")
        return dict(value)

    def path(self, key: str, root: Path, default: Path | None) -> Path | None:
        value = self.data.get(key, None if default is None else str(default))
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise NbfleetError(self.where(key), f"{value!r} is not a path")
        return (root / value).resolve()

    def memory(self, key: str, default: int) -> int:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise NbfleetError(self.where(key), f"{value!r} is not a memory size such as '2g' or '512m'")
        try:
            return parse_memory(str(value))
        except ValueError as exc:
            raise NbfleetError(self.where(key), str(exc)) from None

    def duration(self, key: str, default: float, low: float = 0) -> float:
        """Seconds, from a number or ``'15m'``/``'90s'``/``'2h'``; at least ``low``."""
        value = self.data.get(key, default)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            seconds = float(value)
        else:
            m = DURATION.match(value) if isinstance(value, str) else None
            if not m:
                raise NbfleetError(self.where(key), f"{value!r} is not a duration such as '15m' or '90s'")
            seconds = float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]
        if seconds < 0:
            raise NbfleetError(self.where(key), f"{value} is negative: a duration is 0 or more, such as '15m' or '90s'")
        if seconds < low:
            raise NbfleetError(self.where(key), f"{value} is below the minimum of {low:g} s")
        return seconds

    def deadlines(self, key: str) -> dict[str, dt.datetime]:
        value = self.data.get(key, {})
        if not isinstance(value, dict):
            raise NbfleetError(self.where(key), "must be a table of assignment = date-time")
        out = {}
        for name, when in value.items():
            if isinstance(when, str):
                try:
                    when = dt.datetime.fromisoformat(when)
                except ValueError:
                    raise NbfleetError(self.where(f"{key}.{name}"), f"{when!r} is not an ISO date-time") from None
            if isinstance(when, dt.date) and not isinstance(when, dt.datetime):
                when = dt.datetime.combine(when, dt.time(23, 59, 59))
            if not isinstance(when, dt.datetime):
                raise NbfleetError(self.where(f"{key}.{name}"), f"{when!r} is not a date-time")
            if when.tzinfo is None:
                when = when.astimezone()  # local time of the machine that runs nbfleet
            out[name] = when
        return out

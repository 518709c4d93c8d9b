"""Find solution, hidden-test and mark-scheme regions in a cell, and refuse anything that only looks like a marker.

Markers match as nbgrader's do: the marker text (``BEGIN SOLUTION``) anywhere in a line, case-sensitive, whatever
comment prefix surrounds it. Unlike nbgrader, a line that is *almost* a marker (other case, ``BEGIN SOLUTIONS``,
``BEGIN_SOLUTION``, a typo one edit away) is an error, as are an END with no BEGIN, nested regions and a region
that is never closed: each of those would otherwise let a solution reach the students.
"""

from __future__ import annotations

import re
from typing import NamedTuple


class Kind(NamedTuple):
    """One kind of region: what it is called and the marker texts that open and close it."""

    name: str
    begin: str
    end: str


SOLUTION = Kind("solution", "BEGIN SOLUTION", "END SOLUTION")
HIDDEN_TESTS = Kind("hidden tests", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
MARK_SCHEME = Kind("mark scheme", "BEGIN MARK SCHEME", "END MARK SCHEME")
KINDS = (SOLUTION, HIDDEN_TESTS, MARK_SCHEME)

_MARKERS = tuple((kind, side, text) for kind in KINDS for side, text in (("begin", kind.begin), ("end", kind.end)))
_WORD = re.compile(r"[A-Za-z0-9_]")
_SEPARATORS = re.compile(r"[\s_\-.:]+")
_COMMENT_START = ("#", "%", "//", "--", "<!--", ";", "/*", "==", "'")
_EDGE_CHARS = "#%/;*!<>-=' \t"
_PARTS = ("sol", "tion", "hid", "den", "test", "mar", "ark", "sch", "eme")


class Region(NamedTuple):
    """Lines ``begin`` and ``end`` (0-based indexes of the marker lines) enclose a region of ``kind``."""

    kind: Kind
    begin: int
    end: int
    indent: str


class MarkerError(ValueError):
    """A marker problem at ``line`` (0-based) of a cell's source."""

    def __init__(self, line: int, what: str):
        self.line = line
        self.what = what
        super().__init__(f"line {line + 1}: {what}")


def find_regions(lines: list[str]) -> list[Region]:
    """The regions in a cell whose source is ``lines``, in order; MarkerError on anything unsafe."""
    regions: list[Region] = []
    open_kind: Kind | None = None
    open_line = -1
    for number, line in enumerate(lines):
        marker = classify(line, number)
        if marker is None:
            continue
        kind, side = marker
        if side == "begin":
            if open_kind is not None:
                raise MarkerError(
                    number, f"{kind.begin} inside the {open_kind.name} region opened at line {open_line + 1} (nested regions)"
                )
            open_kind, open_line = kind, number
        else:
            if open_kind is None:
                raise MarkerError(number, f"{kind.end} with no {kind.begin} before it")
            if kind is not open_kind:
                raise MarkerError(number, f"{kind.end} closes the {open_kind.name} region opened at line {open_line + 1}")
            indent = re.match(r"\s*", lines[open_line]).group(0)
            regions.append(Region(kind, open_line, number, indent))
            open_kind = None
    if open_kind is not None:
        raise MarkerError(open_line, f"{open_kind.begin} is never closed (no {open_kind.end} in this cell)")
    return regions


def classify(line: str, number: int = 0) -> tuple[Kind, str] | None:
    """``(kind, "begin"|"end")`` if ``line`` is a marker line, None if it is not; MarkerError if it nearly is."""
    hits = []
    for kind, side, text in _MARKERS:
        at = line.find(text)
        if at < 0:
            continue
        before = line[at - 1] if at else ""
        after = line[at + len(text)] if at + len(text) < len(line) else ""
        if (before and _WORD.match(before)) or (after and _WORD.match(after)):
            raise MarkerError(number, f"{line.strip()!r} is not a marker but nearly one: write exactly {text!r}")
        hits.append((kind, side, text))
    if len(hits) > 1:
        raise MarkerError(number, "more than one marker on one line: put each marker on a line of its own")
    if hits:
        return hits[0][0], hits[0][1]
    near = near_miss(line)
    if near is not None:
        raise MarkerError(number, f"{line.strip()!r} looks like a misspelt marker: write exactly {near!r} (markers are case-sensitive)")
    return None


def near_miss(line: str) -> str | None:
    """The marker text that ``line`` (which holds no exact marker) is one slip away from, or None."""
    stripped = line.strip()
    if len(stripped) < 8:
        return None
    lower = stripped.lower()
    # one edit cannot break both halves of a marker word, so a near miss keeps one of these
    if not any(part in lower for part in _PARTS):
        return None
    core = stripped.strip(_EDGE_CHARS)
    norm = _SEPARATORS.sub(" ", core).upper().strip()
    squashed = norm.replace(" ", "")
    is_comment = stripped.startswith(_COMMENT_START)
    words = norm.split(" ")
    for _kind, _side, text in _MARKERS:
        if abs(len(norm) - len(text)) <= 2 and (norm == text or _within_one(norm, text)):
            return text
        flat = text.replace(" ", "")
        if abs(len(squashed) - len(flat)) <= 1 and _within_one(squashed, flat):
            return text
        if is_comment:
            # "# begin solution: part a" — a commented line that *starts* like a marker
            n = text.count(" ") + 1
            head = " ".join(words[:n])
            if len(words) > n and abs(len(head) - len(text)) <= 1 and _within_one(head, text):
                return text
    return None


def _within_one(a: str, b: str) -> bool:
    """True if ``a`` and ``b`` are equal or one edit apart (insert, delete, substitute or swap two neighbours)."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    i = 0
    while i < min(la, lb) and a[i] == b[i]:
        i += 1
    if la == lb:
        if a[i + 1 :] == b[i + 1 :]:
            return True
        return i + 1 < la and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2 :] == b[i + 2 :]
    if la > lb:
        return a[i + 1 :] == b[i:]
    return a[i:] == b[i + 1 :]

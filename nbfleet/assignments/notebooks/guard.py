"""The leak guard: no line of a solution region may survive anywhere in what students receive.

A *secret* is a line from a solution, hidden-test or mark-scheme region (or from a whole nbgrader solution cell),
stripped of surrounding whitespace, that is not trivial (see ``is_trivial``) and does not occur in the assignment's
public text (what the teacher wrote outside every region, and the stubs). A release leaks if a secret occurs as a
substring of any text of a released file: notebook sources, outputs, attachments (their names, and their bytes as
stored and base64 decoded), cell and notebook metadata, or the bytes of any other released file. A released notebook
carries no outputs, execution counts or saved widget state at all.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from .stubs import stub_lines

# Lines that say nothing about a solution however often they occur in one.
COMMON_LINES = frozenset(
    {
        "pass", "else:", "try:", "finally:", "return", "break", "continue", "end", "end;", "endif", "end if",
        "endfor", "end for", "endwhile", "endfunction", "end function", "else", "then", "done", "fi", "do",
        "return None", "return True", "return False", "return result", "} else {", "});", "except:",
        "except Exception:", "<br>", "</div>", "---", "***", "```", "```python", "```r", "$$", "\\end{align}",
        "\\begin{align}", "\\end{equation}", "\\begin{equation}", "None", "True", "False", "NULL", "TRUE", "FALSE",
    }
)
_ALNUM = re.compile(r"[^\W_]")
_BASE64 = re.compile(r"^[A-Za-z0-9+/=\s]{16,}$")
MAX_SCANNED_BYTES = 64 * 1024 * 1024


def is_trivial(line: str) -> bool:
    """True for a line that may appear in a release even if it was inside a solution region.

    Trivial: shorter than 4 characters once stripped, no letter or digit at all, a stub line, or a very common
    line of code or markdown (``pass``, ``else:``, ``return``, ``---``…).
    """
    s = line.strip()
    return len(s) < 4 or not _ALNUM.search(s) or s in COMMON_LINES or s in _STUB_LINES


_STUB_LINES = stub_lines()


def secrets_from(region_lines: Iterable[str], public: str) -> frozenset[str]:
    """The secret lines among ``region_lines``: stripped, not trivial, and not anywhere in ``public`` text."""
    out = set()
    for line in region_lines:
        s = line.strip()
        if s and not is_trivial(s) and s not in public:
            out.add(s)
    return frozenset(out)


class Leak(NamedTuple):
    """Secret ``line`` found at ``place`` (e.g. ``cell 4 outputs``) of a released file."""

    place: str
    line: str


def notebook_texts(nb: dict) -> Iterator[tuple[str, str]]:
    """Every piece of text in a notebook, with where it is: sources, outputs, attachments, metadata."""
    yield "notebook metadata", _joined(nb.get("metadata", {}), decode=False)
    for i, cell in enumerate(nb.get("cells", []), 1):
        source = cell.get("source", "")
        yield f"cell {i} source", source if isinstance(source, str) else "".join(source)
        if cell.get("outputs"):
            yield f"cell {i} outputs", _joined(cell["outputs"], decode=True)
        if cell.get("attachments"):
            yield f"cell {i} attachments", _joined(cell["attachments"], decode=True)
        if cell.get("metadata"):
            yield f"cell {i} metadata", _joined(cell["metadata"], decode=False)
        rest = {k: v for k, v in cell.items() if k not in ("source", "outputs", "attachments", "metadata")}
        yield f"cell {i}", _joined(rest, decode=False)
    rest = {k: v for k, v in nb.items() if k not in ("cells", "metadata")}
    yield "notebook", _joined(rest, decode=False)


def carriers(nb: dict) -> list[Leak]:
    """What a released notebook must never carry, whatever the secrets: the teacher's outputs, execution counts and
    saved widget state (the values solution code produced)."""
    found = []
    if "widgets" in (nb.get("metadata") or {}):
        found.append(Leak("notebook metadata", "saved widget state (metadata.widgets)"))
    for i, cell in enumerate(nb.get("cells", []), 1):
        if cell.get("outputs"):
            found.append(Leak(f"cell {i} outputs", "an output of the teacher's run"))
        if cell.get("execution_count") is not None:
            found.append(Leak(f"cell {i}", "an execution count of the teacher's run"))
    return found


def leaks_in_notebook(nb: dict, secrets: Iterable[str]) -> list[Leak]:
    """Every secret found in the released notebook ``nb``, with its place (and every carrier, see ``carriers``).

    Secrets include the names (``attachment:NAME``) and the bytes (base64, as stored) of attachments only a solution
    used: they are found in any cell's attachments or text."""
    found: list[Leak] = []
    secrets = sorted(secrets)
    if secrets:
        found = _secret_leaks(nb, secrets)
    seen = {leak.place for leak in found}
    return found + [leak for leak in carriers(nb) if leak.place not in seen]


def _secret_leaks(nb: dict, secrets: list[str]) -> list[Leak]:
    found = []
    places = list(notebook_texts(nb))
    everything = "\n\x00\n".join(text for _place, text in places)
    suspects = [s for s in secrets if occurs(s, everything)]
    for secret in suspects:
        for place, text in places:
            if occurs(secret, text):
                found.append(Leak(place, secret))
    return found


def leaks_in_bytes(data: bytes, secrets: Iterable[str]) -> list[Leak]:
    """Every secret found in the bytes of a released file that is not a notebook (UTF-8 text, as written)."""
    view = data[:MAX_SCANNED_BYTES]
    return [Leak("content", s) for s in sorted(secrets) if occurs(s.encode("utf-8"), view)]


def occurs(secret, text) -> bool:
    """True if ``secret`` occurs in ``text`` (both str or both bytes) not glued to a longer word.

    ``stations`` occurs in ``print(stations)`` but not in ``stations_answer``: an identifier that merely starts
    like a secret line is not that line.
    """
    at = text.find(secret)
    if at < 0:
        return False
    word_start, word_end = _is_word(secret[:1]), _is_word(secret[-1:])
    while at >= 0:
        before, after = text[at - 1 : at] if at else text[:0], text[at + len(secret) : at + len(secret) + 1]
        if not (word_start and _is_word(before)) and not (word_end and _is_word(after)):
            return True
        at = text.find(secret, at + 1)
    return False


def _is_word(char) -> bool:
    if not char:
        return False
    if isinstance(char, bytes):
        return char.isalnum() or char == b"_" or char[0] >= 0x80
    return char.isalnum() or char == "_"


def _joined(value, decode: bool) -> str:
    """All strings in a JSON value (keys too), one per line; base64 payloads decoded as well when ``decode``."""
    parts: list[str] = []

    def walk(v):
        if isinstance(v, str):
            parts.append(v)
            if decode and len(v) < MAX_SCANNED_BYTES and _BASE64.match(v):
                try:
                    parts.append(base64.b64decode(v, validate=False).decode("utf-8", errors="ignore"))
                except (binascii.Error, ValueError):
                    pass
        elif isinstance(v, dict):
            for k, item in v.items():
                parts.append(str(k))
                walk(item)
        elif isinstance(v, (list, tuple)):
            for item in v:
                walk(item)
        elif v is not None:
            parts.append(str(v))

    walk(value)
    return "\n".join(parts)

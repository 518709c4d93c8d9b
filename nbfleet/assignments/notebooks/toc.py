"""The table of contents of a released notebook (the Twente course's insertTOC.py, made idempotent).

A markdown cell whose source starts with ``# Table of Contents`` is rewritten: its first line is kept and a nested
list of links to every ``#`` and ``##`` heading of the other markdown cells follows. Each such heading gets an
explicit anchor (``<a id="…"></a>`` at the end of the heading line) so the links work in every Jupyter front end.
Headings inside fenced code blocks are not headings. Running it twice changes nothing.
"""

from __future__ import annotations

import re

TOC_START = "# Table of Contents"
_HEADING = re.compile(r"^(#{1,2})\s+(.*?)\s*$")
_ANCHOR = re.compile(r"\s*<a\s+(?:id|name)=\"[^\"]*\"\s*>\s*</a>\s*$")
_SLUG_DROP = re.compile(r"[^\w\- ]+")


def refresh_toc(nb: dict) -> dict:
    """A copy of ``nb`` with its table-of-contents cell rebuilt and anchors on its headings; ``nb`` if it has none."""
    cells = nb.get("cells", [])
    toc_index = next((i for i, c in enumerate(cells) if c.get("cell_type") == "markdown" and _text(c).startswith(TOC_START)), None)
    if toc_index is None:
        return nb
    out = dict(nb)
    out["cells"] = [dict(c) for c in cells]  # only sources change, and they are replaced, not edited
    used: dict[str, int] = {}
    entries: list[str] = []
    for i, cell in enumerate(out["cells"]):
        if i == toc_index or cell.get("cell_type") != "markdown":
            continue
        lines = _text(cell).split("\n")
        fenced = False
        for n, line in enumerate(lines):
            if line.lstrip().startswith(("```", "~~~")):
                fenced = not fenced
                continue
            m = None if fenced else _HEADING.match(line)
            if not m:
                continue
            title = _ANCHOR.sub("", m.group(2)).strip()
            if not title:
                continue
            slug = _unique(_slug(title), used)
            lines[n] = f'{m.group(1)} {title} <a id="{slug}"></a>'
            entries.append(f"{'  ' if len(m.group(1)) == 2 else ''}- [{_link_text(title)}](#{slug})")
        cell["source"] = "\n".join(lines)
    toc = out["cells"][toc_index]
    first = _text(toc).split("\n", 1)[0]
    toc["source"] = "\n".join([first, "", *entries]) if entries else first
    return out


def _text(cell: dict) -> str:
    source = cell.get("source", "")
    return source if isinstance(source, str) else "".join(source)


def _slug(title: str) -> str:
    """An anchor name from a heading: lower case, letters/digits/_/- kept, spaces as dashes (as JupyterLab does)."""
    slug = _SLUG_DROP.sub("", title.lower()).strip().replace(" ", "-")
    return re.sub(r"-{2,}", "-", slug) or "section"


def _unique(slug: str, used: dict[str, int]) -> str:
    count = used.get(slug, 0)
    used[slug] = count + 1
    return slug if count == 0 else f"{slug}-{count + 1}"


def _link_text(title: str) -> str:
    return title.replace("[", "\\[").replace("]", "\\]")

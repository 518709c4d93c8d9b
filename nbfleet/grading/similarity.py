"""Answers that are unusually alike: ``build/grades/<a>-similarity.html``, pairs of submissions ranked by how much of
their code they share, side by side with the shared passages marked.

Each student's document is the code cells of their collected notebooks (``build/submissions/<a>/<id>/``). copydetect
fingerprints it as MOSS does: tokens normalised (every name becomes V, F or O, every string S; comments and spacing
dropped), k-grams hashed and winnowed. The fingerprints of the code the teacher released (``build/stripped/<a>/``:
stubs, given cells) are boilerplate and never count as shared. A pair is listed when at least ``THRESHOLD`` of one
side's code is shared with the other. The words are "unusually alike", never more: a person looks and decides.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from itertools import combinations
from pathlib import Path
from typing import NamedTuple

K = 25  # tokens in a k-gram: shorter shared runs are noise (copydetect's default)
WINDOW = 6  # winnowing window: any shared run of K + WINDOW - 1 = 30 tokens is found (copydetect's default)
THRESHOLD = 0.5  # a pair is listed from this share of either side's code in common
COMMON = 10  # a fingerprint more than one student in this many has leads to no comparison by itself
SHOWN = 50  # pairs shown side by side (the most alike); the page counts the others
CSP = ('<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'">')


class Pair(NamedTuple):
    """Two students' documents and what they share: each side's share of its own code, tokens, marked passages."""

    first: str
    second: str
    shares: tuple[float, float]
    tokens: int
    slices: tuple  # two 2xN arrays: start and end of each shared passage, in each document

    @property
    def share(self) -> float:
        return max(self.shares)


def code_cells(folder: Path) -> list[tuple[str, str]]:
    """(where, source) of every non-empty code cell of every notebook in ``folder`` (sorted by notebook)."""
    out = []
    for path in sorted(Path(folder).rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        try:
            cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
        except (OSError, ValueError, UnicodeDecodeError, AttributeError):
            continue  # not a notebook: grading says so, this report has nothing to compare
        for i, cell in enumerate(cells if isinstance(cells, list) else []):
            if isinstance(cell, dict) and cell.get("cell_type") == "code":
                source = cell.get("source", "")
                source = "".join(source) if isinstance(source, list) else str(source)
                if source.strip():
                    out.append((f"{path.relative_to(folder).as_posix()}, cell {i + 1}", source.rstrip()))
    return out


def code_of(folder: Path, released: frozenset[str] = frozenset()) -> str:
    """One document of the code cells in ``folder``, each under a comment naming notebook and cell; a cell that is
    still exactly a ``released`` one (the stub as handed out) is left out."""
    return "\n".join(f"# {where}\n{source}\n" for where, source in code_cells(folder) if source.strip() not in released)


def fingerprint(text: str, boilerplate=()):
    """copydetect's fingerprint of a document of Python code, without ``boilerplate`` hashes."""
    from copydetect import CodeFingerprint

    return CodeFingerprint("answers.py", K, WINDOW, boilerplate=list(boilerplate), fp=io.StringIO(text), language="python")


def alike(prints: Mapping[str, object], threshold: float = THRESHOLD) -> list[Pair]:
    """Every pair of documents sharing at least ``threshold`` of either side's code, most alike first. Only pairs
    that share a fingerprint few others have are compared in full (a copied answer shares many such)."""
    from copydetect import compare_files

    holders: dict[int, list[str]] = {}
    for sid, fp in prints.items():
        for h in fp.hashes:
            holders.setdefault(h, []).append(sid)
    common = max(2, len(prints) // COMMON)  # a run of code this many students wrote is an idiom, not a lead
    candidates = {pair for ids in holders.values() if len(ids) <= common for pair in combinations(sorted(ids), 2)}
    out = []
    for a, b in sorted(candidates):
        tokens, shares, slices = compare_files(prints[a], prints[b])
        if tokens and max(shares) >= threshold:
            out.append(Pair(a, b, (float(shares[0]), float(shares[1])), int(tokens), slices))
    return sorted(out, key=lambda p: (-p.share, -p.tokens, p.first, p.second))


def _marked(doc: str, slices) -> str:
    import html

    from copydetect.utils import highlight_overlap

    if not len(slices[0]):
        return html.escape(doc)
    text, _ = highlight_overlap(doc, slices, "<mark>", "</mark>", escape_html=True)
    return text


def report_html(assignment: str, pairs: list[Pair], docs: Mapping[str, str], students: int) -> str:
    """The report as one static page (no script; the page forbids any)."""
    import html

    esc = html.escape
    more = len(pairs) - SHOWN
    pairs = pairs[:SHOWN]
    rows = "".join(f'<tr><td>{i}</td><td><a href="#pair-{i}">{esc(p.first)}</a></td><td>{esc(p.second)}</td>'
                   f"<td>{p.shares[0]:.0%} / {p.shares[1]:.0%}</td><td>{p.tokens}</td></tr>"
                   for i, p in enumerate(pairs, 1))
    sections = "".join(
        f'<section id="pair-{i}"><h2>{i}. {esc(p.first)} and {esc(p.second)}: {p.share:.0%} alike</h2>'
        f'<div class="side"><div><h3>{esc(p.first)} ({p.shares[0]:.0%} of their code)</h3><pre>{_marked(docs[p.first], p.slices[0])}</pre></div>'
        f'<div><h3>{esc(p.second)} ({p.shares[1]:.0%} of their code)</h3><pre>{_marked(docs[p.second], p.slices[1])}</pre></div></div></section>'
        for i, p in enumerate(pairs, 1))
    table = (f"<table><thead><tr><th>#</th><th>student</th><th>student</th><th>shared (each side)</th><th>tokens</th>"
             f"</tr></thead><tbody>{rows}</tbody></table>") if pairs else "<p>No two submissions are unusually alike.</p>"
    if more > 0:
        table += f"<p>{more} more pair(s) pass the threshold and are less alike than these: not shown.</p>"
    return (
        "<!doctype html>\n<html><head><meta charset=\"utf-8\">" + CSP +
        f"<title>{esc(assignment)}: answers unusually alike</title>"
        "<style>body{font-family:sans-serif;margin:1em 2em}table{border-collapse:collapse}td,th{padding:2px 10px;"
        "border-bottom:1px solid #ddd;text-align:left}.side{display:flex;gap:1em}.side>div{flex:1;min-width:0}"
        "pre{background:#f6f6f6;padding:.5em;overflow-x:auto;font-size:12px}mark{background:#ffe08a}</style></head><body>"
        f"<h1>{esc(assignment)}: answers that are unusually alike</h1>"
        f"<p>{len(pairs) + max(more, 0)} pair(s) of {students} submissions share at least {THRESHOLD:.0%} of one side's code, after "
        "names, strings and comments are set aside and the code you released is left out. Alike is not copied: "
        "look at each pair before you decide anything.</p>"
        f"{table}{sections}</body></html>\n"
    )


def similarity_report(submissions: Path, released: Path, assignment: str) -> tuple[str, list[Pair]]:
    """The report of the students in ``submissions`` (one folder each), the code in ``released`` left out."""
    given = code_cells(released) if Path(released).is_dir() else []
    boilerplate = fingerprint(code_of(released)).hashes if given else ()  # a stub the student edited still shares these
    cells = frozenset(source.strip() for _, source in given)
    folders = sorted(p for p in Path(submissions).iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
    docs = {p.name: code_of(p, cells) for p in folders}
    prints = {sid: fingerprint(text, boilerplate) for sid, text in docs.items()}
    pairs = alike(prints)
    return report_html(assignment, pairs, docs, len(docs)), pairs

"""Feedback pages that follow a person's marks: each page's source (the notebook as it ran, the results) is kept
beside it, so that when ``grades/overrides.csv`` gives a student new points or a comment, their pages are made again
with them, and delivered, without running a sandbox."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from ..fs import write_text
from .feedback import feedback_notebook, to_html
from .score import Result
from .teacher import column


@dataclass
class FeedbackSource:
    """What one feedback page is made from."""

    title: str
    notebook: str  # the released notebook's name
    executed: dict
    where: dict[str, int]
    results: list[Result]
    notes: list[str]
    cell_notes: dict[int, str]

    def page_args(self, marks: dict[str, dict] | None = None) -> tuple:
        """``feedback_notebook``'s arguments, with ``marks`` (column -> override row) over the results."""
        results = [with_mark(r, (marks or {}).get(column(self.notebook, r.grade_id))) for r in self.results]
        return self.title, self.executed, self.where, results, self.notes, self.cell_notes

    def save(self, page: Path) -> None:
        """Keep this source beside ``page`` (``<page>.json``)."""
        data = {"title": self.title, "notebook": self.notebook, "executed": self.executed, "where": self.where,
                "results": [list(r) for r in self.results], "notes": self.notes,
                "cell_notes": {str(k): v for k, v in self.cell_notes.items()}}
        write_text(source_file(page), json.dumps(data))

    @classmethod
    def load(cls, page: Path) -> FeedbackSource | None:
        """The source kept beside ``page`` (None when there is none: a page made before sources were kept)."""
        try:
            d = json.loads(source_file(page).read_bytes())
        except (OSError, ValueError):
            return None
        return cls(d["title"], d["notebook"], d["executed"], d["where"], [Result(*r) for r in d["results"]], d["notes"],
                   {int(k): v for k, v in d["cell_notes"].items()})


def source_file(page: Path) -> Path:
    """Where the source of ``page`` is kept."""
    return page.with_name(page.name + ".json")


def with_mark(result: Result, mark: dict | None) -> Result:
    """``result`` with a person's mark over it (points, and their comment as the why)."""
    if mark is None:
        return result
    why = f"marked by hand: {mark['comment']}" if mark.get("comment") else "marked by hand"
    return result._replace(points=float(mark["points"]), why=why)


def marks_fingerprint(marks: dict[str, dict]) -> str:
    """What a student's pages depend on among the marks: "" for none."""
    if not marks:
        return ""
    text = "".join(f"{c}\0{m['points']:g}\0{m.get('comment', '')}\n" for c, m in sorted(marks.items()))
    return hashlib.sha256(text.encode()).hexdigest()


def remake_pages(pages: dict[str, str], marks: dict[str, dict]) -> bool:
    """Make a student's feedback pages (notebook -> page path) again with ``marks`` (column -> override row);
    False when one has no kept source (it then waits for a regrade)."""
    sources = {nb: FeedbackSource.load(Path(p)) for nb, p in pages.items()}
    if any(s is None for s in sources.values()):
        return False
    for nb, source in sources.items():
        write_text(Path(pages[nb]), to_html(feedback_notebook(*source.page_args(marks))))
    return True

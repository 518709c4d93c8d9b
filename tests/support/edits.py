"""What a student and a teacher do to the sample assignment between two releases, for the delivery tests."""

from __future__ import annotations

import json
from pathlib import Path

HINT = "A hint added after the release."


def student_adds_a_note(notebook: Path) -> bytes:
    """The student adds a markdown cell "my notes" at the top of their copy; returns the edited bytes."""
    notebook.write_text(notebook.read_text().replace(
        '"cells": [', '"cells": [{"cell_type": "markdown", "metadata": {}, "source": "my notes"},', 1))
    return notebook.read_bytes()


def teacher_adds_a_hint(course: Path) -> None:
    """The teacher appends a hint cell to assignment1's problem1 (a revision to release)."""
    solution = course / "course" / "solutions" / "assignment1" / "problem1-solutions.ipynb"
    nb = json.loads(solution.read_text())
    nb["cells"].append({"cell_type": "markdown", "metadata": {}, "source": [HINT]})
    solution.write_text(json.dumps(nb, indent=1))


def student_solves(course: Path, sid: str, assignment: str = "assignment1", *, replace: dict[str, tuple[str, str]] | None = None) -> None:
    """The student writes the teacher's solutions into their released notebooks (answer cells only, by cell id).

    ``replace`` maps a notebook to (text, instead): that text of the solution is written differently (a wrong answer).
    """
    solutions = course / "course" / "solutions" / assignment
    folder = course / "students" / sid / assignment
    for mine in sorted(folder.glob("*.ipynb")):
        source = json.loads((solutions / mine.name.replace(".ipynb", "-solutions.ipynb")).read_text())
        answers = {}
        for cell in source["cells"]:
            text = "".join(cell["source"])
            if "BEGIN SOLUTION" in text:
                kept = [line for line in text.split("\n") if "SOLUTION" not in line]
                answers[cell["id"]] = "\n".join(kept)
        nb = json.loads(mine.read_text())
        for cell in nb["cells"]:
            if cell.get("id") in answers:
                text = answers[cell["id"]]
                if replace and mine.name in replace:
                    old, new = replace[mine.name]
                    text = text.replace(old, new)
                cell["source"] = text
        mine.write_text(json.dumps(nb, indent=1))


def edit_cell(notebook: Path, starts_with: str, source: str | None) -> None:
    """Replace the source of the first cell starting with ``starts_with`` (None: delete that cell)."""
    nb = json.loads(notebook.read_text())
    for i, cell in enumerate(nb["cells"]):
        if "".join(cell["source"]).startswith(starts_with):
            if source is None:
                del nb["cells"][i]
            else:
                cell["source"] = source
            break
    else:
        raise AssertionError(f"no cell starts with {starts_with!r} in {notebook}")
    notebook.write_text(json.dumps(nb, indent=1))


def add_cell(notebook: Path, after_starts_with: str, source: str) -> None:
    """A code cell of the student's own, with ``source``, right after the first cell starting with ``after_starts_with``."""
    nb = json.loads(notebook.read_text())
    for i, cell in enumerate(nb["cells"]):
        if "".join(cell["source"]).startswith(after_starts_with):
            nb["cells"].insert(i + 1, {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                                       "id": f"own-{i}", "source": source})
            break
    else:
        raise AssertionError(f"no cell starts with {after_starts_with!r} in {notebook}")
    notebook.write_text(json.dumps(nb, indent=1))

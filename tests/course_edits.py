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

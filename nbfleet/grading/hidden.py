"""What a student may see of a run with hidden tests: the cells as released, errors without a traceback, and no
output that quotes a hidden line."""

from __future__ import annotations

import copy
import json

from ..assignments.notebooks.guard import is_trivial
from .cells import ANSI, TeacherNotebook
from .restore import Restored


def hide_hidden_tests(teacher: TeacherNotebook, restored: Restored, executed: dict) -> dict:
    """A copy of the executed notebook that shows no hidden test: each cell with hidden tests shows its source as
    released and its errors without a traceback (or a message quoting a hidden line); any other output, in any cell,
    that quotes a hidden line (the student's code printing ``In``, a warning echoing a line) is taken out."""
    nb = copy.deepcopy(executed)
    cells = nb.get("cells", [])
    secret = {line for lines in teacher.hidden.values() for line in lines if not is_trivial(line)}
    for index, lines in teacher.hidden.items():
        at = restored.placed.get(index)
        if at is None or at >= len(cells):
            continue
        cell = cells[at]
        cell["source"] = teacher.released[index]
        for output in cell.get("outputs", []):
            if output.get("output_type") != "error":
                continue
            message = ANSI.sub("", str(output.get("evalue", "")))
            if any(line in message for line in lines):
                message = "(in a hidden test)"
            output["evalue"] = message
            output["traceback"] = [f"{output.get('ename', 'Error')}: {message}".rstrip(": ")
                                   + "  [the traceback of a cell with hidden tests is not shown]"]
    if secret:
        for cell in cells:
            cell["outputs"] = [_REMOVED if _quotes(o, secret) else o for o in cell.get("outputs", [])]
    return nb


_REMOVED = {"output_type": "stream", "name": "stdout", "text": "[nbfleet: an output that quoted a hidden test was removed]\n"}


def _quotes(output: dict, secret: set[str]) -> bool:
    """Whether an output's text (any of its forms, escapes and all) contains a line of a hidden test."""
    raw = ANSI.sub("", json.dumps(output, ensure_ascii=False))
    text = raw.encode().decode("unicode_escape", errors="ignore") if "\\" in raw else raw
    return any(line in raw or line in text for line in secret)

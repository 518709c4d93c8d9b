"""A student's feedback: the notebook as it ran in the sandbox, as one HTML page, with each test's result.

Above the notebook: the points per test and in total, and the grader's notes (a test cell the student changed,
a cell that ran too long, a kernel that died). Below each graded cell: what it earned and why. Everything the
student's code printed is sanitized (nbconvert's ``sanitize_html``, with ``grading.sanitize``'s allow-list: nbconvert's
own escapes headings and tables) and the template's own scripts are taken out:
a feedback page never runs a script, in the student's browser or in the teacher's. Hidden tests are not shown
(``grading.hidden``).
"""

from __future__ import annotations

import copy
import json
import re

from .sanitize import clean_html

CSP = ('<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data:; '
       'style-src \'unsafe-inline\'; font-src data:">')
_SCRIPT = re.compile(r"<script\b.*?</script\s*>", re.IGNORECASE | re.DOTALL)


def _escape(text: str) -> str:
    """``text`` safe inside HTML (the html module, with its entities table, loads only when a page is made)."""
    import html

    return html.escape(text)


def _points(value: float | None) -> str:
    return "to be graded" if value is None else f"{value:g}"


def _result_cell(result, index: int) -> dict:
    mark = "✔" if result.points is not None and result.points >= result.max_points else ("…" if result.points is None else "✘")
    why = f" — {_escape(result.why)}" if result.why else ""
    text = f"**{mark} {_escape(result.grade_id)}: {_points(result.points)} / {result.max_points:g} points**{why}"
    return {"cell_type": "markdown", "metadata": {}, "source": text, "id": f"result-{index}"}


def feedback_notebook(title: str, executed: dict, where: dict[str, int], results: list, notes: list[str],
                      cell_notes: dict[int, str]) -> dict:
    """The executed notebook with a summary on top and each graded cell's result below it (a new notebook)."""
    nb = copy.deepcopy(executed)
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []):
            if "metadata" in output:  # image sizes and the like: the student's code writes them, and they become attributes
                output["metadata"] = {}  # (stream and error outputs have none, and may not get one)
    by_index = {where[r.grade_id]: r for r in results if r.grade_id in where}
    cells = []
    for index, cell in enumerate(nb.get("cells", [])):
        cells.append(cell)
        if index in cell_notes and index not in by_index:
            cells.append({"cell_type": "markdown", "metadata": {}, "id": f"note-{index}",
                          "source": f"*grader: {_escape(cell_notes[index])}*"})
        if index in by_index:
            cells.append(_result_cell(by_index[index], index))
    got = [r.points for r in results]
    total = "to be completed by the teacher" if None in got else f"{sum(got):g}"
    top = sum(r.max_points for r in results)
    lines = [f"# Feedback: {_escape(title)}", "", f"**Points: {total} / {top:g}**", "",
             "| test | points | why |", "|---|---|---|"]
    lines += [f"| {_escape(r.grade_id)} | {_points(r.points)} / {r.max_points:g} | {_escape(r.why).replace('|', '&#124;')} |"
              for r in results]
    if notes:
        lines += ["", "Notes from the grader:", ""] + [f"- {_escape(n)}" for n in notes]
    nb["cells"] = [{"cell_type": "markdown", "metadata": {}, "source": "\n".join(lines), "id": "feedback-summary"}] + cells
    return nb


def to_html(nb: dict) -> str:
    """The notebook as one self-contained, sanitized HTML page."""
    import nbformat
    from nbconvert import HTMLExporter

    node = nbformat.reads(json.dumps({"nbformat": 4, "nbformat_minor": 5, **nb}), as_version=4)  # sources as text
    info = node.metadata.setdefault("language_info", {})
    language = info.get("name") or (node.metadata.get("kernelspec") or {}).get("language") or "python"
    if language == "python" and info.get("pygments_lexer", "ipython3") == "ipython3":
        info.update(name="python", pygments_lexer="python3")  # IPython's lexer lives in IPython, not installed here
    exporter = HTMLExporter(template_name="classic", sanitize_html=True, filters={"clean_html": clean_html})
    body, _ = exporter.from_notebook_node(node)
    # the template's own scripts (MathJax, require.js from a CDN) are not needed to read feedback: none is left, and
    # the page itself forbids any (an event handler the sanitizer missed would not run either)
    body = _SCRIPT.sub("", body)
    return body.replace("<head>", f"<head>\n{CSP}", 1)


def page_name(notebook: str) -> str:
    """The feedback page of a notebook: ``problem1.html`` for ``problem1.ipynb``."""
    return f"{notebook.removesuffix('.ipynb')}.html"

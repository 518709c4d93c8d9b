"""Teacher's notebook -> student notebook (pure): solution regions become stubs, hidden tests and mark schemes go,
outputs are cleared, nbgrader's cell metadata is honoured.

Rules (docs/stripping.md has them all, with every difference from nbgrader 0.9.6 and why):
- A solution region (``BEGIN SOLUTION`` … ``END SOLUTION``, markers included) becomes the kernel language's stub in a
  code cell and ``YOUR ANSWER HERE`` in a markdown or raw cell, indented like the BEGIN line.
- Hidden-test and mark-scheme regions are removed, markers included, with no stub.
- A cell marked ``nbgrader.solution`` that has no solution region becomes the stub as a whole.
- Cells are locked as nbgrader's LockCells does: solution cells undeletable; grade and locked cells read-only and
  undeletable. Outputs and execution counts are cleared; ``collapsed``/``scrolled`` cell metadata, the notebook's
  ``celltoolbar`` and saved widget state are dropped.
- A cell that held a solution keeps only its attachments that the released source still references and only metadata
  that cannot carry content (SAFE_CELL_METADATA); what was dropped (attachment names and bytes) are secrets for the
  leak guard.
"""

from __future__ import annotations

from typing import NamedTuple

from ...errors import NbfleetError
from . import guard
from .markers import SOLUTION, MarkerError, find_regions
from .stubs import CODE_STUBS, TEXT_STUB, code_stub, language_of

DROPPED_CELL_METADATA = ("collapsed", "scrolled")
DROPPED_NOTEBOOK_METADATA = ("celltoolbar", "widgets")  # widgets: the values solution code produced
SAFE_CELL_METADATA = ("nbgrader", "deletable", "editable", "tags", "jupyter", "slideshow", "name", "trusted")


class Stripped(NamedTuple):
    """A student notebook and what the leak guard needs to check it.

    ``region_lines``: every line that was inside a region (stripped, non-trivial); ``public``: the teacher's text
    outside every region (sources and stubs), against which ``secrets`` are judged.
    """

    notebook: dict
    region_lines: frozenset[str]
    public: str
    notes: tuple[str, ...] = ()

    @property
    def secrets(self) -> frozenset[str]:
        """The region lines that must not appear anywhere in the release of this notebook."""
        return guard.secrets_from(self.region_lines, self.public)


def strip_notebook(nb: dict, where: str) -> Stripped:
    """The student version of the nbformat-v4 notebook ``nb`` (left untouched); ``where`` names it in errors.

    Raises NbfleetError naming ``where``, the cell (1-based) and the line for every unsafe marker, and for a code
    solution in a kernel language without a stub.
    """
    out = _copy(nb)
    language = language_of(out.get("metadata", {}))
    region_lines: set[str] = set()
    public_parts: list[str] = []
    for number, cell in enumerate(out.get("cells", []), 1):
        source = cell.get("source", "")
        lines = (source if isinstance(source, str) else "".join(source)).split("\n")
        try:
            regions = find_regions(lines)
        except MarkerError as exc:
            raise NbfleetError(f"{where}: cell {number}, line {exc.line + 1}", exc.what) from None
        is_code = cell.get("cell_type") == "code"
        meta = cell.get("metadata", {}).get("nbgrader") or {}
        is_solution = bool(meta.get("solution", False))
        has_solution_region = any(r.kind is SOLUTION for r in regions)

        if is_solution and not has_solution_region:
            region_lines.update(line.strip() for line in lines)
            new_lines = _stub(is_code, language, where, number)
        else:
            covered = set()
            new_lines = []
            at = 0
            for region in regions:
                new_lines.extend(lines[at : region.begin])
                if region.kind is SOLUTION:
                    new_lines.extend(region.indent + s for s in _stub(is_code, language, where, number))
                region_lines.update(line.strip() for line in lines[region.begin + 1 : region.end])
                covered.update(range(region.begin, region.end + 1))
                at = region.end + 1
            new_lines.extend(lines[at:])
            public_parts.extend(line for i, line in enumerate(lines) if i not in covered)
        cell["source"] = "\n".join(new_lines)
        solution_only = _keep_referenced_attachments(cell, region_lines, public_parts)
        if solution_only or is_solution or has_solution_region:
            _keep_safe_metadata(cell)

        _lock(cell, meta)
        if is_code:
            cell["outputs"] = []
            cell["execution_count"] = None
        for key in DROPPED_CELL_METADATA:
            cell.get("metadata", {}).pop(key, None)
    for key in DROPPED_NOTEBOOK_METADATA:
        out.get("metadata", {}).pop(key, None)

    region_lines = {s for s in region_lines if s and not guard.is_trivial(s)}
    return Stripped(out, frozenset(region_lines), "\n".join(public_parts))


def _stub(is_code: bool, language: str, where: str, number: int) -> list[str]:
    """The lines that stand in for a solution in a code cell (the kernel language's stub) or a text cell."""
    if not is_code:
        return TEXT_STUB.split("\n")
    text = code_stub(language)
    if text is None:
        raise NbfleetError(
            f"{where}: cell {number}",
            f"kernel language {language!r} has no stub for a code solution (known: {', '.join(sorted(CODE_STUBS))})",
        )
    return text.split("\n")


def _keep_referenced_attachments(cell: dict, region_lines: set[str], public_parts: list[str]) -> bool:
    """Keep the cell attachments that its released source still references (``attachment:NAME``); the others were
    used only by a solution: their names and bytes become secrets for the leak guard. True if any was dropped."""
    attachments = cell.get("attachments") or {}
    if not attachments:
        return False
    kept = {}
    for name, bundle in attachments.items():
        payloads = [v if isinstance(v, str) else "".join(v) for v in (bundle or {}).values()]
        if f"attachment:{name}" in cell["source"]:
            kept[name] = bundle
            public_parts.extend([f"attachment:{name}", *payloads])
        else:
            region_lines.update([f"attachment:{name}", *payloads])
    if kept:
        cell["attachments"] = kept
    else:
        cell.pop("attachments", None)
    return len(kept) < len(attachments)


def _keep_safe_metadata(cell: dict) -> None:
    """A cell that held a solution keeps only metadata that cannot carry content (tools store results, history or
    timings of the teacher's run under keys of their own)."""
    metadata = cell.get("metadata") or {}
    for key in [k for k in metadata if k not in SAFE_CELL_METADATA]:
        del metadata[key]


def _copy(nb: dict) -> dict:
    """A copy of ``nb`` that is safe to edit here: metadata deep, cells shallow (sources are replaced, not edited;
    outputs are replaced by a new list)."""
    out = dict(nb)
    out["metadata"] = _json_copy(nb.get("metadata", {}))
    out["cells"] = []
    for cell in nb.get("cells", []):
        cell = dict(cell)
        cell["metadata"] = _json_copy(cell.get("metadata", {}))
        out["cells"].append(cell)
    return out


def _json_copy(value):
    """A deep copy of JSON data as plain dicts and lists (much cheaper than copy.deepcopy on notebook nodes)."""
    if isinstance(value, dict):
        return {k: _json_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_copy(v) for v in value]
    return value


def _lock(cell: dict, meta: dict) -> None:
    """nbgrader's LockCells: solution cells undeletable; grade and locked cells read-only and undeletable."""
    if not meta:
        return
    solution, grade, locked = bool(meta.get("solution")), bool(meta.get("grade")), bool(meta.get("locked"))
    metadata = cell.setdefault("metadata", {})
    if solution:
        metadata["deletable"] = False
    elif grade or locked:
        metadata["deletable"] = False
        metadata["editable"] = False

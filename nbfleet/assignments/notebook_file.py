"""Reading a notebook file, with one line naming file, line and column when it is not one; writing one as Jupyter does."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import NbfleetError


def read_notebook(path: Path, shown: str, node: bool = True):
    """Read a notebook file as nbformat v4: ``(notebook, notes)``; NbfleetError naming file/line/column if it is bad.

    nbformat v3 notebooks are upgraded to v4 (said in the notes); older or newer major versions are refused.
    The notebook is an nbformat ``NotebookNode``, or with ``node=False`` the same data as plain dicts (cheaper).
    """
    import nbformat

    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NbfleetError(shown, f"not UTF-8 text (byte {exc.start}): a notebook is a JSON file") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NbfleetError(f"{shown}:{exc.lineno}:{exc.colno}", f"not valid JSON: {exc.msg}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("nbformat"), int):
        raise NbfleetError(shown, "not a Jupyter notebook (no integer 'nbformat' field at the top)")
    notes = []
    major = raw["nbformat"]
    if major == 3:
        notes.append(f"{shown}: nbformat v3 notebook upgraded to v4 for the release (the source is not changed)")
    elif major != 4:
        raise NbfleetError(shown, f"nbformat v{major} is not supported: nbfleet reads v4 (and upgrades v3)")
    try:
        if major == 3:
            nb = nbformat.reads(text, as_version=4, capture_validation_error={})
            for i, cell in enumerate(nb.cells):
                cell["id"] = f"cell-{i + 1}"  # the upgrade invents random ids; stable ones keep the release reproducible
            nbformat.validate(nb)
        else:
            from nbformat.v4.rwbase import rejoin_lines

            if raw.get("nbformat_minor", 0) >= 5:
                # nbformat would invent random ids (and warn); stable ones keep the release byte-identical
                for i, cell in enumerate(raw.get("cells") or []):
                    if isinstance(cell, dict) and "id" not in cell:
                        cell["id"] = f"cell-{i + 1}"
            nbformat.validate(raw)
            if node:
                nb = rejoin_lines(nbformat.from_dict(raw))
            else:
                nb = raw
                for cell in raw.get("cells", []):
                    if isinstance(cell.get("source"), list):
                        cell["source"] = "".join(cell["source"])
    except nbformat.ValidationError as exc:
        at = "/".join(str(p) for p in exc.absolute_path) or "top level"
        message = str(exc.message).splitlines()[0]
        raise NbfleetError(shown, f"not a valid nbformat v4 notebook at {at}: {message}") from None
    except Exception as exc:  # noqa: BLE001 - nbformat's readers raise many kinds for malformed documents
        raise NbfleetError(shown, f"not a valid notebook: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    return nb, notes


def notebook_bytes(nb: dict) -> bytes:
    """A notebook as Jupyter writes it (sorted keys, indent 1, sources as lists of lines, UTF-8, final newline)."""
    cells = []
    for cell in nb.get("cells", []):
        cell = dict(cell)
        if isinstance(cell.get("source"), str):
            cell["source"] = cell["source"].splitlines(keepends=True)
        cells.append(cell)
    data = {**nb, "cells": cells}
    return (json.dumps(data, sort_keys=True, indent=1, ensure_ascii=False) + "\n").encode("utf-8")

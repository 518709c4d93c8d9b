"""Grades for the LMS: ``build/grades/canvas.csv`` and ``build/grades/moodle.csv``, beside ``gradebook.csv``, in the
form each LMS imports as it is (docs/grading.md says where each file goes).

* Canvas (Grades → Import): ``Student, ID, SIS User ID, SIS Login ID, Section``, then one column per assignment, and
  a ``Points Possible`` row under the header, as Canvas's own export has. Canvas matches a row on ``ID`` (its own
  user id, which nbfleet does not know: left empty), then ``SIS User ID``, then ``SIS Login ID``: both carry the
  roster column that ``[grade] lms_id`` names.
* Moodle (Grades → Import → CSV file): ``First name, Last name, ID number, Email address``, then one column per
  assignment; on import the teacher maps ``ID number`` to "ID number" (or ``Email address`` to "Email address").

Rows are the roster's students in roster order, staff (Admin=TRUE) left out; an assignment column is named as
``[grade] lms_names`` maps it (default: the assignment's folder name). A grade not yet complete is left empty.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence

CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
MOODLE_COLUMNS = ("First name", "Last name", "ID number", "Email address")


def _number(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{float(value):g}"


def _csv(rows: Sequence[Sequence[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def canvas_csv(students: Sequence, lms_ids: Mapping[str, str], totals: Mapping[str, Mapping[str, float | None]],
               maxima: Mapping[str, float], names: Mapping[str, str]) -> str:
    """Canvas's gradebook import: ``students`` (roster order, staff already out), ``lms_ids`` (student id -> the value
    Canvas knows them by), ``totals`` (assignment -> student id -> points), ``maxima`` (assignment -> points possible),
    ``names`` (assignment -> its column)."""
    assignments = list(totals)
    rows = [[*CANVAS_COLUMNS, *(names.get(a, a) for a in assignments)],
            ["Points Possible", "", "", "", "", *(_number(maxima.get(a)) for a in assignments)]]
    for s in students:
        rows.append([f"{s.last_name}, {s.name}", "", lms_ids[s.id], lms_ids[s.id], "",
                     *(_number(totals[a].get(s.id)) for a in assignments)])
    return _csv(rows)


def moodle_csv(students: Sequence, lms_ids: Mapping[str, str], totals: Mapping[str, Mapping[str, float | None]],
               names: Mapping[str, str]) -> str:
    """Moodle's grade import (CSV file), same arguments as ``canvas_csv`` (Moodle takes no points-possible row)."""
    assignments = list(totals)
    rows = [[*MOODLE_COLUMNS, *(names.get(a, a) for a in assignments)]]
    for s in students:
        rows.append([s.name, s.last_name, lms_ids[s.id], s.email, *(_number(totals[a].get(s.id)) for a in assignments)])
    return _csv(rows)

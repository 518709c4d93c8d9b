"""The roster file as it is: read a teacher's CSV or TSV (as a spreadsheet or an LMS exports it) and write it back the
same way, with nbfleet's cells filled in.

The delimiter, line endings, a BOM, column order and every column nbfleet does not know are kept; a write is atomic
(mode 0600: the file holds passwords). Reading uses pandas, imported only when a roster is actually read.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from ..errors import NbfleetError
from ..fs import write_private

REQUIRED = ("SNumber", "Name", "LastName", "Email")


class Columns(NamedTuple):
    """The names of the columns nbfleet reads, for one course tag."""

    id: str
    name: str
    last_name: str
    email: str
    url: str
    server: str
    port: str
    password: str
    admin: str
    memory: str

    @classmethod
    def for_tag(cls, tag: str) -> Columns:
        return cls("SNumber", "Name", "LastName", "Email", f"{tag}_url", f"{tag}_server", f"{tag}_port", "Password", "Admin", f"{tag}_memory")

    @property
    def filled(self) -> tuple[str, ...]:
        """Columns ``doit roster`` fills, in the order they are appended when a file lacks them."""
        return (self.url, self.server, self.port, self.password)


@dataclass
class Table:
    """The roster file as read: header and cells exactly as they are, plus how to write it back the same way."""

    label: str
    header: list[str]
    delimiter: str
    bom: bool
    newline: str
    frame: object  # pandas.DataFrame, columns 0..n-1, every cell a str
    text: str
    _lines: list[int] | None = None

    def index(self, name: str) -> int | None:
        for i, h in enumerate(self.header):
            if h.strip() == name:
                return i
        return None

    def line(self, row: int) -> int:
        """The line of the file where data row ``row`` (0-based) starts."""
        if '"' not in self.text:
            return row + 2
        if self._lines is None:  # quoted cells may span lines: count them only when a message needs it
            reader = csv.reader(io.StringIO(self.text, newline=""), delimiter=self.delimiter)
            starts, last = [], 0
            for _ in reader:
                starts.append(last + 1)
                last = reader.line_num
            self._lines = starts[1:]
        return self._lines[row] if row < len(self._lines) else row + 2

    def where(self, row: int, column: str) -> str:
        col = self.index(column)
        return f"{self.label}:{self.line(row)}:{(col or 0) + 1}"


def read_table(path: Path, label: str) -> Table:
    """Read the roster file into a Table; raise NbfleetError (file:line:column) if it cannot be read as one."""
    import pandas as pd  # heavy: only when a roster is actually read

    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise NbfleetError(label, f"no roster: create it with the columns {', '.join(REQUIRED)} (see roster/users.csv in nbfleet's sample)") from None
    except OSError as exc:
        raise NbfleetError(label, f"cannot read it: {exc.strerror}") from None
    bom = raw.startswith(b"\xef\xbb\xbf")
    body = raw[3:] if bom else raw
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = body.count(b"\n", 0, exc.start) + 1
        col = exc.start - (body.rfind(b"\n", 0, exc.start) + 1) + 1
        raise NbfleetError(f"{label}:{line}:{col}", "not UTF-8: save the spreadsheet as CSV UTF-8 (or TSV)") from None
    if not text.strip():
        raise NbfleetError(f"{label}:1:1", f"the roster is empty: it needs a header line ({', '.join(REQUIRED)}, …)")
    first = text.split("\n", 1)[0]
    newline = "\r\n" if first.endswith("\r") else "\n"
    first = first.rstrip("\r")
    delimiter = "\t" if "\t" in first else ","
    if delimiter == "," and "," not in first and ";" in first:
        raise NbfleetError(f"{label}:1:{first.index(';') + 1}", "columns are separated by ';': save as comma-separated CSV or TSV")
    header = next(csv.reader([first], delimiter=delimiter))
    seen: dict[str, int] = {}
    for i, name in enumerate(header):
        key = name.strip()
        if key and key in seen:
            raise NbfleetError(f"{label}:1:{i + 1}", f"column {key!r} appears twice (first in column {seen[key] + 1})")
        seen[key] = i
    try:
        frame = pd.read_csv(
            io.StringIO(text), sep=delimiter, header=None, skiprows=1, names=range(len(header)), dtype=str,
            keep_default_na=False, skip_blank_lines=False, index_col=False, engine="c",
        )
    except pd.errors.ParserError as exc:
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if m:
            raise NbfleetError(f"{label}:{m.group(2)}:{int(m.group(1)) + 1}", f"{m.group(3)} cells but the header has {m.group(1)} columns") from None
        raise NbfleetError(label, f"not a readable CSV/TSV file: {str(exc).strip()}") from None
    except pd.errors.EmptyDataError:
        frame = pd.DataFrame({i: pd.Series([], dtype=str) for i in range(len(header))})
    frame = frame.fillna("")
    return Table(label, header, delimiter, bom, newline, frame, text)


def write_table(table: Table, path: Path, students: Sequence, rows: Sequence[int], tag: str) -> None:
    """Write the roster back atomically (temp file + rename, mode 0600), with the students' filled cells (``students``
    are ``roster.students.Student`` rows, one per data row in ``rows``).

    Column order, unknown columns, the delimiter, line endings and a BOM stay as they were; columns nbfleet
    fills are appended when the file lacked them; rows without any cell (blank lines) are dropped.
    """
    cols = Columns.for_tag(tag)
    header = list(table.header)
    frame = table.frame.copy()
    for name in cols.filled:
        if table.index(name) is None:
            header.append(name)
            frame[len(header) - 1] = ""
    index = {name.strip(): i for i, name in enumerate(header)}
    values = {
        cols.server: [s.server or "" for s in students],
        cols.port: ["" if s.port is None else str(s.port) for s in students],
        cols.password: [s.password or "" for s in students],
        cols.url: [s.url or "" for s in students],
    }
    for name, cells in values.items():
        frame.loc[list(rows), index[name]] = cells
    frame = frame.drop(index=sorted(set(range(len(frame))) - set(rows)))
    buffer = io.StringIO()
    frame.to_csv(buffer, sep=table.delimiter, header=header, index=False, lineterminator=table.newline, quoting=csv.QUOTE_MINIMAL)
    text = ("\ufeff" if table.bom else "") + buffer.getvalue()
    write_private(Path(path), text)

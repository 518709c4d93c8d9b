"""The class list, ``roster/users.csv``, as students: every row checked, with one line naming file, line and column
for anything wrong.

The file keeps the Twente spreadsheet's columns as they are::

    SNumber, Name, LastName, Email, <tag>_url, <tag>_server, <tag>_port, Password, Admin

(``<tag>`` is ``course.tag``; an optional ``<tag>_memory`` column gives one student a memory limit of their own).
``doit roster`` (``roster.allocate``) fills only what is missing: server, port and password, once, never changing a
value already written; the url is derived from the host's public name, the port and the scheme.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from .. import paths
from ..errors import NbfleetError
from ..settings import parse_memory
from .hosts import Host, load_hosts
from .table import REQUIRED, Columns, Table, read_table

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class Student(NamedTuple):
    """One row of the roster. ``server``, ``port``, ``password`` and ``url`` are None until ``doit roster`` fills them."""

    id: str
    name: str
    last_name: str
    email: str
    admin: bool
    server: str | None
    port: int | None
    password: str | None
    url: str | None
    memory: int | None = None  # bytes; None: the course default from course.toml
    line: int = 0  # where the row starts in the file, for messages

    @property
    def allocated(self) -> bool:
        return bool(self.server and self.port and self.password)

    @property
    def full_name(self) -> str:
        return f"{self.name} {self.last_name}".strip()


class Roster(NamedTuple):
    """A validated roster: the students in file order and what is needed to write it back."""

    students: list[Student]
    file: Path
    label: str  # the file's name in messages

    def on_host(self, host: str) -> list[Student]:
        return [s for s in self.students if s.server == host]


def load_table(settings) -> Table:
    """The course's roster file as a Table."""
    return read_table(settings.roster_file, paths.shown(settings.roster_file, settings.root))


def validate(table: Table, hosts: Sequence[Host], tag: str) -> tuple[list[Student], list[int]]:
    """Check every row; return the students and the data-row index of each (rows with no cell at all are skipped).

    Raises NbfleetError naming file, line and column for: a missing required column, an empty or unsafe student
    id, a duplicate id, Admin not TRUE/FALSE, a bad e-mail address, a server not in ``hosts``, a port that is not
    a number, below 1024 or outside the host's range, a duplicate server:port, a host over its capacity.
    """
    cols = Columns.for_tag(tag)
    for name in REQUIRED:
        if table.index(name) is None:
            raise NbfleetError(f"{table.label}:1:1", f"missing column {name!r} (the header has: {', '.join(h for h in table.header if h.strip())})")
    frame = table.frame
    n = len(frame)

    def column(name: str) -> list[str]:
        i = table.index(name)
        return [""] * n if i is None else frame[i].tolist()

    ids, names, last_names, emails = column(cols.id), column(cols.name), column(cols.last_name), column(cols.email)
    servers, ports, passwords, urls = column(cols.server), column(cols.port), column(cols.password), column(cols.url)
    admins, memories = column(cols.admin), column(cols.memory)
    blank = _blank_rows(frame)
    by_name = {h.name: h for h in hosts}
    first_id: dict[str, int] = {}
    first_seat: dict[tuple[str, int], int] = {}
    load: dict[str, int] = {}
    students: list[Student] = []
    rows: list[int] = []
    for r in range(n):
        if r in blank:
            continue
        where = lambda c, r=r: table.where(r, c)  # noqa: E731
        sid = ids[r].strip()
        if not sid:
            raise NbfleetError(where(cols.id), f"{cols.id} is empty: every row needs a student id")
        if not STUDENT_ID.match(sid) or ".." in sid:
            raise NbfleetError(where(cols.id), f"{sid!r} is not a safe student id (it names a container and a folder): "
                               "letters, digits, '.', '_' or '-', starting with a letter or digit, no '..', up to 64")
        key = sid.casefold()
        if key in first_id:
            raise NbfleetError(where(cols.id), f"student {sid!r} appears twice (first on line {table.line(first_id[key])})")
        first_id[key] = r
        for name, values in ((cols.name, names), (cols.last_name, last_names), (cols.email, emails), (cols.password, passwords)):
            if CONTROL.search(values[r]):
                raise NbfleetError(where(name), f"{name} contains a control character (a line break or tab?)")
        email = emails[r].strip()
        if email and not EMAIL.match(email):
            raise NbfleetError(where(cols.email), f"{email!r} is not an e-mail address")
        admin_text = admins[r].strip().upper()
        if admin_text not in ("TRUE", "FALSE", ""):
            raise NbfleetError(where(cols.admin), f"{cols.admin} must be TRUE or FALSE, not {admins[r]!r}")
        memory = None
        if memories[r].strip():
            try:
                memory = parse_memory(memories[r])
            except ValueError as exc:
                raise NbfleetError(where(cols.memory), str(exc)) from None
        server = servers[r].strip() or None
        if server is not None and server not in by_name:
            raise NbfleetError(where(cols.server), f"server {server!r} is not in hosts (known: {', '.join(by_name)}; "
                               f"empty {cols.server} and {cols.port} to move the student)")
        port = None
        if ports[r].strip():
            text = ports[r].strip()
            if not text.isdigit():
                raise NbfleetError(where(cols.port), f"port {text!r} is not a number")
            port = int(text)
            if server is None:
                raise NbfleetError(where(cols.port), f"a port without a server: fill {cols.server} too, or empty {cols.port}")
            if port < 1024:
                raise NbfleetError(where(cols.port), f"port {port} is below 1024 (reserved for the system)")
            low, high = by_name[server].ports
            if not low <= port <= high:
                raise NbfleetError(where(cols.port), f"port {port} is outside {server}'s range {low}-{high} "
                                   "(ports= in hosts; empty the cell for a new port)")
            if (server, port) in first_seat:
                raise NbfleetError(where(cols.port), f"{server}:{port} is already taken by line {table.line(first_seat[(server, port)])}")
            first_seat[(server, port)] = r
        if server is not None:
            load[server] = load.get(server, 0) + 1
            if load[server] > by_name[server].capacity:
                raise NbfleetError(where(cols.server), f"host {server} is over its capacity of {by_name[server].capacity} "
                                   "(raise capacity= in hosts or move students to another host)")
        students.append(Student(
            id=sid, name=names[r].strip(), last_name=last_names[r].strip(), email=email, admin=admin_text == "TRUE",
            server=server, port=port, password=passwords[r].strip() or None, url=urls[r].strip() or None, memory=memory,
            line=table.line(r),
        ))
        rows.append(r)
    return students, rows


def _blank_rows(frame) -> set[int]:
    """Rows in which every cell is empty (blank lines, or ``,,,,`` rows a spreadsheet exports)."""
    columns = [frame[c].tolist() for c in frame.columns]
    return {r for r, cells in enumerate(zip(*columns, strict=True)) if not any(c.strip() for c in cells)}


def load_roster(settings, hosts: Sequence[Host] | None = None) -> Roster:
    """Read and validate the course's roster (without filling anything in)."""
    hosts = load_hosts(settings) if hosts is None else hosts
    table = load_table(settings)
    students, _ = validate(table, hosts, settings.course.tag)
    return Roster(students, Path(settings.roster_file), table.label)

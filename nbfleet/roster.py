"""The class list, ``roster/users.csv``: read it, validate it, fill in what is missing, write it back safely.

The file is the teacher's (a spreadsheet or LMS export): comma- or tab-separated, UTF-8 with or without BOM,
with the Twente spreadsheet's columns as they are::

    SNumber, Name, LastName, Email, <tag>_url, <tag>_server, <tag>_port, Password, Admin

(``<tag>`` is ``course.tag``; an optional ``<tag>_memory`` column gives one student a memory limit of their own).
Columns nbfleet does not know are kept untouched, in their place. ``doit roster`` fills only what is missing:
server, port and password, once, never changing a value already written; the url column is derived from the
host's public name, the port and the scheme (https when course.toml names a certificate).

Reading and writing use pandas, imported only when a roster is read, so importing this module stays cheap.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
import secrets
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

from .atomic import write_private
from .errors import NbfleetError
from .hosts import Host, load_hosts
from .settings import parse_memory

REQUIRED = ("SNumber", "Name", "LastName", "Email")
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
PASSWORD_ALPHABET = string.ascii_letters + string.digits  # the Twente script's alphabet


@dataclass(frozen=True)
class Columns:
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
    def for_tag(cls, tag: str) -> "Columns":
        return cls("SNumber", "Name", "LastName", "Email", f"{tag}_url", f"{tag}_server", f"{tag}_port", "Password", "Admin", f"{tag}_memory")

    @property
    def filled(self) -> tuple[str, ...]:
        """Columns ``doit roster`` fills, in the order they are appended when a file lacks them."""
        return (self.url, self.server, self.port, self.password)


@dataclass(frozen=True)
class Student:
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
    line: int = field(default=0, compare=False)  # where the row starts in the file, for messages

    @property
    def allocated(self) -> bool:
        return bool(self.server and self.port and self.password)

    @property
    def full_name(self) -> str:
        return f"{self.name} {self.last_name}".strip()


@dataclass
class Roster:
    """A validated roster: the students in file order and what is needed to write it back."""

    students: list[Student]
    file: Path
    label: str  # the file's name in messages

    def on_host(self, host: str) -> list[Student]:
        return [s for s in self.students if s.server == host]


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


# ---------------------------------------------------------------- reading


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


def load_table(settings) -> Table:
    """The course's roster file as a Table."""
    return read_table(settings.roster_file, _label(settings.roster_file, settings.root))


# ---------------------------------------------------------------- validating


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
        where = lambda c: table.where(r, c)  # noqa: E731
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
                raise NbfleetError(where(cols.port), f"port {port} is outside {server}'s range {low}-{high} (ports= in hosts; empty the cell for a new port)")
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
    return {r for r, cells in enumerate(zip(*columns)) if not any(c.strip() for c in cells)}


# ---------------------------------------------------------------- allocating (pure)


def url_scheme(settings) -> str:
    """``https`` when course.toml names a certificate and key, else ``http``."""
    return "https" if settings.launch.tls_cert else "http"


def student_url(host: Host, port: int, scheme: str) -> str:
    """The address a student opens: the host's public name and the student's port."""
    return f"{scheme}://{host.public}:{port}/"


def new_password(length: int = 12) -> str:
    """A fresh password from ``secrets``: ``length`` letters and digits, each equally likely."""
    chars: list[str] = []
    limit = 256 - 256 % len(PASSWORD_ALPHABET)  # drop the bytes that would favour the first letters
    while len(chars) < length:
        chars += [PASSWORD_ALPHABET[b % len(PASSWORD_ALPHABET)] for b in secrets.token_bytes(length + 4) if b < limit]
    return "".join(chars[:length])


def allocate(
    students: Sequence[Student],
    hosts: Sequence[Host],
    scheme: str,
    make_password: Callable[[], str] = new_password,
    where: Callable[[Student], str] = lambda s: f"student {s.id}",
) -> list[Student]:
    """Fill server, port, password and url of every student who lacks them; never change a value already set.

    A new student goes to the least-loaded host with room (fewest students per unit of capacity; ties go to
    the host listed first), on the lowest free port of that host's range. Raises NbfleetError when no host has
    room (``where`` names the row). Pure apart from ``make_password``.
    """
    by_name = {h.name: h for h in hosts}
    load = {h.name: 0 for h in hosts}
    used: dict[str, set[int]] = {h.name: set() for h in hosts}
    for s in students:
        if s.server:
            load[s.server] += 1
            if s.port is not None:
                used[s.server].add(s.port)
    cursor = {h.name: h.ports[0] for h in hosts}

    def free_port(host: Host) -> int:
        port = cursor[host.name]
        while port in used[host.name]:
            port += 1
        if port > host.ports[1]:  # capacity <= size of the range is checked in hosts, so this means a full range
            raise NbfleetError(host.name, f"no free port left in {host.ports[0]}-{host.ports[1]}")
        used[host.name].add(port)
        cursor[host.name] = port + 1
        return port

    out: list[Student] = []
    for s in students:
        server, port, password = s.server, s.port, s.password
        if server is None:
            room = [h for h in hosts if load[h.name] < h.capacity]
            if not room:
                total = sum(h.capacity for h in hosts)
                raise NbfleetError(where(s), f"no host has room for {s.id}: all {total} places are taken (raise capacity= or add a host in hosts)")
            best = min(room, key=lambda h: load[h.name] / h.capacity)  # min keeps the first of equals: hosts-file order
            server = best.name
            load[server] += 1
        if port is None:
            port = free_port(by_name[server])
        if password is None:
            password = make_password()
        url = student_url(by_name[server], port, scheme)
        if (server, port, password, url) != (s.server, s.port, s.password, s.url):
            s = dataclasses.replace(s, server=server, port=port, password=password, url=url)
        out.append(s)
    return out


# ---------------------------------------------------------------- writing


def write_table(table: Table, path: Path, students: Sequence[Student], rows: Sequence[int], tag: str) -> None:
    """Write the roster back atomically (temp file + rename, mode 0600), with the students' filled cells.

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


def load_roster(settings, hosts: Sequence[Host] | None = None) -> Roster:
    """Read and validate the course's roster (without filling anything in)."""
    hosts = load_hosts(settings) if hosts is None else hosts
    table = load_table(settings)
    students, _ = validate(table, hosts, settings.course.tag)
    return Roster(students, Path(settings.roster_file), table.label)


@dataclass(frozen=True)
class Filled:
    """What ``doit roster`` did."""

    label: str
    students: int
    admins: int
    servers: int  # students given a host
    ports: int
    passwords: int
    urls: int  # urls written or rewritten
    load: dict[str, tuple[int, int]]  # host -> (students, capacity)
    written: bool

    def lines(self) -> Iterable[str]:
        yield f"{self.label}: {self.students} students ({self.admins} admin{'s' if self.admins != 1 else ''})"
        if self.written:
            yield (f"  filled in: {self.servers} servers, {self.ports} ports, {self.passwords} passwords, {self.urls} urls"
                   " (file rewritten, mode 0600)")
        else:
            yield "  nothing to fill in: file untouched"
        yield "  hosts: " + ", ".join(f"{h} {n}/{c}" for h, (n, c) in self.load.items())


def fill_roster(settings, make_password: Callable[[], str] | None = None) -> Filled:
    """``doit roster``: validate the roster, fill in server, port, password and url, rewrite it if anything changed."""
    hosts = load_hosts(settings)
    table = load_table(settings)
    tag = settings.course.tag
    students, rows = validate(table, hosts, tag)
    length = settings.roster.password_length
    filled = allocate(
        students, hosts, url_scheme(settings), make_password or (lambda: new_password(length)),
        where=lambda s: f"{table.label}:{s.line}:{(table.index(Columns.for_tag(tag).server) or 0) + 1}",
    )
    cols = Columns.for_tag(tag)
    missing_columns = any(table.index(c) is None for c in cols.filled)
    changed = [(a, b) for a, b in zip(students, filled) if a != b]
    written = bool(changed or missing_columns)
    if written:
        write_table(table, settings.roster_file, filled, rows, tag)
    load = {h.name: (sum(1 for s in filled if s.server == h.name), h.capacity) for h in hosts}
    return Filled(
        label=table.label, students=len(filled), admins=sum(s.admin for s in filled),
        servers=sum(a.server != b.server for a, b in changed), ports=sum(a.port != b.port for a, b in changed),
        passwords=sum(a.password != b.password for a, b in changed), urls=sum(a.url != b.url for a, b in changed),
        load=load, written=written,
    )


def _label(file: Path, root) -> str:
    try:
        return str(Path(file).resolve().relative_to(Path(root).resolve()))
    except ValueError:
        return str(file)

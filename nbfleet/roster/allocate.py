"""``doit roster``: give every student who lacks them a server, a port, a password and a url, never changing a value
already written (pure allocation, then one atomic write of the roster file)."""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

from ..errors import NbfleetError
from .hosts import Host, load_hosts
from .students import Student, load_table, validate
from .table import Columns, write_table

PASSWORD_ALPHABET = string.ascii_letters + string.digits  # the Twente script's alphabet


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
            s = s._replace(server=server, port=port, password=password, url=url)
        out.append(s)
    return out


class Filled(NamedTuple):
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
    changed = [(a, b) for a, b in zip(students, filled, strict=True) if a != b]
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

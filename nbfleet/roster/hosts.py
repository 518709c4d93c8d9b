"""The course's lab servers: parse the ``hosts`` file, one Docker engine a line.

A line is ``<name> <endpoint> key=value…``::

    # name   endpoint                      options
    local    local                         capacity=40 public=localhost ports=20000-20999
    lab2     ssh://teacher@lab2.example    capacity=60 course_root=/srv/course
    lab3     tcp://lab3:2376               tls_ca=secrets/ca.pem tls_cert=secrets/cert.pem tls_key=secrets/key.pem
    lab4     ssh://teacher@lab4.example    course_root=/srv/course shared=no

Endpoints: ``local`` (this machine's engine), ``unix:///path.sock``, ``tcp://host:port`` (with the TLS files),
``ssh://[user@]host[:port]``. ``shared=no`` says the host's course folder is on its own disk, not the folder nbfleet
runs in (seen there through NFS or because it is this machine): assignments then reach it through its engine.
Pure Python and cheap: task creators parse this file while doit lists tasks.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, NamedTuple

from .. import paths
from ..errors import NbfleetError
from ..settings import HOST_NAME

DNS_NAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")
IPV6 = re.compile(r"^\[[0-9A-Fa-f:.]+\]$")
SSH_USER = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,31}$")
PORTS = re.compile(r"^(\d{1,5})-(\d{1,5})$")
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")
OPTIONS = ("capacity", "public", "ports", "course_root", "shared", "tls_ca", "tls_cert", "tls_key")
DEFAULT_CAPACITY = 50
DEFAULT_PORTS = (20000, 20999)


class Host(NamedTuple):
    """One lab server: where its Docker engine answers and how many students it takes.

    ``tls`` is ``None`` or ``{"ca": path, "cert": path, "key": path}`` (absolute paths, the keys given) for a
    ``tcp://`` endpoint.
    """

    name: str
    endpoint: str
    capacity: int = DEFAULT_CAPACITY
    public: str = "localhost"
    ports: tuple[int, int] = DEFAULT_PORTS
    course_root: str = ""
    tls: dict[str, str] | None = None
    shared: bool = True  # the course folder there is this machine's (same disk, or NFS); no: a disk of its own

    def __hash__(self) -> int:
        # a host is a dict key (assignments.host_folders groups students by host); its tls options are a dict
        return hash((self.name, self.endpoint))

    @property
    def is_local(self) -> bool:
        """True when the engine runs on this machine (``local`` or a ``unix://`` socket)."""
        return self.endpoint == "local" or self.endpoint.startswith("unix://")

    def as_dict(self) -> dict[str, Any]:
        """The host as it appears in a launch manifest."""
        return {
            "name": self.name,
            "endpoint": self.endpoint,
            "public": self.public,
            "ports": list(self.ports),
            "course_root": self.course_root,
            "tls": dict(self.tls) if self.tls else None,
            "shared": self.shared,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Host:
        """The host a launch manifest describes (the inverse of ``as_dict``)."""
        return cls(data["name"], data["endpoint"], public=data.get("public", "localhost"),
                   ports=tuple(data.get("ports") or DEFAULT_PORTS), course_root=data.get("course_root", ""),
                   tls=dict(data["tls"]) if data.get("tls") else None, shared=data.get("shared", True))


def load_hosts(settings) -> list[Host]:
    """Read and validate the course's ``hosts`` file; raise NbfleetError naming file, line and column."""
    file = Path(settings.hosts_file)
    label = paths.shown(file, settings.root)
    try:
        text = file.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise NbfleetError(label, "no hosts file: list the lab servers, one a line (e.g. `local local capacity=40`)") from None
    except UnicodeDecodeError as exc:
        raise NbfleetError(label, f"not UTF-8 (byte {exc.start})") from None
    except OSError as exc:
        raise NbfleetError(label, f"cannot read it: {exc.strerror}") from None
    return parse_hosts(text, label, Path(settings.root))


def parse_hosts(text: str, label: str, root: Path) -> list[Host]:
    """Parse the text of a ``hosts`` file; ``label`` names the file in errors, ``root`` is the course folder.

    Relative paths (TLS files) are taken relative to ``root``; ``course_root`` defaults to ``root``: the course
    folder is at the same path on every host (e.g. a shared NFS mount) unless a line says otherwise.
    """
    hosts: list[Host] = []
    seen_names: dict[str, int] = {}
    seen_endpoints: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        body = line.split("#", 1)[0]
        words = [(m.start() + 1, m.group()) for m in re.finditer(r"\S+", body)]
        if not words:
            continue
        where = lambda col, number=number: f"{label}:{number}:{col}"  # noqa: E731
        if len(words) < 2:
            raise NbfleetError(where(words[0][0]), "a host line needs a name and a Docker endpoint, e.g. `lab1 ssh://teacher@lab1`")
        (ncol, name), (ecol, endpoint) = words[0], words[1]
        if "=" in name or not HOST_NAME.match(name):
            raise NbfleetError(where(ncol), f"{name!r} is not a host name (letters, digits, '.', '_' or '-', up to 63)")
        if name in seen_names:
            raise NbfleetError(where(ncol), f"host {name!r} is listed twice (first on line {seen_names[name]})")
        default_public = _check_endpoint(endpoint, where(ecol))
        if endpoint in seen_endpoints:
            raise NbfleetError(where(ecol), f"endpoint {endpoint} is listed twice (first on line {seen_endpoints[endpoint]})")
        options: dict[str, tuple[int, str]] = {}
        for col, word in words[2:]:
            key, eq, value = word.partition("=")
            if not eq or not value:
                raise NbfleetError(where(col), f"{word!r} is not an option: write key=value ({', '.join(OPTIONS)})")
            if key not in OPTIONS:
                raise NbfleetError(where(col), f"unknown option {key!r} (known: {', '.join(OPTIONS)})")
            if key in options:
                raise NbfleetError(where(col), f"option {key!r} given twice")
            options[key] = (col + len(key) + 1, value)
        hosts.append(_host(name, endpoint, default_public, options, where, root, ecol))
        seen_names[name] = number
        seen_endpoints[endpoint] = number
    if not hosts:
        raise NbfleetError(label, "no hosts listed: add one line per lab server (e.g. `local local capacity=40`)")
    return hosts


def _check_endpoint(endpoint: str, where: str) -> str:
    """Validate a Docker endpoint; return the host name students' URLs use by default."""
    if endpoint == "local":
        return "localhost"
    scheme, sep, rest = endpoint.partition("://")
    if not sep:
        raise NbfleetError(where, f"{endpoint!r} is not a Docker endpoint (local, unix:///path.sock, tcp://host:port, ssh://user@host)")
    if scheme == "unix":
        if not rest.startswith("/") or rest.endswith("/") or any(c.isspace() for c in rest):
            raise NbfleetError(where, f"{endpoint!r}: a unix endpoint is unix:// and an absolute socket path")
        return "localhost"
    if scheme == "tcp":
        host, port = _host_port(rest, where, endpoint, need_port=True)
        return host
    if scheme == "ssh":
        user, at, hostport = rest.rpartition("@")
        if at and not SSH_USER.match(user):
            raise NbfleetError(where, f"{endpoint!r}: {user!r} is not a login name")
        host, _ = _host_port(hostport, where, endpoint, need_port=False)
        return host
    raise NbfleetError(where, f"{endpoint!r}: unknown scheme {scheme!r} (local, unix://, tcp://, ssh://)")


def _host_port(text: str, where: str, endpoint: str, need_port: bool) -> tuple[str, int | None]:
    if text.startswith("["):
        host, close, after = text.partition("]")
        host += close
        port_text = after[1:] if after.startswith(":") else None
        if after and port_text is None:
            raise NbfleetError(where, f"{endpoint!r}: expected :port after the address")
    else:
        host, colon, port_text = text.partition(":")
        port_text = port_text if colon else None
    if not (DNS_NAME.match(host) or IPV6.match(host)):
        raise NbfleetError(where, f"{endpoint!r}: {host!r} is not a host name or address")
    if port_text is None:
        if need_port:
            raise NbfleetError(where, f"{endpoint!r}: a tcp endpoint needs a port (tcp://host:2376)")
        return host, None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise NbfleetError(where, f"{endpoint!r}: {port_text!r} is not a port number")
    return host, int(port_text)


def _host(name, endpoint, default_public, options, where, root: Path, ecol: int) -> Host:
    def opt(key):
        return options.get(key, (0, None))

    col, value = opt("capacity")
    capacity = DEFAULT_CAPACITY
    if value is not None:
        if not value.isdigit():
            raise NbfleetError(where(col), f"capacity={value!r} is not a whole number")
        capacity = int(value)

    col, value = opt("ports")
    ports = DEFAULT_PORTS
    if value is not None:
        m = PORTS.match(value)
        if not m:
            raise NbfleetError(where(col), f"ports={value!r} is not a range such as 20000-20999")
        low, high = int(m.group(1)), int(m.group(2))
        if low < 1024:
            raise NbfleetError(where(col), f"ports={value}: ports below 1024 are reserved for the system")
        if high > 65535 or low > high:
            raise NbfleetError(where(col), f"ports={value}: need LOW-HIGH with LOW <= HIGH <= 65535")
        ports = (low, high)
    if capacity > ports[1] - ports[0] + 1:
        col = opt("capacity")[0] or opt("ports")[0] or 1
        raise NbfleetError(where(col), f"capacity {capacity} is more than the {ports[1] - ports[0] + 1} ports in {ports[0]}-{ports[1]}")

    col, value = opt("public")
    public = default_public
    if value is not None:
        if not (DNS_NAME.match(value) or IPV6.match(value)):
            raise NbfleetError(where(col), f"public={value!r} is not a host name or address")
        public = value

    col, value = opt("course_root")
    course_root = str(root)
    if value is not None:
        if not value.startswith("/"):
            raise NbfleetError(where(col), f"course_root={value!r} must be an absolute path on that host")
        course_root = str(Path(value))  # normalise slashes; never resolved: it is a path on the remote host

    col, value = opt("shared")
    shared = True
    if value is not None:
        if value not in ("yes", "no"):
            raise NbfleetError(where(col), f"shared={value!r}: say yes (the course folder there is this machine's, e.g. over NFS) "
                               "or no (a disk of its own)")
        shared = value == "yes"
        if not shared and (endpoint == "local" or endpoint.startswith("unix://")) and opt("course_root")[1] is None:
            raise NbfleetError(where(col), "shared=no needs course_root=: where the course folder is on that host's own disk")

    tls = {k[4:]: str((root / v).resolve()) for k in ("tls_ca", "tls_cert", "tls_key") if (v := opt(k)[1]) is not None}
    if tls:
        if not endpoint.startswith("tcp://"):
            raise NbfleetError(where(opt("tls_ca")[0] or opt("tls_cert")[0] or opt("tls_key")[0]),
                               "tls_ca/tls_cert/tls_key are for tcp:// endpoints only")
        if ("cert" in tls) != ("key" in tls):
            raise NbfleetError(where(opt("tls_cert")[0] or opt("tls_key")[0]), "tls_cert and tls_key go together")
    if endpoint.startswith("tcp://") and set(tls) != {"ca", "cert", "key"} and default_public not in LOOPBACK:
        # A Docker port without TLS gives root on that host to anyone on the network who can reach it.
        raise NbfleetError(where(ecol), f"{endpoint!r}: a tcp:// engine needs tls_ca=, tls_cert= and tls_key= "
                           "(plain tcp only on 127.0.0.1)")
    return Host(name, endpoint, capacity, public, ports, course_root, tls or None, shared)


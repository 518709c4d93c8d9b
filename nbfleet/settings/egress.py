"""An egress policy (``[launch] egress``, ``[workshop] egress``): where a server may open connections, as data.

    "internet"   public addresses only (the default for a class; private ranges and link-local blocked)
    "open"       everything except the metadata range 169.254.0.0/16
    "none"       no outbound connection at all
    ["10.20.0.0/16:5432", "public:443"]   only these destinations ("public": any address that is not private)

``parse`` turns the TOML value into an ``Egress`` or raises one line naming the key; ``Egress.text`` is its
canonical form, which is what manifests record (and hash).
"""

from __future__ import annotations

import ipaddress
import re
from typing import NamedTuple

from ..errors import NbfleetError

WORDS = ("internet", "open", "none")
METADATA = "169.254.0.0/16"
PRIVATE = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", METADATA)
PORTS = re.compile(r"^\d{1,5}(-\d{1,5})?(,\d{1,5}(-\d{1,5})?)*$")


class Allow(NamedTuple):
    """One destination of a list policy: ``public`` or an IPv4 network, and its ports as (low, high) ranges."""

    to: str  # "public" or a network in CIDR form
    ports: tuple[tuple[int, int], ...]

    @property
    def text(self) -> str:
        return f"{self.to}:" + ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in self.ports)


class Egress(NamedTuple):
    """A parsed policy: ``kind`` is one of WORDS or "list" (then ``allow`` says what)."""

    kind: str
    allow: tuple[Allow, ...] = ()

    @property
    def text(self) -> str:
        """The canonical form: a word, or the entries joined by spaces."""
        return self.kind if self.kind != "list" else " ".join(a.text for a in self.allow)

    @property
    def outbound(self) -> bool:
        """Whether anything outbound is allowed (then DNS is too)."""
        return self.kind != "none"


def parse(value, where: str) -> Egress:
    """An Egress from a TOML value (a word or a list of "CIDR:PORTS" / "public:PORTS"); NbfleetError naming ``where``."""
    if isinstance(value, str):
        if value not in WORDS:
            raise NbfleetError(where, f"{value!r} is not a policy: use \"internet\", \"open\", \"none\" or a list of "
                               "\"CIDR:PORTS\" / \"public:PORTS\" entries")
        return Egress(value)
    if not isinstance(value, list) or not value:
        raise NbfleetError(where, "must be \"internet\", \"open\", \"none\" or a non-empty list of \"CIDR:PORTS\" entries")
    allow = tuple(_entry(item, f"{where}[{i}]") for i, item in enumerate(value))
    return Egress("list", allow)


def from_text(text: str) -> Egress:
    """The Egress whose canonical form is ``text`` (as a manifest records it)."""
    return Egress(text) if text in WORDS else parse(text.split(), "egress")


def _entry(item, where: str) -> Allow:
    if not isinstance(item, str) or ":" not in item:
        raise NbfleetError(where, f"{item!r} is not \"CIDR:PORTS\" or \"public:PORTS\" (e.g. \"10.20.0.0/16:5432\", \"public:443\")")
    to, _, ports = item.rpartition(":")
    if to != "public":
        try:
            net = ipaddress.IPv4Network(to, strict=False)
        except ValueError:
            raise NbfleetError(where, f"{to!r} in {item!r} is not an IPv4 network (CIDR such as 10.20.0.0/16) or \"public\"") from None
        if net.overlaps(ipaddress.IPv4Network(METADATA)):
            raise NbfleetError(where, f"{item!r} reaches the metadata range {METADATA}, which is never allowed")
        to = str(net)
    if not PORTS.match(ports):
        raise NbfleetError(where, f"{ports!r} in {item!r} is not a port list (numbers and ranges: 443, 80,443, 8000-8100)")
    ranges = []
    for part in ports.split(","):
        lo, _, hi = part.partition("-")
        low, high = int(lo), int(hi or lo)
        if not 1 <= low <= high <= 65535:
            raise NbfleetError(where, f"port {part!r} in {item!r} is out of range (1-65535, low-high)")
        ranges.append((low, high))
    return Allow(to, tuple(ranges))

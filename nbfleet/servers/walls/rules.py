"""The iptables rules of a course's walls on one engine, as text for ``iptables-restore --noflush`` (pure).

Every rule lives in chains of nbfleet's own, named after the course and the engine (``NBF-<8 hex>…``), so that two
courses, or two engines on one machine, never touch each other's. Two jumps lead to them, one at the top of
Docker's ``DOCKER-USER`` (what containers send through the host) and one in ``INPUT`` (what they send to the host
itself: its Docker API, its sshd, other students' published ports). From there one chain per network, entered for
packets coming in from that network's bridge:

* replies to connections made to the server (its published port) always pass;
* nothing reaches another container on the same bridge (Docker's inter-container switch is off too), except the
  workshop's own flows between hub, proxy and visitors (``Pass``);
* nothing reaches the metadata range 169.254.0.0/16, nor the host itself;
* DNS (port 53) passes whenever anything outbound is allowed; then the network's egress policy.

Blocked connections are rejected (ICMP admin-prohibited): a student's code fails at once instead of hanging.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import NamedTuple

from ...settings.egress import METADATA, PRIVATE, Egress

REJECT = "-j REJECT --reject-with icmp-admin-prohibited"
COMMENT = "nbfleet"
MULTIPORT_MAX = 15  # ports (a range counts two) in one multiport match


class Pass(NamedTuple):
    """A flow allowed between containers of one network: from ``source`` (an IP, or "" for any) to ``dest`` (an IP,
    or "" for any) on TCP ``ports``."""

    source: str
    dest: str
    ports: tuple[int, ...] = ()


class Network(NamedTuple):
    """One network's walls: its name (Docker's), its bridge on the host, its egress policy, flows allowed inside it."""

    name: str
    bridge: str
    egress: Egress
    inside: tuple[Pass, ...] = ()


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def prefix(engine_id: str, course: str) -> str:
    """The chains of ``course`` on the engine ``engine_id`` all start with this."""
    return "NBF-" + _digest(engine_id, course)[:8].upper()


def bridge_name(engine_id: str, network: str) -> str:
    """The Linux bridge of ``network`` on the engine ``engine_id`` (15 characters at most, unique on the machine)."""
    return "nbf" + _digest(engine_id, network)[:11]


def chains(course_prefix: str) -> tuple[str, str]:
    """The course's two entry chains: for what its containers send through the host, and to the host."""
    return course_prefix, f"{course_prefix}-IN"


def _network_chain(course_prefix: str, network: str) -> str:
    return f"{course_prefix}-{_digest(network)[:6].upper()}"


def _ports(ranges: Sequence[tuple[int, int]]) -> list[str]:
    """``--dports`` values of at most MULTIPORT_MAX ports each."""
    out, current, used = [], [], 0
    for lo, hi in ranges:
        cost = 1 if lo == hi else 2
        if used + cost > MULTIPORT_MAX:
            out.append(",".join(current))
            current, used = [], 0
        current.append(str(lo) if lo == hi else f"{lo}:{hi}")
        used += cost
    if current:
        out.append(",".join(current))
    return out


def _to_ports(chain: str, dest: str, ranges, verdict: str) -> list[str]:
    d = f" -d {dest}" if dest else ""
    return [f"-A {chain}{d} -p {proto} -m multiport --dports {ports} {verdict}"
            for ports in _ports(ranges) for proto in ("tcp", "udp")]


def network_rules(course_prefix: str, net: Network) -> tuple[list[str], list[str]]:
    """The chains (names) and rules of one network: what its containers may send through the host and to it."""
    fwd = _network_chain(course_prefix, net.name)
    inp, pub = f"{fwd}-IN", f"{fwd}-PUB"
    names = [fwd, inp]
    rules = [f"-A {fwd} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN"]
    for p in net.inside:
        src, dst = (f" -s {p.source}" if p.source else ""), (f" -d {p.dest}" if p.dest else "")
        match = f" -p tcp -m multiport --dports {','.join(map(str, p.ports))}" if p.ports else ""
        rules.append(f"-A {fwd}{src}{dst} -o {net.bridge}{match} -j ACCEPT")
    rules += [f"-A {fwd} -o {net.bridge} {REJECT}", f"-A {fwd} -d {METADATA} {REJECT}"]
    egress = net.egress
    if egress.outbound:
        rules += [f"-A {fwd} -p udp --dport 53 -j RETURN", f"-A {fwd} -p tcp --dport 53 -j RETURN"]
    if egress.kind == "open":
        rules.append(f"-A {fwd} -j RETURN")
    elif egress.kind == "internet":
        rules += [f"-A {fwd} -d {block} {REJECT}" for block in PRIVATE] + [f"-A {fwd} -j RETURN"]
    elif egress.kind == "none":
        rules.append(f"-A {fwd} {REJECT}")
    else:
        public = [a for a in egress.allow if a.to == "public"]
        for a in egress.allow:
            if a.to != "public":
                rules += _to_ports(fwd, a.to, a.ports, "-j RETURN")
        if public:
            names.append(pub)
            rules.append(f"-A {fwd} -j {pub}")
            rules += [f"-A {pub} -d {block} -j RETURN" for block in PRIVATE]  # back to fwd: not public
            for a in public:
                rules += _to_ports(pub, "", a.ports, "-j ACCEPT")
        rules.append(f"-A {fwd} {REJECT}")
    rules.append(f"-A {inp} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN")
    if egress.outbound:  # a resolver on the host itself (the bridge's gateway)
        rules += [f"-A {inp} -p udp --dport 53 -j RETURN", f"-A {inp} -p tcp --dport 53 -j RETURN"]
    rules.append(f"-A {inp} {REJECT}")
    return names, rules


def restore_text(course_prefix: str, networks: Sequence[Network]) -> tuple[str, list[str]]:
    """``iptables-restore --noflush`` input for a course's networks, and every chain it declares.

    Declaring a chain flushes it: applying the text again replaces the rules, all at once, and never adds a copy.
    """
    fwd, inp = chains(course_prefix)
    names, body = [fwd, inp], []
    for net in sorted(networks, key=lambda n: n.name):
        net_names, rules = network_rules(course_prefix, net)
        body += [f"-A {fwd} -i {net.bridge} -m comment --comment \"{COMMENT} {net.name}\" -j {net_names[0]}",
                 f"-A {inp} -i {net.bridge} -m comment --comment \"{COMMENT} {net.name}\" -j {net_names[1]}"]
        names += net_names
        body += rules
    text = "\n".join(["*filter", *(f":{n} - [0:0]" for n in names), *body, "COMMIT", ""])
    return text, names

"""Places a student's server must (or must not) reach, all on this machine: listeners in a network namespace the
test makes itself, joined to the host by a veth pair, on a private address, a "public" one (TEST-NET-2, routed
here and nowhere else) and the cloud metadata address 169.254.169.254; and a probe that tries a TCP connection
from inside a container.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import time

METADATA_IP = "169.254.169.254"
PUBLIC_IP = "198.51.100.7"  # documentation range: stands in for the internet, routed only into the test's namespace
PORTS = (53, 80, 443, 5432, 8080)

LISTENER = r"""
import socket, sys, threading
def serve(port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port)); s.listen(64)
    while True:
        c, _ = s.accept(); c.sendall(b"hello %d\n" % port); c.close()
for p in map(int, sys.argv[1:]):
    threading.Thread(target=serve, args=(p,), daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
"""

# A TCP connection from inside a container (its image has perl, as the tiny image and every course image do).
PROBE = ('use IO::Socket::INET; my $s = IO::Socket::INET->new(PeerAddr => $ARGV[0], PeerPort => $ARGV[1], Timeout => 3); '
         'print $s ? "connected\\n" : "failed $@\\n";')


class Outside:
    """A network namespace with listeners on a private address, ``PUBLIC_IP`` and ``METADATA_IP``, routed from the host."""

    def __init__(self):
        tag = secrets.token_hex(3)
        self.netns, self.veth = f"nbfo{tag}", f"nbfo{tag}h"
        n = 1 + secrets.randbelow(250)
        self.host_ip, self.private_ip = f"10.98.{n}.1", f"10.98.{n}.2"
        self.proc = None

    def start(self) -> Outside:
        ip = lambda *a: subprocess.run(["ip", *a], check=True, capture_output=True)  # noqa: E731
        ip("netns", "add", self.netns)
        ip("link", "add", self.veth, "type", "veth", "peer", "name", "eth0", "netns", self.netns)
        ip("addr", "add", f"{self.host_ip}/24", "dev", self.veth)
        ip("link", "set", self.veth, "up")
        ip("-n", self.netns, "addr", "add", f"{self.private_ip}/24", "dev", "eth0")
        for extra in (PUBLIC_IP, METADATA_IP):
            ip("-n", self.netns, "addr", "add", f"{extra}/32", "dev", "eth0")
            ip("route", "add", f"{extra}/32", "via", self.private_ip)
        ip("-n", self.netns, "link", "set", "eth0", "up")
        ip("-n", self.netns, "link", "set", "lo", "up")
        ip("-n", self.netns, "route", "add", "default", "via", self.host_ip)
        self.proc = subprocess.Popen(["ip", "netns", "exec", self.netns, sys.executable, "-c", LISTENER, *map(str, PORTS)],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert self.proc.stdout.readline().strip() == "ready"
        return self

    def run(self, *cmd: str, timeout: float = 90) -> subprocess.CompletedProcess:
        """``cmd`` run inside the namespace: a client of its own, whose connections to this machine come from
        ``private_ip`` (to ``host_ip``, where a port Docker publishes answers as on any address of the host)."""
        return subprocess.run(["ip", "netns", "exec", self.netns, *cmd], capture_output=True, text=True, timeout=timeout)

    def stop(self) -> None:
        if self.proc:
            self.proc.kill()
            self.proc.wait()
        for extra in (PUBLIC_IP, METADATA_IP):
            subprocess.run(["ip", "route", "del", f"{extra}/32"], capture_output=True)
        subprocess.run(["ip", "link", "del", self.veth], capture_output=True)
        subprocess.run(["ip", "netns", "del", self.netns], capture_output=True)


def reach(client, container: str, address: str, port: int) -> bool:
    """Whether ``container`` (running, with perl) can open a TCP connection to ``address:port`` and hear the listener."""
    out = client.containers.get(container).exec_run(["perl", "-e", PROBE, address, str(port)]).output.decode()
    return out.startswith("connected")


def host_listener(port: int):
    """A listener on every address of this machine (the host a server runs on), as its Docker API or sshd would be."""
    import socket

    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(16)
    return s


def wait_for(check, timeout: float = 10.0) -> bool:
    """``check()`` until it is true or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False



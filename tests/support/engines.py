"""Real Docker engines for the tests: this machine's (a failure, never a skip, under CI=true when none answers), a
second independent one, one in a network namespace of its own (a second machine), a one-node swarm, an sshd in front
of an engine, a registry, and a tiny server image that stands in for Jupyter where hundreds of servers must fit.

Everything a fixture starts it also stops and removes: engines (their data roots), bridges, sshd, containers.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

import pytest

from nbfleet import labels
from nbfleet.images.rootfs import make_root_image
from nbfleet.servers.walls import networks, rules
from nbfleet.settings import Base

# The tiny image: a Debian root with a 20-line perl HTTP server standing in for Jupyter, so that
# hundreds of "students" fit on one machine. It honours the image contract's parts launch relies on:
# CMD start-notebook (extra arguments ignored), port 8888, `nbfleet-activity` printing one JSON line
# (a test may write /tmp/activity.json inside the container to pretend a student is working).
TINY_SERVER = r"""#!/usr/bin/perl
use strict; use IO::Socket::INET; use POSIX qw(strftime);
$SIG{TERM} = $SIG{INT} = sub { exit 0 };
open(my $f, '>', '/tmp/started') or die "started: $!"; print $f strftime("%Y-%m-%dT%H:%M:%SZ", gmtime()), "\n"; close $f;
my $s = IO::Socket::INET->new(LocalPort => 8888, Listen => 128, ReuseAddr => 1) or die "listen: $!";
while (my $c = $s->accept) {
  while (my $l = <$c>) { last if $l =~ /^\r?\n$/ }
  print $c "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n";
  close $c;
}
"""
TINY_ACTIVITY = r"""#!/bin/sh
if [ -f /tmp/activity.json ]; then cat /tmp/activity.json; exit 0; fi
s=$(cat /tmp/started)
printf '{"started": "%s", "last_activity": "%s", "connections": 0, "kernels": 0}\n' "$s" "$s"
"""
TINY_DOCKERFILE = """FROM {base}
COPY start-notebook nbfleet-activity /usr/local/bin/
RUN chmod 755 /usr/local/bin/start-notebook /usr/local/bin/nbfleet-activity
EXPOSE 8888
CMD ["start-notebook"]
"""


def _tiny_digest() -> str:
    return hashlib.sha256((TINY_SERVER + TINY_ACTIVITY + TINY_DOCKERFILE).encode()).hexdigest()[:12]


def tiny_image_on(client) -> str:
    """Build (once, cached by content) the tiny server image on ``client``'s engine; returns its tag."""
    import docker

    tag = f"nbfleet-test/tiny:{_tiny_digest()}"
    try:
        client.images.get(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    base = None
    for candidate in ("nbfleet/root:bookworm", "nbfleet-test/root:bookworm"):
        try:
            client.images.get(candidate)
            base = candidate
            break
        except docker.errors.ImageNotFound:
            continue
    if base is None:  # no course built here yet: make a root image the way `doit base` does (debootstrap + import)
        base = "nbfleet-test/root:bookworm"
        with tempfile.TemporaryDirectory() as work:
            make_root_image(client, Base(), base, Path(work))
    ctx = io.BytesIO()
    with tarfile.open(fileobj=ctx, mode="w") as tar:
        for name, text in (("Dockerfile", TINY_DOCKERFILE.format(base=base)), ("start-notebook", TINY_SERVER),
                           ("nbfleet-activity", TINY_ACTIVITY)):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o755
            tar.addfile(info, io.BytesIO(data))
    ctx.seek(0)
    client.images.build(fileobj=ctx, custom_context=True, tag=tag, rm=True, forcerm=True)
    return tag


def _no_engine(reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"this test needs a Docker engine and none answers under CI: {reason}", pytrace=False)
    pytest.skip(f"no Docker engine: {reason}")


@pytest.fixture(scope="session")
def docker_client():
    """A Docker SDK client for the local engine; under CI=true a missing engine is a failure, not a skip."""
    import docker

    try:
        client = docker.from_env(timeout=600)
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure to reach the engine means the same thing here
        _no_engine(str(exc))
    yield client
    client.close()


@pytest.fixture(scope="session")
def tiny_image(docker_client) -> dict:
    """The tiny image on the local engine: {"tag", "id"}."""
    tag = tiny_image_on(docker_client)
    return {"tag": tag, "id": docker_client.images.get(tag).id}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_ports(n: int) -> list[int]:
    """``n`` distinct ports that are free now, below the kernel's ephemeral range (see port_block)."""
    low = port_block(n)
    return list(range(low, low + n))


_POOLS_TAKEN: set[int] = set()


def _address_pool() -> str:
    """A /16 for one test engine's networks, unlike any other engine's of this run: 10.50-99, beside the engines' own
    bridges (10.200-249) and their swarms' gateway bridges (10.100-149)."""
    free = [b for b in range(50, 100) if b not in _POOLS_TAKEN]
    b = free[secrets.randbelow(len(free))]
    _POOLS_TAKEN.add(b)
    return f"10.{b}.0.0/16"


def remove_rules_of(bridge: str) -> None:
    """Remove the rules dockerd put in this machine's iptables for its own ``--bridge``: it leaves them at shutdown,
    and a stale ``-s <subnet> ! -o <bridge> -j MASQUERADE`` would rewrite the source of traffic inside any later
    network given that subnet (bridged traffic passes iptables here)."""
    for table in ("filter", "nat"):
        out = subprocess.run(["iptables", "-t", table, "-S"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            args = shlex.split(line)
            if args[:1] == ["-A"] and any(a in ("-i", "-o") and b == bridge for a, b in itertools.pairwise(args)):
                subprocess.run(["iptables", "-t", table, "-D", *args[1:]], check=False)


class Engine:
    """A second, independent dockerd: own data-root, exec-root, socket, bridge and containerd namespaces."""

    def __init__(self, index: int):
        self.tag = f"nbf{secrets.token_hex(3)}{index}"  # unique: bridge, namespaces and folders of this engine
        self.dir = Path(tempfile.mkdtemp(prefix=f"{self.tag}-", dir="/tmp"))
        self.socket = self.dir / "docker.sock"
        self.endpoint = f"unix://{self.socket}"
        self.bridge = f"{self.tag}br"[:15]
        self.proc = None
        self.address = f"10.{200 + secrets.randbelow(50)}.{secrets.randbelow(250)}.1/24"
        self.pool = _address_pool()
        self.tcp_port = free_port()
        self.tcp_endpoint = f"tcp://127.0.0.1:{self.tcp_port}"
        self.tls: dict = {}

    def _make_tls(self) -> None:
        """A throw-away CA, a server certificate for 127.0.0.1 and a client certificate (Docker's --tlsverify mode)."""
        d = self.dir / "tls"
        d.mkdir()

        def ssl(*args):
            subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

        ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=nbfleet-test-ca", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        # Python 3.13+ verifies strictly (X509_STRICT): key usage and authority key identifier must be there
        common = "keyUsage=critical,digitalSignature,keyEncipherment\nauthorityKeyIdentifier=keyid,issuer\n"
        for name, ext in (("server", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"),
                          ("client", "extendedKeyUsage=clientAuth\n")):
            (d / f"{name}.ext").write_text(common + ext)
            ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}-key.pem", "-out", f"{name}.csr",
                "-subj", f"/CN={name}")
            ssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
                "-out", f"{name}-cert.pem", "-days", "2", "-extfile", f"{name}.ext")
        self.tls = {"ca": str(d / "ca.pem"), "cert": str(d / "client-cert.pem"), "key": str(d / "client-key.pem")}

    def start(self, timeout: float = 60) -> Engine:
        self._make_tls()
        self.bridge_made = subprocess.run(["ip", "link", "add", self.bridge, "type", "bridge"]).returncode == 0
        if not self.bridge_made:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise RuntimeError(f"cannot create bridge {self.bridge}")
        subprocess.run(["ip", "addr", "add", self.address, "dev", self.bridge], check=True)
        subprocess.run(["ip", "link", "set", self.bridge, "up"], check=True)
        self.log = open(self.dir / "dockerd.log", "wb")
        return self._run(timeout)

    def command(self) -> list[str]:
        """The dockerd command line of this engine."""
        tls = self.dir / "tls"
        return ["dockerd", "--data-root", str(self.dir / "data"), "--exec-root", str(self.dir / "exec"),
                "--pidfile", str(self.dir / "docker.pid"), "-H", self.endpoint, "--bridge", self.bridge,
                "-H", self.tcp_endpoint, "--tlsverify", "--tlscacert", str(tls / "ca.pem"),
                "--tlscert", str(tls / "server-cert.pem"), "--tlskey", str(tls / "server-key.pem"),
                "--containerd-namespace", self.tag, "--containerd-plugins-namespace", f"{self.tag}p",
                "--insecure-registry", "10.0.0.0/8",  # a test registry (Registry) on a test bridge speaks plain http
                # networks of its own: engines sharing this machine's routes must never give two bridges one subnet
                "--default-address-pool", f"base={self.pool},size=24"]

    def _run(self, timeout: float) -> Engine:
        """Start this engine's dockerd (again: its data root is kept) and wait until it answers."""
        import docker

        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            try:
                client = docker.DockerClient(base_url=self.endpoint, timeout=600)
                client.ping()
                self.client = client
                return self
            except Exception:  # noqa: BLE001 - not up yet
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"dockerd {self.tag} did not start: {(self.dir / 'dockerd.log').read_text()[-2000:]}") from None
                time.sleep(0.3)

    def restart(self, timeout: float = 60) -> Engine:
        """Stop dockerd as a machine's shutdown would (containers stop with it) and start it again on the same data."""
        self.client.close()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)
        return self._run(timeout)

    def stop(self) -> None:
        client = getattr(self, "client", None)
        if client is not None and self.proc and self.proc.poll() is None:
            for c in client.containers.list(all=True):
                try:
                    c.remove(force=True)
                except Exception:  # noqa: BLE001
                    pass
            client.networks.prune()  # their Linux bridges would outlive dockerd on this machine
            client.close()
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "bridge_made", False):
            subprocess.run(["ip", "link", "del", self.bridge], check=False, stderr=subprocess.DEVNULL)
            remove_rules_of(self.bridge)
        # dockerd unmounts its layers on shutdown; anything left mounted below the data root goes now
        mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()
                  if line.split()[1].startswith(str(self.dir))]
        for m in sorted(mounts, key=len, reverse=True):
            subprocess.run(["umount", "-l", m], check=False)
        shutil.rmtree(self.dir, ignore_errors=True)
        if hasattr(self, "log"):
            self.log.close()


class Sshd:
    """A real sshd on loopback whose sessions talk to ``engine`` (DOCKER_HOST), with a client HOME holding key and known_hosts."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.dir = Path(tempfile.mkdtemp(prefix="nbf-sshd-", dir="/tmp"))
        self.home = self.dir / "home"
        self.port = free_port()
        self.endpoint = f"ssh://root@127.0.0.1:{self.port}"
        self.proc = None

    def start(self, timeout: float = 20) -> Sshd:
        d, ssh = self.dir, self.home / ".ssh"
        ssh.mkdir(parents=True, mode=0o700)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / "host_key")], check=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(ssh / "id_ed25519")], check=True)
        shutil.copy(ssh / "id_ed25519.pub", d / "authorized_keys")
        host_pub = (d / "host_key.pub").read_text().split()
        (ssh / "known_hosts").write_text(f"[127.0.0.1]:{self.port} {host_pub[0]} {host_pub[1]}\n")
        (ssh / "config").write_text(f"Host 127.0.0.1\n  IdentityFile {ssh / 'id_ed25519'}\n  UserKnownHostsFile {ssh / 'known_hosts'}\n")
        (d / "sshd_config").write_text("\n".join([
            f"Port {self.port}", "ListenAddress 127.0.0.1", f"HostKey {d / 'host_key'}",
            f"AuthorizedKeysFile {d / 'authorized_keys'}", "StrictModes no", "PermitRootLogin prohibit-password",
            "PasswordAuthentication no", "KbdInteractiveAuthentication no", "UsePAM no", f"PidFile {d / 'sshd.pid'}",
            f"SetEnv DOCKER_HOST={self.engine.endpoint}", "MaxSessions 100", "MaxStartups 100:30:200", ""]))
        Path("/run/sshd").mkdir(exist_ok=True)
        self.proc = subprocess.Popen(["/usr/sbin/sshd", "-D", "-f", str(d / "sshd_config"), "-E", str(d / "sshd.log")],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("sshd did not start") from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def second_engine(docker_client):
    """A second, independent Docker engine on this machine, acting as a second lab server."""
    engine = Engine(1).start()
    yield engine
    engine.stop()


@pytest.fixture(scope="session")
def ssh_host(second_engine):
    """The second engine reached over ssh:// through a real sshd on loopback; ``.home`` is the client's HOME."""
    sshd = Sshd(second_engine).start()
    yield sshd
    sshd.stop()


@pytest.fixture
def ssh_home(ssh_host, monkeypatch):
    """Point ~ at the ssh client's HOME (key, known_hosts, config) for in-process SDK calls."""
    monkeypatch.setenv("HOME", str(ssh_host.home))
    return ssh_host.home


@pytest.fixture
def cleanup_containers():
    """Collects (client, course) pairs; removes every container of those courses afterwards (folders stay), and
    their walls (see ``remove_walls``)."""
    seen: list = []
    yield seen
    for client, course in seen:
        remove_course(client, course)


def containers(client, filters: dict | None = None) -> list:
    """Every container matching ``filters``, stopped ones too. docker-py inspects each one it lists, so a container
    removed meanwhile (a swarm task, a culled visitor) makes the call fail: it is listed again."""
    import docker

    for _ in range(20):
        try:
            return client.containers.list(all=True, filters=filters or {})
        except docker.errors.NotFound:
            time.sleep(0.1)
    return client.containers.list(all=True, filters=filters or {})


def remove_course(client, course: str) -> None:
    """Remove every container of a test course from an engine (folders stay), then its walls (see ``remove_walls``):
    a walls network left behind keeps its Linux bridge and its subnet on this machine after the engine ends, and
    enough of them leave the next engine no address pool."""
    for c in containers(client, {"label": f"{labels.COURSE}={course}"}):
        try:
            c.remove(force=True)
        except Exception:  # noqa: BLE001
            pass
    remove_walls(client, course)


def remove_swarm_course(manager, course: str, timeout: float = 60) -> None:
    """A test course off a swarm: its services, then (once their containers are gone) its swarm networks and the
    manager engine's walls (see ``remove_walls``)."""
    for svc in manager.api.services(filters={"label": f"{labels.COURSE}={course}"}):
        manager.api.remove_service(svc["ID"])
    deadline = time.monotonic() + timeout
    while containers(manager, {"label": f"{labels.COURSE}={course}"}) and time.monotonic() < deadline:
        time.sleep(0.5)
    for n in manager.api.networks(filters={"label": f"{labels.WALLS}={course}"}):
        if n.get("ConfigOnly") and n["Name"].endswith("-config"):
            try:
                manager.api.remove_network(n["Name"][: -len("-config")])  # the swarm network built from it goes first
            except Exception:  # noqa: BLE001 - not made, or gone already
                pass
    remove_walls(manager, course)


def nbfleet_rules(course_prefix: str = "NBF-") -> list[str]:
    """nbfleet's lines in this machine's iptables (``iptables -S``) whose chain names start with ``course_prefix``."""
    out = subprocess.run(["iptables", "-S"], capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if course_prefix in line]


def remove_walls(client, course: str) -> None:
    """Take a test course's walls off an engine in this machine's network namespace: its keeper, its networks, and
    its chains (nbfleet leaves them in place when a course stops; a test leaves nothing behind)."""
    for c in containers(client, {"label": f"{labels.WALLS}={course}"}):
        c.remove(force=True)
    for n in client.networks.list(filters={"label": f"{labels.WALLS}={course}"}):
        try:
            n.remove()
        except Exception:  # noqa: BLE001 - a container of another test still on it: the engine's end removes it
            pass
    try:
        course_prefix = rules.prefix(networks.engine_id(client), course)
    except Exception:  # noqa: BLE001 - the engine is gone already
        return
    lines = nbfleet_rules(course_prefix)
    for line in lines:
        if line.startswith("-A ") and not line.split()[1].startswith(course_prefix):  # the jumps into the course's chains
            subprocess.run(["iptables", "-D", *shlex.split(line)[1:]], check=False)
    chains_ = [line.split()[1] for line in lines if line.startswith("-N ")]
    for flag in ("-F", "-X"):
        for chain in chains_:
            subprocess.run(["iptables", flag, chain], check=False, capture_output=True)


def port_block(n: int = 20) -> int:
    """The first of ``n`` consecutive ports that are free now.

    Chosen below the kernel's ephemeral range: a port there can be taken at any moment by an outgoing
    connection, and Docker then fails to publish it ("address already in use").
    """
    import random

    ephemeral_low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for _ in range(200):
        low = random.randrange(21000, max(ephemeral_low, 21000 + 2 * n) - n)
        socks = []
        try:
            for p in range(low, low + n):
                s = socket.socket()
                socks.append(s)
                s.bind(("0.0.0.0", p))
            return low
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no block of free ports")


# ------------------------------------------------------------------ Docker Swarm on a test engine

class SwarmOn:
    """A one-node swarm on a test engine (never the machine's own), left again by ``leave``.

    ``swarm init`` makes a ``docker_gwbridge`` network, a Linux bridge of that fixed name on a 172.x subnet that
    ``swarm leave`` does not remove; it is made here first, with a bridge name and subnet of this engine's own.
    """

    def __init__(self, engine: Engine):
        self.engine = engine
        self.address = engine.address.split("/")[0]

    def init(self) -> SwarmOn:
        from docker.types import IPAMConfig, IPAMPool

        client = self.engine.client
        _, b, c, _ = self.address.split(".")
        subnet = f"10.{int(b) - 100}.{c}.0/24"  # beside the engine's own 10.200-249.x.0/24
        client.networks.create("docker_gwbridge", driver="bridge", ipam=IPAMConfig(pool_configs=[IPAMPool(subnet=subnet)]),
                               options={"com.docker.network.bridge.name": f"{self.engine.tag}gw"[:15],
                                        "com.docker.network.bridge.enable_icc": "false",
                                        "com.docker.network.bridge.enable_ip_masquerade": "true"})
        client.swarm.init(advertise_addr=self.address, listen_addr=f"{self.address}:2377")
        return self

    def leave(self) -> None:
        client = self.engine.client
        for s in client.api.services():
            try:
                client.api.remove_service(s["ID"])
            except Exception:  # noqa: BLE001
                pass
        client.swarm.leave(force=True)
        for name in ("docker_gwbridge",):
            try:
                client.networks.get(name).remove()
            except Exception:  # noqa: BLE001
                pass

    def join(self, worker: NetnsEngine) -> None:
        """Make ``worker`` a worker node of this swarm."""
        token = self.engine.client.swarm.attrs["JoinTokens"]["Worker"]
        worker.client.swarm.join(remote_addrs=[f"{self.address}:2377"], join_token=token,
                                 advertise_addr=worker.ip, listen_addr=f"{worker.ip}:2377")


class NetnsEngine(Engine):
    """A dockerd in a network namespace of its own, with its own address: a second machine for a two-node swarm.

    A veth pair joins the namespace to ``peer``'s bridge (``peer.address`` is the gateway); ports this engine
    publishes answer at ``.ip``, not on loopback. dockerd runs under ``nsenter --net`` (``ip netns exec`` would
    remount /sys, and dockerd then finds no cgroups).
    """

    def __init__(self, index: int, peer: Engine):
        super().__init__(index)
        self.peer = peer
        net = peer.address.split("/")[0].rsplit(".", 1)[0]
        self.ip = f"{net}.{100 + index}"
        self.netns = f"{self.tag}ns"
        self.veth = f"{self.tag}v"[:15]
        self.bip = f"10.{150 + secrets.randbelow(40)}.{secrets.randbelow(250)}.1/24"

    def start(self, timeout: float = 60) -> NetnsEngine:
        ip = lambda *a: subprocess.run(["ip", *a], check=True)  # noqa: E731
        ip("netns", "add", self.netns)
        self.netns_made = True
        ip("link", "add", self.veth, "type", "veth", "peer", "name", "eth0", "netns", self.netns)
        ip("link", "set", self.veth, "master", self.peer.bridge)
        ip("link", "set", self.veth, "up")
        ip("-n", self.netns, "addr", "add", f"{self.ip}/24", "dev", "eth0")
        ip("-n", self.netns, "link", "set", "eth0", "up")
        ip("-n", self.netns, "link", "set", "lo", "up")
        ip("-n", self.netns, "route", "add", "default", "via", self.peer.address.split("/")[0])
        self.log = open(self.dir / "dockerd.log", "wb")
        return self._run(timeout)

    def command(self) -> list[str]:
        return ["nsenter", f"--net=/var/run/netns/{self.netns}", "dockerd", "--data-root", str(self.dir / "data"),
                "--exec-root", str(self.dir / "exec"), "--pidfile", str(self.dir / "docker.pid"), "-H", self.endpoint,
                "--bip", self.bip, "--containerd-namespace", self.tag, "--containerd-plugins-namespace", f"{self.tag}p",
                "--insecure-registry", "10.0.0.0/8"]

    def halt(self) -> None:
        """Stop this machine's dockerd (its containers stop with it), as a lab server going down would."""
        self.client.close()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            try:
                self.client.swarm.leave(force=True)
            except Exception:  # noqa: BLE001
                pass
        super().stop()
        if getattr(self, "netns_made", False):
            subprocess.run(["ip", "link", "del", self.veth], check=False, stderr=subprocess.DEVNULL)
            subprocess.run(["ip", "netns", "del", self.netns], check=False)


class Registry:
    """A real image registry (Debian's docker-registry, Docker's distribution) on this machine, plain http, for tests.

    It listens on every address of this machine: engines on test bridges reach it at their bridge's gateway.
    """

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="nbf-registry-", dir="/tmp"))
        self.port = free_port()
        self.proc = None

    def start(self, timeout: float = 30) -> Registry:
        import requests

        if not shutil.which("docker-registry"):
            raise RuntimeError("docker-registry is not installed (Debian: apt-get install docker-registry; ./run tests does)")
        (self.dir / "config.yml").write_text(
            f"version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {self.dir / 'data'}\n"
            f"http:\n  addr: 0.0.0.0:{self.port}\n")
        self.log = open(self.dir / "registry.log", "wb")
        self.proc = subprocess.Popen(["docker-registry", "serve", str(self.dir / "config.yml")], stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{self.port}/v2/", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("docker-registry did not start")
            time.sleep(0.1)

    def tags(self, repository: str) -> list[str]:
        import requests

        r = requests.get(f"http://127.0.0.1:{self.port}/v2/{repository}/tags/list", timeout=5)
        return r.json().get("tags") or [] if r.status_code == 200 else []

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        if hasattr(self, "log"):
            self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

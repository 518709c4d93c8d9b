"""The walls' keeper on one engine: a small container of nbfleet's that puts the course's rules into the host's
firewall, and puts them back whenever they are gone.

It runs from the course's own image with the host's network and process namespaces and four capabilities
(NET_ADMIN, SYS_ADMIN, SYS_PTRACE, SYS_CHROOT), and calls the host's own ``iptables`` (the one dockerd uses,
through the mount namespace of the dockerd process: the image ships no firewall tools). It applies the rules at
start, says so in its log, then checks every 30 seconds that the two jumps into nbfleet's chains are still there.
Its restart policy is ``always``: after an engine restart or a reboot it applies them again. A changed rule set
recreates it (its label carries the rules' hash); an unchanged one leaves it alone, so a relaunch costs one list
call.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence

from ... import labels
from ...errors import NbfleetError
from .. import engine
from .rules import Network, chains, restore_text

APPLY_TIMEOUT = 30.0  # seconds for the keeper to say it applied the rules
CHECK_EVERY = 30  # seconds between the keeper's checks that its jumps are still there
APPLIED = "nbfleet walls: applied"

# Runs in the keeper: finds a dockerd (the host's mount namespace holds the host's iptables), applies, keeps.
SCRIPT = r"""
set -u
pid=""
for p in /proc/[0-9]*; do
  [ "$(cat "$p/comm" 2>/dev/null)" = dockerd ] && { pid=${p#/proc/}; break; }
done
[ -n "$pid" ] || { echo "nbfleet walls: no dockerd process in sight"; exit 1; }
host() { nsenter -t "$pid" -m -- "$@"; }
jumps() { host iptables -C "$1" -m comment --comment "$NBFLEET_NOTE" -j "$2" 2>/dev/null; }
apply() {
  printf '%s' "$NBFLEET_RULES" | host iptables-restore --noflush || return 1
  for hook in "DOCKER-USER $NBFLEET_FORWARD" "INPUT $NBFLEET_INPUT"; do
    set -- $hook
    jumps "$1" "$2" || host iptables -I "$1" -m comment --comment "$NBFLEET_NOTE" -j "$2" || return 1
  done
  stale=$(host iptables -S | sed -n "s/^-N \($NBFLEET_PREFIX-[^ ]*\)$/\1/p")
  for c in $stale; do case " $NBFLEET_CHAINS " in *" $c "*) ;; *) host iptables -F "$c";; esac; done
  for c in $stale; do case " $NBFLEET_CHAINS " in *" $c "*) ;; *) host iptables -X "$c";; esac; done
  return 0
}
take_down() {
  for hook in "DOCKER-USER $NBFLEET_FORWARD" "INPUT $NBFLEET_INPUT"; do
    set -- $hook
    while jumps "$1" "$2"; do host iptables -D "$1" -m comment --comment "$NBFLEET_NOTE" -j "$2" || break; done
  done
  mine=$(host iptables -S | sed -n "s/^-N \($NBFLEET_PREFIX\(-[^ ]*\)\{0,1\}\)$/\1/p")
  for c in $mine; do host iptables -F "$c"; done
  for c in $mine; do host iptables -X "$c"; done
  echo "nbfleet walls: taken down"
  exit 0
}
apply || { echo "nbfleet walls: could not apply the rules"; exit 1; }
echo "nbfleet walls: applied $NBFLEET_WALLS"
trap 'exit 0' TERM INT
trap take_down USR1
while :; do
  sleep "$NBFLEET_EVERY" & wait $!
  if ! jumps DOCKER-USER "$NBFLEET_FORWARD" || ! jumps INPUT "$NBFLEET_INPUT"; then
    apply && echo "nbfleet walls: applied again $NBFLEET_WALLS"
  fi
done
"""


def keeper_name(course: str) -> str:
    return f"{course}-walls"


def keeper_spec(course: str, course_prefix: str, image: str, networks: Sequence[Network],
                extra_labels: dict | None = None) -> dict:
    """docker-py ``containers.create`` arguments of the keeper that holds these networks' walls (``extra_labels``: what
    else finds it, e.g. the workshop's own label)."""
    text, names = restore_text(course_prefix, networks)
    forward, inbound = chains(course_prefix)
    digest = hashlib.sha256((text + SCRIPT).encode()).hexdigest()[:16]
    return {
        "image": image,
        "name": keeper_name(course),
        "entrypoint": ["/bin/sh", "-c", SCRIPT],
        "command": [],
        "user": "0:0",
        "environment": {"NBFLEET_RULES": text, "NBFLEET_CHAINS": " ".join(names), "NBFLEET_PREFIX": course_prefix,
                        "NBFLEET_FORWARD": forward, "NBFLEET_INPUT": inbound, "NBFLEET_WALLS": digest,
                        "NBFLEET_EVERY": str(CHECK_EVERY), "NBFLEET_NOTE": f"nbfleet course {course}"},
        "network_mode": "host",
        "pid_mode": "host",
        "cap_drop": ["ALL"],
        "cap_add": ["NET_ADMIN", "SYS_ADMIN", "SYS_PTRACE", "SYS_CHROOT"],
        "security_opt": ["no-new-privileges"],
        "restart_policy": {"Name": "always"},
        "mem_limit": 64 * 1024**2,
        "pids_limit": 64,
        "labels": {**(extra_labels or {}), labels.WALLS: course, labels.HASH: digest},  # not a short-lived helper: it stays
    }


def keep(client, course: str, course_prefix: str, image: str, networks: Sequence[Network],
         extra_labels: dict | None = None) -> str:
    """Make the keeper of ``networks`` run on ``client``'s engine and wait until the rules are in; "kept" when the
    one there already holds exactly these rules, else "applied"."""
    import docker

    spec = keeper_spec(course, course_prefix, image, networks, extra_labels)
    digest = spec["labels"][labels.HASH]
    try:
        current = client.containers.get(spec["name"])
    except docker.errors.NotFound:
        current = None
    if current is not None and current.labels.get(labels.HASH) == digest and current.status == "running":
        return "kept"
    if current is not None:
        current.remove(force=True)
    client.containers.run(detach=True, **spec)
    _wait_applied(client, spec["name"], digest)
    return "applied"


def take_down(client, course: str, timeout: float = 20) -> bool:
    """Take the course's rules out of the host's firewall and remove its keeper from ``client``'s engine; False when
    there was no keeper. (An engine stopping sends the keeper TERM, which leaves the rules in place for its restart;
    USR1 asks it to take them out first.)"""
    import docker

    try:
        keeper = client.containers.get(keeper_name(course))
    except docker.errors.NotFound:
        return False
    if keeper.status == "running":
        keeper.update(restart_policy={"Name": "no"})  # else `always` starts it again, and it puts them back
        keeper.kill(signal="SIGUSR1")
        try:
            keeper.wait(timeout=timeout)
        except Exception:  # noqa: BLE001 - still running after timeout: its log says what it did
            pass
        logs = keeper.logs().decode("utf-8", "replace")
        if "nbfleet walls: taken down" not in logs:
            raise NbfleetError(f"walls on {keeper.name}", "the rules could not be taken out: "
                               + (engine.last_line(logs.encode()) or f"no answer within {timeout:g} s"))
    keeper.remove(force=True)
    return True


def _wait_applied(client, name: str, digest: str) -> None:
    deadline = time.monotonic() + APPLY_TIMEOUT
    while True:
        logs = client.api.logs(name).decode("utf-8", "replace")
        if f"{APPLIED} {digest}" in logs:
            return
        state = client.api.inspect_container(name)["State"]
        if not state.get("Running") or time.monotonic() > deadline:
            raise NbfleetError(f"walls on {name}", "the rules could not be put in place: "
                               + (engine.last_line(logs.encode()) or f"no answer within {APPLY_TIMEOUT:g} s"))
        time.sleep(0.1)

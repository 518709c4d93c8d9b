"""One short-lived, locked-down container per submission, in which its notebooks run (``nbfleet.inside.grade_runner``).

What the container gets: the course image; no network (only its own loopback, for the kernel); a read-only root
file system; the teacher's uid, never root, with no capability and no-new-privileges; memory (no swap), CPU and
process limits; a copy of that one submission, read-only at ``/in``, which the runner copies into a size-limited
``/work`` where the notebooks run (so a student's code can write only there and in ``/tmp``, and both vanish with
the container); the notebooks to run at ``/job``, which the runner reads and deletes before any kernel starts (they
hold the hidden tests); the runner itself, read-only, as the container's first process. Never the course folder,
the roster or another student's work.

The runner's answer is read from the container's log and checked against a key made for this run only (see
``grade_runner``); a container that does not finish within its time is killed, and any container of an earlier
run that a killed ``doit`` left behind is removed by the next run.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import zlib
from pathlib import Path
from typing import NamedTuple

from ..errors import NbfleetError
from ..labels import GRADING
from ..servers.engine import last_line

RUNNER = Path(__file__).resolve().parents[1] / "inside" / "grade_runner.py"  # mounted into the sandbox, not imported
START_MARGIN = 60.0  # seconds for the container and the first kernel to start, beyond the notebooks' own limits


class Limits(NamedTuple):
    """What one sandbox may use."""

    memory: int  # bytes, also the size of /work
    cpus: float
    pids: int
    cell_timeout: float  # seconds
    notebook_timeout: float


class Outcome(NamedTuple):
    """What came back from one sandbox: per notebook the executed notebook and notes, or why nothing came back."""

    notebooks: dict[str, dict]
    failure: str | None = None
    seconds: float = 0.0


def run_submission(client, image: str, folder: Path, job: Path, notebooks: list[str], limits: Limits,
                   user: tuple[int, int], label: str) -> Outcome:
    """Run ``notebooks`` (paths relative to ``job``, a folder the sandbox may empty) in a new sandbox, with the rest
    of the submission's copy ``folder``. Engine errors other than the sandbox's own time running out propagate."""
    import requests

    key = secrets.token_hex(32)
    spec = {"notebooks": notebooks, "cell_timeout": limits.cell_timeout, "notebook_timeout": limits.notebook_timeout}
    api = client.api
    config = api.create_host_config(
        binds={str(folder.resolve()): {"bind": "/in", "mode": "ro"},
               str(job.resolve()): {"bind": "/job", "mode": "rw"},
               str(RUNNER): {"bind": "/opt/nbfleet/grade_runner.py", "mode": "ro"}},
        tmpfs={"/work": f"size={limits.memory},mode=1777", "/tmp": "size=64m,mode=1777"},
        read_only=True, network_mode="none", cap_drop=["ALL"], security_opt=["no-new-privileges"],
        mem_limit=limits.memory, memswap_limit=limits.memory, nano_cpus=int(limits.cpus * 1e9),
        pids_limit=limits.pids)  # no init: the runner is PID 1 (see grade_runner)
    started = time.monotonic()
    cid = api.create_container(
        image, command=["python3", "/opt/nbfleet/grade_runner.py"], entrypoint=[], user=f"{user[0]}:{user[1]}",
        environment={"NBFLEET_KEY": key, "NBFLEET_JOB": json.dumps(spec), "HOME": "/tmp", "PYTHONDONTWRITEBYTECODE": "1",
                     "JUPYTER_RUNTIME_DIR": "/tmp/runtime", "MPLCONFIGDIR": "/tmp/matplotlib"},
        labels={GRADING: label}, host_config=config, network_disabled=True)["Id"]
    try:
        api.start(cid)
        allowed = limits.notebook_timeout * max(1, len(notebooks)) + START_MARGIN
        try:
            code = api.wait(cid, timeout=allowed).get("StatusCode")
        except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):  # the sandbox outlived its time
            api.kill(cid)
            return Outcome({}, f"the sandbox did not finish within {allowed:g} s", time.monotonic() - started)
        log = api.logs(cid, stdout=True, stderr=False)
        outcome = _read_answer(log, key)
        if outcome is None:
            state = api.inspect_container(cid)["State"]
            why = ("the sandbox ran out of memory" if state.get("OOMKilled")
                   else f"the sandbox stopped with exit code {code}: {last_line(api.logs(cid, stdout=False, stderr=True)) or 'no message'}")
            return Outcome({}, why, time.monotonic() - started)
        return Outcome(outcome, None, time.monotonic() - started)
    finally:
        try:
            api.remove_container(cid, force=True)
        except Exception:  # noqa: BLE001 - already gone
            pass


def _read_answer(log: bytes, key: str) -> dict | None:
    """The runner's signed answer in ``log``, or None when there is none that the key signed."""
    for line in reversed(log.splitlines()):
        if not line.startswith(b"NBFLEET-RESULT "):
            continue
        try:
            _, mac, payload = line.decode("ascii").split(" ")
        except (UnicodeDecodeError, ValueError):
            continue
        good = hmac.new(key.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if hmac.compare_digest(mac, good):
            return json.loads(zlib.decompress(base64.b64decode(payload)))
    return None


def remove_leftovers(client, label: str) -> int:
    """Remove the sandboxes of ``label`` that an earlier, killed run left behind; how many there were."""
    found = client.api.containers(all=True, filters={"label": f"{GRADING}={label}"})
    for c in found:
        try:
            client.api.remove_container(c["Id"], force=True)
        except Exception:  # noqa: BLE001 - gone meanwhile
            pass
    return len(found)


def check_image(client, image_id: str, name: str) -> None:
    """The grading image must be on this machine's engine (``doit images`` builds it)."""
    import docker

    try:
        client.api.inspect_image(image_id)
    except docker.errors.ImageNotFound:
        raise NbfleetError(f"image {name}", "not on this machine's engine: run `doit images` first") from None

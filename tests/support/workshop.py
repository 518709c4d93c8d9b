"""A workshop as a test starts it: a course repository with a [workshop] section, driven through `doit workshop`,
and visitors as a browser without an account would be (a cookie jar that follows redirects)."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import requests

from nbfleet import labels
from nbfleet.workshop.hub_api import hub_users as users

from .courses import read_record, toml_section, write_course
from .engines import containers, remove_walls
from .jupyter import run_code
from .repo import REPO


def make_workshop_repo(dest: Path, tag: str, built: Path, workshop: dict) -> Path:
    """A course repository in ``dest`` that runs a workshop with [workshop] ``workshop``; its images are those
    ``built`` (a course folder where `doit images` ran) recorded. The sample materials are copied in."""
    images = [read_record(built, "workshop-notebook"), read_record(built, "workshop-hub")]
    write_course(dest, tag, ["local local"], sections={"workshop": workshop}, images=images, tasks=("workshop",),
                 name="Workshop test")
    if not (dest / "course" / "workshop").exists():
        shutil.copytree(REPO / "course" / "workshop", dest / "course" / "workshop")
    return dest


def write_settings(dest: Path, workshop: dict) -> None:
    """Change the workshop's [workshop] settings (the course keeps its folder, its build/ and its tag)."""
    text = (dest / "course.toml").read_text()
    head = text[: text.index("[workshop]")]
    (dest / "course.toml").write_text(head + toml_section("workshop", workshop))


def workshop_objects(client, tag: str) -> list:
    """Every container, network and volume labelled as ``tag``'s workshop."""
    f = {"label": f"{labels.WORKSHOP}={tag}"}
    return [*containers(client, f), *client.networks.list(filters=f), *client.volumes.list(filters=f)]


def remove_workshop(client, tag: str) -> None:
    """Whatever a failed test left of a workshop: containers first, then networks and volumes, then its walls' rules."""
    for _ in range(3):
        for obj in workshop_objects(client, tag):
            try:
                obj.remove(force=True) if hasattr(obj, "status") else obj.remove()
            except Exception:  # noqa: BLE001 - already gone, or still in use by a container removed next round
                pass
    remove_walls(client, f"{tag}-workshop")


class Visitor:
    """Somebody who opened the workshop's link: their cookies, their user and their server's URL."""

    def __init__(self, url: str):
        self.url = url
        self.session = requests.Session()
        self.user = self.base = None
        self.response = None

    def arrive(self, timeout: float = 60) -> requests.Response:
        """Open ``/`` and follow redirects only, as a browser does; remember whose server it landed on."""
        self.response = r = self.session.get(f"{self.url}/", timeout=timeout)
        if r.status_code == 200 and "/user/" in r.url:
            self.base = r.url.split("/lab")[0]
            self.user = self.base.rsplit("/", 1)[-1]
            xsrf = [c.value for c in self.session.cookies if c.name == "_xsrf" and c.path.startswith("/user/")]
            self.session.headers["X-XSRFToken"] = xsrf[-1]
        return r

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.session.request(method, f"{self.base}/api/{path}", timeout=30, **kwargs)

    def run(self, code: str, kernel: str = "python3") -> str:
        return run_code(self.session, self.base, code, timeout=120, kernel=kernel)


def hub_users(repo: Path, url: str) -> list[dict]:
    """The hub's users as nbfleet's status sees them (its read-only token)."""
    token = json.loads((repo / "build" / "workshop" / "secrets.json").read_text())["status_token"]
    return users(url, token)


def wait_for(what: str, check, timeout: float, every: float = 1.0):
    """Poll ``check()`` until it returns something true; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(every)


def hub_log(client, tag: str) -> str:
    """Everything the workshop's hub (and its services: keeper, cullers) wrote so far."""
    return client.containers.get(f"{tag}-workshop-hub").logs().decode("utf-8", "replace")


def spawns(log: str) -> list[tuple[float, float]]:
    """Each pool server's spawn in the hub's log, as (start, finish) in seconds: from DockerSpawner's ``Starting
    container <prefix>-<user>`` to the hub's ``User <user> took N seconds to start``."""
    import datetime as dt
    import re

    def when(line: str) -> float:
        stamp = re.match(r"\[\w (\S+ \S+)", line).group(1).replace(",", ".")
        return dt.datetime.fromisoformat(stamp).timestamp()

    began, out = {}, []
    for line in log.splitlines():
        if m := re.search(r"Starting container \S+-(visitor[0-9a-f]{12}) ", line):
            began[m.group(1)] = when(line)
        elif (m := re.search(r"User (visitor[0-9a-f]{12}) took [\d.]+ seconds to start", line)) and m.group(1) in began:
            out.append((began.pop(m.group(1)), when(line)))
    return out


def most_at_once(spans: list[tuple[float, float]]) -> int:
    """The most spans running at the same moment."""
    events = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans], key=lambda e: (e[0], e[1]))
    most = now = 0
    for _, change in events:
        now += change
        most = max(most, now)
    return most

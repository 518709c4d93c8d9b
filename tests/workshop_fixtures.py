"""A workshop as a test starts it: a course repository with a [workshop] section, driven through `doit workshop`,
and visitors as a browser without an account would be (a cookie jar that follows redirects)."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import requests

from hosts_fixtures import doit, port_block, random_course  # noqa: F401 - re-exported for the workshop tests
from jupyter_http import run_code

REPO = Path(__file__).resolve().parent.parent

WORKSHOP_DODO = '''"""A course that only runs a workshop: its images are given as records (build/images/), built elsewhere."""
from pathlib import Path

from nbfleet.tasks.common import Reporter
from nbfleet.tasks.workshop import task_workshop  # noqa: F401

Path("build").mkdir(exist_ok=True)
DOIT_CONFIG = {"backend": "sqlite3", "dep_file": "build/.doit.db", "reporter": Reporter, "verbosity": 2}
'''


def make_workshop_repo(dest: Path, tag: str, built: Path, workshop: dict) -> Path:
    """A course repository in ``dest`` whose [workshop] is ``workshop``; the images are those ``built`` (a course
    folder where `doit images` ran) recorded. The sample materials are copied in."""
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "dodo.py").write_text(WORKSHOP_DODO)
    (dest / "hosts").write_text("local local\n")
    record = json.loads((built / "build" / "images" / "workshop-notebook.json").read_text())
    write_settings(dest, tag, record, workshop)
    (dest / "build" / "images").mkdir(parents=True, exist_ok=True)
    for name in ("workshop-notebook", "workshop-hub"):
        shutil.copy2(built / "build" / "images" / f"{name}.json", dest / "build" / "images" / f"{name}.json")
    if not (dest / "course" / "workshop").exists():
        shutil.copytree(REPO / "course" / "workshop", dest / "course" / "workshop")
    return dest


def write_settings(dest: Path, tag: str, record: dict, workshop: dict) -> None:
    section = "".join(f"{k} = {json.dumps(v)}\n" for k, v in workshop.items())
    (dest / "course.toml").write_text(
        f'[course]\nname = "Workshop test"\ntag = "{tag}"\n\n'
        f'[teacher]\nuser = "{record["nb_user"]}"\nuid = {record["nb_uid"]}\ngid = {record["nb_gid"]}\n\n'
        '[images]\nbuild = ["workshop-notebook", "workshop-hub"]\nlaunch = "workshop-notebook"\n\n'
        f"[workshop]\n{section}")


def workshop_objects(client, tag: str) -> list:
    """Every container, network and volume labelled as ``tag``'s workshop."""
    f = {"label": f"nbfleet.workshop={tag}"}
    return [*client.containers.list(all=True, filters=f), *client.networks.list(filters=f), *client.volumes.list(filters=f)]


def remove_workshop(client, tag: str) -> None:
    """Whatever a failed test left of a workshop: containers first, then networks and volumes."""
    for _ in range(3):
        for obj in workshop_objects(client, tag):
            try:
                obj.remove(force=True) if hasattr(obj, "status") else obj.remove()
            except Exception:  # noqa: BLE001 - already gone, or still in use by a container removed next round
                pass


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
    from nbfleet.workshop.report import hub_users as users

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

"""Images: a no-op `doit images`, container start until /api answers, image sizes (the repository's sample course)."""

from __future__ import annotations

import statistics
import tempfile
import time

import requests

from nbfleet import paths
from nbfleet import settings as settings_module
from nbfleet.images.build import build_image
from nbfleet.images.stacks import discover
from support.courses import read_record
from support.doit import ok, timed
from support.doit import run as doit
from support.engines import free_port as _free_port
from support.repo import REPO

SIZE_GOALS = {"base-notebook": 500e6, "pyspark-notebook": 1.6e9}


def _record(image: str) -> dict:
    return read_record(REPO, image)


def _time_to_api(client, image_id: str, command: list[str], **kwargs) -> float:
    """docker run -> first 200 from /api, in seconds; the container is removed."""
    port = _free_port()
    start = time.monotonic()
    container = client.containers.run(image_id, command, detach=True, ports={"8888/tcp": ("127.0.0.1", port)}, **kwargs)
    try:
        while time.monotonic() - start < 60:
            try:
                if requests.get(f"http://127.0.0.1:{port}/api", timeout=1).status_code == 200:
                    return time.monotonic() - start
            except requests.RequestException:
                pass
            time.sleep(0.01)
        raise TimeoutError(image_id)
    finally:
        container.remove(force=True)


def noop_rows(client) -> list[dict]:
    ok(doit(REPO, "images"))  # make sure all is built
    times, builds = [], 0
    for _ in range(3):
        took, out = timed(REPO, "images")
        times.append(took)
        builds += out.count("] built ")
    ours = statistics.median(times)
    # The naive way (Twente's build.sh, upstream CI): call `docker build` for every image of the chain every time,
    # relying on the layer cache.
    s = settings_module.load(REPO / "course.toml")
    start = time.monotonic()
    for stage in discover(s.stacks_dir, s.images.build):
        wheels = paths.wheelhouse(s, stage.name)
        build_image(client, s, stage, paths.dockerfile(s, stage.name), wheels if (wheels / "pinned.txt").exists() else None)
    naive = time.monotonic() - start
    return [{"benchmark": "no-op `doit images` (5 images)", "ours_s": ours, "naive_s": naive, "ratio": ours / naive,
             "goal": "≤ 1 s, 0 builds", "met": ours <= 1.0 and builds == 0,
             "note": f"{builds} builds; naive = `docker build` of every image with the layer cache"}]


def start_rows(client, runs: int) -> list[dict]:
    rows = []
    hashed = "argon2:$argon2id$v=19$m=10240,t=10,p=8$c2FsdHNhbHRzYWx0$0nJ6Qm1pQ2xhc3Nyb29tLg"
    with tempfile.TemporaryDirectory() as empty:
        for image in ("base-notebook", "course-notebook"):
            rec = _record(image)
            ours = [_time_to_api(client, rec["id"], ["start-notebook", f"--PasswordIdentityProvider.hashed_password={hashed}"])
                    for _ in range(runs)]
            # Stock JupyterLab in the same image: `jupyter lab` with none of our server settings.
            naive = [_time_to_api(client, rec["id"], ["start.sh", "jupyter", "lab", "--ip=0.0.0.0", "--no-browser"],
                                  volumes={empty: {"bind": "/etc/jupyter", "mode": "ro"}}) for _ in range(runs)]
            o, n = statistics.median(ours), statistics.median(naive)
            rows.append({"benchmark": f"container start → /api answering, {image} (median of {runs})", "ours_s": o,
                         "naive_s": n, "ratio": o / n, "goal": "≤ 1.0 s", "met": o <= 1.0,
                         "note": f"naive = stock `jupyter lab` in the same image; runs {', '.join(f'{x:.2f}' for x in ours)}"})
    return rows


def size_rows() -> list[dict]:
    rows = []
    for image in ("foundation", "base-notebook", "minimal-notebook", "pyspark-notebook", "course-notebook"):
        size = _record(image)["size"]
        goal = SIZE_GOALS.get(image)
        rows.append({"benchmark": f"image size {image}", "ours_s": None, "naive_s": None, "ratio": None,
                     "goal": f"≤ {goal / 1e9:.1f} GB" if goal else "(none)", "met": goal is None or size <= goal,
                     "note": f"{size / 1e6:.0f} MB"})
    return rows


def run(quick: bool) -> list[dict]:
    import docker

    client = docker.from_env(timeout=900)
    return noop_rows(client) + start_rows(client, 3 if quick else 5) + size_rows()

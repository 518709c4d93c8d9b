"""Images: a no-op `doit images`, container start until /api answers, image sizes (the repository's sample course)."""

from __future__ import annotations

import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
DOIT = str(Path(sys.executable).with_name("doit"))
SIZE_GOALS = {"base-notebook": 500e6, "pyspark-notebook": 1.6e9}


def _record(image: str) -> dict:
    return json.loads((REPO / "build" / "images" / f"{image}.json").read_text())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
    subprocess.run([DOIT, "images"], cwd=REPO, check=True, capture_output=True)  # make sure all is built
    times, builds = [], 0
    for _ in range(3):
        start = time.monotonic()
        out = subprocess.run([DOIT, "images"], cwd=REPO, check=True, capture_output=True, text=True).stdout
        times.append(time.monotonic() - start)
        builds += out.count("] built ")
    ours = statistics.median(times)
    # The naive way (Twente's build.sh, upstream CI): call `docker build` for every image of the chain every time,
    # relying on the layer cache.
    sys.path.insert(0, str(REPO))
    from nbfleet import settings as settings_module
    from nbfleet.images import build_image
    from nbfleet.stacks import discover

    s = settings_module.load(REPO / "course.toml")
    start = time.monotonic()
    for stage in discover(s.stacks_dir, s.images.build):
        wheels = s.build_dir / "wheels" / stage.name
        build_image(client, s, stage, s.build_dir / "dockerfiles" / stage.name / "Dockerfile",
                    wheels if (wheels / "pinned.txt").exists() else None)
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

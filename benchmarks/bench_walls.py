"""Walls benchmarks: what the walls between students cost a launch, and how long an exam takes to start and end.

1. `launch_host` of N students (40; 8 with --quick) on this machine's engine, from nothing until every server answers
   (the tiny stand-in server: the orchestration's own cost, not Jupyter's start-up), with the walls (the course's
   network with inter-container traffic off, the keeper container putting the rules in) against the same launch
   without them (a plain network, no rules), alternating, median of 3. Goal: at most 1.1x.
2. `doit exam:<a>` and `doit exam:<a> --end` for N students, servers running: report only.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path

from nbfleet.roster.hosts import Host
from nbfleet.servers.backends.containers import ContainersBackend
from nbfleet.servers.launch import launch_host
from support.courses import (
    container_entry,
    copy_sample,
    image_record,
    manifest,
    random_course,
    retag,
    write_record,
)
from support.doit import run as doit
from support.doit import write_dodo
from support.engines import port_block, remove_walls, tiny_image_on

WAYS = ("with", "without")


def _remove(client, course: str) -> None:
    for c in client.containers.list(all=True, filters={"label": f"nbfleet.course={course}"}):
        c.remove(force=True)
    remove_walls(client, course)


def _plain_network(self, wanted, image):
    """Without walls: the servers' network, made plain (no options, no rules)."""
    for name in wanted:
        if not self.client.networks.list(names=[name]):
            self.client.networks.create(name, driver="bridge", labels={"nbfleet.walls": self.course})
    return ""


def bench_launch(n: int, rounds: int = 3) -> dict:
    import docker

    client = docker.from_env(timeout=900)
    record = image_record(client, tiny_image_on(client))
    tmp = Path(tempfile.mkdtemp(prefix="nbf-bench-walls-"))
    low = port_block(n)
    times: dict[str, list[float]] = {way: [] for way in WAYS}
    try:
        for r in range(rounds):
            for way in WAYS if r % 2 == 0 else reversed(WAYS):  # alternate, so that neither way always goes first
                times[way].append(_launch(client, record, tmp, low, n, walled=way == "with"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    with_s, without_s = statistics.median(times["with"]), statistics.median(times["without"])
    ratio = with_s / without_s
    return {"benchmark": f"launch {n} servers from nothing, with walls vs without (tiny server, median of {rounds})",
            "ours_s": with_s, "naive_s": without_s, "ratio": ratio, "goal": "<= 1.1x", "met": ratio <= 1.1,
            "note": "naive = the same launch without walls (plain network, no keeper); "
                    f"with: {', '.join(f'{t:.2f}' for t in times['with'])} s; without: {', '.join(f'{t:.2f}' for t in times['without'])} s"}


def _launch(client, record: dict, tmp: Path, low: int, n: int, walled: bool) -> float:
    """Seconds for one launch of ``n`` students of a new course, until every server answers; then it is removed."""
    course = random_course()
    host = Host("local", "local", public="127.0.0.1", course_root=str(tmp / course))
    entries = [container_entry(course, f"s{k}", low + k, str(tmp / course / "students" / f"s{k}"), record["id"],
                               public="127.0.0.1") for k in range(n)]
    m = manifest(host, course, entries, {"id": record["id"], "tag": record["tags"][-1]})
    saved = ContainersBackend.put_up_walls, ContainersBackend.take_down_unused_walls
    if not walled:
        ContainersBackend.put_up_walls, ContainersBackend.take_down_unused_walls = _plain_network, lambda *a: []
    try:
        t0 = time.monotonic()
        result = launch_host(m, 1000, 1000, ready_timeout=120)
        took = time.monotonic() - t0
        assert result.ok, (result.error, result.failed)
        return took
    finally:
        ContainersBackend.put_up_walls, ContainersBackend.take_down_unused_walls = saved
        _remove(client, course)


def bench_exam(n: int) -> list[dict]:
    import docker

    client = docker.from_env(timeout=900)
    tmp = Path(tempfile.mkdtemp(prefix="nbf-bench-exam-"))
    repo = copy_sample(tmp / "course")
    tag = random_course()
    retag(repo, tag)
    low = port_block(n + 2)
    (repo / "hosts").write_text(f"local local capacity={n + 2} public=127.0.0.1 ports={low}-{low + n + 1}\n")
    users = repo / "roster" / "users.csv"
    header = users.read_text().splitlines()[0]
    users.write_text(header + "\n" + "".join(f"b{k:07d},B,K,b{k}@example.org,,,,,FALSE\n" for k in range(n)))
    write_record(repo, image_record(client, tiny_image_on(client)))
    write_dodo(repo, "roster", "manifests", "launch", "status", "strip", "release", "collect", "exam")
    try:
        for step in (("launch",), ("release:assignment1",)):
            r = doit(repo, *step)
            assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
        out = []
        for what, args in (("start", ("exam:assignment1",)), ("--end", ("exam:assignment1", "--end"))):
            t0 = time.monotonic()
            r = doit(repo, *args)
            took = time.monotonic() - t0
            assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
            out.append({"benchmark": f"doit exam:<a> {what} for {n} students (servers running, tiny server)", "ours_s": took,
                        "naive_s": None, "ratio": None, "goal": "report", "met": True,
                        "note": "every server recreated" + (" after the snapshot" if what == "--end" else "")})
        return out
    finally:
        _remove(client, tag)
        shutil.rmtree(tmp, ignore_errors=True)


def run(quick: bool) -> list[dict]:
    n = 8 if quick else 40
    return [bench_launch(n), *bench_exam(n)]

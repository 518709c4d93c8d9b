"""Launch benchmarks, ours against the Twente way, measured side by side in one run.

1. Launch N students (40; 8 with --quick) on 2 hosts (this machine's engine and a second dockerd) from nothing until
   every server answers, on the real course image (and once more on the tiny stand-in server, to show the
   orchestration's own cost when Jupyter's start-up CPU on this 2-core machine does not dominate both ways): nbfleet's
  launch (hosts in parallel, containers created and started
   concurrently, readiness polled concurrently) against a sequential `docker run` loop per host followed by the same
   readiness wait. The image is put on both engines before either is timed (both ways need it).
2. A no-op `doit -n 4 launch` for 300 students on 4 hosts (this machine's engine + 3 more dockerds), manifests
   unchanged and containers running: the whole command as the teacher types it. 300 Jupyter servers do not fit
   beside the other engineers' work on this machine, so these containers run the tiny stand-in server image
   (tests/support/engines.py); the no-op never talks to the servers, only to the engines. Naive: the Twente
   `manage_nbs.py start` check, `docker ps` parsed once per host, hosts one after the other over the CLI.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from nbfleet import settings as settings_module
from nbfleet.roster.hosts import Host
from nbfleet.roster.passwords import hash_password as password_hash
from nbfleet.servers import engine, ready
from nbfleet.servers.launch import launch_host
from support.courses import container_entry, image_record, launch_course, manifest, random_course, read_record
from support.doit import run as doit
from support.engines import Engine, port_block, tiny_image_on
from support.repo import REPO


def _remove_course(clients, course: str) -> None:
    for client in clients:
        for c in client.containers.list(all=True, filters={"label": f"nbfleet.course={course}"}):
            c.remove(force=True)


def bench_cold_launch(n: int, stand_in: bool = False) -> dict:
    import docker

    s = settings_module.load(REPO / "course.toml")
    local = docker.from_env(timeout=900)
    if stand_in:
        record = image_record(local, tiny_image_on(local))
    else:
        record = read_record(REPO, s.images.launch)
    second = Engine(7).start()
    tmp = Path(tempfile.mkdtemp(prefix="nbf-bench-launch-"))
    try:
        tag = record["tags"][-1]
        t0 = time.monotonic()
        engine.ensure_image(second.client, record["id"], tag, source=local)
        transfer_s = time.monotonic() - t0
        hashed = password_hash("bench-password")  # one hash for all: hashing is not what is measured
        low = port_block(2 * n + 2)

        def manifests(course: str, offset: int) -> list[dict]:
            out = []
            for h, (name, endpoint) in enumerate((("a", "local"), ("b", second.endpoint))):
                root = tmp / course / name
                entries = [container_entry(course, f"{name}{i}", low + offset + h * (n // 2) + i,
                                           str(root / "students" / f"{name}{i}"), record["id"], public="127.0.0.1",
                                           hashed_password=hashed, memory=512 * 1024**2, nb_user=record.get("nb_user", "teacher"),
                                           uid=record.get("nb_uid", 1000), gid=record.get("nb_gid", 1000))
                           for i in range(n // 2)]
                host = Host(name, endpoint, public="127.0.0.1", ports=(low, low + 2 * n), course_root=str(root))
                out.append(manifest(host, course, entries, {"name": s.images.launch, "id": record["id"], "tag": tag}))
            return out

        # the Twente way: for each host in turn, `docker run` each student, one after the other; then wait
        naive_course = random_course()
        naive = manifests(naive_course, 0)
        t0 = time.monotonic()
        for m in naive:
            host_flag = [] if m["host"]["endpoint"] == "local" else ["-H", m["host"]["endpoint"]]
            for c in m["containers"]:
                sv = c["server"]
                (mount,) = sv["mounts"]
                subprocess.run(["docker", *host_flag, "run", "-d", "--name", c["name"], "--label", f"nbfleet.course={naive_course}",
                                "-p", f"{c['port']}:8888", "-v", f"{mount['source']}:{mount['target']}", "--user", sv["user"],
                                "-w", sv["workdir"], sv["image"], *sv["command"]], check=True, capture_output=True)
        silent = ready.wait_until_answering([c["url"] for m in naive for c in m["containers"]], time.monotonic() + 600)
        naive_s = time.monotonic() - t0
        assert not silent, f"naive: {len(silent)} servers never answered"
        _remove_course([local, second.client], naive_course)

        ours_course = random_course()
        ours = manifests(ours_course, n)
        t0 = time.monotonic()
        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(lambda m: launch_host(m, 1000, 1000, ready_timeout=600, source=local), ours))
        ours_s = time.monotonic() - t0
        assert all(r.ok for r in results), [(r.error, r.failed) for r in results]
        _remove_course([local, second.client], ours_course)
    finally:
        second.stop()
        subprocess.run(["rm", "-rf", str(tmp)], check=False)
    ratio = ours_s / naive_s
    if stand_in:
        return {"benchmark": f"launch {n} students on 2 hosts until every server answers (tiny stand-in server)",
                "ours_s": ours_s, "naive_s": naive_s, "ratio": ratio, "goal": "<= 0.5x", "met": ratio <= 0.5,
                "note": "the orchestration alone: a server that starts in milliseconds, so what is left is the "
                        "engine calls (sequential CLI `docker run` vs concurrent SDK calls, hosts in parallel)"}
    return {"benchmark": f"launch {n} students on 2 hosts until every server answers (course image)",
            "ours_s": ours_s, "naive_s": naive_s, "ratio": ratio, "goal": "<= 0.5x", "met": ratio <= 0.5,
            "note": f"both hosts share this machine's {os.cpu_count()} cores, so Jupyter start-up CPU bounds both ways; "
                    f"image transfer to the 2nd engine beforehand: {transfer_s:.0f} s (not timed)"}


def bench_noop(students: int, hosts: int) -> dict:
    import docker

    local = docker.from_env(timeout=900)
    tag = tiny_image_on(local)
    engines = [Engine(10 + i).start() for i in range(hosts - 1)]
    tmp = Path(tempfile.mkdtemp(prefix="nbf-bench-noop-"))
    course = random_course()
    per_host = students // hosts
    try:
        low = port_block(students + hosts)
        lines = [f"h0 local capacity={per_host} public=127.0.0.1 ports={low}-{low + per_host - 1} course_root={tmp / 'h0'}"]
        for i, e in enumerate(engines, start=1):
            base = low + i * per_host
            lines.append(f"h{i} {e.endpoint} capacity={per_host} public=127.0.0.1 ports={base}-{base + per_host - 1} "
                         f"course_root={tmp / f'h{i}'}")
        repo = launch_course(tmp / "course", course, lines, [(f"s{i:04d}", False) for i in range(students)],
                                image_record(local, tag), launch={"memory": "64m", "ready_timeout": "600s"})
        for _ in range(3):  # a port taken meanwhile by another process fails one container; a rerun retries just it
            setup = doit(repo, "-n", str(hosts), "launch", timeout=3600)
            if setup.returncode == 0:
                break
        else:
            raise RuntimeError(f"setup launch failed: {(setup.stdout + setup.stderr)[-3000:]}")
        clients = [local] + [e.client for e in engines]
        running = sum(1 for cl in clients for c in cl.containers.list(filters={"label": f"nbfleet.course={course}"}))
        assert running == students, running
        times = []
        for _ in range(3):
            t0 = time.monotonic()
            r = doit(repo, "-n", str(hosts), "launch")
            times.append(time.monotonic() - t0)
            out = r.stdout + r.stderr
            assert r.returncode == 0 and "-- launch:h0" in out and ". " not in out.replace(".  ", "x"), out
        ours_s = min(times)
        endpoints = ["local"] + [e.endpoint for e in engines]
        naive_times = []
        for _ in range(3):
            t0 = time.monotonic()
            for ep in endpoints:  # manage_nbs.py start: parse `docker ps`, run whoever is missing (nobody)
                flag = [] if ep == "local" else ["-H", ep]
                ps = subprocess.run(["docker", *flag, "ps", "-a", "--format", "{{.Names}}"], capture_output=True, text=True, check=True)
                have = set(ps.stdout.split())
                missing = [f"{course}-s{i:04d}" for i in range(students) if f"{course}-s{i:04d}" not in have]
                del missing
            naive_times.append(time.monotonic() - t0)
        naive_s = min(naive_times)
    finally:
        _remove_course([local], course)
        for e in engines:
            e.stop()
        subprocess.run(["rm", "-rf", str(tmp)], check=False)
    return {"benchmark": f"no-op `doit -n {hosts} launch`, {students} students on {hosts} hosts",
            "ours_s": ours_s, "naive_s": naive_s, "ratio": ours_s / naive_s, "goal": "<= 1 s", "met": ours_s <= 1.0,
            "note": "whole doit command (best of 3), one list call per host; tiny stand-in image for 300 containers; "
                    "naive = Twente's `docker ps` check per host, which also checks nothing else (no settings, no dead servers)"}


def run(quick: bool) -> list[dict]:
    n = 8 if quick else 40
    rows = [bench_noop(60 if quick else 300, 4), bench_cold_launch(n, stand_in=True), bench_cold_launch(n)]
    return rows

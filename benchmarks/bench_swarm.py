"""Swarm backend benchmarks, against the containers backend, measured side by side in one run.

1. Launch N students (40; 8 with --quick) from nothing until every server answers, on one engine that is a one-node
   swarm (a dockerd of the benchmark's own): once with the containers backend, once with the swarm backend, same
   image, same manifests apart from the backend. Twice: on the test course's base-notebook (real Jupyter) and on the
   tiny stand-in server (the orchestration's own cost).
2. A no-op `doit -n 4 launch` for 300 students (60 with --quick) with the swarm backend, services running: the whole
   command as the teacher types it (tiny stand-in image: 300 Jupyter servers do not fit on this machine).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path

from nbfleet.roster.hosts import Host
from nbfleet.roster.passwords import hash_password as password_hash
from nbfleet.servers import engine as eng
from nbfleet.servers.launch import launch_host
from support.courses import container_entry, image_record, launch_course, manifest, random_course, read_record, test_course
from support.doit import run as doit
from support.engines import Engine, SwarmOn, port_block, tiny_image_on


def _clear(client, course: str) -> None:
    """Remove the course's services and plain containers, and wait until Swarm has taken its containers away."""
    for s in client.api.services(filters={"label": f"nbfleet.course={course}"}):
        client.api.remove_service(s["ID"])
    deadline = time.monotonic() + 120
    while left := client.api.containers(all=True, filters={"label": f"nbfleet.course={course}"}):
        for c in left:
            if "com.docker.swarm.task.id" not in (c.get("Labels") or {}):
                client.api.remove_container(c["Id"], force=True)
        if time.monotonic() > deadline:
            raise RuntimeError("containers of the benchmark course did not go")
        time.sleep(0.3)


def bench_launch(n: int, real: bool) -> dict:
    import docker

    local = docker.from_env(timeout=900)
    if real:
        record = read_record(test_course(), "base-notebook")  # real Jupyter, built for a teacher who is not root
        image_id, tag, uid = record["id"], record["tags"][0], record["nb_uid"]
    else:
        tag = tiny_image_on(local)
        image_id, uid = local.images.get(tag).id, 1000
    engine = Engine(30).start()
    swarm = SwarmOn(engine).init()
    tmp = Path(tempfile.mkdtemp(prefix="nbf-bench-swarm-"))
    try:
        host = Host("a", engine.endpoint, public="127.0.0.1")
        t0 = time.monotonic()
        eng.ensure_image(engine.client, image_id, tag, source=local)
        transfer_s = time.monotonic() - t0
        low = port_block(n)
        hashed = password_hash("bench-password")  # Jupyter refuses to start without one
        times = {}
        for kind in ("containers", "swarm"):
            course = random_course()
            backend = {"kind": kind} if kind == "containers" else {"kind": "swarm", "manager": host.as_dict(), "reserve": {}}
            entries = [container_entry(course, f"s{i}", low + i, str(tmp / course / f"s{i}"), image_id, uid=uid, gid=uid,
                                       memory=512 * 1024**2, hashed_password=hashed) for i in range(n)]
            t0 = time.monotonic()
            result = launch_host(manifest(host, course, entries, {"name": "bench", "id": image_id, "tag": tag}, backend),
                                 uid, uid, ready_timeout=600, source=local)
            times[kind] = time.monotonic() - t0
            assert result.ok, (kind, result.error, result.failed)
            _clear(engine.client, course)
    finally:
        swarm.leave()
        engine.stop()
        subprocess.run(["rm", "-rf", str(tmp)], check=False)
    ratio = times["swarm"] / times["containers"]
    what = "test course's base-notebook" if real else "tiny stand-in server"
    return {"benchmark": f"launch {n} students on one engine until every server answers, swarm vs containers backend ({what})",
            "ours_s": times["swarm"], "naive_s": times["containers"], "ratio": ratio, "goal": "report", "met": True,
            "note": ("naive column = the containers backend. " +
                     (f"Jupyter's start-up CPU on {os.cpu_count()} cores bounds both" if real else
                      "orchestration only: Swarm schedules each task through the manager's dispatcher, "
                      "which the containers backend does not wait for") +
                     f"; image put on the engine first ({transfer_s:.0f} s, not timed)")}


def bench_noop(students: int) -> dict:
    import docker

    local = docker.from_env(timeout=900)
    tag = tiny_image_on(local)
    engine = Engine(31)
    engine.address = "10.199.0.1/22"  # room for 300 containers on its bridge (the test engines' /24 holds 253)
    engine.start()
    swarm = SwarmOn(engine).init()
    tmp = Path(tempfile.mkdtemp(prefix="nbf-bench-swarm-noop-"))
    course = random_course()
    try:
        low = port_block(students)
        repo = launch_course(tmp / "course", course,
                                [f"a {engine.endpoint} capacity={students} public=127.0.0.1 ports={low}-{low + students - 1}"],
                                [(f"s{i:04d}", False) for i in range(students)], image_record(local, tag),
                                launch={"backend": "swarm", "memory": "64m", "ready_timeout": "900s"})
        t0 = time.monotonic()
        setup = doit(repo, "-n", "4", "launch", timeout=3600)
        setup_s = time.monotonic() - t0
        assert setup.returncode == 0, (setup.stdout + setup.stderr)[-3000:]
        running = engine.client.api.services(filters={"label": f"nbfleet.course={course}"}, status=True)
        assert len(running) == students and all(s["ServiceStatus"]["RunningTasks"] == 1 for s in running)
        times = []
        for _ in range(3):
            t0 = time.monotonic()
            r = doit(repo, "-n", "4", "launch")
            times.append(time.monotonic() - t0)
            out = r.stdout + r.stderr
            assert r.returncode == 0 and "-- launch:a" in out, out
        ours_s = min(times)
    finally:
        _clear(engine.client, course)
        swarm.leave()
        engine.stop()
        subprocess.run(["rm", "-rf", str(tmp)], check=False)
    return {"benchmark": f"no-op `doit -n 4 launch`, {students} students, swarm backend",
            "ours_s": ours_s, "naive_s": None, "ratio": None, "goal": "<= 1 s", "met": ours_s <= 1.0,
            "note": f"whole doit command (best of 3): one service list call (with task counts) and one node call; "
                    f"tiny stand-in image; the first launch of all {students} took {setup_s:.0f} s"}


def run(quick: bool) -> list[dict]:
    n = 8 if quick else 40
    return [bench_noop(60 if quick else 300), bench_launch(n, real=False), bench_launch(n, real=True)]

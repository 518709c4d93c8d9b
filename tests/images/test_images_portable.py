"""A course stays incremental wherever it is checked out: doit records every path relative to the course folder, so a
course copied to another folder with its build/ (as a CI runner restores it into a fresh workspace) builds nothing
again."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import time

import pytest

from support.doit import ok, run

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def recorded_deps(course) -> dict[str, list[str]]:
    """The files each task depends on, as doit's dependency database records them."""
    with sqlite3.connect(course / "build" / ".doit.db") as db:
        rows = db.execute("SELECT task_id, task_data FROM doit").fetchall()
    return {task: json.loads(data).get("deps:", []) for task, data in rows}


def test_a_course_copied_elsewhere_with_its_build_runs_nothing_and_makes_no_build_call(tmp_path, docker_client,
                                                                                          course_images):
    recorded = recorded_deps(course_images)
    assert any(task.startswith("wheels:") for task in recorded) and any(task.startswith("images:") for task in recorded)
    absolute = {task: [p for p in deps if p.startswith(str(course_images))] for task, deps in recorded.items()}
    assert not any(absolute.values()), absolute
    ok(run(course_images, "images"))  # up to date where it was built
    moved = tmp_path / "elsewhere" / "course"
    shutil.copytree(course_images, moved, symlinks=True)
    since_ns = time.time_ns()
    out = ok(run(moved, "images"))
    ran = re.findall(r"^\.\s+(\S+)$", out, re.M)
    assert ran == [], out[-3000:]
    assert re.findall(r"^-- images:", out, re.M), out  # every image task looked at and found up to date
    events = [e for e in docker_client.events(since=since_ns // 10**9, until=int(time.time()) + 1,
                                               filters={"type": "image"}, decode=True) if e["timeNano"] >= since_ns]
    assert events == [], events  # no build, no tag, no pull

"""`doit list` is the teacher's menu: the tasks in the order of the pipeline, every subtask with a one-line doc."""

from __future__ import annotations

from support.doit import ok, run
from support.repo import REPO

PIPELINE = ["base", "dockerfiles", "wheels", "images", "roster", "manifests", "launch", "strip", "release", "collect", "exam", "grade", "mark",
            "mail", "status", "stop", "workshop", "workshop:status", "workshop:stop"]


def doit_list(*args: str) -> list[str]:
    return [line for line in ok(run(REPO, "list", *args)).splitlines() if line.strip()]


def test_the_menu_is_in_pipeline_order():
    names = [line.split()[0] for line in doit_list()]
    assert names == PIPELINE


def test_every_subtask_has_a_one_line_doc():
    lines = doit_list("--all")
    assert any(line.startswith("strip:") for line in lines) and any(line.startswith("images:") for line in lines)
    undocumented = [line.split()[0] for line in lines if len(line.split()) < 2]
    assert undocumented == []

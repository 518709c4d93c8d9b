"""Task creator for exam mode: `doit exam:<a>` starts an exam of an assignment, `doit exam:<a> --end` ends it."""

from __future__ import annotations

from .. import paths, threads
from ..assignments.exam import end_exam, start_exam
from ..assignments.files import assignments
from ..errors import NbfleetError
from ..roster.hosts import load_hosts
from ..servers.manifest import make_manifest
from . import render
from .common import action, settings
from .launch import launch_from_manifest

END = {"name": "end", "long": "end", "type": bool, "default": False,
       "help": "end the exam: snapshot every student's copy into build/submissions/<a>/, then servers back to normal"}


def _relaunch(s) -> list[str]:
    """Every host's manifest written again (the exam's or the normal one) and every server recreated now, hosts in
    parallel; the students who were working right now."""
    def one(host) -> list[str]:
        make_manifest(s, host.name)
        return launch_from_manifest(str(paths.launch_manifest(s, host.name)), force=True).interrupted

    hosts = load_hosts(s)
    outcomes = threads.each(_catch(one), hosts, workers=len(hosts))
    failed = [str(o) for o in outcomes if isinstance(o, NbfleetError)]
    if failed:
        raise NbfleetError("exam", "; ".join(failed))
    return sorted(sid for o in outcomes for sid in o)


def _catch(fn):
    def run(arg):
        try:
            return fn(arg)
        except NbfleetError as exc:  # one host failing must not stop the exam on the others
            return exc

    return run


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
    start_exam(s, assignment)
    print(f"exam {assignment}: every student's server is recreated now for the exam (no outbound connection, only "
          f"{assignment}/ in sight), students working right now included: their saved files stay")
    working = _relaunch(s)
    print(f"exam {assignment} runs: {len(working)} student(s) were working when their server was recreated"
          + (f" ({', '.join(working[:10])}{', …' if len(working) > 10 else ''})" if working else "")
          + f"; `doit status` shows the exam; `doit exam:{assignment} --end` ends it")


def task_exam():
    """Exam mode for an assignment: servers cut off and showing only it, until --end snapshots and restores them."""
    s = settings()
    yield {"basename": "exam", "name": None,
           "doc": "exam mode: exam:<a> recreates every student's server for the exam; exam:<a> --end snapshots and ends it"}
    for name in assignments(s):
        yield {"name": name, "doc": f"start an exam of {name} (--end: snapshot every copy and end it)",
               "actions": [(action(_exam), [name])], "params": [END], "uptodate": [False], "verbosity": 2}

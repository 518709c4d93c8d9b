"""What every task creator shares: the course's settings, doit's configuration, a one-line error for bad input, the
reporter, and paths as doit records them."""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

from doit.exceptions import TaskFailed, UnmetDependency
from doit.reporter import ConsoleReporter

from .. import paths
from .. import settings as course_settings
from ..errors import NbfleetError


@functools.cache
def settings():
    """The course's settings, loaded once per doit run; bad settings end the run with one line."""
    try:
        return course_settings.load(os.environ.get("NBFLEET_COURSE") or Path.cwd() / "course.toml")
    except NbfleetError as exc:
        sys.stderr.write(f"error: {exc}\n")
        raise SystemExit(2) from None


def dep(path) -> str:
    """A path as doit records it (a ``file_dep``, a ``target``, a value in ``config_changed``): relative to the course
    folder doit runs in when inside it, so that a course moved to another folder, or restored into a CI runner's
    fresh workspace with its ``build/``, is not built again."""
    text = os.fspath(path)
    if not os.path.isabs(text):
        return text
    here = os.path.join(os.getcwd(), "")
    return text[len(here):] if text.startswith(here) else text


def deps(paths_) -> list[str]:
    """``dep`` of each path."""
    return [dep(p) for p in paths_]


def action(fn):
    """Wrap a python-action so that an NbfleetError fails the task with its one line, not a traceback."""

    @functools.wraps(fn)
    def run(*args, **kwargs):
        try:
            result = fn(*args, **kwargs)
        except NbfleetError as exc:
            return TaskFailed(str(exc))
        return None if result is None or result is True else result

    return run


def _raise(error: NbfleetError):
    raise error


def fails_with(error: NbfleetError) -> list:
    """The actions of a task that can only fail with ``error``: bad input found while listing tasks is said
    when the task runs (so `doit list` still works), in its one line."""
    return [(action(_raise), [error])]


def group_flag(argv: list[str], task: str, flag: str = "--force") -> bool:
    """Was ``flag`` given to the group task ``task`` itself (``doit -n 4 launch --force``)?

    doit parses a group task's params but does not hand them to its subtasks, so the group's flag is read from the
    command line here and becomes the subtasks' default.
    """
    for i, arg in enumerate(argv):
        if arg == task:
            for later in argv[i + 1:]:
                if not later.startswith("-"):
                    break
                if later == flag:
                    return True
    return False


class Reporter(ConsoleReporter):
    """doit's console reporter, but a failure caused by bad input is one line: ``error: <where>: <what>``."""

    desc = "nbfleet console output"

    def _write_failure(self, result, write_exception=True):
        fail = result["exception"]
        if type(fail) is TaskFailed and not getattr(fail, "traceback", None):
            self.write(f"error: {fail.message}\n")
        elif isinstance(fail, UnmetDependency):  # the cause was already said in its own line
            self.write(f"-- {result['task'].name}: not run, a task it needs failed\n")
        else:
            super()._write_failure(result, write_exception)

    def complete_run(self):
        # A TaskFailed from bad input was already said in one line; show captured output only for crashes.
        self.failures = [r for r in self.failures
                         if not (type(r["exception"]) is TaskFailed or isinstance(r["exception"], UnmetDependency))]
        super().complete_run()


# What every course's dodo.py starts from (it adds its default tasks): doit's database as SQLite under build/, the
# console above, hosts in threads (`doit -n 4 launch`), and a host that fails never stops the others.
DOIT_CONFIG = {
    "backend": "sqlite3",
    "dep_file": paths.DOIT_DB,
    "reporter": Reporter,
    "verbosity": 2,
    "par_type": "thread",
    "continue": True,
}

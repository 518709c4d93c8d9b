"""What every task creator shares: the course's settings, a one-line error for bad input, the reporter."""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

from doit.exceptions import TaskFailed, UnmetDependency
from doit.reporter import ConsoleReporter

from ..errors import NbfleetError


@functools.cache
def settings():
    """The course's settings, loaded once per doit run; bad settings end the run with one line."""
    from .. import settings as settings_module

    try:
        return settings_module.load(os.environ.get("NBFLEET_COURSE") or Path.cwd() / "course.toml")
    except NbfleetError as exc:
        sys.stderr.write(f"error: {exc}\n")
        raise SystemExit(2) from None


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


def rich_console():
    """A rich console; when the output is a file or a pipe (a log), wide enough that names are not cut."""
    import sys

    from rich.console import Console

    return Console() if sys.stdout.isatty() else Console(width=160)

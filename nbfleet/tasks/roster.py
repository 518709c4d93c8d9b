"""Task creators for the class list: `doit roster`, `doit manifests`, `doit mail`.

Metadata only: the hosts file is parsed here (cheap, pure Python) to name one manifest subtask per host;
pandas, argon2 and smtplib are imported when an action runs, not while doit lists tasks.
"""

from __future__ import annotations

import functools
import subprocess
import sys
from pathlib import Path

from doit.tools import config_changed

from .. import paths
from ..errors import NbfleetError
from ..roster import mail
from ..roster.allocate import fill_roster
from ..roster.hosts import load_hosts
from ..servers import manifest
from ..servers.exam import running as running_exam
from ..servers.manifest import make_manifest
from .common import action, dep, deps, fails_with, settings


def _fill_roster():
    s = settings()
    result = fill_roster(s)
    for line in result.lines():
        print(line)
    if result.written and result.passwords:
        _warn_if_tracked(Path(s.roster_file), Path(s.root))


def _warn_if_tracked(path: Path, root: Path) -> None:
    """Passwords in a file git tracks end up in the next `git commit -a`: say so, with the fix."""
    try:
        tracked = subprocess.run(
            ["git", "-C", str(root), "ls-files", "--error-unmatch", "--", str(path)],
            capture_output=True, timeout=10,
        ).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return  # no git here: nothing can be committed by accident
    if tracked:
        rel = paths.shown(path, root)
        sys.stderr.write(
            f"warning: {rel} now holds passwords and git tracks it: run `git rm --cached {rel}` before your next "
            "commit (the file stays; roster/.gitignore then keeps it out of git)\n"
        )


def task_roster():
    """doit roster: validate roster/users.csv and fill in what is missing."""
    s = settings()
    inputs = [p for p in (s.roster_file, s.hosts_file, s.file) if Path(p).exists()]
    return {
        "doc": "validate the roster and fill in server, port, password, url",
        "actions": [action(_fill_roster)],
        "file_dep": deps(inputs),
        "uptodate": [config_changed({"tag": s.course.tag, "password_length": s.roster.password_length,
                                     "https": bool(s.launch.tls_cert)})],
        "verbosity": 2,
    }


def _write_manifest(host: str):
    s = settings()
    path, count, rewritten = make_manifest(s, host)
    print(f"{paths.shown(path, s.root)}: {count} containers" + ("" if rewritten else " (unchanged)"))


def task_manifests():
    """doit manifests:<host>: the desired containers of each host, from roster, hosts, course.toml and the image."""
    s = settings()
    yield {"basename": "manifests", "name": None, "doc": "write build/launch/<host>.json: the containers each host should run"}
    try:
        hosts = load_hosts(s)
    except NbfleetError as exc:  # `doit list` still works; `doit manifests` fails with the one line
        yield {"name": "hosts", "doc": "the hosts file has a problem", "actions": fails_with(exc)}
        return
    inputs = deps([s.roster_file, s.hosts_file, s.file, paths.image_record(s, s.images.launch)])
    try:
        exam = running_exam(s)
    except NbfleetError:  # `doit manifests` says so in its one line
        exam = None
    exam_now = exam.assignment if exam else ""
    for host in hosts:
        yield {
            "name": host.name,
            "doc": f"write build/launch/{host.name}.json ({host.endpoint})",
            "actions": [action(functools.partial(_write_manifest, host.name))],
            "file_dep": inputs,
            "targets": [dep(paths.launch_manifest(s, host.name))],
            "task_dep": ["roster"],
            "uptodate": [config_changed({"format": manifest.FORMAT, "exam": exam_now})],
            "verbosity": 2,
        }


def _mail(send: bool):
    for line in mail.run(settings(), send_now=send):
        print(line)


def task_mail():
    """doit mail [--send]: write each user's invitation; send the ones not sent yet only with --send."""
    return {
        "doc": "write invitations to build/mail/ (with --send: mail those not sent yet)",
        "actions": [action(_mail)],
        "params": [{"name": "send", "long": "send", "type": bool, "default": False,
                    "help": "send the invitations not sent yet over SMTP ([mail] in course.toml)"}],
        "task_dep": ["roster"],
        "uptodate": [False],  # cheap, and whether to send is decided by the sent-log, not by doit
        "verbosity": 2,
    }

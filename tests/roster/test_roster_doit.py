"""`doit roster` and friends as the teacher runs them: a usable menu, a no-op second run, and a warning before
passwords can slip into git."""

from __future__ import annotations

import os
import subprocess
import sys

from support.doit import run as doit
from support.doit import write_dodo
from support.repo import REPO


def test_the_menu_lists_roster_manifests_per_host_and_mail(sample_course):
    write_dodo(sample_course, "roster", "manifests", "mail")
    (sample_course / "hosts").write_text("local local\nlab2 ssh://teacher@lab2 course_root=/srv/course\n")
    listing = doit(sample_course, "list", "--all").stdout
    assert "roster            validate the roster and fill in server, port, password, url" in listing
    assert "manifests:lab2    write build/launch/lab2.json (ssh://teacher@lab2)" in listing
    assert "mail              write invitations to build/mail/ (with --send: mail those not sent yet)" in listing


def test_listing_tasks_imports_no_pandas_argon2_or_smtplib(sample_course):
    code = ("import sys; sys.argv=['doit','list']; import nbfleet.tasks.roster as t; t.task_roster(); list(t.task_manifests()); t.task_mail();"
            "print(sorted(m for m in ('pandas', 'argon2', 'smtplib', 'docker') if m in sys.modules))")
    env = {**os.environ, "PYTHONPATH": str(REPO), "NBFLEET_COURSE": str(sample_course / "course.toml")}
    out = subprocess.run([sys.executable, "-c", code], cwd=sample_course, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_a_second_run_does_nothing(sample_course):
    write_dodo(sample_course, "roster", "manifests", "mail")
    first = doit(sample_course, "roster")
    assert first.returncode == 0 and "filled in: 4 servers, 4 ports, 4 passwords, 4 urls" in first.stdout
    second = doit(sample_course, "roster")
    assert second.returncode == 0 and "-- roster" in second.stdout


def test_passwords_in_a_roster_git_tracks_bring_a_warning_with_the_fix(sample_course):
    write_dodo(sample_course, "roster", "manifests", "mail")
    git = ["git", "-C", str(sample_course), "-c", "user.email=t@example.org", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    assert subprocess.run([*git, "ls-files", "roster"], capture_output=True, text=True, check=True).stdout.split() == ["roster/.gitignore"], \
        "a plain `git add .` never picks up a roster"
    # the sample is tracked the way nbfleet's repository tracks it: added on purpose despite roster/.gitignore
    subprocess.run([*git, "add", "-f", "roster/users.csv"], check=True)
    # any other roster file stays out of git
    (sample_course / "roster" / "users-2025.tsv").write_text("SNumber\tName\n")
    subprocess.run([*git, "add", "."], check=True)
    tracked = subprocess.run([*git, "ls-files", "roster"], capture_output=True, text=True, check=True).stdout.split()
    assert tracked == ["roster/.gitignore", "roster/users.csv"]
    subprocess.run([*git, "commit", "-q", "-m", "course"], check=True)

    result = doit(sample_course, "roster")
    assert result.returncode == 0
    assert "warning: roster/users.csv now holds passwords and git tracks it: run `git rm --cached roster/users.csv`" in result.stderr

    subprocess.run([*git, "rm", "-q", "--cached", "roster/users.csv"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    assert subprocess.run([*git, "ls-files", "roster"], capture_output=True, text=True).stdout.split() == ["roster/.gitignore"]

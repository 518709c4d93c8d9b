"""Bad input through the real command line: one line naming file, line and column, a non-zero exit, the roster
file untouched and no manifest written (so nothing can be launched from it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.courses import STANDIN_IMAGE, write_record
from support.doit import run as doit
from support.doit import write_dodo

HEADER = "SNumber,Name,LastName,Email,mbd_url,mbd_server,mbd_port,Password,Admin\n"
HOSTS = "# two lab servers\nlocal local capacity=3 ports=20000-20009\nlab2 ssh://teacher@lab2 capacity=2 ports=21000-21009\n"


def prepare(course: Path, roster: bytes, hosts: str = HOSTS) -> None:
    """A course folder with only the roster tasks in its dodo.py and a stand-in image record."""
    write_dodo(course, "roster", "manifests", "mail")
    (course / "hosts").write_text(hosts)
    (course / "roster" / "users.csv").write_bytes(roster)
    write_record(course, STANDIN_IMAGE)


def row(sid="s1", name="Ada", last="Lovelace", email="ada@example.org", url="", server="", port="", password="", admin="FALSE"):
    return f"{sid},{name},{last},{email},{url},{server},{port},{password},{admin}\n"


CASES = {
    "duplicate student id": (HEADER + row("s1") + row("s2") + row("s1"), "roster/users.csv:4:1", "'s1' appears twice (first on line 2)"),
    "duplicate id differing in case": (HEADER + row("s1") + row("S1"), "roster/users.csv:3:1", "appears twice"),
    "duplicate server:port": (HEADER + row("s1", server="local", port="20001") + row("s2", server="local", port="20001"),
                              "roster/users.csv:3:7", "local:20001 is already taken by line 2"),
    "port outside the host's range": (HEADER + row(server="lab2", port="20001"), "roster/users.csv:2:7", "outside lab2's range 21000-21009"),
    "port below 1024": (HEADER + row(server="local", port="80"), "roster/users.csv:2:7", "below 1024"),
    "port not a number": (HEADER + row(server="local", port="2000a"), "roster/users.csv:2:7", "is not a number"),
    "port without a server": (HEADER + row(port="20001"), "roster/users.csv:2:7", "a port without a server"),
    "server not in hosts": (HEADER + row(server="lab9"), "roster/users.csv:2:6",
                            "server 'lab9' is not in hosts (known: local, lab2; empty mbd_server and mbd_port to move the student)"),
    "capacity of a host exceeded": (HEADER + "".join(row(f"s{i}", server="lab2") for i in range(3)), "roster/users.csv:4:6",
                                    "over its capacity of 2"),
    "no room left for a new student": (HEADER + "".join(row(f"s{i}") for i in range(6)), "roster/users.csv:7:6", "no host has room for s5"),
    "missing required column": ("SNumber,Name,Email,Admin\ns1,Ada,ada@example.org,FALSE\n", "roster/users.csv:1:1", "missing column 'LastName'"),
    "empty file": ("", "roster/users.csv:1:1", "the roster is empty"),
    "only blank lines": ("\n\n  \n", "roster/users.csv:1:1", "the roster is empty"),
    "not UTF-8": ((HEADER + row() + row("s2", name="Zo\xeb")).encode("latin-1"), "roster/users.csv:3:6", "not UTF-8"),
    "Admin not TRUE/FALSE": (HEADER + row(admin="yes"), "roster/users.csv:2:9", "must be TRUE or FALSE, not 'yes'"),
    "id climbing out of its folder": (HEADER + row("../x"), "roster/users.csv:2:1", "'../x' is not a safe student id"),
    "id with dots only": (HEADER + row("s..1"), "roster/users.csv:2:1", "is not a safe student id"),
    "id with a space": (HEADER + row("s 1"), "roster/users.csv:2:1", "is not a safe student id"),
    "id with shell characters": (HEADER + row("s1;rm"), "roster/users.csv:2:1", "is not a safe student id"),
    "id with a command substitution": (HEADER + row("$(id)"), "roster/users.csv:2:1", "is not a safe student id"),
    "empty id": (HEADER + row(""), "roster/users.csv:2:1", "SNumber is empty"),
    "not an e-mail address": (HEADER + row(email="ada at example"), "roster/users.csv:2:4", "is not an e-mail address"),
    "a row with too many cells": (HEADER + row() + "s2,B,C,d@example.org,,,,,FALSE,extra\n", "roster/users.csv:3:10",
                                  "10 cells but the header has 9"),
    "a column twice": ("SNumber,Name,LastName,Email,Name\ns1,a,b,c@example.org,d\n", "roster/users.csv:1:5", "column 'Name' appears twice"),
    "semicolons": ("SNumber;Name;LastName;Email\n", "roster/users.csv:1:8", "separated by ';'"),
    "a malformed hosts line": (HEADER + row(), "hosts:4:1", "needs a name and a Docker endpoint", HOSTS + "lab3\n"),
    "a malformed endpoint": (HEADER + row(), "hosts:4:6", "unknown scheme 'htp'", HOSTS + "lab3 htp://lab3:2376\n"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_one_line_exit_nonzero_and_touches_nothing(sample_course, case):
    content, where, what, *hosts = CASES[case]
    raw = content if isinstance(content, bytes) else content.encode("utf-8")
    prepare(sample_course, raw, *hosts)
    roster = sample_course / "roster" / "users.csv"
    stamp = roster.stat().st_mtime_ns

    result = doit(sample_course, "manifests")

    output = (result.stdout + result.stderr).splitlines()
    errors = [line for line in output if line.startswith("error:")]
    assert result.returncode != 0, output
    assert len(errors) == 1, output
    assert errors[0].startswith(f"error: {where}: "), errors[0]
    assert what in errors[0]
    assert not any("Traceback" in line for line in output), output
    assert roster.read_bytes() == raw and roster.stat().st_mtime_ns == stamp, "the roster file is untouched"
    assert not list((sample_course / "build").glob("launch/*.json")), "no manifest, so nothing is launched"


def test_names_with_shell_characters_and_non_ascii_letters_pass_through_and_never_reach_a_shell(sample_course):
    import tempfile

    trapdir = Path(tempfile.mkdtemp(prefix="t"))  # short paths: names stay short enough for one header line
    traps = [trapdir / f"p{i}" for i in range(4)]
    names = [
        ("Zoë", f"$(touch {traps[0]})"),
        ("Łukasz", f"`touch {traps[1]}`"),
        ("Ngọc; touch " + str(traps[2]), "O'Brien && true"),
        ("李", f'"; touch {traps[3]}; echo "'),
    ]
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(HEADER.strip().split(","))
    for i, (first, last) in enumerate(names):
        writer.writerow([f"s{i}", first, last, f"s{i}@example.org", "", "", "", "", "FALSE"])
    prepare(sample_course, buf.getvalue().encode("utf-8"), "local local capacity=10 ports=20000-20009\n")

    result = doit(sample_course, "manifests", "mail")

    assert result.returncode == 0, result.stdout + result.stderr
    text = (sample_course / "roster" / "users.csv").read_text(encoding="utf-8")
    for first, last in names:
        assert first in text and (last in text or last.replace('"', '""') in text)
    assert not any(p.exists() for p in traps), "a name reached a shell"
    trapdir.rmdir()
    from email import message_from_bytes, policy

    for i, (first, last) in enumerate(names):
        mail = message_from_bytes((sample_course / "build" / "mail" / f"s{i}.eml").read_bytes(), policy=policy.default)
        assert mail["To"].addresses[0].display_name == f"{first} {last}"
        assert mail.get_content().startswith(f"Dear {first},")

"""Resetting one student's password through the real commands: blank the cell, `doit roster`, `doit manifests`,
`doit mail --send`. Only that student's manifest entry changes and only that student is mailed."""

from __future__ import annotations

import csv
import io
import json
import socket
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from support.courses import STANDIN_IMAGE, write_record
from support.doit import ok, run, write_dodo


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name for it
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def inbox():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    box = Inbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    box.port = port
    yield box
    controller.stop()


def doit(course: Path, *args: str) -> str:
    """The whole output of a doit run that must succeed."""
    result = run(course, *args)
    ok(result)
    return result.stdout + result.stderr


def read_roster(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def entries(course: Path) -> dict[str, dict]:
    out = {}
    for host in ("local", "lab2"):
        for c in json.loads((course / "build" / "launch" / f"{host}.json").read_text())["containers"]:
            out[c["student"]] = c
    return out


def test_resetting_one_password_changes_one_container_and_mails_one_student(sample_course, inbox):
    course = sample_course
    write_dodo(course, "roster", "manifests", "mail")
    (course / "hosts").write_text("local local capacity=2\nlab2 ssh://teacher@lab2 capacity=10 course_root=/srv/course\n")
    toml = course / "course.toml"
    toml.write_text(toml.read_text().replace('smtp_host = "localhost"', 'smtp_host = "127.0.0.1"')
                    .replace("smtp_port = 25", f"smtp_port = {inbox.port}"))
    write_record(course, STANDIN_IMAGE)
    roster = course / "roster" / "users.csv"

    out = doit(course, "manifests")
    assert "4 students (1 admin)" in out
    before_rows = {r["SNumber"]: r for r in read_roster(roster)}
    before = entries(course)
    assert {c["student"] for c in before.values()} == set(before_rows)
    assert "-- manifests:local" in doit(course, "manifests"), "nothing changed: doit skips the manifests"

    doit(course, "mail", "--send")
    assert sorted(m["To"].addresses[0].addr_spec for m in inbox.messages) == ["ada@example.org", "alan@example.org",
                                                                               "teacher@example.org", "zoe@example.org"]

    # the teacher blanks Zoë's password cell (s2345678) in the spreadsheet
    rows = read_roster(roster)
    header = list(rows[0])
    for r in rows:
        if r["SNumber"] == "s2345678":
            r["Password"] = ""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    roster.write_text(buf.getvalue(), encoding="utf-8")

    assert "1 passwords" in doit(course, "roster")
    after_rows = {r["SNumber"]: r for r in read_roster(roster)}
    old_password, new_password = before_rows["s2345678"]["Password"], after_rows["s2345678"]["Password"]
    assert new_password and new_password != old_password
    for sid, r in after_rows.items():
        if sid != "s2345678":
            assert r == before_rows[sid]
        else:
            assert {k: v for k, v in r.items() if k != "Password"} == {k: v for k, v in before_rows[sid].items() if k != "Password"}

    doit(course, "manifests")
    after = entries(course)
    for sid in before:
        if sid == "s2345678":
            b, a = before[sid]["server"], after[sid]["server"]
            assert after[sid]["hash"] != before[sid]["hash"]
            assert a["command"] != b["command"]
            assert {k: v for k, v in a.items() if k != "command"} == {k: v for k, v in b.items() if k != "command"}
        else:
            assert after[sid] == before[sid], f"{sid}'s entry changed"
    for host in ("local", "lab2"):
        text = (course / "build" / "launch" / f"{host}.json").read_text()
        assert new_password not in text and old_password not in text

    doit(course, "mail", "--send")
    assert len(inbox.messages) == 5
    reset = inbox.messages[-1]
    assert reset["To"].addresses[0].addr_spec == "zoe@example.org"
    assert new_password in reset.get_content() and old_password not in reset.get_content()

    assert "sent 0" in doit(course, "mail", "--send")
    assert len(inbox.messages) == 5, "a second run sends nothing"

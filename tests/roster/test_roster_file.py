"""Reading and rewriting the roster: the teacher's file keeps its shape; only empty cells nbfleet owns get filled."""

from __future__ import annotations

import csv
import io
import os
import stat
from pathlib import Path

import pytest

from nbfleet.errors import NbfleetError
from nbfleet.roster.allocate import PASSWORD_ALPHABET, fill_roster
from nbfleet.roster.students import load_roster
from nbfleet.settings import load
from support.courses import serve_https

HEADER = ["SNumber", "Name", "LastName", "Email", "mbd_url", "mbd_server", "mbd_port", "Password", "Admin"]


def write(course: Path, text: str | bytes, hosts: str = "local local capacity=40 ports=20000-20999\n") -> Path:
    (course / "hosts").write_text(hosts)
    path = course / "roster" / "users.csv"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def rows(path: Path) -> list[list[str]]:
    text = path.read_bytes().decode("utf-8-sig")
    delimiter = "\t" if "\t" in text.splitlines()[0] else ","
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def test_the_sample_roster_is_filled_once_and_then_left_alone(sample_course):
    settings = load(sample_course / "course.toml")
    path = settings.roster_file
    before = rows(path)
    assert [r[5:8] for r in before[1:]] == [["", "", ""]] * 4, "the sample ships with empty server/port/password cells"
    result = fill_roster(settings)
    assert (result.students, result.admins, result.passwords, result.written) == (4, 1, 4, True)
    after = rows(path)
    assert after[0] == before[0] == HEADER
    for old, new in zip(before[1:], after[1:], strict=True):
        assert new[:4] == old[:4] and new[8] == old[8]
        assert new[5] == "local" and 20000 <= int(new[6]) <= 20999
        assert new[4] == f"http://localhost:{new[6]}/"
        assert len(new[7]) == 12 and set(new[7]) <= set(PASSWORD_ALPHABET)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    stamp = path.stat().st_mtime_ns
    again = fill_roster(settings)
    assert not again.written and path.stat().st_mtime_ns == stamp and rows(path) == after
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")], "no temporary file left behind"


@pytest.mark.parametrize("bom", [False, True])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("delimiter", [",", "\t"])
def test_delimiter_bom_line_endings_and_unknown_columns_survive(sample_course, delimiter, newline, bom):
    header = ["Group", "SNumber", "Name", "LastName", "Email", "mbd_url", "mbd_server", "mbd_port", "Password", "Admin", "Notes"]
    data = [
        ["A", "s1", "Zoë", "O'Brien; rm -rf $HOME", "zoe@example.org", "", "", "", "", "FALSE", "likes \"quotes\", commas"],
        ["B", "s2", "Ünal", "$(reboot) `id` | > <", "unal@example.org", "", "local", "20007", "keepMe123", "FALSE", ""],
        ["", "admin1", "Tea", "Cher", "tea@example.org", "", "", "", "", "TRUE", "multi\nline"],
    ]
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator=newline).writerows([header, *data])
    path = write(sample_course, ("\ufeff" if bom else "") + buf.getvalue())
    settings = load(sample_course / "course.toml")
    fill_roster(settings)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") == bom
    assert (b"\r\n" in raw) == (newline == "\r\n")
    out = rows(path)
    assert out[0] == header
    for old, new in zip(data, out[1:], strict=True):
        for col in ("Group", "SNumber", "Name", "LastName", "Email", "Admin", "Notes"):
            assert new[header.index(col)] == old[header.index(col)]
    s2 = out[2]
    assert s2[header.index("mbd_port")] == "20007" and s2[header.index("Password")] == "keepMe123", "filled values never change"
    assert out[1][header.index("mbd_port")] == "20000" and out[3][header.index("mbd_port")] == "20001"
    students = load_roster(settings).students
    assert [s.last_name for s in students[:2]] == ["O'Brien; rm -rf $HOME", "$(reboot) `id` | > <"]
    assert students[2].admin and students[2].line == 4


def test_missing_columns_are_added_at_the_end(sample_course):
    path = write(sample_course, "SNumber,Name,LastName,Email,Admin\ns1,Ada,Lovelace,ada@example.org,FALSE\n")
    fill_roster(load(sample_course / "course.toml"))
    out = rows(path)
    assert out[0] == ["SNumber", "Name", "LastName", "Email", "Admin", "mbd_url", "mbd_server", "mbd_port", "Password"]
    assert out[1][5:8] == ["http://localhost:20000/", "local", "20000"]


def test_blank_lines_and_empty_rows_are_not_students(sample_course):
    path = write(sample_course, ",".join(HEADER) + "\ns1,Ada,L,a@example.org,,,,,FALSE\n\n,,,,,,,,\ns2,Bo,M,b@example.org,,,,,FALSE\n")
    settings = load(sample_course / "course.toml")
    assert [s.line for s in load_roster(settings).students] == [2, 5]
    fill_roster(settings)
    assert [r[0] for r in rows(path)] == ["SNumber", "s1", "s2"]


def test_a_header_only_roster_has_no_students(sample_course):
    write(sample_course, ",".join(HEADER) + "\n")
    result = fill_roster(load(sample_course / "course.toml"))
    assert result.students == 0


def test_https_when_the_course_has_a_certificate(sample_course):
    toml = sample_course / "course.toml"
    serve_https(sample_course)
    path = write(sample_course, ",".join(HEADER) + "\ns1,Ada,L,a@example.org,http://localhost:20000/,local,20000,pw123456789x,FALSE\n",
                 hosts="local local public=lab.example.org\n")
    fill_roster(load(toml))
    assert rows(path)[1][4] == "https://lab.example.org:20000/", "the url follows scheme and public name; the port stays"


def test_a_roster_readable_by_others_becomes_private_when_rewritten(sample_course):
    path = write(sample_course, ",".join(HEADER) + "\ns1,Ada,L,a@example.org,,,,,FALSE\n")
    os.chmod(path, 0o644)
    fill_roster(load(sample_course / "course.toml"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_password_cell_of_only_spaces_counts_as_empty(sample_course):
    settings = load(sample_course / "course.toml")
    path = write(sample_course, ",".join(HEADER) + "\ns1,A,B,a@example.org,,,,   ,FALSE\n")
    fill_roster(settings)
    password = rows(path)[1][7]
    assert password.strip() == password and len(password) == 12


def test_a_non_ascii_mailbox_name_is_refused_naming_the_cell(sample_course):
    settings = load(sample_course / "course.toml")
    path = write(sample_course, ",".join(HEADER) + "\ns1,Zoë,B,zoë@example.org,,,,,FALSE\n")
    before = path.read_bytes()
    with pytest.raises(NbfleetError) as err:
        load_roster(settings)
    assert err.value.where == "roster/users.csv:2:4" and "zoë@example.org" in err.value.what  # line 2, column 4 (Email)
    assert path.read_bytes() == before

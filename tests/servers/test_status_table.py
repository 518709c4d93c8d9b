"""`doit status`: rows from the engine and from Jupyter inside each container; a static page that is safe to open."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from nbfleet.roster.hosts import Host
from nbfleet.servers.activity import times
from nbfleet.servers.launch import launch_host
from nbfleet.servers.status import Row, host_rows
from nbfleet.servers.status_page import cells, human_bytes, human_duration, render_page, write_page
from support.courses import container_entry, manifest, random_course, write_manifest
from support.engines import free_ports

NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC)


def test_durations_and_sizes_read_like_a_teacher_would_say_them():
    assert human_duration(None) == ""
    assert human_duration(59) == "0m 59s"
    assert human_duration(3 * 3600 + 120) == "3h 02m"
    assert human_duration(2 * 86400 + 7200) == "2d 2h"
    assert human_bytes(None) == "" and human_bytes(512) == "512 B"
    assert human_bytes(300 * 1024**2) == "300.0 MiB"


def test_cells_show_state_working_and_activity_relative_to_now():
    r = Row("s1", "lab1", "mbd-s1", 20000, "http://lab1:20000/", "running", uptime=3700,
            last_activity="2026-11-21T11:55:00Z", working=True, memory=200 * 1024**2)
    assert cells(r, NOW) == ["s1", "lab1", "20000", "running (working)", "", "1h 01m", "5m 00s ago", "200.0 MiB"]


def test_uptime_and_last_activity_agree_with_what_jupyter_reports():
    # A server nobody used yet: Jupyter reports its start as its last activity; both figures are the same.
    act = {"started": "2026-11-21T11:59:59.600000Z", "last_activity": "2026-11-21T11:59:59.600000Z"}
    uptime, idle = times(act, NOW)
    r = Row("s1", "lab1", "mbd-s1", 20000, "u", "running", uptime=uptime, last_activity=act["last_activity"], idle=idle)
    assert cells(r, NOW + dt.timedelta(seconds=2))[5:7] == ["0m 00s", "0m 00s ago"]  # printed later: same instant
    # used 3 minutes after it started: idle is what it says, never more than the uptime
    uptime, idle = times({"started": "2026-11-21T11:50:00Z", "last_activity": "2026-11-21T11:53:00Z"}, NOW)
    assert (uptime, idle) == (600.0, 420.0)
    assert times({"started": "2026-11-21T11:59:00Z", "last_activity": "2026-11-21T11:58:00Z"}, NOW) == (60.0, 60.0)
    assert times({}, NOW) == (None, None)


def test_page_links_each_student_and_escapes_what_the_roster_says(tmp_path):
    rows = [Row("<script>x</script>", "lab1", "c1", 20000, "http://lab1:20000/", "running"),
            Row("s2", "lab2", "c2", 20001, "http://lab2:20001/", "host unreachable")]
    page = render_page(rows, "Big <Data>", NOW)
    assert "<script>x" not in page and "&lt;script&gt;x&lt;/script&gt;" in page
    assert '<a href="http://lab2:20001/">s2</a>' in page
    assert 'class="down"' in page and "Big &lt;Data&gt;" in page
    out = write_page(rows, tmp_path / "build" / "status.html", "Big Data")
    assert out.read_text().startswith("<!doctype html>")
    assert not list(out.parent.glob(".status-*"))  # no temp file left behind


@pytest.mark.docker
def test_host_rows_report_running_stopped_and_missing_servers(tmp_path, docker_client, tiny_image, cleanup_containers):
    course = random_course()
    cleanup_containers.append((docker_client, course))
    ports = free_ports(3)
    entries = [container_entry(course, f"s{i}", ports[i], str(tmp_path / "students" / f"s{i}"), tiny_image["id"],
                               public="127.0.0.1") for i in range(3)]
    host = Host("local", "local", public="127.0.0.1", course_root=str(tmp_path))
    assert launch_host(manifest(host, course, entries[:2], tiny_image), 1000, 1000).ok
    docker_client.api.stop(entries[1]["name"], timeout=2)
    # s2 is wanted but not launched yet
    write_manifest(tmp_path / "build" / "launch" / "local.json", manifest(host, course, entries, tiny_image))
    settings = SimpleNamespace(build_dir=tmp_path / "build", course=SimpleNamespace(tag=course),
                               launch=SimpleNamespace(idle_window=900.0))
    rows = {r.student: r for r in host_rows(settings, host)}
    assert rows["s0"].state == "running" and rows["s0"].uptime is not None and rows["s0"].uptime >= 0
    assert rows["s0"].last_activity and rows["s0"].memory and rows["s0"].memory > 0
    assert rows["s0"].idle is not None and rows["s0"].idle <= rows["s0"].uptime
    assert rows["s0"].url == entries[0]["url"] and rows["s0"].port == ports[0]
    assert rows["s1"].state == "exited" and rows["s1"].memory is None
    assert rows["s2"].state == "missing"

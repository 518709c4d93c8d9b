"""build/status.html in a real browser: the page a teacher opens during class, and during an exam."""

from __future__ import annotations

import datetime as dt

from nbfleet.servers.status import Row
from nbfleet.servers.status_page import COLUMNS, write_page
from support.browser import chromium

NOW = dt.datetime(2026, 12, 3, 10, 0, tzinfo=dt.UTC)


def test_the_status_page_reads_as_a_table_with_the_exam_mode(tmp_path):
    rows = [
        Row("s1234567", "lab1", "mbd-s1234567", 20000, "http://lab1:20000/", "running", uptime=3700,
            last_activity=(NOW - dt.timedelta(minutes=4)).isoformat(), idle=240, working=True, memory=200 * 1024**2,
            mode="exam assignment1"),
        Row("s2345678", "lab1", "mbd-s2345678", 20001, "http://lab1:20001/", "exited (exit code 1)", mode="exam assignment1"),
        Row("<b>teacher</b>", "lab2", "mbd-teacher", 20002, "http://lab2:20002/", "running", uptime=60, idle=30, memory=1024**3),
    ]
    page_file = write_page(rows, tmp_path / "status.html", "Managing Big Data")
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1100, "height": 400})
        page.goto(page_file.as_uri())
        assert page.locator("h1").inner_text() == "Managing Big Data"
        assert "3 servers, 2 running" in page.locator("p").first.inner_text()
        assert [h.inner_text() for h in page.locator("th").all()] == list(COLUMNS)
        table = [[c.inner_text() for c in r.locator("td").all()] for r in page.locator("tbody tr").all()]
        mode = COLUMNS.index("mode")
        assert [r[mode] for r in table] == ["exam assignment1", "exam assignment1", ""]
        assert table[0][:4] == ["s1234567", "lab1", "20000", "running (working)"]
        assert table[2][0] == "<b>teacher</b>", "the roster's text shows as text, not as markup"
        assert page.locator("tbody b").count() == 0
        assert page.locator("tbody tr.down td").first.evaluate("e => getComputedStyle(e).color") == "rgb(170, 0, 0)"
        assert page.locator("tbody a").first.get_attribute("href") == "http://lab1:20000/"
        page.screenshot(path=str(tmp_path / "status.png"), full_page=True)

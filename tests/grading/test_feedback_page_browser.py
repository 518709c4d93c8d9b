"""A student's feedback page in a real browser: headings, the points table and paragraphs render as such, the visible
text holds no raw tag, and nothing the student's notebook carries runs (Playwright driving Debian's chromium)."""

from __future__ import annotations

import re

from nbfleet.grading.feedback import feedback_notebook, to_html
from nbfleet.grading.score import Result
from support.browser import chromium

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
HOSTILE = ('<script>window.ran = 1</script><img src=x onerror="window.ran = 2">'
           '<a id="evil" href="javascript:window.ran = 3">click me</a><svg onload="window.ran = 4"></svg>')


def executed_notebook() -> dict:
    code = {"cell_type": "code", "id": "c1", "metadata": {}, "execution_count": 1, "source": "load()",
            "outputs": [{"output_type": "error", "ename": "NotImplementedError", "evalue": "", "traceback": []}]}
    plot = {"cell_type": "code", "id": "c2", "metadata": {}, "execution_count": 2, "source": "show()",
            "outputs": [{"output_type": "display_data", "metadata": {}, "data": {"image/png": PNG}},
                        {"output_type": "display_data", "metadata": {}, "data": {"text/html": HOSTILE}}]}
    words = {"cell_type": "markdown", "id": "m1", "metadata": {},
             "source": "## My answer\n\nThe mean is **robust** here.\n\n" + HOSTILE}
    return {"cells": [words, code, plot], "metadata": {"kernelspec": {"name": "python3", "language": "python",
                                                                         "display_name": "Python 3"}}}


def test_a_feedback_page_reads_as_headings_a_table_and_paragraphs_and_runs_nothing(tmp_path):
    nb = feedback_notebook("assignment1/problem1.ipynb (s1234567)", executed_notebook(), {"load": 1, "plot": 2},
                           [Result("load", 0.0, 1.0, "NotImplementedError"), Result("plot", 2.0, 2.0, "")],
                           ["test cell plot was changed by the student; the teacher's version ran"], {})
    page_file = tmp_path / "problem1.html"
    page_file.write_text(to_html(nb))
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1000, "height": 1400})
        dialogs: list = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(page_file.as_uri())
        assert page.locator("h1").first.inner_text().startswith("Feedback: assignment1/problem1.ipynb (s1234567)")
        assert page.locator("h2", has_text="My answer").count() == 1
        headers = [h.inner_text().strip() for h in page.locator("table").first.locator("th").all()]
        assert headers == ["test", "points", "why"]
        rows = [[c.inner_text().strip() for c in r.locator("td").all()] for r in page.locator("table").first.locator("tbody tr").all()]
        assert rows == [["load", "0 / 1", "NotImplementedError"], ["plot", "2 / 2", ""]]
        assert page.locator("p", has_text="Points: 2 / 3").count() == 1
        assert page.locator("p", has_text="The mean is robust here.").count() == 1
        assert page.locator("strong", has_text="robust").count() == 1
        assert page.locator("img[src^='data:image/png']").count() == 1, "the student's plot shows"
        text = page.locator("body").inner_text()
        assert not re.search(r"</?(h\d|p|th|td|thead|tbody|table|script|img|strong)\b", text), "no raw tag in what a person reads"
        assert "✘ load: 0 / 1 points" in text and "✔ plot: 2 / 2 points" in text
        assert "window.ran" not in text, "a script is dropped with what it holds"
        assert page.locator("#evil").count() == 2 and page.locator("a[href^='javascript']").count() == 0
        page.locator("#evil").first.click()
        assert page.evaluate("window.ran === undefined") and not dialogs, "nothing the student wrote ran"
        page.screenshot(path=str(tmp_path / "feedback.png"), full_page=True)

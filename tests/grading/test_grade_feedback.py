"""Feedback pages (nbfleet.grading.feedback): what the student's code printed cannot run in a browser (pure)."""

from __future__ import annotations

import re

from nbfleet.grading.feedback import feedback_notebook, to_html
from nbfleet.grading.score import Result

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


def test_a_page_runs_no_script_whatever_the_outputs_say():
    executed = {"cells": [{"cell_type": "code", "id": "c1", "metadata": {}, "execution_count": 1, "source": "show()",
                           "outputs": [
                               {"output_type": "display_data", "data": {"image/png": PNG},
                                "metadata": {"image/png": {"width": "1 onerror=alert(document.domain)"}}},
                               {"output_type": "display_data", "metadata": {},
                                "data": {"text/html": "<img src=x onerror=alert(1)><script>alert(2)</script><b>bold</b>"}},
                           ]}],
                "metadata": {"kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}}}
    nb = feedback_notebook("a1/p.ipynb (s1)", executed, {"t": 0}, [Result("t", 1.0, 2.0, "partial credit")], ["a note"], {})
    page = to_html(nb)
    assert not re.search(r"<[^>]*\son[a-z]+\s*=", page, re.IGNORECASE), "no tag carries an event handler"
    assert "<script" not in page.lower()
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert "<b>bold</b>" in page and "t: 1 / 2 points" in page and "a note" in page

"""Answers unusually alike (grading.similarity): copydetect's winnowing on real notebooks, and the report in a real
browser."""

from __future__ import annotations

import json
import re
from pathlib import Path

from nbfleet.grading.similarity import similarity_report
from support.browser import chromium

STUB = '''import pandas as pd

def load(path):
    """Read the measurements file into a DataFrame."""
    # YOUR CODE HERE
    raise NotImplementedError()
'''
ANSWER = '''def busiest(frame, column):
    counts = {}
    for station, riders in zip(frame["station"], frame[column]):
        if riders > 0:
            counts[station] = counts.get(station, 0) + riders
    ranked = sorted(counts.items(), key=lambda item: item[1], reverse=True)
    best = [name for name, total in ranked if total == ranked[0][1]]
    return {"station": best[0], "total": ranked[0][1], "ties": len(best) - 1}
'''
# the same answer, every name changed and the comments and spacing too
RENAMED = '''def most_used(df, col):
    # add up per stop
    tally = {}
    for stop, n in zip(df["station"], df[col]):
        if n > 0:
            tally[stop] = tally.get(stop, 0) + n
    order = sorted(tally.items(), key=lambda kv: kv[1], reverse=True)
    top = [s for s, t in order if t == order[0][1]]
    return {"station": top[0], "total": order[0][1], "ties": len(top) - 1}
'''
OTHERS = [
    '''def busiest(frame, column):
    best = frame.groupby("station")[column].sum().idxmax()
    return {"station": best, "total": int(frame.groupby("station")[column].sum().max()), "ties": 0}
''',
    '''def busiest(frame, column):
    totals = frame[frame[column] > 0].pivot_table(index="station", values=column, aggfunc="sum")
    top = totals.sort_values(column).tail(1)
    return dict(station=top.index[0], total=float(top[column].iloc[0]), ties=0)
''',
    '''import collections

def busiest(frame, column):
    c = collections.Counter()
    for _, row in frame.iterrows():
        c[row.station] += max(row[column], 0)
    (name, total), = c.most_common(1)
    return {"station": name, "total": total, "ties": sum(1 for v in c.values() if v == total) - 1}
''',
]


def notebook(*sources: str) -> str:
    cells = [{"cell_type": "markdown", "metadata": {}, "source": "# Problem 1"}]
    cells += [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": s} for s in sources]
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells})


def course(tmp_path: Path, answers: dict[str, list[str]]) -> tuple[Path, Path]:
    released = tmp_path / "stripped"
    released.mkdir()
    (released / "problem1.ipynb").write_text(notebook(STUB))
    subs = tmp_path / "submissions"
    for sid, sources in answers.items():
        (subs / sid).mkdir(parents=True)
        (subs / sid / "problem1.ipynb").write_text(notebook(STUB, *sources))
    (subs / "_manifest.json").write_text("{}")
    return subs, released


def test_a_copied_answer_with_renamed_variables_ranks_first(tmp_path):
    answers = {"s1": [ANSWER], "s2": [RENAMED], **{f"s{i + 3}": [code] for i, code in enumerate(OTHERS)}}
    subs, released = course(tmp_path, answers)
    page, pairs = similarity_report(subs, released, "assignment1")
    assert pairs and (pairs[0].first, pairs[0].second) == ("s1", "s2"), pairs
    assert pairs[0].share > 0.8
    assert all({p.first, p.second} != {"s3", "s4"} for p in pairs)
    (tmp_path / "report.html").write_text(page)
    with chromium() as browser:
        view = browser.new_page(viewport={"width": 1300, "height": 900})
        view.goto((tmp_path / "report.html").as_uri())
        assert view.locator("h1").inner_text() == "assignment1: answers that are unusually alike"
        first = [c.inner_text() for c in view.locator("tbody tr").first.locator("td").all()]
        assert first[:3] == ["1", "s1", "s2"]
        assert view.locator("#pair-1 mark").count() >= 2, "the shared passages are marked on both sides"
        assert "most_used" in view.locator("#pair-1").inner_text()
        text = view.locator("body").inner_text()
        assert not re.search(r"</?(mark|pre|td|h\d)\b", text) and "plagiar" not in text.lower()
        view.screenshot(path=str(tmp_path / "similarity.png"), full_page=True)


def test_the_released_stub_alone_makes_no_pair(tmp_path):
    subs, released = course(tmp_path, {f"s{i}": [] for i in range(6)})  # everyone handed in the stub, untouched
    page, pairs = similarity_report(subs, released, "assignment1")
    assert pairs == [] and "No two submissions are unusually alike." in page

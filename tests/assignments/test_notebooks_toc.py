"""Table of contents: nested links to # and ## headings, anchors added, idempotent, only where a TOC cell exists."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from nbfleet.assignments.notebooks.toc import refresh_toc


def test_the_toc_cell_gets_nested_links_and_headings_get_anchors():
    nb = new_notebook(cells=[
        new_markdown_cell("# Table of Contents\nold entries\n- [Gone](#gone)"),
        new_markdown_cell("# Week 1\ntext\n## Part A: load\n### Not listed\n```\n# not a heading\n```"),
        new_code_cell("# a comment, not a heading"),
        new_markdown_cell("## Part A: load"),
    ])
    out = refresh_toc(nb)
    assert out["cells"][0]["source"] == (
        "# Table of Contents\n\n- [Week 1](#week-1)\n  - [Part A: load](#part-a-load)\n  - [Part A: load](#part-a-load-2)"
    )
    assert out["cells"][1]["source"] == (
        '# Week 1 <a id="week-1"></a>\ntext\n## Part A: load <a id="part-a-load"></a>\n### Not listed\n```\n# not a heading\n```'
    )
    assert out["cells"][2]["source"] == "# a comment, not a heading"
    assert out["cells"][3]["source"] == '## Part A: load <a id="part-a-load-2"></a>'


def test_running_twice_changes_nothing():
    nb = new_notebook(cells=[new_markdown_cell("# Table of Contents"), new_markdown_cell("# A\n## B\n# C")])
    once = refresh_toc(nb)
    assert refresh_toc(once) == once


def test_a_notebook_without_a_toc_cell_is_left_alone():
    nb = new_notebook(cells=[new_markdown_cell("# Title\n## Part")])
    assert refresh_toc(nb) is nb


HEADING = st.tuples(st.sampled_from(["#", "##", "###"]), st.text("abc XYZ:?é-_[]", min_size=1, max_size=12)).map(lambda t: f"{t[0]} {t[1]}")
CELL = st.lists(st.one_of(HEADING, st.text("abc \n", max_size=10)), max_size=5).map("\n".join)


@settings(max_examples=150, deadline=None)
@given(st.lists(CELL, max_size=6), st.integers(0, 6))
def test_property_refresh_is_idempotent(bodies, at):
    cells = [new_markdown_cell(b) for b in bodies]
    cells.insert(min(at, len(cells)), new_markdown_cell("# Table of Contents"))
    once = refresh_toc(new_notebook(cells=cells))
    assert refresh_toc(once) == once

"""Markers: nbgrader's matching for real markers, and an error (with the line) for anything that nearly is one."""

from __future__ import annotations

import pytest

from nbfleet.assignments.notebooks.markers import HIDDEN_TESTS, MARK_SCHEME, SOLUTION, MarkerError, classify, find_regions


def lines(text: str) -> list[str]:
    return text.split("\n")


def test_regions_are_found_with_their_kind_lines_and_indent():
    src = lines("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n# BEGIN HIDDEN TESTS\nassert f()\n# END HIDDEN TESTS")
    regions = find_regions(src)
    assert [(r.kind, r.begin, r.end, r.indent) for r in regions] == [(SOLUTION, 1, 3, "    "), (HIDDEN_TESTS, 4, 6, "")]


@pytest.mark.parametrize(
    "line",
    ["### BEGIN SOLUTION", "# BEGIN SOLUTION", "BEGIN SOLUTION", "// BEGIN SOLUTION", "% BEGIN SOLUTION",
     "<!-- BEGIN SOLUTION -->", "    ### BEGIN SOLUTION ###", "=== BEGIN SOLUTION ==="],
)
def test_any_comment_prefix_around_the_exact_text_is_a_marker(line):
    assert classify(line) == (SOLUTION, "begin")


def test_mark_scheme_markers_are_recognised():
    assert classify("=== BEGIN MARK SCHEME ===") == (MARK_SCHEME, "begin")
    assert classify("=== END MARK SCHEME ===") == (MARK_SCHEME, "end")


@pytest.mark.parametrize(
    "line",
    [
        "### begin solution",  # other case: leaks the whole solution under nbgrader
        "### Begin Solution",
        "### END solution",
        "### BEGIN SOLUTIONS",  # plural: contains the marker text, but is not the marker
        "### BEGIN_SOLUTION",
        "### BEGIN-SOLUTION",
        "### BEGINSOLUTION",
        "### BEGIN  SOLUTION",
        "### BEGIN SOLUTON",  # typos one edit away
        "### BEGN SOLUTION",
        "### BEGIN SOLUITON",
        "### EDN SOLUTION",
        "### BEGIN HIDDEN TEST",
        "### end hidden tests",
        "# begin solution: part a",
        "begin solution",
    ],
)
def test_near_miss_markers_are_errors(line):
    with pytest.raises(MarkerError, match="marker"):
        classify(line)


@pytest.mark.parametrize(
    "line",
    [
        "end_solution = compute()",  # an identifier on a code line
        "In the end, the solution was simple.",
        "Problems and solutions of week 1",
        "# the solution begins here",
        "hidden = tests[0]",
        "",
        "x = 1",
    ],
)
def test_ordinary_lines_are_not_markers(line):
    assert classify(line) is None


def test_end_without_begin_is_an_error_naming_the_line():
    with pytest.raises(MarkerError) as err:
        find_regions(lines("x = 1\n### END SOLUTION"))
    assert err.value.line == 1 and "no BEGIN SOLUTION" in err.value.what


def test_nested_regions_are_an_error_naming_the_inner_begin():
    with pytest.raises(MarkerError) as err:
        find_regions(lines("### BEGIN SOLUTION\na\n### BEGIN SOLUTION\nb\n### END SOLUTION\n### END SOLUTION"))
    assert err.value.line == 2 and "nested" in err.value.what


def test_a_hidden_test_region_inside_a_solution_is_nested_too():
    with pytest.raises(MarkerError, match="nested"):
        find_regions(lines("### BEGIN SOLUTION\n### BEGIN HIDDEN TESTS\n### END HIDDEN TESTS\n### END SOLUTION"))


def test_unclosed_region_is_an_error_naming_its_begin():
    with pytest.raises(MarkerError) as err:
        find_regions(lines("a\n### BEGIN SOLUTION\nsecret"))
    assert err.value.line == 1 and "never closed" in err.value.what


def test_end_of_another_kind_is_an_error():
    with pytest.raises(MarkerError, match="closes the solution region"):
        find_regions(lines("### BEGIN SOLUTION\nx\n### END HIDDEN TESTS"))


def test_two_markers_on_one_line_are_an_error():
    with pytest.raises(MarkerError, match="more than one marker"):
        classify("### BEGIN SOLUTION x = 1 ### END SOLUTION")

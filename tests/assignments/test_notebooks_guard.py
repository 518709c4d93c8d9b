"""The leak guard finds a solution line wherever it hides in a released file, and ignores trivial lines."""

from __future__ import annotations

import base64

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from nbfleet.assignments.notebooks import guard

SECRET = "return sum(squares(n))"


def released(**cell_kw):
    return new_notebook(cells=[new_code_cell("# YOUR CODE HERE\nraise NotImplementedError()", **cell_kw)])


def places(nb):
    return [leak.place for leak in guard.leaks_in_notebook(nb, {SECRET})]


def test_a_clean_release_has_no_leak():
    assert places(released()) == []


def test_a_leak_in_an_output_is_found():
    nb = released(outputs=[new_output("stream", name="stdout", text=f"  {SECRET}\n")])
    assert places(nb) == ["cell 1 outputs"]


def test_a_leak_in_cell_metadata_is_found():
    assert places(released(metadata={"history": [SECRET]})) == ["cell 1 metadata"]


def test_a_leak_in_notebook_metadata_is_found():
    nb = released()
    nb.metadata["scratch"] = {"last": SECRET}
    assert places(nb) == ["notebook metadata"]


def test_a_leak_in_an_attachment_is_found_even_base64_encoded():
    cell = new_markdown_cell("![x](attachment:a.txt)")
    cell.attachments = {"a.txt": {"text/plain": base64.b64encode(SECRET.encode()).decode()}}
    assert places(new_notebook(cells=[cell])) == ["cell 1 attachments"]


def test_a_leak_in_a_source_is_found():
    nb = new_notebook(cells=[new_markdown_cell(f"Hint: `{SECRET}`")])
    assert places(nb) == ["cell 1 source"]


def test_a_leak_in_a_plain_file_is_found():
    assert guard.leaks_in_bytes(f"def f(n):\n    {SECRET}\n".encode(), {SECRET}) == [guard.Leak("content", SECRET)]
    assert guard.leaks_in_bytes(b"\x89PNG\r\n\x1a\n\x00\x00", {SECRET}) == []


def test_an_identifier_that_only_starts_like_a_secret_is_not_a_leak():
    assert not guard.occurs("stations", "grade_id: stations_answer")
    assert guard.occurs("stations", "print(stations)")


@pytest.mark.parametrize("line", ["", "   ", "pass", "else:", "---", "x=1", "}", "# YOUR CODE HERE", "YOUR ANSWER HERE",
                                  "raise NotImplementedError()", "))"])
def test_trivial_lines_are_not_secrets(line):
    assert guard.is_trivial(line)
    assert guard.secrets_from([line], "") == frozenset()


def test_secrets_exclude_public_text():
    assert guard.secrets_from(["import numpy as np", "total = np.sum(values)"], "import numpy as np\n") == {"total = np.sum(values)"}

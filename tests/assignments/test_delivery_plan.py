"""The pure part of delivery: the 3-way decision, beside names, revisions, and when a stat fingerprint is trusted."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nbfleet.assignments.deliver.apply import RACY_NS, trusted
from nbfleet.assignments.deliver.decide import NOT_A_FILE, Action, beside_name, decide, plan_file, plan_student, record_version, revision_of

R, L, S = "released-now", "delivered-last", "student-version"


@pytest.mark.parametrize(
    "delivered, on_disk, restore, expected",
    [
        (None, None, False, Action.NEW),
        (None, None, True, Action.NEW),
        (L, None, False, Action.DELETED),
        (L, None, True, Action.RESTORE),
        (L, R, False, Action.UNCHANGED),
        (None, R, False, Action.UNCHANGED),  # already there (e.g. a killed run got this far): adopt it
        (R, R, False, Action.UNCHANGED),
        (L, L, False, Action.UPDATE),
        (L, S, False, Action.CONFLICT),
        (L, S, True, Action.CONFLICT),  # --restore never touches an edited file
        (R, S, False, Action.EDITED),  # working on the current version: nothing new to offer
        (R, S, True, Action.EDITED),
        (None, S, False, Action.CONFLICT),  # a file we never delivered (the student's own, or the old cp -r)
        (L, NOT_A_FILE, False, Action.CONFLICT),  # a symlink or folder under that name is left alone
        (None, NOT_A_FILE, True, Action.CONFLICT),
    ],
)
def test_delivery_decision_table(delivered, on_disk, restore, expected):
    assert decide(R, delivered, on_disk, restore) is expected


def test_delivery_copy_equal_to_an_older_release_is_updated():
    assert decide(R, L, "first-version", older=["first-version", L, R]) is Action.UPDATE
    assert decide(R, L, "student-version", older=["first-version", L, R]) is Action.CONFLICT


@given(
    released=st.sampled_from(["a", "b", "c"]),
    delivered=st.sampled_from([None, "a", "b", "c"]),
    on_disk=st.sampled_from([None, "a", "b", "c", "d", NOT_A_FILE]),
    restore=st.booleans(),
)
def test_delivery_decision_only_writes_over_what_nbfleet_delivered(released, delivered, on_disk, restore):
    """Replacing an existing file happens only when it is exactly what was delivered last."""
    action = decide(released, delivered, on_disk, restore)
    if on_disk is not None and on_disk != released:
        assert action in (Action.UPDATE, Action.CONFLICT, Action.EDITED)
        assert (action is Action.UPDATE) == (on_disk == delivered)
    if action in (Action.NEW, Action.RESTORE):
        assert on_disk is None
    if action is Action.RESTORE:
        assert restore


@pytest.mark.parametrize(
    "name, revision, expected",
    [
        ("problem1.ipynb", 2, "problem1.released-2.ipynb"),
        ("data/x.csv", 3, "data/x.released-3.csv"),
        ("README", 2, "README.released-2"),
        (".env", 4, ".env.released-4"),
        ("archive.tar.gz", 2, "archive.tar.released-2.gz"),
        ("Opgave één.ipynb", 2, "Opgave één.released-2.ipynb"),
    ],
)
def test_delivery_beside_name(name, revision, expected):
    assert beside_name(name, revision) == expected


def test_delivery_revision_counts_released_versions():
    versions = record_version([], "h1")
    assert revision_of(versions, "h1") == 1
    versions = record_version(versions, "h2")
    assert revision_of(versions, "h2") == 2
    assert record_version(versions, "h1") == versions  # going back to an old version keeps its number
    assert revision_of(versions, "h1") == 1


def test_delivery_conflict_beside_copy_written_once():
    entry = {"delivered": L}
    first = plan_file("s1", "p.ipynb", R, 2, entry, S, None, False)
    assert first.action is Action.CONFLICT and first.write_beside and first.beside == "p.released-2.ipynb"
    already = plan_file("s1", "p.ipynb", R, 2, entry, S, R, False)
    assert already.action is Action.CONFLICT and not already.write_beside
    edited = plan_file("s1", "p.ipynb", R, 2, entry, S, "student merged into it", False)
    assert not edited.write_beside and "also changed" in edited.note
    deleted = plan_file("s1", "p.ipynb", R, 2, {**entry, "offered": R}, S, None, False)
    assert not deleted.write_beside
    restored = plan_file("s1", "p.ipynb", R, 2, {**entry, "offered": R}, S, None, True)
    assert restored.write_beside


def test_delivery_plan_student_covers_every_released_file():
    released = {"a.ipynb": ("ha2", 2), "b.ipynb": ("hb1", 1), "c.txt": ("hc1", 1)}
    ledger = {"a.ipynb": {"delivered": "ha1"}, "b.ipynb": {"delivered": "hb1"}}
    disk = {"a.ipynb": "student", "b.ipynb": None, "a.released-2.ipynb": None}
    plan = {d.name: d for d in plan_student("s1", released, ledger, disk)}
    assert plan["a.ipynb"].action is Action.CONFLICT and plan["a.ipynb"].write_beside
    assert plan["b.ipynb"].action is Action.DELETED and not plan["b.ipynb"].writes
    assert plan["c.txt"].action is Action.NEW and plan["c.txt"].writes


def test_delivery_stat_fingerprint_trusted_only_when_old():
    now = 10 * RACY_NS
    assert not trusted([1, 10, now, now], now)  # just written: an edit in the same tick could hide
    assert not trusted([1, 10, now - RACY_NS, now - RACY_NS + 1], now)
    assert trusted([1, 10, 0, now - RACY_NS - 1], now)

"""Where things are, for every test and benchmark."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]  # the nbfleet repository (also its sample course)
CONFORMANCE = REPO.parent / "shared" / "conformance" / "nbgrader"  # nbgrader's notebooks with nbgrader's outputs
TEST_COURSE = REPO / "build" / "test-course"  # the sample course, taught by a non-root teacher, images built once

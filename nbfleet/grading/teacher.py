"""The teacher's side of grading one assignment: its notebooks' tests, its data files, the image, the sandbox's limits,
and a fingerprint of all of them (with the grader's own code): what every student's grade depends on besides their
own files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import NamedTuple

from .. import paths
from ..assignments.files import source_folder, student_files
from ..assignments.notebook_file import read_notebook
from ..errors import NbfleetError
from ..images import record
from .cells import teacher_notebook
from .sandbox import Limits

PACKAGE = Path(__file__).resolve().parents[1]  # nbfleet/
# The code a grade depends on: a new nbfleet that grades differently grades again
CODE = ("inside/grade_runner.py", "grading/cells.py", "grading/restore.py", "grading/score.py", "grading/hidden.py",
        "grading/sandbox.py", "grading/feedback.py", "grading/marked.py", "grading/run.py")


def sha(data: bytes) -> str:
    """The sha256 of ``data``, in hex."""
    return hashlib.sha256(data).hexdigest()


class Assignment(NamedTuple):
    """What grading one assignment needs from the teacher's side."""

    name: str
    notebooks: dict  # released notebook name -> TeacherNotebook
    data: dict[str, Path]  # released non-notebook files (the teacher's, restored over the student's)
    fingerprint: str
    image: dict

    @property
    def tests(self) -> list[tuple[str, float]]:
        """(column, max points) of every graded cell, in order: ``<notebook stem>/<grade id>``."""
        return [(column(nb, g.grade_id), g.points) for nb, t in self.notebooks.items() for _, g in sorted(t.graded.items())]


def column(notebook: str, grade_id: str) -> str:
    """The column of a test in the grades table: ``problem1/load`` for test ``load`` of ``problem1.ipynb``."""
    return f"{notebook.removesuffix('.ipynb')}/{grade_id}"


def code_version() -> str:
    """A hash of the grader's own code."""
    return sha(b"".join((PACKAGE / p).read_bytes() for p in CODE))


def load_assignment(settings, name: str) -> Assignment:
    """The teacher's side of ``name``: its notebooks' tests, its data files, the image, and their fingerprint."""
    files = student_files(settings, name)
    folder = paths.stripped(settings, name)
    notebooks, data = {}, {}
    h = hashlib.sha256()
    for rel, source in sorted(files.items()):
        if rel.endswith(".ipynb"):
            shown = paths.shown(source, settings.root)
            nb, _ = read_notebook(Path(source), shown, node=False)
            notebooks[rel] = teacher_notebook(nb, rel, shown)
            h.update(f"nb {rel} {sha(Path(source).read_bytes())}\n".encode())
        else:
            path = folder / rel
            if not path.is_file():
                raise NbfleetError(str(path), f"not released yet: run `doit strip:{name}` first")
            data[rel] = path
            h.update(f"data {rel} {sha(path.read_bytes())}\n".encode())
    if not notebooks:
        raise NbfleetError(str(source_folder(settings, name)), "no notebook to grade in this assignment")
    image = record.launch_image(settings)
    h.update(f"image {image['id']}\nlimits {json.dumps(limits(settings)._asdict(), sort_keys=True)}\ncode {code_version()}\n".encode())
    return Assignment(name, notebooks, data, h.hexdigest(), image)


def limits(settings) -> Limits:
    """What each sandbox may use, from course.toml's [grade]."""
    g = settings.grade
    return Limits(g.memory, g.cpus, g.pids, g.cell_timeout, g.notebook_timeout)

"""`doit strip`: course/solutions/<a>/ -> build/stripped/<a>/, one subtask per file, then the leak guard.

Metadata only at load time (a directory listing per assignment; no nbformat import): editing one notebook
re-strips only that notebook; changing ``[release]`` in course.toml re-strips everything.
"""

from __future__ import annotations

from pathlib import Path

from doit.tools import config_changed

from .. import paths
from ..assignments.files import assignments, student_files
from ..assignments.strip import guard_assignment, strip_file
from ..errors import NbfleetError
from .common import action, dep, deps, fails_with, settings


def _strip_one(assignment: str, name: str, source: str) -> None:
    for note in strip_file(settings(), assignment, name, Path(source)):
        print(f"note: {note}")


def _guard(assignment: str) -> None:
    summary = guard_assignment(settings(), assignment)
    print(f"{assignment}: {len(summary['files'])} file(s) released, leak guard passed ({summary['secrets']} solution lines checked)")


def task_strip():
    """Strip solutions: course/solutions/<a>/ -> build/stripped/<a>/ (one subtask per file; `strip:<a>` = all + leak guard)."""
    s = settings()
    release_settings = s.section("release")
    yield {"basename": "strip", "name": None,
           "doc": "strip solutions: course/solutions/<a>/ -> build/stripped/<a>/, then the leak guard (strip:<a>)"}
    for a in assignments(s):
        try:
            files = student_files(s, a)
        except NbfleetError as exc:
            yield {"name": a, "actions": fails_with(exc), "uptodate": [False],
                   "doc": f"strip and guard {a} (cannot: bad source folder)"}
            continue
        out = paths.stripped(s, a)
        file_tasks, targets = [], []
        for name, source in files.items():
            outputs = deps([out / name, paths.secrets_record(s, a, name)])
            file_tasks.append(f"strip:{a}/{name}")
            targets += outputs
            yield {
                "name": f"{a}/{name}",
                "doc": f"strip {a}/{name}" if name.endswith(".ipynb") else f"copy {a}/{name} (not a notebook)",
                "actions": [(action(_strip_one), [a, name, dep(source)])],
                "file_dep": [dep(source)],
                "targets": outputs,
                "uptodate": [config_changed({"release": release_settings, "source": dep(source)})],
                "clean": True,
            }
        yield {
            "name": a,
            "doc": f"strip {a} and run the leak guard over build/stripped/{a}/",
            "actions": [(action(_guard), [a])],
            "task_dep": file_tasks,
            "file_dep": targets,
            "targets": [dep(paths.guard_record(s, a))],
            "uptodate": [config_changed({"release": release_settings, "files": sorted(files)})],
            "clean": True,
        }

"""`doit strip`: course/solutions/<a>/ -> build/release/<a>/, one subtask per released file, then the leak guard.

Metadata only at load time (a directory listing per assignment; no nbformat import): editing one notebook
re-strips only that notebook; changing ``[release]`` in course.toml re-strips everything.
"""

from __future__ import annotations

from doit.tools import config_changed

from ..errors import NbfleetError
from .common import action, fails_with, settings


def _release_one(assignment: str, name: str, source: str) -> None:
    from pathlib import Path

    from ..assignment import release_file

    for note in release_file(settings(), assignment, name, Path(source)):
        print(f"note: {note}")


def _guard(assignment: str) -> None:
    from ..assignment import guard_release

    summary = guard_release(settings(), assignment)
    print(f"{assignment}: {len(summary['files'])} file(s) released, leak guard passed ({summary['secrets']} solution lines checked)")


def task_strip():
    """Strip solutions: course/solutions/<a>/ -> build/release/<a>/ (one subtask per file; `strip:<a>` = all + leak guard)."""
    from ..assignment import assignments, release_dir, released_files, secrets_file, strip_dir, GUARD_FILE

    s = settings()
    release_settings = s.section("release")
    yield {"basename": "strip", "name": None,
           "doc": "strip solutions: course/solutions/<a>/ -> build/release/<a>/, then the leak guard (strip:<a>)"}
    for a in assignments(s):
        try:
            files = released_files(s, a)
        except NbfleetError as exc:
            yield {"name": a, "actions": fails_with(exc), "uptodate": [False],
                   "doc": f"strip and guard {a} (cannot: bad source folder)"}
            continue
        out = release_dir(s, a)
        file_tasks, targets = [], []
        for name, source in files.items():
            target, record = out / name, secrets_file(s, a, name)
            file_tasks.append(f"strip:{a}/{name}")
            targets += [str(target), str(record)]
            yield {
                "name": f"{a}/{name}",
                "doc": f"strip {a}/{name}" if name.endswith(".ipynb") else f"copy {a}/{name} (not a notebook)",
                "actions": [(action(_release_one), [a, name, str(source)])],
                "file_dep": [str(source)],
                "targets": [str(target), str(record)],
                "uptodate": [config_changed({"release": release_settings, "source": str(source)})],
                "clean": True,
            }
        yield {
            "name": a,
            "doc": f"strip {a} and run the leak guard over build/release/{a}/",
            "actions": [(action(_guard), [a])],
            "task_dep": file_tasks,
            "file_dep": targets,
            "targets": [str(strip_dir(s, a) / GUARD_FILE)],
            "uptodate": [config_changed({"release": release_settings, "files": sorted(files)})],
            "clean": True,
        }

"""nbfleet's pipeline for this course: `doit list` is the menu, `doit` builds and launches everything.

Only task declarations live here; what each task does lives in the nbfleet package.
"""

from pathlib import Path

from nbfleet.tasks.common import Reporter
from nbfleet.tasks.images import task_base, task_dockerfiles, task_images, task_wheels  # noqa: F401
from nbfleet.tasks.roster import task_mail, task_manifests, task_roster  # noqa: F401
from nbfleet.tasks.release import task_collect, task_release  # noqa: F401
from nbfleet.tasks.strip import task_strip  # noqa: F401
from nbfleet.tasks.launch import task_launch, task_status, task_stop  # noqa: F401
from nbfleet.tasks.workshop import task_workshop  # noqa: F401

Path("build").mkdir(exist_ok=True)  # doit keeps its dependency database there

DOIT_CONFIG = {
    # The main job: images, then the classroom, then the assignments, then a report.
    "default_tasks": ["images", "roster", "manifests", "launch", "strip", "release", "mail", "status"],
    "backend": "sqlite3",
    "dep_file": "build/.doit.db",
    "reporter": Reporter,
    "verbosity": 2,
    "par_type": "thread",
    "continue": True,  # an unreachable host must not stop the others
}

"""nbfleet's pipeline for this course: `doit list` is the menu, `doit` builds and launches everything.

Only task declarations live here; what each task does lives in the nbfleet package.
"""

from pathlib import Path

from nbfleet.tasks import grade, images, launch, release, roster, strip, workshop
from nbfleet.tasks.common import Reporter

# The menu, in the order of the pipeline: `doit list` shows the tasks in the order they are defined here.
def task_base(): return images.task_base()  # noqa: E302,E704
def task_dockerfiles(): return images.task_dockerfiles()  # noqa: E704
def task_wheels(): return images.task_wheels()  # noqa: E704
def task_images(): return images.task_images()  # noqa: E704
def task_roster(): return roster.task_roster()  # noqa: E704
def task_manifests(): return roster.task_manifests()  # noqa: E704
def task_launch(): return launch.task_launch()  # noqa: E704
def task_strip(): return strip.task_strip()  # noqa: E704
def task_release(): return release.task_release()  # noqa: E704
def task_collect(): return release.task_collect()  # noqa: E704
def task_grade(): return grade.task_grade()  # noqa: E704
def task_mail(): return roster.task_mail()  # noqa: E704
def task_status(): return launch.task_status()  # noqa: E704
def task_stop(): return launch.task_stop()  # noqa: E704
def task_workshop(): return workshop.task_workshop()  # noqa: E704


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

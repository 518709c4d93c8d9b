"""nbfleet's pipeline for this course: `doit list` is the menu, `doit` builds and launches everything.

Only task declarations live here; what each task does lives in nbfleet (nbfleet/tasks/ creates the tasks).
"""

from pathlib import Path

from nbfleet import paths
from nbfleet.tasks import common, exam, grade, images, launch, mark, release, roster, strip, workshop

# The menu, in the order of the pipeline: `doit list` shows the tasks in the order they are defined here.


def task_base():
    return images.task_base()


def task_dockerfiles():
    return images.task_dockerfiles()


def task_wheels():
    return images.task_wheels()


def task_images():
    return images.task_images()


def task_roster():
    return roster.task_roster()


def task_manifests():
    return roster.task_manifests()


def task_launch():
    return launch.task_launch()


def task_strip():
    return strip.task_strip()


def task_release():
    return release.task_release()


def task_collect():
    return release.task_collect()


def task_exam():
    return exam.task_exam()


def task_grade():
    return grade.task_grade()


def task_mark():
    return mark.task_mark()


def task_mail():
    return roster.task_mail()


def task_status():
    return launch.task_status()


def task_stop():
    return launch.task_stop()


def task_workshop():
    return workshop.task_workshop()


Path(paths.DOIT_DB).parent.mkdir(exist_ok=True)  # doit keeps its dependency database in build/

DOIT_CONFIG = {
    **common.DOIT_CONFIG,
    # The main job: images, then the classroom, then the assignments, then a report.
    "default_tasks": ["images", "roster", "manifests", "launch", "strip", "release", "mail", "status"],
}

"""Every path under ``build/``, and how a path is shown to the teacher.

``build/`` is what doit makes and can make again; wiping it costs a rebuild, never a student's work (the delivery
ledgers and the record of where each student's folder is live beside the students' folders, not here). Each
function takes the course's settings (anything with ``build_dir``) and returns an absolute path.

Standard library only: this module also runs inside helper containers (``nbfleet.inside.folder_helper``).
"""

from __future__ import annotations

import os
from pathlib import Path

DOIT_DB = "build/.doit.db"  # doit's dependency file, relative to the course folder (see tasks.common)


def shown(path, root) -> str:
    """A path as the teacher knows it: relative to the course folder ``root`` when inside it, else as it is.

    A link inside the course folder is shown as the link (``course/solutions/a1/data.csv``), not as its target.
    """
    base = Path(root).resolve()
    for candidate in (Path(os.path.abspath(path)), Path(path).resolve()):
        if candidate.is_relative_to(base):
            return str(candidate.relative_to(base))
    return str(path)


# ---------------------------------------------------------------- images


def dockerfile(settings, image: str) -> Path:
    """The patched Dockerfile of ``image``."""
    return settings.build_dir / "dockerfiles" / image / "Dockerfile"


def wheelhouse(settings, image: str) -> Path:
    """The Python packages ``image`` installs, resolved for its own interpreter."""
    return settings.build_dir / "wheels" / image


def image_records(settings) -> Path:
    """The folder of the records ``doit images`` keeps, ``<image>.json`` each."""
    return settings.build_dir / "images"


def image_record(settings, image: str) -> Path:
    """The record ``doit images`` keeps of ``image`` (``root`` for the debootstrapped root image)."""
    return image_records(settings) / f"{image}.json"


def scratch(settings) -> Path:
    """Room for large temporary files (a root file system being packed, an image's build context)."""
    return settings.build_dir / "tmp"


# ---------------------------------------------------------------- servers and invitations


def launch_manifest(settings, host: str) -> Path:
    """What ``host`` should run."""
    return settings.build_dir / "launch" / f"{host}.json"


def password_hashes(settings, host: str) -> Path:
    """The argon2 hashes of ``host``'s students (a folder of its own: globbing launch/*.json finds manifests only)."""
    return settings.build_dir / "launch" / ".password-hashes" / f"{host}.json"


def status_page(settings) -> Path:
    """The static status page ``doit status`` writes."""
    return settings.build_dir / "status.html"


def mail_dir(settings) -> Path:
    """The invitations, ``<id>.eml`` each, and the sent-log."""
    return settings.build_dir / "mail"


def mail_log(settings) -> Path:
    """Which invitations were sent, keyed by a hash of each."""
    return mail_dir(settings) / "sent.json"


# ---------------------------------------------------------------- assignments


def stripped(settings, assignment: str) -> Path:
    """The student version of ``assignment``: what ``doit release`` delivers."""
    return settings.build_dir / "stripped" / assignment


def guard_dir(settings, assignment: str) -> Path:
    """The leak guard's records of ``assignment`` (teacher-only, never delivered)."""
    return settings.build_dir / "guard" / assignment


def guard_record(settings, assignment: str) -> Path:
    """Every file of the student version with the sha256 the leak guard passed."""
    return guard_dir(settings, assignment) / "guard.json"


def retired(settings, assignment: str) -> list[Path]:
    """Where an earlier nbfleet kept ``assignment``'s student version and guard records (``build/release/<a>/``,
    ``build/strip/<a>/``): the next strip removes them, so no stale copy of a solution's lines stays behind."""
    return [settings.build_dir / "release" / assignment, settings.build_dir / "strip" / assignment]


def secrets_record(settings, assignment: str, name: str) -> Path:
    """The guard's record of one stripped file: its secret lines and its public text."""
    return guard_dir(settings, assignment) / f"{name}.secrets.json"


def submissions(settings, assignment: str) -> Path:
    """Every student's collected copy, ``<id>/`` each, and the collect's manifest."""
    return settings.build_dir / "submissions" / assignment


# ---------------------------------------------------------------- grades


def grades_dir(settings) -> Path:
    """The grades, their tables and grading's own state."""
    return settings.build_dir / "grades"


def grades_table(settings, assignment: str) -> Path:
    """One row per student: points per test, total, late, notes."""
    return grades_dir(settings) / f"{assignment}.csv"


def gradebook(settings) -> Path:
    """Every assignment's total per student."""
    return grades_dir(settings) / "gradebook.csv"


def similarity_report(settings, assignment: str) -> Path:
    """The pairs of submissions whose answers are unusually alike, side by side."""
    return grades_dir(settings) / f"{assignment}-similarity.html"


def lms_file(settings, lms: str) -> Path:
    """The grades as ``lms`` ("canvas", "moodle") imports them, beside the gradebook."""
    return grades_dir(settings) / f"{lms}.csv"


def grading_state(settings, assignment: str) -> Path:
    """Each student's grading record, with the fingerprint of what it was graded from."""
    return grades_dir(settings) / ".state" / f"{assignment}.json"


def grading_again(settings, assignment: str) -> Path:
    """Present while ``grade:<a>`` has work left for its next run."""
    return grades_dir(settings) / ".state" / f"{assignment}.again"


def grading_work(settings, assignment: str) -> Path:
    """The sandboxes' copies of the submissions, while they are graded."""
    return grades_dir(settings) / ".work" / assignment


def feedback_pages(settings, assignment: str) -> Path:
    """The feedback pages, ``<id>/<notebook>.html``, before they are delivered."""
    return grades_dir(settings) / "feedback" / assignment


# ---------------------------------------------------------------- the workshop


def workshop_tokens(settings) -> Path:
    """The proxy's token and nbfleet's read-only hub token (mode 0600)."""
    return settings.build_dir / "workshop" / "secrets.json"


def exam(settings) -> Path:
    """``build/exam.json``: the exam running now (assignment and start time); no file when none runs."""
    return settings.build_dir / "exam.json"

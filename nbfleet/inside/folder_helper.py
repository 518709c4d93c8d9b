"""What runs inside a helper container on a host whose course folder is on its own disk (``shared=no`` in hosts).

The host's students folder is mounted at ``/course/students``; the job is in ``/job`` (``job.json``, the files to
deliver in ``/job/files/``), and this module with the few nbfleet modules it needs in ``/job/lib/nbfleet/``
(``assignments.helper.SHIPPED``), so that the code that runs on the host is exactly the code of this nbfleet,
whatever the image holds. Standard library only, as every module it ships. It runs nbfleet's own delivery and
collect, with every rule they keep (the 3-way decision, the ledger beside the folders, write-temp-and-rename,
nothing a student changed ever touched), and prints one JSON line: the result.

    python3 -m nbfleet.inside.folder_helper       (PYTHONPATH=/job/lib)
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import tarfile
from pathlib import Path
from types import SimpleNamespace

from nbfleet.assignments.collect import collect as collect_students
from nbfleet.assignments.deliver.apply import deliver
from nbfleet.assignments.deliver.ledger import FEEDBACK, student_ledger
from nbfleet.assignments.pack import pack_folder, unpack_folder
from nbfleet.errors import NbfleetError

JOB = Path("/job")
OUT = JOB / "out"


def settings_for(job: dict) -> SimpleNamespace:
    """The few settings delivery and collect read, for the host's side of the course folder."""
    deadline = dt.datetime.fromisoformat(job["deadline"]) if job.get("deadline") else None
    return SimpleNamespace(
        students_dir=Path(job["students_dir"]),
        solutions_dir=Path(job.get("solutions", "course/solutions")),
        build_dir=OUT,
        teacher=SimpleNamespace(uid=job["uid"], gid=job["gid"]),
        collect=SimpleNamespace(deadlines={job["assignment"]: deadline} if deadline else {}),
    )


def release(job: dict) -> dict:
    """Deliver the released files to this host's students: every decision, the students not reached, files written."""
    s = settings_for(job)
    files = {name: JOB / "files" / name for name in job["files"]}
    report = deliver(s, job["assignment"], files, job["students"], restore=job["restore"], guarded=job["files"])
    return {"decisions": [dict(d._asdict(), action=d.action.value) for d in report.decisions],
            "blocked": report.blocked_students, "written": report.written}


def feedback(job: dict) -> dict:
    """Each student's own feedback pages (``files/<id>/<a>/<page>``) into their ``feedback/`` folder, one ledger each."""
    s = settings_for(job)
    written = 0
    for sid in job["students"]:
        files = {rel.split("/", 1)[1]: JOB / "files" / rel for rel in job["files"] if rel.split("/", 1)[0] == sid}
        written += deliver(s, FEEDBACK, files, [sid], ledger_name=student_ledger(FEEDBACK, job["assignment"], sid)).written
    return {"written": written}


def collect(job: dict) -> dict:
    """Snapshot this host's students' copies into /job/out/submissions/<a>/; what was collected of each."""
    report = collect_students(settings_for(job), job["assignment"], job["students"], write_manifest=False)
    return {"submissions": {s.student: s.as_dict() for s in report.submissions}}


def look(job: dict) -> dict:
    """What the host's students folder holds at nbfleet's marker (the check that a folder claimed shared is)."""
    try:
        return {"marker": (Path(job["students_dir"]) / job["marker"]).read_text()}
    except OSError:
        return {"marker": None}


def pack(job: dict) -> dict:
    """The student's folder as /job/out/folder.tar (an empty one, and ``files: None``, when there is no folder)."""
    src = Path(job["students_dir"]) / job["student"]
    OUT.mkdir(parents=True, exist_ok=True)
    if not src.is_dir() or src.is_symlink():
        tarfile.open(OUT / "folder.tar", "w").close()
        return {"files": None}
    return {"files": pack_folder(src, OUT / "folder.tar")}


def unpack(job: dict) -> dict:
    """Put a student's folder, brought from another host, in its place here (see ``assignments.pack``)."""
    dest = Path(job["students_dir"]) / job["student"]
    return {"result": unpack_folder(JOB / "files" / "folder.tar", dest, (job["uid"], job["gid"]))}


def main() -> int:
    """Run the job in /job/job.json; print one JSON line (the result, or the error) and exit 0 or 1."""
    job = json.loads((JOB / "job.json").read_text())
    try:
        result = {"release": release, "feedback": feedback, "collect": collect, "look": look, "pack": pack, "unpack": unpack}[job["do"]](job)
    except Exception as exc:  # noqa: BLE001 - said to nbfleet in one line, with the exit code
        print(json.dumps({"error": str(exc) if isinstance(exc, NbfleetError) else f"{type(exc).__name__}: {exc}"}))
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

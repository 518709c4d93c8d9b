"""What runs inside a helper container on a host whose course folder is on its own disk (``shared=no`` in hosts).

The parent of the host's students folder is mounted at ``/course`` (the job names the students folder); the job is in ``/job`` (``job.json``, the released files in
``/job/files/``), and this module with the delivery and collect modules it needs in ``/job/lib/nbfleet/``, so that
the code that runs on the host is exactly the code of this nbfleet, whatever the image holds. Standard library
only. It runs nbfleet's own delivery and collect, with every rule they keep (the 3-way decision, the ledger beside
the folders, write-temp-and-rename, nothing a student changed ever touched), and prints one JSON line: the result.

    python3 -m nbfleet.folder_helper       (PYTHONPATH=/job/lib)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import secrets
import shutil
import stat
import sys
import tarfile
from pathlib import Path
from types import SimpleNamespace

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
    from nbfleet.delivery import deliver

    s = settings_for(job)
    files = {name: JOB / "files" / name for name in job["files"]}
    report = deliver(s, job["assignment"], files, job["students"], restore=job["restore"], guarded=job["files"])
    return {"decisions": [dict(dataclasses.asdict(d), action=d.action.value) for d in report.decisions],
            "blocked": report.blocked_students, "written": report.written}


def feedback(job: dict) -> dict:
    """Each student's own feedback pages (``files/<id>/<a>/<page>``) into their ``feedback/`` folder, one ledger each."""
    from nbfleet.delivery import deliver, student_ledger

    s = settings_for(job)
    written = 0
    for sid in job["students"]:
        files = {rel.split("/", 1)[1]: JOB / "files" / rel for rel in job["files"] if rel.split("/", 1)[0] == sid}
        written += deliver(s, "feedback", files, [sid], ledger_name=student_ledger("feedback", job["assignment"], sid)).written
    return {"written": written}


def collect(job: dict) -> dict:
    from nbfleet.collect import collect as collect_students

    report = collect_students(settings_for(job), job["assignment"], job["students"], write_manifest=False)
    return {"submissions": {s.student: s.as_dict() for s in report.submissions}}


def look(job: dict) -> dict:
    """What the host's students folder holds at nbfleet's marker (the check that a folder claimed shared is)."""
    try:
        return {"marker": (Path(job["students_dir"]) / job["marker"]).read_text()}
    except OSError:
        return {"marker": None}


def pack_folder(src: Path, tar_path: Path) -> int:
    """A tar of a student's folder (named after it): folders and regular files only.

    The folder belongs to a student, who may swap a file for a link at any moment: it is walked by descriptor
    (``os.fwalk``, never following a link) and each file is opened with ``O_NOFOLLOW | O_NONBLOCK`` and checked to be
    a regular file on the descriptor itself before a byte is read. Returns the number of files packed.
    """
    count = 0
    root = os.open(src, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        with tarfile.open(tar_path, "w") as tar:
            for top, _dirs, files, dir_fd in os.fwalk(".", dir_fd=root, follow_symlinks=False):
                here = os.path.normpath(os.path.join(src.name, top))
                st = os.fstat(dir_fd)
                info = tarfile.TarInfo(here)
                info.type, info.mode, info.mtime = tarfile.DIRTYPE, st.st_mode & 0o777, int(st.st_mtime)
                tar.addfile(info)
                for name in sorted(files):
                    try:
                        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
                    except OSError:  # a link (ELOOP), or gone: not packed
                        continue
                    with os.fdopen(fd, "rb") as fh:
                        st = os.fstat(fd)
                        if not stat.S_ISREG(st.st_mode):
                            continue
                        info = tarfile.TarInfo(f"{here}/{name}")
                        info.size, info.mode, info.mtime = st.st_size, st.st_mode & 0o777, int(st.st_mtime)
                        tar.addfile(info, fh)
                        count += 1
    finally:
        os.close(root)
    return count


def unpack_folder(tar_path: Path, dest: Path, owner: tuple[int, int] | None) -> str:
    """Put a packed folder at ``dest`` whole (unpacked beside it first, then renamed into place). Returns "", or
    where a folder that was already there is kept.

    A folder already at ``dest`` with something in it (the student was here before) is never overwritten: it is
    renamed to ``.nbfleet/replaced/<id>-<time>`` in the same students folder, where no student sees it, and the
    answer says so.
    """
    tmp = dest.with_name(f".nbfleet-partial.move-{dest.name}-{secrets.token_hex(4)}")
    tmp.mkdir(parents=True)
    kept = ""
    try:
        safe_extract(tar_path, tmp)
        if owner is not None and os.geteuid() == 0:
            for top, dirs, files in os.walk(tmp):
                for name in [top, *(os.path.join(top, n) for n in dirs + files)]:
                    os.chown(name, *owner, follow_symlinks=False)
        if dest.is_dir() and any(dest.iterdir()):  # only now, with the new folder complete beside it
            aside = dest.parent / ".nbfleet" / "replaced" / f"{dest.name}-{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%SZ}"
            aside.parent.mkdir(parents=True, exist_ok=True)
            dest.rename(aside)
            kept = f" (the folder that was there is kept as .nbfleet/replaced/{aside.name} in the students folder)"
        elif dest.is_dir():
            dest.rmdir()
        (tmp / dest.name).rename(dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return kept


def safe_extract(tar_path: Path, into: Path) -> None:
    """Unpack folders and regular files only, never outside ``into``, each file made durable (tarfile's own
    ``filter`` needs Python 3.11.4; the images' Debian Python is older)."""
    into = into.resolve()
    with tarfile.open(tar_path) as tar:
        for member in tar:
            target = (into / member.name).resolve()
            if not (target == into or into in target.parents) or not (member.isdir() or member.isfile()):
                continue
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with tar.extractfile(member) as src, open(target, "wb") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
                dst.flush()
                os.fsync(dst.fileno())  # durable before the folder is renamed into place and recorded
            os.chmod(target, member.mode & 0o777)
            os.utime(target, (member.mtime, member.mtime))


def pack(job: dict) -> dict:
    """The student's folder as /job/out/folder.tar (an empty one, and ``files: None``, when there is no folder)."""
    src = Path(job["students_dir"]) / job["student"]
    OUT.mkdir(parents=True, exist_ok=True)
    if not src.is_dir() or src.is_symlink():
        tarfile.open(OUT / "folder.tar", "w").close()
        return {"files": None}
    return {"files": pack_folder(src, OUT / "folder.tar")}


def unpack(job: dict) -> dict:
    dest = Path(job["students_dir"]) / job["student"]
    return {"result": unpack_folder(JOB / "files" / "folder.tar", dest, (job["uid"], job["gid"]))}


def main() -> int:
    job = json.loads((JOB / "job.json").read_text())
    try:
        result = {"release": release, "feedback": feedback, "collect": collect, "look": look, "pack": pack, "unpack": unpack}[job["do"]](job)
    except Exception as exc:  # noqa: BLE001 - said to nbfleet in one line, with the exit code
        from nbfleet.errors import NbfleetError

        print(json.dumps({"error": str(exc) if isinstance(exc, NbfleetError) else f"{type(exc).__name__}: {exc}"}))
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

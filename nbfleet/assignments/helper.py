"""Helper containers on a host: nbfleet's own delivery and collect, run by the host's engine on its own disk.

One short-lived container per host and run, from the course image (moved there first when missing, as launch does),
with the host's students folder mounted and nothing else of the course: no network, no capability beyond what
writing the teacher's files as root needs. It runs ``nbfleet.inside.folder_helper`` with the modules it needs
(``SHIPPED``, standard library only), shipped in with the job, and answers with one JSON line.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path, PurePosixPath

from .. import labels
from ..errors import NbfleetError
from ..images.record import image_tag
from ..servers import engine
from ..servers.manifest import on_host

# What the helper runs, relative to the nbfleet package: the folder helper and every nbfleet module it imports
# (tests/inside/test_inside_imports.py checks that this is exactly that, and only the standard library)
SHIPPED = ("__init__.py", "errors.py", "fs.py", "paths.py", "assignments/__init__.py", "assignments/collect.py",
           "assignments/pack.py", "assignments/deliver/__init__.py", "assignments/deliver/apply.py",
           "assignments/deliver/decide.py", "assignments/deliver/ledger.py", "inside/__init__.py",
           "inside/folder_helper.py")
CAPS = ["CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER"]  # root there may write the teacher's files, nothing more
HELPER_TIMEOUT = 3600  # seconds: a release of big files to hundreds of students on a slow disk
PACKAGE = Path(__file__).resolve().parents[1]  # nbfleet/


class HostFailed(NbfleetError):
    """A host could not be served (unreachable, no image, the helper failed, a folder not shared after all)."""


class Helper:
    """Helper containers on one host, from the course image, with the host's students folder."""

    def __init__(self, host, students_dir: str, owner: tuple[int, int], course: str, image: dict):
        self.host, self.students_dir, self.owner, self.course, self.image = host, students_dir, owner, course, image
        self.client = engine.connect(host)

    @classmethod
    def for_course(cls, settings, host, image: dict) -> Helper:
        return cls(host, students_folder(settings, host), (settings.teacher.uid, settings.teacher.gid), settings.course.tag, image)

    def close(self) -> None:
        self.client.close()

    def prepare(self) -> None:
        """The image on the host (moved there with save/load when missing)."""
        try:
            engine.ensure_image(self.client, self.image["id"], _tag(self.image))
        except NbfleetError as exc:
            raise HostFailed(f"host {self.host.name}", f"cannot put the course image there: {exc.what}") from None

    def run(self, job: dict, files: dict[str, Path] | None = None, fetch: str | None = None) -> tuple[dict, Path | None]:
        """Run ``job`` in a helper with the host's students folder; its JSON answer, and ``fetch`` (a folder in the
        helper) as a tar file here when asked. The container is removed whatever happens."""
        job = {**job, "students_dir": "/course/students", "uid": self.owner[0], "gid": self.owner[1]}
        api = self.client.api
        config = api.create_host_config(  # the students folder only: never the rest of the course (TLS key, roster)
            binds={str(PurePosixPath(self.students_dir)): {"bind": "/course/students", "mode": "rw"}}, cap_drop=["ALL"],
            cap_add=CAPS, security_opt=["no-new-privileges"], pids_limit=256, network_mode="none")
        cid = api.create_container(self.image["id"], entrypoint=["python3", "-m", "nbfleet.inside.folder_helper"], command=[],
                                   user="0:0", environment={"PYTHONPATH": "/job/lib", "PYTHONDONTWRITEBYTECODE": "1"},
                                   labels={labels.HELPER: "folders", labels.HELPER_COURSE: self.course},
                                   host_config=config, network_disabled=True)["Id"]
        try:
            with tempfile.TemporaryFile() as archive:
                bundle(archive, job, files or {})
                archive.seek(0)
                api.put_archive(cid, "/", archive)
            api.start(cid)
            code = api.wait(cid, timeout=HELPER_TIMEOUT).get("StatusCode")
            out = api.logs(cid, stdout=True, stderr=False).decode("utf-8", "replace").strip().splitlines()
            try:
                answer = json.loads(out[-1]) if out else {}
            except ValueError:
                answer = {}
            if code != 0 or "error" in answer or not out:
                why = answer.get("error") or engine.last_line(api.logs(cid, stdout=False, stderr=True)) or f"exit code {code}"
                raise HostFailed(f"host {self.host.name}", f"the folder helper failed: {why}")
            tar = None
            if fetch:
                fd, name = tempfile.mkstemp(prefix="nbfleet-fetch-", suffix=".tar")
                tar = Path(name)
                try:
                    stream, _ = api.get_archive(cid, fetch)
                    with os.fdopen(fd, "wb") as f:
                        for chunk in stream:
                            f.write(chunk)
                except BaseException:
                    tar.unlink(missing_ok=True)
                    raise
            return answer, tar
        finally:
            try:
                api.remove_container(cid, force=True)
            except Exception:  # noqa: BLE001 - a container that is already gone
                pass

    def sees_marker(self, marker: str) -> str | None:
        """The token this host's students folder holds at the marker, or None."""
        answer, _ = self.run({"do": "look", "marker": marker})
        return answer.get("marker")


def _tag(image: dict) -> str:
    """The image's tag: a manifest's ``tag``, or the content tag of an image record."""
    return image.get("tag") or image_tag(image)


def bundle(fileobj, job: dict, files: dict[str, Path]) -> None:
    """The helper's /job as a tar: the job, nbfleet's modules it runs, the released files."""
    import tarfile  # only when a helper runs: tarfile costs milliseconds that `doit list` need not pay

    with tarfile.open(fileobj=fileobj, mode="w") as tar:
        data = json.dumps(job).encode()
        info = tarfile.TarInfo("job/job.json")
        info.size, info.mode = len(data), 0o644
        tar.addfile(info, io.BytesIO(data))
        for name in SHIPPED:
            tar.add(PACKAGE / name, f"job/lib/nbfleet/{name}")
        for name, path in sorted(files.items()):
            tar.add(path, f"job/files/{name}")


def students_folder(settings, host) -> str:
    """Where the students' folders are on ``host`` (its course_root in place of this machine's course folder)."""
    return on_host(Path(settings.students_dir), Path(settings.root), host)

"""Release, collect and feedback for the whole class, on every host: one fan-out, as `doit release:<a>`,
`doit collect:<a>` and `doit grade:<a>` use it.

Students on hosts that share the course folder with this machine are served here in one delivery (or collect); each
host with a disk of its own is served by one helper container there (``assignments.helper``), hosts in parallel.
A host that fails (unreachable, a folder claimed shared that is not, a helper that died) is reported by name and its
students get nothing half-written; the other hosts finish, and a rerun completes only what is missing (each host's
delivery ledger is beside its students' folders).
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .. import paths, threads
from ..errors import NbfleetError
from ..images import record
from ..roster.hosts import load_hosts
from ..roster.students import load_roster
from ..servers.engine import short_error
from . import host_folders
from .collect import Submission, collect, swap_in, write_collect_manifest
from .deliver.apply import deliver
from .deliver.decide import Action, Decision
from .deliver.ledger import FEEDBACK, student_ledger
from .files import source_folder
from .pack import safe_extract
from .strip import stripped_files


@dataclass
class Reach:
    """How this run reaches every student's folder."""

    students: list  # the roster's
    here: list[str]  # ids served from this machine (their hosts share its course folder, and answered)
    own: dict  # Host -> ids, for each host with a disk of its own
    helpers: dict  # host name -> helper.Helper
    failed: dict  # host name -> why its students cannot be served
    waiting: dict  # student -> why: their folder has not followed them to their new host yet

    def close(self) -> None:
        for helper in self.helpers.values():
            helper.close()

    def on_hosts(self, job: Callable[[list[str]], dict], files=None, fetch: str | None = None) -> list[tuple]:
        """Run ``job(ids)`` on every host with its own disk that is still in the game, in parallel; (host, answer,
        fetched tar) for those that answered; the others go to ``failed``."""
        def one(item):
            host, ids = item
            try:
                answer, tar = self.helpers[host.name].run(job(ids), files=files, fetch=fetch)
            except NbfleetError as exc:
                return host, str(exc), None
            except Exception as exc:  # noqa: BLE001 - one host failing must not stop the others
                return host, f"host {host.name}: {short_error(exc)}", None
            return host, answer, tar

        todo = [(h, ids) for h, ids in self.own.items() if h.name not in self.failed]
        if not todo:
            return []
        results = threads.each(one, todo, workers=len(todo))
        for host, answer, _ in results:
            if not isinstance(answer, dict):
                self.failed[host.name] = answer
        return [r for r in results if isinstance(r[1], dict)]

    def placed(self, settings) -> None:
        """Record where the folders just served are, for students the folders record does not know yet."""
        by_host: dict = {}
        for s in self.students:
            if s.server and s.id not in self.waiting and s.server not in self.failed:
                by_host.setdefault(s.server, []).append(s.id)
        for host, ids in by_host.items():
            host_folders.record_placed(settings.students_dir, host, ids, only_new=True)

    def failures(self) -> dict[str, str]:
        """{host: why} for the failed hosts that have students."""
        used = {s.server for s in self.students}
        return {name: why for name, why in sorted(self.failed.items()) if name in used}


def reach(settings, staff: bool = True) -> Reach:
    """Group the roster by where each student's folder is; open helpers on the hosts that need one (hosts with
    their own disk, and remote hosts said to share, whose claim is checked here). ``staff=False`` leaves out the
    roster's admins (Admin=TRUE): they are not students."""
    hosts = load_hosts(settings)
    students = [s for s in load_roster(settings, hosts).students if staff or not s.admin]
    waiting = host_folders.waiting_to_move(settings, hosts, students)
    here, own = host_folders.groups(hosts, [s for s in students if s.id not in waiting])
    check = host_folders.shared_hosts_to_check(hosts, students, settings.root)
    helpers, failed = ({}, {}) if not (own or check) else host_folders.open_helpers(settings, list(own) + check,
                                                                                   record.launch_image(settings))
    result = Reach(students, here, own, helpers, failed, waiting)
    try:
        failed.update(host_folders.check_shared(settings, helpers, [h for h in check if h.name not in failed]))
    except BaseException:
        result.close()
        raise
    by_host = {s.id: s.server for s in students}
    result.here = [sid for sid in here if by_host.get(sid) not in failed]
    return result


def release_assignment(settings, assignment: str, *, restore: bool = False, progress=None):
    """Deliver ``build/stripped/<a>/`` to every student of the roster, wherever their folder is (a delivery Report)."""
    files, guarded = stripped_files(settings, assignment)
    r = reach(settings)
    try:
        report = deliver(settings, assignment, files, r.here, restore=restore, guarded=guarded, progress=progress)
        shipped = {name: guarded[name] for name in files}
        job = lambda ids: {"do": "release", "assignment": assignment, "students": ids, "restore": restore,  # noqa: E731
                           "files": shipped}
        for _host, answer, _ in r.on_hosts(job, files=files):
            report.decisions += [Decision(**{**d, "action": Action(d["action"])}) for d in answer["decisions"]]
            report.blocked_students.update(answer["blocked"])
            report.written += answer["written"]
        report.blocked_students.update(r.waiting)
        report.failed_hosts = r.failures()
        r.placed(settings)
        return report
    finally:
        r.close()


def collect_assignment(settings, assignment: str, *, progress=None):
    """Snapshot every roster student's copy of ``assignment`` into ``build/submissions/<a>/``, from every host; the
    roster's admins are staff, not students, and are not collected (so neither graded nor sent to the LMS)."""
    source_folder(settings, assignment)
    r = reach(settings, staff=False)
    try:
        report = collect(settings, assignment, r.here, progress=progress, write_manifest=False)
        dest = paths.submissions(settings, assignment)
        deadline = settings.collect.deadlines.get(assignment)
        job = lambda ids: {"do": "collect", "assignment": assignment, "students": ids,  # noqa: E731
                           "deadline": deadline.isoformat() if deadline else None}
        for host, answer, tar in r.on_hosts(job, fetch=f"/job/out/submissions/{assignment}"):
            unpacked = Path(tempfile.mkdtemp(prefix=f".partial-{host.name}-", dir=dest))
            try:
                safe_extract(tar, unpacked)
                for sid, data in answer["submissions"].items():
                    sub = Submission(sid, data["files"], data["skipped"], data["missing"], data["late"], data["last_change"])
                    if not sub.missing and (unpacked / assignment / sid).is_dir():
                        swap_in(unpacked / assignment / sid, dest / sid)
                    report.submissions.append(sub)
            finally:
                shutil.rmtree(unpacked, ignore_errors=True)
                tar.unlink(missing_ok=True)
        by_host = {s.id: s.server for s in r.students}
        report.submissions += [Submission(sid, missing=True, skipped={".": r.failed[by_host[sid]]})
                               for sid in by_host if by_host[sid] in r.failed and sid not in r.waiting]
        report.submissions += [Submission(sid, missing=True, skipped={".": why}) for sid, why in r.waiting.items()]
        order = {s.id: i for i, s in enumerate(r.students)}
        report.submissions.sort(key=lambda sub: order.get(sub.student, len(order)))
        report.failed_hosts = r.failures()
        write_collect_manifest(dest, report)
        return report
    finally:
        r.close()


@dataclass
class Feedback:
    """What delivering the feedback of one assignment did."""

    delivered: set[str] = field(default_factory=set)  # students whose pages are in their folder (or who left the roster)
    conflicts: list = field(default_factory=list)  # Decisions: a page the student changed, the new one beside it
    failed: dict[str, str] = field(default_factory=dict)  # host -> why its students got nothing


def deliver_feedback(settings, assignment: str, pages: dict[str, dict[str, Path]]) -> Feedback:
    """Deliver each student's own pages (``pages[id]``: page name -> file) into ``<their folder>/feedback/<a>/``,
    never over a file they changed (one ledger per student). Students on a host that failed, or whose folder is still
    moving, are not delivered to; students no longer on the roster have nowhere to be delivered to."""
    r = reach(settings)
    out = Feedback(delivered=set(pages) - {s.id for s in r.students})
    try:
        here = set(r.here)
        for sid in sorted(pages):
            if sid not in here:
                continue
            files = {f"{assignment}/{name}": path for name, path in pages[sid].items()}
            got = deliver(settings, FEEDBACK, files, [sid], ledger_name=student_ledger(FEEDBACK, assignment, sid))
            out.conflicts += got.conflicts()
            out.delivered.add(sid)
        for host, ids in r.own.items():
            mine = [sid for sid in ids if sid in pages]
            if not mine or host.name in r.failed:
                continue
            files = {f"{sid}/{assignment}/{name}": path for sid in mine for name, path in pages[sid].items()}
            job = {"do": "feedback", "assignment": assignment, "students": mine,
                   "files": {rel: hashlib.sha256(p.read_bytes()).hexdigest() for rel, p in files.items()}}
            try:
                r.helpers[host.name].run(job, files=files)
            except NbfleetError as exc:
                out.failed[host.name] = str(exc)
                continue
            out.delivered.update(mine)
        out.failed.update({h: why for h, why in r.failures().items() if any(s.server == h and s.id in pages for s in r.students)})
    finally:
        r.close()
    return out

"""Release and collect an assignment for the whole class, on every host, as `doit release:<a>` and `doit collect:<a>` do.

Students on hosts that share the course folder with this machine are served here in one delivery (or collect); each
host with a disk of its own is served by one helper container there (``nbfleet.host_folders``), hosts in parallel.
A host that fails (unreachable, a folder claimed shared that is not, a helper that died) is reported by name and its
students get nothing half-written; the other hosts finish, and a rerun completes only what is missing (each host's
delivery ledger is beside its students' folders).
"""

from __future__ import annotations

import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .errors import NbfleetError


def _class(settings):
    """The roster's students and the hosts (hosts only when some student has one)."""
    from .hosts import load_hosts
    from .roster import load_roster

    hosts = load_hosts(settings)
    return load_roster(settings, hosts).students, hosts


def _helpers(settings, hosts, students, own: dict):
    """Prepared helpers for the hosts with their own disk and for the shared remote hosts to check; failures by host."""
    from . import host_folders
    from .manifest import load_image_record

    check = host_folders.shared_hosts_to_check(hosts, students, settings.root)
    wanted = list(own) + check
    if not wanted:
        return {}, {}, check
    image = load_image_record(settings)
    helpers, failed = host_folders.open_helpers(settings, wanted, image)
    return helpers, failed, check


def release_assignment(settings, assignment: str, *, restore: bool = False, progress=None):
    """Deliver ``build/release/<a>/`` to every student of the roster, wherever their folder is (a delivery Report)."""
    from . import host_folders
    from .delivery import Action, Decision, deliver, release_inputs

    paths, guarded = release_inputs(settings, assignment)
    students, hosts = _class(settings)
    here, own = host_folders.groups(settings, hosts, students)
    helpers, failed, check = _helpers(settings, hosts, students, own)
    try:
        failed.update(host_folders.check_shared(settings, helpers, [h for h in check if h.name not in failed]))
        by_host = {s.id: s.server for s in students}
        blocked_here = {sid for sid in here if by_host.get(sid) in failed}
        report = deliver(settings, assignment, paths, [sid for sid in here if sid not in blocked_here], restore=restore,
                         guarded=guarded, progress=progress)

        def on_host(item):
            host, ids = item
            if host.name in failed:
                return host, None
            job = {"do": "release", "assignment": assignment, "students": ids, "restore": restore, "files": guarded}
            try:
                answer, _ = helpers[host.name].run(job, files=paths)
            except NbfleetError as exc:
                return host, str(exc)
            except Exception as exc:  # noqa: BLE001 - one host failing must not stop the others
                from .engine import short_error

                return host, f"host {host.name}: {short_error(exc)}"
            return host, answer

        with ThreadPoolExecutor(max_workers=max(len(own), 1)) as pool:
            for host, answer in pool.map(on_host, own.items()):
                if isinstance(answer, dict):
                    for d in answer["decisions"]:
                        report.decisions.append(Decision(**{**d, "action": Action(d["action"])}))
                    report.blocked_students.update(answer["blocked"])
                    report.written += answer["written"]
                elif answer is not None:
                    failed[host.name] = answer
        report.failed_hosts = {name: why for name, why in sorted(failed.items())
                               if any(s.server == name for s in students)}
        return report
    finally:
        for helper in helpers.values():
            helper.close()


def collect_assignment(settings, assignment: str, *, progress=None):
    """Snapshot every roster student's copy of ``assignment`` into ``build/submissions/<a>/``, from every host."""
    from . import host_folders
    from .collect import CollectReport, Submission, _swap_in, collect, submissions_dir, write_collect_manifest

    source = Path(settings.solutions_dir) / assignment
    if not source.is_dir():
        raise NbfleetError(str(source), f"no such assignment folder (assignments are the folders of {settings.solutions_dir})")
    students, hosts = _class(settings)
    here, own = host_folders.groups(settings, hosts, students)
    helpers, failed, check = _helpers(settings, hosts, students, own)
    try:
        failed.update(host_folders.check_shared(settings, helpers, [h for h in check if h.name not in failed]))
        by_host = {s.id: s.server for s in students}
        local = [sid for sid in here if by_host.get(sid) not in failed]
        report = collect(settings, assignment, local, progress=progress, write_manifest=False)
        dest = submissions_dir(settings, assignment)
        deadline = settings.collect.deadlines.get(assignment)

        def on_host(item):
            host, ids = item
            if host.name in failed:
                return host, None, None
            job = {"do": "collect", "assignment": assignment, "students": ids,
                   "deadline": deadline.isoformat() if deadline else None}
            try:
                answer, tar = helpers[host.name].run(job, fetch=f"/job/out/submissions/{assignment}")
            except NbfleetError as exc:
                return host, str(exc), None
            except Exception as exc:  # noqa: BLE001
                from .engine import short_error

                return host, f"host {host.name}: {short_error(exc)}", None
            return host, answer, tar

        with ThreadPoolExecutor(max_workers=max(len(own), 1)) as pool:
            results = list(pool.map(on_host, own.items()))
        for host, answer, tar in results:
            if not isinstance(answer, dict):
                if answer is not None:
                    failed[host.name] = answer
                continue
            unpacked = Path(tempfile.mkdtemp(prefix=f".partial-{host.name}-", dir=dest))
            try:
                host_folders.extract(tar, unpacked)
                fetched = unpacked / assignment
                for sid, data in answer["submissions"].items():
                    sub = Submission(sid, data["files"], data["skipped"], data["missing"], data["late"], data["last_change"])
                    if not sub.missing and (fetched / sid).is_dir():
                        _swap_in(fetched / sid, dest / sid)
                    report.submissions.append(sub)
            finally:
                shutil.rmtree(unpacked, ignore_errors=True)
                tar.unlink(missing_ok=True)
        for sid in (s.id for s in students if s.server in failed):
            report.submissions.append(Submission(sid, missing=True, skipped={".": failed[by_host[sid]]}))
        order = {s.id: i for i, s in enumerate(students)}
        report.submissions.sort(key=lambda sub: order.get(sub.student, len(order)))
        report.failed_hosts = dict(sorted(failed.items()))
        write_collect_manifest(dest, report)
        return report
    finally:
        for helper in helpers.values():
            helper.close()

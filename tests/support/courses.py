"""Course folders for tests and benchmarks, written with nbfleet's own writers (image records, manifests, password
hashes), never with copies of their formats.

- ``copy_sample``: the repository's sample course (``sample_course`` fixture);
- ``test_course``: the sample course taught by a non-root teacher, with every image built (incrementally) by
  ``doit images`` (``course_images`` fixture; benchmarks call it too);
- ``write_course``: a new course from a few facts (tag, hosts, students, sections of course.toml, image records).
"""

from __future__ import annotations

import csv
import json
import re
import secrets
import shutil
from pathlib import Path

import pytest

from nbfleet import paths
from nbfleet.images import record as records
from nbfleet.roster.students import Student
from nbfleet.servers.manifest import manifest_document, server_entry, settings_hash
from nbfleet.servers.manifest import write_manifest as write_manifest_file
from nbfleet.settings import Launch, Teacher, load
from nbfleet.settings.egress import Egress

from .doit import run, write_dodo
from .repo import REPO, TEST_COURSE

TEST_TEACHER = Teacher("datacamp", 17685226, 17685226)  # the Twente course's teacher: never root, never 1000
SAMPLE = ("course.toml", "hosts", "dodo.py", "roster", "course", "docker-stacks")


def copy_sample(dest: Path, parts: tuple[str, ...] = SAMPLE) -> Path:
    """A copy of the repository's sample course (course.toml, hosts, dodo.py, roster, course/, docker-stacks/), or of
    only those ``parts`` of it."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in parts:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, dest / name, dirs_exist_ok=True)
        elif source.exists():
            shutil.copy2(source, dest / name)
    return dest


def taught(text: str, teacher: Teacher = TEST_TEACHER) -> str:
    """The text of a course.toml that says ``auto`` for its teacher (the sample's), with ``teacher`` instead."""
    for key, value in (("user", f'"{teacher.user}"'), ("uid", teacher.uid), ("gid", teacher.gid)):
        text = re.sub(rf'(?m)^{key} = "auto"', f"{key} = {value}", text)
    return text


def teach(course: Path, teacher: Teacher = TEST_TEACHER) -> Path:
    """Make ``teacher`` the teacher of a course whose course.toml says ``auto`` (the sample's)."""
    toml = course / "course.toml"
    toml.write_text(taught(toml.read_text(), teacher))
    return course


def serve_https(course: Path) -> Path:
    """Turn on the sample course's commented-out certificate and key, with stand-in files (a missing one is refused)."""
    (course / "secrets").mkdir(exist_ok=True)
    for name in ("cert.pem", "key.pem"):
        (course / "secrets" / name).write_text("a test stand-in\n")
    toml = course / "course.toml"
    toml.write_text(toml.read_text().replace('# tls_cert = "secrets/cert.pem"', 'tls_cert = "secrets/cert.pem"')
                    .replace('# tls_key = "secrets/key.pem"', 'tls_key = "secrets/key.pem"'))
    return course


def retag(course: Path, tag: str) -> Path:
    """Give a copy of the sample course its own tag (its containers, sandboxes and roster columns)."""
    toml = course / "course.toml"
    toml.write_text(re.sub(r'(?m)^tag = "[^"]*"', f'tag = "{tag}"', toml.read_text()))
    users = course / "roster" / "users.csv"
    if users.exists():
        users.write_text(users.read_text().replace("mbd_", f"{tag}_"))
    return course


def test_course() -> Path:
    """The sample course taught by ``TEST_TEACHER``, with its whole image chain built by ``doit images``: kept in
    build/test-course/ between runs (the build is incremental; a no-op run makes no build call)."""
    copy_sample(TEST_COURSE, tuple(part for part in SAMPLE if part != "course.toml"))
    toml = TEST_COURSE / "course.toml"
    before = toml.read_text() if toml.exists() else None
    text = taught((REPO / "course.toml").read_text())
    if text != before:  # rewritten only when it changed: doit then sees nothing new
        toml.write_text(text)
    result = run(TEST_COURSE, "images", timeout=7200)
    if result.returncode != 0:
        raise RuntimeError(f"doit images failed for the test course:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return TEST_COURSE


def image_record(client, tag: str, name: str = "course-notebook", teacher: Teacher | None = None) -> dict:
    """The record nbfleet's image writer would keep of an image already on ``client``'s engine (``tag``), built for
    ``teacher`` (default: uid 1000, as the tiny test image runs)."""
    image = client.images.get(tag)
    return records.describe(name, image.id, [tag], image.attrs.get("Size", 0), teacher or Teacher("teacher", 1000, 1000),
                            content=image.id.split(":")[-1], built=image.attrs.get("Created") or None)


def read_record(course: Path, name: str) -> dict:
    """The record ``doit images`` keeps of image ``name`` in a course folder; an error when there is none."""
    record = records.read(load(course / "course.toml"), name)
    if not record:
        raise RuntimeError(f"{course} has no record of image {name}: run `doit images` there first (`./run` does)")
    return record


def copy_records(built: Path, dest: Path) -> None:
    """Give the course ``dest`` the image records of ``built`` (a course whose images were built): its images, without
    building them again; an error when ``built`` has none."""
    source = paths.image_records(load(built / "course.toml"))
    found = sorted(source.glob("*.json"))
    if not found:
        raise RuntimeError(f"{built} has no image records in {source}: run `doit images` there first (`./run` does)")
    folder = paths.image_records(load(dest / "course.toml"))
    folder.mkdir(parents=True, exist_ok=True)
    for path in found:
        shutil.copy2(path, folder / path.name)


def write_record(course: Path, record: dict) -> None:
    """Give ``course`` an image record, written by nbfleet's own record writer."""
    records.write(_where(course), record)


def toml_value(value) -> str:
    """A value as course.toml writes it: strings, numbers, booleans, lists, and tables inline (``{start = …}``)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(value)


def toml_section(name: str, values: dict) -> str:
    """One section of course.toml (strings, numbers, booleans, lists, inline tables)."""
    return f"[{name}]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in values.items()) + "\n"


def write_course(dest: Path, tag: str, hosts: list[str], students: list[tuple[str, bool]] = (), *,
                 teacher: Teacher | None = None, sections: dict | None = None, images: list[dict] = (),
                 tasks: tuple[str, ...] = ("roster", "manifests", "launch", "mail", "status", "stop"),
                 name: str = "Test course") -> Path:
    """A course repository in ``dest``: course.toml (tag ``tag``, the teacher, ``sections``), ``hosts`` (one line
    each), a roster of ``students`` ((id, admin) each), an invitation template, ``images`` as their records (the launch
    image first: written by nbfleet's record writer), and the repository's dodo.py with only ``tasks``."""
    teacher = teacher or (Teacher(images[0]["nb_user"], images[0]["nb_uid"], images[0]["nb_gid"]) if images
                          else Teacher("teacher", 1000, 1000))
    launch_image = images[0]["image"] if images else "course-notebook"
    dest.mkdir(parents=True, exist_ok=True)
    text = toml_section("course", {"name": name, "tag": tag})
    text += toml_section("teacher", {"user": teacher.user, "uid": teacher.uid, "gid": teacher.gid})
    text += toml_section("images", {"build": [r["image"] for r in images] or [launch_image], "launch": launch_image})
    for section, values in (sections or {}).items():
        text += toml_section(section, values)
    (dest / "course.toml").write_text(text)
    (dest / "hosts").write_text("\n".join(hosts) + "\n")
    (dest / "roster").mkdir(exist_ok=True)
    with open(dest / "roster" / "users.csv", "w", newline="") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(["SNumber", "Name", "LastName", "Email", f"{tag}_url", f"{tag}_server", f"{tag}_port", "Password", "Admin"])
        out.writerows([sid, f"Name{sid}", "Last", f"{sid}@example.org", "", "", "", "", "TRUE" if admin else "FALSE"]
                      for sid, admin in students)
    (dest / "course").mkdir(exist_ok=True)
    (dest / "course" / "invitation.txt").write_text("Dear {name},\n{url}\n{password}\n")
    settings = _where(dest)
    for image in images:
        records.write(settings, image)
    write_dodo(dest, *tasks)
    return dest


LAUNCH_TEST = {"memory": "512m", "admin_memory": "1g", "cpus": 1.0, "ready_timeout": "90s"}  # room for many servers
LAUNCH_TASKS = ("roster", "manifests", "launch", "mail", "status", "stop")


def launch_course(dest: Path, tag: str, hosts: list[str], students: list[tuple[str, bool]], image: dict,
                  launch: dict | None = None, tasks: tuple[str, ...] = LAUNCH_TASKS) -> Path:
    """A course whose pipeline starts at the roster: its launch image, course-notebook, is ``image`` (a record of an
    image already on the engine), not built here; ``launch`` overrides keys of [launch] (small limits by default)."""
    return write_course(dest, tag, hosts, students, images=[{**image, "image": "course-notebook"}],
                        sections={"launch": {**LAUNCH_TEST, **(launch or {})}}, tasks=tasks, name="Launch test")


class _where:
    """Enough of a course's settings for nbfleet's path functions (``build_dir``)."""

    def __init__(self, root: Path):
        self.build_dir = Path(root) / "build"


def read_roster(course: Path, tag: str) -> dict:
    """id -> {password, server, port, url} from the course's roster after `doit roster` filled it."""
    with open(course / "roster" / "users.csv", newline="", encoding="utf-8-sig") as fh:
        return {r["SNumber"]: {"password": r["Password"], "server": r[f"{tag}_server"], "port": r[f"{tag}_port"],
                               "url": r[f"{tag}_url"]} for r in csv.DictReader(fh)}


def random_course() -> str:
    """A course tag of its own: a test's containers and folders are never another's."""
    return "t" + secrets.token_hex(3)


# ------------------------------------------------------------------ manifests, made with the real builder

# A launch image that no engine has: the record nbfleet's writer keeps, for tests that build manifests only
STANDIN_IMAGE = records.describe("course-notebook", "sha256:" + "ab" * 32,
                                 ["nbfleet/course-notebook:latest", "nbfleet/course-notebook:3f2a9c1b7d4e"], 1,
                                 Teacher("teacher", 1000, 1000), parent="pyspark-notebook", content="3f2a9c1b7d4e" + "0" * 52,
                                 built="2026-01-01T00:00:00+00:00")
ROSTER_HEADER = "SNumber,Name,LastName,Email,mbd_url,mbd_server,mbd_port,Password,Admin,mbd_memory\n"


def sample_settings(course: Path, roster: str, hosts: str, toml_extra: str = "", image: dict = STANDIN_IMAGE):
    """The settings of a copy of the sample course (``course``) taught by uid 1000, with ``roster`` and ``hosts`` as
    their files' text, ``toml_extra`` appended to course.toml and ``image`` recorded as its launch image."""
    teach(course, Teacher("teacher", 1000, 1000))
    toml = course / "course.toml"
    toml.write_text(toml.read_text() + toml_extra)
    (course / "hosts").write_text(hosts)
    (course / "roster" / "users.csv").write_text(roster)
    records.write(_where(course), image)
    return load(toml)


def roster_student(sid: str, admin: bool = False, port: int = 20000, memory: int | None = None,
                   password: str = "Secret123abc") -> Student:
    """A roster row on host ``local`` with its port, password and url filled in."""
    return Student(sid, "N", "L", f"{sid}@example.org", admin, "local", port, password, f"http://localhost:{port}/", memory)


DEFAULT_EGRESS = Launch().egress


def container_entry(course: str, student: str, port: int, folder: str, image_id: str, *, admin: bool = False,
                    public: str = "localhost", nb_user: str = "teacher", uid: int = 1000, gid: int = 1000,
                    hashed_password: str | None = None, memory: int = 256 * 1024**2, course_root: str = "",
                    egress: Egress = DEFAULT_EGRESS, exam: str = "") -> dict:
    """One server of a launch manifest, made by the manifest writer's own ``server_entry``; ``hashed_password`` (made
    by nbfleet's ``hash_password``) goes into the command, as Jupyter needs one to start."""
    command = ["start-notebook"]
    if hashed_password:
        command.append(f"--PasswordIdentityProvider.hashed_password={hashed_password}")
    return server_entry(course, student, admin=admin, port=port, url=f"http://{public}:{port}/",
                        folder=course_root if admin else folder, home=f"/home/{nb_user}", image=image_id,
                        command=command, user=f"{uid}:{gid}", memory=memory, cpus=0.5, pids=256, egress=egress,
                        exam=exam)


def manifest(host, course: str, entries: list[dict], image: dict, backend: dict | None = None) -> dict:
    """A launch manifest of ``entries`` on ``host`` (a Host), as nbfleet's builder lays one out."""
    return manifest_document(host, course, "http", backend or {"kind": "containers"},
                             {"name": image.get("name", "tiny"), "id": image["id"], "tag": image["tag"]}, entries)


def write_manifest(path: Path, data: dict) -> Path:
    """Write a manifest with nbfleet's own writer."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_manifest_file(path, data)
    return path


def rehash(entry: dict) -> dict:
    """Recompute an entry's settings hash after a test changed its server spec."""
    entry["hash"] = settings_hash(entry["server"])
    return entry


# ------------------------------------------------------------------ fixtures


@pytest.fixture
def sample_course(tmp_path: Path) -> Path:
    """A copy of the repository's sample course in a fresh folder."""
    return copy_sample(tmp_path / "course-repo")


@pytest.fixture(scope="session")
def course_images(docker_client) -> Path:
    """The test course (``test_course``): the whole image chain built for a teacher whose uid is 17685226."""
    try:
        return test_course()
    except RuntimeError as exc:
        pytest.fail(str(exc))

"""What ``course.toml`` holds, section by section, as immutable records (``course_toml.load`` fills them in).

Each section is a NamedTuple whose defaults are what a course.toml without that key gets (``Launch().memory``); a
record costs far less to define than a frozen dataclass, and every doit run defines them all.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, NamedTuple

from .egress import Allow, Egress

ROOT_FALLBACK = ("teacher", 1000, 1000)  # a notebook server never runs as root


class Course(NamedTuple):
    name: str = "A Jupyter course"
    tag: str = "course"
    roster: Path = Path("roster/users.csv")
    students: Path = Path("students")
    solutions: Path = Path("course/solutions")


class Teacher(NamedTuple):
    user: str
    uid: int
    gid: int


class Base(NamedTuple):
    suite: str = "bookworm"
    mirror: str = "http://deb.debian.org/debian"
    variant: str = "minbase"
    pull: str = ""  # e.g. "ubuntu:24.04" at a site with a registry: pulled instead of debootstrap


class Images(NamedTuple):
    build: tuple[str, ...] = ("foundation", "base-notebook", "minimal-notebook", "pyspark-notebook", "course-notebook")
    launch: str = "course-notebook"
    prefix: str = "nbfleet"
    course_packages: tuple[str, ...] = ()
    course_apt_packages: tuple[str, ...] = ()


class Launch(NamedTuple):
    memory: int = 2 * 1024**3
    admin_memory: int = 4 * 1024**3
    cpus: float = 1.0
    pids: int = 512
    idle_window: float = 900.0
    ready_timeout: float = 120.0
    tls_cert: Path | None = None
    tls_key: Path | None = None
    backend: str = "containers"  # or "swarm": each student one Swarm service, pinned to their host
    egress: Egress = Egress("internet")  # where a student's server may connect (settings.egress)


class Swarm(NamedTuple):
    """How the course runs on Docker Swarm (``launch.backend = "swarm"``)."""

    manager: str = ""  # a host of `hosts` whose engine is a swarm manager; "" = the first host
    reserve_memory: int = 0  # memory Swarm sets aside for each server (0: none; the limit still applies)
    reserve_cpus: float = 0.0
    registry: str = ""  # host[:port][/path]: the manager pushes the image there and nodes pull it ("": save/load)


class Release(NamedTuple):
    teacher_only: tuple[str, ...] = ()
    toc: bool = False


class Collect(NamedTuple):
    deadlines: dict[str, dt.datetime] = {}  # never changed in place: parse makes a new one


class Mail(NamedTuple):
    template: Path = Path("course/invitation.txt")
    sender: str = "teacher@example.org"
    subject: str = "Your Jupyter server for {course}"
    smtp_host: str = "localhost"
    smtp_port: int = 25
    starttls: bool = False
    user: str = ""
    password_env: str = "NBFLEET_SMTP_PASSWORD"


class RosterOptions(NamedTuple):
    password_length: int = 12  # new passwords: this many letters and digits, from `secrets`


class Session(NamedTuple):
    """One session of a workshop's ``schedule``: when the room arrives, how many, for how long."""

    start: dt.datetime  # aware
    visitors: int
    length: float  # seconds

    @property
    def end(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=self.length)


class Workshop(NamedTuple):
    """A workshop on JupyterHub: anyone with the link gets a running notebook server from a warm pool."""

    host: str = "local"  # a host of `hosts`, or "local" (this machine's engine)
    port: int = 8000
    pool_size: int = 5  # servers started and waiting for visitors (0: start one when a visitor arrives)
    max_visitors: int = 10  # visitors with a server at once; one more is told the workshop is full
    memory: int = 1024**3  # per visitor
    cpus: float = 0.5
    pids: int = 512
    idle_timeout: float = 600.0
    max_age: float = 0.0  # 0: no limit
    pool_refill: int = 2  # servers started at once while the pool refills
    per_client: int = 3  # servers one client address (as the proxy sees it) may hold
    busy_limit: float = 1800.0  # a server at its whole CPU quota this long is stopped; 0: never
    schedule: tuple[Session, ...] = ()  # sessions, as the file lists them: the pool grows to their visitors before each
    materials: Path = Path("course/workshop")
    image: str = "workshop-notebook"
    hub_image: str = "workshop-hub"
    egress: Egress = Egress("list", (Allow("public", ((80, 80),)), Allow("public", ((443, 443),))))  # anonymous: the least


class Grade(NamedTuple):
    """`doit grade:<a>`: each submission runs in a sandbox container with these limits (docs/grading.md)."""

    parallel: int = 2  # sandboxes at once
    memory: int = 1024**3  # per sandbox, also the room its copy of the submission has
    cpus: float = 1.0
    pids: int = 256
    cell_timeout: float = 60.0
    notebook_timeout: float = 600.0
    overrides: Path = Path("grades/overrides.csv")  # the teacher's own scores, which survive a regrade
    lms_id: str = "SNumber"  # the roster column the LMS knows students by (canvas.csv, moodle.csv)
    lms_names: dict[str, str] = {}  # assignment -> its column in the LMS files (default: its name); never changed in place


class Settings(NamedTuple):
    """Everything ``course.toml`` says, validated, with paths made absolute."""

    root: Path
    file: Path
    course: Course
    teacher: Teacher
    base: Base
    images: Images
    launch: Launch
    release: Release
    collect: Collect
    mail: Mail
    roster: RosterOptions = RosterOptions()
    workshop: Workshop = Workshop()
    swarm: Swarm = Swarm()
    grade: Grade = Grade()

    @property
    def build_dir(self) -> Path:
        return self.root / "build"

    @property
    def stacks_dir(self) -> Path:
        return self.root / "docker-stacks"

    @property
    def roster_file(self) -> Path:
        return self.course.roster

    @property
    def hosts_file(self) -> Path:
        return self.root / "hosts"

    @property
    def students_dir(self) -> Path:
        return self.course.students

    @property
    def solutions_dir(self) -> Path:
        return self.course.solutions

    def section(self, name: str) -> dict[str, Any]:
        """A plain dict of one section, for doit's ``config_changed``: paths inside the course folder relative to it,
        so that a course moved to another folder (or restored into a CI runner's workspace) is not rebuilt."""
        obj = getattr(self, name)
        return {key: _plain(getattr(obj, key), self.root) for key in obj._fields}


def _plain(value: Any, root: Path) -> Any:
    if isinstance(value, Path):
        return value.relative_to(root).as_posix() if value.is_relative_to(root) else str(value)
    if isinstance(value, dt.datetime):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v, root) for k, v in value.items()}
    if isinstance(value, Egress):
        return value.text
    if isinstance(value, tuple):
        return [_plain(v, root) for v in value]
    return value

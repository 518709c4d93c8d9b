"""Load and validate ``course.toml``, the course's one settings file, into frozen objects.

Every error names the file and the key (``course.toml: teacher.uid: …``). Relative paths are taken
relative to the folder that holds ``course.toml`` (the course repository).
"""

from __future__ import annotations

import datetime as dt
import os
import pwd
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import NbfleetError

LOGIN_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
TAG_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,30}$")
IMAGE_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
BACKEND = re.compile(r"^(containers|swarm)$")
REGISTRY = re.compile(r"^$|^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d{1,5})?(/[a-z0-9]+([._-][a-z0-9]+)*)*$")
MEMORY = re.compile(r"^(\d+(?:\.\d+)?)([kmg]?)b?$", re.I)
DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd]?)$")
MIN_MEMORY = 64 * 1024**2
ROOT_FALLBACK = ("teacher", 1000, 1000)  # a notebook server never runs as root


@dataclass(frozen=True)
class Course:
    name: str = "A Jupyter course"
    tag: str = "course"
    roster: Path = Path("roster/users.csv")
    students: Path = Path("students")
    solutions: Path = Path("course/solutions")


@dataclass(frozen=True)
class Teacher:
    user: str
    uid: int
    gid: int


@dataclass(frozen=True)
class Base:
    suite: str = "bookworm"
    mirror: str = "http://deb.debian.org/debian"
    variant: str = "minbase"
    pull: str = ""  # e.g. "ubuntu:24.04" at a site with a registry: pulled instead of debootstrap


@dataclass(frozen=True)
class Images:
    build: tuple[str, ...] = ("foundation", "base-notebook", "minimal-notebook", "pyspark-notebook", "course-notebook")
    launch: str = "course-notebook"
    prefix: str = "nbfleet"
    course_packages: tuple[str, ...] = ()
    course_apt_packages: tuple[str, ...] = ()


@dataclass(frozen=True)
class Launch:
    memory: int = 2 * 1024**3
    admin_memory: int = 4 * 1024**3
    cpus: float = 1.0
    pids: int = 512
    idle_window: float = 900.0
    ready_timeout: float = 120.0
    tls_cert: Path | None = None
    tls_key: Path | None = None
    backend: str = "containers"  # or "swarm": each student one Swarm service, pinned to their host


@dataclass(frozen=True)
class Swarm:
    """How the course runs on Docker Swarm (``launch.backend = "swarm"``)."""

    manager: str = ""  # a host of `hosts` whose engine is a swarm manager; "" = the first host
    reserve_memory: int = 0  # memory Swarm sets aside for each server (0: none; the limit still applies)
    reserve_cpus: float = 0.0
    registry: str = ""  # host[:port][/path]: the manager pushes the image there and nodes pull it ("": save/load)


@dataclass(frozen=True)
class Release:
    teacher_only: tuple[str, ...] = ()
    toc: bool = False


@dataclass(frozen=True)
class Collect:
    deadlines: dict[str, dt.datetime] = field(default_factory=dict)


@dataclass(frozen=True)
class Mail:
    template: Path = Path("course/invitation.txt")
    sender: str = "teacher@example.org"
    subject: str = "Your Jupyter server for {course}"
    smtp_host: str = "localhost"
    smtp_port: int = 25
    starttls: bool = False
    user: str = ""
    password_env: str = "NBFLEET_SMTP_PASSWORD"


@dataclass(frozen=True)
class RosterOptions:
    password_length: int = 12  # new passwords: this many letters and digits, from `secrets`


@dataclass(frozen=True)
class Workshop:
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
    materials: Path = Path("course/workshop")
    image: str = "workshop-notebook"
    hub_image: str = "workshop-hub"


@dataclass(frozen=True)
class Grade:
    """`doit grade:<a>`: each submission runs in a sandbox container with these limits (docs/grading.md)."""

    parallel: int = 2  # sandboxes at once
    memory: int = 1024**3  # per sandbox, also the room its copy of the submission has
    cpus: float = 1.0
    pids: int = 256
    cell_timeout: float = 60.0
    notebook_timeout: float = 600.0
    overrides: Path = Path("grades/overrides.csv")  # the teacher's own scores, which survive a regrade


@dataclass(frozen=True)
class Settings:
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
        """A plain dict of one section, for doit's ``config_changed``."""
        obj = getattr(self, name)
        return {f.name: _plain(getattr(obj, f.name)) for f in fields(obj)}


def _plain(value: Any) -> Any:
    if isinstance(value, (Path, dt.datetime)):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def parse_memory(text: str) -> int:
    """``'2g'``, ``'512m'``, ``'1.5g'`` -> bytes; ValueError when it is not a size or below MIN_MEMORY."""
    m = MEMORY.match(text.strip())
    if not m:
        raise ValueError(f"{text!r} is not a memory size such as '2g' or '512m'")
    size = int(float(m.group(1)) * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[m.group(2).lower()])
    if size < MIN_MEMORY:  # Docker reads 0 as "no limit": a typo must not give anyone unlimited memory
        raise ValueError(f"{text!r} is below the minimum of 64m for a notebook server")
    return size


def load(path: str | os.PathLike | None = None) -> Settings:
    """Read and validate ``course.toml`` (default: the one in the current folder or ``$NBFLEET_COURSE``)."""
    file = Path(path or os.environ.get("NBFLEET_COURSE") or "course.toml").resolve()
    if not file.is_file():
        raise NbfleetError(str(file), "no such settings file (a course needs a course.toml)")
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\s*\(at line (\d+), column (\d+)\)$", str(exc))
        where = f"{file.name}:{m.group(1)}:{m.group(2)}" if m else file.name
        raise NbfleetError(where, f"not valid TOML: {str(exc)[: m.start()] if m else exc}") from None
    except UnicodeDecodeError as exc:
        raise NbfleetError(file.name, f"not valid TOML: not UTF-8 (byte {exc.start})") from None
    except OSError as exc:
        raise NbfleetError(str(file), f"cannot read it: {exc.strerror}") from None
    return parse(data, file)


def parse(data: dict[str, Any], file: Path) -> Settings:
    """Validate the parsed TOML ``data`` of ``file``; raise NbfleetError naming the key on any problem."""
    root = file.parent
    r = _Reader(data, file.name)
    r.only_sections({"course", "teacher", "base", "images", "launch", "release", "collect", "mail", "roster", "workshop", "swarm", "grade"})

    c = r.section("course", {"name", "tag", "roster", "students", "solutions"})
    course = Course(
        name=c.str("name", Course.name),
        tag=c.match("tag", Course.tag, TAG_NAME, "a short lower-case name (letters, digits, - or _)"),
        roster=c.path("roster", root, Course.roster),
        students=c.path("students", root, Course.students),
        solutions=c.path("solutions", root, Course.solutions),
    )

    t = r.section("teacher", {"user", "uid", "gid"})
    teacher = _teacher(t)

    b = r.section("base", {"suite", "mirror", "variant", "pull"})
    base = Base(
        suite=b.match("suite", Base.suite, re.compile(r"^[a-z]+$"), "a Debian suite name such as bookworm"),
        mirror=b.match("mirror", Base.mirror, re.compile(r"^(https?|file)://\S+$"), "a mirror URL (http://…)"),
        variant=b.match("variant", Base.variant, re.compile(r"^(minbase|buildd|fakechroot|-)$"), "a debootstrap variant"),
        pull=b.str("pull", ""),
    )

    i = r.section("images", {"build", "launch", "prefix", "course_packages", "course_apt_packages"})
    build = i.strlist("build", Images.build)
    for name in build:
        if not IMAGE_NAME.match(name):
            raise NbfleetError(i.where("build"), f"{name!r} is not a valid image name")
    if len(set(build)) != len(build):
        raise NbfleetError(i.where("build"), "an image is listed twice")
    launch_image = i.str("launch", Images.launch if Images.launch in build else (build[-1] if build else ""))
    if launch_image not in build:
        raise NbfleetError(i.where("launch"), f"image {launch_image!r} is not in images.build")
    images = Images(
        build=build,
        launch=launch_image,
        prefix=i.match("prefix", Images.prefix, IMAGE_NAME, "a lower-case image name prefix"),
        course_packages=i.strlist("course_packages", ()),
        course_apt_packages=i.strlist("course_apt_packages", ()),
    )

    la = r.section("launch", {"memory", "admin_memory", "cpus", "pids", "idle_window", "ready_timeout", "tls_cert", "tls_key",
                                 "backend"})
    tls_cert = la.path("tls_cert", root, None)
    tls_key = la.path("tls_key", root, None)
    if (tls_cert is None) != (tls_key is None):
        raise NbfleetError(la.where("tls_cert"), "tls_cert and tls_key go together: give both or neither")
    for key, path in (("tls_cert", tls_cert), ("tls_key", tls_key)):
        if path is not None:
            _readable_file(path, la.where(key))
    launch = Launch(
        memory=la.memory("memory", Launch.memory),
        admin_memory=la.memory("admin_memory", Launch.admin_memory),
        cpus=la.number("cpus", Launch.cpus, low=0.01),
        pids=int(la.number("pids", Launch.pids, low=16, integer=True)),
        idle_window=la.duration("idle_window", Launch.idle_window),
        ready_timeout=la.duration("ready_timeout", Launch.ready_timeout, low=1),
        tls_cert=tls_cert,
        tls_key=tls_key,
        backend=la.match("backend", Launch.backend, BACKEND, '"containers" or "swarm"'),
    )
    sw = r.section("swarm", {"manager", "reserve_memory", "reserve_cpus", "registry"})
    swarm = Swarm(
        manager=sw.str("manager", Swarm.manager),
        reserve_memory=sw.memory("reserve_memory", Swarm.reserve_memory) if "reserve_memory" in sw.data else Swarm.reserve_memory,
        reserve_cpus=sw.number("reserve_cpus", Swarm.reserve_cpus, low=0),
        registry=sw.match("registry", Swarm.registry, REGISTRY, "a registry such as registry.example.org:5000 (or with a /path)"),
    )

    re_ = r.section("release", {"teacher_only", "toc"})
    release = Release(teacher_only=re_.strlist("teacher_only", ()), toc=re_.bool("toc", False))

    co = r.section("collect", {"deadlines"})
    collect = Collect(deadlines=co.deadlines("deadlines"))

    m = r.section("mail", {"template", "sender", "subject", "smtp_host", "smtp_port", "starttls", "user", "password_env"})
    mail = Mail(
        template=m.path("template", root, Mail.template),
        sender=m.str("sender", Mail.sender),
        subject=m.str("subject", Mail.subject),
        smtp_host=m.str("smtp_host", Mail.smtp_host),
        smtp_port=int(m.number("smtp_port", Mail.smtp_port, low=1, integer=True, high=65535)),
        starttls=m.bool("starttls", False),
        user=m.str("user", ""),
        password_env=m.str("password_env", Mail.password_env),
    )
    ro = r.section("roster", {"password_length"})
    roster = RosterOptions(password_length=int(ro.number("password_length", RosterOptions.password_length, low=8, integer=True)))
    g = r.section("grade", {f.name for f in fields(Grade)})
    grade = Grade(
        parallel=int(g.number("parallel", Grade.parallel, low=1, integer=True, high=256)),
        memory=g.memory("memory", Grade.memory),
        cpus=g.number("cpus", Grade.cpus, low=0.01),
        pids=int(g.number("pids", Grade.pids, low=32, integer=True)),
        cell_timeout=g.duration("cell_timeout", Grade.cell_timeout, low=1),
        notebook_timeout=g.duration("notebook_timeout", Grade.notebook_timeout, low=1),
        overrides=g.path("overrides", root, Grade.overrides),
    )
    return Settings(root, file, course, teacher, base, images, launch, release, collect, mail, roster,
                    _workshop(r.section("workshop", {f.name for f in fields(Workshop)}), root), swarm, grade)


def _workshop(w: "_Reader", root: Path) -> Workshop:
    """The [workshop] section: ranges checked here, the host and the fit in memory when the workshop starts."""
    from .hosts import HOST_NAME

    host = w.match("host", Workshop.host, HOST_NAME, "a host name from `hosts` (or local)")
    pool = int(w.number("pool_size", Workshop.pool_size, low=0, integer=True, high=1000))
    most = int(w.number("max_visitors", Workshop.max_visitors, low=1, integer=True, high=1000))
    if pool > most:
        raise NbfleetError(w.where("pool_size"), f"{pool} waiting servers is more than max_visitors ({most}): "
                           "the pool never holds more servers than visitors may have")
    idle = w.duration("idle_timeout", Workshop.idle_timeout)
    if idle < 10:
        raise NbfleetError(w.where("idle_timeout"), f"{idle:g} s is too short: a visitor reading a page would lose their server (at least 10s)")
    age = w.duration("max_age", Workshop.max_age)
    if age and age < idle:
        raise NbfleetError(w.where("max_age"), "is shorter than idle_timeout (0 means no limit)")
    return Workshop(
        host=host,
        port=int(w.number("port", Workshop.port, low=1, integer=True, high=65535)),
        pool_size=pool,
        max_visitors=most,
        memory=w.memory("memory", Workshop.memory),
        cpus=w.number("cpus", Workshop.cpus, low=0.01, high=256),
        pids=int(w.number("pids", Workshop.pids, low=16, integer=True, high=4194304)),
        idle_timeout=idle,
        max_age=age,
        pool_refill=int(w.number("pool_refill", Workshop.pool_refill, low=1, integer=True, high=100)),
        materials=w.path("materials", root, Workshop.materials),
        image=w.match("image", Workshop.image, IMAGE_NAME, "an image name of images.build"),
        hub_image=w.match("hub_image", Workshop.hub_image, IMAGE_NAME, "an image name of images.build"),
    )


def _readable_file(path: Path, where: str) -> None:
    """A file that nbfleet reads later must be there and readable now (a run must not half-happen first)."""
    if not path.is_file():
        raise NbfleetError(where, f"no such file: {path}")
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise NbfleetError(where, f"cannot read {path}: {exc.strerror}") from None


def _teacher(t: "_Reader") -> Teacher:
    """The teacher's login and ids; ``auto`` means whoever runs nbfleet (root falls back, see ROOT_FALLBACK)."""
    user, uid, gid = t.get("user", "auto"), t.get("uid", "auto"), t.get("gid", "auto")
    if "auto" in (user, uid, gid):
        me = os.environ.get("SUDO_USER") or pwd.getpwuid(os.getuid()).pw_name
        try:
            entry = pwd.getpwnam(me)
            auto = (entry.pw_name, entry.pw_uid, entry.pw_gid)
        except KeyError:
            auto = (me, os.getuid(), os.getgid())
        if auto[1] == 0:
            auto = ROOT_FALLBACK
        user = auto[0] if user == "auto" else user
        uid = auto[1] if uid == "auto" else uid
        gid = auto[2] if gid == "auto" else gid
    if not isinstance(user, str) or not LOGIN_NAME.match(user):
        raise NbfleetError(t.where("user"), f"{user!r} is not a valid Linux login name (lower-case letters, digits, _ or -)")
    for key, value in (("uid", uid), ("gid", gid)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise NbfleetError(t.where(key), f"{value!r} is not an integer")
        if value == 0:
            raise NbfleetError(t.where(key), "0 is root: notebook servers never run as root")
        if not 0 < value < 2**32 - 1:
            raise NbfleetError(t.where(key), f"{value} is out of range for a Linux id")
    return Teacher(user, uid, gid)


def _did_you_mean(key: str, known: set[str]) -> str:
    """`` (did you mean memory?)`` for a near miss, else the list of known names."""
    import difflib

    close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else f" (known: {', '.join(sorted(known))})"


class _Reader:
    """Typed access to one TOML table, with errors that name file and key."""

    def __init__(self, data: dict[str, Any], file: str, prefix: str = ""):
        self.data, self.file, self.prefix = data, file, prefix

    def where(self, key: str) -> str:
        return f"{self.file}: {self.prefix}{key}"

    def only_sections(self, allowed: set[str]) -> None:
        for key, value in self.data.items():
            if key not in allowed:
                raise NbfleetError(self.where(key), f"unknown section{_did_you_mean(key, allowed)}")
            if not isinstance(value, dict):
                raise NbfleetError(self.where(key), "must be a table ([section])")

    def section(self, name: str, allowed: set[str]) -> "_Reader":
        sub = _Reader(self.data.get(name, {}), self.file, f"{name}.")
        for key in sub.data:
            if key not in allowed:
                raise NbfleetError(sub.where(key), f"unknown key{_did_you_mean(key, allowed)}")
        return sub

    def get(self, key: str, default: Any) -> Any:
        return self.data.get(key, default)

    def str(self, key: str, default: str) -> str:
        value = self.data.get(key, default)
        if not isinstance(value, str):
            raise NbfleetError(self.where(key), f"{value!r} is not a string")
        return value

    def match(self, key: str, default: str, pattern: re.Pattern, what: str) -> str:
        value = self.str(key, default)
        if not pattern.match(value):
            raise NbfleetError(self.where(key), f"{value!r} is not {what}")
        return value

    def bool(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise NbfleetError(self.where(key), f"{value!r} is not true or false")
        return value

    def number(self, key: str, default: float, low: float, integer: bool = False, high: float | None = None) -> float:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
            raise NbfleetError(self.where(key), f"{value!r} is not {'an integer' if integer else 'a number'}")
        if value < low:
            raise NbfleetError(self.where(key), f"{value} is below the minimum {low}")
        if high is not None and value > high:
            raise NbfleetError(self.where(key), f"{value} is above the maximum {high}")
        return value

    def strlist(self, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = self.data.get(key, list(default))
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise NbfleetError(self.where(key), "must be a list of strings")
        return tuple(value)

    def path(self, key: str, root: Path, default: Path | None) -> Path | None:
        value = self.data.get(key, None if default is None else str(default))
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise NbfleetError(self.where(key), f"{value!r} is not a path")
        return (root / value).resolve()

    def memory(self, key: str, default: int) -> int:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise NbfleetError(self.where(key), f"{value!r} is not a memory size such as '2g' or '512m'")
        try:
            return parse_memory(str(value))
        except ValueError as exc:
            raise NbfleetError(self.where(key), str(exc)) from None

    def duration(self, key: str, default: float, low: float = 0) -> float:
        """Seconds, from a number or ``'15m'``/``'90s'``/``'2h'``; at least ``low``."""
        value = self.data.get(key, default)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            seconds = float(value)
        else:
            m = DURATION.match(value) if isinstance(value, str) else None
            if not m:
                raise NbfleetError(self.where(key), f"{value!r} is not a duration such as '15m' or '90s'")
            seconds = float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]
        if seconds < 0:
            raise NbfleetError(self.where(key), f"{value} is negative: a duration is 0 or more, such as '15m' or '90s'")
        if seconds < low:
            raise NbfleetError(self.where(key), f"{value} is below the minimum of {low:g} s")
        return seconds

    def deadlines(self, key: str) -> dict[str, dt.datetime]:
        value = self.data.get(key, {})
        if not isinstance(value, dict):
            raise NbfleetError(self.where(key), "must be a table of assignment = date-time")
        out = {}
        for name, when in value.items():
            if isinstance(when, str):
                try:
                    when = dt.datetime.fromisoformat(when)
                except ValueError:
                    raise NbfleetError(self.where(f"{key}.{name}"), f"{when!r} is not an ISO date-time") from None
            if isinstance(when, dt.date) and not isinstance(when, dt.datetime):
                when = dt.datetime.combine(when, dt.time(23, 59, 59))
            if not isinstance(when, dt.datetime):
                raise NbfleetError(self.where(f"{key}.{name}"), f"{when!r} is not a date-time")
            if when.tzinfo is None:
                when = when.astimezone()  # local time of the machine that runs nbfleet
            out[name] = when
        return out

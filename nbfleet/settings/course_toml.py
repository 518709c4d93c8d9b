"""Load and validate ``course.toml``, the course's one settings file, into frozen objects.

Every error names the file and the key (``course.toml: teacher.uid: …``). Relative paths are taken
relative to the folder that holds ``course.toml`` (the course repository).
"""

from __future__ import annotations

import os
import pwd
import re
import tomllib
from pathlib import Path
from typing import Any

from ..errors import NbfleetError
from . import egress, schedule
from .sections import (
    ROOT_FALLBACK,
    Base,
    Collect,
    Course,
    Grade,
    Images,
    Launch,
    Mail,
    Release,
    RosterOptions,
    Settings,
    Swarm,
    Teacher,
    Workshop,
)
from .table import Section

LOGIN_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
TAG_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,30}$")
IMAGE_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
BACKEND = re.compile(r"^(containers|swarm)$")
REGISTRY = re.compile(r"^$|^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d{1,5})?(/[a-z0-9]+([._-][a-z0-9]+)*)*$")
HOST_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")  # a hosts line's name: a file name and a doit subtask name


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
    r = Section(data, file.name)
    r.only_sections({"course", "teacher", "base", "images", "launch", "release", "collect", "mail", "roster", "workshop", "swarm", "grade"})

    c = r.section("course", {"name", "tag", "roster", "students", "solutions"})
    course = Course(
        name=c.str("name", Course().name),
        tag=c.match("tag", Course().tag, TAG_NAME, "a short lower-case name (letters, digits, - or _)"),
        roster=c.path("roster", root, Course().roster),
        students=c.path("students", root, Course().students),
        solutions=c.path("solutions", root, Course().solutions),
    )

    t = r.section("teacher", {"user", "uid", "gid"})
    teacher = _teacher(t)

    b = r.section("base", {"suite", "mirror", "variant", "pull"})
    base = Base(
        suite=b.match("suite", Base().suite, re.compile(r"^[a-z]+$"), "a Debian suite name such as bookworm"),
        mirror=b.match("mirror", Base().mirror, re.compile(r"^(https?|file)://\S+$"), "a mirror URL (http://…)"),
        variant=b.match("variant", Base().variant, re.compile(r"^(minbase|buildd|fakechroot|-)$"), "a debootstrap variant"),
        pull=b.str("pull", ""),
    )

    i = r.section("images", {"build", "launch", "prefix", "course_packages", "course_apt_packages"})
    build = i.strlist("build", Images().build)
    for name in build:
        if not IMAGE_NAME.match(name):
            raise NbfleetError(i.where("build"), f"{name!r} is not a valid image name")
    if len(set(build)) != len(build):
        raise NbfleetError(i.where("build"), "an image is listed twice")
    launch_image = i.str("launch", Images().launch if Images().launch in build else (build[-1] if build else ""))
    if launch_image not in build:
        raise NbfleetError(i.where("launch"), f"image {launch_image!r} is not in images.build")
    images = Images(
        build=build,
        launch=launch_image,
        prefix=i.match("prefix", Images().prefix, IMAGE_NAME, "a lower-case image name prefix"),
        course_packages=i.strlist("course_packages", ()),
        course_apt_packages=i.strlist("course_apt_packages", ()),
    )

    la = r.section("launch", {"memory", "admin_memory", "cpus", "pids", "idle_window", "ready_timeout", "tls_cert", "tls_key",
                                 "backend", "egress"})
    tls_cert = la.path("tls_cert", root, None)
    tls_key = la.path("tls_key", root, None)
    if (tls_cert is None) != (tls_key is None):
        raise NbfleetError(la.where("tls_cert"), "tls_cert and tls_key go together: give both or neither")
    for key, path in (("tls_cert", tls_cert), ("tls_key", tls_key)):
        if path is not None:
            _readable_file(path, la.where(key))
    launch = Launch(
        memory=la.memory("memory", Launch().memory),
        admin_memory=la.memory("admin_memory", Launch().admin_memory),
        cpus=la.number("cpus", Launch().cpus, low=0.01),
        pids=int(la.number("pids", Launch().pids, low=16, integer=True)),
        idle_window=la.duration("idle_window", Launch().idle_window),
        ready_timeout=la.duration("ready_timeout", Launch().ready_timeout, low=1),
        tls_cert=tls_cert,
        tls_key=tls_key,
        backend=la.match("backend", Launch().backend, BACKEND, '"containers" or "swarm"'),
        egress=egress.parse(la.data["egress"], la.where("egress")) if "egress" in la.data else Launch().egress,
    )
    sw = r.section("swarm", {"manager", "reserve_memory", "reserve_cpus", "registry"})
    swarm = Swarm(
        manager=sw.str("manager", Swarm().manager),
        reserve_memory=sw.memory("reserve_memory", Swarm().reserve_memory) if "reserve_memory" in sw.data else Swarm().reserve_memory,
        reserve_cpus=sw.number("reserve_cpus", Swarm().reserve_cpus, low=0),
        registry=sw.match("registry", Swarm().registry, REGISTRY, "a registry such as registry.example.org:5000 (or with a /path)"),
    )

    re_ = r.section("release", {"teacher_only", "toc"})
    release = Release(teacher_only=re_.strlist("teacher_only", ()), toc=re_.bool("toc", False))

    co = r.section("collect", {"deadlines"})
    collect = Collect(deadlines=co.deadlines("deadlines"))

    m = r.section("mail", {"template", "sender", "subject", "smtp_host", "smtp_port", "starttls", "user", "password_env"})
    mail = Mail(
        template=m.path("template", root, Mail().template),
        sender=m.str("sender", Mail().sender),
        subject=m.str("subject", Mail().subject),
        smtp_host=m.str("smtp_host", Mail().smtp_host),
        smtp_port=int(m.number("smtp_port", Mail().smtp_port, low=1, integer=True, high=65535)),
        starttls=m.bool("starttls", False),
        user=m.str("user", ""),
        password_env=m.str("password_env", Mail().password_env),
    )
    ro = r.section("roster", {"password_length"})
    roster = RosterOptions(password_length=int(ro.number("password_length", RosterOptions().password_length, low=8, integer=True)))
    g = r.section("grade", set(Grade._fields))
    grade = Grade(
        parallel=int(g.number("parallel", Grade().parallel, low=1, integer=True, high=256)),
        memory=g.memory("memory", Grade().memory),
        cpus=g.number("cpus", Grade().cpus, low=0.01),
        pids=int(g.number("pids", Grade().pids, low=32, integer=True)),
        cell_timeout=g.duration("cell_timeout", Grade().cell_timeout, low=1),
        notebook_timeout=g.duration("notebook_timeout", Grade().notebook_timeout, low=1),
        overrides=g.path("overrides", root, Grade().overrides),
        lms_id=g.match("lms_id", Grade().lms_id, re.compile(r"^\S(.*\S)?$"), "a column name of the roster"),
        lms_names=g.strtable("lms_names"),
    )
    return Settings(root, file, course, teacher, base, images, launch, release, collect, mail, roster,
                    _workshop(r.section("workshop", set(Workshop._fields)), root), swarm, grade)


def _per_client(w: Section) -> int:
    """[workshop] per_client: at least one server for each client address."""
    n = int(w.number("per_client", Workshop().per_client, low=0, integer=True, high=1000))
    if n == 0:
        raise NbfleetError(w.where("per_client"), "0 servers per client address would let nobody in (at least 1)")
    return n


def _workshop(w: Section, root: Path) -> Workshop:
    """The [workshop] section: ranges checked here, the host and the fit in memory when the workshop starts."""
    host = w.match("host", Workshop().host, HOST_NAME, "a host name from `hosts` (or local)")
    pool = int(w.number("pool_size", Workshop().pool_size, low=0, integer=True, high=1000))
    most = int(w.number("max_visitors", Workshop().max_visitors, low=1, integer=True, high=1000))
    if pool > most:
        raise NbfleetError(w.where("pool_size"), f"{pool} waiting servers is more than max_visitors ({most}): "
                           "the pool never holds more servers than visitors may have")
    idle = w.duration("idle_timeout", Workshop().idle_timeout)
    if idle < 10:
        raise NbfleetError(w.where("idle_timeout"), f"{idle:g} s is too short: a visitor reading a page would lose their server (at least 10s)")
    age = w.duration("max_age", Workshop().max_age)
    if age and age < idle:
        raise NbfleetError(w.where("max_age"), "is shorter than idle_timeout (0 means no limit)")
    busy = w.duration("busy_limit", Workshop().busy_limit)
    if 0 < busy < 10:
        raise NbfleetError(w.where("busy_limit"), f"{busy:g} s is too short: a visitor running one heavy cell would lose "
                           "their server (at least 10s, or 0 for never)")
    return Workshop(
        host=host,
        port=int(w.number("port", Workshop().port, low=1, integer=True, high=65535)),
        pool_size=pool,
        max_visitors=most,
        memory=w.memory("memory", Workshop().memory),
        cpus=w.number("cpus", Workshop().cpus, low=0.01, high=256),
        pids=int(w.number("pids", Workshop().pids, low=16, integer=True, high=4194304)),
        idle_timeout=idle,
        max_age=age,
        pool_refill=int(w.number("pool_refill", Workshop().pool_refill, low=1, integer=True, high=100)),
        per_client=_per_client(w),
        busy_limit=busy,
        schedule=schedule.parse(w, most),
        materials=w.path("materials", root, Workshop().materials),
        image=w.match("image", Workshop().image, IMAGE_NAME, "an image name of images.build"),
        hub_image=w.match("hub_image", Workshop().hub_image, IMAGE_NAME, "an image name of images.build"),
        egress=egress.parse(w.data["egress"], w.where("egress")) if "egress" in w.data else Workshop().egress,
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


def _teacher(t: Section) -> Teacher:
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

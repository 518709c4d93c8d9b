"""course.toml: defaults, 'auto' teacher, and one clear error naming the key for each kind of bad input."""

from pathlib import Path

import pytest

from nbfleet.errors import NbfleetError
from nbfleet.settings import ROOT_FALLBACK, load
from support.doit import run, write_dodo
from support.repo import REPO


def write(tmp_path: Path, text: str) -> Path:
    f = tmp_path / "course.toml"
    f.write_text(text)
    return f


def test_repository_sample_course_loads():
    s = load(REPO / "course.toml")
    assert s.course.tag == "mbd"
    assert s.images.launch == "course-notebook"
    assert s.launch.memory == 2 * 1024**3 and s.launch.idle_window == 900
    assert s.teacher.uid != 0
    assert s.launch.backend == "containers" and s.swarm.manager == "" and s.swarm.reserve_memory == 0


def test_the_swarm_backend_and_its_settings(tmp_path):
    s = load(write(tmp_path, '[launch]\nbackend = "swarm"\n[swarm]\nmanager = "lab1"\nreserve_memory = "512m"\nreserve_cpus = 0.25\n'
                             'registry = "registry.example.org:5000/course"\n'))
    assert (s.launch.backend, s.swarm.manager, s.swarm.reserve_memory, s.swarm.reserve_cpus) == ("swarm", "lab1", 512 * 1024**2, 0.25)
    assert s.swarm.registry == "registry.example.org:5000/course"


def test_explicit_teacher_and_relative_paths(tmp_path):
    s = load(write(tmp_path, '[teacher]\nuser = "datacamp"\nuid = 17685226\ngid = 17685226\n[course]\nstudents = "shared/students"\n'))
    assert (s.teacher.user, s.teacher.uid, s.teacher.gid) == ("datacamp", 17685226, 17685226)
    assert s.students_dir == tmp_path / "shared" / "students"


def test_auto_teacher_as_root_falls_back_to_a_non_root_user(tmp_path, monkeypatch):
    monkeypatch.delenv("SUDO_USER", raising=False)
    s = load(write(tmp_path, ""))
    import os

    if os.getuid() == 0:
        assert (s.teacher.user, s.teacher.uid, s.teacher.gid) == ROOT_FALLBACK
    else:
        assert s.teacher.uid == os.getuid()


@pytest.mark.parametrize(
    "text, where, what",
    [
        ("[images]\nbuld = []\n", "course.toml: images.buld", "unknown key"),
        ("[imagez]\n", "course.toml: imagez", "unknown section"),
        ('[teacher]\nuid = "abc"\n', "course.toml: teacher.uid", "not an integer"),
        ("[teacher]\nuid = 0\n", "course.toml: teacher.uid", "root"),
        ('[teacher]\nuser = "Bad User"\n', "course.toml: teacher.user", "not a valid Linux login"),
        ('[images]\nbuild = ["foundation"]\nlaunch = "course-notebook"\n', "course.toml: images.launch", "not in images.build"),
        ('[images]\nbuild = ["a", "a"]\n', "course.toml: images.build", "listed twice"),
        ('[launch]\nmemory = "lots"\n', "course.toml: launch.memory", "not a memory size"),
        ("[grade]\nparalel = 2\n", "course.toml: grade.paralel", "unknown key"),
        ("[grade]\nparallel = 0\n", "course.toml: grade.parallel", "below the minimum 1"),
        ('[grade]\ncell_timeout = "soon"\n', "course.toml: grade.cell_timeout", "duration"),
        ('[grade]\nmemory = "1x"\n', "course.toml: grade.memory", "not a memory size"),
        ('[launch]\nmemory = "0"\n', "course.toml: launch.memory", "below the minimum"),
        ("[launch]\nadmin_memory = 0\n", "course.toml: launch.admin_memory", "below the minimum"),
        ('[launch]\ntls_cert = "c.pem"\n', "course.toml: launch.tls_cert", "go together"),
        ('[collect]\ndeadlines = { a1 = "tomorrow" }\n', "course.toml: collect.deadlines.a1", "not an ISO date-time"),
        ("[launch]\nidle_window = -5\n", "course.toml: launch.idle_window", "negative"),
        ('[launch]\nidle_window = "-5m"\n', "course.toml: launch.idle_window", "not a duration"),
        ("[launch]\nready_timeout = 0\n", "course.toml: launch.ready_timeout", "below the minimum of 1 s"),
        ("[mail]\nsmtp_port = 99999\n", "course.toml: mail.smtp_port", "above the maximum 65535"),
        ('[launch]\ntls_cert = "nope.pem"\ntls_key = "nope.key"\n', "course.toml: launch.tls_cert", "no such file"),
        ("[launch]\nmemroy = \"2g\"\n", "course.toml: launch.memroy", "unknown key (did you mean memory?)"),
        ("[lauch]\n", "course.toml: lauch", "unknown section (did you mean launch?)"),
        ('[launch]\nbackend = "kubernetes"\n', "course.toml: launch.backend", 'not "containers" or "swarm"'),
        ('[swarm]\nreserve_cpus = -1\n', "course.toml: swarm.reserve_cpus", "below the minimum"),
        ('[swarm]\nreserve_memory = "lots"\n', "course.toml: swarm.reserve_memory", "not a memory size"),
        ('[swarm]\nmanagr = "a"\n', "course.toml: swarm.managr", "did you mean manager?"),
        ('[swarm]\nregistry = "https://reg.example.org"\n', "course.toml: swarm.registry", "not a registry"),
        ("[course\n", "course.toml:1:8", "not valid TOML"),
        ('[course]\nname = "x"\ntag = \n', "course.toml:3:7", "not valid TOML"),
    ],
)
def test_bad_settings_name_the_key(tmp_path, text, where, what):
    with pytest.raises(NbfleetError) as err:
        load(write(tmp_path, text))
    assert err.value.where == where
    assert what in err.value.what
    assert "\n" not in str(err.value)


def test_missing_settings_file(tmp_path):
    with pytest.raises(NbfleetError, match="no such settings file"):
        load(tmp_path / "course.toml")


def test_a_tls_file_that_is_a_folder_is_refused(tmp_path):
    (tmp_path / "cert.pem").mkdir()
    (tmp_path / "key.pem").write_text("key")
    with pytest.raises(NbfleetError) as err:
        load(write(tmp_path, '[launch]\ntls_cert = "cert.pem"\ntls_key = "key.pem"\n'))
    assert err.value.where == "course.toml: launch.tls_cert" and "no such file" in err.value.what


def test_doit_says_a_toml_error_in_one_line_with_line_and_column(tmp_path):
    (tmp_path / "course.toml").write_text("[course]\nname = 'x'\ntag = = 3\n")
    write_dodo(tmp_path)
    result = run(tmp_path, "list")
    assert result.returncode != 0
    errors = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(errors) == 1 and errors[0].startswith("error: course.toml:3:7: not valid TOML"), result.stderr

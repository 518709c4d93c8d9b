"""course.toml: defaults, 'auto' teacher, and one clear error naming the key for each kind of bad input."""

from pathlib import Path

import pytest

from nbfleet.errors import NbfleetError
from nbfleet.settings import ROOT_FALLBACK, load


def write(tmp_path: Path, text: str) -> Path:
    f = tmp_path / "course.toml"
    f.write_text(text)
    return f


def test_repository_sample_course_loads():
    s = load(Path(__file__).resolve().parent.parent / "course.toml")
    assert s.course.tag == "mbd"
    assert s.images.launch == "course-notebook"
    assert s.launch.memory == 2 * 1024**3 and s.launch.idle_window == 900
    assert s.teacher.uid != 0


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
        ('[launch]\nmemory = "0"\n', "course.toml: launch.memory", "below the minimum"),
        ("[launch]\nadmin_memory = 0\n", "course.toml: launch.admin_memory", "below the minimum"),
        ('[launch]\ntls_cert = "c.pem"\n', "course.toml: launch.tls_cert", "go together"),
        ('[collect]\ndeadlines = { a1 = "tomorrow" }\n', "course.toml: collect.deadlines.a1", "not an ISO date-time"),
        ("[course\n", "course.toml", "not valid TOML"),
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

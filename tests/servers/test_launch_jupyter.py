"""The real course image, launched by `doit launch` from a roster: students log in with their roster password and
see only their own folder, the admin sees the whole course, files belong to the teacher, no plain password leaks,
and a student with a running kernel is not interrupted by a settings change unless the teacher forces it.
"""

from __future__ import annotations

import json
import os
import re

import pytest
import requests

from nbfleet.servers import activity, engine
from support.courses import launch_course, random_course, read_record, read_roster
from support.doit import run as doit
from support.engines import port_block, remove_course

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def launch_image_record(docker_client, course_images) -> dict:
    """The image students get, as `doit images` built and recorded it for the test course (teacher uid 17685226)."""
    record = read_record(course_images, "course-notebook")
    docker_client.images.get(record["id"])  # fails loudly if the record is stale
    return record


def login(url: str, password: str) -> requests.Session:
    """Log in as a browser does: GET /login for the _xsrf cookie, then POST the form."""
    s = requests.Session()
    s.get(url + "login", timeout=10).raise_for_status()
    r = s.post(url + "login", data={"password": password, "_xsrf": s.cookies.get("_xsrf", "")},
               allow_redirects=False, timeout=10)
    assert r.status_code == 302, (r.status_code, r.text[:300])
    s.headers["X-XSRFToken"] = s.cookies.get("_xsrf", "")
    return s


def names(session: requests.Session, url: str, path: str = "") -> set[str]:
    r = session.get(url + "api/contents/" + path, timeout=10)
    r.raise_for_status()
    return {c["name"] for c in r.json()["content"]}


@pytest.fixture(scope="module")
def jupyter_course(tmp_path_factory, docker_client, launch_image_record):
    tag = random_course()
    low = port_block(10)
    repo = launch_course(tmp_path_factory.mktemp("jupyter") / "course", tag,
                            [f"a local capacity=5 public=127.0.0.1 ports={low}-{low + 9}"],
                            [("s1", False), ("s2", False), ("boss", True)], launch_image_record,
                            launch={"idle_window": "15m"})
    (repo / "course" / "solutions").mkdir(parents=True)
    (repo / "course" / "solutions" / "answers.md").write_text("teacher only\n")
    result = doit(repo, "-n", "4", "launch")
    yield {"repo": repo, "tag": tag, "launch": result, "roster": read_roster(repo, tag), "image": launch_image_record}
    remove_course(docker_client, tag)


def test_doit_launch_starts_every_server_from_the_roster(jupyter_course):
    out = jupyter_course["launch"].stdout + jupyter_course["launch"].stderr
    assert jupyter_course["launch"].returncode == 0, out
    assert re.search(r"│\s*a\s*│\s*3\s*│\s*0\s*│\s*0\s*│\s*0\s*│\s*0\s*│\s*0\s*│", out), out


def test_a_student_logs_in_with_the_roster_password_and_sees_only_their_folder(jupyter_course):
    roster, repo = jupyter_course["roster"], jupyter_course["repo"]
    s1, s2 = roster["s1"], roster["s2"]
    assert requests.get(s1["url"] + "api/status", timeout=10).status_code == 403
    wrong = requests.Session()
    wrong.get(s1["url"] + "login", timeout=10)
    r = wrong.post(s1["url"] + "login", data={"password": s2["password"], "_xsrf": wrong.cookies.get("_xsrf", "")},
                   allow_redirects=False, timeout=10)
    assert r.status_code != 302 and wrong.get(s1["url"] + "api/status", timeout=10).status_code == 403

    (repo / "students" / "s2" / "private.txt").write_text("s2 only\n")
    session = login(s1["url"], s1["password"])
    # the server shows the student's own folder (~/work, the only one that survives a recreate) and nothing else
    assert names(session, s1["url"]) == set()
    put = session.put(s1["url"] + "api/contents/hello.txt",
                      json={"type": "file", "format": "text", "content": "hi\n"}, timeout=10)
    assert put.status_code in (200, 201), put.text
    assert names(session, s1["url"]) == {"hello.txt"}
    for sneaky in ("../s2", "../../s2", "%2e%2e/s2", "..%2fs2"):
        r = session.get(s1["url"] + "api/contents/" + sneaky, timeout=10)
        assert r.status_code in (400, 403, 404), (sneaky, r.status_code)
    written = repo / "students" / "s1" / "hello.txt"
    assert written.read_text() == "hi\n"
    teacher = (jupyter_course["image"]["nb_uid"], jupyter_course["image"]["nb_gid"])
    assert teacher == (17685226, 17685226)
    assert (written.stat().st_uid, written.stat().st_gid) == teacher  # the teacher's uid on the host

    kernel = session.post(s1["url"] + "api/kernels", json={"name": "python3"}, timeout=60)
    assert kernel.status_code == 201, kernel.text


def test_the_admin_sees_the_students_and_the_teachers_material(jupyter_course):
    boss = jupyter_course["roster"]["boss"]
    (jupyter_course["repo"] / "students" / "s2" / "private.txt").write_text("s2 only\n")
    session = login(boss["url"], boss["password"])
    # the admin's server shows ~/course: the whole course folder
    assert {"students", "course", "roster"} <= names(session, boss["url"])
    assert {"s1", "s2"} <= names(session, boss["url"], "students")
    assert "answers.md" in names(session, boss["url"], "course/solutions")
    r = session.get(boss["url"] + "api/contents/students/s2/private.txt", timeout=10)
    assert r.status_code == 200 and r.json()["content"] == "s2 only\n"


def test_docker_inspect_shows_no_plain_password(jupyter_course, docker_client):
    passwords = [r["password"] for r in jupyter_course["roster"].values()]
    for c in engine.list_containers(docker_client, jupyter_course["tag"]):
        text = json.dumps(docker_client.api.inspect_container(c.id))
        assert "argon2:" in text
        assert not any(p in text for p in passwords)
        info = docker_client.api.inspect_container(c.id)
        assert info["Config"]["User"] == "{nb_uid}:{nb_gid}".format(**jupyter_course["image"]) and info["HostConfig"]["CapDrop"] == ["ALL"]


def test_a_student_with_a_running_kernel_is_pending_until_forced(jupyter_course, docker_client):
    repo, tag = jupyter_course["repo"], jupyter_course["tag"]
    roster = jupyter_course["roster"]
    s1 = roster["s1"]
    (repo / "students" / "s1" / "hello.txt").write_text("hi\n")
    session = login(s1["url"], s1["password"])
    if not session.get(s1["url"] + "api/kernels", timeout=10).json():
        assert session.post(s1["url"] + "api/kernels", json={"name": "python3"}, timeout=60).status_code == 201
    act = activity.ask(docker_client, f"{tag}-s1")
    assert act and act["kernels"] >= 1, act
    ids = {c.student: c.id for c in engine.list_containers(docker_client, tag)}

    csv = repo / "roster" / "users.csv"  # give s1 and s2 a memory limit of their own: both need a recreate
    lines = csv.read_text().splitlines()
    lines[0] += f",{tag}_memory"
    lines[1:] = [line + (",768m" if line.split(",")[0] in ("s1", "s2") else ",") for line in lines[1:]]
    csv.write_text("\n".join(lines) + "\n")
    result = doit(repo, "-n", "4", "launch")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert re.search(r"│\s*a\s*│\s*0\s*│\s*1\s*│\s*1\s*│\s*0\s*│\s*1\s*│\s*0\s*│", out), out  # s2 recreated, s1 pending
    after = {c.student: c.id for c in engine.list_containers(docker_client, tag)}
    assert after["s1"] == ids["s1"] and after["s2"] != ids["s2"] and after["boss"] == ids["boss"]
    assert session.get(s1["url"] + "api/kernels", timeout=10).json(), "s1's kernel was interrupted"

    forced = doit(repo, "-n", "4", "launch", "--force")  # the group flag reaches every host
    assert forced.returncode == 0, forced.stdout + forced.stderr
    final = {c.student: c.id for c in engine.list_containers(docker_client, tag)}
    assert final["s1"] != ids["s1"]
    assert docker_client.api.inspect_container(f"{tag}-s1")["HostConfig"]["Memory"] == 768 * 1024**2
    assert (repo / "students" / "s1" / "hello.txt").read_text() == "hi\n"  # the student's work survived the recreate
    assert login(s1["url"], s1["password"]).get(s1["url"] + "api/status", timeout=10).status_code == 200


def test_with_a_certificate_in_course_toml_every_server_speaks_https(tmp_path, docker_client, launch_image_record,
                                                                     cleanup_containers):
    import subprocess

    import urllib3

    tag = random_course()
    cleanup_containers.append((docker_client, tag))
    low = port_block(5)
    repo = launch_course(tmp_path / "course", tag, [f"a local capacity=2 public=127.0.0.1 ports={low}-{low + 4}"],
                            [("s1", False)], launch_image_record,
                            launch={"tls_cert": "secrets/cert.pem", "tls_key": "secrets/key.pem"})
    secrets_dir = repo / "secrets"
    secrets_dir.mkdir()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(secrets_dir / "key.pem"), "-out", str(secrets_dir / "cert.pem")],
                   check=True, capture_output=True)
    # the server runs as the teacher and must read its key
    os.chown(secrets_dir / "key.pem", launch_image_record["nb_uid"], launch_image_record["nb_gid"])
    os.chmod(secrets_dir / "key.pem", 0o600)
    result = doit(repo, "-n", "4", "launch")
    assert result.returncode == 0, result.stdout + result.stderr
    s1 = read_roster(repo, tag)["s1"]
    assert s1["url"].startswith("https://127.0.0.1:")
    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    s = requests.Session()
    s.trust_env = False  # else REQUESTS_CA_BUNDLE from the environment would replace the course's certificate
    s.verify = str(secrets_dir / "cert.pem")
    assert s.get(s1["url"] + "login", timeout=10).status_code == 200
    with pytest.raises(requests.ConnectionError):
        requests.get(s1["url"].replace("https://", "http://") + "login", timeout=10)


def test_resetting_one_password_recreates_only_that_container_and_the_old_password_stops_working(jupyter_course,
                                                                                                  docker_client):
    import csv

    repo, tag = jupyter_course["repo"], jupyter_course["tag"]
    path = repo / "roster" / "users.csv"
    with open(path, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    col = rows[0].index("Password")
    s2_row = next(r for r in rows[1:] if r[0] == "s2")
    old = s2_row[col]
    s2_row[col] = ""  # the teacher blanks the cell
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    ids = {c.student: c.id for c in engine.list_containers(docker_client, tag)}
    result = doit(repo, "-n", "4", "launch")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert re.search(r"│\s*a\s*│\s*0\s*│\s*1\s*│\s*2\s*│\s*0\s*│\s*0\s*│\s*0\s*│", out), out  # only s2 recreated
    after = {c.student: c.id for c in engine.list_containers(docker_client, tag)}
    assert {s for s in ids if ids[s] != after[s]} == {"s2"}
    s2 = read_roster(repo, tag)["s2"]
    assert s2["password"] and s2["password"] != old
    login(s2["url"], s2["password"])
    stale = requests.Session()
    stale.get(s2["url"] + "login", timeout=10)
    r = stale.post(s2["url"] + "login", data={"password": old, "_xsrf": stale.cookies.get("_xsrf", "")},
                   allow_redirects=False, timeout=10)
    assert r.status_code != 302 and stale.get(s2["url"] + "api/status", timeout=10).status_code == 403

"""An admin opens a terminal in their own notebook server and runs `doit release:<a>`: students get their copies."""

from __future__ import annotations

import json
import os
import shutil
import time

import pytest

from nbfleet.roster.passwords import hash_password as password_hash
from support.courses import TEST_TEACHER, copy_sample, teach
from support.courses import read_record as record
from support.engines import free_port
from support.jupyter import login, wait_for_api

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def terminal_run(session, url: str, command: str, marker: str, timeout: float = 180) -> str:
    """Type ``command`` into a new JupyterLab terminal (terminado websocket) and return its output up to ``marker``."""
    import websocket

    name = session.post(f"{url}/api/terminals", timeout=30).json()["name"]
    cookie = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
    ws = websocket.create_connection(url.replace("http", "ws", 1) + f"/terminals/websocket/{name}",
                                     header=[f"Cookie: {cookie}"], origin=url, timeout=timeout)
    out, deadline = "", time.monotonic() + timeout
    try:
        ws.send(json.dumps(["stdin", f"{command}; echo {marker[:3]}''{marker[3:]} $?\r"]))
        while time.monotonic() < deadline and marker not in out:
            kind, *data = json.loads(ws.recv())
            if kind == "stdout":
                out += data[0]
        return out
    finally:
        ws.close()
        session.delete(f"{url}/api/terminals/{name}", timeout=30)


def test_admin_releases_an_assignment_from_the_notebook_terminal(docker_client, course_images, tmp_path):
    course = tmp_path / "course"
    teach(copy_sample(course))
    shutil.rmtree(course / "build", ignore_errors=True)
    for root, dirs, files in os.walk(tmp_path):
        for name in [*dirs, *files]:
            os.chown(os.path.join(root, name), TEST_TEACHER.uid, TEST_TEACHER.gid)
    os.chown(tmp_path, TEST_TEACHER.uid, TEST_TEACHER.gid)
    port = free_port()
    container = docker_client.containers.run(
        record(course_images, "course-notebook")["id"],
        ["start-notebook", f"--PasswordIdentityProvider.hashed_password={password_hash('admin-pw')}"],
        detach=True, ports={"8888/tcp": ("127.0.0.1", port)},
        volumes={str(course): {"bind": "/home/datacamp/course", "mode": "rw"}},
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_api(url, timeout=90)
        session = login(url, "admin-pw")
        out = terminal_run(session, url, "cd ~/course && doit release:assignment1", "NBFLEET-DONE")
        assert "NBFLEET-DONE 0" in out, out[-3000:]
    finally:
        container.remove(force=True)

    for student in ("s1234567", "s2345678", "s3456789"):
        released = course / "students" / student / "assignment1" / "problem1.ipynb"
        assert released.is_file(), sorted(p.name for p in (course / "students").iterdir())
        st = released.stat()
        assert (st.st_uid, st.st_gid) == (TEST_TEACHER.uid, TEST_TEACHER.gid)
        text = released.read_text()
        assert "YOUR CODE HERE" in text and "BEGIN SOLUTION" not in text
        assert not (course / "students" / student / "assignment1" / "grading").exists()

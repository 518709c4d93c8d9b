"""The built images, proven with real containers: who they run as, login, a kernel, stop time, Spark."""

from __future__ import annotations

import json
import os
import time

import pytest
import requests

from nbfleet.roster.passwords import hash_password as password_hash
from support.courses import TEST_TEACHER
from support.courses import read_record as record
from support.engines import free_port
from support.jupyter import login, run_code, wait_for_api

pytestmark = [pytest.mark.docker, pytest.mark.slow]
CHAIN = ["foundation", "base-notebook", "minimal-notebook", "pyspark-notebook", "course-notebook"]


@pytest.fixture
def notebook(docker_client, course_images):
    """Start a server of an image with a password; yields (container, url); always removes the container."""
    started = []

    def start(image: str, password: str = "s3cret-Passw0rd", **kwargs):
        port = free_port()
        container = docker_client.containers.run(
            record(course_images, image)["id"],
            ["start-notebook", f"--PasswordIdentityProvider.hashed_password={password_hash(password)}"],
            detach=True, ports={"8888/tcp": ("127.0.0.1", port)}, **kwargs,
        )
        started.append(container)
        url = f"http://127.0.0.1:{port}"
        wait_for_api(url, timeout=90)
        return container, url

    yield start
    for c in started:
        c.remove(force=True)


@pytest.mark.parametrize("image", CHAIN)
def test_image_runs_as_the_teacher_never_root(docker_client, course_images, image):
    out = docker_client.containers.run(record(course_images, image)["id"], ["id", "-u", "-n"], remove=True)
    assert out.decode().strip() == TEST_TEACHER.user
    out = docker_client.containers.run(record(course_images, image)["id"], ["sh", "-c", "id -u; id -g"], remove=True)
    assert out.decode().split() == [str(TEST_TEACHER.uid), str(TEST_TEACHER.gid)]


def test_records_name_tags_size_and_python(docker_client, course_images):
    for image in CHAIN:
        rec = record(course_images, image)
        tags = docker_client.images.get(rec["id"]).tags
        assert set(rec["tags"]) <= set(tags), (image, rec["tags"], tags)
        assert rec["size"] > 0 and rec["python"].startswith("3.11")


def test_no_wheel_remains_in_any_image(docker_client, course_images):
    for image in CHAIN[1:]:
        history = docker_client.api.history(record(course_images, image)["id"])
        assert not any("COPY wheels" in (h.get("CreatedBy") or "") for h in history), image
        out = docker_client.containers.run(record(course_images, image)["id"],
                                           ["sh", "-c", "find / -xdev -name '*.whl' 2>/dev/null | grep -v /usr/share/python-wheels || true"],
                                           remove=True)
        assert out.decode().strip() == "", (image, out)


def test_file_written_in_a_bind_mount_belongs_to_the_teacher(docker_client, course_images, tmp_path):
    folder = tmp_path / "s1234567"
    folder.mkdir()
    os.chown(folder, TEST_TEACHER.uid, TEST_TEACHER.gid)
    docker_client.containers.run(record(course_images, "course-notebook")["id"],
                                 ["sh", "-c", "echo hi > /home/datacamp/work/answer.txt"],
                                 volumes={str(folder): {"bind": "/home/datacamp/work", "mode": "rw"}}, remove=True)
    st = (folder / "answer.txt").stat()
    assert (st.st_uid, st.st_gid) == (TEST_TEACHER.uid, TEST_TEACHER.gid)


def test_server_needs_the_password_and_a_kernel_computes(notebook):
    container, url = notebook("course-notebook", password="s3cret-Passw0rd")
    assert requests.get(f"{url}/api/status", timeout=10).status_code == 403
    assert requests.get(f"{url}/api/contents", timeout=10).status_code == 403
    with pytest.raises(PermissionError):
        login(url, "wrong-password")
    session = login(url, "s3cret-Passw0rd")
    assert session.get(f"{url}/api/status", timeout=10).status_code == 200
    assert run_code(session, url, "6*7") == "42"
    # No token in URLs and no secret in the container's environment or command line.
    attrs = container.attrs
    assert "s3cret-Passw0rd" not in json.dumps(attrs)
    logs = container.logs().decode()
    assert "s3cret-Passw0rd" not in logs


def test_jupyterlab_does_not_call_home(notebook):
    _, url = notebook("base-notebook")
    session = login(url, "s3cret-Passw0rd")
    settings = session.get(f"{url}/lab/api/settings/@jupyterlab/apputils-extension:notification", timeout=10).json()
    defaults = {k: v["default"] for k, v in settings["schema"]["properties"].items()}
    assert defaults["fetchNews"] == "false" and defaults["checkForUpdates"] is False
    assert session.get(f"{url}/lab/api/news", timeout=10).json()["news"] == []
    assert session.get(f"{url}/lab/api/update", timeout=10).json()["notification"] is None


def test_activity_is_reported_inside_the_container(notebook):
    container, _ = notebook("base-notebook")
    code, out = container.exec_run(["nbfleet-activity"])
    assert code == 0, out
    activity = json.loads(out)
    assert activity["last_activity"] and activity["started"] and activity["kernels"] == 0


def test_docker_stop_takes_under_3_seconds(notebook):
    container, _ = notebook("base-notebook")
    start = time.monotonic()
    container.stop(timeout=10)
    assert time.monotonic() - start < 3.0
    container.reload()
    assert container.attrs["State"]["ExitCode"] in (0, 143), container.attrs["State"]


def test_pyspark_counts_a_dataframe_and_driver_memory_follows_the_limit(docker_client, course_images):
    code = (
        "from pyspark.sql import SparkSession\n"
        "s = SparkSession.builder.master('local[1]').getOrCreate()\n"
        "df = s.createDataFrame([(i, i % 3) for i in range(1000)], ['n', 'k'])\n"
        "print('COUNT', df.filter('k = 0').count())\n"
        "print('DRIVER', s.sparkContext.getConf().get('spark.driver.memory'))\n"
        "s.stop()\n"
    )
    out = docker_client.containers.run(record(course_images, "pyspark-notebook")["id"],
                                       ["start.sh", "python", "-c", code], mem_limit="1g", remove=True)
    lines = dict(line.split(" ", 1) for line in out.decode().splitlines() if line.startswith(("COUNT", "DRIVER")))
    assert lines["COUNT"] == "334"
    assert lines["DRIVER"] == f"{1024 * 60 // 100}m"  # 60 % of the container's 1 GiB limit


def test_a_too_large_spark_job_fails_with_sparks_error_not_the_oom_killer(docker_client, course_images):
    code = (
        "from pyspark.sql import SparkSession\n"
        "s = SparkSession.builder.master('local[1]').getOrCreate()\n"
        "try:\n"
        "    s.range(0, 20_000_000).selectExpr('id', \"repeat('x', 50) as pad\").groupBy().agg({'pad': 'collect_list'}).collect()\n"
        "    print('NO ERROR')\n"
        "except Exception as exc:\n"
        "    print('PYTHON SURVIVED', type(exc).__name__)\n"
    )
    container = docker_client.containers.run(record(course_images, "pyspark-notebook")["id"],
                                             ["start.sh", "python", "-c", code], mem_limit="1g", detach=True)
    try:
        assert container.wait(timeout=300)["StatusCode"] == 0
        container.reload()
        logs = container.logs().decode()
        assert not container.attrs["State"]["OOMKilled"]
        assert "PYTHON SURVIVED" in logs  # the job failed inside Python; the kernel process lived on
        assert "java.lang.OutOfMemoryError: Java heap space" in logs
    finally:
        container.remove(force=True)

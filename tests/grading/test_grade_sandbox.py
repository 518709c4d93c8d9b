"""Submissions that try to cheat or break things get the right grade, and nothing else happens (real sandboxes)."""

from __future__ import annotations

import hashlib
import html
import http.server
import ipaddress
import re
import threading

import pytest

from support.doit import ok
from support.doit import run as doit
from support.edits import add_cell, edit_cell, student_solves
from support.grading import autograded_points, grades, make_grading_course, sandboxes, state

pytestmark = [pytest.mark.docker, pytest.mark.slow]
A = "assignment1"
WRONG_MEDIAN = {"problem1.ipynb": ("statistics.median(", "statistics.mean(")}
BEFORE_TEST = "import statistics"  # the answer cell right before the mean/median test


class Listener:
    """An HTTP server on every address of this machine, counting requests (a sandbox must never reach it)."""

    def __init__(self):
        self.hits = []
        hits = self.hits

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                hits.append(self.path)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("0.0.0.0", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def page_text(path) -> str:
    """What a feedback page says, without its markup."""
    page = re.sub(r"<style.*?</style>", "", path.read_text(), flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", page)).split())


def snapshot(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and "feedback" not in p.parts and ".nbfleet" not in p.parts}


def test_cheats_and_breakages_cost_only_their_own_tests(tmp_path, course_images, docker_client):
    config = docker_client.networks.get("bridge").attrs["IPAM"]["Config"][0]  # a default bridge may not name its gateway
    gateway = config.get("Gateway") or str(next(ipaddress.ip_network(config["Subnet"]).hosts()))
    listener = Listener()
    cheats = ["assert-true", "deleted-test", "loop", "fork-bomb", "memory-hog", "shadow", "network", "write-outside",
              "read-other", "forger", "leaker"]
    course = make_grading_course(tmp_path / "course", course_images, roster=["honest", *cheats])
    ok(doit(course, f"release:{A}"))
    students = course / "students"
    nb = {sid: students / sid / A / "problem1.ipynb" for sid in ["honest", *cheats]}
    for sid in ["honest", "loop", "fork-bomb", "memory-hog", "shadow", "network", "write-outside", "read-other", "leaker"]:
        student_solves(course, sid)
    for sid in ["assert-true", "deleted-test", "forger"]:
        student_solves(course, sid, replace=WRONG_MEDIAN)
    edit_cell(nb["assert-true"], "### TEST mean_median", "### TEST mean_median: 2 points\nassert True")
    edit_cell(nb["deleted-test"], "### TEST mean_median", None)
    edit_cell(nb["loop"], BEFORE_TEST, "import statistics\n\n\ndef mean_temperature(rows):\n    return 28.8\n\n\n"
              "def median_temperature(rows):\n    while True:\n        pass")
    add_cell(nb["fork-bomb"], BEFORE_TEST, "import os\nwhile True:\n    os.fork()")
    add_cell(nb["memory-hog"], BEFORE_TEST, "hog = b' ' * (8 * 2**30)")
    add_cell(nb["shadow"], BEFORE_TEST, "import os\nprint('uid', os.getuid(), 'nets', sorted(os.listdir('/sys/class/net')))\n"
             "print([l for l in open('/proc/self/status') if l.startswith(('CapEff', 'NoNewPrivs'))])\n"
             "print(open('/etc/shadow').read())")
    add_cell(nb["network"], BEFORE_TEST, "import urllib.request\nfor host in ['%s', '127.0.0.1', 'deb.debian.org']:\n"  # noqa: UP031 - code with braces of its own
             "    try:\n        urllib.request.urlopen(f'http://{host}:%d/leak', timeout=3)\n        print('reached', host)\n"
             "    except Exception as exc:\n        print('no', host, type(exc).__name__)" % (gateway, listener.port))
    outside = [course / "evil", students / "honest" / "evil", tmp_path / "evil"]
    add_cell(nb["write-outside"], BEFORE_TEST, "import os\nfor path in %r + ['/home/datacamp/evil', '/in/evil', '/opt/nbfleet/evil', '/evil']:\n"
             "    try:\n        open(path, 'w').write('x')\n        print('wrote', path)\n    except OSError as exc:\n"
             "        print('no', path, exc.strerror)" % [str(p) for p in outside])
    add_cell(nb["read-other"], BEFORE_TEST, "for path in [%r, '/in/../students/honest/assignment1/problem1.ipynb']:\n"  # noqa: UP031 - code with braces of its own
             "    try:\n        print(open(path).read()[:20])\n    except OSError as exc:\n        print('no', exc.strerror)"
             % str(nb["honest"]))
    # forge the runner's answer: steal its key, write on the container's output, and from a process left running
    add_cell(nb["forger"], BEFORE_TEST, "for path in ['/proc/1/environ', '/proc/1/mem', '/job/problem1.ipynb', '/in/problem1.ipynb']:\n"
             "    try:\n        print(path, open(path, 'rb').read(4000))\n    except OSError as exc:\n"
             "        print('no', path, exc.strerror)")
    add_cell(nb["forger"], BEFORE_TEST, "import os, subprocess, sys\nfake = 'NBFLEET-RESULT ' + '0' * 64 + ' AAAA\\n'\n"
             "for fd in ['/proc/1/fd/1', f'/proc/{os.getppid()}/fd/1']:\n    try:\n        open(fd, 'w').write(fake)\n"
             "    except OSError as exc:\n        print('no', fd, exc.strerror)\nprint(fake)\n"
             "subprocess.Popen([sys.executable, '-c', 'import time\\nwhile True:\\n    print(%r, flush=True)\\n    time.sleep(0.05)' % fake])")
    # print the hidden tests after they ran: the kernel's own history has them
    add_cell(nb["leaker"], "### TEST mean_median", "print(In)\nimport linecache, warnings\nwarnings.warn(In[-2])")
    ok(doit(course, f"collect:{A}"))
    before = snapshot(students)

    out = ok(doit(course, f"grade:{A}", timeout=900))
    g = grades(course)
    totals = {sid: autograded_points(g[sid]) for sid in g}
    assert totals == {"honest": 4, "assert-true": 2, "deleted-test": 2, "loop": 2, "fork-bomb": 2, "memory-hog": 2,
                      "shadow": 4, "network": 4, "write-outside": 4, "read-other": 4, "forger": 2, "leaker": 4}, out
    s = state(course)
    why = {sid: s[sid]["tests"]["problem1/mean_median"]["why"] for sid in s}
    assert why["loop"] == "interrupted: ran longer than 8 s"
    assert why["assert-true"].startswith("AssertionError") and why["deleted-test"].startswith("AssertionError")
    assert "test 'mean_median': changed in the submission" in g["assert-true"]["notes"]
    assert "test 'mean_median': missing from the submission" in g["deleted-test"]["notes"]
    for sid in ("fork-bomb", "memory-hog"):
        assert "the kernel was killed: the sandbox ran out of memory" in g[sid]["notes"], g[sid]["notes"]

    # nothing else happened: no request reached this machine, no file was written outside a sandbox's own copy,
    # no student's folder changed (but for their feedback), no sandbox is left
    assert listener.hits == []
    assert not any(p.exists() for p in outside)
    assert snapshot(students) == before
    assert sandboxes(docker_client, course) == []
    feedback = {sid: page_text(students / sid / "feedback" / A / "problem1.html") for sid in cheats}
    assert "PermissionError: [Errno 13] Permission denied: '/etc/shadow'" in feedback["shadow"]
    assert "uid 17685226 nets ['lo']" in feedback["shadow"]  # the teacher's uid, no network but loopback
    assert "'CapEff:\\t0000000000000000\\n', 'NoNewPrivs:\\t1\\n'" in feedback["shadow"]
    assert all(f"no {host} URLError" in feedback["network"] for host in (gateway, "127.0.0.1", "deb.debian.org"))
    assert "wrote /" not in feedback["write-outside"] and "no /in/evil Read-only file system" in feedback["write-outside"]
    assert f"no {outside[1]} No such file or directory" in feedback["write-outside"]
    assert feedback["read-other"].count("no No such file or directory") == 2
    forger = feedback["forger"]
    assert "no /proc/1/environ Permission denied" in forger and "no /proc/1/mem Permission denied" in forger
    assert "no /job/problem1.ipynb No such file or directory" in forger and "no /in/problem1.ipynb No such file" in forger
    assert "an output that quoted a hidden test was removed" in feedback["leaker"]
    assert not any("median_temperature(rows) == 11.5" in page for page in feedback.values())
    listener.close()


def test_the_notebook_time_limit_stops_only_that_notebook(tmp_path, course_images, docker_client):
    course = make_grading_course(tmp_path / "course", course_images, roster=["slow"],
                                 grade={"cell_timeout": "3s", "notebook_timeout": "8s"})
    ok(doit(course, f"release:{A}"))
    student_solves(course, "slow")
    mine = course / "students" / "slow" / A / "problem1.ipynb"
    for _ in range(4):  # 3 + 3 + 2 s interrupted, the fourth runs into the notebook's 8 s
        add_cell(mine, BEFORE_TEST, "import time\ntime.sleep(5)")
    ok(doit(course, f"collect:{A}"))
    ok(doit(course, f"grade:{A}"))
    g = grades(course)["slow"]
    assert (g["problem1/load"], g["problem1/mean_median"], g["problem2/test_busiest"]) == (1, 0, 1)
    tests = state(course)["slow"]["tests"]
    assert tests["problem1/mean_median"]["why"] == "not run: the notebook's time limit (8 s) was reached"
    assert "interrupted: ran longer than 3 s" in g["notes"]
    assert sandboxes(docker_client, course) == []

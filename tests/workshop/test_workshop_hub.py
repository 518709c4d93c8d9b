"""Workshop mode for real: `doit workshop` starts JupyterHub, its proxy and a warm pool of visitor servers on the
local engine; visitors without accounts (HTTP clients and a real Chromium) get running JupyterLabs at once.

One workshop serves the whole module, in order: the pool filling (pool_refill servers starting at once), a visitor,
a browser, a returning visitor, twenty at once, the limits, a crash, full, the status table, a killed hub, an update
that shortens the idle timeout (idle visitors culled, the pool kept), and `doit workshop:stop`.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from nbfleet.servers.walls import networks, rules
from support.browser import chromium
from support.courses import random_course, read_record
from support.doit import run as doit
from support.engines import nbfleet_rules, port_block
from support.network import METADATA_IP, PUBLIC_IP, Outside, reach
from support.workshop import (
    Visitor,
    hub_log,
    hub_users,
    make_workshop_repo,
    most_at_once,
    remove_workshop,
    spawns,
    wait_for,
    workshop_objects,
    write_settings,
)

pytestmark = [pytest.mark.docker, pytest.mark.slow]

# Every visitor of these tests comes from this one machine, which is one client address to the hub: per_client lets
# them all in (test_workshop_abuse holds the cap).
SETTINGS = {"pool_size": 20, "max_visitors": 24, "memory": "384m", "cpus": 0.5, "idle_timeout": "10m",
            "pool_refill": 4, "per_client": 30}


@pytest.fixture(scope="module")
def workshop(course_images, docker_client, tmp_path_factory):
    tag = random_course()
    port = port_block(1)
    repo = make_workshop_repo(tmp_path_factory.mktemp("workshop") / "course", tag, course_images,
                              {**SETTINGS, "port": port})
    started = time.monotonic()
    result = doit(repo, "workshop", timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    ws = {"repo": repo, "tag": tag, "port": port, "url": f"http://localhost:{port}", "client": docker_client,
          "start_seconds": time.monotonic() - started, "visitors": {}, "said": result.stdout,
          "first_log": hub_log(docker_client, tag)}
    yield ws
    remove_workshop(docker_client, tag)


def visitors_of(ws) -> dict[str, dict]:
    return {u["name"]: u for u in hub_users(ws["repo"], ws["url"]) if "visitors" in u.get("groups", [])}


def container_of(ws, user: str):
    return ws["client"].containers.get(f"{ws['tag']}-workshop-{user}")


def test_the_pool_filled_with_pool_refill_servers_starting_at_once(workshop):
    # The hub's log: each of the 20 spawns from DockerSpawner's "Starting container" to the hub's "took N seconds".
    started = spawns(workshop["first_log"])
    assert len(started) >= 20
    assert most_at_once(started) == 4  # pool_refill at once: never one after the other, never more
    first, last = min(s for s, _ in started), max(e for _, e in started[:20])
    one = sorted(e - s for s, e in started)[len(started) // 2]
    assert last - first < 20 * one / 2, (last - first, one)  # far quicker than 20 starts one after the other
    # `doit workshop` said how far it was, and how long a start takes, while it waited
    said = [ln for ln in workshop["said"].splitlines() if "pool servers ready" in ln]
    assert said[-1].startswith("workshop: 20 of 20 pool servers ready") and "a server starts in" in said[-1]


def test_a_visitor_lands_on_jupyterlab_with_the_materials_and_three_languages(workshop):
    v = Visitor(workshop["url"])
    r = v.arrive()
    assert r.status_code == 200 and r.url.endswith("/lab"), (r.status_code, r.url)
    assert all(h.status_code in (301, 302, 303, 307) for h in r.history)  # redirects only, no page on the way
    assert "JupyterLab" in r.text
    home = {item["name"] for item in v.api("GET", "contents").json()["content"]}
    assert {"python.ipynb", "r.ipynb", "octave.ipynb", "README.md"} <= home
    assert v.run("6*7") == "42"
    assert v.run("6*7", kernel="ir") == "[1] 42"
    assert v.run("6*7", kernel="octave") == "ans = 42"
    workshop["visitors"]["first"] = v


def test_a_real_browser_gets_jupyterlab_and_runs_a_cell(workshop):
    with chromium() as browser:
        page = browser.new_page()
        page.goto(f"{workshop['url']}/")
        page.wait_for_selector("#jp-main-dock-panel", timeout=60_000)
        assert "/user/visitor" in page.url and page.url.split("?")[0].endswith("/lab")
        page.goto(page.url.split("/lab")[0] + "/lab/tree/python.ipynb")
        page.wait_for_selector("text=Python 3 (ipykernel) | Idle", timeout=60_000)
        cell = page.locator(".jp-Notebook .jp-CodeCell").nth(1)  # "6 * 7"
        cell.locator(".cm-content").click()
        page.keyboard.press("Shift+Enter")
        output = cell.locator(".jp-OutputArea-output")
        output.wait_for(timeout=60_000)
        assert output.inner_text().strip() == "42"


def test_a_returning_visitor_gets_their_own_server_back(workshop):
    v = workshop["visitors"]["first"]
    before = container_of(workshop, v.user).id
    user = v.user
    r = v.arrive()
    assert r.status_code == 200 and v.user == user
    assert container_of(workshop, user).id == before
    assert v.run("6*7") == "42"


def test_visitors_are_walled_from_each_other_and_reach_the_hub_only_as_jupyterhub_needs(workshop, tiny_image):
    client, net = workshop["client"], f"{workshop['tag']}-workshop"
    a, b = Visitor(workshop["url"]), Visitor(workshop["url"])
    assert a.arrive().status_code == 200 and b.arrive().status_code == 200
    ca, cb = container_of(workshop, a.user), container_of(workshop, b.user)

    def address(name: str) -> str:
        return client.api.inspect_container(name)["NetworkSettings"]["Networks"][net]["IPAddress"]

    hub, proxy = address(f"{workshop['tag']}-workshop-hub"), address(f"{workshop['tag']}-workshop-proxy")
    outside = Outside().start()
    try:
        control = client.containers.run(tiny_image["tag"], detach=True, remove=True)
        try:  # outside the walls the listeners answer: the blocks below are the walls' doing
            assert reach(client, control.name, PUBLIC_IP, 8080) and reach(client, control.name, METADATA_IP, 80)
        finally:
            control.remove(force=True)
        assert not reach(client, ca.name, address(cb.name), 8888), "visitor to visitor"
        assert not reach(client, ca.name, proxy, 8001), "the proxy's API would let a visitor reroute the others"
        assert reach(client, ca.name, hub, 8081), "the hub's API, which a visitor's server reports to"
        assert not reach(client, ca.name, METADATA_IP, 80) and not reach(client, ca.name, outside.private_ip, 80)
        assert reach(client, ca.name, PUBLIC_IP, 443) and not reach(client, ca.name, PUBLIC_IP, 8080)  # web only
    finally:
        outside.stop()
    assert a.run("6*7") == "42" and b.run("1+1") == "2", "both still work through the proxy"


def test_twenty_visitors_arriving_together_each_get_their_own_server(workshop):
    wait_for("the pool refilled", lambda: sum(1 for u in hub_users(workshop["repo"], workshop["url"])
                                              if "pool" in u["groups"] and (u["servers"].get("") or {}).get("ready")) >= 20,
             timeout=300)
    crowd = [Visitor(workshop["url"]) for _ in range(20)]

    def arrive(v):
        start = time.monotonic()
        r = v.arrive()
        return r.status_code, time.monotonic() - start

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(arrive, crowd))
    assert all(code == 200 for code, _ in answers), answers
    users = {v.user for v in crowd}
    assert len(users) == 20 and workshop["visitors"]["first"].user not in users
    containers = {container_of(workshop, u).id for u in users}
    assert len(containers) == 20  # no two visitors share a container
    # none can see another's files: not in their own home, not through the other's URL
    a, b = crowd[0], crowd[1]
    assert a.api("PUT", "contents/secret.txt", json={"type": "file", "format": "text", "content": "a's"}).status_code == 201
    assert "secret.txt" not in {i["name"] for i in b.api("GET", "contents").json()["content"]}
    stolen = b.session.get(f"{a.base}/api/contents/secret.txt", timeout=30)
    assert stolen.status_code != 200 and "a's" not in stolen.text
    workshop["visitors"]["crowd"] = crowd
    workshop["crowd_seconds"] = sorted(s for _, s in answers)


def test_a_visitors_container_is_limited_and_unprivileged(workshop):
    v = workshop["visitors"]["first"]
    c = container_of(workshop, v.user)
    host = c.attrs["HostConfig"]
    assert host["Memory"] == 384 * 1024**2
    assert host["CpuQuota"] == 50_000 and host["CpuPeriod"] == 100_000  # half a CPU
    assert host["PidsLimit"] == 512
    assert "no-new-privileges" in host["SecurityOpt"] and host["CapDrop"] == ["ALL"]
    assert c.attrs["Config"]["User"] not in ("", "0", "root")
    assert "docker.sock" not in json.dumps(c.attrs["Mounts"]) + json.dumps(host.get("Binds"))
    code, out = c.exec_run(["sh", "-c", "id -u; grep CapEff /proc/self/status; ls /var/run/docker.sock 2>&1"])
    lines = out.decode().split("\n")
    assert lines[0] != "0" and lines[1].split()[1] == "0000000000000000" and "No such file" in lines[2]


def test_a_visitor_whose_server_crashed_gets_a_new_one_on_reload(workshop):
    v = workshop["visitors"]["first"]
    lost = v.user
    container_of(workshop, lost).kill()

    def reload():
        r = v.arrive()
        return r.status_code == 200 and v.user != lost

    wait_for("a new server after the crash", reload, timeout=90, every=2)
    assert v.run("6*7") == "42"


def test_a_full_workshop_says_so_at_once(workshop):
    live = len(visitors_of(workshop))
    extra = []
    for _ in range(24 - live):  # take every place that is left
        v = Visitor(workshop["url"])
        assert v.arrive(timeout=90).status_code == 200
        extra.append(v)
    assert len(visitors_of(workshop)) == 24
    late = Visitor(workshop["url"])
    start = time.monotonic()
    r = late.arrive()
    assert time.monotonic() - start < 5  # an answer, not a hang
    assert r.status_code == 429 and r.headers["Retry-After"] == "60"
    assert "The workshop is full" in r.text and "try again in a minute" in r.text
    api = late.session.get(f"{workshop['url']}/hub/workshop", headers={"Accept": "application/json"}, timeout=10)
    assert api.status_code == 429 and "full" in api.json()["message"]
    workshop["visitors"]["extra"] = extra


def test_doit_workshop_status_shows_visitors_pool_age_idle_and_memory(workshop):
    result = doit(workshop["repo"], "workshop:status")
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "24 of 24 visitors" in out
    first = workshop["visitors"]["first"].user
    line = next(ln for ln in out.splitlines() if first in ln)
    assert "visitor" in line and "MiB" in line
    assert line.count("m ") >= 2  # age and idle time, e.g. "0m 12s"


def test_a_killed_hub_comes_back_with_doit_workshop_and_visitors_keep_their_servers(workshop):
    v = workshop["visitors"]["first"]
    user, container = v.user, container_of(workshop, v.user).id
    workshop["client"].containers.get(f"{workshop['tag']}-workshop-hub").kill()
    result = doit(workshop["repo"], "workshop", timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    r = v.arrive()
    assert r.status_code == 200 and v.user == user
    assert container_of(workshop, user).id == container
    assert v.run("6*7") == "42"


def new_materials_image(client, record: dict) -> dict:
    """The visitors' image as `doit images` makes it after a change of the materials: one more file in the home."""
    import io

    dockerfile = f"FROM {record['id']}\nRUN echo 'day two' > /home/{record['nb_user']}/day2.md\n"
    image, _ = client.images.build(fileobj=io.BytesIO(dockerfile.encode()), rm=True)
    return {**record, "id": image.id, "tags": [record["tags"][0], f"{record['tags'][0].split(':')[0]}:{image.id[7:19]}"]}


def test_an_update_keeps_visitors_renews_the_pool_and_culls_only_idle_visitors(workshop):
    # The update: new materials (a new visitors' image), a short idle timeout and more places. The hub is
    # recreated, visitors keep their servers, the pool is started anew from the new image; then every visitor
    # (idle from here on) is culled while the servers waiting in the pool stay, and the pool refills.
    repo, client = workshop["repo"], workshop["client"]
    first = workshop["visitors"]["first"]
    kept = container_of(workshop, first.user).id
    old = json.loads((repo / "build" / "images" / "workshop-notebook.json").read_text())
    new = new_materials_image(client, old)
    (repo / "build" / "images" / "workshop-notebook.json").write_text(json.dumps(new))
    write_settings(repo, {**SETTINGS, "port": workshop["port"], "idle_timeout": "20s", "max_visitors": 30})
    working = threading.Event()
    working.set()

    def keep_working():  # the first visitor goes on working through the update (the others are idle)
        while working.is_set():
            first.api("GET", "contents")
            time.sleep(2)

    worker = threading.Thread(target=keep_working, daemon=True)
    worker.start()
    try:
        result = doit(repo, "workshop", timeout=600)
        out = result.stdout + result.stderr
        assert result.returncode == 0 and "hub recreated" in out and "proxy" not in out, out
        assert container_of(workshop, first.user).id == kept  # a working visitor keeps their server
    finally:
        working.clear()
        worker.join()

    def waiting() -> dict[str, str]:
        users = hub_users(repo, workshop["url"])
        return {u["name"]: container_of(workshop, u["name"]).image.id for u in users
                if "pool" in u["groups"] and (u["servers"].get("") or {}).get("ready")}

    pool = wait_for("the pool renewed from the new image",
                    lambda: (w := waiting()) and len(w) >= 6 and set(w.values()) == {new["id"]} and w, timeout=300)
    culled_at = wait_for("every idle visitor culled", lambda: not visitors_of(workshop) and time.monotonic(),
                         timeout=120, every=2)
    crowd = {f"{workshop['tag']}-workshop-{v.user}" for v in workshop["visitors"]["crowd"]}
    assert not [c for c in client.containers.list(all=True) if c.name in crowd]  # removed, not just stopped
    for name in pool:  # the pool's servers were never culled
        assert container_of(workshop, name).image.id == new["id"]
    wait_for("the pool refilled to pool_size", lambda: len(waiting()) == 20, timeout=300, every=2)
    fresh = Visitor(workshop["url"])
    assert fresh.arrive().status_code == 200
    assert "day2.md" in {i["name"] for i in fresh.api("GET", "contents").json()["content"]}
    assert culled_at


def test_doit_workshop_stop_removes_the_workshop_and_nothing_else(workshop, docker_client):
    tag = workshop["tag"]
    record = read_record(workshop["repo"], "workshop-hub")
    classroom = docker_client.containers.run(record["id"], ["sleep", "300"], detach=True, entrypoint=[],
                                             name=f"{tag}-s1234567", labels={"nbfleet.course": tag})
    try:
        assert workshop_objects(docker_client, tag)
        walls = rules.prefix(networks.engine_id(docker_client), f"{tag}-workshop")
        assert any(line.startswith("-A DOCKER-USER ") for line in nbfleet_rules(walls)), "the walls are up"
        result = doit(workshop["repo"], "workshop:stop")
        assert result.returncode == 0, result.stdout + result.stderr
        assert workshop_objects(docker_client, tag) == []
        assert nbfleet_rules(walls) == [], "its rules left the host's firewall with it"
        assert not docker_client.containers.list(all=True, filters={"name": f"{tag}-workshop"})
        classroom.reload()
        assert classroom.status == "running"
    finally:
        classroom.remove(force=True)

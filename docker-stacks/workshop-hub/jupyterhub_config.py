# The workshop hub's configuration. nbfleet writes the workshop's settings (course.toml [workshop], the visitors'
# image, the names of the network and containers) as JSON into NBFLEET_WORKSHOP; secrets come as their own
# variables. Everything else is fixed here, so the same image serves any course.
import json
import os
import sys

c = get_config()  # noqa: F821 - provided by traitlets when the file is loaded
w = json.loads(os.environ["NBFLEET_WORKSHOP"])
pool = w["pool_size"] > 0
here = "/srv/jupyterhub"  # the workshop's volume: a restarted hub remembers its visitors

c.JupyterHub.db_url = f"sqlite:///{here}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = f"{here}/jupyterhub_cookie_secret"
c.JupyterHub.pid_file = f"{here}/jupyterhub.pid"

# The proxy is a container of its own (it keeps visitors' routes while the hub restarts).
c.JupyterHub.hub_ip = "0.0.0.0"
c.JupyterHub.hub_connect_ip = w["hub_host"]
c.ConfigurableHTTPProxy.should_start = False
c.ConfigurableHTTPProxy.api_url = w["proxy_api"]
c.JupyterHub.cleanup_servers = False  # a hub restart must not end the visitors' servers
c.JupyterHub.cleanup_proxy = False
c.JupyterHub.template_paths = ["/opt/nbfleet_hub/nbfleet_hub/templates"]
c.JupyterHub.last_activity_interval = w["activity_interval"]
c.JupyterHub.active_server_limit = w["max_visitors"]
c.JupyterHub.concurrent_spawn_limit = max(w["max_visitors"], 1)

if pool:
    c.JupyterHub.authenticator_class = "nbfleet_hub.login.PoolAuthenticator"
    c.JupyterHub.default_url = "/hub/workshop"
    # Only the pool keeper starts servers here: a start answers at once (202) and the spawn goes on in the background,
    # so the keeper's pool_refill starts of a round run together instead of one after the other.
    c.JupyterHub.tornado_settings = {"slow_spawn_timeout": 0}
else:  # no pool: plain JupyterHub with a temporary user per visitor, whose server starts when they arrive
    c.JupyterHub.authenticator_class = "tmp"
    c.TmpAuthenticator.allow_all = True  # needed on JupyterHub 6 (tmpauthenticator 1.0.0)
c.JupyterHub.load_groups = {"pool": {}, "visitors": {}}

c.JupyterHub.spawner_class = "docker"
c.DockerSpawner.image = w["image"]
c.DockerSpawner.pull_policy = "never"  # images come from `doit images`, never from a registry
c.DockerSpawner.network_name = w["network"]
c.DockerSpawner.use_internal_ip = True
c.DockerSpawner.remove = True
c.DockerSpawner.prefix = w["name"]
c.DockerSpawner.name_template = "{prefix}-{username}"
c.DockerSpawner.mem_limit = w["memory"]
c.DockerSpawner.cpu_limit = w["cpus"]
c.DockerSpawner.extra_host_config = {
    "security_opt": ["no-new-privileges"],
    "cap_drop": ["ALL"],
    "pids_limit": w["pids"],
}
c.DockerSpawner.extra_create_kwargs = {"labels": {**w["labels"], "nbfleet.workshop.visitor": "{username}"}}
c.DockerSpawner.environment = {"JUPYTERHUB_ACTIVITY_INTERVAL": str(w["activity_interval"])}
c.Spawner.default_url = "/lab"
c.Spawner.poll_interval = w["poll_interval"]
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 60

env = {"NBFLEET_WORKSHOP": os.environ["NBFLEET_WORKSHOP"], "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
culler = [sys.executable, "-m", "nbfleet_hub.culler", f"--timeout={int(w['idle_timeout'])}",
          f"--cull-every={int(w['cull_every'])}", "--cull-users=True"]
if w["max_age"]:
    culler.append(f"--max-age={int(w['max_age'])}")
c.JupyterHub.services = [
    {"name": "idle-culler", "command": culler, "environment": env},
    {"name": "nbfleet", "api_token": os.environ["NBFLEET_STATUS_TOKEN"]},  # `doit workshop:status`, read-only
]
# The culler sees only visitors: a server waiting in the pool is invisible to it, so it can never be culled.
seen = "!group=visitors" if pool else ""
c.JupyterHub.load_roles = [
    {"name": "idle-culler", "services": ["idle-culler"],
     "scopes": [f"list:users{seen}", f"read:users:activity{seen}", f"read:servers{seen}",
                f"delete:servers{seen}", f"admin:users{seen}"]},
    {"name": "nbfleet-status", "services": ["nbfleet"],
     "scopes": ["list:users", "read:users", "read:users:activity", "read:servers", "read:groups"]},
]
if w["busy_limit"]:  # a visitor's server at its whole CPU quota that long is stopped, like an idle one
    c.JupyterHub.services.append(
        {"name": "busy-culler", "command": [sys.executable, "-m", "nbfleet_hub.busy"], "environment": env})
    c.JupyterHub.load_roles.append(
        {"name": "busy-culler", "services": ["busy-culler"],
         "scopes": [f"list:users{seen}", f"read:servers{seen}", f"delete:servers{seen}"]})
if pool:
    c.JupyterHub.services.append(
        {"name": "pool-keeper", "command": [sys.executable, "-m", "nbfleet_hub.keeper"], "environment": env})
    c.JupyterHub.load_roles.append(
        {"name": "pool-keeper", "services": ["pool-keeper"],
         "scopes": ["admin:users", "admin:servers", "list:users", "read:users", "groups"]})

# The hub's database is SQLite on the workshop's volume, and JupyterHub writes to it on nearly every request, inside
# its one event loop. Write-ahead logging without an fsync per commit keeps a room arriving at once from queueing
# behind the disk (a crash can lose the last moments of activity times, never the database).
from sqlalchemy import event  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(connection, _record):
    if type(connection).__module__.startswith("sqlite3"):
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

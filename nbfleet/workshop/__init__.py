"""Workshop: JupyterHub with a warm pool of servers for visitors without accounts (``doit workshop``).

In: ``course.toml`` [workshop], the workshop-notebook and workshop-hub images (``doit images``), the workshop host's
engine. Out: a proxy, a hub and a pool of visitor servers on a Docker network of the workshop's own, a URL to share,
and who is using it now.

    plan      what the workshop host runs, from the settings (pure)
    host      the workshop's host, its URL, its tokens, and the engine calls the workshop makes
    hub_api   JupyterHub's REST API as the workshop reads it
    service   start, update and remove the workshop
    warmup    the pool's warm-up as `doit workshop` follows it: progress, start times, when it has failed (pure)
    report    who uses it: visitors, pool servers, age, idle time, memory

The hub's own parts (the warm-pool login with its per-client cap, the pool keeper, the idle culler's wrapper and the
busy culler) live in ``docker-stacks/workshop-hub/nbfleet_hub``, inside the hub image.
"""

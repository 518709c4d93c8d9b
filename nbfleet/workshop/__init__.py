"""Workshop mode: JupyterHub with a warm pool of servers for visitors without accounts (``doit workshop``).

``plan`` turns course.toml's [workshop] into what the workshop host should run (pure), ``service`` starts,
updates and removes it through the Docker engine, ``report`` tells who is using it. The hub's own parts (the
warm-pool login and the pool keeper) live in ``docker-stacks/workshop-hub/nbfleet_hub``, inside the hub image.
"""

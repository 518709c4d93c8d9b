"""Servers: one Jupyter server per student on the lab servers, started, kept to their settings, stopped, reported.

In: the roster and ``hosts`` (``nbfleet.roster``), the launch image's record (``nbfleet.images``), ``course.toml``.
Out: ``build/launch/<host>.json`` (what each host should run, with password hashes, never passwords), the servers
themselves on each host's Docker engine (plain containers or Swarm services), and what they are doing now
(``build/status.html``).

    manifest     build/launch/<host>.json: written, read, and each server's spec with its hash
    plan         desired against actual: one step per server (pure)
    launch       a host's plan applied through its backend, until every server answers
    backends/    the one seam every operation on a student's server goes through: containers, swarm (+ registry)
    engine       one Docker engine: connect, move an image, list, exec, make folders
    activity     what Jupyter inside says about its use: is the student working right now?
    ready        wait until servers answer over HTTP
    status       every server's state, uptime, activity and memory, one row per student
    status_page  the rows as a teacher reads them, and build/status.html
"""

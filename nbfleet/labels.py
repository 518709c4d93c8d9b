"""The labels nbfleet puts on every student's server (container or Swarm service), in one place.

A server is found by its course label, matched to a roster line by its student label, and recreated only when
its settings-hash label differs from the manifest's. A Swarm node carries ``HOST`` set from ``hosts``.
"""

COURSE = "nbfleet.course"
STUDENT = "nbfleet.student"
ADMIN = "nbfleet.admin"
HASH = "nbfleet.settings-hash"
HOST = "nbfleet.host"  # on a service: the host it is pinned to; on a Swarm node: the hosts line it is
GRADING = "nbfleet.grading"  # on a grading sandbox: "<course>/<assignment>" (never COURSE: it is not a server)

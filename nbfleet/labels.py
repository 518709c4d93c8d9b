"""Every label nbfleet puts on (or reads from) a Docker object, in one place.

A student's server (a container or a Swarm service) is found by its course label, matched to a roster line by its
student label, and recreated only when its settings-hash label differs from the manifest's. A Swarm node carries
``HOST`` set from ``hosts``. Helpers, grading sandboxes and the workshop's objects have labels of their own, never
``COURSE``: none of them is ever taken for a student's server.
"""

# a student's server
COURSE = "nbfleet.course"
STUDENT = "nbfleet.student"
ADMIN = "nbfleet.admin"
HASH = "nbfleet.settings-hash"  # also on the workshop's hub and proxy: a changed setting recreates that container
HOST = "nbfleet.host"  # on a service: the host it is pinned to; on a Swarm node: the hosts line it is

# short-lived containers that are not servers
HELPER = "nbfleet.helper"  # "folders": makes students' folders, or runs nbfleet's delivery and collect on a host
HELPER_COURSE = "nbfleet.helper.course"  # the course a folder helper works for
GRADING = "nbfleet.grading"  # on a grading sandbox: "<course>/<assignment>"

# the workshop (hub, proxy, visitors, network, volume)
WORKSHOP = "nbfleet.workshop"  # the course tag
WORKSHOP_ROLE = "nbfleet.workshop.role"  # hub, proxy, visitor, network, hub-data, walls (the keeper of its rules)

# Docker's own, on the containers Swarm runs for a service
SWARM_TASK = "com.docker.swarm.task.id"
SWARM_SERVICE = "com.docker.swarm.service.name"

# the walls between students (servers.walls): the course's networks on an engine, and the helper that keeps the rules
WALLS = "nbfleet.walls"  # on a network and on the keeper of its rules: the course tag
EGRESS = "nbfleet.egress"  # on a network: its egress policy, in canonical form
EXAM = "nbfleet.exam"  # on a student's server during an exam: the assignment

"""What runs inside containers, with only the standard library and what the course image ships.

In: a job (the environment, or ``/job``), files mounted or shipped into the container. Out: one line on the
container's log that nbfleet reads back.

    grade_runner   PID 1 of a grading sandbox: runs one submission's notebooks (the image's nbclient), signs its answer
    folder_helper  a helper on a host with a disk of its own: nbfleet's delivery and collect there

Nothing here is imported by the rest of nbfleet: these files are mounted or shipped into containers. This file
imports nothing, so that a helper can load the package alone.
"""

"""Delivery: an assignment's files (or a student's own feedback) into every student's folder, never destroying a
student's work.

Three inputs decide what happens to each student's copy of each released file (a 3-way comparison):
the released version now (``build/stripped/<a>/<file>``), the version nbfleet last delivered to that student
(the ledger), and what is on the student's disk now.

- missing, nothing delivered before: ``new``, copy it;
- missing, delivered before: ``deleted-by-student``, left alone unless the teacher asks ``--restore`` (``restore``);
- equal to the released version now: ``unchanged``;
- equal to what was delivered last, or to any version ever released (no work of the student's in it): ``update``;
- changed by the student, and what they got is still the released version: ``edited-by-student``, nothing to do;
- anything else, also a symlink, a folder or a FIFO: ``conflict``: the student's file is never touched; the new
  version goes beside it as ``<stem>.released-<revision><suffix>`` and the teacher sees it in a table.

The ledger (one JSON file per assignment) lives at ``<students>/.nbfleet/ledger/<a>.json``, beside the folders it
describes and not under ``build/``: it is part of the state of the students folder (back it up, move it, restore
it together), wiping ``build/`` must not make every student's file look edited, and no student can reach it (a
student container mounts only ``<students>/<id>``; ids never start with a dot). It holds, per file, the list of
released versions (their hashes; the revision number of a version is its place in that list, the same for every
student), and per student and file the hash delivered last, the hash offered beside a conflict, and a stat
fingerprint of what was on disk so that a re-run reads only files whose inode, size, mtime or ctime changed.
Like git's index, a fingerprint is only trusted when the file's ctime is older than the moment it was taken by a
margin (``RACY_NS``): an edit in the same clock tick as our look at the file cannot hide behind it.

Safety, because a student controls the inside of their folder and nbfleet may run as root: every path below
``<students>/<id>`` is opened component by component relative to a directory descriptor with ``O_NOFOLLOW``
(a planted symlink is never followed, to read or to write), files are read with ``O_NONBLOCK`` (a planted FIFO
cannot hang a release), and only regular files are ever replaced. Writes go to a temporary file in the same
folder (``.nbfleet-partial.*``), are made durable (``syncfs`` once per batch of students, which is what makes a
release as fast as the ``cp`` loop it replaces; ``fsync`` per file where ``syncfs`` is missing), and only then
renamed over (update) or hard-linked to (new file, restore, beside copy: fails instead of replacing anything that
appeared meanwhile). Just before a rename the student's file is checked again against what was hashed.
A killed release leaves only temporary files, which the next run removes, and the ledger only records what
was committed; a file found already equal to the released version is adopted, so a re-run completes the job.


    decide   the 3-way decision for one file and one student, and the report of a delivery (pure)
    ledger   what was delivered to whom, beside the students' folders
    apply    the delivery itself: safe reads, temporary files, one sync per batch, commit, ledger

Standard library only, as ``nbfleet.fs`` and ``nbfleet.errors`` it uses: this package also runs inside helper
containers on hosts with a disk of their own (``nbfleet.inside.folder_helper``). This file imports nothing, so that
the helper can load its modules alone.
"""

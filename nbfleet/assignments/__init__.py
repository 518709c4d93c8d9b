"""Assignments: the teacher's notebooks, stripped of their solutions, into every student's folder and back.

In: ``course/solutions/<a>/`` (the teacher's source, with solutions), the roster and ``hosts`` (where each student's
folder is), ``course.toml`` [release] and [collect]. Out: ``build/stripped/<a>/`` (the student version, passed by the
leak guard: never a solution line), each student's copy in ``students/<id>/<a>/`` (a file a student changed is never
touched: the new version lands beside it), and ``build/submissions/<a>/`` (every student's copy, snapshotted, late
work flagged).

    files          which assignments there are, which files students get, under what name
    notebook_file  reading and writing one notebook file
    notebooks/     a teacher's notebook -> a student's: markers, stubs, strip, leak guard, table of contents (pure)
    strip          the stripping step: build/stripped/<a>/ and the guard's record of it
    deliver/       the 3-way delivery into students' folders: decide, ledger, apply
    collect        every student's copy into build/submissions/<a>/
    pack           a student's folder as one tar and back, when it follows them to another host
    helper         a helper container on a host with a disk of its own, running nbfleet's delivery and collect there
    host_folders   where each student's folder is, and which hosts share this machine's folder
    classroom      release, collect and feedback for the whole class: one fan-out to every host

This file imports nothing: helper containers load the package's delivery and collect modules alone.
"""

"""Grading: every collected submission's tests run in a sandbox of its own; the grades as tables; feedback for each.

In: ``build/submissions/<a>/`` (``doit collect``), the teacher's notebooks in ``course/solutions/<a>/`` (tests, hidden
tests, points), the course image, ``course.toml`` [grade], the teacher's own scores (``grades/overrides.csv``). Out:
``build/grades/<a>.csv`` and ``build/grades/gradebook.csv``, and feedback pages delivered into each student's
``feedback/<a>/`` (never over a file of theirs).

    cells      which cells grade what: the teacher's tests, read-only cells and points (pure)
    restore    the notebook to run: the submission with the teacher's cells put back (pure)
    sandbox    one locked-down container per submission (``inside.grade_runner`` runs in it)
    score      the points each graded cell earned, by nbgrader's rules (pure)
    hidden     what a student may see of hidden tests (pure)
    feedback   the executed notebook with its results, as one safe HTML page
    teacher    the teacher's side of an assignment and its fingerprint
    run        one submission: restore, run, score, feedback page
    grade      ``doit grade:<a>``: what changed, in parallel; tables; feedback delivered
    gradebook  the tables (pandas), with the teacher's overrides over them
"""

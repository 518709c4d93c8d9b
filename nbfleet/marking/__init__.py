"""Marking by hand: ``doit mark:<a>``, a local page where a person gives points and comments, question by question.

In: an assignment graded by ``doit grade:<a>`` (``build/grades/.state/<a>.json``, ``build/submissions/<a>/``), the
teacher's notebooks (which answers a person marks), ``grades/overrides.csv``. Out: rows of ``grades/overrides.csv``
(one per mark), and the tables that follow from them (``build/grades/<a>.csv``, ``gradebook.csv``, the LMS files),
written without running a sandbox.

    questions  what a person marks, and every autograded test to review (pure)
    answers    each student's cells for one question, from their submission (pure)
    render     those cells as safe HTML (markdown, code, outputs, images; nothing runs)
    marks      the overrides file: one mark changed at a time, atomically, other writers' rows kept
    book       one assignment's questions, answers grouped when identical, and the marks over them
    server     the page and its JSON API, behind a token
"""

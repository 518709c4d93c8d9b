"""What the tests share: the repository's paths, one doit runner, one course builder (with nbfleet's own writers), real
engines, sshd and registries, and the helpers of each stage's tests. Loaded as pytest plugins by ``tests/conftest.py``;
tests import helpers from here, never from ``conftest`` or from another test module.

    repo      where the repository, the shared conformance cases and the test course are
    doit      run doit in a course as a teacher does; a course's dodo.py (the repository's, with fewer tasks)
    courses   course folders: the sample, the built test course, and new ones written with nbfleet's writers
    engines   Docker engines (this machine's, a second one, one in its own network namespace), sshd, a registry
    jupyter   a student's browser: log in, use the REST API and a kernel
    edits     what students and teachers change in the sample assignment
    grading   a course to grade, and reading its grades
    nbgrader  nbgrader from PyPI and submissions of its user-guide problem set
    workshop  a workshop course, and visitors without an account
"""

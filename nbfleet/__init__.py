"""nbfleet: run Jupyter for a whole class on a handful of lab servers, from one course repository and doit.

The packages are the stages of the pipeline (docs/architecture.md has the data flow and one line per module):
``images`` -> ``roster`` -> ``servers`` -> ``assignments`` -> ``grading``, and ``workshop``; ``inside`` holds what
runs inside containers, ``tasks`` the doit task creators; ``settings``, ``paths``, ``fs``, ``threads``, ``labels`` and
``errors`` are the ground they stand on. This file imports nothing: helper containers load parts of the package alone.
"""

__version__ = "0.1.0"

"""nbgrader from PyPI, and submissions of its user-guide problem set (ps1): the same files go to nbgrader and nbfleet."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

NBGRADER = "nbgrader==0.9.6"


def ensure_nbgrader(venv: Path) -> Path:
    """nbgrader in a virtual environment of its own at ``venv`` (its pins must not move nbfleet's), installed once."""
    stamp = venv / ".installed"
    if not stamp.is_file() or stamp.read_text() != NBGRADER:
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        got = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", NBGRADER, "ipykernel"], capture_output=True, text=True)
        if got.returncode != 0:
            raise RuntimeError(f"cannot install {NBGRADER} from PyPI:\n{got.stdout[-3000:]}\n{got.stderr[-3000:]}")
        stamp.write_text(NBGRADER)
    return venv

SQUARES = '''def squares(n):
    """Compute the squares of numbers from 1 to n."""
    if n < 1:
        raise ValueError("n must be greater than or equal to 1")
    return [i ** 2 for i in range(1, n + 1)]'''
SQUARES_NO_CHECK = '''def squares(n):
    return [i ** 2 for i in range(1, n + 1)]'''
SQUARES_NOISY = '''import sys
def squares(n):
    print("computing squares", file=sys.stderr)
    if n < 1:
        raise ValueError("n must be greater than or equal to 1")
    return [i ** 2 for i in range(1, n + 1)]'''
SUM = '''def sum_of_squares(n):
    return sum(squares(n))'''
SUM_OWN = '''def sum_of_squares(n):
    return sum(i * i for i in range(1, n + 1))'''
ANSWERS = {"part-a": "It computes Fibonacci numbers recursively.", "part-b": "Negative inputs recurse forever.",
           "sum_of_squares_equation": "$\\\\sum_{i=1}^n i^2$",
           "sum_of_squares_application": "def pyramidal_number(n):\n    return sum_of_squares(n)"}

STUDENTS = {
    "correct": {"squares": SQUARES, "sum_of_squares": SUM, **ANSWERS},
    "wrong": {"squares": SQUARES_NO_CHECK, "sum_of_squares": SUM_OWN},
    "empty": {},
    "noisy": {"squares": SQUARES_NOISY, "sum_of_squares": SUM},
    "cheat": {"squares": SQUARES_NO_CHECK, "sum_of_squares": SUM_OWN,
              "correct_squares": "assert True", "squares_invalid_input": "assert True",
              "correct_sum_of_squares": "assert True", "sum_of_squares_uses_squares": "assert True"},
}


def write_submission(released: Path, dest: Path, answers: dict[str, str]) -> None:
    """Copy the released problem set into ``dest`` with ``answers`` (grade id -> source) written into its cells."""
    dest.mkdir(parents=True, exist_ok=True)
    for path in sorted(released.iterdir()):
        if path.suffix != ".ipynb":
            (dest / path.name).write_bytes(path.read_bytes())
            continue
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            gid = (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id")
            if gid in answers:
                cell["source"] = answers[gid]
        (dest / path.name).write_text(json.dumps(nb, indent=1))

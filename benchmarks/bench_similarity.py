"""The similarity report (grading.similarity) for 300 submissions of the sample assignment: its stripped notebooks as
released, each student's answers written into the stub cells (varied, as a class's are), two copied pairs among them.

Naive: copydetect's own all-pairs loop (every pair compared in full), on the same fingerprints.
"""

from __future__ import annotations

import json
import random
import shutil
import tempfile
import time
from itertools import combinations
from pathlib import Path

from nbfleet.grading import similarity
from support.courses import copy_sample
from support.doit import run as doit

SNIPPETS = [
    "rows = []\nwith open(path) as fh:\n    for line in fh:\n        rows.append(line.strip().split(','))\n",
    "import csv\nwith open(path, newline='') as fh:\n    return list(csv.DictReader(fh))\n",
    "values = sorted(float(r['{c}']) for r in rows)\nmiddle = len(values) // 2\n",
    "total = 0\nfor r in rows:\n    total += float(r['{c}'])\nmean = total / len(rows)\n",
    "import statistics\nreturn statistics.mean(x), statistics.median(x)\n",
    "counts = {{}}\nfor r in rows:\n    counts[r['{c}']] = counts.get(r['{c}'], 0) + 1\n",
    "best = max(counts, key=counts.get)\nreturn best\n",
    "import collections\nc = collections.Counter(r['{c}'] for r in rows)\nreturn c.most_common(1)[0][0]\n",
    "data = [dict(zip(header, line)) for line in body if line]\n",
    "result = [r for r in rows if float(r['{c}']) > {k}]\nprint(len(result))\n",
]


def own_line(rng: random.Random) -> str:
    """A line of a student's own: a shape of expression, numbers and calls of their choosing."""
    ops = "+-*/%"
    terms = [rng.choice([f"x{rng.randint(0, 9)}", str(rng.randint(0, 999)), f"len(v{rng.randint(0, 9)})",
                         f"abs(y - {rng.randint(1, 50)})", f"round(z, {rng.randint(0, 3)})"]) for _ in range(rng.randint(2, 5))]
    expr = terms[0] + "".join(f" {rng.choice(ops)} {t}" for t in terms[1:])
    return rng.choice([f"v = {expr}\n", f"if {expr} > {rng.randint(0, 9)}:\n    print({expr})\n",
                       f"for i in range({rng.randint(2, 20)}):\n    acc += {expr}\n"])


def submissions(root: Path, n: int) -> tuple[Path, Path]:
    """``n`` students' notebooks: the released stubs with answers of their own in the code cells."""
    course = copy_sample(root / "course")
    out = doit(course, "strip:assignment1")
    assert out.returncode == 0, out.stdout + out.stderr
    released = course / "build" / "stripped" / "assignment1"
    rng = random.Random(7)
    subs = root / "submissions"
    answers = {}
    for i in range(n):
        sid = f"s{i:07d}"
        answers[sid] = []
        for nb_path in sorted(released.glob("*.ipynb")):
            nb = json.loads(nb_path.read_text())
            for cell in nb["cells"]:
                if cell["cell_type"] == "code" and "NotImplementedError" in "".join(cell["source"]):
                    parts = [rng.choice(SNIPPETS).format(c=rng.choice("abcxyz"), k=rng.randint(1, 99))]
                    parts += [own_line(rng) for _ in range(rng.randint(3, 8))]  # what is each student's own
                    cell["source"] = "".join(parts)
            answers[sid].append((nb_path.name, nb))
    # two students copy another's answers, with names changed
    for copier, source in (("s0000001", "s0000100"), ("s0000002", "s0000200")):
        answers[copier] = json.loads(json.dumps(answers[source]).replace("rows", "lines").replace("counts", "tally"))
    for sid, notebooks in answers.items():
        (subs / sid).mkdir(parents=True)
        for name, nb in notebooks:
            (subs / sid / name).write_text(json.dumps(nb))
    return subs, released


def run(quick: bool) -> list[dict]:
    n = 60 if quick else 300
    root = Path(tempfile.mkdtemp(prefix="nbf-bench-similarity-"))
    try:
        subs, released = submissions(root, n)
        t0 = time.monotonic()
        _page, pairs = similarity.similarity_report(subs, released, "assignment1")
        ours = time.monotonic() - t0
        found = {(p.first, p.second) for p in pairs[:2]}
        assert found == {("s0000001", "s0000100"), ("s0000002", "s0000200")}, pairs[:4]
        # naive: the same fingerprints, every pair compared in full
        from copydetect import compare_files

        cells = frozenset(source.strip() for _, source in similarity.code_cells(released))
        boiler = similarity.fingerprint(similarity.code_of(released)).hashes
        t0 = time.monotonic()
        prints = {p.name: similarity.fingerprint(similarity.code_of(p, cells), boiler) for p in sorted(subs.iterdir())}
        for a, b in combinations(sorted(prints), 2):
            compare_files(prints[a], prints[b])
        naive = time.monotonic() - t0
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return [{"benchmark": f"similarity report for {n} submissions of the sample assignment", "ours_s": ours,
             "naive_s": naive, "ratio": ours / naive, "goal": "<= 10 s", "met": ours <= 10,
             "note": f"{len(pairs)} pair(s) listed, the 2 planted copies first; naive = copydetect's all-pairs loop"}]

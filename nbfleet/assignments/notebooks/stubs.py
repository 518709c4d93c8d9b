"""What a student sees where a solution was: one stub per kernel language, and the text stub for markdown/raw cells.

The languages nbgrader 0.9.6 knows get nbgrader's exact stubs (so a notebook released by either tool looks the same);
the others follow the same pattern: a ``YOUR CODE HERE`` comment, then a statement that fails when run.
"""

from __future__ import annotations

TEXT_STUB = "YOUR ANSWER HERE"

CODE_STUBS: dict[str, str] = {
    # nbgrader 0.9.6's own (ClearSolutions.code_stub)
    "python": "# YOUR CODE HERE\nraise NotImplementedError()",
    "r": "# YOUR CODE HERE\nfail()",
    "matlab": "% YOUR CODE HERE\nerror('No Answer Given!')",
    "octave": "% YOUR CODE HERE\nerror('No Answer Given!')",
    "sas": "/* YOUR CODE HERE */\n %notImplemented;",
    "java": "// YOUR CODE HERE",
    # ours, same pattern
    "julia": '# YOUR CODE HERE\nerror("No Answer Given!")',
    "scala": '// YOUR CODE HERE\nthrow new NotImplementedError("No Answer Given!")',
    "bash": '# YOUR CODE HERE\necho "No Answer Given!" >&2; false',
    "javascript": '// YOUR CODE HERE\nthrow new Error("No Answer Given!");',
    "c++": '// YOUR CODE HERE\nthrow std::logic_error("No Answer Given!");',
    "sql": "-- YOUR CODE HERE",
}

# Kernel languages under other names (kernelspec "language" values seen in the wild).
ALIASES = {"python3": "python", "python2": "python", "ipython": "python", "sh": "bash", "js": "javascript",
           "typescript": "javascript", "cpp": "c++", "c++17": "c++", "c++14": "c++", "c++11": "c++"}


def language_of(metadata: dict) -> str:
    """The notebook's kernel language: kernelspec.language, else language_info.name, else python (as nbgrader)."""
    language = (metadata.get("kernelspec") or {}).get("language") or (metadata.get("language_info") or {}).get("name")
    return str(language or "python")


def code_stub(language: str) -> str | None:
    """The stub for ``language`` (case-insensitive), or None when nbfleet has none for it."""
    key = language.strip().lower()
    return CODE_STUBS.get(ALIASES.get(key, key))


def stub_lines() -> frozenset[str]:
    """Every line of every stub, stripped: text a release may contain however secret-looking it is."""
    lines = {TEXT_STUB}
    for stub in CODE_STUBS.values():
        lines.update(line.strip() for line in stub.split("\n"))
    return frozenset(lines)

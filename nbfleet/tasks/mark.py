"""Task creator for marking by hand (``mark:<a>``): the marking page of one graded assignment, until Ctrl-C."""

from __future__ import annotations

from ..assignments.files import assignments
from ..marking.book import Book
from ..marking.server import serve
from .common import action, settings

IP = {"name": "ip", "long": "ip", "type": str, "default": "127.0.0.1",
      "help": "the address to serve on (default 127.0.0.1: this machine only; 0.0.0.0 lets TAs on other machines in)"}
PORT = {"name": "port", "long": "port", "type": int, "default": 0, "help": "the port (default: a free one)"}


def task_mark():
    """Serve the page where a person marks answers, question by question."""
    s = settings()
    yield {"basename": "mark", "name": None,
           "doc": "mark answers by hand in a browser, question by question, into grades/overrides.csv (mark:<a> --ip --port)"}
    for name in assignments(s):
        yield {"name": name, "doc": f"the marking page of {name} (after grade:{name}); prints its URL with a token",
               "actions": [(action(_mark), [name])], "params": [IP, PORT], "uptodate": [False], "verbosity": 2}


def _mark(assignment: str, ip: str = "127.0.0.1", port: int = 0) -> None:
    serve(Book(settings(), assignment), ip, port)

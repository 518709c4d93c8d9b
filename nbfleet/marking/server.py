"""``doit mark:<a>``'s web server: the marking page and the JSON API it uses, behind a random token.

    GET  /                         the page (``?token=…``)
    GET  /api/questions            every question: id, notebook, max_points, answers, marked
    GET  /api/questions/<q>        one question: its answers, grouped, each student's points and comment
    PUT  /api/marks/<q>/<student>  {"points": …, "comment": …}: saved into grades/overrides.csv at once

The token comes in ``Authorization: token …`` or ``?token=…``; without it nothing is served (403). A request that
cannot be saved gets 400 and one line (``{"error": "…"}``), and nothing is written. The page allows only its own
script (a nonce per run): a student's HTML in an answer, already cleaned, could not run one anyway.
"""

from __future__ import annotations

import hmac
import json
import secrets
import socket
import sys
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from urllib.parse import parse_qs, unquote, urlsplit

from . import render
from .book import BadMark, Book, Changed

MOST_BODY = 64 * 1024


@cache
def _asset(name: str) -> str:
    return files(__package__).joinpath("page", name).read_text(encoding="utf-8")


def page(nonce: str, token: str, assignment: str) -> str:
    """The marking page, its script and style carrying this run's nonce."""
    from html import escape

    style = _asset("mark.css") + render.code_style()
    return (_asset("mark.html").replace("{nonce}", nonce).replace("{token}", escape(token)).replace("{assignment}", escape(assignment))
            .replace("{style}", style).replace("{script}", _asset("mark.js")))


class Handler(BaseHTTPRequestHandler):
    """One request to the marking server (``server.book``, ``server.token``)."""

    server_version = "nbfleet-mark"
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        if self.server.verbose:
            super().log_message(format, *args)

    # ------------------------------------------------------------ answers

    def _send(self, status: int, body: bytes, kind: str, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("X-Frame-Options", "DENY")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, data) -> None:
        self._send(status, json.dumps(data).encode(), "application/json; charset=utf-8")

    def _error(self, status: int, line: str) -> None:
        self._json(status, {"error": " ".join(str(line).split())})

    # ------------------------------------------------------------ the token

    def _authorised(self, query: dict) -> bool:
        given = ""
        header = self.headers.get("Authorization", "")
        if header.lower().startswith("token "):
            given = header[6:].strip()
        elif query.get("token"):
            given = query["token"][0]
        return bool(given) and hmac.compare_digest(given.encode(), self.server.token.encode())

    def _route(self) -> tuple[list[str], dict] | None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if not self._authorised(query):
            self._error(403, "a token is needed: open the URL that `doit mark` printed")
            return None
        return [unquote(p) for p in url.path.strip("/").split("/")] if url.path.strip("/") else [], query

    # ------------------------------------------------------------ methods

    def do_GET(self):
        got = self._route()
        if got is None:
            return
        parts, _ = got
        book = self.server.book
        try:
            if parts == []:
                nonce = secrets.token_urlsafe(16)
                csp = (f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; img-src data:; "
                       "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
                self._send(200, page(nonce, self.server.token, book.name).encode(), "text/html; charset=utf-8",
                           {"Content-Security-Policy": csp})
            elif parts == ["api", "questions"]:
                self._json(200, book.overview())
            elif parts[:2] == ["api", "questions"] and len(parts) > 2:
                self._json(200, book.question("/".join(parts[2:])))
            else:
                self._error(404, f"nothing at {urlsplit(self.path).path}")
        except BadMark as exc:
            self._error(400, str(exc))

    do_HEAD = do_GET

    def do_PUT(self):
        got = self._route()
        if got is None:
            return
        parts, _ = got
        if parts[:2] != ["api", "marks"] or len(parts) < 4:
            self._error(404, "marks are saved with PUT /api/marks/<question>/<student>")
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 < length <= MOST_BODY:
            self._error(400, f'the body must be a JSON object of at most {MOST_BODY} bytes: {{"points": …, "comment": …}}')
            return
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw)
        except ValueError as exc:
            self._error(400, f"the body is not JSON: {exc}")
            return
        try:
            self._json(200, self.server.book.put("/".join(parts[2:-1]), parts[-1], body))
        except BadMark as exc:
            self._error(400, str(exc))
        except Changed as exc:
            now = "no mark" if exc.now is None else f"{exc.now['points']:g} points" + (f" ({exc.now['comment']})" if exc.now.get("comment") else "")
            self._json(409, {"error": f"{parts[-1]}'s mark for {'/'.join(parts[2:-1])} changed since this page showed it: "
                                      f"it is now {now}", "now": exc.now and {"points": exc.now["points"], "comment": exc.now["comment"]}})


class MarkServer(ThreadingHTTPServer):
    """The marking server of one assignment."""

    daemon_threads = True

    def __init__(self, book: Book, ip: str = "127.0.0.1", port: int = 0, token: str | None = None, verbose: bool = False):
        self.book, self.token, self.verbose = book, token or secrets.token_hex(24), verbose
        if ":" in ip:
            self.address_family = socket.AF_INET6
        super().__init__((ip, port), Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        shown = host if host not in ("0.0.0.0", "::") else "<this machine's name>"
        if ":" in shown:
            shown = f"[{shown}]"
        return f"http://{shown}:{port}/?token={self.token}"


def serve(book: Book, ip: str, port: int) -> None:
    """Serve the marking page until interrupted (Ctrl-C), printing its URL first."""
    server = MarkServer(book, ip, port)
    print(f"marking {book.name}: {server.url}", flush=True)
    print("(Ctrl-C stops it; every mark is already saved in "
          f"{book.overrides_shown})", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        book.tables.idle.wait(30)  # the last mark's tables written

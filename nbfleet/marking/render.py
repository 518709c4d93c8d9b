"""A student's cells as one safe HTML fragment: markdown rendered, code highlighted, outputs (text, tables, images)
shown. Everything the student wrote or printed passes ``grading.sanitize``'s allow-list, so nothing in it can run;
the page that shows it also forbids any script of its own (``server``'s Content-Security-Policy)."""

from __future__ import annotations

import functools
import html
import re

from ..grading.cells import ANSI, source_of
from ..grading.sanitize import clean_html

MOST = 20_000  # characters of one output shown; the rest is cut (a loop that printed a million lines)
_BASE64 = re.compile(r"[A-Za-z0-9+/=\s]+")
IMAGES = ("image/png", "image/jpeg", "image/gif", "image/webp")


@functools.cache
def _markdown():
    import mistune

    return mistune.create_markdown(escape=False, plugins=["table", "strikethrough"])


def markdown(text: str) -> str:
    """Markdown as safe HTML."""
    return clean_html(_markdown()(text))


def _joined(value) -> str:
    return value if isinstance(value, str) else "".join(value or [])


def _cut(text: str) -> str:
    return text if len(text) <= MOST else text[:MOST] + f"\n… ({len(text) - MOST} more characters not shown)"


def _pre(text: str, kind: str) -> str:
    return f'<pre class="{kind}">{html.escape(_cut(ANSI.sub("", text)))}</pre>'


def code(source: str) -> str:
    """Python source, highlighted (pygments), as safe HTML."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    return f'<pre class="code">{highlight(_cut(source), PythonLexer(), HtmlFormatter(nowrap=True))}</pre>'


def output(out: dict) -> str:
    """One output of a code cell as safe HTML."""
    kind = out.get("output_type")
    if kind == "stream":
        return _pre(_joined(out.get("text")), "stream stderr" if out.get("name") == "stderr" else "stream")
    if kind == "error":
        return _pre(f"{out.get('ename', 'error')}: {out.get('evalue', '')}", "error")
    data = out.get("data") or {}
    for mime in IMAGES:
        b64 = _joined(data.get(mime))
        if b64 and _BASE64.fullmatch(b64):
            return f'<img class="output" alt="an image the code made" src="data:{mime};base64,{"".join(b64.split())}">'
    if "text/html" in data:
        return f'<div class="output html">{clean_html(_cut(_joined(data["text/html"])))}</div>'
    if "text/markdown" in data:
        return f'<div class="output">{markdown(_cut(_joined(data["text/markdown"])))}</div>'
    if "text/plain" in data:
        return _pre(_joined(data["text/plain"]), "result")
    return ""


def cells(cs: list[dict]) -> str:
    """A student's cells as one safe HTML fragment (an empty answer says so)."""
    parts = []
    for c in cs:
        text = source_of(c)
        if c.get("cell_type") == "markdown":
            parts.append(f'<div class="markdown">{markdown(text)}</div>')
        elif c.get("cell_type") == "code":
            parts.append(code(text) + "".join(output(o) for o in c.get("outputs") or [] if isinstance(o, dict)))
        else:
            parts.append(_pre(text, "raw"))
    return "".join(parts) or '<p class="empty">(no answer)</p>'


@functools.cache
def code_style() -> str:
    """The CSS for highlighted code."""
    from pygments.formatters import HtmlFormatter

    return HtmlFormatter().get_style_defs(".code")

"""What a page may show of a notebook: HTML cleaned to an allow-list of tags and attributes that cannot run anything.

nbconvert's own ``clean_html`` (7.x) allows only bleach's inline defaults plus a few tags: headings, paragraphs and
table parts come out as escaped text (``&lt;h1&gt;…``), so a markdown cell reads as raw tags. This one keeps what a
rendered notebook needs (headings, paragraphs, lists, tables, code, images given inline as ``data:image/…``) and
drops everything else: scripts and style sheets with what they hold, other tags and event handlers keeping only
their text.
"""

from __future__ import annotations

import re

TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl", "dt", "em", "h1", "h2", "h3",
    "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s", "samp", "small", "span", "strong", "sub",
    "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul", "var",
})
LINKS = ("http://", "https://", "mailto:", "#")
_CODE = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)  # dropped with what they hold
IMAGES = ("data:image/png;", "data:image/jpeg;", "data:image/gif;", "data:image/webp;")  # not svg: it can hold script


def _allowed(tag: str, name: str, value: str) -> bool:
    if name in ("class", "id", "title"):
        return True
    if tag == "a":
        return name == "href" and value.strip().lower().startswith(LINKS)
    if tag == "img":
        return name in ("alt", "width", "height") or (name == "src" and value.strip().lower().startswith(IMAGES))
    if tag in ("td", "th"):
        return name in ("align", "colspan", "rowspan")
    return False


def clean_html(element) -> str:
    """``element`` (HTML text or bytes) with only allowed tags and attributes; other tags are dropped, their text kept."""
    import bleach

    text = _CODE.sub("", element.decode() if isinstance(element, bytes) else str(element))
    return bleach.clean(text, tags=TAGS, attributes=_allowed, protocols={"http", "https", "mailto", "data"}, strip=True,
                        strip_comments=True)

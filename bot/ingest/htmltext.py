"""HTML fragments (feed summaries, ``content:encoded``, JSON ``content_html``) → plain text.

trafilatura is built for whole pages and rejects lone fragments, so a small
lxml walk does this: block elements become line breaks, ``<br>`` a break,
scripts and styles vanish, entities are unescaped by the parser.
"""

from __future__ import annotations

import re

import lxml.etree
import lxml.html

_BLOCKS = frozenset(
    ("address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "figcaption")
    + ("figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main")
    + ("nav", "ol", "p", "pre", "section", "table", "tbody", "thead", "tfoot", "tr", "ul")
)
_SKIP = frozenset(("script", "style", "noscript", "template", "head", "title"))
_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9:-]*(\s[^<>]*)?/?>|&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);")


def looks_like_html(text: str) -> bool:
    """Whether ``text`` carries tags or entities (so it needs :func:`html_to_text`)."""
    return bool(_TAG.search(text))


def html_to_text(fragment: str) -> str:
    """Visible text of an HTML fragment, one line per paragraph/block."""
    if not fragment.strip():
        return ""
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (lxml.etree.ParserError, ValueError):
        return tidy_lines(fragment)
    parts: list[str] = []
    _walk(root, parts)
    return tidy_lines("".join(parts))


def _walk(element: lxml.html.HtmlElement, parts: list[str]) -> None:
    tag = element.tag if isinstance(element.tag, str) else ""
    tag = tag.lower()
    if tag in _SKIP or not tag:  # comments and processing instructions have no str tag
        parts.append(element.tail or "")
        return
    block = tag in _BLOCKS
    if block:
        parts.append("\n")
    if tag == "br":
        parts.append("\n")
    parts.append(element.text or "")
    for child in element:
        _walk(child, parts)
    if block:
        parts.append("\n")
    parts.append(element.tail or "")


def tidy_lines(text: str) -> str:
    """Spaces collapsed inside each line, blank lines dropped, ends trimmed."""
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return "\n".join(line for line in lines if line)

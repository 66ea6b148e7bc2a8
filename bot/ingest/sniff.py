"""Tell feeds, web pages, JSON and plain text apart by their first bytes (and the HTTP type)."""

from __future__ import annotations

import re
from typing import Literal

from bot.ingest.textfile import bom_encoding

Kind = Literal["feed", "html", "json", "text"]

# Things that may precede the root element: declarations, comments, PIs, doctype.
_PROLOG = re.compile(r"\s*(<\?.*?\?>|<!--.*?-->|<!doctype[^>]*>)", re.S | re.I)
_ROOT = re.compile(r"\s*<([a-z][a-z0-9:_.-]*)", re.I)
_FEED_ROOTS = frozenset(("rss", "feed", "rdf:rdf", "rdf", "channel"))
_FEED_TYPES = ("rss", "atom", "rdf", "/xml", "+xml")


def sniff(body: bytes, content_type: str = "") -> Kind:
    """What ``body`` is. The bytes decide when they are clear (a ``<rss>`` root is a
    feed whatever the server says); ``content_type`` settles the rest."""
    head = _head(body)
    ctype = content_type.split(";")[0].strip().lower()
    if head.startswith(("{", "[")):
        return "json"
    if head.startswith("<"):
        root = _root(head)
        if root in _FEED_ROOTS:
            return "feed"
        if root == "html" or "html" in ctype or "<!doctype html" in head[:200].lower():
            return "html"
        return "feed" if head.startswith("<?xml") or ctype.endswith(_FEED_TYPES) else "html"
    if "json" in ctype:
        return "json"
    if "html" in ctype:
        return "html"
    return "text"


def _head(body: bytes) -> str:
    """The first bytes as text, good enough to read ASCII markup in any common encoding."""
    chunk = body[:4096]
    bom = bom_encoding(chunk)
    if bom:
        return chunk[bom[1] :].decode(bom[0], errors="ignore").lstrip()
    # UTF-16 without a BOM still shows its ASCII markup once the zero bytes go.
    return chunk.decode("latin-1").replace("\x00", "").lstrip()


def _root(head: str) -> str:
    """Name of the first element after the prolog, lower-cased ("" when none)."""
    pos = 0
    while match := _PROLOG.match(head, pos):
        pos = match.end()
    root = _ROOT.match(head, pos)
    return root.group(1).lower() if root else ""

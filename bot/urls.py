"""Canonical URLs: one spelling per article, so the same page is stored once.

``canonical_url`` lower-cases the scheme and host, drops the default port,
the fragment and tracking parameters, sorts the remaining query parameters,
normalises percent-escapes, and strips a trailing slash (except the root).
The path keeps its case: ``/News/Story`` and ``/news/story`` may be different
pages.

Why not ``courlan.clean_url``: its tracker filter is a broad regular
expression searched anywhere in a parameter name (``uid``, ``source``,
``session``, ``keyword``, ``reference…`` all go), and it drops parameters
without a value. Those can identify the article (``?uid=4711``), and two
different articles collapsing into one canonical URL means the second is
silently dropped as a duplicate — a missed event. It also keeps fragments.
Here the list of tracking parameters is explicit.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

# Exact parameter names (compared lower-cased) that only track the click.
TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid",
        "twclid", "ttclid", "li_fat_id", "igshid", "igsh", "mc_cid", "mc_eid",
        "ref", "ref_src", "ref_url", "cmpid", "ocid", "ncid", "smid", "xtor",
        "_ga", "_gl", "_hsenc", "_hsmi", "__hstc", "__hssc", "__hsfp", "mkt_tok",
        "s_cid", "s_kwcid", "wt_mc", "wt.mc_id", "icid", "ito", "sr_share", "spm",
        "vero_id", "oly_anon_id", "oly_enc_id", "rb_clickid", "__twitter_impression",
        "guccounter", "guce_referrer", "guce_referrer_sig", "pk_campaign", "pk_kwd",
        "pk_source", "pk_medium", "pk_content",
    }
)  # fmt: skip
# Parameter name prefixes (lower-cased) that only track the click.
TRACKING_PREFIXES = ("utm_", "at_", "mtm_", "hsa_")

_DEFAULT_PORTS = {"http": 80, "https": 443}
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# Characters allowed as-is in a path (RFC 3986 pchar + "/"); "%" keeps existing escapes.
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"


def is_tracking_param(name: str) -> bool:
    """True for a query parameter that only tracks where a click came from."""
    low = name.lower()
    return low in TRACKING_PARAMS or low.startswith(TRACKING_PREFIXES)


def canonical_url(url: str) -> str:
    """The canonical spelling of ``url`` (see the module docstring).

    Only ``http``/``https`` URLs with a host are rewritten; anything else
    (a file path, ``urn:…``, an empty string) comes back stripped of outer
    white space. The function is idempotent.
    """
    raw = url.strip()
    try:
        parts = urlsplit(raw)
    except ValueError:
        return raw
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.netloc:
        return raw
    netloc = _netloc(parts.netloc, scheme)
    if netloc is None:
        return raw
    path = _path(parts.path)
    query = _query(parts.query)
    return urlunsplit((scheme, netloc, path, query, ""))


def _netloc(netloc: str, scheme: str) -> str | None:
    userinfo, _, hostport = netloc.rpartition("@")
    if hostport.startswith("["):  # IPv6 literal
        end = hostport.find("]")
        if end < 0:
            return None
        host, port_text = hostport[: end + 1], hostport[end + 1 :].removeprefix(":")
    else:
        host, _, port_text = hostport.partition(":")
    host = _host(host)
    if not host:
        return None
    port = ""
    if port_text:
        if not (port_text.isascii() and port_text.isdigit()):
            return None
        number = int(port_text)
        if number != _DEFAULT_PORTS[scheme]:
            port = f":{number}"
    return (userinfo + "@" if userinfo else "") + host + port


def _host(host: str) -> str:
    host = host.lower().rstrip(".")
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def _normalise_escapes(text: str) -> str:
    """Upper-case percent-escapes and decode the ones of unreserved characters."""

    def fix(m: re.Match[str]) -> str:
        char = chr(int(m.group(1), 16))
        return char if char in _UNRESERVED else "%" + m.group(1).upper()

    return _PERCENT.sub(fix, text)


def _path(path: str) -> str:
    path = quote(_normalise_escapes(path), safe=_PATH_SAFE)
    if not path:
        return "/"
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    return path


def _query(query: str) -> str:
    if not query:
        return ""
    pairs = [
        (k, v)
        for k, v in parse_qsl(query, keep_blank_values=True)
        if k and not is_tracking_param(k)
    ]
    pairs.sort(key=lambda kv: kv[0])  # stable: repeated keys keep their order
    return urlencode(pairs, quote_via=quote, safe="-._~")

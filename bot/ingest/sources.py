"""Source declarations: ``sources.yaml`` → :class:`SourceSpec` list, validated.

The file holds a list under ``sources:``; each entry is one place articles
come from::

    sources:
      - name: world-desk              # unique, used in chat (`sources`, `removesource`)
        url: https://example.org/world/rss.xml
        kind: feed                    # optional, see below
        interval: 15m                 # seconds (300) or 90s / 15m / 1h / 1h30m / 1d; default 15m, at least 30s
        enabled: true                 # default true
        fetch_full: true              # feeds only: fetch each new entry's page for its full text
      - name: ministry-statements
        url: https://example.org/ministry/statement-of-the-day
        kind: page                    # one article per poll: the page's main text
      - name: inbox
        path: inbox/                  # a folder: every new or changed file in it (recursively)
      - name: demo-feed
        path: world-desk.rss          # a single file: re-read when its size or mtime changes

Exactly one of ``url`` (http or https) and ``path`` is given. Relative paths
(and ``~``) resolve against the folder the YAML file is in.

``kind`` is one of:

- ``feed`` — an RSS/Atom/RDF feed at ``url`` (polled with a conditional GET);
- ``page`` — a web page at ``url``, read as one article;
- ``auto`` — a ``url`` whose kind is decided at the first fetch by its
  content (feed or web page);
- ``file`` — the file at ``path``; its format (feed, HTML, JSON, JSON Lines,
  Markdown, text) comes from its extension, else from its content;
- ``folder`` — the files under ``path`` with a known extension (hidden files
  and README/LICENSE files skipped);
- ``redis-stream`` — a Redis stream read through a consumer group
  (:mod:`bot.ingest.stream`): ``url: redis://host:6379/0``, ``stream`` (its
  key), ``group`` (created when missing), and optionally ``consumer`` (this
  replica's name in the group; default ``WORKER_ID``, else host:pid). Each
  entry is one article as JSON (see :mod:`bot.ingest.stream`). Not polled:
  ``alertbot run`` keeps reading it, and it is not stored with the polled sources.

When ``kind`` is omitted: a ``path`` is a ``folder`` if it is a directory (or,
when it does not exist yet, has no known file extension), else a ``file``; a
``url`` is a ``feed`` when it looks like one (``.rss``/``.xml``/``.atom``/
``.rdf``, or a ``/feed``, ``/rss``, ``/atom`` path segment, or a
``feed=``/``format=rss`` query) and ``auto`` otherwise.

Every problem is one line, ``file: where: what is wrong``, e.g.
``sources.yaml: sources[2].interval: 'fast' is not a duration (e.g. 300, 15m, 1h)``,
raised as :class:`SourceError`. Sources declared in this file are trusted
(the operator wrote them); URLs that arrive from chat go through
:func:`bot.ingest.safety.check_public_url` first.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from bot.configfile import ConfigError, unknown_field_message, without_aliases
from bot.configfile import type_name as _type_name
from bot.ingest.inputs import EXTENSIONS

SourceKind = Literal["feed", "page", "auto", "file", "folder", "redis-stream"]

URL_KINDS: tuple[str, ...] = ("feed", "page", "auto")
PATH_KINDS: tuple[str, ...] = ("file", "folder")
STREAM_KIND = "redis-stream"
KINDS: tuple[str, ...] = URL_KINDS + PATH_KINDS + (STREAM_KIND,)
STREAM_FIELDS: tuple[str, ...] = ("stream", "group", "consumer")
FIELDS: tuple[str, ...] = (
    "name",
    "url",
    "path",
    "kind",
    "interval",
    "enabled",
    "fetch_full",
    *STREAM_FIELDS,
)
REDIS_SCHEMES = ("redis", "rediss")
TOP_FIELDS: tuple[str, ...] = ("sources",)

DEFAULT_INTERVAL = 900
MIN_INTERVAL = 30
MAX_INTERVAL = 7 * 24 * 3600
DURATION_HINT = "(e.g. 300, 15m, 1h)"

_FEED_SUFFIXES = (".rss", ".xml", ".atom", ".rdf")
_FEED_SEGMENTS = frozenset(("feed", "feeds", "rss", "atom", "rss.xml", "atom.xml", "feed.xml"))
_FEED_QUERY = re.compile(r"(^|&)(feed=|format=(rss|atom))", re.I)
_KIND_BY_NAME: dict[str, SourceKind] = {
    "feed": "feed",
    "page": "page",
    "auto": "auto",
    "file": "file",
    "folder": "folder",
    "redis-stream": "redis-stream",
}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(d|h|m|s)", re.I)
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


class SourceError(ConfigError):
    """A sources file that cannot be used; ``str()`` is one line naming file and field."""


@dataclass(frozen=True)
class SourceSpec:
    """One declared source. Exactly one of ``url`` and ``path`` is set.

    ``path`` is absolute (resolved against the YAML file's folder). ``kind`` is
    never missing: ``auto`` means "decide at the first fetch" (URLs only).
    """

    name: str
    kind: SourceKind
    url: str | None = None
    path: str | None = None
    interval_s: int = DEFAULT_INTERVAL
    enabled: bool = True
    fetch_full: bool = False
    # kind redis-stream: the stream's key, the consumer group, and this replica's consumer
    # name (None: the replica's WORKER_ID, else host:pid)
    stream: str | None = None
    group: str | None = None
    consumer: str | None = None

    @property
    def is_stream(self) -> bool:
        return self.kind == STREAM_KIND

    @property
    def target(self) -> str:
        """The URL or path (what the store keeps as ``url_or_path``)."""
        return self.url if self.url is not None else str(self.path)


# --- public helpers --------------------------------------------------------


def parse_interval(value: object) -> int:
    """Seconds in ``value``: a number of seconds, or ``90s``/``15m``/``1h``/``1h30m``/``1d``.

    Raises :class:`ValueError` with a one-line reason (range checks are the caller's).
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration {DURATION_HINT}")
    if isinstance(value, int | float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"{value!r} is not a duration {DURATION_HINT}")
        return round(value)
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a duration {DURATION_HINT}")
    text = value.strip().lower().replace(" ", "")
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return round(float(text))
    if not text or _DURATION.sub("", text):
        raise ValueError(f"{value!r} is not a duration {DURATION_HINT}")
    return round(sum(float(n) * _UNIT_SECONDS[u] for n, u in _DURATION.findall(text)))


def format_interval(seconds: int) -> str:
    """``900`` → ``15m``, ``5400`` → ``1h30m``, ``45`` → ``45s``."""
    parts = []
    for unit, size in _UNIT_SECONDS.items():
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def guess_url_kind(url: str) -> SourceKind:
    """``feed`` when ``url`` looks like a feed address, else ``auto`` (decided by content)."""
    parts = urlsplit(url)
    path = parts.path.lower().rstrip("/")
    last = path.rsplit("/", 1)[-1]
    if last.endswith(_FEED_SUFFIXES) or last in _FEED_SEGMENTS:
        return "feed"
    if any(seg in ("feed", "feeds", "rss", "atom") for seg in path.split("/")):
        return "feed"
    return "feed" if _FEED_QUERY.search(parts.query) else "auto"


def guess_path_kind(path: Path) -> SourceKind:
    """``folder`` for a directory, ``file`` for a file; a path that does not exist
    yet is a ``file`` when it has a known extension, else a ``folder``."""
    if path.is_dir():
        return "folder"
    if path.exists() or path.suffix.lower() in EXTENSIONS:
        return "file"
    return "folder"


def is_http_url(url: str) -> bool:
    """An ``http``/``https`` URL with a host name."""
    try:
        parts = urlsplit(url)
        return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:
        return False


# --- loading ---------------------------------------------------------------


def load_sources(path: str | Path) -> list[SourceSpec]:
    """The sources declared in the YAML file at ``path`` (raises :class:`SourceError`)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SourceError(str(path), "", "no such file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise SourceError(str(path), "", f"cannot read: {err}") from None
    return load_sources_text(text, str(path), base_dir=file.expanduser().resolve().parent)


def load_sources_text(
    text: str, source: str = "sources.yaml", *, base_dir: Path | None = None
) -> list[SourceSpec]:
    """The sources declared in YAML ``text``; ``source`` names it in errors and
    relative paths resolve against ``base_dir`` (default: the working directory)."""
    data = _parse_yaml(text, source)
    base = (base_dir or Path.cwd()).resolve()
    if data is None:
        raise SourceError(source, "", "is empty (expected a 'sources:' list)")
    if isinstance(data, list):
        raise SourceError(source, "", "expected 'sources:' with a list under it, got a bare list")
    if not isinstance(data, dict):
        raise SourceError(source, "", f"expected a 'sources:' list, got {_type_name(data)}")
    for key in data:
        if key not in TOP_FIELDS:
            raise _unknown_field(source, "", key, TOP_FIELDS)
    if "sources" not in data:
        raise SourceError(source, "", "expected a 'sources:' list")
    entries = data["sources"]
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise SourceError(source, "sources", f"expected a list, got {_type_name(entries)}")
    specs: list[SourceSpec] = []
    names: dict[str, str] = {}
    targets: dict[str, str] = {}
    for index, raw in enumerate(entries):
        where = f"sources[{index}]"
        spec = _parse_entry(source, where, raw, base)
        key = spec.name.casefold()
        if key in names:
            raise SourceError(
                source, f"{where}.name", f"{spec.name!r} is already used by {names[key]}"
            )
        target_field = "url" if spec.url is not None else "path"
        if spec.target in targets:
            raise SourceError(
                source, f"{where}.{target_field}", f"already declared by {targets[spec.target]}"
            )
        names[key] = where
        targets[spec.target] = f"{where} ({spec.name!r})"
        specs.append(spec)
    return specs


def _parse_entry(source: str, where: str, raw: object, base: Path) -> SourceSpec:
    if not isinstance(raw, dict):
        raise SourceError(
            source,
            where,
            f"expected a mapping with 'name' and 'url' or 'path', got {_type_name(raw)}",
        )
    for key in raw:
        if key not in FIELDS:
            raise _unknown_field(source, where, key, FIELDS)
    if "name" not in raw:
        raise SourceError(source, where, "a source needs a 'name'")
    name = _text(source, f"{where}.name", raw["name"])
    if "\n" in name or len(name) > 200:
        raise SourceError(source, f"{where}.name", "must be one line of at most 200 characters")
    has_url, has_path = raw.get("url") is not None, raw.get("path") is not None
    if has_url and has_path:
        raise SourceError(source, where, "give either 'url' or 'path', not both")
    if not has_url and not has_path:
        raise SourceError(source, where, "a source needs a 'url' or a 'path'")
    kind_value = raw.get("kind")
    kind = None if kind_value is None else _kind(source, f"{where}.kind", kind_value)
    if kind == STREAM_KIND:
        return _stream_entry(source, where, raw, name)
    for key in STREAM_FIELDS:
        if key in raw:
            raise SourceError(
                source, f"{where}.{key}", f"applies to kind: {STREAM_KIND} sources only"
            )
    url: str | None = None
    path: str | None = None
    if has_url:
        url = _text(source, f"{where}.url", raw["url"])
        if not is_http_url(url):
            raise SourceError(
                source, f"{where}.url", f"{url!r} is not an http:// or https:// URL with a host"
            )
        if kind in PATH_KINDS:
            raise SourceError(
                source, f"{where}.kind", f"{kind!r} is for a 'path'; a url is {_or(URL_KINDS)}"
            )
        kind = kind or guess_url_kind(url)
    else:
        resolved = (base / Path(_text(source, f"{where}.path", raw["path"])).expanduser()).resolve()
        path = str(resolved)
        if kind in URL_KINDS:
            hint = f"a path is {_or(PATH_KINDS)}; a file's format comes from its extension"
            raise SourceError(source, f"{where}.kind", f"{kind!r} is for a 'url'; {hint}")
        if kind == "folder" and resolved.is_file():
            raise SourceError(source, f"{where}.path", f"{path} is a file, not a folder")
        if kind == "file" and resolved.is_dir():
            raise SourceError(source, f"{where}.path", f"{path} is a folder, not a file")
        kind = kind or guess_path_kind(resolved)
    interval = _interval(source, f"{where}.interval", raw.get("interval", DEFAULT_INTERVAL))
    enabled = _flag(source, f"{where}.enabled", raw.get("enabled", True))
    fetch_full = _flag(source, f"{where}.fetch_full", raw.get("fetch_full", False))
    if fetch_full and kind not in ("feed", "auto"):
        raise SourceError(
            source, f"{where}.fetch_full", f"applies to feeds only (this source is a {kind})"
        )
    return SourceSpec(
        name=name,
        kind=kind,
        url=url,
        path=path,
        interval_s=interval,
        enabled=enabled,
        fetch_full=fetch_full,
    )


def _stream_entry(source: str, where: str, raw: dict[str, Any], name: str) -> SourceSpec:
    """A ``kind: redis-stream`` entry: ``url`` (redis:// or rediss://), ``stream``, ``group``
    and optionally ``consumer``; no ``path``, no ``fetch_full``."""
    if raw.get("path") is not None or raw.get("url") is None:
        raise SourceError(source, where, f"a {STREAM_KIND} source needs a 'url' (redis://…)")
    url = _text(source, f"{where}.url", raw["url"])
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        scheme = ""
    if scheme not in REDIS_SCHEMES:
        raise SourceError(
            source, f"{where}.url", f"{url!r} is not a redis:// or rediss:// URL"
        )
    if raw.get("fetch_full") not in (None, False):
        raise SourceError(source, f"{where}.fetch_full", "applies to feeds only")
    values: dict[str, str | None] = {}
    for key in STREAM_FIELDS:
        if raw.get(key) is None:
            if key != "consumer":
                raise SourceError(source, where, f"a {STREAM_KIND} source needs a '{key}'")
            values[key] = None
            continue
        values[key] = _text(source, f"{where}.{key}", raw[key])
    return SourceSpec(
        name=name,
        kind="redis-stream",
        url=url,
        interval_s=_interval(source, f"{where}.interval", raw.get("interval", DEFAULT_INTERVAL)),
        enabled=_flag(source, f"{where}.enabled", raw.get("enabled", True)),
        stream=values["stream"],
        group=values["group"],
        consumer=values["consumer"],
    )


def _kind(source: str, where: str, value: object) -> SourceKind:
    text = value.strip().lower() if isinstance(value, str) else value
    if isinstance(text, str) and text in _KIND_BY_NAME:
        return _KIND_BY_NAME[text]
    hint = difflib.get_close_matches(str(text), KINDS, n=1)
    more = f" (did you mean {hint[0]!r}?)" if hint else f" (one of: {', '.join(KINDS)})"
    raise SourceError(source, where, f"{value!r} is not a source kind{more}")


def _interval(source: str, where: str, value: object) -> int:
    try:
        seconds = parse_interval(value)
    except ValueError as err:
        raise SourceError(source, where, str(err)) from None
    shown = value if isinstance(value, str) else f"{seconds}s"
    if seconds < MIN_INTERVAL:
        raise SourceError(source, where, f"{shown} is below the minimum of {MIN_INTERVAL}s")
    if seconds > MAX_INTERVAL:
        limit = format_interval(MAX_INTERVAL)
        raise SourceError(source, where, f"{shown} is above the maximum of {limit}")
    return seconds


def _flag(source: str, where: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    raise SourceError(source, where, f"expected true or false, got {value!r}")


def _text(source: str, where: str, value: object) -> str:
    if value is None or isinstance(value, bool | dict | list):
        raise SourceError(source, where, f"expected text, got {_type_name(value)}")
    text = str(value).strip()
    if not text:
        raise SourceError(source, where, "must not be empty")
    return text


def _or(words: Iterable[str]) -> str:
    items = [repr(w) for w in words]
    return ", ".join(items[:-1]) + " or " + items[-1] if len(items) > 1 else items[0]


def _unknown_field(source: str, where: str, key: object, allowed: Iterable[str]) -> SourceError:
    return SourceError(source, where, unknown_field_message(key, allowed))


def _parse_yaml(text: str, source: str) -> Any:
    yaml = without_aliases(YAML(typ="safe", pure=True))
    try:
        return yaml.load(text)
    except YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise SourceError(source, "", f"not valid YAML: {where}{problem}") from None

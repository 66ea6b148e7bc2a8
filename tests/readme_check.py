"""The README's examples as data: find them, normalise what varies, show a diff, rewrite
them (used by tests/test_readme.py; no tests here).

An example is an HTML comment naming what produced it, right before a fenced block::

    <!-- readme-check: alertbot scan samples/seed-article.txt -->
    ```
    (what the command prints)
    ```

The forms after ``readme-check:`` (see tests/test_readme.py for how each is run):

- ``alertbot ARGS``: the command's stdout, run from the clone;
- ``alertbot ARGS; part N of M``: its stdout has M parts (blank-line separated), the
  block is part N (an alert among those ``run --once`` prints);
- ``alertbot ARGS; shape``: the block is one JSON line of the output, cut short (see
  :func:`misfits`): ``…`` in a string for text left out, ``, …}`` for keys left out;
- ``alertbot chat``: a terminal session, ``alertbot> COMMAND`` lines each followed by the
  answer, on the database the sample run filled;
- ``GET /healthz``: the JSON body of the health check on that database.

Only what truly varies is normalised: the clone's and the temporary folders' paths are
written as ``/home/me/alertbot``, and the clock's times (a date of 2026 or later, or a
``02 Dec 04:25``) compare equal to any other; the samples' own dates (2021–22) are kept.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CLONE = "/home/me/alertbot"  # how the README writes the clone's (and the data's) folder
PROMPT = "alertbot> "

BLOCK = re.compile(
    r"<!-- readme-check: (?P<spec>.+?) -->\n```[a-z]*\n(?P<body>.*?)\n```", re.S
)
PART = re.compile(r"^(?P<command>.+); part (?P<n>\d+) of (?P<m>\d+)$")
SHAPE = re.compile(r"^(?P<command>.+); shape$")

MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
# a time of the clock: ISO (2026-12-02T04:25:14.958+00:00, 2026-12-02 04:25, 2026-12-02)
# from 2026 on, or a listing's "02 Dec 04:25" (no year: always the clock's)
CLOCK = re.compile(
    rf"\b(?P<year>\d{{4}})-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:[+-]\d\d:\d\d|Z)?)?\b"
    rf"|\b\d\d (?:{MONTHS}) \d\d:\d\d\b"
)
FIRST_CLOCK_YEAR = 2026  # the samples' articles are dated 2021-22: those dates are checked


@dataclass(frozen=True)
class Example:
    spec: str
    shown: str
    start: int  # the span of the block's body in the README
    end: int
    line: int

    @property
    def id(self) -> str:
        return f"line {self.line}: {self.spec}"


def examples(readme: str) -> list[Example]:
    return [
        Example(
            m["spec"], m["body"], m.start("body"), m.end("body"), readme.count("\n", 0, m.start()) + 1
        )
        for m in BLOCK.finditer(readme)
    ]


def place(text: str, folders: list[Path]) -> str:
    """``text`` with each of ``folders`` (the clone, a temporary data folder) written as
    the README's clone folder."""
    for folder in sorted(folders, key=lambda f: -len(str(f))):
        text = text.replace(str(folder), CLONE)
    return text


def _clock(match: re.Match[str]) -> str:
    year = match["year"]
    if year is not None and int(year) < FIRST_CLOCK_YEAR:
        return match[0]
    return "<time>"


def timeless(text: str) -> str:
    """``text`` with the clock's times replaced by ``<time>``."""
    return CLOCK.sub(_clock, text)


def diff(shown: str, actual: str) -> str:
    """What to change in the README block to make it the code's output."""
    lines = difflib.unified_diff(
        shown.splitlines(), actual.splitlines(), "README.md", "the code", lineterm="", n=2
    )
    return "\n".join(lines)


def parts(output: str) -> list[str]:
    """The output's blank-line separated parts (each pushed alert is one)."""
    return [p.strip("\n") for p in re.split(r"\n\s*\n", output.strip("\n")) if p.strip()]


MORE_KEYS = "…"  # the key a sketch's object gets for its ", …}": more keys may follow


def sketch(block: str) -> Any:
    """The JSON sketch of a ``shape`` block, as data: an object's ``, …}`` (keys left out)
    becomes a key ``…``."""
    return json.loads(re.sub(r",\s*…\s*}", f', "{MORE_KEYS}": null}}', block))


def misfits(sketched: Any, actual: Any, where: str = "") -> list[str]:
    """How the output ``actual`` differs from the README's sketch of it (empty: it fits).

    An object has the sketch's keys, no more unless the sketch ends it with ``, …}``; a
    string with ``…`` matches any text there; a list's sketched items are each one of the
    output's items; other values are equal.
    """
    at = where or "the line"
    if isinstance(sketched, dict):
        if not isinstance(actual, dict):
            return [f"{at}: an object in the README, {type(actual).__name__} in the output"]
        keys = set(sketched) - {MORE_KEYS}
        out = [f"{where}.{k}: not in the output" for k in sorted(keys - set(actual))]
        if MORE_KEYS not in sketched:
            out += [f"{where}.{k}: not in the README" for k in sorted(set(actual) - keys)]
        for key in sorted(keys & set(actual)):
            out += misfits(sketched[key], actual[key], f"{where}.{key}")
        return out
    if isinstance(sketched, list):
        if not isinstance(actual, list):
            return [f"{at}: a list in the README, {type(actual).__name__} in the output"]
        out = []
        for n, item in enumerate(sketched):
            tries = [misfits(item, a, f"{where}[{n}]") for a in actual]
            if tries and not all(tries):
                continue
            out += min(tries, key=len) if tries else [f"{where}[{n}]: the output's list is empty"]
        return out
    if isinstance(sketched, str) and "…" in sketched and isinstance(actual, str):
        pattern = ".*".join(re.escape(piece) for piece in sketched.split("…"))
        if re.fullmatch(pattern, actual, re.S):
            return []
    if sketched == actual and type(sketched) is type(actual):
        return []
    return [f"{at}: {json.dumps(sketched, ensure_ascii=False)} in the README, "
            f"{json.dumps(actual, ensure_ascii=False)[:120]} in the output"]


def json_block(body: dict[str, Any], width: int = 88) -> str:
    """A JSON object on as few lines of at most ``width`` characters as its items allow."""
    items = [f"{json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in body.items()]
    lines: list[str] = []
    for item in items:
        if lines and len(lines[-1]) + len(item) + 2 <= width:
            lines[-1] += ", " + item
        else:
            lines.append(item)
    return "{" + ",\n ".join(lines) + "}"


def rewrite(readme: str, new_bodies: dict[int, tuple[int, str]]) -> str:
    """``readme`` with the block bodies starting at each key replaced (end, new body)."""
    for start in sorted(new_bodies, reverse=True):
        end, body = new_bodies[start]
        readme = readme[:start] + body + readme[end:]
    return readme

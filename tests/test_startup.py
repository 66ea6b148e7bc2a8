"""`alertbot scan` of a text file starts fast: it loads none of the heavy libraries.

A fresh interpreter is the point (the test process has them all loaded), so this runs
one subprocess. The figure itself (under 1 s) is in bench/startup.py, not asserted here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bot.cli import SETTING_NAMES

ROOT = Path(__file__).resolve().parent.parent

HEAVY = ("sqlalchemy", "trafilatura", "httpx", "datasketch", "scipy", "numpy", "feedparser",
         "telegram", "slack_bolt", "slack_sdk", "matplotlib", "aiohttp", "apscheduler",
         # deferred for issue 17: settings (none set), other readers than text's
         "pydantic_settings", "charset_normalizer", "lxml")
DEFERRED = ("bot.config", "bot.ingest.feeds", "bot.ingest.html", "bot.ingest.jsonfile",
            "bot.runtime")

PROBE = """
import json, sys
from bot.cli import main
sys.argv = ["alertbot", "scan", "--format", "json", "-w", sys.argv[1], sys.argv[2]]
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""


def test_scan_of_a_text_file_loads_no_heavy_library(tmp_path: Path) -> None:
    article = tmp_path / "a.txt"
    article.write_text(
        "Troops arrive\n\nRussian troops arrived in Belarus on Monday for joint exercises.\n",
        encoding="utf-8",
    )
    # no setting in the environment (conftest sets LOG_FORMAT), no .env in tmp_path
    env = {k: v for k, v in os.environ.items() if k.upper() not in SETTING_NAMES}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(ROOT / "watchlists"), str(article)],
        capture_output=True, text=True, cwd=tmp_path, timeout=60, check=True, env=env,
    )
    modules = set(json.loads(done.stdout.splitlines()[-1]))
    loaded = {name.split(".")[0] for name in modules}
    assert '"watchlist": "russia-belarus-ukraine"' in done.stdout  # it scanned, languages too
    assert "langdetect" in loaded  # the list limited to languages had the article's detected
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))
    deferred = {m for m in modules for d in DEFERRED if m == d or m.startswith(d + ".")}
    assert not deferred, sorted(deferred)

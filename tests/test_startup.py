"""`alertbot scan` of a text file starts fast: it loads none of the heavy libraries.

A fresh interpreter is the point (the test process has them all loaded), so this runs
one subprocess. The figure itself (under 1 s) is in bench/startup.py, not asserted here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

HEAVY = ("sqlalchemy", "trafilatura", "httpx", "datasketch", "scipy", "numpy", "feedparser",
         "telegram", "slack_bolt", "slack_sdk", "matplotlib", "aiohttp", "apscheduler")

PROBE = """
import json, sys
from bot.cli import main
sys.argv = ["alertbot", "scan", "--format", "json", "-w", sys.argv[1], sys.argv[2]]
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def test_scan_of_a_text_file_loads_no_heavy_library(tmp_path: Path) -> None:
    article = tmp_path / "a.txt"
    article.write_text("Troops arrive\n\nRussian troops arrived in Belarus on Monday.\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(ROOT / "watchlists"), str(article)],
        capture_output=True, text=True, cwd=tmp_path, timeout=60, check=True,
    )
    loaded = set(json.loads(done.stdout.splitlines()[-1]))
    assert '"watchlist"' in done.stdout  # it did scan (an alert line came out)
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))

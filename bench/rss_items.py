"""Real RSS items as JSON lines, from a clone of rumca-js/RSS-Link-Database-2023 (see bench/realnews.py).

    python bench/rss_items.py CLONE REV 2023/12 20000 > items.jsonl

The repository keeps each day's entries as `YYYY/MM/YYYY-MM-DD/*_entries.json` in its history
(its last commit replaces them by zips: pass the commit before it as REV). Newest first, one
item per link.
"""

import html
import json
import re
import subprocess
import sys

repo, rev, prefix, limit = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
names = subprocess.run(
    ["git", "-C", repo, "ls-tree", "-r", "--name-only", rev, "--", prefix],
    capture_output=True,
    text=True,
    check=True,
).stdout.split()
names = sorted((n for n in names if n.endswith("_entries.json")), reverse=True)
seen, n = set(), 0
for name in names:
    rows = json.loads(
        subprocess.run(
            ["git", "-C", repo, "show", f"{rev}:{name}"], capture_output=True, check=True
        ).stdout
    )
    for r in rows:
        link = r.get("link") or ""
        if link in seen or not (r.get("title") or r.get("description")):
            continue
        seen.add(link)
        text = html.unescape(re.sub(r"<[^>]*>", " ", r.get("description") or ""))
        text = " ".join(text.split())
        print(
            json.dumps(
                {
                    "title": r.get("title") or "",
                    "text": text,
                    "url": link,
                    "source": r.get("source") or "",
                    "published": r.get("date_published") or "",
                },
                ensure_ascii=False,
            )
        )
        n += 1
        if n >= limit:
            sys.exit(0)

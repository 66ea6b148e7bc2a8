"""Benchmark: start-up of ``alertbot scan`` on one short file (run by hand).

    python bench/startup.py [--repeat 7] [--baseline CHECKOUT ...]

Runs ``python -m bot scan --format json`` on a one-paragraph text file with the
bundled watchlists, ``--repeat`` times, beside ``python -c pass`` (the interpreter
alone) and, for each ``--baseline`` checkout (e.g. a worktree of main), the same scan
with that checkout's ``bot`` package first on ``PYTHONPATH``. Reports the best and
median wall seconds and the best CPU seconds (user + system of the child): on a
busy machine the CPU figure moves less. Goal: under 1 s.

The untimed first run of each command writes the ``.pyc`` files (the children run
without ``PYTHONDONTWRITEBYTECODE``, which would have every run compile the sources)
and, for this checkout, its caches (``data/cache``: the language detector's profiles,
the watchlist files' documents), as any second scan on a machine finds them.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import cpu_model  # noqa: E402

TEXT = "Troops arrive\n\nRussian troops arrived in Belarus on Monday for joint exercises.\n"


def timed(cmd: list[str], env: dict[str, str], cwd: str) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=cwd, check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--baseline", type=Path, action="append", default=[])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        article = Path(tmp) / "article.txt"
        article.write_text(TEXT, encoding="utf-8")
        scan = [
            sys.executable,
            "-m",
            "bot",
            "scan",
            "--format",
            "json",
            "-w",
            str(ROOT / "watchlists"),
            str(article),
        ]
        base = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        runs: list[tuple[str, list[str], dict[str, str]]] = [
            ("`python -c pass`", [sys.executable, "-c", "pass"], dict(base)),
            ("`alertbot scan`, this checkout", scan, dict(base)),
        ]
        for tree in args.baseline:
            env = dict(base, PYTHONPATH=str(tree))
            runs.append((f"`alertbot scan`, {tree.name}", scan, env))
        print(
            f"machine: {cpu_model()}; load average {os.getloadavg()[0]:.1f} "
            f"({os.cpu_count()} cores); {time.strftime('%Y-%m-%d')}"
        )
        print()
        print("| command | best wall s | median wall s | best CPU s |")
        print("|---|---:|---:|---:|")
        for label, cmd, env in runs:
            timed(cmd, env, tmp)  # warm the file cache and the .pyc files
            results = [timed(cmd, env, tmp) for _ in range(args.repeat)]
            walls = [w for w, _ in results]
            print(
                f"| {label} | {min(walls):.2f} | {statistics.median(walls):.2f} | "
                f"{min(c for _, c in results):.2f} |"
            )


if __name__ == "__main__":
    main()

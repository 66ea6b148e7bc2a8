"""What an installed (non-editable) alertbot carries, and the lock file's pins.

Building a wheel compiles the C extension and takes long; instead setuptools'
own ``build_py`` (the step of a wheel build that lays out the Python files and
the package data) copies the package into a temporary folder, with the
project's real setup.py and pyproject.toml. The bot then runs from there, in
an empty working directory, with no WATCHLIST_DIR or SOURCES: what a
``pip install .`` user gets. (The manual check with a fresh venv and a real
``pip install .`` is in the README.)
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from bot.bundled import checkout_dir, default_dir
from bot.ingest.sources import load_sources

ROOT = Path(__file__).resolve().parent.parent


def repo_files(folder: str) -> set[str]:
    return {p.name for p in (ROOT / folder).iterdir() if p.is_file()}


@pytest.fixture(scope="module")
def build_lib(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run setuptools' build_py for this project into a temp folder; return that folder."""
    out = tmp_path_factory.mktemp("build_lib")
    egg_base = tmp_path_factory.mktemp("egg")  # keep the .egg-info out of the clone
    script = (
        "import sys, setuptools\n"
        "from distutils.core import run_setup\n"
        "dist = run_setup('setup.py', stop_after='config')\n"
        f"dist.get_command_obj('egg_info').egg_base = {str(egg_base)!r}\n"
        "cmd = dist.get_command_obj('build_py')\n"
        f"cmd.build_lib = {str(out)!r}\n"
        "cmd.ensure_finalized()\n"
        "cmd.run()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return out


def run_installed(build_lib: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``alertbot ARGS`` from the built copy, in ``cwd``, with no WATCHLIST_DIR/SOURCES/.env."""
    env = {k: v for k, v in os.environ.items() if k not in ("WATCHLIST_DIR", "SOURCES")}
    env["PYTHONPATH"] = str(build_lib)  # ahead of the editable install of the clone
    code = "from bot.cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_install_carries_every_watchlist_file(build_lib: Path) -> None:
    shipped = build_lib / "bot" / "watchlists"
    assert repo_files("watchlists"), "no watchlists in the clone?"
    assert {p.name for p in shipped.iterdir()} == repo_files("watchlists")


def test_the_install_carries_the_demo_sources_and_the_files_they_name(build_lib: Path) -> None:
    shipped = build_lib / "bot" / "samples"
    assert (shipped / "sources.yaml").is_file()
    for spec in load_sources(shipped / "sources.yaml"):
        assert Path(spec.target).exists(), spec.name
        assert str(spec.target).startswith(str(shipped)), spec.target
    assert repo_files("samples") <= {p.name for p in shipped.iterdir()}


def test_installed_bot_finds_its_watchlists_outside_a_clone(
    build_lib: Path, tmp_path: Path
) -> None:
    """From an empty folder, ``eval`` loads the package's watchlists (not the clone's)."""
    labelled = tmp_path / "labelled.jsonl"
    rows = [
        {
            "title": "Russian troops arrive in Belarus",
            "text": "Two battalions of Russian troops arrived in Belarus near the Ukrainian border.",
            "label": "troop-movements",
        },
        {"title": "Belarus wins the hockey final", "text": "Minsk celebrated.", "label": "none"},
    ]
    labelled.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    probe = (
        "from bot.bundled import default_dir; from bot.config import Settings; "
        "s = Settings(); print(default_dir('watchlists')); print(s.sources)"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("WATCHLIST_DIR", "SOURCES")}
    env["PYTHONPATH"] = str(build_lib)
    where = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert where.returncode == 0, where.stderr
    watchlists, sources = where.stdout.split()
    assert Path(watchlists) == build_lib / "bot" / "watchlists"
    assert Path(sources) == build_lib / "bot" / "samples" / "sources.yaml"

    done = run_installed(build_lib, tmp_path, "eval", str(labelled))
    assert done.returncode == 0, done.stderr
    assert "no such watchlist directory" not in done.stderr
    assert re.search(r"^overall \(any watchlist\)\s+1\.000\s+1\.000", done.stdout, re.M), (
        done.stdout
    )


def test_installed_bot_reads_a_lexicon_shipped_beside_its_watchlists(
    build_lib: Path, tmp_path: Path
) -> None:
    """The bundled lexicon (watchlists/lexicon.yaml, shipped like every file there) is
    found as in a clone: the bundled lists that use it alert from an empty folder."""
    assert (build_lib / "bot" / "watchlists" / "lexicon.yaml").is_file()
    work = tmp_path / "work"
    work.mkdir()
    (work / "a.txt").write_text("Marines deployed to the frontier\n", encoding="utf-8")
    done = run_installed(build_lib, work, "scan", "a.txt", "--format", "json")
    assert done.returncode == 0, done.stderr
    fired = {json.loads(line)["watchlist"] for line in done.stdout.splitlines()}
    assert "troop-movements" in fired and "military" not in fired

def test_a_clone_keeps_its_own_folders() -> None:
    """``make run`` in a clone reads the clone's watchlists/ and samples/, as before."""
    assert default_dir("watchlists") == ROOT / "watchlists"
    assert default_dir("samples") == ROOT / "samples"


def test_a_folder_without_pyproject_is_not_taken_for_a_clone(tmp_path: Path) -> None:
    (tmp_path / "watchlists").mkdir()
    assert checkout_dir("watchlists", tmp_path) is None
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    assert checkout_dir("watchlists", tmp_path) == tmp_path / "watchlists"


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(path: Path) -> dict[str, str]:
    pins = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)", path.read_text(), re.M)
    return {normalise(name): version for name, version in pins}


def direct_pins(requirements: list[str]) -> dict[str, str]:
    out = {}
    for req in requirements:
        name, _, version = req.partition("==")
        out[normalise(name.split("[")[0])] = version
    return out


def test_lock_files_hold_the_direct_pins_of_pyproject() -> None:
    """A pin changed in pyproject.toml without ``make lock`` fails here."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = direct_pins(project["dependencies"])
    dev = direct_pins(project["optional-dependencies"]["dev"])
    run_lock, dev_lock = locked(ROOT / "requirements.lock"), locked(ROOT / "requirements-dev.lock")
    for name, version in runtime.items():
        assert run_lock.get(name) == version, f"requirements.lock: {name}"
    for name, version in (runtime | dev).items():
        assert dev_lock.get(name) == version, f"requirements-dev.lock: {name}"
    assert "lxml-html-clean" in run_lock
    shared = run_lock.keys() & dev_lock.keys()
    assert {n: run_lock[n] for n in shared} == {n: dev_lock[n] for n in shared}


@pytest.mark.parametrize("xdg", ["set", "unset"])
def test_installed_bot_keeps_its_database_in_the_per_user_data_folder(
    build_lib: Path, tmp_path: Path, xdg: str
) -> None:
    """Outside a clone the default database is ``$XDG_DATA_HOME/alertbot`` (else
    ``~/.local/share/alertbot``), not ``./data/`` of whatever folder the command runs in."""
    probe = "from bot.config import Settings; print(Settings().database_url)"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "XDG_DATA_HOME")}
    env["PYTHONPATH"] = str(build_lib)
    env["HOME"] = str(tmp_path / "home")
    if xdg == "set":
        env["XDG_DATA_HOME"] = str(tmp_path / "xdg")
    where = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert where.returncode == 0, where.stderr
    base = tmp_path / "xdg" if xdg == "set" else tmp_path / "home" / ".local" / "share"
    assert where.stdout.strip() == f"sqlite:///{base / 'alertbot' / 'alertbot.db'}"


async def test_installed_entry_point_and_healthcheck_command_run(
    build_lib: Path, tmp_path: Path
) -> None:
    """What the Dockerfile runs (ENTRYPOINT alertbot, HEALTHCHECK alertbot healthcheck), from
    an installed copy: exit 0 on a healthy /healthz, 1 on a 503 or when nothing listens."""
    import asyncio

    from aiohttp import web

    state = {"status": 200}

    async def healthz(request: web.Request) -> web.Response:
        ok = state["status"] == 200
        return web.json_response({"ok": ok}, status=state["status"])

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    env = {k: v for k, v in os.environ.items() if k not in ("WATCHLIST_DIR", "SOURCES")}
    env.update(PYTHONPATH=str(build_lib), HTTP_HOST="0.0.0.0", HTTP_PORT=str(port))

    async def alertbot(*args: str) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", "from bot.cli import main; main()", *args,
            cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode is not None
        return proc.returncode, out.decode(), err.decode()

    try:
        code, out, _ = await alertbot("--version")
        assert code == 0 and out.startswith("alertbot")
        code, out, _ = await alertbot("healthcheck")  # HTTP_HOST 0.0.0.0 is asked on 127.0.0.1
        assert code == 0 and out.startswith("healthy")
        state["status"] = 503
        code, _, err = await alertbot("healthcheck")
        assert code == 1 and err.startswith("alertbot: unhealthy (HTTP 503)")
    finally:
        await runner.cleanup()
    code, _, err = await alertbot("healthcheck")
    assert code == 1 and len(err.strip().splitlines()) == 1 and "unhealthy" in err


def test_the_console_script_has_the_healthcheck_command() -> None:
    script = Path(sys.executable).parent / "alertbot"
    assert script.is_file(), "the alertbot entry point is not installed"
    done = subprocess.run(
        [str(script), "healthcheck", "--url", "http://127.0.0.1:9/healthz", "--timeout", "2"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("alertbot: unhealthy: http://127.0.0.1:9/healthz")

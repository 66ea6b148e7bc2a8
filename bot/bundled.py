"""Where the default watchlists and demo sources are: the clone's folders, else the package's copy.

In a clone (``make run``, an editable install) the defaults are the top-level
``watchlists/`` and ``samples/`` folders that a user edits. An installed
package (``pip install .``, a wheel, pipx, the Docker image) has no clone: it
carries copies of those folders as package data, installed as the
sub-packages ``bot.watchlists`` and ``bot.samples`` (see ``setup.py``), and
the import system says where they are. ``WATCHLIST_DIR`` and ``SOURCES``
override both (``bot/config.py``).

The default database follows the same rule (:func:`default_database_url`): in
a clone, ``data/alertbot.db`` of the clone; installed, the per-user data
folder (``$XDG_DATA_HOME/alertbot``, else ``~/.local/share/alertbot``). It is
never relative to the working directory, so ``alertbot chat`` from another
folder opens the same database as ``make run``. ``DATABASE_URL`` overrides it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent
CHECKOUT_ROOT = PACKAGE_ROOT.parent  # the clone, when the package runs from one
BUNDLED = ("watchlists", "samples")


def checkout_dir(name: str, root: Path | None = None) -> Path | None:
    """``root/name`` when ``root`` (default: the clone) is a source checkout that has it."""
    root = CHECKOUT_ROOT if root is None else root
    folder = root / name
    return folder if (root / "pyproject.toml").is_file() and folder.is_dir() else None


def is_checkout(root: Path | None = None) -> bool:
    """Whether ``root`` (default: where the package runs from) is a source checkout."""
    return ((CHECKOUT_ROOT if root is None else root) / "pyproject.toml").is_file()


def default_data_dir() -> Path:
    """Where the default database lives: the clone's ``data/``, else the per-user data
    folder of the XDG base-directory spec (a relative ``XDG_DATA_HOME`` is ignored, as
    the spec says)."""
    if is_checkout():
        return CHECKOUT_ROOT / "data"
    xdg = os.environ.get("XDG_DATA_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share"
    return base / "alertbot"


def cache_dir() -> Path:
    """Where what is quicker to read than to rebuild is kept (the language detector's
    profiles, parsed watchlist files): ``cache/`` of :func:`default_data_dir`. Anything
    in it may be deleted at any time; it is rebuilt on first use."""
    return default_data_dir() / "cache"


def write_cache_file(path: Path, data: bytes) -> OSError | None:
    """Write ``data`` at ``path`` (under :func:`cache_dir`) atomically: the file appears
    whole or not at all, whatever other processes read meanwhile. The error when the
    folder cannot be written (which only costs the speed), else None."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError as err:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        return err
    return None


def default_database_url() -> str:
    """``DATABASE_URL``'s default: a SQLite file in :func:`default_data_dir` (absolute)."""
    return f"sqlite:///{default_data_dir() / 'alertbot.db'}"


def packaged_dir(name: str) -> Path | None:
    """The installed copy of ``name`` (``bot.<name>``), or None when the install has none."""
    try:
        spec = importlib.util.find_spec(f"bot.{name}")
    except ImportError:
        return None
    for location in (spec.submodule_search_locations or []) if spec else []:
        if Path(location).is_dir():
            return Path(location)
    return None


def default_dir(name: str) -> Path:
    """The folder ``name`` (one of :data:`BUNDLED`) of a clone, else of the package.

    When neither exists, the path where the package copy belongs: the caller's
    "no such watchlist directory" message then names a real place.
    """
    return checkout_dir(name) or packaged_dir(name) or PACKAGE_ROOT / name

"""The layers' dependency rules, checked on the source: a new arrow of the wrong kind fails here.

* nothing under ``bot/`` imports ``handlers/``, except ``bot/cli.py`` (the composition root);
* nothing under ``bot/engine/`` imports ``bot.runtime``, ``bot.store`` or ``bot.answers``;
* nothing under ``bot/ingest/`` imports ``bot.store``.

Every import counts, also one inside a function (a late import is still an arrow).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FORBIDDEN: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [
    # (folder, modules it may not import, files exempt)
    ("bot", ("handlers",), ("bot/cli.py",)),
    ("bot/engine", ("bot.runtime", "bot.store", "bot.answers"), ()),
    ("bot/ingest", ("bot.store",), ()),
]


def imported_modules(path: Path, root: Path) -> list[tuple[int, str]]:
    """(line, module) for every import in the file, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            # ``from bot import store`` imports bot.store
            found.extend((node.lineno, f"{module}.{alias.name}") for alias in node.names)
    return found


def violations(
    folder: str, banned: tuple[str, ...], exempt: tuple[str, ...], root: Path = ROOT
) -> list[str]:
    out = []
    for path in sorted((root / folder).rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel in exempt:
            continue
        for line, module in imported_modules(path, root):
            if any(module == b or module.startswith(b + ".") for b in banned):
                out.append(f"{rel}:{line} imports {module}")
    return out


@pytest.mark.parametrize(("folder", "banned", "exempt"), FORBIDDEN, ids=[f[0] for f in FORBIDDEN])
def test_no_import_against_the_layers(
    folder: str, banned: tuple[str, ...], exempt: tuple[str, ...]
) -> None:
    assert violations(folder, banned, exempt) == []


def test_the_checker_sees_a_wrong_arrow(tmp_path: Path) -> None:
    """The walk finds plain, from-, late and relative imports (so the rules above can fail)."""
    engine = tmp_path / "bot" / "engine"
    engine.mkdir(parents=True)
    (engine / "bad.py").write_text(
        "import bot.store.db\n"
        "from bot import answers\n"
        "from bot.models import Article\n"
        "def f():\n    from bot.runtime import service\n"
        "from ..store import tables\n",
        encoding="utf-8",
    )
    found = violations("bot/engine", ("bot.runtime", "bot.store", "bot.answers"), (), tmp_path)
    lines = sorted({int(f.split(" imports ")[0].rsplit(":", 1)[1]) for f in found})
    assert lines == [1, 2, 5, 6]


def test_the_faces_use_only_the_commands_entry_points() -> None:
    """``handlers.commands`` re-exports what the faces call, and nothing of its rooms."""
    import handlers.commands as commands

    assert sorted(commands.__all__) == [
        "command_specs",
        "handle_button",
        "handle_file",
        "handle_text",
    ]

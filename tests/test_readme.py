"""The README is true: each of its example outputs is what the code prints, re-run here;
its settings, options and admin marks are the code's (issue #14).

The examples are the README's ``<!-- readme-check: … -->`` blocks (the forms are in
tests/readme_check.py). They run in-process against the clone's watchlists and samples
and tests/fixtures/readme/; ``run``, ``chat`` and ``/healthz`` on a temporary SQLite
database that one ``alertbot run --once`` of the sample sources filled, as ``make run``
fills a fresh clone's. ``pytest tests/test_readme.py --update-readme`` writes the code's
output into the blocks instead of failing (review the diff before committing).
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import shlex
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from readme_check import (
    PART,
    PROMPT,
    SHAPE,
    Example,
    diff,
    examples,
    json_block,
    misfits,
    parts,
    place,
    rewrite,
    sketch,
    timeless,
)
from test_commands_support import ROOT
from typer.testing import CliRunner

import bot.cli
from bot.cli import app
from bot.config import Settings, load_settings
from handlers.commands import command_specs

README_PATH = ROOT / "README.md"
README = README_PATH.read_text(encoding="utf-8")
EXAMPLES = examples(README)
WORKER = "host:4242"  # the README's WORKER_ID in the /healthz example
SAMPLE_RUN = ["run", "--once"]


# --- the environment the examples run in ---------------------------------------


@contextmanager
def environment(data: Path, cwd: Path) -> Iterator[None]:
    """No setting from the caller's environment; the database ``data/alertbot.db`` under
    ``data``; the logging set-up of the process given back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    with pytest.MonkeyPatch.context() as mp:
        for name in Settings.model_fields:
            mp.delenv(name.upper(), raising=False)
        mp.setenv("DATABASE_URL", f"sqlite:///{data / 'data' / 'alertbot.db'}")
        mp.setenv("WORKER_ID", WORKER)
        mp.setenv("LOG_FORMAT", "text")
        mp.chdir(cwd)
        try:
            yield
        finally:
            root.handlers[:], root.level = handlers, level


@dataclass
class Output:
    stdout: str
    stderr: str
    folders: list[Path] = field(default_factory=list)  # written as /home/me/alertbot

    def placed(self, text: str | None = None) -> str:
        return place(self.stdout if text is None else text, self.folders)


def invoke(
    args: list[str], data: Path, cwd: Path = ROOT, code: int = 0, **env: str
) -> Output:
    with environment(data, cwd), pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        result = CliRunner().invoke(app, args)
    assert result.exit_code == code, (args, result.stdout, result.stderr, result.exception)
    return Output(result.stdout, result.stderr, [ROOT, data])


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> Output:
    """``alertbot run --once`` on a fresh database: what ``make run`` prints first."""
    data = tmp_path_factory.mktemp("fresh-clone")
    return invoke(SAMPLE_RUN, data, cwd=data)


def copy_of_the_sample_database(sample_run: Output, folder: Path) -> Path:
    (folder / "data").mkdir(parents=True)
    seeded = sample_run.folders[1] / "data"
    for path in seeded.glob("alertbot.db*"):
        shutil.copyfile(path, folder / "data" / path.name)
    return folder


class Typed(io.StringIO):
    """Standard input that echoes each line it gives, after the prompt, as a terminal shows
    what was typed."""

    def __init__(self, commands: list[str], screen: io.StringIO) -> None:
        super().__init__("".join(c + "\n" for c in commands))
        self.screen = screen

    def readline(self, size: int | None = -1) -> str:
        line = super().readline()
        if line:
            self.screen.write(PROMPT + line)
        return line


def chat_session(commands: list[str], data: Path) -> Output:
    """The commands typed into ``alertbot chat`` (the terminal face), on ``data``'s database."""
    screen, errors = io.StringIO(), io.StringIO()
    with environment(data, data), pytest.MonkeyPatch.context() as mp:
        mp.setattr(sys, "stdin", Typed(commands, screen))
        mp.setattr(sys, "stdout", screen)
        mp.setattr(sys, "stderr", errors)
        bot.cli.chat(watchlists=None)
    return Output(screen.getvalue(), errors.getvalue(), [ROOT, data])


def healthz(data: Path) -> dict[str, Any]:
    """The body of ``GET /healthz`` of a running watch on ``data``'s database."""
    from bot.runtime.service import Service
    from bot.runtime.webapp import SCHEDULER_KEY, make_web_app

    async def ask() -> dict[str, Any]:
        service = Service(load_settings(), {})
        scheduler = AsyncIOScheduler()
        scheduler.start()
        web_app = make_web_app(service)
        web_app[SCHEDULER_KEY] = scheduler
        try:
            async with TestClient(TestServer(web_app)) as client:
                response = await client.get("/healthz")
                assert response.status == 200
                body: dict[str, Any] = await response.json()
                return body
        finally:
            scheduler.shutdown(wait=False)
            await service.close()

    with environment(data, data):
        return asyncio.run(ask())


# --- the examples ---------------------------------------------------------------

NEW_BODIES: dict[int, tuple[int, str]] = {}  # --update-readme: block start -> (end, body)


@pytest.fixture(scope="module", autouse=True)
def _update_readme(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if request.config.getoption("--update-readme") and NEW_BODIES:
        README_PATH.write_text(rewrite(README, NEW_BODIES), encoding="utf-8")


def agree(example: Example, actual: str, request: pytest.FixtureRequest) -> None:
    """The block shows ``actual`` (paths placed), the clock's times aside; else a diff,
    or with --update-readme the block is rewritten."""
    if timeless(example.shown) == timeless(actual):
        return
    if request.config.getoption("--update-readme"):
        NEW_BODIES[example.start] = (example.end, actual)
        return
    pytest.fail(
        f"README.md {example.id} is not what the code prints "
        f"(pytest {__file__} --update-readme rewrites it; the clock's times as <time>):\n"
        + diff(timeless(example.shown), timeless(actual)),
        pytrace=False,
    )


def test_the_readme_has_each_kind_of_checked_example() -> None:
    specs = [e.spec for e in EXAMPLES]
    for kind in ("alertbot scan ", "alertbot eval ", "alertbot run --once; part ", "alertbot chat"):
        assert any(s.startswith(kind) for s in specs), kind
    assert "GET /healthz" in specs and any(SHAPE.match(s) for s in specs)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.id)
def test_each_example_is_what_the_code_prints(
    example: Example, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    spec = example.spec
    if spec == "alertbot chat":
        commands = [line[len(PROMPT) :] for line in example.shown.splitlines() if line.startswith(PROMPT)]
        assert commands, "a chat example types commands after the prompt"
        data = copy_of_the_sample_database(request.getfixturevalue("sample_run"), tmp_path)
        agree(example, chat_session(commands, data).placed().rstrip("\n"), request)
    elif spec == "GET /healthz":
        body = healthz(copy_of_the_sample_database(request.getfixturevalue("sample_run"), tmp_path))
        if json.loads(timeless(example.shown)) != json.loads(timeless(json.dumps(body))):
            agree(example, json_block(body), request)
    elif shape := SHAPE.match(spec):
        out = invoke(shlex.split(shape["command"].removeprefix("alertbot ")), tmp_path)
        tries = [misfits(sketch(example.shown), json.loads(line)) for line in out.stdout.splitlines()]
        assert tries and not all(tries), f"README.md {example.id}: " + "; ".join(min(tries, key=len))
    elif part := PART.match(spec):
        args = shlex.split(part["command"].removeprefix("alertbot "))
        assert args == SAMPLE_RUN, "a part of what the sample run printed"
        pieces = parts(request.getfixturevalue("sample_run").placed())
        assert len(pieces) == int(part["m"]), pieces
        agree(example, pieces[int(part["n"]) - 1], request)
    else:
        assert spec.startswith("alertbot "), spec
        out = invoke(shlex.split(spec.removeprefix("alertbot ")), tmp_path)
        agree(example, out.placed().rstrip("\n"), request)


def test_the_run_once_summary_is_the_sample_runs(sample_run: Output) -> None:
    shown = re.search(r"one summary line,\s+e\.g\. `(run --once: [^`]+)`", README)
    assert shown, "the README gives the summary line of run --once"
    assert " ".join(shown[1].split()) in sample_run.stderr


def test_the_database_line_is_the_one_chat_prints(sample_run: Output, tmp_path: Path) -> None:
    shown = re.search(r"e\.g\. `(database\s+sqlite:[^`]+)`", README)
    assert shown, "the README shows which database run and chat say they use"
    data = copy_of_the_sample_database(sample_run, tmp_path)
    said = chat_session([], data)
    assert " ".join(shown[1].split()) in said.placed(said.stderr)


def test_the_saved_file_line_is_one_the_chat_example_shows() -> None:
    shown = re.search(r"its path printed: `(\[saved [^`]+\])`", README)
    assert shown, "the README shows where the terminal saves an export"
    session = next(e.shown for e in EXAMPLES if e.spec == "alertbot chat")
    assert shown[1] in session.splitlines()


def said(fragment: str) -> str:
    """The README's code span that starts with ``fragment``, on one line."""
    found = re.search(rf"`({re.escape(fragment)}[^`]*)`", " ".join(README.split()))
    assert found, f"the README no longer shows {fragment!r}"
    return found[1]


def test_the_error_lines_shown_are_the_ones_printed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bad = tmp_path / "x.json"
    bad.write_text('[{"title": "a", "text": "b"}, {"title": "c", "text": "d"}, {"x": 1}]')
    out = invoke(["scan", "nope.txt", "x.json"], tmp_path, cwd=tmp_path, code=2)
    assert said("alertbot: nope.txt:") in out.stderr.splitlines()
    assert said("x.json: item 3") in caplog.messages  # a warning: on stderr outside pytest
    folder = tmp_path / "lists"
    folder.mkdir()
    rule = re.search(r"\(`rule: ([^`]+)`\)", README)
    assert rule, "the README gives the bad rule it shows the error of"
    (folder / "troops.yaml").write_text(f"name: troops\nkeywords: [troops]\nrule: {rule[1]}\n")
    out = invoke(["scan", "x.json", "-w", str(folder)], tmp_path, code=2)
    assert f"alertbot: {folder}/{said('troops.yaml: rule:')}" in out.stderr.splitlines()
    out = invoke(["run", "--once"], tmp_path, code=2, RETENTION_DAYS="abc")
    assert out.stderr.splitlines() == [said("alertbot: bad setting")]


# --- what the README says about settings, options, commands ----------------------


def test_every_setting_is_documented() -> None:
    for name in Settings.model_fields:
        assert f"`{name.upper()}`" in README, name


def test_every_option_of_every_command_is_documented() -> None:
    import typer.main

    group = typer.main.get_command(app)
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        assert f"alertbot {name}" in README, name
        for param in command.params:
            for option in [*param.opts, *param.secondary_opts]:
                if option.startswith("--") and option != "--help":
                    assert re.search(rf"(?<![\w-]){option}\b", README), (name, option)


def test_the_command_path_after_make_run_is_said() -> None:
    assert "`.venv/bin/alertbot`" in README
    assert 'export PATH="$PWD/.venv/bin:$PATH"' in README


def test_admin_marks_in_the_command_table_are_the_ones_help_shows(tmp_path: Path) -> None:
    helped = chat_session(["help"], tmp_path).stdout
    admin_in_help = {line.split()[0] for line in helped.splitlines() if " (admins) — " in line}
    assert admin_in_help == {s.name for s in command_specs() if s.admin_only} - {"start"}
    rows = re.findall(r"^\| `([a-z]+)[^`]*` \| (.*) \|$", README, re.M)
    checked = 0
    for name, rest in rows:
        if name not in {s.name for s in command_specs()} or name == "sources":
            continue  # the sources row covers three commands: checked below
        checked += 1
        assert ("(admins)" in rest) == (name in admin_in_help), name
    assert checked >= 15
    sources_row = next(line for line in README.splitlines() if line.startswith("| `sources`"))
    assert "adding/removing: admins" in sources_row and {"addsource", "removesource"} <= admin_in_help

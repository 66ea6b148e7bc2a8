"""``alertbot learn FILE --watchlist WL``: a labelled file trains and stores a model version."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from test_relevance import FALSE_FRIENDS, RELEVANT
from typer.testing import CliRunner

from bot.cli import app
from bot.store.tables import LabelledRow, RelevanceModelRow

MOVES = """\
name: moves
groups:
  forces: [troops, soldiers]
  move: [deploy*, sent, arriv*]
  hedge: [could, may]
rule: "@forces NEAR/6 (@move NEAR/4 NOT @hedge)"
min_score: 0.0
"""
runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "watchlists"
    folder.mkdir()
    (folder / "moves.yaml").write_text(MOVES, encoding="utf-8")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'a.db'}")
    monkeypatch.setenv("WATCHLIST_DIR", str(folder))
    return tmp_path


def _file(path: Path, extra: list[str] = ()) -> Path:  # type: ignore[assignment]
    rows = [{"title": t, "text": "", "label": "moves"} for t in RELEVANT]
    rows += [{"title": t, "text": "", "label": "none"} for t in FALSE_FRIENDS]
    rows.append({"title": "Soldiers massing in the hills", "text": "", "label": "moves"})  # missed
    rows.append({"title": "Weather in the capital", "text": "", "label": "none"})  # no alert
    lines = [json.dumps(r) for r in rows] + list(extra)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_learn_trains_and_stores_a_model_and_names_each_bad_line(env: Path) -> None:
    labelled = _file(env / "l.jsonl", ['{"title": 3}', "not json"])
    result = runner.invoke(app, ["learn", str(labelled), "--watchlist", "moves"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "moves: learned from 12 labelled items (2 bad lines skipped)" in out
    assert "5 relevant, 5 not relevant; 1 relevant items it did not alert on (missed)" in out
    assert "1 not relevant without an alert" in out
    assert "model v1 trained on 11 items" in out and "held-out precision" in out
    bad = [line for line in result.stderr.splitlines() if "(skipped)" in line]
    assert bad == [
        f"alertbot: {labelled}: line 13: missing 'title', 'label', 'text' (skipped)",
        f"alertbot: {labelled}: line 14: not JSON (Expecting value) (skipped)",
    ]
    engine = create_engine(f"sqlite:///{env / 'a.db'}")
    with Session(engine) as s:
        [row] = s.scalars(select(RelevanceModelRow)).all()
        assert (row.watchlist, row.version, row.examples) == ("moves", 1, 11)
        assert len(s.scalars(select(LabelledRow)).all()) == 12
    again = runner.invoke(app, ["learn", str(labelled), "--watchlist", "moves"])
    assert "0 new, 0 relabelled" in again.stdout and "model v2" in again.stdout
    engine.dispose()


def test_learn_refuses_an_unknown_watchlist_or_label_in_one_line(env: Path) -> None:
    labelled = _file(env / "l.jsonl")
    result = runner.invoke(app, ["learn", str(labelled), "--watchlist", "nosuch"])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1].startswith("alertbot: --watchlist nosuch: no such")
    other = env / "o.jsonl"
    other.write_text(json.dumps({"title": "x", "text": "", "label": "troop"}) + "\n", "utf-8")
    result = runner.invoke(app, ["learn", str(other), "--watchlist", "moves"])
    assert result.exit_code == 2 and "unknown label 'troop'" in result.stderr


def test_eval_learn_first_json_has_before_and_after_per_watchlist(env: Path) -> None:
    later = ["Soldiers deployed to the border crossing at dawn", "Scout troops sent to the jamboree"]
    rows = [{"title": t, "text": "", "label": "moves"} for t in RELEVANT]
    rows += [{"title": t, "text": "", "label": "none"} for t in FALSE_FRIENDS]
    rows += [{"title": later[0], "text": "", "label": "moves"}]
    rows += [{"title": later[1], "text": "", "label": "none"}]
    labelled = env / "stream.jsonl"
    labelled.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    result = runner.invoke(
        app,
        ["eval", str(labelled), "-w", str(env / "watchlists"), "--learn-first", "10", "-f", "json"],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["learn_alerts"], data["evaluated_items"]) == (10, 2)
    moves = data["per_watchlist"]["moves"]
    assert moves["feedback"] == {"relevant": 5, "not_relevant": 5, "missed": 0}
    assert moves["model"]["examples"] == 10
    assert moves["before"]["fp"] == 1 and moves["before"]["precision"] == 0.5
    assert moves["after"]["fp"] == 0 and moves["after"]["tp"] == 1
    assert moves["change"] == {"precision": 0.5, "recall": 0.0}
    assert data["overall"]["after"]["precision"] == 1.0 and data["held_back"] == 1

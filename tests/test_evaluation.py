"""alertbot eval: counts, error messages and miss explanations."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.engine.evaluation import EvalError, evaluate, load_labelled, parse_map
from bot.engine.matcher import Matcher
from bot.engine.watchlist import load_text

WL = """\
name: moves
groups:
  force: [troops, soldiers]
  move: [arrived, deployed]
rule: '@force NEAR/3 @move'
min_score: 0
"""


def write_jsonl(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


ROWS = [
    {"id": "tp1", "title": "Troops arrived in Minsk", "text": "", "label": "moves"},
    {"id": "tp2", "title": "Soldiers deployed north", "text": "", "label": "moves"},
    {"id": "fn1", "title": "Troops seen near the river", "text": "", "label": "moves"},
    {"id": "fp1", "title": "Soldiers arrived at the stadium", "text": "", "label": "none"},
    {"id": "tn1", "title": "Weather is fine", "text": "", "label": "none"},
    {"id": "tn2", "title": "Markets rose", "text": "", "label": "none"},
]


def test_counts_precision_recall(tmp_path: Path) -> None:
    items = load_labelled(write_jsonl(tmp_path / "l.jsonl", ROWS))
    report = evaluate(items, Matcher([load_text(WL)]), baselines=["troops"])
    c = report.overall
    assert (c.tp, c.fp, c.fn, c.tn) == (2, 1, 1, 2)
    assert c.precision == pytest.approx(2 / 3)
    assert c.recall == pytest.approx(2 / 3)
    base = report.baselines["troops"]
    assert (base.tp, base.fp, base.fn) == (2, 0, 1)


def test_false_negative_names_the_failing_rule_part(tmp_path: Path) -> None:
    items = load_labelled(write_jsonl(tmp_path / "l.jsonl", ROWS))
    report = evaluate(items, Matcher([load_text(WL)]))
    (fn,) = [e for e in report.errors if e.kind == "FN"]
    assert fn.item.id == "fn1"
    assert "@move found nothing" in fn.detail[0]
    assert "found: troops" in fn.detail[0]
    (fp,) = [e for e in report.errors if e.kind == "FP"]
    assert fp.item.id == "fp1" and "arrived" in fp.detail[0]


def test_map_ties_labels_to_watchlists(tmp_path: Path) -> None:
    rows = [dict(r, label="troop" if r["label"] == "moves" else "none") for r in ROWS]
    items = load_labelled(write_jsonl(tmp_path / "l.jsonl", rows))
    report = evaluate(items, Matcher([load_text(WL)]), parse_map(["troop=moves"]))
    assert report.per_label["troop"].tp == 2
    with pytest.raises(EvalError, match="unknown label 'troop'"):
        evaluate(items, Matcher([load_text(WL)]))
    with pytest.raises(EvalError, match="no watchlist named 'nope'"):
        evaluate(items, Matcher([load_text(WL)]), parse_map(["troop=nope"]))


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"title": "x", "text": "y"}', "line 2: missing 'label'"),
        ("not json", "line 2: not JSON"),
        ('["a"]', "line 2: expected a JSON object"),
    ],
)
def test_bad_lines_are_named(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(ROWS[0]) + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(EvalError, match=message):
        load_labelled(path)


def test_cli_eval_prints_table_and_exits_2_on_bad_input(tmp_path: Path) -> None:
    wl_dir = tmp_path / "wl"
    wl_dir.mkdir()
    (wl_dir / "moves.yaml").write_text(WL, encoding="utf-8")
    good = write_jsonl(tmp_path / "l.jsonl", ROWS)
    runner = CliRunner()
    result = runner.invoke(app, ["eval", str(good), "--watchlists", str(wl_dir)])
    assert result.exit_code == 0, result.output
    assert "overall (any watchlist)" in result.output
    assert "FN [fn1]" in result.output and "FP [fp1]" in result.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"title": "x"}\n', encoding="utf-8")
    result = runner.invoke(app, ["eval", str(bad), "--watchlists", str(wl_dir)])
    assert result.exit_code == 2
    assert "line 1: missing" in result.output
    assert "Traceback" not in result.output

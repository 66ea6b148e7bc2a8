"""alertbot eval: counts, error messages and miss explanations."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.engine.evaluation import (
    EvalError,
    evaluate,
    load_labelled,
    parse_filter,
    parse_map,
    render_text,
    select,
)
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
    assert fn.detail[1] == "  found in title/lead: troops"
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


# --- per kind, own-label recall, parts of a file, short miss lines -----------

BORDER = """\
name: border
keywords: [border, troops]
rule: border
min_score: 0
"""

KINDS = [
    {"id": "f1", "title": "Troops arrived", "text": "", "label": "moves", "kind": "full"},
    {"id": "f2", "title": "Troops waited", "text": "", "label": "moves", "kind": "full"},
    {"id": "s1", "title": "Soldiers deployed", "text": "", "label": "moves", "kind": "short"},
    {"id": "s2", "title": "Soldiers arrived home", "text": "", "label": "none", "kind": "short"},
]


def test_figures_per_kind(tmp_path: Path) -> None:
    items = load_labelled(write_jsonl(tmp_path / "l.jsonl", KINDS))
    report = evaluate(items, Matcher([load_text(WL)]))
    assert set(report.per_kind) == {"full", "short"}
    full, short = report.per_kind["full"].overall, report.per_kind["short"].overall
    assert (full.tp, full.fn, full.fp) == (1, 1, 0)
    assert (short.tp, short.fn, short.fp) == (1, 0, 1)
    assert report.per_kind["full"].items == 2
    text = render_text(report)
    assert "kind full: 2 items" in text and "kind short: 2 items" in text
    assert "FN [f2] (full)" in text


def test_a_watchlists_recall_counts_its_own_label_only(tmp_path: Path) -> None:
    rows = [
        # a troop item that border fires on: right for border, but not border's to catch
        {"id": "t1", "title": "Troops arrived at the border", "text": "", "label": "troop"},
        {"id": "b1", "title": "The border was closed", "text": "", "label": "border"},
        {"id": "b2", "title": "Tanks massed", "text": "", "label": "border"},
    ]
    items = load_labelled(write_jsonl(tmp_path / "l.jsonl", rows))
    matcher = Matcher([load_text(WL), load_text(BORDER)])
    report = evaluate(items, matcher, parse_map(["troop=moves,border", "border=border"]))
    border = report.per_watchlist["border"]
    assert (border.tp, border.fn, border.other, border.fp) == (1, 1, 1, 0)
    assert border.recall == pytest.approx(0.5)  # b1 of b1, b2 (t1 is not border's)
    assert border.precision == 1.0
    assert "other" in render_text(report)


@pytest.mark.parametrize(
    ("only", "skip", "ids"),
    [
        (["source=wire"], [], {"tp1", "fn1"}),
        (["source=wire,daily"], [], {"tp1", "fn1", "tp2"}),
        (["source~^da"], [], {"tp2"}),
        ([], ["source~(?i)WIRE"], {"tp2", "fp1", "tn1", "tn2"}),
    ],
)
def test_only_and_skip_select_a_part_of_the_file(
    tmp_path: Path, only: list[str], skip: list[str], ids: set[str]
) -> None:
    sources = {"tp1": "wire", "fn1": "wire", "tp2": "daily"}
    rows = [dict(r, source=sources[r["id"]]) if r["id"] in sources else r for r in ROWS]
    items = load_labelled(write_jsonl(tmp_path / "l.jsonl", rows))
    kept = select(items, [parse_filter(o) for o in only], [parse_filter(s, "--skip") for s in skip])
    assert {item.id for item in kept} == ids


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--only", "source"], "--only 'source': expected FIELD=VALUE"),
        (["--only", "source~("], "--only 'source~(': bad regular expression"),
        (["--only", "colour=red"], "'colour=red': no item has a field 'colour'"),
        (["--only", "source=nowhere"], "--only source=nowhere: no item left to evaluate"),
    ],
)
def test_bad_selection_is_one_line_and_exit_2(
    tmp_path: Path, args: list[str], message: str
) -> None:
    wl_dir = tmp_path / "wl"
    wl_dir.mkdir()
    (wl_dir / "moves.yaml").write_text(WL, encoding="utf-8")
    rows = [dict(r, source="wire") for r in ROWS]
    good = write_jsonl(tmp_path / "l.jsonl", rows)
    result = CliRunner().invoke(app, ["eval", str(good), "--watchlists", str(wl_dir), *args])
    assert result.exit_code == 2
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_cli_only_reports_the_selection(tmp_path: Path) -> None:
    wl_dir = tmp_path / "wl"
    wl_dir.mkdir()
    (wl_dir / "moves.yaml").write_text(WL, encoding="utf-8")
    rows = [dict(r, source="wire" if r["id"].startswith("t") else "daily") for r in ROWS]
    good = write_jsonl(tmp_path / "l.jsonl", rows)
    result = CliRunner().invoke(
        app, ["eval", str(good), "--watchlists", str(wl_dir), "--only", "source=wire"]
    )
    assert result.exit_code == 0, result.output
    assert "4 labelled items" in result.output  # tp1, tp2, tn1, tn2
    assert "selected: --only source=wire" in result.output


LONG = """\
name: long
groups:
  force: [troops, soldiers, marines, sailors, pilots, brigade, battalion, division, regiment]
  move: [arrived, deployed, moved, sent, shifted, massed, withdrew, pulled, crossed]
  hedge: [could, may, might, weighs, considers, threatens, offers, refuses, plans]
rule: >-
  (@force NEAR/3 @move AND NOT @hedge) OR (title:@force AND lead:@move)
  OR (@force SENT @move AND NOT (@hedge OR mourned OR remembered OR anniversary))
min_score: 0
"""


def test_every_miss_is_a_few_short_lines_naming_the_closest_branch(tmp_path: Path) -> None:
    words = " ".join(f"word{i}" for i in range(300))
    rows = [
        {"id": "m1", "title": "Marines", "text": f"{words}. Ships were deployed.", "label": "long"}
    ]
    items = load_labelled(write_jsonl(tmp_path / "l.jsonl", rows))
    report = evaluate(items, Matcher([load_text(LONG)]))
    (fn,) = report.errors
    assert 2 <= len(fn.detail) <= 4
    assert all(len(line) <= 160 for line in fn.detail)
    assert "closest of 3" in fn.detail[0]
    assert "one in the title, the other in the body" in fn.detail[0]


def test_a_deep_miss_keeps_the_part_that_says_what_was_missing(tmp_path: Path) -> None:
    """A long chain of ORs and NEARs: the line drops the levels' wording, not its end."""
    alts = " OR ".join(f"(alpha{i} NEAR/2 beta{i})" for i in range(12))
    longs = "quitelongterm OR anotherlongterm OR yetanotherlongterm OR onemorelongterm"
    rule = f"({alts}) OR ((gamma OR delta) NEAR/3 ({longs} OR finallongtermhere))"
    deep = f"name: deep\nrule: >-\n  {rule}\nmin_score: 0\n"
    title = "gamma and then many words before anotherlongterm"
    rows = [{"id": "d1", "title": title, "text": "", "label": "deep"}]
    items = load_labelled(write_jsonl(tmp_path / "l.jsonl", rows))
    (fn,) = evaluate(items, Matcher([load_text(deep)])).errors
    line = fn.detail[0]
    assert len(line) <= 160
    assert "no alternative matched" not in line
    assert " … " in line and line.endswith("(closest: 6 words apart)"), line


def test_a_rule_baseline_is_measured_in_the_same_run(tmp_path: Path) -> None:
    """``--baseline '(a OR b) AND c'`` scores a whole keyword rule beside the watchlists."""
    items = load_labelled(write_jsonl(tmp_path / "l.jsonl", ROWS))
    rule = "(troops OR soldiers) AND (arrived OR seen)"
    report = evaluate(items, Matcher([load_text(WL)]), baselines=[rule, "troops"])
    base = report.baselines[rule]
    # tp1 (arrived), fn1 (seen) caught; fp1 fires too; tp2 (deployed) missed
    assert (base.tp, base.fp, base.fn) == (2, 1, 1)
    text = render_text(report)
    assert "baseline 1: a rule (below)" in text
    assert f"baseline 1: {rule}" in text
    assert "baseline: 'troops' anywhere" in text


@pytest.mark.parametrize("operator", ["SENT", "CLAUSE"])
def test_a_baseline_with_only_a_scope_operator_is_a_rule(tmp_path: Path, operator: str) -> None:
    """``troops SENT arrived`` (or ``CLAUSE``) is a rule, not the phrase 'troops sent arrived'."""
    items = load_labelled(write_jsonl(tmp_path / "l.jsonl", ROWS))
    rule = f"troops {operator} arrived"
    report = evaluate(items, Matcher([load_text(WL)]), baselines=[rule])
    assert "baseline 1: a rule (below)" in render_text(report)
    assert report.baselines[rule].tp + report.baselines[rule].fp > 0


def test_a_bad_rule_baseline_is_one_line(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "l.jsonl", ROWS)
    wl_dir = tmp_path / "wl"
    wl_dir.mkdir()
    (wl_dir / "moves.yaml").write_text(WL, encoding="utf-8")
    result = CliRunner().invoke(
        app, ["eval", str(path), "--watchlists", str(wl_dir), "--baseline", "troops AND ("]
    )
    assert result.exit_code == 2
    assert "--baseline: rule: rule error at position" in result.output
    assert "Traceback" not in result.output

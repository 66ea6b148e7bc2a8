"""alertbot scan from the command line: formats, exit codes, bad inputs."""

import json
from pathlib import Path

from typer.testing import CliRunner

from bot.cli import app

ROOT = Path(__file__).resolve().parent.parent
SEED = str(ROOT / "samples" / "seed-article.txt")
runner = CliRunner()


def test_json_lines_follow_the_contract() -> None:
    result = runner.invoke(app, ["scan", SEED, "--format", "json"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert {r["watchlist"] for r in records} >= {"troop-movements", "russia-belarus-ukraine"}
    rec = records[0]
    assert set(rec) >= {"article", "watchlist", "score", "hits", "summary"}
    assert set(rec["article"]) == {"title", "url", "source", "published"}
    assert rec["article"]["title"] == "Russian Troops Arrive in Belarus for Joint Force"
    assert rec["article"]["url"] == SEED
    assert 0 <= rec["score"] <= 1
    hit = rec["hits"][0]
    assert set(hit) >= {"term", "kind", "text", "start", "end", "sentence"}
    assert "Remind me later" not in rec["summary"]


def test_text_format_names_title_watchlist_and_terms() -> None:
    result = runner.invoke(app, ["scan", SEED])
    assert result.exit_code == 0
    assert "Russian Troops Arrive in Belarus for Joint Force" in result.stdout
    assert "[troop-movements] score" in result.stdout
    assert "matched:" in result.stdout


def test_bad_inputs_get_one_line_each_and_the_rest_is_scanned(tmp_path: Path) -> None:
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{"nothing": 1}', encoding="utf-8")
    result = runner.invoke(
        app, ["scan", str(tmp_path / "missing.txt"), str(bad_json), SEED, "--format", "json"]
    )
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("alertbot:")]
    assert len(errors) == 2
    assert any("missing.txt" in e for e in errors)
    assert any("bad.json" in e for e in errors)
    assert "Traceback" not in result.output
    assert "troop-movements" in result.stdout  # the good input was still scanned


def test_bad_watchlist_exits_2_naming_file_and_field(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text("name: x\nkeywords: [a]\nrule: a AND (b\n", encoding="utf-8")
    result = runner.invoke(app, ["scan", SEED, "--watchlists", str(tmp_path)])
    assert result.exit_code == 2
    assert "x.yaml: rule: rule error at position" in result.stderr
    assert "Traceback" not in result.output


def test_stdin_and_min_score(tmp_path: Path) -> None:
    text = "Troops arrive at the border\nSoldiers were deployed to the frontier with tanks.\n"
    result = runner.invoke(app, ["scan", "-", "--format", "json"], input=text)
    assert result.exit_code == 0
    assert result.stdout.strip()
    result = runner.invoke(app, ["scan", "-", "--format", "json", "--min-score", "1"], input=text)
    assert result.exit_code == 0
    assert result.stdout.strip() == ""


def test_folder_readme_is_not_scanned() -> None:
    result = runner.invoke(app, ["scan", str(ROOT / "samples"), "--format", "json"])
    assert result.exit_code == 0
    urls = {json.loads(line)["article"]["url"] for line in result.stdout.splitlines()}
    assert not any(u.endswith("README.md") for u in urls)


def test_a_100k_character_url_is_one_line_and_the_rest_is_scanned() -> None:
    url = "https://example.org/" + "a" * 100_000
    result = runner.invoke(app, ["scan", url, SEED])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = [line for line in result.output.splitlines() if "URL too long" in line]
    assert len(lines) == 1 and len(lines[0]) < 200
    assert "100,020 characters (at most 2,048)" in lines[0]
    assert "alert(s) from 1 article(s)" in result.output and "Traceback" not in result.output

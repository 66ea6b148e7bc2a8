"""Dense and long articles (issue 12, item 5): the cost is linear, the text matched is
capped, and the results of normal articles are what they were."""

from __future__ import annotations

import json
import logging
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_commands_support import MEMBER, make_service, say
from typer.testing import CliRunner

from bot.cli import app
from bot.engine import rules
from bot.engine.analyse import analyse, read_part_note
from bot.engine.matcher import MAX_HITS_PER_TERM, MAX_SENTENCE_CHARS, Matcher
from bot.engine.watchlist import load_dir, load_text
from bot.models import Article, match_record

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "fixtures" / "golden"
SENTENCE = "troops moved towards the border. "


def _watchlist(rule: str, groups: str = "") -> Matcher:
    yaml = f"name: dense\n{groups}rule: '{rule}'\nmin_score: 0\n"
    return Matcher([load_text(yaml)])


# --- results unchanged -------------------------------------------------------


def test_scan_json_of_the_samples_is_byte_identical_to_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``expected.jsonl`` was written by the code before this change (same watchlists)."""
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(
        app,
        [
            "scan",
            "tests/fixtures/golden/articles",
            "--watchlists",
            "tests/fixtures/golden/watchlists",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == (GOLDEN / "expected.jsonl").read_text(encoding="utf-8")
    assert '"truncated"' not in result.stdout


spans = st.lists(
    st.tuples(st.integers(0, 60), st.integers(1, 3)).map(lambda t: (t[0], t[0] + t[1])),
    max_size=25,
)


def _apart(a: rules.Span, b: rules.Span) -> bool:
    return not (a[0] < b[1] and b[0] < a[1])


@settings(max_examples=300, deadline=None)
@given(spans, spans, st.integers(1, 12))
def test_near_is_what_every_pair_says(
    left: list[rules.Span], right: list[rules.Span], n: int
) -> None:
    """The bisection answers are those of comparing every pair (the definition)."""
    lookup = {"a": left, "b": right}.__getitem__
    dist = rules.span_distance

    def evaluate(rule: str) -> rules.Result:
        return rules.evaluate(rules.parse(rule), lambda t: lookup(t.value))

    pairs = [(a, b) for a in left for b in right if _apart(a, b) and dist(a, b) <= n]
    expected = sorted({a for a, _ in pairs} | {b for _, b in pairs})
    near = evaluate(f"a NEAR/{n} b")
    assert near.matched == bool(pairs)
    assert list(near.spans) == expected
    kept = sorted({a for a in left if not any(dist(a, b) <= n for b in right)})
    for rule in (f"a NEAR/{n} NOT b", f"NOT b NEAR/{n} a"):
        result = evaluate(rule)
        assert list(result.spans) == kept and result.matched == bool(kept)
    miss = rules.nearest_miss(rules.parse(f"a NEAR/{n} b"), lambda t: lookup(t.value))
    if left and right and not pairs:
        closest = min(dist(a, b) for a in left for b in right)
        assert f"(closest: {closest} words apart)" in miss


# --- NOT still sees every occurrence ------------------------------------------


def test_near_not_sees_every_excluded_word_of_a_dense_article() -> None:
    """Thousands of occurrences, far past the hits kept per term: one ``troops`` has no
    ``software`` near it, in the middle of the page, and it alone is the evidence."""
    m = _watchlist("troops NEAR/2 NOT software")
    lone = "one two three troops deployed near the border today . four five six "
    every = "troops software . " * 2000
    text = every + lone + every
    (match,) = m.match(Article("", text))
    lone_at = len(every) + len("one two three ")
    assert [(h.term, h.start) for h in match.hits] == [("troops", lone_at)]
    assert m.match(Article("", every + "troops software")) == []


def test_hits_are_capped_per_term_but_all_counted() -> None:
    m = _watchlist("troops NEAR/5 border")
    (match,) = m.match(Article("", SENTENCE * 3000))
    by_term: dict[str, int] = {}
    for hit in match.hits:
        by_term[hit.term] = by_term.get(hit.term, 0) + 1
    assert by_term == {"troops": MAX_HITS_PER_TERM, "border": MAX_HITS_PER_TERM}
    assert [h.start for h in match.hits][:2] == [0, len("troops moved towards the ")]
    counts = {p.term: p.occurrences for p in match.score_parts}
    assert counts == {"troops": 3000, "border": 3000}


def test_a_page_without_full_stops_shows_the_words_around_each_hit() -> None:
    m = _watchlist("troops NEAR/5 border")
    text = "troops moved towards the border " * 5000
    (match,) = analyse(Article("", text), m)
    hit = match.hits[-1]  # far enough from the start to be cut on both sides
    assert hit.sentence.startswith("… ") and hit.sentence.endswith(" …")
    assert len(hit.sentence) <= MAX_SENTENCE_CHARS
    assert text[hit.start : hit.end] in hit.sentence


# --- the cap on the text matched -----------------------------------------------


def test_only_the_first_max_chars_are_matched_and_the_alert_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    yaml = "name: cap\nkeywords: [troops, border]\nmin_score: 0\n"
    m = Matcher([load_text(yaml)], max_chars=2_000)
    filler = "word " * 1_000  # 5,000 characters
    assert analyse(Article("t", filler + "troops"), m) == []
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        (match,) = analyse(Article("Long page", "troops " + filler), m, budget=300)
    assert match.truncated
    assert match_record(match)["truncated"] is True
    assert read_part_note(match.summary) == "[read the first 2,000 characters only]"
    assert [r.getMessage() for r in caplog.records] == [
        "article 'Long page': read the first 1996 of its 5007 characters (MAX_MATCH_CHARS=2000)"
    ]
    (short,) = analyse(Article("t", "troops moved"), m)
    assert not short.truncated and "truncated" not in match_record(short)
    assert read_part_note(short.summary) == ""


def test_the_setting_reaches_scan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    page = tmp_path / "page.txt"
    page.write_text("Title\n" + "troops massed at the border " * 200, encoding="utf-8")
    monkeypatch.setenv("MAX_MATCH_CHARS", "1000")
    result = CliRunner().invoke(
        app, ["scan", str(page), "--watchlists", str(GOLDEN / "watchlists"), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert records and all(r["truncated"] is True for r in records)
    assert all(h["end"] <= 1000 for r in records for h in r["hits"])


# --- linear cost ----------------------------------------------------------------


def _lines_run(work: Callable[[], Any]) -> int:
    """Python lines executed by ``work`` (a count of operations, not a time)."""
    count = 0

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal count
        if event == "line":
            count += 1
        return tracer

    sys.settrace(tracer)
    try:
        work()
    finally:
        sys.settrace(None)
    return count


def _peak_bytes(work: Callable[[], Any]) -> int:
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("sentence", [SENTENCE, "troops moved towards the border "])
def test_the_cost_of_a_dense_article_grows_linearly(sentence: str) -> None:
    """Twice the text, twice the work: lines executed and peak memory, for the bundled
    watchlists and a wide NEAR (every ``troops`` is within reach of every ``border``)."""
    watchlists, _ = load_dir(GOLDEN / "watchlists")
    wide = load_text("name: wide\nkeywords: [troops]\nrule: troops NEAR/1000 border\n")
    m = Matcher([*watchlists, wide])

    def run(repeats: int) -> Callable[[], Any]:
        article = Article("Dense", sentence * repeats)
        return lambda: analyse(article, m)

    run(50)()  # the matcher's first pass learns the words once
    small, large = 400, 800
    assert len(run(small)()) == 3  # it fires, with more hits than are kept
    lines = _lines_run(run(large)) / _lines_run(run(small))
    memory = _peak_bytes(run(large)) / _peak_bytes(run(small))
    assert lines < 2.3, lines
    assert memory < 2.3, memory


async def test_chat_test_says_when_only_the_first_part_was_read(tmp_path: Path) -> None:
    svc = make_service(tmp_path, max_match_chars=1_000)
    try:
        long_text = "Wagner mercenaries were seen. " + "Nothing else happened. " * 100
        fired = await say(svc, MEMBER, f"/test demo Wagner Group\n{long_text}")
        assert "demo would alert" in fired.plain_text
        assert "[read the first 1,000 characters only]" in fired.plain_text
        late = "Nothing else happened. " * 100 + "Wagner mercenaries were seen."
        missed = await say(svc, MEMBER, f"/test demo Quiet day\n{late}")
        assert "demo would not alert" in missed.plain_text
        assert "The article is long: [read the first 1,000 characters only]" in missed.plain_text
    finally:
        await svc.close()

"""Named rule parts (``parts:`` and ``$name``) and equal sub-expressions shared."""

from pathlib import Path

import pytest

from bot.engine import rules
from bot.engine.analyse import analyse
from bot.engine.matcher import Matcher
from bot.engine.rules import MAX_DEPTH
from bot.engine.watchlist import WatchlistError, dump, load_dir, load_file, load_text, save
from bot.limits import MAX_PARTS
from bot.models import Article

WITH_PARTS = """\
name: demo
groups:
  forces: [troops, soldiers]
  moves: [arrive*, deploy*]
  hedges: [could, may]
parts:
  # a force word
  force: "@forces"
  # moving, not hedged
  moved: ($force NEAR/3 @moves) NEAR/4 NOT @hedges
rule: $moved OR ($force NEAR/2 convoy)
"""

INLINE = WITH_PARTS.replace("parts:", "unused:").split("unused:")[0] + (
    "rule: ((@forces NEAR/3 @moves) NEAR/4 NOT @hedges) OR (@forces NEAR/2 convoy)\n"
)


def fired(text: str, title: str) -> bool:
    wl = load_text(text, "demo.yaml")
    return bool(analyse(Article(title=title, text=""), Matcher([wl])))


@pytest.mark.parametrize(
    "title",
    [
        "Troops arrive in the port",
        "Soldiers could deploy next week",
        "A convoy of soldiers on the road",
        "Weather is fine today",
    ],
)
def test_a_rule_with_parts_matches_as_the_same_rule_written_inline(title: str) -> None:
    assert fired(WITH_PARTS, title) == fired(INLINE, title)


def test_parts_give_the_same_tree_as_inline_and_a_repeated_part_is_one_node() -> None:
    parted = load_text(WITH_PARTS, "demo.yaml").rule_ast
    inline = load_text(INLINE, "demo.yaml").rule_ast
    assert parted == inline
    assert isinstance(parted, rules.Or)
    first_force = parted.left.left.left  # type: ignore[union-attr]
    second_force = parted.right.left  # type: ignore[union-attr]
    assert first_force == rules.Term("entity", "forces")
    assert first_force is second_force


def test_a_sub_expression_written_twice_is_evaluated_once() -> None:
    tree = rules.parse("(troops NEAR/3 arrive*) OR (troops NEAR/3 arrive*) AND x")
    assert isinstance(tree, rules.Or) and isinstance(tree.right, rules.And)
    assert tree.left is tree.right.left
    calls: list[rules.Term] = []

    def lookup(term: rules.Term) -> list[rules.Span]:
        calls.append(term)
        return []

    rules.evaluate(tree, lookup)
    assert calls.count(rules.Term("word", "troops")) == 1


@pytest.mark.parametrize(
    ("parts", "rule", "expected"),
    [
        ("  force: troops\n", "$forse NEAR/3 arrive", "$forse is not a part of this watchlist"),
        (
            "  a: $b OR x\n  b: troops\n",
            "$a",
            "parts.a: rule error at position 1: expected a part named before this rule"
            " (known: none)",
        ),
        ("  a: $a OR x\n", "$a", "parts.a: rule error"),
        ("  a: troops AND\n", "$a", "parts.a: rule error at position 11"),
        ("  Bad Name: troops\n", "troops", "parts.Bad Name: not a valid part name"),
        ("  a: troops\n", "$ OR x", "expected a part's name right after '$'"),
        ("  a: ''\n", "troops", "parts.a: expected a rule fragment"),
        ("  a: '@nowhere'\n", "$a", "parts.a: @nowhere is not an entity or group"),
    ],
)
def test_part_errors_are_one_line_and_name_the_part(parts: str, rule: str, expected: str) -> None:
    text = f"name: demo\nkeywords: [troops]\nparts:\n{parts}rule: {rule}\n"
    with pytest.raises(WatchlistError) as err:
        load_text(text, "demo.yaml")
    message = str(err.value)
    assert expected in message
    assert "\n" not in message


def test_a_watchlist_back_on_its_default_rule_keeps_its_parts_and_reloads(
    tmp_path: Path,
) -> None:
    path = tmp_path / "demo.yaml"
    path.write_text(WITH_PARTS, encoding="utf-8")
    wl = load_file(path)
    wl.rule, wl.rule_ast = None, None
    save(wl, path)
    again = load_file(path)
    assert again.rule is None and again.parts == wl.parts


def test_a_chain_of_parts_cannot_nest_past_the_depth_limit() -> None:
    lines = ["  p0: troops"] + [f"  p{i}: NOT (x OR $p{i - 1})" for i in range(1, MAX_DEPTH // 2 + 5)]
    text = "name: demo\nparts:\n" + "\n".join(lines) + f"\nrule: $p{MAX_DEPTH // 2 + 4} OR troops\n"
    with pytest.raises(WatchlistError) as err:
        load_text(text, "demo.yaml")
    assert "a simpler rule" in str(err.value)


def test_saving_back_keeps_parts_and_their_comments(tmp_path: Path) -> None:
    path = tmp_path / "demo.yaml"
    path.write_text(WITH_PARTS, encoding="utf-8")
    wl = load_file(path)
    wl.rule = "$moved"
    save(wl, path)
    text = path.read_text(encoding="utf-8")
    assert "# moving, not hedged" in text
    again = load_file(path)
    assert again.parts == wl.parts
    assert again.rule == "$moved"
    assert load_text(dump(wl), "again.yaml").parts == wl.parts


def test_the_bundled_troop_rule_uses_parts_and_fits_the_limit() -> None:
    watchlists, errors = load_dir(Path(__file__).resolve().parent.parent / "watchlists")
    assert not errors
    wl = next(w for w in watchlists if w.name == "troop-movements")
    assert {"force", "moved", "told"} <= set(wl.parts)
    assert "$force" in (wl.rule or "")


def test_a_chain_of_parts_that_doubles_is_refused_in_one_line_and_fast() -> None:
    """Each part using the one before twice doubles the written-out rule: 40 steps
    would be 2**40 nodes. It is refused by size, without writing it out."""
    lines = ["  p0: troops"] + [f"  p{i}: $p{i - 1} OR ($p{i - 1} NEAR/2 x{i})" for i in range(1, 41)]
    text = "name: demo\nparts:\n" + "\n".join(lines) + "\nrule: $p40\n"
    with pytest.raises(WatchlistError) as err:
        load_text(text, "demo.yaml")
    message = str(err.value)
    assert "with its parts written out" in message and "\n" not in message


def test_interning_a_shared_tree_is_linear() -> None:
    parts: dict[str, rules.Part] = {"p0": rules.parse_part("troops")}
    for i in range(1, 13):  # 2**13 nodes written out, 13 distinct shapes
        parts[f"p{i}"] = rules.parse_part(f"$p{i - 1} OR $p{i - 1}", parts)
    tree = parts["p12"].node
    assert rules.tree_size(tree) == 2**13 - 1
    assert isinstance(tree, rules.Or) and tree.left is tree.right


def test_a_watchlist_has_at_most_so_many_parts() -> None:
    lines = [f"  p{i}: troops" for i in range(MAX_PARTS + 1)]
    text = "name: demo\nparts:\n" + "\n".join(lines) + "\nrule: $p0\n"
    with pytest.raises(WatchlistError, match=f"a watchlist has at most {MAX_PARTS}"):
        load_text(text, "demo.yaml")

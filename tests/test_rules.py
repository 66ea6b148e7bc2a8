"""The watchlist rule language: parsing, errors, rendering and evaluation."""

from __future__ import annotations

import contextlib
import pickle
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.engine.rules import (
    ZONES,
    And,
    Clause,
    InTitle,
    InZone,
    Layout,
    Near,
    Node,
    NodeTrace,
    Not,
    Or,
    Result,
    RuleError,
    Sent,
    Span,
    Term,
    Zone,
    evaluate,
    nearest_miss,
    parse,
    render,
    span_distance,
    terms,
    trace,
)


def w(value: str) -> Term:
    return Term("word", value)


A, B, C, D = w("a"), w("b"), w("c"), w("d")


def lookup(spans: Mapping[str, Sequence[Span]]) -> Callable[[Term], Sequence[Span]]:
    """A lookup keyed by each term's rendered text: "troops", "deploy*", "@Belarus"."""
    return lambda term: spans.get(render(term), [])


# --- parsing -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("troops", w("troops")),
        ("Лукашенко", w("Лукашенко")),
        ("pro-Russian", w("pro-Russian")),
        ("O'Brien", w("O'Brien")),
        ("2024", w("2024")),
        ("deploy*", Term("prefix", "deploy")),
        ("Лукаш*", Term("prefix", "Лукаш")),
        ('"joint force"', Term("phrase", "joint force")),
        ('"troops"', Term("phrase", "troops")),
        ('"joint forc*"', Term("phrase", "joint forc*")),
        ('"U.S. troops"', Term("phrase", "U.S. troops")),
        ('" joint force "', Term("phrase", "joint force")),
        ("@Belarus", Term("entity", "Belarus")),
        ("@troop_moves", Term("entity", "troop_moves")),
        ('@"Alexander Lukashenko"', Term("entity", "Alexander Lukashenko")),
        ("@AND", Term("entity", "AND")),
        ("AND*", Term("prefix", "AND")),
        ("and", w("and")),
        ("a NEAR/5 b", Near(A, B, 5)),
        ("a NEAR/1000 b", Near(A, B, 1000)),
        ("NOT a", Not(A)),
        ("NOT NOT a", Not(Not(A))),
        ("((a))", A),
        ("(a OR b)", Or(A, B)),
        ("  a\n\tAND  b  ", And(A, B)),
    ],
)
def test_parse_constructs(rule: str, expected: Node) -> None:
    assert parse(rule) == expected


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("a OR b AND c", Or(A, And(B, C))),
        ("a AND b OR c", Or(And(A, B), C)),
        ("a AND b NEAR/3 c", And(A, Near(B, C, 3))),
        ("a NEAR/3 b AND c", And(Near(A, B, 3), C)),
        ("NOT a AND b", And(Not(A), B)),
        ("NOT a NEAR/3 b", Near(Not(A), B, 3)),
        ("a NEAR/3 NOT b", Near(A, Not(B), 3)),
        ("NOT a OR b", Or(Not(A), B)),
        ("NOT (a OR b)", Not(Or(A, B))),
        ("(a OR b) AND c", And(Or(A, B), C)),
        ("a OR b OR c", Or(Or(A, B), C)),
        ("a AND b AND c", And(And(A, B), C)),
        ("a NEAR/1 b NEAR/2 c", Near(Near(A, B, 1), C, 2)),
        ("a OR b AND c NEAR/4 NOT d", Or(A, And(B, Near(C, Not(D), 4)))),
    ],
)
def test_precedence_and_left_associativity(rule: str, expected: Node) -> None:
    assert parse(rule) == expected


def test_architecture_example_rule() -> None:
    rule = "(troops OR servicemen OR convoy* OR soldiers) NEAR/12 (border OR deploy* OR arriv*)"
    node = parse(rule)
    assert isinstance(node, Near) and node.n == 12
    assert render(node) == rule
    assert [render(t) for t in terms(node)] == [
        "troops",
        "servicemen",
        "convoy*",
        "soldiers",
        "border",
        "deploy*",
        "arriv*",
    ]


def test_terms_in_order_without_duplicates() -> None:
    node = parse('b OR a AND NOT b NEAR/2 "joint force" OR @Belarus OR a')
    assert terms(node) == [B, A, Term("phrase", "joint force"), Term("entity", "Belarus")]


# --- rendering ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "canonical"),
    [
        ("(a AND b) OR c", "a AND b OR c"),
        ("a AND (b OR c)", "a AND (b OR c)"),
        ("(a OR b) OR c", "a OR b OR c"),
        ("a OR (b OR c)", "a OR (b OR c)"),
        ("(a NEAR/3 b) NEAR/5 c", "a NEAR/3 b NEAR/5 c"),
        ("a NEAR/3 (b NEAR/5 c)", "a NEAR/3 (b NEAR/5 c)"),
        ("(NOT a) NEAR/3 (b)", "NOT a NEAR/3 b"),
        ("NOT (a AND b)", "NOT (a AND b)"),
        ("NOT (NOT (a))", "NOT NOT a"),
        ("( ( a ) )", "a"),
        ("deploy*  NEAR/3   NOT(software OR code)", "deploy* NEAR/3 NOT (software OR code)"),
        ('@"Belarus"', "@Belarus"),
        ('@"Alexander  Lukashenko"', '@"Alexander  Lukashenko"'),
    ],
)
def test_render_uses_minimal_parentheses(rule: str, canonical: str) -> None:
    assert render(parse(rule)) == canonical


# --- errors ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "position", "expected"),
    [
        ("", 0, "a term or '('"),
        ("   ", 0, "a term or '('"),
        ("troops border", 7, "AND, OR, NEAR/n, PRE/n, SENT, CLAUSE or end of rule"),
        ("(troops border)", 8, "AND, OR, NEAR/n, PRE/n, SENT, CLAUSE or ')'"),
        (
            "(a OR b",
            7,
            "AND, OR, NEAR/n, PRE/n, SENT, CLAUSE or ')' to close the '(' at position 1",
        ),
        ("a OR b)", 6, "AND, OR, NEAR/n, PRE/n, SENT, CLAUSE or end of rule"),
        ("()", 1, "a term or '('"),
        ('a AND "joint force', 6, "a closing '\"'"),
        ('@"Alexander', 1, "a closing '\"'"),
        ('""', 0, "one or more words between the quotes"),
        ('"!!"', 0, "one or more words between the quotes"),
        ('"joint* force"', 7, "only the last word of a phrase may end in '*'"),
        ('"* force"', 1, "a word right before '*'"),
        ("a NEAR b", 2, "NEAR/n"),
        ("a NEAR/ b", 7, "a whole number after NEAR/"),
        ("a NEAR/x b", 7, "a whole number after NEAR/"),
        ("a NEAR/5x b", 7, "a whole number after NEAR/"),
        ("a NEAR/0 b", 7, "a distance from 1 to 1000"),
        ("a NEAR/1001 b", 7, "a distance from 1 to 1000"),
        ("a NEAR/" + "9" * 5000 + " b", 7, "a distance from 1 to 1000"),
        ("NEAR/5 b", 0, "a term or '('"),
        ("*", 0, "a word right before '*'"),
        ("a OR *", 5, "a word right before '*'"),
        ("deploy*ed", 7, "a space or operator after '*'"),
        ("deploy**", 7, "a space or operator after '*'"),
        ("@", 0, "an entity name right after '@'"),
        ("@ Belarus", 0, "an entity name right after '@'"),
        ('@""', 0, "an entity name right after '@'"),
        ("@Belarus*", 8, "no '*' after an entity name"),
        ("a AND", 5, "a term or '(' after AND"),
        ("a AND   ", 5, "a term or '(' after AND"),
        ("a NEAR/3", 8, "a term or '(' after NEAR/3"),
        ("NOT", 3, "a term or '(' after NOT"),
        ("a AND OR b", 6, "a term or '(' after AND"),
        ("OR a", 0, "a term or '('"),
        ("NOT a NEAR/3 NOT b", 13, "a term without NOT on this side of NEAR/3"),
        ("(NOT a) NEAR/3 (NOT b)", 15, "a term without NOT on this side of NEAR/3"),
        ("a - b", 2, "AND, OR, NEAR/n, PRE/n, SENT, CLAUSE or end of rule"),
        ("pro-", 3, "AND, OR, NEAR/n, PRE/n, SENT, CLAUSE or end of rule"),
        ("(" * 51 + "a" + ")" * 51, 50, "at most 50 parentheses"),
        (" OR ".join(["a"] * 101), 497, "a simpler rule"),  # the 100th OR
    ],
)
def test_bad_rules_point_at_the_problem(rule: str, position: int, expected: str) -> None:
    with pytest.raises(RuleError) as info:
        parse(rule)
    err = info.value
    assert (err.rule, err.position) == (rule, position), str(err)
    assert expected in err.expected, str(err)
    message = str(err)
    assert message.startswith(f"rule error at position {position + 1}: expected {err.expected}")
    assert "\n" not in message
    assert isinstance(err, ValueError)


@pytest.mark.parametrize(
    ("rule", "operator"),
    [
        ("troops and border", "AND"),
        ("troops or border", "OR"),
        ("troops Or border", "OR"),
        ("(troops and border)", "AND"),
        ("troops near/5 border", "NEAR/n"),
        ("troops not border", "NOT"),
        ("not troops", "NOT"),
    ],
)
def test_lower_case_operators_get_a_hint(rule: str, operator: str) -> None:
    with pytest.raises(RuleError) as info:
        parse(rule)
    assert f"operators are written in upper case: {operator}" in str(info.value)


@pytest.mark.parametrize(
    ("rule", "hint"),
    [
        ("a NOT b", "write AND NOT"),
        ("deploy *", "write '*' right after the word"),
        ("a OR b)", "no matching '('"),
        ("“joint force”", "straight double quotes"),
        ('"joint force”', "straight double quote"),
    ],
)
def test_other_hints(rule: str, hint: str) -> None:
    with pytest.raises(RuleError) as info:
        parse(rule)
    assert hint in info.value.hint
    assert hint in str(info.value)


def test_error_message_format_and_pointer() -> None:
    with pytest.raises(RuleError) as info:
        parse("troops AND (border")
    err = info.value
    assert str(err) == (
        "rule error at position 19: expected AND, OR, NEAR/n, PRE/n, SENT, CLAUSE or ')' "
        "to close the '(' at position 12, found end of rule"
    )
    assert err.pointer() == "troops AND (border\n                  ^"

    with pytest.raises(RuleError) as info:
        parse("troops\tand border")
    assert str(info.value) == (
        "rule error at position 8: expected AND, OR, NEAR/n, PRE/n, SENT, CLAUSE or end of rule, "
        "found 'and'; operators are written in upper case: AND"
    )
    assert info.value.found == "and"
    assert info.value.pointer() == "troops\tand border\n      \t^"
    copy = pickle.loads(pickle.dumps(info.value))
    assert (str(copy), copy.position, copy.hint) == (str(info.value), 7, info.value.hint)


def test_pointer_shows_the_line_of_a_multi_line_rule() -> None:
    with pytest.raises(RuleError) as info:
        parse("troops\nAND border\nOR OR x")
    assert info.value.pointer() == "OR OR x\n   ^"
    assert "\n" not in str(info.value)


def test_found_text_is_shortened() -> None:
    with pytest.raises(RuleError) as info:
        parse("a " + "b" * 200)
    assert info.value.found is not None and len(info.value.found) <= 30


# --- property tests: parsing never crashes, rendering round-trips ------------

# fmt: off
SOUP = [
    "AND", "OR", "NOT", "NEAR", "NEAR/", "NEAR/3", "NEAR/0", "NEAR/1001", "near/2", "and", "or",
    "not", "(", ")", '"', '"joint force"', '"forc*"', "@", "@x", '@"A B"', "@_", "*", "deploy*",
    "a", "Лукашенко", "pro-Russian", "-", "'", "/", "“", "”", "_", "9", " ", "\n", "\t",
]
# fmt: on


@given(st.text())
def test_parse_arbitrary_text_raises_only_rule_error(text: str) -> None:
    try:
        node = parse(text)
    except RuleError as err:
        assert 0 <= err.position <= len(text)
        assert "\n" not in str(err)
        assert len(err.pointer().split("\n")) == 2
    else:
        assert parse(render(node)) == node


@given(st.lists(st.sampled_from(SOUP), max_size=12), st.sampled_from(["", " "]))
def test_parse_token_soup_raises_only_rule_error(parts: list[str], glue: str) -> None:
    text = glue.join(parts)
    try:
        node = parse(text)
    except RuleError as err:
        assert 0 <= err.position <= len(text)
        assert "\n" not in str(err)
    else:
        assert parse(render(node)) == node


LETTERS = "abcxyzABCXYZабвгдЛукшенкоё0123456789"
OPERATOR_WORDS = {"AND", "OR", "NOT", "NEAR"}
plain_words = st.from_regex(rf"[{LETTERS}]{{1,6}}(?:[-'][{LETTERS}]{{1,4}})?", fullmatch=True)
words = plain_words.filter(lambda word: word not in OPERATOR_WORDS)
phrases = st.builds(
    lambda parts, star: " ".join(parts) + ("*" if star else ""),
    st.lists(plain_words, min_size=1, max_size=3),
    st.booleans(),
)
names = st.one_of(
    st.from_regex(rf"[{LETTERS}][{LETTERS}_-]{{0,8}}", fullmatch=True),
    st.lists(plain_words, min_size=2, max_size=3).map(" ".join),
)
term_nodes = st.one_of(
    words.map(w),
    plain_words.map(lambda value: Term("prefix", value)),
    phrases.map(lambda value: Term("phrase", value)),
    names.map(lambda value: Term("entity", value)),
)


def _near(left: Node, right: Node, n: int) -> Near:
    """A NEAR as the parser allows it: never NOT on both sides."""
    while isinstance(left, Not) and isinstance(right, Not):
        right = right.child
    return Near(left, right, n)


def _in_title(child: Node, zone: Zone = "title") -> Node:
    """title: (lead:, top:) as the parser allows it: never directly before NOT."""
    while isinstance(child, Not):
        child = child.child
    return InZone(child, zone)


def _sent(left: Node, right: Node) -> Sent:
    """A SENT as the parser allows it: never NOT on both sides."""
    while isinstance(left, Not) and isinstance(right, Not):
        right = right.child
    return Sent(left, right)


def _clause(left: Node, right: Node) -> Clause:
    """A CLAUSE as the parser allows it: never NOT on both sides."""
    while isinstance(left, Not) and isinstance(right, Not):
        right = right.child
    return Clause(left, right)


def _extend(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    return st.one_of(
        children.map(Not),
        st.builds(_in_title, children, st.sampled_from(ZONES)),
        st.builds(And, children, children),
        st.builds(_sent, children, children),
        st.builds(_clause, children, children),
        st.builds(Or, children, children),
        st.builds(_near, children, children, st.integers(1, 1000)),
    )


ast_nodes: st.SearchStrategy[Node] = st.recursive(term_nodes, _extend, max_leaves=12)


@given(ast_nodes)
def test_render_then_parse_gives_the_same_ast(node: Node) -> None:
    text = render(node)
    assert parse(text) == node
    assert render(parse(text)) == text


def _paren_pairs(text: str) -> list[tuple[int, int]]:
    stack: list[int] = []
    pairs = []
    for i, char in enumerate(text):
        if char == "(":
            stack.append(i)
        elif char == ")":
            pairs.append((stack.pop(), i))
    return pairs


@given(ast_nodes)
def test_every_rendered_parenthesis_is_needed(node: Node) -> None:
    text = render(node)
    for start, end in _paren_pairs(text):
        without = text[:start] + " " + text[start + 1 : end] + " " + text[end + 1 :]
        with contextlib.suppress(RuleError):
            assert parse(without) != node, f"parentheses at {start} are not needed in {text}"


# --- evaluation ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "present", "matched"),
    [
        ("a AND b", "ab", True),
        ("a AND b", "a", False),
        ("a AND b", "b", False),
        ("a AND b", "", False),
        ("a OR b", "ab", True),
        ("a OR b", "a", True),
        ("a OR b", "b", True),
        ("a OR b", "", False),
        ("NOT a", "a", False),
        ("NOT a", "", True),
        ("a AND NOT b", "a", True),
        ("a AND NOT b", "ab", False),
        ("NOT NOT a", "a", True),
    ],
)
def test_boolean_truth_tables(rule: str, present: str, matched: bool) -> None:
    spans = {name: [(i, i + 1)] for i, name in enumerate(present)}
    assert evaluate(parse(rule), lookup(spans)).matched is matched


def test_spans_are_the_evidence() -> None:
    spans = {"a": [(5, 6), (1, 2), (5, 6)], "b": [(3, 4)], "c": [(9, 10)]}
    assert evaluate(parse("a"), lookup(spans)) == Result(True, ((1, 2), (5, 6)))
    assert evaluate(parse("a OR d"), lookup(spans)).spans == ((1, 2), (5, 6))
    assert evaluate(parse("a AND b"), lookup(spans)).spans == ((1, 2), (3, 4), (5, 6))
    assert evaluate(parse("a AND NOT d"), lookup(spans)).spans == ((1, 2), (5, 6))
    assert evaluate(parse("NOT d"), lookup(spans)) == Result(True, ())
    assert evaluate(parse("a AND d"), lookup(spans)) == Result(False, ())
    assert evaluate(parse("d OR e"), lookup(spans)) == Result(False, ())


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ((0, 1), (1, 2), 1),
        ((1, 2), (0, 1), 1),
        ((0, 1), (5, 6), 5),
        ((5, 6), (0, 1), 5),
        ((0, 3), (4, 5), 2),
        ((4, 5), (0, 3), 2),
        ((0, 3), (2, 4), 0),
        ((2, 3), (0, 5), 0),
        ((2, 3), (2, 3), 0),
    ],
)
def test_span_distance(a: Span, b: Span, distance: int) -> None:
    assert span_distance(a, b) == distance


@pytest.mark.parametrize(
    ("a", "b", "n", "matched"),
    [
        ((0, 1), (3, 4), 3, True),  # exactly n words apart
        ((0, 1), (4, 5), 3, False),  # n + 1
        ((4, 5), (0, 1), 4, True),  # other order
        ((4, 5), (0, 1), 3, False),
        ((0, 1), (1, 2), 1, True),  # neighbours
        ((2, 5), (3, 4), 1, False),  # overlapping spans are the same words, not a pair
        ((0, 2), (4, 5), 3, True),  # two-word phrase: measured from its last word
        ((3, 5), (0, 1), 3, True),  # ... and to its first word
        ((3, 5), (0, 1), 2, False),
    ],
)
def test_near_distance_edges(a: Span, b: Span, n: int, matched: bool) -> None:
    spans = {"a": [a], "b": [b]}
    result = evaluate(Near(A, B, n), lookup(spans))
    assert result.matched is matched
    assert result.spans == (tuple(sorted({a, b})) if matched else ())
    assert evaluate(Near(B, A, n), lookup(spans)).matched is matched


def test_near_keeps_only_the_close_spans() -> None:
    spans = {"a": [(0, 1), (20, 21), (50, 51)], "b": [(3, 4), (22, 23), (90, 91)]}
    result = evaluate(parse("a NEAR/5 b"), lookup(spans))
    assert result == Result(True, ((0, 1), (3, 4), (20, 21), (22, 23)))


def test_near_needs_positions_on_both_sides() -> None:
    spans = {"a": [(0, 1)]}
    assert not evaluate(parse("a NEAR/5 (b OR NOT c)"), lookup(spans)).matched


def test_near_not_excludes_false_friends() -> None:
    rule = parse("deploy* NEAR/3 NOT (software OR code)")
    spans = {"deploy*": [(5, 6), (20, 21)], "code": [(8, 9)]}
    assert evaluate(rule, lookup(spans)) == Result(True, ((20, 21),))
    spans["software"] = [(17, 18)]  # 3 words before the second deploy*
    assert evaluate(rule, lookup(spans)) == Result(False, ())
    assert evaluate(rule, lookup({"deploy*": [(5, 6)]})) == Result(True, ((5, 6),))
    assert evaluate(rule, lookup({"code": [(1, 2)]})) == Result(False, ())


def test_not_near_works_on_either_side() -> None:
    spans = {"a": [(0, 1), (10, 11)], "b": [(2, 3)]}
    assert evaluate(parse("NOT b NEAR/2 a"), lookup(spans)) == Result(True, ((10, 11),))
    assert evaluate(parse("a NEAR/2 NOT b"), lookup(spans)) == Result(True, ((10, 11),))
    assert evaluate(parse("a NEAR/10 NOT b"), lookup(spans)) == Result(False, ())


def test_lookup_is_asked_once_per_term() -> None:
    calls: list[Term] = []

    def counting(term: Term) -> list[Span]:
        calls.append(term)
        return [(0, 1)] if term == A else [(1, 2)]

    assert evaluate(parse("a AND (a OR b) AND a NEAR/2 b"), counting).matched
    assert sorted(calls, key=render) == [A, B]


def _truth(node: Node, present: set[str]) -> bool:
    if isinstance(node, Term):
        return node.value in present
    if isinstance(node, Not):
        return not _truth(node.child, present)
    if isinstance(node, And):
        return _truth(node.left, present) and _truth(node.right, present)
    assert isinstance(node, Or)
    return _truth(node.left, present) or _truth(node.right, present)


boolean_nodes: st.SearchStrategy[Node] = st.recursive(
    st.sampled_from([A, B, C]),
    lambda children: st.one_of(
        children.map(Not), st.builds(And, children, children), st.builds(Or, children, children)
    ),
    max_leaves=8,
)


@given(boolean_nodes, st.sets(st.sampled_from("abc")))
def test_boolean_rules_follow_logic(node: Node, present: set[str]) -> None:
    spans = {name: [(i * 10, i * 10 + 1)] for i, name in enumerate(sorted(present))}
    result = evaluate(node, lookup(spans))
    assert result.matched is _truth(node, present)
    assert set(result.spans) <= {s for found in spans.values() for s in found}
    if not result.matched:
        assert result.spans == ()


spans_lists = st.lists(
    st.builds(lambda start, length: (start, start + length), st.integers(0, 60), st.integers(1, 3)),
    max_size=8,
)


@given(spans_lists, spans_lists, st.integers(1, 12))
def test_near_agrees_with_the_definition(a: list[Span], b: list[Span], n: int) -> None:
    spans = {"a": a, "b": b}
    pairs = [
        (x, y)
        for x in a
        for y in b
        if span_distance(x, y) <= n and not (x[0] < y[1] and y[0] < x[1])
    ]
    expected = tuple(sorted({s for pair in pairs for s in pair}))
    assert evaluate(Near(A, B, n), lookup(spans)) == Result(bool(pairs), expected)
    assert evaluate(Near(B, A, n), lookup(spans)) == Result(bool(pairs), expected)
    kept = tuple(sorted({x for x in a if all(span_distance(x, y) > n for y in b)}))
    assert evaluate(Near(A, Not(B), n), lookup(spans)) == Result(bool(kept), kept)
    assert evaluate(Near(Not(B), A, n), lookup(spans)) == Result(bool(kept), kept)


# --- trace and nearest_miss ----------------------------------------------------


def test_trace_has_one_row_per_node_in_pre_order() -> None:
    rule = parse("(troops OR servicemen) NEAR/12 border AND NOT software")
    rows = trace(rule, lookup({"troops": [(0, 1)], "border": [(5, 6)], "software": [(9, 10)]}))
    assert rows == [
        NodeTrace("(troops OR servicemen) NEAR/12 border AND NOT software", False, 0),
        NodeTrace("(troops OR servicemen) NEAR/12 border", True, 1),
        NodeTrace("troops OR servicemen", True, 2),
        NodeTrace("troops", True, 3),
        NodeTrace("servicemen", False, 3),
        NodeTrace("border", True, 2),
        NodeTrace("NOT software", False, 1),
        NodeTrace("software", True, 2),
    ]


@pytest.mark.parametrize(
    ("rule", "spans", "explanation"),
    [
        ("troops", {}, "troops found nothing"),
        (
            "troops AND (border OR frontier)",
            {"troops": [(0, 1)]},
            "AND: right side (border OR frontier) found nothing",
        ),
        ("troops AND border", {"border": [(0, 1)]}, "AND: left side troops found nothing"),
        (
            "troops AND border",
            {},
            "AND: neither side matched: left side troops found nothing; "
            "right side border found nothing",
        ),
        ("a OR b OR c", {}, "OR: none of a, b, c found anything"),
        (
            "(troops OR servicemen) NEAR/12 (border OR deploy*)",
            {"troops": [(0, 1)], "deploy*": [(40, 41)]},
            "NEAR/12: no (troops OR servicemen) within 12 words of (border OR deploy*)"
            " (closest: 40 words apart)",
        ),
        (
            "(troops OR servicemen) NEAR/12 (border OR deploy*)",
            {"servicemen": [(0, 1)]},
            "NEAR/12: right side (border OR deploy*) found nothing",
        ),
        (
            "@Belarus AND troops NEAR/5 border",
            {"@Belarus": [(0, 1)], "troops": [(2, 3)], "border": [(20, 21)]},
            "NEAR/5: no troops within 5 words of border (closest: 18 words apart)",
        ),
        (
            "@Belarus AND (troops NEAR/5 border)",
            {"@Belarus": [(0, 1)], "troops": [(2, 3)]},
            "NEAR/5: right side border found nothing",
        ),
        ("a AND NOT b", {"a": [(0, 1)], "b": [(3, 4)]}, "NOT: excluded b was found"),
        (
            "deploy* NEAR/3 NOT (software OR code)",
            {"deploy*": [(0, 1)], "code": [(2, 3)]},
            "NEAR/3: every deploy* has (software OR code) within 3 words",
        ),
        (
            "deploy* NEAR/3 NOT (software OR code)",
            {"code": [(2, 3)]},
            "NEAR/3: left side deploy* found nothing",
        ),
        (
            "a OR (b AND c)",
            {"b": [(0, 1)]},
            "OR: no alternative matched; closest of 2: AND: right side c found nothing",
        ),
        (
            "(a AND b AND c) OR (d NEAR/2 e) OR f",
            {"a": [(0, 1)], "d": [(3, 4)], "e": [(9, 10)]},
            "OR: no alternative matched; closest of 3: NEAR/2: no d within 2 words of e"
            " (closest: 6 words apart)",
        ),
        (
            "a OR b OR c OR d OR e OR f OR g OR h",
            {},
            "OR: none of a, b, c, d, e, f (+2 more) found anything",
        ),
    ],
)
def test_nearest_miss_names_the_missing_part(
    rule: str, spans: dict[str, list[Span]], explanation: str
) -> None:
    node = parse(rule)
    assert not evaluate(node, lookup(spans)).matched
    assert nearest_miss(node, lookup(spans)) == explanation


def test_nearest_miss_of_a_matching_rule() -> None:
    assert nearest_miss(parse("a"), lookup({"a": [(0, 1)]})) == "the rule matched"


@settings(max_examples=200)
@given(ast_nodes, st.sets(st.integers(0, 5)))
def test_nearest_miss_is_one_line_for_any_miss(node: Node, present: set[int]) -> None:
    leaves = terms(node)
    spans = {render(t): [(i * 3, i * 3 + 1)] for i, t in enumerate(leaves) if i in present}
    if evaluate(node, lookup(spans)).matched:
        return
    text = nearest_miss(node, lookup(spans))
    assert text and "\n" not in text
    assert len(trace(node, lookup(spans))) >= len(leaves)


# --- title: ------------------------------------------------------------------

TITLE_END = 100


def _fielded(spans: dict[str, list[Span]]) -> Callable[[Term], list[Span]]:
    return lambda term: spans.get(term.value, [])


def test_title_prefix_parses_and_renders() -> None:
    node = parse("troops AND NOT title:(opinion OR analysis)")
    assert node == And(
        Term("word", "troops"),
        Not(InTitle(Or(Term("word", "opinion"), Term("word", "analysis")))),
    )
    assert parse(render(node)) == node
    assert render(parse("title:troops")) == "title:troops"


def test_title_not_is_refused_with_a_hint() -> None:
    with pytest.raises(RuleError) as info:
        parse("title:NOT troops")
    assert "NOT title:x" in str(info.value)


def test_title_judges_only_headline_spans() -> None:
    node = parse("title:(troops NEAR/2 border)")
    in_title = _fielded({"troops": [(0, 1)], "border": [(2, 3)]})
    in_body = _fielded({"troops": [(200, 201)], "border": [(202, 203)]})
    split = _fielded({"troops": [(0, 1)], "border": [(202, 203)]})
    assert evaluate(node, in_title, TITLE_END).matched
    assert not evaluate(node, in_body, TITLE_END).matched
    assert not evaluate(node, split, TITLE_END).matched
    assert "not in the title" in nearest_miss(node, in_body, TITLE_END)


def test_title_without_field_information_is_the_plain_rule() -> None:
    node = parse("title:troops")
    assert evaluate(node, _fielded({"troops": [(500, 501)]})).matched


def test_lazy_evaluation_gives_what_every_node_computed_gives() -> None:
    """evaluate stops early (AND, NEAR, SENT, CLAUSE with one side empty; NOT asks only whether);
    on thousands of random rules and articles it answers as the full bottom-up pass does."""
    import random

    from bot.engine import rules as r

    rng = random.Random(17)
    leaves = [r.Term("keyword", w) for w in ("a", "b", "c", "d")]

    def node(depth: int) -> r.Node:
        if depth == 0 or rng.random() < 0.25:
            return rng.choice(leaves)
        kind = rng.randrange(8)
        if kind == 0:
            return r.Not(node(depth - 1))
        if kind == 1:
            return r.InZone(node(depth - 1), rng.choice(r.ZONES))
        left, right = node(depth - 1), node(depth - 1)
        if kind == 2:
            return r.And(left, right)
        if kind == 3:
            return r.Or(left, right)
        if kind == 4:
            return r.Near(
                rng.choice([left, r.Not(left)]), right, rng.randint(1, 4), rng.random() < 0.5
            )
        if kind == 5:
            return r.Clause(left, rng.choice([right, r.Not(right)]))
        return r.Sent(left, rng.choice([right, r.Not(right)]))

    for _ in range(3000):
        rule = node(4)
        spans = {
            t: [(s, s + rng.randint(1, 2)) for s in rng.sample(range(30), rng.randint(0, 3))]
            for t in leaves
        }
        layout = r.Layout(10, 14, lambda p: p // 5)
        # clauses of 3 and 2 words inside those sentences of 5
        clauses = r.Layout(10, 14, lambda p: p // 5, lambda p: 2 * (p // 5) + (p % 5 >= 3))
        for where in (None, layout, clauses):
            lazy = r.evaluate(rule, spans.__getitem__, where)
            full = r.evaluate_all(rule, spans.__getitem__, where)
            assert (lazy.matched, lazy.spans) == (full.matched, full.spans), r.render(rule)


# --- PRE/n: NEAR/n in one order ---------------------------------------------


def _words(text: str) -> Callable[[Term], list[tuple[int, int]]]:
    """Spans of each term in a short text of space-separated words ('x*' is a prefix)."""
    words = text.lower().split()

    def lookup(term: Term) -> list[tuple[int, int]]:
        parts = term.value.lower().split()
        if term.kind == "prefix":
            return [(i, i + 1) for i, w in enumerate(words) if w.startswith(parts[0])]
        n = len(parts)
        return [(i, i + n) for i in range(len(words)) if words[i : i + n] == parts]

    return lookup


@pytest.mark.parametrize(
    ("rule", "tree"),
    [
        ("a PRE/3 b", Near(A, B, 3, ordered=True)),
        ("NOT a PRE/2 b", Near(Not(A), B, 2, ordered=True)),
        ("a PRE/2 NOT b AND c", And(Near(A, Not(B), 2, ordered=True), C)),
        ("a NEAR/2 b PRE/4 c", Near(Near(A, B, 2), C, 4, ordered=True)),
    ],
)
def test_pre_parses_as_an_ordered_near_and_renders_back(rule: str, tree: Node) -> None:
    assert parse(rule) == tree
    assert render(parse(rule)) == rule


@pytest.mark.parametrize(
    ("rule", "text", "matched"),
    [
        ("troops PRE/2 arriv*", "troops arrived in the city", True),
        ("troops PRE/2 arriv*", "arrivals of troops", False),  # NEAR/2 would match
        ("troops PRE/2 arriv*", "troops have now arrived", False),  # 3 words on
        # the background word before the noun makes it background, after it does not
        ("NOT (amid OR after) PRE/3 withdrawal", "talks amid the withdrawal", False),
        ("NOT (amid OR after) PRE/3 withdrawal", "withdrawal after the attack", True),
        ("deploy* PRE/3 NOT plans", "deployment plans were leaked", False),
        ("deploy* PRE/3 NOT plans", "plans aside the deployment began", True),
        # one occurrence left without the excluded word is enough
        ("NOT after PRE/2 withdrawal", "after the withdrawal came a withdrawal", True),
    ],
)
def test_pre_looks_only_in_its_order(rule: str, text: str, matched: bool) -> None:
    assert evaluate(parse(rule), _words(text)).matched is matched


def test_pre_says_what_was_missing_in_its_order() -> None:
    lookup = _words("arrivals of troops")
    assert nearest_miss(parse("troops PRE/2 arriv*"), lookup) == (
        "PRE/2: no troops within 2 words before arriv* (none comes before one in the same field)"
    )
    lookup = _words("talks amid the withdrawal")
    assert nearest_miss(parse("NOT amid PRE/3 withdrawal"), lookup) == (
        "PRE/3: every withdrawal has amid within 3 words before it"
    )


def test_pre_agrees_with_a_brute_force_reading() -> None:
    """On random spans, ``a PRE/n b`` and both exclusions keep exactly the spans that a
    pairwise check keeps (ends before starts, at most n words on, no overlap)."""
    import random

    rng = random.Random(5)
    a_term, b_term = Term("word", "a"), Term("word", "b")
    for _ in range(2000):
        spans = {
            t: sorted(
                {(s, s + rng.randint(1, 2)) for s in rng.sample(range(25), rng.randint(0, 4))}
            )
            for t in (a_term, b_term)
        }
        n = rng.randint(1, 5)
        a_spans, b_spans = spans[a_term], spans[b_term]

        def before(x: tuple[int, int], y: tuple[int, int], n: int = n) -> bool:
            return x[1] <= y[0] and y[0] - (x[1] - 1) <= n

        pair = evaluate(Near(a_term, b_term, n, ordered=True), spans.__getitem__)
        expected = sorted(
            {x for x in a_spans if any(before(x, y) for y in b_spans)}
            | {y for y in b_spans if any(before(x, y) for x in a_spans)}
        )
        assert list(pair.spans) == expected
        assert pair.matched is bool(expected)
        after_free = evaluate(Near(a_term, Not(b_term), n, ordered=True), spans.__getitem__)
        assert list(after_free.spans) == [
            x for x in a_spans if not any(before(x, y) for y in b_spans)
        ]
        before_free = evaluate(Near(Not(b_term), a_term, n, ordered=True), spans.__getitem__)
        assert list(before_free.spans) == [
            x for x in a_spans if not any(before(y, x) for y in b_spans)
        ]


# --- SENT and CLAUSE against a pairwise reading -----------------------------------


@pytest.mark.parametrize("scoped", [Sent, Clause])
def test_sent_and_clause_agree_with_a_brute_force_reading(scoped: type[Sent | Clause]) -> None:
    """On random spans and sentences cut into clauses, ``a SENT b`` / ``a CLAUSE b`` and
    their exclusions keep exactly the spans a pairwise check keeps (an ``a`` with a ``b``
    in its unit that does not overlap it), lazily and in full."""
    import random

    from bot.engine.rules import evaluate_all

    rng = random.Random(11)
    a_term, b_term = Term("word", "a"), Term("word", "b")
    for _ in range(2000):
        sentence_starts = sorted(rng.sample(range(1, 25), rng.randint(0, 5)))
        clause_starts = sorted(
            set(sentence_starts) | set(rng.sample(range(1, 25), rng.randint(0, 5)))
        )
        layout = Layout(
            title_end=None,
            sentence_of=lambda p, cut=sentence_starts: bisect_right(cut, p),
            clause_of=lambda p, cut=clause_starts: bisect_right(cut, p),
        )
        unit = layout.sentence if scoped is Sent else layout.clause
        spans = {
            t: sorted(
                {(s, s + rng.randint(1, 2)) for s in rng.sample(range(25), rng.randint(0, 4))}
            )
            for t in (a_term, b_term)
        }
        a_spans, b_spans = spans[a_term], spans[b_term]

        def together(x: Span, y: Span, unit: Callable[[int], int] = unit) -> bool:
            return unit(x[0]) == unit(y[0]) and not (x[0] < y[1] and y[0] < x[1])

        paired = [x for x in a_spans if any(together(x, y) for y in b_spans)]
        # the evidence: those, and every b in a unit where a pair was found (as SENT does)
        paired_units = {unit(x[0]) for x in paired}
        expected = sorted({*paired, *(y for y in b_spans if unit(y[0]) in paired_units)})
        free = [x for x in a_spans if not any(unit(x[0]) == unit(y[0]) for y in b_spans)]
        for node, want in (
            (scoped(a_term, b_term), expected),
            (scoped(a_term, Not(b_term)), free),
            (scoped(Not(b_term), a_term), free),
        ):
            for run in (evaluate, evaluate_all):
                result = run(node, spans.__getitem__, layout)
                assert list(result.spans) == want, render(node)
                assert result.matched is bool(want)

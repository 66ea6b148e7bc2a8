"""The learned second stage, on a tiny hand-written stream: feedback moves a false friend down."""

from __future__ import annotations

import pytest

from bot.engine import relevance
from bot.engine.analyse import analyse
from bot.engine.matcher import Matcher
from bot.engine.watchlist import WatchlistError, dump, from_mapping
from bot.models import Article

WL = from_mapping(
    {
        "name": "moves",
        "groups": {"forces": ["troops", "soldiers"], "move": ["deploy*", "sent", "arriv*"],
                   "hedge": ["could", "may"]},
        "rule": "@forces NEAR/6 (@move NEAR/4 NOT @hedge)",
        "min_score": 0.0,
    },
    "moves.yaml",
)

RELEVANT = [
    "Army troops deployed to the northern border overnight",
    "Soldiers arrive at frontier base as tensions rise with neighbour",
    "Government sent troops to the border region after clashes",
    "Extra soldiers deployed along the disputed frontier",
    "Armoured troops arrive near the border crossing",
]
FALSE_FRIENDS = [
    "Girl scout troops deployed cookie stands across the city",
    "Scout troops sent to summer camp by the lake",
    "Cookie season: scout troops arrive at the mall",
    "Scout troops deploy new badge programme for camp",
    "Local scout troops sent cookies to the hospital",
]


def _alert(title: str) -> object:
    matches = analyse(Article(title=title, text="", source="wire"), Matcher([WL]))
    assert matches, f"the rule should fire on {title!r}"
    return matches[0]


def _examples(space: relevance.FeatureSpace) -> list[relevance.Example]:
    out = []
    for titles, verdict in ((RELEVANT, True), (FALSE_FRIENDS, False)):
        for title in titles:
            ev = relevance.evidence_of_match(_alert(title))  # type: ignore[arg-type]
            out.append(relevance.Example(space.features(ev), verdict, relevance.example_words(ev)))
    return out


def test_feedback_moves_a_false_friend_below_the_threshold_and_keeps_a_true_alert() -> None:
    space = relevance.FeatureSpace(WL)
    model = relevance.train(_examples(space))
    assert model is not None

    def p(title: str) -> float:
        return model.probability(space.features(relevance.evidence_of_match(_alert(title))))  # type: ignore[arg-type]

    assert p("Scout troops deployed at the cookie fair") < model.threshold
    assert p("Troops deployed to the border after the clashes") >= model.threshold
    # and the model survives the database round trip unchanged
    again = relevance.Model.from_json(model.to_json())
    assert again.probability({"word#1": 1.0}) == model.probability({"word#1": 1.0})


def test_no_model_without_both_verdicts() -> None:
    space = relevance.FeatureSpace(WL)
    only_yes = [e for e in _examples(space) if e.relevant]
    assert relevance.train(only_yes) is None


def test_hedge_nearby_is_a_feature() -> None:
    space = relevance.FeatureSpace(WL)
    ev = relevance.Evidence(
        "Troops could be deployed", "", "", (relevance.EvidenceHit("troops", "keyword", "title"),)
    )
    assert "near:hedge" in space.features(ev)
    assert "group:forces" in space.features(ev)


def test_a_watchlist_may_set_its_relevance_threshold_and_a_bad_one_is_one_line() -> None:
    doc = {"name": "moves", "keywords": ["troops"]}
    assert from_mapping(doc, "moves.yaml").relevance_threshold == 0.5
    strict = from_mapping({**doc, "relevance_threshold": 0.8}, "moves.yaml")
    assert strict.relevance_threshold == 0.8
    assert "relevance_threshold: 0.8" in dump(strict)
    assert "relevance_threshold" not in dump(from_mapping(doc, "moves.yaml"))
    for bad, said in (("high", "expected a number from 0 to 1"), (1.5, "out of range")):
        with pytest.raises(WatchlistError) as err:
            from_mapping({**doc, "relevance_threshold": bad}, "moves.yaml")
        line = str(err.value)
        assert "\n" not in line and "moves.yaml" in line and "relevance_threshold" in line
        assert said in line

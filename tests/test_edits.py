"""Editing a big watchlist (issue 12, item 6): one chat edit costs one recompile and a
fixed number of YAML parses whatever the watchlist's size, and the merge that keeps
comments is linear."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedSeq
from test_commands_support import ADMIN, make_service, say

from bot.engine import matcher as matcher_module
from bot.engine import watchlist as watchlist_module
from bot.engine.watchlist import Keyword, Watchlist, dump
from bot.runtime import service as service_module
from bot.store import session_scope
from bot.store.watchlists import save_watchlist


class _Counts:
    def __init__(self) -> None:
        self.parses = 0
        self.compiles = 0


@pytest.fixture
def counts(monkeypatch: pytest.MonkeyPatch) -> _Counts:
    seen = _Counts()
    real_load = YAML.load
    real_matcher = matcher_module.Matcher

    def load(self: YAML, stream: Any) -> Any:
        seen.parses += 1
        return real_load(self, stream)

    class CountingMatcher(real_matcher):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            seen.compiles += 1
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(YAML, "load", load)
    monkeypatch.setattr(service_module, "Matcher", CountingMatcher)
    return seen


def _big(size: int) -> Watchlist:
    return Watchlist(name="big", keywords=[Keyword(f"word{i}") for i in range(size)])


@pytest.mark.parametrize("size", [10, 3_000])
async def test_one_add_is_one_recompile_and_two_parses_whatever_the_size(
    tmp_path: Path, counts: _Counts, size: int
) -> None:
    svc = make_service(tmp_path)
    try:
        with session_scope(svc.factory) as session:
            save_watchlist(session, "big", dump(_big(size)), updated_by="test")
        svc.load_watchlists()
        counts.parses = counts.compiles = 0
        reply = await say(svc, ADMIN, "/add big keyword brand new")
        assert not reply.error, reply.plain_text
        assert f"({size + 1} terms)" in reply.plain_text
        # the stored text once (the edit is dumped over its document), the new text once
        # (to check it); the reload reuses that and every unchanged watchlist
        assert (counts.parses, counts.compiles) == (2, 1)
        assert any(
            wl.name == "big" and len(wl.keywords) == size + 1 for wl in svc.matcher.watchlists
        )
        second = await say(svc, ADMIN, "/add big keyword another one")
        assert f"({size + 2} terms)" in second.plain_text
        assert (counts.parses, counts.compiles) == (4, 2)
    finally:
        await svc.close()


class _Compared(str):
    """A string that counts how often it is compared with ``==``."""

    calls = 0

    def __eq__(self, other: object) -> bool:
        _Compared.calls += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


@pytest.mark.parametrize("size", [1_000, 4_000])
def test_the_comment_keeping_merge_compares_each_item_a_constant_number_of_times(
    size: int,
) -> None:
    old = CommentedSeq([_Compared(f"w{i}") for i in range(size)])
    new: list[object] = [_Compared(f"w{i}") for i in range(size) if i != 7] + [_Compared("extra")]
    _Compared.calls = 0
    merged = watchlist_module._merge_seq(old, new)
    assert merged is old and list(merged) == new
    assert _Compared.calls <= 2 * size, _Compared.calls

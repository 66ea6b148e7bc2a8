"""Reply → Slack mrkdwn / Block Kit: escaping, markup, limits, buttons; Slack's text → plain."""

from __future__ import annotations

import re

from handlers.reply import BREAK, Button, Reply, bold, code, italic, link, text
from handlers.slack import (
    MAX_BLOCKS,
    SECTION_LIMIT,
    from_slack_text,
    mrkdwn,
    render_reply,
    safe_url,
    section_texts,
    strip_mention,
)


def sections(reply: Reply) -> list[str]:
    return [
        b["text"]["text"] for m in render_reply(reply) for b in m.blocks if b["type"] == "section"
    ]


def test_user_and_article_text_is_escaped_everywhere() -> None:
    reply = Reply(
        [
            bold("<script>alert(1)</script>"),
            BREAK,
            text("AT&T <!channel> <@U123>"),
            italic("a > b"),
            code("x < y && z"),
            link("Q&A <b>", "https://e.test/a?x=1&y=2"),
        ]
    )
    out = mrkdwn(reply.parts)
    assert "<script>" not in out and "<!channel>" not in out and "<@U123>" not in out
    assert "*&lt;script&gt;alert(1)&lt;/script&gt;*" in out
    assert "AT&amp;T &lt;!channel&gt; &lt;@U123&gt;" in out
    assert "_a &gt; b_" in out
    assert "`x &lt; y &amp;&amp; z`" in out
    assert "<https://e.test/a?x=1&amp;y=2|Q&amp;A &lt;b&gt;>" in out
    (message,) = render_reply(reply)
    assert "<script>" not in message.text and "&lt;script&gt;" in message.text  # the fallback too


def test_markup_keeps_whitespace_outside_the_markers() -> None:
    assert mrkdwn([text("score "), bold(" 0.91 "), text("now")]) == "score  *0.91* now"
    assert mrkdwn([code("a`b")]) == "`aˋb`"  # a backtick cannot end the span early


def test_links_cannot_break_out() -> None:
    assert safe_url("https://e.test/a|b>c d") == "https://e.test/a%7Cb%3Ec%20d"
    assert safe_url("javascript:alert(1)") is None
    assert safe_url("https://e.test/\nx") is None
    # a link that is not a web link is shown as its (escaped) label
    assert mrkdwn([link("<click>", "javascript:alert(1)")]) == "&lt;click&gt;"
    assert mrkdwn([link("https://e.test/", "https://e.test/")]) == "<https://e.test/>"


def test_long_text_is_split_into_sections_at_sentence_boundaries() -> None:
    sentence = "Troops & tanks moved towards the border near Brest overnight. "
    reply = Reply([bold("Headline"), BREAK, text(sentence * 200)])
    parts = sections(reply)
    assert len(parts) > 1
    assert all(len(s) <= SECTION_LIMIT for s in parts)
    for s in parts[:-1]:
        assert s.endswith("overnight.")  # cut between sentences
    # nothing lost: every sentence is there, escaped
    assert sum(s.count("Troops &amp; tanks") for s in parts) == 200


def test_lines_stay_whole_when_they_fit() -> None:
    lines = [f"#{i} " + "x" * 90 for i in range(100)]
    reply = Reply()
    for line in lines:
        reply.line(text(line))
    parts = sections(reply)
    assert len(parts) > 1 and all(len(s) <= SECTION_LIMIT for s in parts)
    assert [line for s in parts for line in s.split("\n")] == lines


def test_a_giant_word_and_giant_markup_are_cut_without_breaking_markup() -> None:
    reply = Reply([bold("y" * 7000), text(" & " * 1500)])
    parts = sections(reply)
    assert len(parts) >= 4
    for s in parts:
        assert len(s) <= SECTION_LIMIT
        assert "*" not in re.sub(r"\*y+\*", "", s)  # every bold run is whole
        assert "&" not in s.replace("&amp;", "")  # no half escapes
    assert sum(s.count("y") for s in parts) == 7000


def test_multi_line_code_is_a_preformatted_block() -> None:
    yaml_text = "name: x\nkeywords:\n  - a < b\n"
    out = mrkdwn([text("Here:"), BREAK, code(yaml_text), BREAK, text("done")])
    assert out == "Here:\n```name: x\nkeywords:\n  - a &lt; b```\ndone"


def test_more_than_fifty_blocks_become_several_messages_and_buttons_come_last() -> None:
    reply = Reply()
    for i in range(130):
        reply.line(text(f"alert {i}: " + "word " * 580))
    reply.buttons = [[Button("Explain", "ex:1"), Button("Mute 24 h", "mu:troop-movements:24h")]]
    messages = render_reply(reply)
    assert len(messages) >= 2
    assert all(len(m.blocks) <= MAX_BLOCKS for m in messages)
    assert all(m.text and len(m.text) <= 3000 for m in messages)
    last = messages[-1].blocks[-1]
    assert last["type"] == "actions"
    assert [(e["action_id"], e["value"]) for e in last["elements"]] == [
        ("alertbot:ex:1", "ex:1"),
        ("alertbot:mu:troop-movements:24h", "mu:troop-movements:24h"),
    ]
    assert not any(b["type"] == "actions" for m in messages[:-1] for b in m.blocks)
    joined = "\n".join(sections(reply))
    assert all(f"alert {i}:" in joined for i in range(130))


def test_buttons_alone_and_silent_replies() -> None:
    (message,) = render_reply(Reply(buttons=[[Button("More", "al:2")]]))
    assert message.text == "More" and message.blocks[0]["type"] == "actions"
    assert render_reply(Reply.plain("x", error=True)) != []
    silent = Reply.plain("x")
    silent.silent = True
    assert render_reply(silent) == []
    assert render_reply(Reply()) == []


def test_section_texts_pairs_markup_with_plain_text() -> None:
    ((md, plain),) = section_texts([bold("A&B"), text(" "), link("site", "https://e.test")])
    assert md == "*A&amp;B* <https://e.test|site>"
    assert plain == "A&B site (https://e.test)"


def test_slack_input_markup_is_undone() -> None:
    assert (
        from_slack_text("test troop-movements <https://e.test/a?b=1&amp;c=2|e.test/a>")
        == "test troop-movements https://e.test/a?b=1&c=2"
    )
    assert from_slack_text("rule wl a &lt; b &amp;&amp; <#C1|news> <@U2|bob>") == (
        "rule wl a < b && #news @bob"
    )
    assert strip_mention("<@UBOT> alerts 24h", "UBOT") == "alerts 24h"
    assert strip_mention("hey <@UBOT>: alerts", "UBOT") == "hey alerts"
    assert strip_mention("<@UOTHER|bot> help", None) == "help"

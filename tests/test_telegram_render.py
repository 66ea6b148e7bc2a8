"""Reply → Telegram HTML: escaping, links, buttons, and splitting under the length limits.

Every chunk is checked with the stand-in's parser, which accepts exactly what
Telegram's HTML parse mode accepts (supported tags, balanced, whole entities).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram_stub import ApiError, parse_html, utf16_len

from handlers.reply import BREAK, Button, Part, Reply, bold, code, italic, link, text
from handlers.telegram import (
    delivery_error,
    keyboard,
    link_preview,
    render_html,
    split_html,
)

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


def visible(parts: list[Part]) -> str:
    """What Telegram shows for ``parts`` (link labels, not URLs; broken characters as U+FFFD)."""
    shown = "".join("\n" if p.kind == "break" else (p.text or p.url) for p in parts)
    return re.sub(r"[\ud800-\udfff]", "\ufffd", shown)


def squeeze(s: str) -> str:
    return "".join(s.split())


def test_user_text_is_escaped_everywhere() -> None:
    parts = [
        text("<script>alert('x')</script> & co"),
        bold("a<b>"),
        italic("i&j"),
        code("x < y"),
        link("<label>", 'https://x.test/?a=1&b="2"'),
    ]
    html = render_html(parts)
    assert html == (
        "&lt;script&gt;alert('x')&lt;/script&gt; &amp; co"
        "<b>a&lt;b&gt;</b><i>i&amp;j</i><code>x &lt; y</code>"
        '<a href="https://x.test/?a=1&amp;b=&quot;2&quot;">&lt;label&gt;</a>'
    )
    shown, entities = parse_html(html)
    assert shown == "<script>alert('x')</script> & coa<b>i&jx < y<label>"
    assert [e["type"] for e in entities] == ["bold", "italic", "code", "text_link"]
    assert entities[-1]["url"] == 'https://x.test/?a=1&b="2"'


def test_unsafe_or_empty_links_become_text() -> None:
    html = render_html(
        [link("click", "javascript:alert(1)"), text(" "), link("", "https://a.test")]
    )
    assert html == 'click <a href="https://a.test">https://a.test</a>'
    parse_html(html)


def test_short_reply_is_one_chunk() -> None:
    reply = Reply().line(bold("Subscribed"), text(" to troop-movements."))
    assert split_html(reply.parts) == ["<b>Subscribed</b> to troop-movements.\n"]
    assert split_html([]) == [] and split_html([BREAK, text("  ")]) == []


def test_six_thousand_characters_split_at_line_ends() -> None:
    reply = Reply()
    for i in range(80):
        reply.line(bold(f"{i}."), text(" Troops & tanks <moved> near the border at dawn; " * 2))
    parts = reply.parts
    assert len(visible(parts)) > 6000
    chunks = split_html(parts)
    assert len(chunks) >= 2
    for chunk in chunks:
        assert utf16_len(chunk) <= 4096
        shown, _ = parse_html(chunk)
        assert shown.endswith("\n") or chunk is chunks[-1]  # every cut at a line end
    assert squeeze("".join(parse_html(c)[0] for c in chunks)) == squeeze(visible(parts))


def test_a_long_bold_part_is_closed_and_reopened() -> None:
    sentence = "Armour moved north. "
    parts = [bold(sentence * 400)]  # 8000 characters of bold, sentences only
    chunks = split_html(parts, 4096)
    assert len(chunks) >= 2
    for chunk in chunks:
        assert chunk.startswith("<b>") and chunk.endswith("</b>")
        shown, entities = parse_html(chunk)
        assert entities == [{"type": "bold", "offset": 0, "length": utf16_len(shown)}]
        assert shown.rstrip().endswith(".")  # cut at a sentence end


def test_entities_are_never_cut() -> None:
    parts = [text("&" * 3000)]  # each & is five characters once escaped
    chunks = split_html(parts, 1000)
    assert all(utf16_len(c) <= 1000 and c.count("&amp;") * 5 == len(c) for c in chunks)
    assert "".join(parse_html(c)[0] for c in chunks) == "&" * 3000


def test_a_word_longer_than_a_message_is_cut_between_characters() -> None:
    word = "x" * 5000 + "😀" * 100  # emoji count two UTF-16 units each
    chunks = split_html([code(word)])
    assert all(utf16_len(c) <= 4096 for c in chunks)
    assert "".join(parse_html(c)[0] for c in chunks) == word


def test_caption_limit() -> None:
    chunks = split_html([text("word " * 500)], 1024)
    assert len(chunks) == 3 and all(utf16_len(c) <= 1024 for c in chunks)


parts_strategy = st.lists(
    st.one_of(
        st.builds(
            Part,
            st.sampled_from(["text", "bold", "italic", "code"]),
            st.text(
                alphabet=st.sampled_from(list("ab &<>\n.!? 😀é\"'")) | st.characters(),
                max_size=300,
            ),
        ),
        st.builds(
            lambda label, n: link(label, f"https://n.test/{n}?q=<&>"),
            st.text(max_size=40),
            st.integers(0, 9),
        ),
        st.just(BREAK),
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(parts=parts_strategy, limit=st.integers(64, 600))
def test_split_html_always_gives_valid_chunks(parts: list[Part], limit: int) -> None:
    # Telegram refuses some characters anyway; the property is about structure and length
    parts = [Part(p.kind, p.text.replace("\x00", ""), p.url) for p in parts]
    chunks = split_html(parts, limit)
    shown = []
    for chunk in chunks:
        assert utf16_len(chunk) <= limit
        try:
            plain, _ = parse_html(chunk)
        except ApiError as err:  # pragma: no cover - the failure message is the point
            pytest.fail(f"{err.description}: {chunk!r}")
        assert plain.strip()
        shown.append(plain)
    assert squeeze("".join(shown)) == squeeze(visible(parts))


def test_buttons_and_link_previews() -> None:
    reply = Reply.plain("x")
    assert keyboard(reply) is None
    reply.buttons = [[Button("Explain", "ex:1"), Button("Mute 24 h", "mu:wl:24h")], []]
    markup = keyboard(reply)
    assert markup is not None
    assert [[b.callback_data for b in row] for row in markup.inline_keyboard] == [
        ["ex:1", "mu:wl:24h"]
    ]
    assert link_preview(Reply([link("a", "https://a.test")])) is None
    several = link_preview(Reply([link("a", "https://a.test"), text(" see https://b.test")]))
    assert several is not None and several.is_disabled


@pytest.mark.parametrize(
    ("make", "permanent", "retry_after"),
    [
        (lambda: RetryAfter(5), False, 5.0),
        (lambda: Forbidden("Forbidden: bot was blocked by the user"), True, None),
        (lambda: Forbidden("Forbidden: bot was kicked from the supergroup chat"), True, None),
        (lambda: BadRequest("Chat not found"), True, None),
        (lambda: ChatMigrated(-1009), True, None),
        (lambda: BadRequest("Can't parse entities: unsupported start tag"), False, None),
        (lambda: TimedOut(), False, None),
        (lambda: NetworkError("connection reset"), False, None),
        (lambda: InvalidToken("Unauthorized"), False, None),
    ],
)
def test_delivery_errors(
    make: Callable[[], TelegramError], permanent: bool, retry_after: float | None
) -> None:
    mapped = delivery_error(make())
    assert mapped.permanent is permanent and mapped.retry_after == retry_after

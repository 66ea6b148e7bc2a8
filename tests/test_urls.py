"""Canonical URLs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.urls import canonical_url, is_tracking_param


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://Example.COM/News/Story", "http://example.com/News/Story"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("http://example.com:443/a", "http://example.com:443/a"),
        ("https://example.com/a#section-2", "https://example.com/a"),
        ("https://example.com/a/", "https://example.com/a"),
        ("https://example.com/", "https://example.com/"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com/a/b//", "https://example.com/a/b"),
        ("https://example.com/?", "https://example.com/"),
        ("https://example.com/a?b=2&a=1", "https://example.com/a?a=1&b=2"),
        ("https://example.com/a?x=2&a=1&x=1", "https://example.com/a?a=1&x=2&x=1"),
        ("https://example.com/a?q=a+b", "https://example.com/a?q=a%20b"),
        ("https://example.com/a?q=a%20b", "https://example.com/a?q=a%20b"),
        ("https://example.com/a?flag", "https://example.com/a?flag="),
        ("https://example.com/%7euser/%e2%82%ac", "https://example.com/~user/%E2%82%AC"),
        ("https://example.com/€", "https://example.com/%E2%82%AC"),
        ("https://example.com/a%2Fb", "https://example.com/a%2Fb"),
        ("https://Bücher.example/x", "https://xn--bcher-kva.example/x"),
        ("https://xn--bcher-kva.example/x", "https://xn--bcher-kva.example/x"),
        ("https://example.com./a", "https://example.com/a"),
        ("http://[::1]:80/x", "http://[::1]/x"),
        ("http://user:pw@Example.com:80/x", "http://user:pw@example.com/x"),
        ("  https://example.com/a  ", "https://example.com/a"),
        ("", ""),
        ("/var/data/inbox/report.txt", "/var/data/inbox/report.txt"),
        ("file:///var/data/a.txt", "file:///var/data/a.txt"),
        ("mailto:desk@example.com", "mailto:desk@example.com"),
        ("https://example.com:abc/a", "https://example.com:abc/a"),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_tracking_parameters_are_dropped() -> None:
    url = (
        "https://news.example/world/belarus-convoy?utm_source=twitter&utm_medium=social"
        "&utm_campaign=x&fbclid=IwAR0&gclid=abc&mc_cid=1&mc_eid=2&yclid=3&igshid=4"
        "&ref=homepage&ref_src=twsrc&cmpid=rss&ocid=msn&at_medium=rss&at_campaign=feed"
        "&UTM_Content=up&page=2"
    )
    assert canonical_url(url) == "https://news.example/world/belarus-convoy?page=2"


def test_parameters_that_may_identify_the_article_are_kept() -> None:
    # courlan's tracker filter would drop these: two articles would become one.
    url = "https://site.example/view?uid=4711&source=ministry&session=2&reference=5&id=9"
    assert canonical_url(url) == (
        "https://site.example/view?id=9&reference=5&session=2&source=ministry&uid=4711"
    )


def test_the_same_article_shared_in_different_ways_has_one_url() -> None:
    variants = [
        "https://www.example.com/2026/03/10/convoy/",
        "HTTPS://WWW.EXAMPLE.COM:443/2026/03/10/convoy?utm_source=telegram#comments",
        "https://www.example.com/2026/03/10/convoy?fbclid=abc&utm_medium=social",
    ]
    assert len({canonical_url(v) for v in variants}) == 1


def test_path_case_is_kept() -> None:
    assert canonical_url("https://example.com/News") != canonical_url("https://example.com/news")


@pytest.mark.parametrize("name", ["utm_source", "UTM_TERM", "fbclid", "at_medium", "ref"])
def test_is_tracking_param(name: str) -> None:
    assert is_tracking_param(name)


@pytest.mark.parametrize("name", ["id", "page", "q", "uid", "source", "reference", "article"])
def test_is_not_tracking_param(name: str) -> None:
    assert not is_tracking_param(name)


_url_chars = st.sampled_from(list("aB0-._~%/?#&=+:@!$'()*,; é€") + ["%2F", "%7e", "%zz", "utm_x="])
_hosts = st.sampled_from(
    ["example.com", "EXAMPLE.com", "Bücher.de", "xn--bcher-kva.de", "[::1]", "h.", "a.b:80"]
)


@settings(max_examples=300, deadline=None)
@given(
    scheme=st.sampled_from(["http", "https", "HTTP", "ftp", ""]),
    userinfo=st.sampled_from(["", "u@", "u:p@"]),
    host=_hosts,
    port=st.sampled_from(["", ":80", ":443", ":8080", ":0"]),
    rest=st.lists(_url_chars, max_size=25).map("".join),
)
def test_canonical_url_is_idempotent(
    scheme: str, userinfo: str, host: str, port: str, rest: str
) -> None:
    url = f"{scheme}://{userinfo}{host}{port}/{rest}" if scheme else f"{host}/{rest}"
    once = canonical_url(url)
    assert canonical_url(once) == once


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_canonical_url_never_raises_and_is_idempotent_on_any_text(text: str) -> None:
    once = canonical_url(text)
    assert canonical_url(once) == once
    once = canonical_url("https://example.com/" + text)
    assert canonical_url(once) == once

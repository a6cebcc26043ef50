"""Where a visit came from: ``put_traffic_source`` (referrer source and domain, UTM tags) as
Plausible's ``put_referrer`` / ``put_utm_tags`` do it, including self-referrals and hostile URLs."""

from __future__ import annotations

import pytest

from pipeline.stream import referrers, steps
from pipeline.stream.referrers import DIRECT, TrafficSource
from tests.unit.test_processor_steps import message

PAGE = "https://shop.example.com/products/42"


def source_of(url: str, referrer: str = "") -> TrafficSource:
    page = {"url": url, "referrer": referrer} if referrer else {"url": url}
    event = steps.put_traffic_source(message(page=page))
    return TrafficSource(*(event[name] for name in TrafficSource._fields))


@pytest.mark.parametrize("referrer, source, domain", [
    ("https://www.google.com/", "Google", "google.com"),
    ("https://www.google.co.uk/search?q=kettle", "Google", "google.co.uk"),
    ("https://google.com.br/", "Google", "google.com.br"),
    ("https://mail.google.com/mail/u/0/", "Gmail", "mail.google.com"),
    ("https://t.co/abc123", "Twitter", "t.co"),
    ("https://x.com/someone/status/1", "Twitter", "x.com"),
    ("https://l.facebook.com/l.php?u=x", "Facebook", "l.facebook.com"),
    ("https://news.ycombinator.com/item?id=1", "Hacker News", "news.ycombinator.com"),
    ("https://duckduckgo.com/", "DuckDuckGo", "duckduckgo.com"),
    ("https://yandex.ru/search/", "Yandex", "yandex.ru"),
    ("android-app://com.google.android.gm/", "Gmail", "com.google.android.gm"),
    ("https://chatgpt.com/", "ChatGPT", "chatgpt.com"),
    ("https://blog.example.org/post", "blog.example.org", "blog.example.org"),  # unknown: its host
    ("https://google.evil.example/", "google.evil.example", "google.evil.example"),  # not a Google domain
])
def test_the_referrer_is_named_by_its_known_source_else_its_host(referrer, source, domain):
    found = source_of(PAGE, referrer)
    assert (found.referrer_source, found.referrer_domain) == (source, domain)


def test_no_referrer_is_direct():
    assert source_of(PAGE) == TrafficSource(DIRECT, "", "", "", "", "", "")


@pytest.mark.parametrize("referrer", ["https://shop.example.com/cart", "https://www.shop.example.com/",
                                      "http://SHOP.example.com:8080/?utm_source=x"])
def test_a_self_referral_is_direct(referrer):
    assert source_of(PAGE, referrer)[:2] == (DIRECT, "")


def test_utm_tags_come_from_the_page_url_decoded():
    url = (f"{PAGE}?utm_source=newsletter&utm_medium=email&utm_campaign=spring%20sale&utm_term=linen+throw"
           "&utm_content=hero&utm_source=second#top")
    assert source_of(url, "https://mail.google.com/") == TrafficSource(
        "newsletter", "mail.google.com", "newsletter", "email", "spring sale", "linen throw", "hero")


@pytest.mark.parametrize("query, source", [
    ("utm_source=twitter", "Twitter"),  # a tag naming a known source reads as that source
    ("utm_source=fb", "Facebook"),
    ("source=producthunt", "Product Hunt"),
    ("ref=awesome-list", "awesome-list"),  # Plausible's order: utm_source, source, ref
    ("ref=a&source=b", "b"),
    ("ref=a&source=b&utm_source=c", "c"),
    ("utm_source=", DIRECT),  # blank is no tag
])
def test_a_tagged_source_wins_over_the_referrer(query, source):
    assert source_of(f"{PAGE}?{query}").referrer_source == source


def test_a_tagged_source_wins_over_a_known_referrer_but_keeps_its_domain():
    assert source_of(f"{PAGE}?utm_source=partner", "https://www.google.com/")[:2] == ("partner", "google.com")


MB = "a" * 1_000_000


@pytest.mark.parametrize("url, referrer", [
    (f"{PAGE}?utm_source={MB}", f"https://{MB}.example/"),
    ("http://[::1/broken?utm_source=kept", "http://[::1"),
    ("javascript:alert(1)", "data:text/html,<script>"),
    (f"{PAGE}?utm_source=%ff%fe%ed%a0%80&utm_medium=%zz", "https://example.com:99999999/"),
    (f"{PAGE}?utm_source=\ud800", "https://\udfff.example/"),  # lone surrogates (parse() refuses them first)
    (f"{PAGE}?" + "&" * 100_000, ""),
    ("", "not a url"),
])
def test_hostile_urls_are_classified_without_raising(url, referrer):
    found = source_of(url, referrer)
    assert found.referrer_source
    assert all(len(value) <= referrers.MAX_TAG_CHARS for value in found)


def test_a_broken_url_keeps_its_tags():
    assert source_of("http://[::1/broken?utm_source=kept&utm_medium=cpc").utm_medium == "cpc"


def test_undecodable_bytes_in_a_tag_become_replacement_characters():
    assert source_of(f"{PAGE}?utm_campaign=%ff%fe").utm_campaign == "\ufffd\ufffd"


@pytest.mark.parametrize("page", [None, "a string", {"url": 42, "referrer": ["x"]}, {}])
def test_an_event_without_a_usable_page_is_direct(page):
    event = message(page=page)
    assert steps.put_traffic_source(event)["referrer_source"] == DIRECT


def test_only_pairs_of_ordinary_length_are_cached():
    referrers.traffic_source(PAGE, "https://www.bing.com/")
    before = referrers._cached_classify.cache_info().currsize
    referrers.traffic_source(PAGE + "?q=" + "x" * referrers.MAX_CACHED_CHARS, "https://www.bing.com/")
    assert referrers._cached_classify.cache_info().currsize == before

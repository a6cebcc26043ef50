"""Where a visit came from: the referrer's source and domain, and the page URL's UTM tags.

Follows Plausible's ``put_referrer`` / ``put_utm_tags``:

* ``utm_source``, ``utm_medium``, ``utm_campaign``, ``utm_term`` and ``utm_content`` are the
  page URL's query parameters of those names (first occurrence, percent-decoded, capped);
* ``referrer_source`` is the tagged source if the URL has one (``utm_source``, else ``source``,
  else ``ref``), else the referrer's known name (``Google``, ``Twitter``, … from :data:`SOURCES`),
  else the referrer's host without ``www.``, else ``Direct / None``. A tagged source that
  names a known source (``utm_source=twitter``, ``fb``) is shown by that name too;
* ``referrer_domain`` is the referrer's host without ``www.`` (``""`` without one);
* a referrer on the page's own host (a self-referral, e.g. from one page of the site to
  another) is not a source: it counts as ``Direct / None``.

The table of known sources is Vigil's own, small and documented in docs/processor.md: the
reference data set for this job (Snowplow's referer-parser) is published for Python only as
a package last released in 2016, which predates sources such as x.com, Threads, Bluesky or
ChatGPT. A host that is not in the table is still reported, by its name.
"""

from __future__ import annotations

import functools
from typing import NamedTuple
from urllib.parse import parse_qsl, urlsplit

from pipeline.contract import DIRECT

CACHE_SIZE = 16_384
MAX_CACHED_CHARS = 2048  # longer URL + referrer pairs are classified without being cached (memory)
MAX_TAG_CHARS = 256  # a UTM value or host longer than this is cut
UTM_TAGS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
TAGGED_SOURCE_PARAMETERS = ("utm_source", "source", "ref")  # Plausible's order

# Known sources by host (the host itself or any parent domain matches: m.facebook.com is
# Facebook). Android apps send ``android-app://<package>`` referrers; their package names
# are hosts here too.
SOURCES: dict[str, str] = {
    # search
    "bing.com": "Bing", "duckduckgo.com": "DuckDuckGo", "search.yahoo.com": "Yahoo!", "yahoo.com": "Yahoo!",
    "ecosia.org": "Ecosia", "search.brave.com": "Brave", "qwant.com": "Qwant", "startpage.com": "Startpage",
    "kagi.com": "Kagi", "naver.com": "Naver", "seznam.cz": "Seznam",
    "com.google.android.googlequicksearchbox": "Google",
    # social
    "facebook.com": "Facebook", "fb.com": "Facebook", "fb.me": "Facebook", "messenger.com": "Facebook",
    "instagram.com": "Instagram", "threads.net": "Threads", "threads.com": "Threads",
    "twitter.com": "Twitter", "t.co": "Twitter", "x.com": "Twitter",
    "linkedin.com": "LinkedIn", "lnkd.in": "LinkedIn", "reddit.com": "Reddit", "redd.it": "Reddit",
    "youtube.com": "YouTube", "youtu.be": "YouTube", "pinterest.com": "Pinterest", "tiktok.com": "TikTok",
    "bsky.app": "Bluesky", "news.ycombinator.com": "Hacker News", "vk.com": "VKontakte",
    "weibo.com": "Sina Weibo", "quora.com": "Quora", "producthunt.com": "Product Hunt",
    # messengers and mail
    "t.me": "Telegram", "web.telegram.org": "Telegram", "org.telegram.messenger": "Telegram",
    "web.whatsapp.com": "WhatsApp", "wa.me": "WhatsApp", "slack.com": "Slack", "com.slack": "Slack",
    "discord.com": "Discord", "discordapp.com": "Discord",
    "mail.google.com": "Gmail", "com.google.android.gm": "Gmail", "outlook.live.com": "Outlook.com",
    "outlook.office.com": "Outlook.com", "mail.yahoo.com": "Yahoo! Mail",
    # assistants and references
    "chatgpt.com": "ChatGPT", "chat.openai.com": "ChatGPT", "perplexity.ai": "Perplexity",
    "claude.ai": "Claude", "gemini.google.com": "Gemini", "copilot.microsoft.com": "Copilot",
    "wikipedia.org": "Wikipedia", "github.com": "GitHub", "stackoverflow.com": "Stack Overflow",
}
# Brands found under many country domains (google.de, google.co.uk, yandex.ru, baidu.com):
# the brand's label followed only by short (top-level-like) labels.
BRANDS_UNDER_ANY_TLD: dict[str, str] = {"google": "Google", "yandex": "Yandex", "baidu": "Baidu", "bing": "Bing",
                                         "yahoo": "Yahoo!", "amazon": "Amazon", "ebay": "eBay"}


def _alias_key(name: str) -> str:
    """How tagged sources are compared with known names: ``Product-Hunt`` ~ ``producthunt``."""
    return "".join(char for char in name.lower() if char.isalnum())


# How a tagged source often spells a known one (utm_source=fb, =tw, =ig); names match too.
SOURCE_ALIASES: dict[str, str] = {
    **{_alias_key(name): name for name in (*SOURCES.values(), *BRANDS_UNDER_ANY_TLD.values())},
    "fb": "Facebook", "ig": "Instagram", "tw": "Twitter", "x": "Twitter", "li": "LinkedIn", "yt": "YouTube",
    "hn": "Hacker News", "ycombinator": "Hacker News",
}
TLD_LIKE_CHARS = 3  # "co", "uk", "com", "de": labels this short after a brand are its country domain


class TrafficSource(NamedTuple):
    """The acquisition columns of one event, in ``rows.COLUMNS`` order."""

    referrer_source: str
    referrer_domain: str
    utm_source: str
    utm_medium: str
    utm_campaign: str
    utm_term: str
    utm_content: str


def traffic_source(url: str, referrer: str) -> TrafficSource:
    """The page URL's tags and the referrer's source; cached for pairs of ordinary length."""
    if len(url) + len(referrer) > MAX_CACHED_CHARS:
        return classify(url, referrer)
    return _cached_classify(url, referrer)


def classify(url: str, referrer: str) -> TrafficSource:
    """:func:`traffic_source` without the cache (see the module's rules)."""
    page_host, query = _host_and_query(url)
    tags = _query_tags(query) if query else {}
    referrer_host = _host_and_query(referrer)[0] if referrer else ""
    if referrer_host == page_host:
        referrer_host = ""  # a self-referral (or none): the visit did not come from elsewhere
    tagged = next((tags[name] for name in TAGGED_SOURCE_PARAMETERS if tags.get(name)), "")
    if tagged:
        source = SOURCE_ALIASES.get(_alias_key(tagged), tagged)
    elif referrer_host:
        source = source_of_host(referrer_host) or referrer_host
    else:
        source = DIRECT
    return TrafficSource(source, referrer_host, *(tags.get(name, "") for name in UTM_TAGS))


_cached_classify = functools.lru_cache(maxsize=CACHE_SIZE)(classify)


def _host_and_query(url: str) -> tuple[str, str]:
    """``https://WWW.Example.com:443/a?b=1`` → ``("example.com", "b=1")``; ``""`` for what is not there."""
    try:
        parts = urlsplit(url)
        host, query = parts.hostname or "", parts.query
    except ValueError:  # an unbalanced IPv6 bracket: no host, but the tags can still be read
        host, query = "", url.partition("?")[2].partition("#")[0]
    return host.removeprefix("www.")[:MAX_TAG_CHARS], query


def _query_tags(query: str) -> dict[str, str]:
    """The first value of each UTM / tagged-source parameter in ``query`` (decoded, capped)."""
    tags: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=False, errors="replace"):
        if (name in TAGGED_SOURCE_PARAMETERS or name in UTM_TAGS) and name not in tags:
            tags[name] = value.strip()[:MAX_TAG_CHARS]
    return tags


def source_of_host(host: str) -> str:
    """The known source a host belongs to (``l.facebook.com`` → ``Facebook``), else ``""``."""
    labels = host.split(".")
    for start in range(len(labels)):
        name = SOURCES.get(".".join(labels[start:]))
        if name:
            return name
    for index, label in enumerate(labels[:-1]):
        brand = BRANDS_UNDER_ANY_TLD.get(label)
        if brand and all(len(rest) <= TLD_LIKE_CHARS for rest in labels[index + 1:]):
            return brand
    return ""

"""User-Agent classification: real browsers' strings → browser, OS, device class."""

from __future__ import annotations

import pytest

from pipeline.stream import user_agents
from pipeline.stream.user_agents import UserAgentInfo


@pytest.mark.parametrize("ua, expected", [
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
     UserAgentInfo("Chrome", "126.0", "Windows", "10", "desktop")),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7; rv:127.0) Gecko/20100101 Firefox/127.0",
     UserAgentInfo("Firefox", "127.0", "Mac OS X", "10.15", "desktop")),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.5 Mobile/15E148 Safari/604.1",
     UserAgentInfo("Mobile Safari", "17.5", "iOS", "17.5", "mobile")),
    ("Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.5 Mobile/15E148 Safari/604.1",
     UserAgentInfo("Mobile Safari", "17.5", "iOS", "17.5", "tablet")),
    ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
     UserAgentInfo("Chrome Mobile", "126.0", "Android", "14", "mobile")),
    ("Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
     UserAgentInfo("Chrome", "126.0", "Android", "14", "tablet")),
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
     UserAgentInfo("Googlebot", "2.1", "Other", "", "bot")),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/126.0.0.0 Safari/537.36",
     UserAgentInfo("HeadlessChrome", "126.0", "Linux", "", "bot")),
])
def test_classify_real_browsers(ua, expected):
    assert user_agents.classify(ua) == expected


@pytest.mark.parametrize("ua", ["", "curl/8.0", "\x00\x00", "\ud800lone surrogate", "(" * 512, "💥" * 512])
def test_classify_never_fails(ua):
    info = user_agents.classify(ua)
    assert info.device in user_agents.DEVICE_CLASSES
    assert isinstance(info.browser, str) and isinstance(info.os, str)


def test_unknown_or_empty_user_agent_is_other():
    assert user_agents.classify("") == user_agents.NO_USER_AGENT


def test_repeated_user_agents_come_from_the_cache():
    ua = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
    user_agents.classify(ua)
    hits = user_agents.classify.cache_info().hits
    assert user_agents.classify(ua) is user_agents.classify(ua)
    assert user_agents.classify.cache_info().hits == hits + 2

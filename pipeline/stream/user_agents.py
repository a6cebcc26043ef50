"""User-Agent string → browser, OS and device class, with the maintained ``ua-parser``.

``ua_parser.parse`` uses the Rust accelerator (``ua-parser-rs``) when it is installed and
its regexes otherwise. A parse costs 0.1–1 ms; a site's traffic has a few hundred distinct
UAs, so the answer is kept in an LRU cache keyed by the (length-capped) UA string and the
hot path is one dict lookup.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import ua_parser

# Real UAs are < 300 characters; a longer string is garbage or an attack. Parsing and
# caching only its head bounds the regex work and the cache's memory.
MAX_USER_AGENT_CHARS = 512
CACHE_SIZE = 16_384

UNKNOWN = "Other"

# device classes, the values of the warehouse's `device` column
DESKTOP, MOBILE, TABLET, BOT, OTHER = "desktop", "mobile", "tablet", "bot", "other"
DEVICE_CLASSES = (DESKTOP, MOBILE, TABLET, BOT, OTHER)

# ua-parser names crawlers' device family "Spider"; these browser families are robots too
_BOT_FAMILIES = frozenset({"HeadlessChrome", "PhantomJS", "Googlebot", "Bingbot", "YandexBot", "Baiduspider"})
_MOBILE_OS = frozenset({
    "iOS", "Android", "Windows Phone", "BlackBerry OS", "KaiOS", "Firefox OS", "Symbian OS",
    "Tizen", "Sailfish", "webOS", "HarmonyOS",
})
_DESKTOP_OS = frozenset({"Windows", "Mac OS X", "Linux", "Ubuntu", "Fedora", "Chrome OS", "FreeBSD", "OpenBSD"})


@dataclass(frozen=True, slots=True)
class UserAgentInfo:
    """What the dashboards group by: browser and OS with their versions, and a device class."""

    browser: str
    browser_version: str
    os: str
    os_version: str
    device: str


NO_USER_AGENT = UserAgentInfo(UNKNOWN, "", UNKNOWN, "", OTHER)


def _version(major: str | None, minor: str | None) -> str:
    """``126`` + ``0`` → ``126.0``; dashboards group by major.minor, patch levels are noise."""
    if not major:
        return ""
    return f"{major}.{minor}" if minor else major


def _device_class(user_agent: str, browser: str, os: str, device_family: str, device_brand: str) -> str:
    if device_family == "Spider" or browser in _BOT_FAMILIES:
        return BOT
    if device_family == "iPad" or "Tablet" in device_brand or "Tablet" in user_agent:
        return TABLET
    if os == "Android":
        # Android phones say "Mobile"; Android tablets do not (Google's guidance to vendors)
        return MOBILE if "Mobile" in user_agent else TABLET
    if os in _MOBILE_OS or "Mobi" in user_agent:
        return MOBILE
    if os in _DESKTOP_OS:
        return DESKTOP
    return OTHER


@functools.lru_cache(maxsize=CACHE_SIZE)
def classify(user_agent: str) -> UserAgentInfo:
    """Parse one UA string (call with at most :data:`MAX_USER_AGENT_CHARS` characters)."""
    if not user_agent:
        return NO_USER_AGENT
    try:
        result = ua_parser.parse(user_agent)
    except (UnicodeError, ValueError):
        # lone surrogates and the like cannot reach the regex engine
        return NO_USER_AGENT
    browser = result.user_agent.family if result.user_agent else UNKNOWN
    browser_version = _version(result.user_agent.major, result.user_agent.minor) if result.user_agent else ""
    os = result.os.family if result.os else UNKNOWN
    os_version = _version(result.os.major, result.os.minor) if result.os else ""
    device_family = result.device.family if result.device else ""
    device_brand = (result.device.brand or "") if result.device else ""
    device = _device_class(user_agent, browser, os, device_family, device_brand)
    return UserAgentInfo(browser, browser_version, os, os_version, device)


def warm_up() -> None:
    """Load the parser's matchers now (≈150 ms) instead of on the first event."""
    classify.cache_clear()
    classify("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36")

"""Is this User-Agent a robot? Crawlers, uptime checkers, and (optionally) headless browsers.

Plausible drops bot traffic before it reaches the warehouse: a crawler's page views are not
visitors, and a synthetic check's Web Vitals are not users' experience. ua-parser already
names crawlers' device family "Spider" (``user_agents.classify`` turns that into the device
class ``bot``); :data:`BOT_TOKENS` adds what it misses (monitoring and audit tools).

Headless browsers are separate (:func:`is_headless`) because Vigil's own browser tests drive
headless Chromium through the real pipeline: ``VIGIL_DROP_HEADLESS`` decides whether they
count as bots.

HTTP libraries (curl, python-requests, httpx, …) are *not* dropped: a backend that forwards
events for its users, or a test harness, sends with them, and their events are real.
"""

from __future__ import annotations

import functools
import re

from pipeline.stream import user_agents

HUMAN, BOT, HEADLESS = "human", "bot", "headless"

# headless browsers and browser-automation drivers
_HEADLESS = re.compile(r"headless|phantomjs|slimerjs", re.IGNORECASE)
# crawlers, previewers and synthetic-monitoring tools ua-parser may not call "Spider";
# "(?<!cu)bot" spares Cubot phones ("CUBOT NOTE 7")
BOT_TOKENS = re.compile(
    r"(?<!cu)bot\b|(?<!cu)bot/|crawler|spider|scraper|slurp|lighthouse|pagespeed|\bptst/|gtmetrix|pingdom"
    r"|uptimerobot|statuscake|site24x7|newrelicpinger|datadogsynthetics|checkly|facebookexternalhit"
    r"|whatsapp/|bytespider|prerender",
    re.IGNORECASE,
)


@functools.lru_cache(maxsize=user_agents.CACHE_SIZE)
def verdict(user_agent: str) -> str:
    """:data:`HEADLESS`, :data:`BOT` or :data:`HUMAN` for one (length-capped) UA; cached, as
    a site's traffic repeats a few hundred UAs and the token search costs tens of µs."""
    if is_headless(user_agent):
        return HEADLESS
    return BOT if is_bot(user_agent, user_agents.classify(user_agent).device) else HUMAN


def is_headless(user_agent: str) -> bool:
    """A headless browser (HeadlessChrome, PhantomJS, …): an automated run, not a person."""
    return _HEADLESS.search(user_agent) is not None


def is_bot(user_agent: str, device: str) -> bool:
    """A crawler or monitor: ua-parser's device class ``bot``, a known token, or no UA at all.

    ``device`` is ``user_agents.classify(user_agent).device``. Headless browsers are not
    judged here (ua-parser also calls HeadlessChrome a bot): ask :func:`is_headless` first.
    """
    if not user_agent.strip():
        return True  # every browser sends one; an empty header is a script
    return device == user_agents.BOT or BOT_TOKENS.search(user_agent) is not None

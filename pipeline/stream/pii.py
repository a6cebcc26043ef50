"""Personal data out of URLs and error text: e-mail addresses, secrets in query strings, cards.

The browser SDK scrubs what it knows before sending, but not every sender is that SDK, and
an app's own error messages quote whatever they like. :func:`scrub` replaces

* e-mail addresses with ``[email]``;
* the values of query parameters named like a secret (:data:`SECRET_NAMES`: ``token``,
  ``api_key``, ``password``, ``session``, ``auth`` …, also as a suffix: ``access_token``)
  with ``[redacted]`` — a value that is already a marker (``[Filtered]``) stays;
* card-like numbers (13–19 digits, spaces or dashes allowed — in a URL or form value also
  ``+`` and ``%20``) that pass the Luhn check with ``[card]``; order numbers and timestamps
  fail it and stay. A card number stands alone: a digit run touching a letter, a digit or a
  dash is part of something else (a UUID, a hex id, a dashed reference) and is never changed —
  ``/orders/f0979095-2164-41d6-8db3-adc23fe98801`` holds 13 digits in a row that pass Luhn.

Results are cached: the same URLs and messages repeat across events.
"""

from __future__ import annotations

import functools
import re

EMAIL, REDACTED, CARD = "[email]", "[redacted]", "[card]"
MAX_TEXT_CHARS = 65_536  # the contract's longest string (a stack)

SECRET_NAMES = (
    "token", "key", "apikey", "password", "passwd", "pwd", "pass", "secret", "auth", "authorization",
    "session", "sessionid", "sid", "jwt", "signature", "sig", "credential", "credentials",
)
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
# name=value in a query string or fragment: after ? & ; or #, the value up to the next separator
_SECRET_PARAM = re.compile(
    r"(?P<name>(?<=[?&;#])(?:[A-Za-z0-9]*[_\-.])?(?:" + "|".join(SECRET_NAMES) + r"))=(?P<value>[^&;#\s'\"<>]*)",
    re.IGNORECASE,
)
_MARKER = re.compile(r"\[[A-Za-z ]+\]|%5B[A-Za-z%20]+%5D", re.IGNORECASE)
# A digit that follows a non-alphanumeric other than "-", or a %XX escape (never one inside an
# escape), then 12–18 more, and no letter, digit or "-" after. The lookbehinds sit after the
# first digit (they see it too) so that the search only stops at digits: faster than leading ones.
_CARD = re.compile(
    r"[0-9](?:(?<=%[0-9A-Fa-f]{2}[0-9])|(?<![^\W_][0-9])(?<![-%][0-9])(?<!%[0-9A-Fa-f][0-9]))"
    r"(?:(?:[ +\-]|%20)?[0-9]){12,18}"
    r"(?![^\W_])(?!-)"
)
_CARD_SEPARATORS = str.maketrans("", "", " +-")


def _luhn(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = ord(char) - 48
        if position & 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def _secret_value(match: re.Match[str]) -> str:
    value = match.group("value")
    if not value or _MARKER.fullmatch(value):
        return match.group(0)
    return f"{match.group('name')}={REDACTED}"


def _card(match: re.Match[str]) -> str:
    digits = match.group(0).replace("%20", "").translate(_CARD_SEPARATORS)
    return CARD if 13 <= len(digits) <= 19 and _luhn(digits) else match.group(0)


@functools.lru_cache(maxsize=16_384)
def scrub(text: str) -> str:
    """``/reset?token=abc&to=ann@example.com`` → ``/reset?token=[redacted]&to=[email]``."""
    text = text[:MAX_TEXT_CHARS]
    if "@" in text:
        text = _EMAIL.sub(EMAIL, text)
    if "=" in text:
        text = _SECRET_PARAM.sub(_secret_value, text)
    return _CARD.sub(_card, text)

"""Hostile JSON values and hurt documents, as hypothesis strategies (for :mod:`tests.support.fuzz`).

Wrong types, huge numbers, very long, unicode, NUL and lone-surrogate strings, nesting up
to ~400 levels and past the JSON parser's own limit; and :func:`mutated`, which puts them
anywhere in a real document. Deep and invalid values are written raw with
:class:`orjson.Fragment`, so the generator never recurses and a document can hold any JSON
text, even invalid.
"""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import strategies as st

# ── hostile values ─────────────────────────────────────────────────────────────────────

HUGE_NUMBERS = (10**30, -(10**30), 2**63, 2**64, -(2**63) - 1, 2**53 + 1, 1e308, -1e308, 5e-324, 1e-30, -1, 0)
# orjson refuses to write lone surrogates and invalid UTF-8; these are written raw
RAW_STRINGS = (b'"\\ud800"', b'"\\udfff\\ud800"', b'"a\\u0000b"', b'"\xff\xfe"', b'"\xed\xa0\x80"', b'"\\uD83D"',
               b'"\xc3"', b'"\xf0\x9f\x98"')
NASTY_TEXT = ("", "\x00", "\x00" * 64, "é" * 50, "😀" * 50, "\u202e\u200b\ufeff", "<script>alert(1)</script>",
              "' OR 1=1 --", "../../etc/passwd", "%00%ff", "\\", '"', "\r\n\r\nX: y", "NaN", "-0", "1e999",
              "2026-13-45T25:61:61Z", "ｆｕｌｌｗｉｄｔｈ", "\U0010ffff", "\ufffe\uffff")
# the depths that matter: orjson writes at most 254 levels, reads at most 1024
DEPTHS = (1, 2, 63, 64, 128, 200, 252, 253, 254, 255, 256, 300, 399, 400, 990, 1023, 1024, 1025)


def deep(depth: int, kind: str, leaf: bytes = b"1") -> orjson.Fragment:
    """``depth`` nested arrays/objects (alternating for ``mixed``) around ``leaf``, as raw JSON."""
    if kind == "list":
        return orjson.Fragment(b"[" * depth + leaf + b"]" * depth)
    if kind == "object":
        return orjson.Fragment(b'{"a":' * depth + leaf + b"}" * depth)
    half = depth // 2
    return orjson.Fragment(b'{"a":[' * half + (b"[" if depth % 2 else b"") + leaf + (b"]" if depth % 2 else b"")
                           + b"]}" * half)


def deep_values(max_depth: int = 400) -> st.SearchStrategy[orjson.Fragment]:
    """Nested arrays/objects up to ``max_depth`` levels (sometimes exactly at a parser's limit)."""
    depth = st.one_of(st.integers(1, max_depth), st.sampled_from(DEPTHS))
    leaf = st.sampled_from((b"1", b'"x"', b"{}", b"[]", b"null", b'"\\ud800"', b"1e400"))
    return st.builds(deep, depth, st.sampled_from(("list", "object", "mixed")), leaf)


def long_strings() -> st.SearchStrategy[str]:
    return st.builds(lambda piece, count: piece * count, st.sampled_from(("a", "é", "😀", "\x00", "<", "%")),
                     st.sampled_from((199, 200, 201, 256, 1024, 8192, 8193, 65_536, 300_000)))


def json_number(value: int | float) -> int | float | orjson.Fragment:
    """orjson writes 64-bit integers only; bigger ones are written raw."""
    if isinstance(value, int) and not -(2**63) <= value < 2**64:
        return orjson.Fragment(str(value).encode())
    return value


def scalars() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(), st.booleans(), st.integers().map(json_number), st.sampled_from(HUGE_NUMBERS).map(json_number),
        st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=40), st.sampled_from(NASTY_TEXT),
        st.sampled_from(RAW_STRINGS).map(orjson.Fragment),
    )


def nasty() -> st.SearchStrategy[Any]:
    """Any value a hostile client could put where another was expected."""
    small = st.recursive(scalars(), lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                             st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                         max_leaves=8)
    return st.one_of(small, small, small, deep_values(), long_strings(),
                     st.dictionaries(st.text(max_size=3), st.integers(0, 9), min_size=60, max_size=120))


NASTY = nasty()
DEEP = deep_values()
KEYS = st.one_of(st.sampled_from(("props", "extra", "tags", "contexts", "data", "x", "", "\x00", "__proto__",
                                  "event_id", "type", "timestamp", "op", "span_id", "value", "😀" * 40)),
                 st.text(max_size=12))


# ── mutating a document ────────────────────────────────────────────────────────────────


def places(document: Any) -> list[tuple[Any, Any]]:
    """Every (container, key-or-index) in ``document``, iteratively (documents may be long)."""
    found: list[tuple[Any, Any]] = []
    stack = [document]
    while stack:
        container = stack.pop()
        items = container.items() if isinstance(container, dict) else enumerate(container)
        for key, value in items:
            found.append((container, key))
            if isinstance(value, (dict, list)):
                stack.append(value)
    return found


def containers(document: Any) -> list[Any]:
    return [document] + [c[k] for c, k in places(document) if isinstance(c[k], (dict, list))]


MUTATIONS = st.sampled_from(("replace", "replace", "delete", "add", "add", "nest"))


def clone(value: Any) -> Any:
    """A copy of the lists and dicts in ``value`` (leaves, :class:`orjson.Fragment` among them, are shared)."""
    if isinstance(value, dict):
        return {key: clone(item) for key, item in value.items()}
    if isinstance(value, list):
        return [clone(item) for item in value]
    return value


@st.composite
def mutated(draw: st.DrawFn, document: Any, max_mutations: int = 3) -> Any:
    """A copy of ``document`` with up to ``max_mutations`` hostile changes (possibly none)."""
    document = clone(document)
    for _ in range(draw(st.integers(0, max_mutations))):
        op = draw(MUTATIONS)
        if op in ("replace", "delete"):
            spots = places(document)
            if not spots:
                continue
            container, key = spots[draw(st.integers(0, len(spots) - 1))]
            if op == "replace":
                container[key] = draw(NASTY)
            else:
                del container[key]
        else:
            found = containers(document)
            container = found[draw(st.integers(0, len(found) - 1))]
            value = draw(DEEP if op == "nest" else NASTY)
            if isinstance(container, dict):
                container[draw(KEYS)] = value
            else:
                container.insert(draw(st.integers(0, len(container))), value)
    return document


@st.composite
def free_form_nested(draw: st.DrawFn, document: dict[str, Any]) -> dict[str, Any]:
    """A v1 envelope whose events carry deep free-form data where the contract allows any:
    custom ``props``, error extras, an unknown field, a breadcrumb's ``data``."""
    document = clone(document)
    events = [event for event in document.get("events", []) if isinstance(event, dict)]
    for index in draw(st.lists(st.integers(0, len(events) - 1), min_size=1, max_size=2)) if events else []:
        event, value = events[index], draw(DEEP)
        data = event.setdefault("data", {})
        spot = draw(st.sampled_from(("props", "extra", "unknown", "breadcrumb")))
        if spot == "props":
            data.setdefault("props", {})["nested"] = value
        elif spot == "extra":
            data["extra"] = value
        elif spot == "unknown":
            event["x_custom"] = value
        else:
            data["breadcrumbs"] = [{"category": "ui", "timestamp": event.get("timestamp"), "data": {"d": value}}]
    return document


def dumps(document: Any) -> bytes:
    """``document`` as JSON; :class:`orjson.Fragment` leaves are written as they are."""
    return orjson.dumps(document)

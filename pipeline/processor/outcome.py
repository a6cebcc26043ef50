"""What became of one message — a row for ClickHouse or a dead letter — as the stream carries it.

The stream branches after ``enrich``: one branch sends dead letters to the DLQ topic, the
other sends rows to the sink. At a branch point Quix Streams copies the value for every
branch but the first (by pickling it), so that a branch cannot see another's mutations.
An :class:`Outcome` is immutable, so that copy is pure cost — measured at about 14 % of the
processor's time. Pickling an Outcome therefore parks it in a small in-process registry
and unpickling takes the very same object back: both branches share it.

The registry keeps the most recent :data:`REGISTRY_SIZE` outcomes; Quix unpickles a copy
within the same call, long before that many newer messages exist. An Outcome pickled to
outlive that (to disk, to another process) is not supported and fails loudly on load.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from typing import Any

from pipeline.processor.dead_letters import DeadLetter

REGISTRY_SIZE = 256

_registry: OrderedDict[int, Outcome] = OrderedDict()
_tokens = itertools.count()


def _shared(token: int) -> Outcome:
    try:
        return _registry[token]
    except KeyError:
        raise RuntimeError(
            "an Outcome was unpickled after it left the in-process registry; outcomes are shared "
            "between the stream's branches, not meant to be stored or sent elsewhere"
        ) from None


class Outcome:
    """Either ``row`` (a tuple in ``rows.COLUMNS`` order) or ``dead_letter``; never both."""

    __slots__ = ("row", "dead_letter")

    row: tuple | None
    dead_letter: DeadLetter | None

    def __init__(self, row: tuple | None = None, dead_letter: DeadLetter | None = None) -> None:
        object.__setattr__(self, "row", row)
        object.__setattr__(self, "dead_letter", dead_letter)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("an Outcome is immutable: the stream's branches share it")

    def __reduce__(self) -> tuple:
        token = next(_tokens)
        _registry[token] = self
        if len(_registry) > REGISTRY_SIZE:
            _registry.popitem(last=False)
        return (_shared, (token,))

    def __repr__(self) -> str:
        return f"Outcome(dead_letter={self.dead_letter!r})" if self.row is None else "Outcome(row)"

"""What became of one message: a row for ClickHouse, a dead letter, or neither (a bot).

The processor's stream is a single chain — the steps over a batch, then the sinks — so an
:class:`Outcome` is never copied between branches: :class:`~pipeline.processor.batches.StepBatches`
hands its row to the ClickHouse sink or its dead letter to the DLQ sink. A named tuple keeps it
cheap to build (one per message) and immutable.
"""

from __future__ import annotations

from typing import NamedTuple

from pipeline.processor.dead_letters import DeadLetter


class Outcome(NamedTuple):
    """Either ``row`` (a tuple in ``rows.COLUMNS`` order) or ``dead_letter``; never both.

    Neither means the event was filtered by design (a bot): counted, not stored.
    """

    row: tuple | None = None
    dead_letter: DeadLetter | None = None

"""The processor's steps over batches of messages: :class:`StepBatches`, the stage between
the events topic and the two sinks.

Quix Streams hands a dataframe's values on one message at a time. The processor's steps run
faster over a batch (each step over every message before the next step: a quarter to a
third less CPU per event, :func:`~pipeline.stream.steps.run_many`), and a checkpoint must
not commit the offset of a message whose outcome is not written yet. The only place Quix
Streams gives both — every message, and a call before each commit — is a sink, so the stage
is one (a ``BaseSink``): it gathers the messages and runs the steps over ``step_batch`` of
them at a time, handing each :class:`Outcome` on to the sink it names:

- a row → :class:`~pipeline.stream.sink.ClickHouseSink` (the ``events`` table),
- a dead letter → :class:`~pipeline.stream.dlq_sink.DeadLetterSink` (the DLQ topic, keyed
  like its message),
- a filtered event (a bot) → nowhere (counted);

and the samples of the batch's rows to :class:`~pipeline.stream.samples.SampleOutput` (the
signals' input, produced in the application's Kafka transaction), when it is given one.
After the batch's rows come the corrected rows of vitals stored earlier without their page,
whose session's page view was in the batch (:func:`corrected_rows`): inserted after the first
row of the event, they replace it in ``events FINAL``; they are not sampled again (the signals
count each stored event once).

:meth:`StepBatches.flush` runs the steps over what is gathered, then flushes both sinks;
only then does Quix Streams commit the offsets (at-least-once; ``events`` collapses repeats
by ``event_id``). A timer thread sends on what waited ``max_delay`` also when no message
comes (the end of a burst); a lock keeps it and the stream thread apart.

The stream stays one chain (topic → this stage) rather than a rows branch and a dead-letter
branch: at a branch point Quix Streams copies every value for every branch but the first,
and each branch's filter runs for every message — together about a fifth of the processor's
CPU per event.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Sequence

from quixstreams.models import HeadersTuples
from quixstreams.sinks import BaseSink

from pipeline.stream.counters import Counters
from pipeline.stream.dead_letters import Source, dead_letter
from pipeline.stream.dlq_sink import DeadLetterSink
from pipeline.stream.outcome import Outcome
from pipeline.stream.samples import SampleOutput
from pipeline.stream.session_pages import SessionPages
from pipeline.stream.sink import ClickHouseSink
from pipeline.stream.steps import FILTERED_REASONS, Dropped, Step, run_many

log = logging.getLogger(__name__)

# messages the steps run over at a time (see :func:`pipeline.stream.steps.run_many`)
STEP_BATCH = 256
# what a filtered event becomes: neither a row nor a dead letter (both sinks skip it)
FILTERED = Outcome()


def process(
    raw: bytes | None,
    steps: tuple[Step, ...],
    counters: Counters | None = None,
    source: Callable[[], Source | None] = lambda: None,
) -> Outcome:
    """One message → its :class:`Outcome`: the last step's row, or the dead letter of the first drop
    (the processor's ``steps``: :func:`pipeline.stream.processor.processor_steps`)."""
    return process_many((raw,), steps, counters, lambda _index: source())[0]


def process_many(
    raws: Sequence[bytes | None],
    steps: tuple[Step, ...],
    counters: Counters | None = None,
    source_of: Callable[[int], Source | None] = lambda _index: None,
) -> list[Outcome]:
    """Messages → their outcomes, in order (the steps run step by step over all of them:
    :func:`~pipeline.stream.steps.run_many`; the last step's value is the row).
    ``source_of(i)`` says where message ``i`` was read from, asked only for a drop's dead letter."""
    if counters is not None:
        counters.consumed += len(raws)
    outcomes: list[Outcome] = []
    kept = 0
    for index, value in enumerate(run_many(raws, steps)):
        if type(value) is not Dropped:
            outcomes.append(Outcome(row=value))
            kept += 1
            continue
        if counters is not None:
            counters.drop(value.reason)
        if value.reason in FILTERED_REASONS:  # a bot: counted, nothing to fix or replay
            outcomes.append(FILTERED)
        else:
            outcomes.append(Outcome(dead_letter=dead_letter(value, raws[index], source_of(index))))
    if counters is not None:
        counters.kept += kept
        counters.maybe_log()
    return outcomes


def corrected_rows(pages: SessionPages, steps: tuple[Step, ...]) -> list[tuple]:
    """The rows of vitals stored without their page that a later page view of their session gave
    one (:meth:`SessionPages.take_corrections`): each goes through the ``steps`` after
    ``put_session_page`` again (``scrub_pii``, ``put_page``, …, the row), from where it was then."""
    corrections = pages.take_corrections()
    names = [step.__name__ for step in steps]
    if not corrections or "put_session_page" not in names:
        return []
    rows = []
    for value in run_many(corrections, steps[names.index("put_session_page") + 1:]):
        if type(value) is Dropped:  # the same steps kept it without page: a bug, said, the first row stays
            log.error("a vital given its page late was dropped by step %s (%s: %s); it stays stored without page",
                      value.step, value.reason, value.message[:200])
        else:
            rows.append(value)
    return rows


class StepBatches(BaseSink):
    """Messages in; ``steps`` over ``step_batch`` of them at a time; rows to ``rows``, dead letters
    to ``dead_letters``, their samples to ``samples``; the sinks flushed before the offsets are committed."""

    def __init__(self, steps: tuple[Step, ...], *, rows: ClickHouseSink, dead_letters: DeadLetterSink,
                 samples: SampleOutput | None = None, counters: Counters | None = None,
                 step_batch: int = STEP_BATCH, max_delay: float | None = None,
                 session_pages: SessionPages | None = None) -> None:
        super().__init__(on_client_connect_success=lambda: None, on_client_connect_failure=lambda _error: None)
        self.steps = steps
        self.rows = rows
        self.dead_letters = dead_letters
        self.samples = samples
        self.counters = counters or Counters()
        self.step_batch = step_batch
        # the steps' session pages (Options.session_pages): vitals corrected after their page view
        self.session_pages = session_pages
        # gathered messages go through the steps once the first waited this long (None: at the checkpoint)
        self.max_delay = max_delay
        self._messages: list[tuple] = []  # (value, key, topic, partition, offset)
        self._waiting_since = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._timer: threading.Thread | None = None
        self._timer_error: BaseException | None = None

    # ── lifecycle ───────────────────────────────────────────────────────────────────────

    def setup(self) -> None:
        """Start both sinks (each says whether its destination answers) and the timer."""
        self.rows.start()
        self.dead_letters.start()
        if self.max_delay is not None and self._timer is None:
            self._timer = threading.Thread(target=self._run_timer, name="processor-timer", daemon=True)
            self._timer.start()

    def close(self) -> None:
        """Stop the timer, then close both sinks (their threads and connections)."""
        self._stop.set()
        if self._timer is not None:
            self._timer.join()
            self._timer = None
        try:
            self.rows.close()
        finally:
            self.dead_letters.close()

    # ── the stream thread ───────────────────────────────────────────────────────────────

    def add(self, value: bytes | None, key: Any, timestamp: int, headers: HeadersTuples,
            topic: str, partition: int, offset: int) -> None:
        """Gather the message; every ``step_batch`` messages run the steps over them."""
        with self._lock:
            messages = self._messages
            messages.append((value, key, topic, partition, offset))
            if len(messages) >= self.step_batch:
                self._run_steps()
            elif len(messages) == 1:
                self._waiting_since = time.monotonic()

    def flush(self) -> None:
        """The checkpoint: the rows in ClickHouse and the dead letters acknowledged by Kafka, or no commit."""
        started = time.monotonic()
        try:
            with self._lock:
                self._raise_timer_error()
                self._run_steps()
                try:
                    self.rows.flush()
                except BaseException:
                    self.dead_letters.on_paused()  # the checkpoint is read again: settle what is in flight
                    raise
            self.dead_letters.flush()
        finally:
            self.counters.checkpoints += 1
            self.counters.checkpoint_wait_s += time.monotonic() - started

    def on_paused(self) -> None:
        """Backpressure: the gathered messages, the rows and the dead letters will be read again."""
        with self._lock:
            self._messages.clear()
            self.dead_letters.on_paused()
            self.rows.on_paused()

    # ── the steps ───────────────────────────────────────────────────────────────────────

    def _run_steps(self) -> None:
        """The gathered messages through the steps: rows to ``rows`` (and their samples to ``samples``),
        dead letters to ``dead_letters``.

        Under the lock, also on the timer thread: the samples go into the checkpoint's open
        transaction, and :meth:`flush` (which takes the lock) leaves nothing gathered, so
        none can be produced between the checkpoint's flush and its commit."""
        messages, self._messages = self._messages, []
        if not messages:
            return
        outcomes = process_many([message[0] for message in messages], self.steps, self.counters,
                                lambda index: Source(*messages[index][2:]))
        rows = []
        keep = rows.append
        for outcome, message in zip(outcomes, messages):
            if outcome.row is not None:
                keep(outcome.row)
            elif outcome.dead_letter is not None:
                self.dead_letters.add(outcome.dead_letter.record, message[1])
        self.rows.extend(rows)
        if self.samples is not None and rows:
            self.samples.send(rows)
        if self.session_pages is not None:  # after the rows they replace; not sampled twice
            self.rows.extend(corrected_rows(self.session_pages, self.steps))

    # ── the timer thread ────────────────────────────────────────────────────────────────

    def _run_timer(self) -> None:
        """Every quarter of ``max_delay`` (at most a second), send on what waited ``max_delay``."""
        period = min(max(self.max_delay / 4, 0.05), 1.0)  # type: ignore[operator]
        while not self._stop.wait(period):
            try:
                self.tick()
            except Exception as exc:  # noqa: BLE001 - the next checkpoint fails with it (offsets uncommitted)
                log.exception("sending on what waited failed; the next checkpoint fails with it")
                with self._lock:
                    self._timer_error = self._timer_error or exc

    def tick(self) -> None:
        """Gathered messages whose first waited ``max_delay`` through the steps and their rows to
        ClickHouse; else rows that waited ``max_delay`` to ClickHouse if no insert is in flight."""
        with self._lock:
            if self._messages and time.monotonic() - self._waiting_since >= self.max_delay:  # type: ignore[operator]
                self._run_steps()
                self.rows.send_pending()
            else:
                self.rows.send_due()

    def _raise_timer_error(self) -> None:
        error, self._timer_error = self._timer_error, None
        if error is not None:
            raise RuntimeError(f"the processor's timer failed: {type(error).__name__}: {error}; "
                               "the offsets are not committed, the messages will be read again") from error

"""``vigil signals`` counts exactly the events the processor stores, with fewer steps.

``SIGNAL_STEPS`` is a hand-picked subset of the processor's ``STEPS``: every step that can
drop an event, plus what those need (the receive stamp for the clock window, the parsed user
agent for the bot filter), without the per-event enrichment. These tests keep the two lists
in step when either changes.
"""

from __future__ import annotations

import inspect

import orjson
import pytest

from pipeline.processor import steps
from pipeline.processor.steps import STEPS, Dropped, Options
from pipeline.signals.app import SIGNAL_STEPS
from tests.integration.test_processor import invalid_messages, valid_event, valid_messages

HEADLESS = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/126.0.0.0 Safari/537.36"


def test_signal_steps_run_in_the_processors_order():
    positions = [STEPS.index(step) for step in SIGNAL_STEPS]  # ValueError: a step the processor lacks
    assert positions == sorted(positions)


def test_every_step_the_signals_leave_out_only_adds_to_the_event_and_never_drops_it():
    dropping = [step.__name__ for step in STEPS
                if step not in SIGNAL_STEPS and "Dropped" in inspect.getsource(step)]
    assert not dropping, (
        f"{dropping} can drop events but `vigil signals` does not run them, so signals would count events "
        "the processor does not store: add them (and what they need) to pipeline.signals.app.SIGNAL_STEPS"
    )


def _verdict(outcome: object) -> str:
    return outcome.reason if type(outcome) is Dropped else "kept"


def _corpus(project_id: int = 7) -> list[bytes | None]:
    good = valid_event(0, project_id, "signal-steps")
    bots = [orjson.dumps({**good, "client": {"ip": "198.51.100.7", "user_agent": agent}})
            for agent in ("Googlebot/2.1 (+http://www.google.com/bot.html)", HEADLESS, "curl/8.5.0", "")]
    hostile = [orjson.dumps({**good, "client": {"ip": "not-an-ip", "user_agent": "x" * 100_000}}),
               orjson.dumps({**good, "page": {"url": "http://[::1" + "/a" * 5000, "referrer": "%%" * 3000}}),
               None, b"", b"\x00" * 64]
    return ([value for _key, value in valid_messages(project_id, "signal-steps", 0, 300)]
            + [value for _key, value, _reason in invalid_messages(project_id, "signal-steps")]
            + bots + hostile)


@pytest.mark.parametrize("drop_headless", [False, True])
def test_the_signals_keep_and_drop_exactly_the_events_the_processor_does(drop_headless):
    options = Options(drop_headless=drop_headless)
    corpus = _corpus()
    processor = [_verdict(outcome) for outcome in steps.run_many(corpus, steps.steps_for(options))]
    signals = [_verdict(outcome) for outcome in steps.run_many(corpus, steps.steps_for(options, SIGNAL_STEPS))]
    assert signals == processor
    assert processor.count("kept") >= 300 and "bot" in processor  # the corpus reaches both sides

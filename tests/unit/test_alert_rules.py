"""Alert rules and channels as people write them: good definitions parse, bad ones are refused
with a message that says where the problem is, what is wrong and what to write instead."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from pipeline.queries.alert_rules import (
    METRICS,
    RuleError,
    dump_config,
    format_duration,
    load_file,
    parse_channel,
    parse_config,
    parse_duration,
    parse_rule,
    slugify,
)
from pipeline.settings import REPO_ROOT

EXAMPLE = REPO_ROOT / "docs" / "alerts.example.yaml"

GOOD = {"id": "checkout-errors", "name": "Errors on checkout", "metric": "error_count", "project": "demo",
        "filters": {"environment": "production", "route": "/checkout*"}, "window": "5m", "comparator": ">",
        "threshold": 20, "for": "2m", "severity": "critical", "cooldown": "1h", "channels": ["ops"]}


def problems(raw, **kwargs) -> list[str]:
    with pytest.raises(RuleError) as caught:
        parse_rule(raw, **kwargs)
    return caught.value.problems


def test_a_complete_rule_parses_into_what_it_says():
    rule = parse_rule(GOOD, channels=["ops"])
    assert (rule.id, rule.metric, rule.project, rule.threshold, rule.comparator) == (
        "checkout-errors", "error_count", "demo", 20.0, ">")
    assert (rule.window, rule.for_, rule.cooldown) == (timedelta(minutes=5), timedelta(minutes=2), timedelta(hours=1))
    assert (rule.environment, rule.route, rule.release) == ("production", "/checkout*", "")
    assert rule.describe() == "Error count above 20 over 5m for 2m (environment production, route /checkout*)"


def test_defaults_make_a_short_rule_complete():
    rule = parse_rule({"id": "lcp", "metric": "vital_p75", "vital": "LCP", "project": 1, "threshold": 2500})
    assert (rule.name, rule.project, rule.comparator, rule.severity) == ("lcp", "1", ">", "warning")
    assert (rule.window, rule.for_, rule.cooldown) == (timedelta(minutes=5), timedelta(0), timedelta(minutes=30))
    assert rule.describe() == "LCP p75 above 2500 ms over 5m"


def test_a_rule_survives_the_round_trip_through_its_yaml_form():
    rule = parse_rule(GOOD)
    assert parse_rule(rule.as_dict()) == rule
    regressed = parse_rule({"id": "back", "metric": "regressed_error_group", "project": "demo", "threshold": 0,
                            "min_samples": 2, "enabled": False})
    assert parse_rule(regressed.as_dict()) == regressed


@pytest.mark.parametrize(("change", "message"), [
    ({"window": "5 minutes"},
     "rule 'checkout-errors': window: '5 minutes' is not a duration; write a number and a unit, e.g. 30s, 5m, 2h or 1d"),
    ({"threshold": "lots"},
     "rule 'checkout-errors': threshold: expected a number, got 'lots'; e.g. threshold: 20"),
    ({"comparator": "=>"},
     "rule 'checkout-errors': comparator: '=>' is not a comparator; use one of \">\" (above), \">=\" (at or above), "
     "\"<\" (below), \"<=\" (at or below) — quote it in YAML"),
    ({"metric": "error_cnt"},
     "rule 'checkout-errors': metric: 'error_cnt' is not a metric; did you mean 'error_count'? use one of "
     + ", ".join(METRICS)),
    ({"severity": "urgent"},
     "rule 'checkout-errors': severity: 'urgent' is not a severity; use one of info, warning, critical"),
    ({"window": "10s"}, "rule 'checkout-errors': window: 10s is too short; the shortest window is 1m"),
    ({"window": "30d"}, "rule 'checkout-errors': window: 30d is too long; the longest window is 1w"),
    ({"filters": {"route": "checkout"}},
     "rule 'checkout-errors': filters.route: 'checkout' is not a path; routes start with /, e.g. /checkout or /products/*"),
    ({"filters": {"enviroment": "production"}},
     "rule 'checkout-errors': filters.enviroment: unknown field; did you mean 'environment'?"),
    ({"treshold": 20}, "rule 'checkout-errors': treshold: unknown field; did you mean 'threshold'?"),
    ({"id": "Checkout Errors"},
     "rule 'Checkout Errors': id: 'Checkout Errors' is not a rule id; use lowercase letters, digits, - and _ "
     "(at most 64), starting with a letter or digit, e.g. checkout-errors"),
    ({"vital": "LCP"}, "rule 'checkout-errors': vital: only the vital_p75 metric takes a vital; remove it or set "
                       "metric: vital_p75"),
    ({"min_samples": -1}, "rule 'checkout-errors': min_samples: expected a whole number ≥ 0, got -1"),
    ({"project": True}, "rule 'checkout-errors': project: True is not a project; give its name (e.g. demo) or its "
                        "numeric id"),
])
def test_each_mistake_is_named_with_what_to_write_instead(change, message):
    assert problems({**GOOD, **change}) == [message]


def test_missing_fields_say_what_to_add():
    assert problems({"name": "Something"}) == [
        "rule: id: missing; give the rule a short id, e.g. id: checkout-errors",
        f"rule: metric: missing; say what to watch, one of {', '.join(METRICS)}",
        "rule: project: missing; say which project, by name (e.g. project: demo) or numeric id",
        "rule: threshold: missing; say what value to compare with, e.g. threshold: 20",
    ]


def test_a_vital_rule_needs_a_vital_vigil_measures():
    assert problems({"id": "v", "metric": "vital_p75", "project": "demo", "threshold": 1}) == [
        "rule 'v': vital: missing; vital_p75 needs the vital to watch, one of LCP, INP, CLS, FCP, TTFB, LOAD, TTI"]
    assert problems({"id": "v", "metric": "vital_p75", "vital": "FID", "project": "demo", "threshold": 1}) == [
        "rule 'v': vital: 'FID' is not a Web Vital Vigil measures; use one of LCP, INP, CLS, FCP, TTFB, LOAD, TTI"]


def test_a_rule_may_only_notify_channels_that_exist():
    assert problems(GOOD, channels=["oncall"]) == [
        "rule 'checkout-errors': channels: 'ops' is not a channel; the channels are oncall — define it under "
        "channels:, or on the Alerts page"]


def test_every_problem_of_a_rule_is_reported_at_once():
    assert len(problems({**GOOD, "window": "soon", "threshold": "high", "severity": "loud"})) == 3


@pytest.mark.parametrize(("text", "span"), [("30s", timedelta(seconds=30)), ("5m", timedelta(minutes=5)),
                                            ("2h", timedelta(hours=2)), ("1d", timedelta(days=1)),
                                            ("1w", timedelta(weeks=1)), ("1.5h", timedelta(minutes=90)), (0, timedelta(0))])
def test_durations_read_and_write_back(text, span):
    assert parse_duration(text) == span
    assert parse_duration(format_duration(span)) == span


def test_channels_are_checked_per_type():
    assert parse_channel("ops", {"type": "slack", "url": "https://hooks.slack.example/T/B/x"}).target == \
        "https://hooks.slack.example/…"
    assert parse_channel("mail", {"type": "email", "to": "a@example.com"}).to == ("a@example.com",)
    with pytest.raises(RuleError) as caught:
        parse_channel("mail", {"type": "email", "url": "https://x.example"})
    assert caught.value.problems == [
        "channel 'mail': to: missing; email channels need recipients, e.g. to: [oncall@example.com]",
        "channel 'mail': url: email channels have no URL; remove it (the SMTP relay is VIGIL_SMTP_HOST)"]
    with pytest.raises(RuleError) as caught:
        parse_channel("pager", {"type": "pagerduty"})
    assert caught.value.problems == ["channel 'pager': type: 'pagerduty' is not a channel type; use one of webhook, "
                                     "slack, email"]
    with pytest.raises(RuleError) as caught:
        parse_channel("hook", {"type": "webhook", "url": "hooks.example.com"})
    assert caught.value.problems == ["channel 'hook': url: webhook channels need an http(s) URL (or ${ENV_VAR} "
                                     "holding one), got 'hooks.example.com'"]


def test_channel_secrets_are_expanded_from_the_environment_only_when_asked():
    channel = parse_channel("hook", {"type": "webhook", "url": "${HOOK_URL}",
                                     "headers": {"Authorization": "Bearer ${HOOK_TOKEN}"}})
    assert channel.as_dict()["url"] == "${HOOK_URL}"
    sent = channel.expanded({"HOOK_URL": "https://hooks.example.com/a", "HOOK_TOKEN": "t0k"})
    assert (sent.url, dict(sent.headers)) == ("https://hooks.example.com/a", {"Authorization": "Bearer t0k"})
    with pytest.raises(RuleError, match="the environment variable HOOK_TOKEN is not set"):
        channel.expanded({"HOOK_URL": "https://hooks.example.com/a"})


def test_a_whole_file_reports_every_problem_with_its_place():
    text = """
channels:
  ops: {type: slack, url: "https://hooks.example.com/x"}
  mail: {type: email}
rules:
  - id: a
    metric: error_count
    project: demo
    threshold: 1
    channels: [ops, pager]
  - id: a
    metric: error_rate
    project: demo
    threshold: 5
  - metric: vital_p75
    vital: LCP
    project: demo
    threshold: 2500
    window: 5
rule:
  - oops
"""
    with pytest.raises(RuleError) as caught:
        parse_config(text, "alerts.yaml")
    assert caught.value.problems == [
        "alerts.yaml: rule: unknown section; did you mean 'rules'?",
        "alerts.yaml: channels.mail: to: missing; email channels need recipients, e.g. to: [oncall@example.com]",
        "alerts.yaml: rules[0] 'a': channels: 'pager' is not a channel; the channels are ops, mail — define it under "
        "channels:, or on the Alerts page",
        "alerts.yaml: rules[1] 'a': id: 'a' is already used by another rule in this file; ids are unique",
        "alerts.yaml: rules[2]: id: missing; give the rule a short id, e.g. id: checkout-errors",
        "alerts.yaml: rules[2]: window: 5 is not a duration; write a number and a unit, e.g. 30s, 5m, 2h or 1d",
    ]


def test_yaml_syntax_errors_say_where():
    with pytest.raises(RuleError) as caught:
        parse_config("rules:\n  - id: a\n    metric: [unclosed\n", "alerts.yaml")
    (problem,) = caught.value.problems
    assert problem.startswith("alerts.yaml: not valid YAML at line 4, column 1:")
    assert problem.endswith("check the indentation and quoting there")


def test_a_missing_file_says_how_to_go_on(tmp_path: Path):
    with pytest.raises(RuleError) as caught:
        load_file(tmp_path / "alerts.yaml")
    assert caught.value.problems == [f"{tmp_path / 'alerts.yaml'}: no such file; create it, or unset VIGIL_ALERTS_FILE "
                                     "to manage rules only on the Alerts page"]


def test_the_documented_example_file_is_valid_and_covers_every_metric():
    config = load_file(EXAMPLE)
    assert {rule.metric for rule in config.rules.values()} == set(METRICS)
    assert {channel.type for channel in config.channels.values()} == {"webhook", "slack", "email"}


def test_an_export_reads_back_as_the_same_rules():
    config = load_file(EXAMPLE)
    again = parse_config(dump_config(list(config.channels.values()), list(config.rules.values())))
    assert again == config


def test_rule_ids_can_be_made_from_names():
    assert slugify("Checkout errors — prod!") == "checkout-errors-prod"
    assert slugify("¡¿") == "rule"

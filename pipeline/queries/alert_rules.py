"""Alert rules and notification channels: what they may say, and checking what someone wrote.

A rule watches one metric of one project (optionally narrowed to an environment, a route
and a release) over a sliding window, compares it with a threshold, and — once the
comparison has held for its ``for`` duration — fires with a severity to its channels.
Rules come from two places that share this one definition: the YAML file named by
``VIGIL_ALERTS_FILE`` (config as code, see :func:`load_file`) and the Alerts page.

Why here, in the query layer: the Alerts page is presentation and may import only
``pipeline.queries`` and the settings, yet it shows rules, builds them from its form, checks
them with these messages and exports them as YAML; and the store the page writes them through
(:mod:`.alert_store`) keeps them as this module's mappings. ``pipeline.alerts`` (the evaluator,
the notifications, ``vigil alerts``), one layer above, imports the model from here. The
``contract`` layer below is the *event's* contract, which ingest and the stream share; they
never need a rule.

Every check collects *all* the problems of a definition and says, for each, where it is,
what is wrong and what to write instead, so one round of fixing is enough::

    alerts.yaml: rules[1] "checkout-errors": window: "5 minutes" is not a duration; write a
    number and a unit, e.g. 30s, 5m, 2h or 1d
"""

from __future__ import annotations

import difflib
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from pipeline.contract import vitals

# ── the vocabulary ───────────────────────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """One thing a rule can watch."""

    label: str
    unit: str  # shown after values: "", "%", "ms"
    help: str
    grouped: bool = False  # one incident per error group, instead of one per rule
    from_signals: bool = False  # the processor's 1-minute signals carry it (fast path)


METRICS: dict[str, MetricSpec] = {
    "error_count": MetricSpec(
        "Error count", "", "errors of every kind (JS, promise, resource, API) in the window", from_signals=True),
    "error_rate": MetricSpec(
        "Error rate", "%", "errors as a share of all events in the window, in percent", from_signals=True),
    "new_error_group": MetricSpec(
        "New error group", "", "events of each error group first seen within the window (one incident per group)",
        grouped=True),
    "regressed_error_group": MetricSpec(
        "Resolved error group regressed", "",
        "events of each error group resolved on the Errors page that occurred again since (one incident per group)",
        grouped=True),
    "vital_p75": MetricSpec(
        "Web Vital p75", "ms", "the 75th percentile of one Web Vital (CLS is unitless)", from_signals=True),
    "api_failure_rate": MetricSpec(
        "API failure rate", "%", "failed API calls (HTTP status ≥ 400, network error, timeout) as a share of all "
        "API calls, in percent", from_signals=True),
    "page_view_drop": MetricSpec(
        "Page-view drop vs last week", "%",
        "how many percent fewer page views than in the same window a week earlier (negative = more)"),
}
COMPARATORS: dict[str, str] = {">": "above", ">=": "at or above", "<": "below", "<=": "at or below"}
SEVERITIES: tuple[str, ...] = ("info", "warning", "critical")
CHANNEL_TYPES: dict[str, str] = {
    "webhook": "generic JSON webhook (POST)",
    "slack": "Slack-compatible incoming webhook (also Mattermost, Rocket.Chat, Teams workflows)",
    "email": "e-mail over SMTP (the relay is VIGIL_SMTP_*)",
}
SOURCES = ("file", "ui")  # where a rule or channel is defined: the YAML file or the Alerts page

DEFAULT_WINDOW = timedelta(minutes=5)
DEFAULT_COOLDOWN = timedelta(minutes=30)
MAX_WINDOW = timedelta(days=7)

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_ENV_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+$")


class RuleError(ValueError):
    """A rule, channel or file that cannot be used; ``problems`` lists each with what to write instead."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


# ── durations ────────────────────────────────────────────────────────────────────────────


def parse_duration(value: Any) -> timedelta:
    """``"30s"``, ``"5m"``, ``"2h"``, ``"1d"``, ``"1w"`` (or ``0``) → a timedelta; ValueError otherwise."""
    if value == 0 or value == "0":
        return timedelta(0)
    if isinstance(value, timedelta):
        return value
    match = _DURATION_RE.match(value) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"{value!r} is not a duration; write a number and a unit, e.g. 30s, 5m, 2h or 1d")
    return timedelta(seconds=float(match.group(1)) * _DURATION_UNITS[match.group(2)])


def format_duration(span: timedelta) -> str:
    """The shortest exact way to write ``span`` back: ``5m``, ``90s``, ``1d``, ``0``."""
    seconds = span.total_seconds()
    if seconds == 0:
        return "0"
    for unit in ("w", "d", "h", "m", "s"):
        count = seconds / _DURATION_UNITS[unit]
        if count == int(count):
            return f"{int(count)}{unit}"
    return f"{seconds:g}s"


# ── rules ────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Rule:
    """One alert rule. Build it with :func:`parse_rule` (which checks it), not directly."""

    id: str
    name: str
    metric: str
    project: str  # a project's name, or its numeric id written as text
    threshold: float
    comparator: str = ">"
    window: timedelta = DEFAULT_WINDOW
    for_: timedelta = timedelta(0)
    severity: str = "warning"
    cooldown: timedelta = DEFAULT_COOLDOWN
    channels: tuple[str, ...] = ()
    vital: str = ""  # vital_p75 only
    environment: str = ""  # filters: empty = any
    route: str = ""  # a path, or a pattern with * (``/products/*``)
    release: str = ""
    min_samples: int = 0  # rates, percentiles and drops over fewer events/samples than this are not judged
    description: str = ""
    enabled: bool = True
    source: str = "ui"

    @property
    def spec(self) -> MetricSpec:
        return METRICS[self.metric]

    @property
    def unit(self) -> str:
        if self.metric == "vital_p75":
            return vitals.THRESHOLDS[self.vital].unit
        return self.spec.unit

    def breached(self, value: float | None) -> bool:
        """Does ``value`` meet the rule's condition? No value (no data) never does."""
        if value is None or math.isnan(value):
            return False
        if self.comparator == ">":
            return value > self.threshold
        if self.comparator == ">=":
            return value >= self.threshold
        if self.comparator == "<":
            return value < self.threshold
        return value <= self.threshold

    def describe(self) -> str:
        """The rule in one line, as people say it: ``LCP p75 above 2500 ms over 5m for 2m``."""
        what = f"{self.vital} p75" if self.metric == "vital_p75" else self.spec.label
        if self.spec.grouped:
            what += ": events"
        unit = self.unit
        threshold = f"{self.threshold:g}{'' if unit in ('', '%') else ' '}{unit}"
        text = f"{what} {COMPARATORS[self.comparator]} {threshold} over {format_duration(self.window)}"
        if self.for_:
            text += f" for {format_duration(self.for_)}"
        scope = [f"{name} {value}" for name, value in self.filters().items()]
        return text + (f" ({', '.join(scope)})" if scope else "")

    def filters(self) -> dict[str, str]:
        """The filters that are set (environment, route, release)."""
        return {name: value for name, value in
                (("environment", self.environment), ("route", self.route), ("release", self.release)) if value}

    def as_dict(self) -> dict[str, Any]:
        """The rule as written in YAML (defaults left out), ready for :func:`parse_rule` again."""
        out: dict[str, Any] = {"id": self.id, "name": self.name}
        if self.description:
            out["description"] = self.description
        out["metric"] = self.metric
        if self.vital:
            out["vital"] = self.vital
        out["project"] = int(self.project) if self.project.isdigit() else self.project
        if self.filters():
            out["filters"] = self.filters()
        out["window"] = format_duration(self.window)
        out["comparator"] = self.comparator
        out["threshold"] = int(self.threshold) if self.threshold == int(self.threshold) else self.threshold
        if self.for_:
            out["for"] = format_duration(self.for_)
        out["severity"] = self.severity
        if self.cooldown != DEFAULT_COOLDOWN:
            out["cooldown"] = format_duration(self.cooldown)
        if self.min_samples:
            out["min_samples"] = self.min_samples
        out["channels"] = list(self.channels)
        if not self.enabled:
            out["enabled"] = False
        return out


_RULE_FIELDS = ("id", "name", "description", "metric", "vital", "project", "filters", "window", "comparator",
                "threshold", "for", "severity", "cooldown", "channels", "min_samples", "enabled")
_FILTER_FIELDS = ("environment", "route", "release")
_RULE_REQUIRED = ("id", "metric", "project", "threshold")


class _Problems:
    """Collects what is wrong with one definition, each prefixed with where it is."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.items: list[str] = []

    def add(self, field_name: str, message: str) -> None:
        self.items.append(f"{self.where}: {field_name}: {message}" if field_name else f"{self.where}: {message}")

    def unknown_fields(self, raw: Mapping[str, Any], known: Sequence[str], prefix: str = "") -> None:
        for key in raw:
            if key not in known:
                guess = difflib.get_close_matches(str(key), known, n=1)
                hint = f"did you mean {guess[0]!r}?" if guess else f"the fields are {', '.join(known)}"
                self.add(f"{prefix}{key}", f"unknown field; {hint}")


def _where(index: int | None, raw: Any, label: str = "rules") -> str:
    name = raw.get("id") if isinstance(raw, Mapping) else None
    position = f"{label}[{index}]" if index is not None else label[:-1]
    return f"{position} {name!r}" if isinstance(name, str) and name else position


def parse_rule(raw: Any, *, where: str | None = None, source: str = "ui",
               channels: Sequence[str] | None = None) -> Rule:
    """Check one rule definition (a mapping, as in YAML) and return the :class:`Rule`.

    ``channels``, when given, are the names a rule may notify; an unknown one is a problem.
    Raises :class:`RuleError` listing every problem found.
    """
    problems = _Problems(where or _where(None, raw))
    if not isinstance(raw, Mapping):
        problems.add("", f"a rule is a mapping of fields (id: …, metric: …), got {type(raw).__name__}")
        raise RuleError(problems.items)
    problems.unknown_fields(raw, _RULE_FIELDS)
    for name in _RULE_REQUIRED:
        if raw.get(name) in (None, ""):
            problems.add(name, f"missing; {_REQUIRED_HINTS[name]}")

    rule_id = raw.get("id")
    if rule_id not in (None, "") and (not isinstance(rule_id, str) or not _ID_RE.match(rule_id)):
        problems.add("id", f"{rule_id!r} is not a rule id; use lowercase letters, digits, - and _ "
                           "(at most 64), starting with a letter or digit, e.g. checkout-errors")
    name = raw.get("name") or (rule_id if isinstance(rule_id, str) else "")
    if not isinstance(name, str):
        problems.add("name", f"expected text, got {name!r}")

    metric = raw.get("metric")
    if metric not in (None, "") and metric not in METRICS:
        guess = difflib.get_close_matches(str(metric), METRICS, n=1)
        problems.add("metric", f"{metric!r} is not a metric; "
                               + (f"did you mean {guess[0]!r}? " if guess else "") + f"use one of {', '.join(METRICS)}")
    vital = raw.get("vital") or ""
    if metric == "vital_p75":
        if not vital:
            problems.add("vital", f"missing; vital_p75 needs the vital to watch, one of {', '.join(vitals.VITAL_NAMES)}")
        elif vital not in vitals.THRESHOLDS:
            problems.add("vital", f"{vital!r} is not a Web Vital Vigil measures; use one of {', '.join(vitals.VITAL_NAMES)}")
    elif vital:
        problems.add("vital", f"only the vital_p75 metric takes a vital; remove it or set metric: vital_p75")

    project = raw.get("project")
    if project not in (None, ""):
        if isinstance(project, bool) or not isinstance(project, (str, int)) or (isinstance(project, int) and project < 1):
            problems.add("project", f"{project!r} is not a project; give its name (e.g. demo) or its numeric id")

    filters = raw.get("filters") or {}
    if not isinstance(filters, Mapping):
        problems.add("filters", "expected a mapping, e.g. filters: {environment: production, route: /checkout}")
        filters = {}
    problems.unknown_fields(filters, _FILTER_FIELDS, prefix="filters.")
    for key in _FILTER_FIELDS:
        value = filters.get(key, "")
        if value is None:
            continue
        if not isinstance(value, str):
            problems.add(f"filters.{key}", f"expected text, got {value!r}")
    route = filters.get("route") or ""
    if isinstance(route, str) and route and not route.startswith("/"):
        problems.add("filters.route", f"{route!r} is not a path; routes start with /, e.g. /checkout or /products/*")

    threshold = raw.get("threshold")
    if threshold not in (None, ""):
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not math.isfinite(threshold):
            problems.add("threshold", f"expected a number, got {threshold!r}; e.g. threshold: 20")

    comparator = raw.get("comparator", ">")
    if comparator not in COMPARATORS:
        problems.add("comparator", f"{comparator!r} is not a comparator; use one of "
                                   + ", ".join(f'"{c}" ({w})' for c, w in COMPARATORS.items()) + " — quote it in YAML")

    durations: dict[str, timedelta] = {}
    for key, default in (("window", DEFAULT_WINDOW), ("for", timedelta(0)), ("cooldown", DEFAULT_COOLDOWN)):
        value = raw.get(key)
        if value is None or value == "":
            durations[key] = default
            continue
        try:
            durations[key] = parse_duration(value)
        except ValueError as error:
            problems.add(key, str(error))
            durations[key] = default
    window = durations["window"]
    if "window" in raw and window < timedelta(minutes=1):
        problems.add("window", f"{format_duration(window)} is too short; the shortest window is 1m")
    if window > MAX_WINDOW:
        problems.add("window", f"{format_duration(window)} is too long; the longest window is {format_duration(MAX_WINDOW)}")

    severity = raw.get("severity", "warning")
    if severity not in SEVERITIES:
        problems.add("severity", f"{severity!r} is not a severity; use one of {', '.join(SEVERITIES)}")

    min_samples = raw.get("min_samples", 0)
    if isinstance(min_samples, bool) or not isinstance(min_samples, int) or min_samples < 0:
        problems.add("min_samples", f"expected a whole number ≥ 0, got {min_samples!r}")
        min_samples = 0

    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        problems.add("enabled", f"expected true or false, got {enabled!r}")

    rule_channels = raw.get("channels") or []
    if isinstance(rule_channels, str):
        rule_channels = [rule_channels]
    if not isinstance(rule_channels, Sequence) or not all(isinstance(c, str) and c for c in rule_channels):
        problems.add("channels", f"expected a list of channel names, e.g. channels: [oncall-slack], got {rule_channels!r}")
        rule_channels = []
    elif channels is not None:
        for unknown in [c for c in rule_channels if c not in channels]:
            known = f"the channels are {', '.join(channels)}" if channels else "no channel is defined yet"
            problems.add("channels", f"{unknown!r} is not a channel; {known} — define it under channels:, "
                                     "or on the Alerts page")

    if problems.items:
        raise RuleError(problems.items)
    return Rule(
        id=rule_id, name=name.strip() or rule_id, metric=metric, project=str(project).strip(),
        threshold=float(threshold), comparator=comparator, window=window, for_=durations["for"],
        severity=severity, cooldown=durations["cooldown"], channels=tuple(dict.fromkeys(rule_channels)),
        vital=vital, environment=(filters.get("environment") or "").strip(), route=route.strip(),
        release=(filters.get("release") or "").strip(), min_samples=min_samples,
        description=str(raw.get("description") or ""),
        enabled=enabled, source=source,
    )


_REQUIRED_HINTS = {
    "id": "give the rule a short id, e.g. id: checkout-errors",
    "metric": f"say what to watch, one of {', '.join(METRICS)}",
    "project": "say which project, by name (e.g. project: demo) or numeric id",
    "threshold": "say what value to compare with, e.g. threshold: 20",
}


# ── channels ─────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Channel:
    """Where notifications go. ``url``/``headers`` may hold ``${ENV_VAR}`` references,
    expanded only when sending (:meth:`expanded`), so secrets stay out of files and storage."""

    name: str
    type: str
    url: str = ""  # webhook, slack
    headers: tuple[tuple[str, str], ...] = ()  # webhook
    to: tuple[str, ...] = ()  # email
    source: str = "ui"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        if self.url:
            out["url"] = self.url
        if self.headers:
            out["headers"] = dict(self.headers)
        if self.to:
            out["to"] = list(self.to)
        return out

    def expanded(self, environ: Mapping[str, str] | None = None) -> Channel:
        """This channel with every ``${VAR}`` replaced from the environment; RuleError names a missing one."""
        env = os.environ if environ is None else environ
        missing: list[str] = []

        def expand(text: str) -> str:
            def value(match: re.Match[str]) -> str:
                if match.group(1) not in env:
                    missing.append(match.group(1))
                    return ""
                return env[match.group(1)]
            return _ENV_RE.sub(value, text)

        result = replace(self, url=expand(self.url), headers=tuple((k, expand(v)) for k, v in self.headers))
        if missing:
            raise RuleError([f"channel {self.name!r}: the environment variable {name} is not set; "
                             f"set it for `vigil alerts`, which sends every notification (tests too)"
                             for name in dict.fromkeys(missing)])
        return result

    @property
    def target(self) -> str:
        """Where it sends, for people: the URL's host, or the addresses (secrets left out)."""
        if self.type == "email":
            return ", ".join(self.to)
        match = re.match(r"^(https?://[^/?#]+)", self.url)
        return match.group(1) + "/…" if match else self.url


_CHANNEL_FIELDS = ("type", "url", "headers", "to")


def parse_channel(name: Any, raw: Any, *, where: str | None = None, source: str = "ui") -> Channel:
    """Check one channel definition (``type`` and its fields) named ``name``; RuleError lists every problem."""
    problems = _Problems(where or f"channel {name!r}")
    if not isinstance(name, str) or not _ID_RE.match(name):
        problems.add("", f"{name!r} is not a channel name; use lowercase letters, digits, - and _, e.g. oncall-slack")
    if not isinstance(raw, Mapping):
        problems.add("", "a channel is a mapping, e.g. {type: webhook, url: https://hooks.example.com/vigil}")
        raise RuleError(problems.items)
    problems.unknown_fields(raw, _CHANNEL_FIELDS)
    kind = raw.get("type")
    if kind not in CHANNEL_TYPES:
        problems.add("type", f"{kind!r} is not a channel type; use one of {', '.join(CHANNEL_TYPES)}")
    url = raw.get("url") or ""
    headers = raw.get("headers") or {}
    to = raw.get("to") or []
    if isinstance(to, str):
        to = [to]
    if kind in ("webhook", "slack"):
        if not isinstance(url, str) or not re.match(r"^(https?://\S+|\$\{[A-Za-z_][A-Za-z0-9_]*\}\S*)$", url):
            problems.add("url", f"{kind} channels need an http(s) URL (or ${{ENV_VAR}} holding one), got {url!r}")
        if to:
            problems.add("to", f"only email channels take recipients; remove it or set type: email")
    if kind == "webhook":
        if not isinstance(headers, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
            problems.add("headers", "expected a mapping of header names to text, e.g. {Authorization: 'Bearer ${TOKEN}'}")
            headers = {}
    elif headers:
        problems.add("headers", "only webhook channels take headers; remove them")
        headers = {}
    if kind == "email":
        if not to:
            problems.add("to", "missing; email channels need recipients, e.g. to: [oncall@example.com]")
        elif not isinstance(to, Sequence) or not all(isinstance(a, str) and _EMAIL_RE.match(a) for a in to):
            problems.add("to", f"expected e-mail addresses, got {to!r}")
        if url:
            problems.add("url", "email channels have no URL; remove it (the SMTP relay is VIGIL_SMTP_HOST)")
    if problems.items:
        raise RuleError(problems.items)
    return Channel(name=name, type=kind, url=url if kind != "email" else "",
                   headers=tuple(sorted(headers.items())) if kind == "webhook" else (),
                   to=tuple(to) if kind == "email" else (), source=source)


# ── the YAML file ────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class AlertConfig:
    """Channels and rules, as one file defines them."""

    channels: dict[str, Channel] = field(default_factory=dict)
    rules: dict[str, Rule] = field(default_factory=dict)


def parse_config(text: str, origin: str = "alerts.yaml", *, known_channels: Sequence[str] = ()) -> AlertConfig:
    """Check a whole alerts YAML document. Rules may use the file's channels and ``known_channels``
    (those made on the Alerts page). Raises :class:`RuleError` listing every problem in the file."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise RuleError([f"{origin}: not valid YAML{at}: {problem}; check the indentation and quoting there"]) from None
    if document is None:
        return AlertConfig()
    if not isinstance(document, Mapping):
        raise RuleError([f"{origin}: the file is a mapping with channels: and rules:, got {type(document).__name__}"])
    problems: list[str] = []
    for key in document:
        if key not in ("channels", "rules"):
            guess = difflib.get_close_matches(str(key), ("channels", "rules"), n=1)
            problems.append(f"{origin}: {key}: unknown section; " + (f"did you mean {guess[0]!r}?" if guess
                                                                     else "the sections are channels and rules"))
    channels: dict[str, Channel] = {}
    raw_channels = document.get("channels") or {}
    if not isinstance(raw_channels, Mapping):
        problems.append(f"{origin}: channels: expected a mapping of names to channels, e.g. channels: {{ops: {{type: slack, url: …}}}}")
        raw_channels = {}
    for name, raw in raw_channels.items():
        try:
            channels[name] = parse_channel(name, raw, where=f"{origin}: channels.{name}", source="file")
        except RuleError as error:
            problems.extend(error.problems)
    rules: dict[str, Rule] = {}
    raw_rules = document.get("rules") or []
    if not isinstance(raw_rules, list):
        problems.append(f"{origin}: rules: expected a list of rules, each starting with '- id: …'")
        raw_rules = []
    usable = [*raw_channels, *known_channels]
    seen_ids: set[str] = set()
    for index, raw in enumerate(raw_rules):
        where = f"{origin}: {_where(index, raw)}"
        rule_id = raw.get("id") if isinstance(raw, Mapping) else None
        if isinstance(rule_id, str) and rule_id in seen_ids:
            problems.append(f"{where}: id: {rule_id!r} is already used by another rule in this file; ids are unique")
            continue
        if isinstance(rule_id, str):
            seen_ids.add(rule_id)
        try:
            rules[rule_id] = parse_rule(raw, where=where, source="file", channels=usable)
        except RuleError as error:
            problems.extend(error.problems)
    if problems:
        raise RuleError(problems)
    return AlertConfig(channels, rules)


def load_file(path: str | Path, *, known_channels: Sequence[str] = ()) -> AlertConfig:
    """Read and check the alerts file at ``path`` (see :func:`parse_config`)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RuleError([f"{path}: no such file; create it, or unset VIGIL_ALERTS_FILE to manage rules "
                         "only on the Alerts page"]) from None
    return parse_config(text, str(path), known_channels=known_channels)


def dump_config(channels: Sequence[Channel], rules: Sequence[Rule]) -> str:
    """Rules and channels as an alerts YAML document (the Alerts page's export)."""
    document: dict[str, Any] = {}
    if channels:
        document["channels"] = {channel.name: channel.as_dict() for channel in channels}
    document["rules"] = [rule.as_dict() for rule in rules]
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, default_flow_style=False)


def slugify(name: str) -> str:
    """A rule id made from a name: ``"Checkout errors!"`` → ``checkout-errors``."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:64].strip("-")
    return slug or "rule"

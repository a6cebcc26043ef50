"""Notifications: what an alert says, and getting it to a channel — retried until it lands.

Three channel types (:data:`pipeline.queries.alert_rules.CHANNEL_TYPES`):

- ``webhook`` — ``POST`` of :meth:`Notification.payload` as JSON (documented in ``docs/alerts.md``),
  with the channel's extra headers (e.g. a bearer token);
- ``slack`` — ``POST`` of a Slack incoming-webhook message (``text`` plus ``blocks``), which
  Mattermost, Rocket.Chat and similar accept too;
- ``email`` — a plain-text e-mail through the SMTP relay configured by ``VIGIL_SMTP_*``.

:class:`Sender` tries each delivery up to ``attempts`` times, backing off 1 s, 2 s, 4 s, …
between tries. Network errors, timeouts, HTTP 408/429/5xx and SMTP 4xx answers are retried;
other refusals (HTTP 4xx, SMTP 5xx, a missing relay) are reported at once, since sending the
same thing again cannot fix them. Nothing raises: every outcome is a :class:`Delivery`.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

import httpx

from pipeline import settings as settings_module
from pipeline.queries.alert_rules import COMPARATORS, Channel, Rule, RuleError, format_duration
from pipeline.queries.alert_store import Delivery
from pipeline.settings import Settings

log = logging.getLogger(__name__)

PAYLOAD_VERSION = 1
USER_AGENT = "vigil-alerts/1"
SEVERITY_EMOJI = {"info": ":large_blue_circle:", "warning": ":large_orange_circle:", "critical": ":red_circle:"}
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Notification:
    """One message about one incident: it fired, it resolved, or someone pressed "send test"."""

    kind: str  # firing | resolved | test
    rule: Rule
    project: str  # the project's name
    incident_id: str
    key: str = ""
    value: float | None = None
    labels: dict[str, str] = field(default_factory=dict)
    started_at: datetime | None = None  # when the condition first held (pending)
    fired_at: datetime | None = None
    resolved_at: datetime | None = None

    @property
    def title(self) -> str:
        state = {"firing": "FIRING", "resolved": "RESOLVED", "test": "TEST"}[self.kind]
        return f"[{state} · {self.rule.severity}] {self.rule.name}"

    def value_text(self) -> str:
        if self.value is None:
            return "no data"
        unit = self.rule.unit
        number = f"{self.value:,.2f}".rstrip("0").rstrip(".") if self.value != int(self.value) else f"{self.value:,.0f}"
        return f"{number}{'' if unit in ('', '%') else ' '}{unit}"

    def text(self) -> str:
        """A few sentences saying what happened, for people."""
        rule = self.rule
        subject = f"{rule.describe()} on {self.project}"
        group = ""
        if self.labels.get("type") or self.labels.get("message"):
            group = f"\nError group {self.key}: {self.labels.get('type', '')}: {self.labels.get('message', '')}".rstrip(": ")
        if self.kind == "test":
            return (f"This is a test notification from Vigil for the rule “{rule.name}”: {subject}. "
                    "If you can read this, the channel works.")
        if self.kind == "firing":
            since = f" since {self.started_at:%Y-%m-%d %H:%M} UTC" if self.started_at else ""
            return f"{subject}: now {self.value_text()}{since}.{group}"
        lasted = ""
        if self.fired_at and self.resolved_at:
            lasted = f" after {format_duration(_whole_minutes(self.resolved_at - self.fired_at))}"
        return f"Resolved{lasted}: {subject} — now {self.value_text()}.{group}"

    def payload(self) -> dict[str, Any]:
        """The generic webhook's JSON body (stable, versioned: see docs/alerts.md)."""
        rule = self.rule
        return {
            "version": PAYLOAD_VERSION,
            "status": self.kind,
            "title": self.title,
            "text": self.text(),
            "incident_id": self.incident_id,
            "key": self.key,
            "value": self.value,
            "labels": self.labels,
            "started_at": _iso(self.started_at),
            "fired_at": _iso(self.fired_at),
            "resolved_at": _iso(self.resolved_at),
            "project": self.project,
            "rule": {
                "id": rule.id, "name": rule.name, "metric": rule.metric, "vital": rule.vital or None,
                "severity": rule.severity, "comparator": rule.comparator, "threshold": rule.threshold,
                "unit": rule.unit, "window": format_duration(rule.window), "for": format_duration(rule.for_),
                "filters": rule.filters(), "description": rule.description,
            },
        }

    def slack_message(self) -> dict[str, Any]:
        """A Slack incoming-webhook message: ``text`` (the fallback) and ``blocks``. Names and
        error messages are escaped as Slack asks (``&``, ``<``, ``>``), so they cannot turn into
        links or mentions."""
        emoji = ":white_check_mark:" if self.kind == "resolved" else SEVERITY_EMOJI.get(self.rule.severity, "")
        headline = f"{emoji} *{_slack_escape(self.title)}*"
        context = [f"project *{_slack_escape(self.project)}*", f"rule `{self.rule.id}`",
                   f"{COMPARATORS[self.rule.comparator]} {self.rule.threshold:g}"]
        return {
            "text": _slack_escape(f"{self.title}: {self.text()}"),
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": headline}},
                {"type": "section", "text": {"type": "mrkdwn", "text": _slack_escape(self.text())}},
                {"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(context)}]},
            ],
        }

    def email(self, sender: str, recipients: Sequence[str]) -> EmailMessage:
        message = EmailMessage()
        message["Subject"] = f"[Vigil] {self.title}"
        message["From"] = sender
        message["To"] = ", ".join(recipients)
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain="vigil.local")
        # one thread per incident in mail clients
        message["X-Vigil-Incident"] = self.incident_id
        details = "\n".join(f"{name}: {value}" for name, value in (
            ("project", self.project), ("rule", f"{self.rule.name} ({self.rule.id})"),
            ("severity", self.rule.severity), ("value", self.value_text()),
            ("started", _iso(self.started_at)), ("fired", _iso(self.fired_at)), ("resolved", _iso(self.resolved_at)),
        ) if value)
        message.set_content(f"{self.text()}\n\n{details}\n\n— Vigil alerts\n")
        return message


def _slack_escape(text: str) -> str:
    """Slack's three control characters as entities (https://api.slack.com/reference/surfaces/formatting#escaping)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _iso(when: datetime | None) -> str | None:
    return when.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z") if when else None


def _whole_minutes(span: timedelta) -> timedelta:
    """``span`` rounded down to whole minutes (seconds only under a minute): "lasted 14m", not "14m37.2s"."""
    return span - span % timedelta(minutes=1) if span >= timedelta(minutes=1) else span - span % timedelta(seconds=1)


class _Permanent(Exception):
    """A refusal that retrying cannot fix."""


class Sender:
    """Sends notifications to channels, retrying transient failures (see the module docstring).

    ``sleep`` is injectable so tests need not wait out the back-off; ``backoff_s`` is the first
    pause (then doubled per retry).
    """

    def __init__(self, settings: Settings | None = None, *, attempts: int | None = None, backoff_s: float = 1.0,
                 timeout_s: float = 5.0, sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings or settings_module.load()
        self.attempts = max(1, attempts if attempts is not None else self.settings.alerts_delivery_attempts)
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self.sleep = sleep

    def send_all(self, channels: Sequence[Channel], notification: Notification) -> list[Delivery]:
        """Send to every channel at once (one slow receiver does not hold up the others)."""
        if not channels:
            return []
        if len(channels) == 1:
            return [self.send(channels[0], notification)]
        with ThreadPoolExecutor(max_workers=min(len(channels), 8), thread_name_prefix="vigil-notify") as pool:
            return list(pool.map(lambda channel: self.send(channel, notification), channels))

    def send(self, channel: Channel, notification: Notification) -> Delivery:
        """Deliver to one channel, retrying; never raises."""
        try:
            target = channel.expanded()
        except RuleError as error:
            return Delivery(channel.name, channel.type, False, 0, str(error))
        attempt, last_error = 0, ""
        while attempt < self.attempts:
            attempt += 1
            try:
                self._send_once(target, notification)
                if attempt > 1:
                    log.info("notified %s (%s) on attempt %d", channel.name, channel.type, attempt)
                return Delivery(channel.name, channel.type, True, attempt)
            except _Permanent as error:
                return Delivery(channel.name, channel.type, False, attempt, str(error))
            except Exception as error:  # transient: network, timeout, 5xx, SMTP 4xx
                last_error = str(error) or type(error).__name__
                log.warning("notifying %s (%s) failed on attempt %d/%d: %s", channel.name, channel.type,
                            attempt, self.attempts, last_error)
                if attempt < self.attempts:
                    self.sleep(self.backoff_s * 2 ** (attempt - 1))
        return Delivery(channel.name, channel.type, False, attempt,
                        f"gave up after {attempt} attempt(s): {last_error}")

    def _send_once(self, channel: Channel, notification: Notification) -> None:
        if channel.type == "webhook":
            self._post(channel, notification.payload(), dict(channel.headers))
        elif channel.type == "slack":
            self._post(channel, notification.slack_message(), {})
        elif channel.type == "email":
            self._mail(channel, notification)
        else:
            raise _Permanent(f"channel {channel.name!r} has the unknown type {channel.type!r}")

    def _post(self, channel: Channel, body: dict[str, Any], headers: dict[str, str]) -> None:
        headers = {"User-Agent": USER_AGENT, **headers}
        try:
            response = httpx.post(channel.url, json=body, headers=headers, timeout=self.timeout_s)
        except httpx.TransportError as error:
            raise ConnectionError(f"{channel.target}: {type(error).__name__}: {error}") from error
        except httpx.InvalidURL as error:
            raise _Permanent(f"{channel.target}: not a usable URL ({error}); fix the channel's url") from error
        if response.is_success:
            return
        reason = f"{channel.target} answered HTTP {response.status_code}: {response.text[:200].strip()}"
        if response.status_code in RETRY_STATUSES:
            raise RuntimeError(reason)
        raise _Permanent(reason + " — check the channel's URL and credentials")

    def _mail(self, channel: Channel, notification: Notification) -> None:
        config = self.settings
        if not config.smtp_host:
            raise _Permanent("no SMTP relay configured; set VIGIL_SMTP_HOST (and VIGIL_SMTP_PORT, "
                             "VIGIL_SMTP_USER, VIGIL_SMTP_PASSWORD, VIGIL_SMTP_FROM) for `vigil alerts`")
        security = config.smtp_security
        if security == "auto":
            security = {465: "ssl", 587: "starttls"}.get(config.smtp_port, "none")
        if security not in ("ssl", "starttls", "none"):
            raise _Permanent(f"VIGIL_SMTP_SECURITY={security!r}; use auto, ssl, starttls or none")
        message = notification.email(config.smtp_from, channel.to)
        try:
            if security == "ssl":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(config.smtp_host, config.smtp_port, timeout=self.timeout_s,
                                                      context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=self.timeout_s)
            with smtp:
                if security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if config.smtp_user:
                    smtp.login(config.smtp_user, config.smtp_password)
                smtp.send_message(message)
        except smtplib.SMTPAuthenticationError as error:
            raise _Permanent(f"the SMTP relay {config.smtp_host} refused the login ({error.smtp_code}); "
                             "check VIGIL_SMTP_USER and VIGIL_SMTP_PASSWORD") from error
        except smtplib.SMTPRecipientsRefused as error:
            raise _Permanent(f"the SMTP relay refused the recipients {', '.join(error.recipients)}") from error
        except smtplib.SMTPResponseException as error:
            text = f"the SMTP relay {config.smtp_host} answered {error.smtp_code} {error.smtp_error!r}"
            if 400 <= error.smtp_code < 500:
                raise RuntimeError(text) from error
            raise _Permanent(text) from error
        except (smtplib.SMTPException, OSError) as error:
            raise ConnectionError(f"SMTP relay {config.smtp_host}:{config.smtp_port}: {error}") from error

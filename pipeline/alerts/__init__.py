"""Alerts: threshold rules on the warehouse and the processor's signals, notified by webhook,
Slack-compatible webhook and e-mail.

- :mod:`~pipeline.alerts.rules` — what a rule and a channel may say; the YAML file, checked
  with messages that say what to fix
- :mod:`~pipeline.alerts.alert_metrics` — a rule's metric over its window, through the query layer
- :mod:`~pipeline.alerts.signal_rules` — the streaming fast path (``vigil.signals``)
- :mod:`~pipeline.alerts.evaluator` — pending → firing → resolved, de-dup, cooldown, mutes
- :mod:`~pipeline.alerts.notify` — the messages and their delivery, retried
- :mod:`~pipeline.alerts.rule_store` — rules, channels, mutes and history in ClickHouse
- :mod:`~pipeline.alerts.service` — ``vigil alerts``

May import: ``queries``, ``warehouse``, ``broker``, ``contract``, ``settings``. See ``docs/alerts.md``.
"""

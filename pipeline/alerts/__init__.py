"""Alerts: threshold rules on the warehouse and the processor's signals, notified by webhook,
Slack-compatible webhook and e-mail.

- :mod:`~pipeline.alerts.alert_metrics` — a rule's metric over its window, through the query layer
- :mod:`~pipeline.alerts.signal_rules` — the streaming fast path (``vigil.signals``)
- :mod:`~pipeline.alerts.evaluator` — pending → firing → resolved, de-dup, cooldown, mutes
- :mod:`~pipeline.alerts.notify` — the messages and their delivery, retried
- :mod:`~pipeline.alerts.on_request` — the Alerts page's test notifications, asked of the service
- :mod:`~pipeline.alerts.service` — ``vigil alerts``

What a rule and a channel may say (the YAML file, checked with messages that say what to fix)
is :mod:`pipeline.queries.alert_rules`, and the store of rules, channels, mutes, history and
test requests is :mod:`pipeline.queries.alert_store`: the Alerts page, which may import only the
query layer, writes through them, and this package uses them from above.

May import: ``queries``, ``warehouse``, ``broker``, ``contract``, ``settings``. See ``docs/alerts.md``.
"""

"""The stream processor: ``vigil.events`` in, ClickHouse ``events`` out, rejects to the DLQ.

Read it in data-path order: :mod:`.steps` (the ordered list of named steps an event goes
through, each returning the event or a :class:`~.steps.Dropped` with a reason), :mod:`.rows`
(an enriched event → one ``events`` row), :mod:`.dead_letters` (a drop → its DLQ record),
:mod:`.batches` (the steps over batches of messages, each outcome to its sink), :mod:`.sink`
(rows → ClickHouse, a Quix Streams ``BatchingSink``), :mod:`.dlq_sink` (dead letters → the
DLQ topic) and :mod:`.app` (the Quix Streams application that declares them: ``vigil process``).
"""

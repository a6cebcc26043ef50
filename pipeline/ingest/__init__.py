"""Ingest — the collector: SDK envelopes in over HTTP (and WebSocket), one Kafka message per event out.

The request path, in the order a request meets it (shaped as Sentry's Relay is):

- :mod:`~pipeline.ingest.collector` is the raw ASGI app: it reads each request once into a
  :class:`~pipeline.ingest.request.RequestMeta` and routes it (events, pixel, WebSocket,
  Sentry's endpoints, CORS preflight, health, metrics);
- :mod:`~pipeline.ingest.funnel` charges it on arrival (:mod:`~pipeline.ingest.limits`),
  authenticates it once (:mod:`~pipeline.ingest.project_cache`), reads and decodes the body
  (:mod:`~pipeline.ingest.encodings`) and is the one path to Kafka: each transport —
  :mod:`~pipeline.ingest.collector`'s, :mod:`~pipeline.ingest.websocket`,
  :mod:`~pipeline.ingest.sentry_endpoint` — only decodes its wire format into a v1 envelope;
- :mod:`~pipeline.ingest.envelope` validates and stamps each event (the contract's verdict,
  once: the processor trusts it) and :mod:`~pipeline.ingest.producer` waits for Kafka's
  acknowledgements;
- :mod:`~pipeline.ingest.problems` names every refusal; :mod:`~pipeline.ingest.refusals` counts them.

May import: ``contract``, ``broker``, ``warehouse`` (projects), ``settings``.
``vigil collect`` (:mod:`pipeline.commands.collect`) runs it under uvicorn (:mod:`~pipeline.ingest.http_server`).
"""

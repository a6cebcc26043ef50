"""The collector: browser SDK envelopes in over HTTP (and WebSocket), one Kafka message per event out.

The request path, in the order a request meets it:

- :mod:`~pipeline.ingest.collector` routes a raw ASGI request (POST events, pixel GET, WebSocket,
  CORS preflight, health) and turns every outcome into an answer;
- :mod:`~pipeline.ingest.project_cache` knows the projects (key, allowed origins) from ClickHouse;
- :mod:`~pipeline.ingest.network` finds the client's address (socket, or trusted proxies);
- :mod:`~pipeline.ingest.limits` meters events per key and per client IP (token buckets);
- :mod:`~pipeline.ingest.envelope` decodes the body and splits it into stamped, validated events;
- :mod:`~pipeline.ingest.producer` produces them to Kafka and waits for every acknowledgement;
- :mod:`~pipeline.ingest.problems` names every way a request can be refused.

``vigil collect`` (:mod:`~pipeline.ingest.http_server`) runs it under uvicorn.
"""

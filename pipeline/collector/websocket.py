"""The WebSocket transport: ``/api/{project}/ws?key=…``, one envelope per message.

The project, the page's Origin and the key are checked once, at the handshake (a refused
handshake is an HTTP answer with the same JSON reason as a POST would get). After that every
text (or binary) message is an envelope and gets one reply, in order: the POST's JSON
answer plus its ``status`` — 202 only once Kafka acknowledged that message's events.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from pipeline.collector.problems import Problem, problem
from pipeline.collector.refusals import answer_outcome, noting, transport_of
from pipeline.collector.routes import query_value, route

if TYPE_CHECKING:
    from pipeline.collector.app import Collector, Receive, Scope, Send


async def serve_websocket(collector: Collector, scope: Scope, receive: Receive, send: Send) -> None:
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    headers = dict(scope["headers"])
    origin = headers.get(b"origin")
    try:
        collector.check_arrival(scope)
        target = route(scope["path"])
        if target is None or target[1] != "ws":
            raise problem("not_found", f"no WebSocket endpoint at {scope['path']}; use /api/<project id>/ws")
        project = await collector.project_for(target[0], origin.decode("latin-1") if origin is not None else None)
        collector.check_key(project, headers.get(b"x-vigil-key") or query_value(scope, "key"))
    except Problem as issue:
        await collector.slow_down(issue)
        await refuse(collector, scope, send, issue)
        return
    except Exception:
        await refuse(collector, scope, send, collector.incident(scope))
        return
    client = collector.client_of(scope, headers)
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        raw = message.get("text")
        if raw is None:
            raw = message.get("bytes") or b""
        reply = await answer(collector, project, raw, client, scope)
        try:
            await send({"type": "websocket.send", "text": reply})
        except OSError:  # the page went away while its events were being delivered
            return


async def answer(collector: Collector, project: Any, raw: str | bytes, client: dict[str, str], scope: Scope) -> str:
    """One message's reply: the POST answer's JSON with its ``status`` (its refusals counted)."""
    note = noting()
    try:
        wait = collector.limiter.arrive(client["ip"], len(raw))  # each message is a request
        if wait > 0:
            raise collector.rate_limited(wait)
        collector.charge_key(project.key, client["ip"], len(raw))
        if len(raw) > collector.max_body:
            raise collector.too_large()
        collector.check_not_exhausted(project.key, client["ip"])
        status, body = await collector.ingest(project, raw, client)
    except Problem as issue:
        await collector.slow_down(issue)
        status, body = issue.status, issue.as_dict()
        if issue.retry_after is not None:
            body["retry_after"] = issue.retry_after
    except Exception:
        issue = collector.incident(scope)
        status, body = issue.status, {**issue.as_dict(), "retry_after": issue.retry_after}
    collector.refusals.record(project.id, transport_of("ws", note), *answer_outcome(status, body))
    return orjson.dumps({"status": status, **body}).decode()


async def refuse(collector: Collector, scope: Scope, send: Send, issue: Problem) -> None:
    """Deny the handshake with an HTTP answer naming the reason (or a policy close if the server can't)."""
    target = route(scope["path"])
    collector.refusals.record(target[0] if target else 0, transport_of(target and target[1]), issue.reason)
    if "websocket.http.response" in (scope.get("extensions") or {}):
        headers = [(b"content-type", b"application/json")]
        if issue.retry_after is not None:
            headers.append((b"retry-after", str(issue.retry_after).encode()))
        await send({"type": "websocket.http.response.start", "status": issue.status, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": orjson.dumps(issue.as_dict())})
    else:
        await send({"type": "websocket.close", "code": 1008, "reason": f"{issue.reason}: {issue.message}"[:120]})

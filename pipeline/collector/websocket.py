"""The WebSocket transport: ``/api/{project}/ws?key=…``, one envelope per message.

The project, the page's Origin and the key are checked once, at the handshake (a refused
handshake is an HTTP answer with the same JSON reason as a POST would get). After that every
text (or binary) message is an envelope and gets one reply, in order: the POST's JSON
answer plus its ``status`` — 202 only once Kafka acknowledged that message's events.
"""

from __future__ import annotations

import orjson

from pipeline.collector.funnel import Funnel
from pipeline.collector.problems import Problem, problem
from pipeline.collector.refusals import answer_outcome, transport_of
from pipeline.collector.request import Receive, RequestMeta, Scope, Send
from pipeline.projects import Project


async def serve_websocket(funnel: Funnel, meta: RequestMeta, scope: Scope, receive: Receive, send: Send) -> None:
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    try:
        funnel.arrive(meta)
        if meta.endpoint != "ws":
            raise problem("not_found", f"no WebSocket endpoint at {meta.path}; use /api/<project id>/ws")
        project = await funnel.authenticate(meta, funnel.vigil_key(meta))
    except Problem as issue:
        await funnel.slow_down(issue)
        await refuse(funnel, meta, scope, send, issue)
        return
    except Exception:
        await refuse(funnel, meta, scope, send, funnel.incident(meta))
        return
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        raw = message.get("text")
        if raw is None:
            raw = message.get("bytes") or b""
        reply = await answer(funnel, meta, project, raw)
        try:
            await send({"type": "websocket.send", "text": reply})
        except OSError:  # the page went away while its events were being delivered
            return


async def answer(funnel: Funnel, meta: RequestMeta, project: Project, raw: str | bytes) -> str:
    """One message's reply: the POST answer's JSON with its ``status`` (its refusals counted)."""
    meta.transport = transport_of("ws")  # each message is counted as itself (unified or not)
    try:
        funnel.arrive(meta, len(raw))  # each message is a request
        funnel.charge_key(project, meta, len(raw))
        if len(raw) > funnel.max_body:
            raise funnel.too_large()
        funnel.check_not_exhausted(project, meta)
        status, body = await funnel.ingest(meta, funnel.decode_vigil(meta, raw))
    except Problem as issue:
        await funnel.slow_down(issue)
        status, body = issue.status, issue.as_dict()
        if issue.retry_after is not None:
            body["retry_after"] = issue.retry_after
    except Exception:
        issue = funnel.incident(meta)
        status, body = issue.status, {**issue.as_dict(), "retry_after": issue.retry_after}
    funnel.refusals.record(project.id, meta.transport, *answer_outcome(status, body))
    return orjson.dumps({"status": status, **body}).decode()


async def refuse(funnel: Funnel, meta: RequestMeta, scope: Scope, send: Send, issue: Problem) -> None:
    """Deny the handshake with an HTTP answer naming the reason (or a policy close if the server can't)."""
    funnel.refusals.record(meta.project_id, meta.transport, issue.reason)
    if "websocket.http.response" in (scope.get("extensions") or {}):
        headers = [(b"content-type", b"application/json")]
        if issue.retry_after is not None:
            headers.append((b"retry-after", str(issue.retry_after).encode()))
        await send({"type": "websocket.http.response.start", "status": issue.status, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": orjson.dumps(issue.as_dict())})
    else:
        await send({"type": "websocket.close", "code": 1008, "reason": f"{issue.reason}: {issue.message}"[:120]})

"""Sentry error events that are not exceptions: failed API requests and messages, as what they are.

:func:`pipeline.contract.sentry.error_event` maps an event by its outermost exception. Two
kinds of event carry an exception only as a vehicle; :func:`refine` turns the mapped ``error``
into what Sentry shows:

- **A failed request**, reported by ``httpClientIntegration`` (browser SDKs 8–11): the
  exception's ``mechanism.type`` is ``http.client`` (8.x, 9.x) or ``auto.http.client.fetch`` /
  ``…xhr`` (10.x, 11.x), the method and URL are in ``request``, the status in
  ``contexts.response.status_code``. It becomes an API failure as Vigil's own SDK reports one
  (``sdk-js/src/index.ts``): kind ``api``, type ``HttpError`` (``NetworkError`` without a
  status), message ``POST /api/pay → 503`` (the path alone on the page's origin), ``request``
  ``{method, url, status, ok: false, failure}``; the stack of the call stays. The SDK puts the
  API's URL where an event's page goes (``request.url``), so the page is taken where the SDK
  left it: the last ``navigation`` breadcrumb's ``to`` (the page after a single-page
  navigation, with its query), else the event's ``transaction`` (the route
  ``browserTracingIntegration`` names after the page's path), on the request's ``Origin``
  (the route alone without one). With neither, the page is unknown: no URL, rather than the
  API's.
- **A message** (``captureMessage``): 8.x–10.x send it alone, 11.x with a synthetic exception
  without a type (``mechanism.synthetic``) holding the stack of the call. Either is type
  ``Message`` with the message as its text — Sentry titles the event by it —, handled, and the
  synthetic stack kept. A non-error passed to ``captureException`` also comes as a synthetic
  exception, but with a type (``Error``): it stays an error.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin, urlsplit

from pipeline.contract.sentry_errors import error_kind, exceptions_of, mapping as _dict, platform_of

URL_LIMIT = TEXT_LIMIT = 8192  # the contract's url and text maxLength
METHOD_LIMIT = 16
HTTP_CLIENT_MECHANISMS = ("http.client", "auto.http.client.")  # 8.x–9.x, 10.x–11.x (a prefix)
FAILURE_TYPES = {"status": "HttpError", "network": "NetworkError"}  # as Vigil's SDK names them
MESSAGE_TYPE = "Message"


def refine(event: dict[str, Any], payload: dict[str, Any], origin: str | None, message: str) -> dict[str, Any]:
    """``event`` (the ``error`` mapped from ``payload``) as an API failure or a message when the
    Sentry event is one; ``origin`` is the request's ``Origin``, ``message`` the event's message
    text (``message`` or ``logentry``). Returns ``event``, changed in place."""
    exceptions = exceptions_of(payload)
    if exceptions and _is_http_client(exceptions[-1]):
        _as_api_failure(event, payload, origin)
    elif message and all(_is_synthetic_message(exception) for exception in exceptions):
        event["data"].update(kind=error_kind(platform_of(payload), {}), type=MESSAGE_TYPE, message=message,
                             handled=True)
    return event


def page_url(payload: dict[str, Any], origin: str | None) -> str | None:
    """The page an event happened on when its ``request.url`` is not it: the last navigation's
    ``to``, else the route the event's ``transaction`` names, on ``origin``."""
    path = _last_navigation(payload) or payload.get("transaction")
    if not isinstance(path, str):
        return None
    if path.startswith(("http://", "https://")):
        return path[:URL_LIMIT]
    if not path.startswith("/") or path.startswith("//"):  # a name, not a path ("GET /api"), or another host
        return None
    return (urljoin(origin, path) if origin and origin != "null" else path)[:URL_LIMIT]


def _as_api_failure(event: dict[str, Any], payload: dict[str, Any], origin: str | None) -> None:
    request = payload["request"] if isinstance(payload.get("request"), dict) else {}
    response = _dict(_dict(payload.get("contexts")).get("response"))
    status = response.get("status_code")
    status = status if type(status) is int and 0 <= status <= 999 else 0
    failure = "status" if status else "network"
    method = (request["method"] if isinstance(request.get("method"), str) and request["method"] else "GET").upper()
    method = method[:METHOD_LIMIT]
    url = request.get("url").split("#", 1)[0][:URL_LIMIT] if isinstance(request.get("url"), str) else ""
    page = page_url(payload, origin)
    if page:
        event["page"]["url"] = page
    else:
        event["page"].pop("url", None)
    shown = _same_origin_path(url, page or origin)
    summary = f"{method} {shown.split('?', 1)[0]} → {status or failure}"
    event["data"].update(kind="api", type=FAILURE_TYPES[failure], message=summary[:TEXT_LIMIT],
                         request={"method": method, "url": url, "status": status, "ok": False, "failure": failure})


def _same_origin_path(url: str, page: str | None) -> str:
    """``url`` without its scheme and host when the page is on the same origin (as Vigil's SDK shows it)."""
    if not page:
        return url
    api, here = urlsplit(url), urlsplit(page)
    if api.netloc and (api.scheme, api.netloc) == (here.scheme, here.netloc):
        return url[len(f"{api.scheme}://{api.netloc}"):] or "/"
    return url


def _is_http_client(exception: dict[str, Any]) -> bool:
    kind = _dict(exception.get("mechanism")).get("type")
    return isinstance(kind, str) and (kind == HTTP_CLIENT_MECHANISMS[0] or kind.startswith(HTTP_CLIENT_MECHANISMS[1]))


def _is_synthetic_message(exception: dict[str, Any]) -> bool:
    """11.x's vehicle for ``captureMessage``'s stack: synthetic, and no type of its own."""
    return _dict(exception.get("mechanism")).get("synthetic") is True and not exception.get("type")


def _last_navigation(payload: dict[str, Any]) -> str | None:
    crumbs = payload.get("breadcrumbs")
    crumbs = crumbs.get("values") if isinstance(crumbs, dict) else crumbs
    for crumb in reversed(crumbs if isinstance(crumbs, list) else []):
        if isinstance(crumb, dict) and crumb.get("category") == "navigation":
            to = _dict(crumb.get("data")).get("to")
            if isinstance(to, str) and to:
                return to
    return None

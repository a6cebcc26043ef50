"""A page path → its route: the segments that are ids become ``:id``.

``/orders/8412/items/3f2b8c9e-…`` and ``/orders/77/items/…`` are one page of the app; the
dashboards group and filter by route (the ``path`` column), and every rollup is keyed by
it, so a path per order would make each rollup as big as the raw table. A segment is an
id when it is all digits, a UUID, a hex string of 16+ characters (hashes, Mongo ids), or a
20+ character run of letters *and* digits without separators (ULIDs, nanoids, tokens) —
slugs (``/p/1042-linen-throw``) keep their words, separators and all.
"""

from __future__ import annotations

import functools
import re

ID = ":id"
MAX_PATH_CHARS = 2048  # longer paths are cut before normalising (and stored cut)
CACHE_SIZE = 16_384

_ID_SEGMENT = re.compile(
    r"\d+"
    r"|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|[0-9a-fA-F]{16,}"
    r"|(?=[A-Za-z]*\d)(?=\d*[A-Za-z])[A-Za-z0-9]{20,}"
)


@functools.lru_cache(maxsize=CACHE_SIZE)
def route_of(path: str) -> str:
    """``/orders/8412/items`` → ``/orders/:id/items`` (call with the URL's path, no query)."""
    path = path[:MAX_PATH_CHARS]
    if not any(c.isdigit() for c in path):
        return path  # the common case: nothing that can be an id
    return "/".join(ID if _ID_SEGMENT.fullmatch(segment) else segment for segment in path.split("/"))

"""Cookieless visitor ids: a keyed hash of (daily salt, user agent, IP address, project).

When the SDK runs without storage (no consent) it sends a fresh ``anon_…`` id per page
load; the processor replaces it with a stable id for the day, the way Plausible counts
visitors without cookies. The salt of a day is ``BLAKE2b(key=secret, "vigil-salt:" + day)``
and the id ``BLAKE2b(key=salt, ua ‖ ip ‖ project)``, 8 bytes in hex behind ``c_``:

* the same browser on the same network is one visitor for a UTC day, and a new one the next
  day (the salt rotates at midnight UTC, so ids cannot be linked across days without the
  secret);
* the day is the collector's receive time, not the processing time, so replaying a message
  (after a crash) gives the same id and the rollups' unique visitors do not double;
* every processor derives the same salts from the same secret, so processors can scale out
  without sharing state.

The secret is ``VIGIL_SECRET``, or a random one generated on first start and kept in
``<data dir>/processor-secret`` (mode 600). Rotating the secret forgets every past salt:
nobody, Vigil included, can link ids from before the rotation to anyone afterwards. Unlike
Plausible, whose salts are random and deleted after a day, a salt here can be recomputed
by whoever holds the secret — keep it as secret as the database credentials.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import date
from pathlib import Path

from pipeline.warehouse.secretfile import read_or_create

ANONYMOUS_PREFIX = "anon_"
COOKIELESS_PREFIX = "c_"
SECRET_FILE = "processor-secret"


def load_secret(configured: str, data_dir: Path) -> bytes:
    """``VIGIL_SECRET`` as bytes, else the persisted random secret (created when missing)."""
    if configured:
        return configured.encode()
    return read_or_create(data_dir / SECRET_FILE, lambda: secrets.token_hex(32)).encode()


@functools.lru_cache(maxsize=8)
def daily_salt(secret: bytes, day: date) -> bytes:
    """The salt of one UTC day, derived from the secret (BLAKE2b keys are at most 64 bytes)."""
    return hashlib.blake2b(f"vigil-salt:{day.isoformat()}".encode(), key=secret[:64], digest_size=32).digest()


@functools.lru_cache(maxsize=16_384)
def visitor_id(salt: bytes, user_agent: str, ip: str, project_id: int) -> str:
    """The cookieless id of a (user agent, IP, project) on the salt's day."""
    message = f"{user_agent}\x00{ip}\x00{project_id}".encode("utf-8", "surrogatepass")
    return COOKIELESS_PREFIX + hashlib.blake2b(message, key=salt, digest_size=8).hexdigest()

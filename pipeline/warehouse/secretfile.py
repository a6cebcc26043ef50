"""Secrets Vigil makes itself and keeps in its data directory (file mode 0600).

The first process that needs one creates it; every later process (and a restart) reads the
same file. Two processes starting at once agree: the file appears whole or not at all (written
under a temporary name, then hard-linked into place, which fails if it already exists).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path


def read_or_create(path: Path, generate: Callable[[], str] = lambda: secrets.token_urlsafe(32)) -> str:
    """The secret in ``path``; a new one from ``generate()`` saved there (mode 0600) when missing."""
    try:
        existing = path.read_text().strip()
    except FileNotFoundError:
        existing = ""
    if existing:
        return existing
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = generate()
    staging = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(secret + "\n")
        try:
            os.link(staging, path)
        except FileExistsError:  # another process was first: use its secret
            return path.read_text().strip()
    finally:
        staging.unlink(missing_ok=True)
    return secret

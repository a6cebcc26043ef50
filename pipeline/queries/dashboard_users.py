"""The dashboards' configured users: names with scrypt-hashed passwords, one per line of the
file ``VIGIL_DASHBOARD_USERS`` names.

    # users of the Vigil dashboards (`vigil dashboard --hash-password` prints a line)
    ana:scrypt$16384$8$1$0h9yJ…$yq3T…
    ben:scrypt$16384$8$1$kP2s…$Zl0m…

Only the hash is stored: scrypt (memory-hard, from the standard library) with a random
16-byte salt per password. Checking compares in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from pathlib import Path

SCHEME = "scrypt"
N, R, P = 2**14, 8, 1  # ~16 MiB and ~50 ms per check: slow for guessing, fine for a login
KEY_BYTES = 32
_NAME = re.compile(r"^[A-Za-z0-9_.@+-]{1,64}$")


class UsersFileError(ValueError):
    """The users file cannot be used; the message says which line and what to do."""


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$salt$key`` (base64) for ``password``."""
    if not password:
        raise ValueError("an empty password cannot be hashed; choose a password")
    salt = salt or os.urandom(16)
    key = hashlib.scrypt(password.encode(), salt=salt, n=N, r=R, p=P, dklen=KEY_BYTES)
    encode = lambda raw: base64.b64encode(raw).decode()  # noqa: E731
    return f"{SCHEME}${N}${R}${P}${encode(salt)}${encode(key)}"


def verify_password(password: str, encoded: str) -> bool:
    """Whether ``password`` is the one ``encoded`` (from :func:`hash_password`) was made from."""
    try:
        scheme, n, r, p, salt, key = encoded.split("$")
        if scheme != SCHEME:
            return False
        expected = base64.b64decode(key, validate=True)
        actual = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt, validate=True), n=int(n), r=int(r),
                                p=int(p), dklen=len(expected), maxmem=256 * 1024 * 1024)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def valid_name(name: str) -> bool:
    """Whether ``name`` can be a user's name: 1–64 letters, digits and ``._@+-``."""
    return bool(_NAME.match(name))


def parse_users(text: str, source: str = "the users file") -> dict[str, str]:
    """``name → hash`` from the file's text (``name:hash`` lines; blank lines and ``#`` comments skipped)."""
    users: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, colon, encoded = line.partition(":")
        if not colon or not _NAME.match(name) or not encoded.startswith(SCHEME + "$") or encoded.count("$") != 5:
            raise UsersFileError(
                f"{source}, line {number}: expected `name:scrypt$…` (a name of letters, digits and ._@+- and the "
                "hash `vigil dashboard --hash-password` prints)")
        if name in users:
            raise UsersFileError(f"{source}, line {number}: {name} is listed twice; keep one line per user")
        users[name] = encoded
    return users


def load_users(path: str | Path) -> dict[str, str]:
    """The users of the file at ``path`` (see :func:`parse_users`)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as error:
        raise UsersFileError(f"cannot read the dashboard users file {file} ({error.strerror or error}); "
                             "fix VIGIL_DASHBOARD_USERS or unset it to turn password login off") from None
    users = parse_users(text, str(file))
    if not users:
        raise UsersFileError(f"{file} lists no users; add `name:hash` lines (`vigil dashboard --hash-password`)")
    return users


def check_login(users: dict[str, str], name: str, password: str) -> bool:
    """Whether ``name`` is a configured user and ``password`` theirs (as costly either way)."""
    encoded = users.get(name)
    if encoded is None:
        verify_password(password, _DUMMY)  # spend the same time: a wrong name is not told apart
        return False
    return verify_password(password, encoded)


_DUMMY = hash_password("not a password", salt=b"\0" * 16)

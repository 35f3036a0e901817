"""argon2id password hashes (argon2-cffi, RFC 9106 low-memory profile).

A check for a name that does not exist verifies against a dummy hash made with the same
parameters, so the answer takes as long whether or not the user exists.
"""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 8

_HASHER = PasswordHasher()


class WeakPassword(ValueError):
    """A password the service refuses to store."""


def hash_password(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"a password needs at least {MIN_LENGTH} characters")
    return _HASHER.hash(password)


@cache
def _dummy() -> str:
    return _HASHER.hash("no such user: constant-time dummy")


def verify(stored_hash: str | None, password: str) -> bool:
    """True when `password` matches; `stored_hash=None` (no such user) costs the same time."""
    try:
        return _HASHER.verify(stored_hash or _dummy(), password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False

"""Sender authentication for webhook endpoints: pure checks over headers, raw body and `now`.

Every secret comparison goes through `hmac.compare_digest` on bytes (the str form refuses
non-ASCII input with TypeError, which a hostile header could trigger), so response timing does
not reveal how much of a token matched.

Which sender can do what (shared FORMATS.md): Alertmanager sends bearer or basic (no HMAC);
Grafana sends bearer/basic or HMAC-SHA256; Zabbix sends whatever our media-type script adds
(bearer); PagerDuty-style senders have only `routing_key` in the body, so their endpoint uses
kind "none" or a bearer token added by a proxy.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

AuthKind = Literal["none", "bearer", "basic", "hmac"]

# Grafana's code defaults to the first name; its UI placeholder shows the second. When no
# header is configured, both are accepted.
GRAFANA_SIGNATURE_HEADERS = ("X-Grafana-Alert-Signature", "X-Grafana-Alerting-Signature")
DEFAULT_MAX_AGE_SECONDS = 300

MISSING_CREDENTIALS = "missing credentials"
BAD_TOKEN = "bad token"
BAD_CREDENTIALS = "bad credentials"
BAD_SIGNATURE = "bad signature"
MISSING_TIMESTAMP = "missing timestamp"
BAD_TIMESTAMP = "bad timestamp"
STALE_TIMESTAMP = "stale timestamp"


class AuthError(Exception):
    """The request is not from the configured sender; `reason` is short and safe to log.

    Reasons: missing credentials, bad token, bad credentials, bad signature,
    missing timestamp, bad timestamp, stale timestamp.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class AuthSpec:
    """How one webhook source authenticates; built from the YAML config by the composition root.

    kind "hmac": `header` None accepts both Grafana signature header names; `timestamp_header`
    None means the body alone is signed (and nothing stops a replay of a captured request).
    """

    kind: AuthKind = "none"
    token: str | None = None
    username: str | None = None
    password: str | None = None
    secret: str | None = None
    header: str | None = None
    timestamp_header: str | None = None
    max_age_seconds: int = DEFAULT_MAX_AGE_SECONDS

    def __post_init__(self) -> None:
        # Fail at startup, not on the first request: an empty secret would accept anyone.
        if self.kind not in ("none", "bearer", "basic", "hmac"):
            raise ValueError(f"unknown auth kind {self.kind!r}")
        if self.kind == "bearer" and not self.token:
            raise ValueError("bearer auth needs a token")
        if self.kind == "basic" and not (self.username and self.password):
            raise ValueError("basic auth needs a username and a password")
        if self.kind == "hmac" and not self.secret:
            raise ValueError("hmac auth needs a secret")
        if self.max_age_seconds <= 0:
            raise ValueError("max_age_seconds must be positive")


def _bytes(text: str) -> bytes:
    # surrogatepass: aiohttp decodes odd header bytes with surrogateescape; never raise here.
    return text.encode("utf-8", "surrogatepass")


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive lookup that also works on a plain dict (tests, other frameworks)."""
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    for key, item in headers.items():
        if key.lower() == wanted:
            return item
    return None


def _credentials(headers: Mapping[str, str], scheme: str) -> str:
    """Credentials after `Authorization: <scheme> `; the scheme is case-insensitive (RFC 9110)."""
    value = _header(headers, "Authorization")
    if value is None:
        raise AuthError(MISSING_CREDENTIALS)
    found, _, credentials = value.strip().partition(" ")
    if found.lower() != scheme.lower() or not credentials.strip():
        raise AuthError(MISSING_CREDENTIALS)
    return credentials.strip()


def _check_bearer(spec: AuthSpec, headers: Mapping[str, str]) -> None:
    given = _credentials(headers, "Bearer")
    if not hmac.compare_digest(_bytes(given), _bytes(spec.token or "")):
        raise AuthError(BAD_TOKEN)


def _check_basic(spec: AuthSpec, headers: Mapping[str, str]) -> None:
    encoded = _credentials(headers, "Basic")
    try:
        decoded = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise AuthError(BAD_CREDENTIALS) from None
    username, sep, password = decoded.partition(b":")
    if not sep:
        raise AuthError(BAD_CREDENTIALS)
    # Both comparisons always run: `and` would leak whether the username was right.
    user_ok = hmac.compare_digest(username, _bytes(spec.username or ""))
    password_ok = hmac.compare_digest(password, _bytes(spec.password or ""))
    if not (user_ok & password_ok):
        raise AuthError(BAD_CREDENTIALS)


def _check_hmac(spec: AuthSpec, headers: Mapping[str, str], body: bytes, now: datetime) -> None:
    """Grafana's webhook HMAC scheme, as implemented in grafana/alerting `http/hmac.go`
    (`HMACRoundTripper.sign`, added by grafana/grafana PR #100960):

    - signature = lowercase hex of HMAC-SHA256(secret, message), no prefix, in the header
      `X-Grafana-Alert-Signature` unless another one is configured;
    - message = raw body, or, when a timestamp header is configured,
      `str(unix_seconds) + ":" + raw body`, the timestamp sent in that header.
    """
    names = (spec.header,) if spec.header else GRAFANA_SIGNATURE_HEADERS
    signature = next((v for n in names if (v := _header(headers, n)) is not None), None)
    if signature is None:
        raise AuthError(MISSING_CREDENTIALS)
    message = body
    timestamp: int | None = None
    if spec.timestamp_header:
        stamp = _header(headers, spec.timestamp_header)
        if stamp is None:
            raise AuthError(MISSING_TIMESTAMP)
        stamp = stamp.strip()
        if not stamp.isascii() or not stamp.isdigit() or len(stamp) > 12:
            raise AuthError(BAD_TIMESTAMP)
        timestamp = int(stamp)
        message = stamp.encode("ascii") + b":" + body
    expected = hmac.new(_bytes(spec.secret or ""), message, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(_bytes(signature.strip().lower()), expected.encode("ascii")):
        raise AuthError(BAD_SIGNATURE)
    if timestamp is not None and abs(now.timestamp() - timestamp) > spec.max_age_seconds:
        # Both directions: a timestamp far in the future is as suspicious as an old one.
        raise AuthError(STALE_TIMESTAMP)


def check_auth(spec: AuthSpec, headers: Mapping[str, str], body: bytes, now: datetime) -> None:
    """Return None when the request carries the credentials `spec` asks for; raise AuthError.

    `body` is the raw request body (signatures are over bytes, not re-serialised JSON); `now`
    is the injected clock's reading and must be timezone-aware.
    """
    if now.tzinfo is None:
        raise ValueError("check_auth needs a timezone-aware now")
    if spec.kind == "none":
        return
    if spec.kind == "bearer":
        _check_bearer(spec, headers)
    elif spec.kind == "basic":
        _check_basic(spec, headers)
    else:
        _check_hmac(spec, headers, body, now)

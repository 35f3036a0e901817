"""bridge.sources.auth: sender authentication, including Grafana's HMAC scheme.

Personas: Alice is the configured sender; Mallory guesses, replays or forges.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.sources.auth import AuthError, AuthSpec, check_auth

from ._support import PROPERTY_SETTINGS

NOW = datetime(2026, 3, 3, 8, 14, 5, tzinfo=UTC)
BODY = b'{"version":"1","alerts":[]}\n'
BEARER = AuthSpec(kind="bearer", token="alice-token")
BASIC = AuthSpec(kind="basic", username="alice", password="s3cret:with:colons")
HMAC = AuthSpec(kind="hmac", secret="grafana-secret")
HMAC_TS = AuthSpec(
    kind="hmac",
    secret="grafana-secret",
    header="X-Grafana-Alerting-Signature",
    timestamp_header="X-Grafana-Alerting-Signature-Timestamp",
    max_age_seconds=300,
)


def sign(message: bytes, secret: str = "grafana-secret") -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def reason(spec: AuthSpec, headers: dict[str, str], body: bytes = BODY) -> str | None:
    try:
        check_auth(spec, headers, body, NOW)
    except AuthError as err:
        return err.reason
    return None


def test_kind_none_accepts_anything() -> None:
    assert reason(AuthSpec(), {}) is None


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Authorization": "Bearer alice-token"}, None),
        ({"authorization": "bearer alice-token"}, None),  # header and scheme are case-insensitive
        ({}, "missing credentials"),
        ({"Authorization": "Bearer "}, "missing credentials"),
        ({"Authorization": basic("alice", "alice-token")}, "missing credentials"),
        ({"Authorization": "Bearer alice-token2"}, "bad token"),
        ({"Authorization": "Bearer ALICE-TOKEN"}, "bad token"),
        ({"Authorization": "Bearer älice-token"}, "bad token"),  # non-ASCII must not TypeError
    ],
)
def test_bearer(headers: dict[str, str], expected: str | None) -> None:
    assert reason(BEARER, headers) == expected


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Authorization": basic("alice", "s3cret:with:colons")}, None),
        ({}, "missing credentials"),
        ({"Authorization": "Bearer alice-token"}, "missing credentials"),
        ({"Authorization": basic("mallory", "s3cret:with:colons")}, "bad credentials"),
        ({"Authorization": basic("alice", "guess")}, "bad credentials"),
        ({"Authorization": "Basic not*base64"}, "bad credentials"),
        ({"Authorization": "Basic " + base64.b64encode(b"alice").decode()}, "bad credentials"),
    ],
)
def test_basic(headers: dict[str, str], expected: str | None) -> None:
    assert reason(BASIC, headers) == expected


@pytest.mark.parametrize("header", ["X-Grafana-Alert-Signature", "X-Grafana-Alerting-Signature"])
def test_hmac_without_timestamp_accepts_both_grafana_header_names(header: str) -> None:
    assert reason(HMAC, {header: sign(BODY)}) is None
    assert reason(HMAC, {header.lower(): sign(BODY).upper()}) is None


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        ({}, BODY, "missing credentials"),
        ({"X-Grafana-Alert-Signature": sign(BODY)}, BODY + b" ", "bad signature"),
        ({"X-Grafana-Alert-Signature": sign(BODY, "other")}, BODY, "bad signature"),
        ({"X-Grafana-Alert-Signature": "sha256=" + sign(BODY)}, BODY, "bad signature"),
        ({"X-Grafana-Alert-Signature": "zz"}, BODY, "bad signature"),
    ],
)
def test_hmac_without_timestamp_rejects(
    headers: dict[str, str], body: bytes, expected: str
) -> None:
    assert reason(HMAC, headers, body) == expected


def _ts_headers(stamp: int | str, signature: str | None = None) -> dict[str, str]:
    stamp = str(stamp)
    return {
        "X-Grafana-Alerting-Signature": signature or sign(stamp.encode() + b":" + BODY),
        "X-Grafana-Alerting-Signature-Timestamp": stamp,
    }


def test_hmac_with_timestamp_signs_timestamp_colon_body() -> None:
    stamp = int(NOW.timestamp()) - 10
    assert reason(HMAC_TS, _ts_headers(stamp)) is None
    # the body alone, without "ts:", is not the signed message
    assert reason(HMAC_TS, _ts_headers(stamp, sign(BODY))) == "bad signature"


def test_hmac_with_a_configured_header_reads_only_that_header() -> None:
    stamp = str(int(NOW.timestamp()))
    headers = {
        "X-Grafana-Alert-Signature": sign(stamp.encode() + b":" + BODY),
        "X-Grafana-Alerting-Signature-Timestamp": stamp,
    }
    assert reason(HMAC_TS, headers) == "missing credentials"


@pytest.mark.parametrize(
    ("offset", "expected"),
    [
        (timedelta(seconds=0), None),
        (timedelta(seconds=-300), None),
        (timedelta(seconds=-301), "stale timestamp"),
        (timedelta(hours=-2), "stale timestamp"),
        (timedelta(seconds=301), "stale timestamp"),  # from the future
    ],
)
def test_hmac_timestamp_age_is_checked_against_now(offset: timedelta, expected: str | None) -> None:
    stamp = int((NOW + offset).timestamp())
    assert reason(HMAC_TS, _ts_headers(stamp)) == expected


def test_a_replayed_body_with_a_fresh_timestamp_but_old_signature_fails() -> None:
    old = int(NOW.timestamp()) - 3600
    captured = _ts_headers(old)
    replay = dict(captured, **{"X-Grafana-Alerting-Signature-Timestamp": str(int(NOW.timestamp()))})
    assert reason(HMAC_TS, replay) == "bad signature"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"X-Grafana-Alerting-Signature": "ab"}, "missing timestamp"),
        (_ts_headers("1772525645.5"), "bad timestamp"),
        (_ts_headers("-1772525645"), "bad timestamp"),
        (_ts_headers("١٢٣"), "bad timestamp"),  # Unicode digits are not Unix seconds
        (_ts_headers("9" * 40), "bad timestamp"),
    ],
)
def test_hmac_timestamp_header_must_be_unix_seconds(headers: dict[str, str], expected: str) -> None:
    assert reason(HMAC_TS, headers) == expected


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "bearer"}, "bearer auth needs a token"),
        ({"kind": "bearer", "token": ""}, "bearer auth needs a token"),
        ({"kind": "basic", "username": "alice"}, "basic auth needs a username and a password"),
        ({"kind": "hmac"}, "hmac auth needs a secret"),
        ({"kind": "hmac", "secret": "s", "max_age_seconds": 0}, "max_age_seconds must be positive"),
        ({"kind": "apikey"}, "unknown auth kind 'apikey'"),
    ],
)
def test_spec_refuses_configurations_that_would_accept_anyone(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{message}$"):
        AuthSpec(**kwargs)


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        check_auth(BEARER, {}, BODY, datetime(2026, 3, 3))


@PROPERTY_SETTINGS
@given(
    spec=st.sampled_from([BEARER, BASIC, HMAC, HMAC_TS]),
    headers=st.dictionaries(
        st.sampled_from(
            [
                "Authorization",
                "X-Grafana-Alert-Signature",
                "X-Grafana-Alerting-Signature",
                "X-Grafana-Alerting-Signature-Timestamp",
            ]
        )
        | st.text(max_size=8),
        st.text(max_size=40)
        | st.sampled_from(["Bearer ", "Basic ", "Basic ====", "Bearer \udcff"]),
    ),
    body=st.binary(max_size=64),
)
def test_arbitrary_headers_pass_or_raise_auth_error(
    spec: AuthSpec, headers: dict[str, str], body: bytes
) -> None:
    try:
        check_auth(spec, headers, body, NOW)
    except AuthError as err:
        assert err.reason in {
            "missing credentials",
            "bad token",
            "bad credentials",
            "bad signature",
            "missing timestamp",
            "bad timestamp",
            "stale timestamp",
        }

"""Webhook bodies are decoded into what the store can hold: NUL and lone surrogates become
U+FFFD, non-finite numbers null, nesting is bounded. Most bodies need no cleaning, and are not
walked for it; the property test holds that shortcut equal to cleaning every value."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.api.errors import MAX_DEPTH, ApiError, decode_json, storable


def _cleaned_every_time(body: bytes) -> Any:
    """The simple path: decode, then clean every value."""
    return storable(json.loads(body, parse_constant=lambda _name: None))


def _outcome(decode, body: bytes) -> tuple[str, Any]:
    try:
        return "ok", decode(body)
    except ApiError as err:
        return "refused", err.message
    except (ValueError, RecursionError) as err:  # the simple path's own decoding errors
        return "refused", type(err).__name__


_text = st.text(
    st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(["\x00", "\ud800", "\udfff", "\ud83d", "\ude00", "]", "}", "\\", "\ud55c"]),
    ),
    max_size=8,
)
_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), _text,
    st.floats(allow_nan=True, allow_infinity=True),
)  # fmt: skip
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=30,
)


def _nested(depth: int, leaf: Any) -> Any:
    value = leaf
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(_values, st.booleans(), st.sampled_from(["utf-8", "cesu", "utf-16", "utf-32"]))
def test_decoding_equals_cleaning_every_value(value, ascii_only, encoding):
    text = json.dumps(value, ensure_ascii=ascii_only)  # NaN and Infinity as their literals
    if encoding == "cesu":
        body = text.encode("utf-8", "surrogatepass")
    else:
        body = text.encode(encoding, "surrogatepass")
    assert _outcome(decode_json, body) == _outcome(_cleaned_every_time, body)


@pytest.mark.parametrize("depth", [MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, 300])
@pytest.mark.parametrize("leaf", ["plain", "]]]}}}", "\x00"])
def test_nesting_is_bounded_the_same_with_or_without_cleaning(depth, leaf):
    body = json.dumps(_nested(depth, leaf)).encode()
    got = _outcome(decode_json, body)
    assert got == _outcome(_cleaned_every_time, body)
    assert (got[0] == "refused") == (depth > MAX_DEPTH)  # at most MAX_DEPTH levels


def test_non_finite_numbers_become_null_and_unclean_text_is_cleaned():
    body = b'{"a": 1e999, "b": -1e999, "c": NaN, "d": 2.5, "e": "x\\u0000y", "f": "\\ud800"}'
    got = decode_json(body)
    assert got == {"a": None, "b": None, "c": None, "d": 2.5, "e": "x\ufffdy", "f": "\ufffd"}
    assert not any(isinstance(v, float) and not math.isfinite(v) for v in got.values())

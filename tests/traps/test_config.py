"""snmptrap sources in the config: defaults, and bad settings named with their place."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bridge.config import Config, ConfigError
from tests.traps.conftest import trap_source


def test_a_trap_source_listens_on_loopback_1162_by_default(
    make_config: Callable[..., Config],
) -> None:
    source = trap_source()
    del source["listen"]
    cfg = make_config(lambda doc: doc["sources"].append(source))
    traps = cfg.source("traps")
    assert traps is not None
    assert traps.listen == "127.0.0.1:1162"
    assert traps.auth_failure_alerts is True


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"listen": "localhost:1162"},
         "'localhost:1162' is not address:port such as 127.0.0.1:1162"),
        ({"listen": "127.0.0.1:70000"},
         "'127.0.0.1:70000' is not address:port such as 127.0.0.1:1162"),
        ({"engine_id": "0x12"},
         "'0x12' is not an engine id: 5 to 32 bytes in hex, e.g. 0x80001f8880"),
        ({"users": [{"name": "u", "auth_key": "k" * 8, "priv_key": "k" * 8,
                     "engine_ids": [0x8000000001]}]},
         "quote engine ids, e.g. '0x80001f8880' (YAML reads 0x… as a number)"),
        ({"communities": [], "users": []},
         "an snmptrap source needs communities (v1/v2c) or users (v3)"),
        ({"auth": {"type": "bearer", "token": "x"}},
         "snmptrap sources authenticate with communities and users, not auth"),
    ],
)  # fmt: skip
def test_bad_trap_source_settings_are_named(
    make_config: Callable[..., Config], change: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ConfigError) as info:
        make_config(lambda doc: doc["sources"].append({**trap_source(), **change}))
    (line,) = info.value.lines()
    assert line.endswith(problem), line
    assert ": sources[5]" in line


def test_a_short_v3_key_and_a_bad_rule_oid_are_named_by_path(
    make_config: Callable[..., Config],
) -> None:
    source = trap_source(traps=[{"name": "ups", "match": "upsOnBattery", "title": "UPS"}])
    source["users"][0]["priv_key"] = "short"
    with pytest.raises(ConfigError) as info:
        make_config(lambda doc: doc["sources"].append(source))
    text = str(info.value)
    assert "sources[5].users[0].priv_key" in text
    assert "sources[5].traps[0].match (line " in text
    assert "'upsOnBattery' is not a numeric OID such as 1.3.6.1.4.1.318.0.5" in text


def test_trap_settings_on_a_webhook_source_are_refused(
    make_config: Callable[..., Config],
) -> None:
    with pytest.raises(ConfigError) as info:
        make_config(lambda doc: doc["sources"][0].update(communities=["public"]))
    assert "communities: only for sources of type snmptrap" in str(info.value)

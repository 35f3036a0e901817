"""The nodes section: heartbeats shorter than the time after which a node counts as down."""

from __future__ import annotations

import pytest

from bridge.config import ConfigError


def test_down_after_must_exceed_the_heartbeat_interval(make_config):
    def edit(d: dict) -> None:
        d["nodes"] = {"heartbeat_interval": "30s", "down_after": "20s"}

    with pytest.raises(ConfigError) as err:
        make_config(edit)
    assert "nodes.down_after must be longer than nodes.heartbeat_interval" in str(err.value.lines())


def test_the_nodes_section_takes_durations(make_config):
    cfg = make_config(lambda d: d.update(nodes={"heartbeat_interval": "2s", "down_after": "1m"}))
    assert (cfg.nodes.heartbeat_interval, cfg.nodes.down_after) == (2, 60)
    assert cfg.nodes.claim_lease == 600

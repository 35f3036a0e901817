"""Trap fixtures: a config whose snmptrap source listens on a free loopback port, the running
app with it, and the real Net-SNMP senders (`snmptrap`, `snmpinform`) run without blocking the
event loop (an inform is acknowledged by the app while its sender waits)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from bridge.config import Config
from bridge.traps.receiver import TrapReceiver
from tests.conftest import Api, StartApi
from tests.probe_helpers import require_binary

COMMUNITY = "trap-secret"
V3 = {"name": "bridgeuser", "auth": "authpass123", "priv": "privpass123"}
ENGINE = "0x8000000001020304"
SWITCH = "127.0.20.1"  # brno-core in config/example.yaml; brno-bank resolves on recovery
LINK_DOWN, LINK_UP = "1.3.6.1.6.3.1.1.5.3", "1.3.6.1.6.3.1.1.5.4"
IF_INDEX, IF_DESCR = "1.3.6.1.2.1.2.2.1.1", "1.3.6.1.2.1.2.2.1.2"


def trap_source(**extra: Any) -> dict[str, Any]:
    return {
        "name": "traps",
        "type": "snmptrap",
        "listen": "127.0.0.1:0",
        "communities": [COMMUNITY],
        "users": [
            {
                "name": V3["name"],
                "auth_protocol": "SHA",
                "auth_key": V3["auth"],
                "priv_protocol": "AES",
                "priv_key": V3["priv"],
                "engine_ids": [ENGINE],
            }
        ],
        **extra,
    }


@pytest.fixture
def trap_cfg(make_config: Callable[..., Config]) -> Config:
    return make_config(lambda doc: doc["sources"].append(trap_source()))


class Traps:
    """The app's trap receiver and the Net-SNMP command-line senders pointed at it."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.snmptrap = require_binary("snmptrap", "snmp")
        self.snmpinform = require_binary("snmpinform", "snmp")

    @property
    def receiver(self) -> TrapReceiver:
        from bridge.app import TRAPS

        return self.api.app[TRAPS].receivers["traps"]

    @property
    def target(self) -> str:
        host, port = self.receiver.address  # type: ignore[misc]
        return f"{host}:{port}"

    async def run(self, *args: str, expect_datagrams: int = 1) -> int:
        """Run a Net-SNMP tool; wait until the receiver has judged its datagrams and the
        accepted alerts are stored. Returns the tool's exit status."""
        before = self.receiver.received
        proc = await asyncio.create_subprocess_exec(
            *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
        _, err = await proc.communicate()
        async with asyncio.timeout(20):
            await self.receiver.judged(before + expect_datagrams)
            await self.receiver.drained()
        assert proc.returncode is not None
        if proc.returncode:
            print(err.decode(errors="replace"))
        return proc.returncode

    def v2c(self, oid: str, *varbinds: str, community: str = COMMUNITY) -> list[str]:
        return [self.snmptrap, "-v", "2c", "-c", community, self.target, "", oid, *varbinds]

    def v1(self, generic: int, agent: str, *varbinds: str) -> list[str]:
        return [
            self.snmptrap,
            "-v",
            "1",
            "-c",
            COMMUNITY,
            self.target,
            "1.3.6.1.4.1.8072.3.2.10",
            agent,
            str(generic),
            "0",
            "",
            *varbinds,
        ]

    def v3(self, oid: str, *varbinds: str, auth: str = V3["auth"], priv: str = V3["priv"]) -> list:
        return [
            self.snmptrap,
            "-v",
            "3",
            "-e",
            ENGINE,
            "-u",
            V3["name"],
            "-l",
            "authPriv",
            "-a",
            "SHA",
            "-A",
            auth,
            "-x",
            "AES",
            "-X",
            priv,
            self.target,
            "",
            oid,
            *varbinds,
        ]


@pytest.fixture
async def traps(start_api: StartApi, trap_cfg: Config) -> Traps:
    return Traps(await start_api(trap_cfg))


Run = Callable[..., Awaitable[int]]

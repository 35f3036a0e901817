"""Real peers for the probe tests: re-exported from tests/probe_helpers.py (shared with e2e)."""

from tests.probe_helpers import (
    IF_DESCR,
    IF_OPER,
    PRIVATE_OID,
    TEMPERATURE_OID,
    V2C_COMMUNITY,
    V3_AUTH,
    V3_PRIV,
    V3_USER,
    NftDrop,
    SilentRange,
    Snmpd,
    free_udp_port,
    require_binary,
    require_root,
)

__all__ = [
    "IF_DESCR",
    "IF_OPER",
    "PRIVATE_OID",
    "TEMPERATURE_OID",
    "V2C_COMMUNITY",
    "V3_AUTH",
    "V3_PRIV",
    "V3_USER",
    "NftDrop",
    "SilentRange",
    "Snmpd",
    "free_udp_port",
    "require_binary",
    "require_root",
]

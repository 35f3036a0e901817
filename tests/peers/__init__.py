"""Launchers for real software used by the integration tests (loopback only).

See DESIGN.md, "Testing with real peers". Fixtures live in :mod:`tests.peers.fixtures`.
"""

"""Make the peer fixtures available to tests/peers even when tests/conftest.py doesn't import
them. Registered as a plugin (once), so a ``from tests.peers.fixtures import *`` in
tests/conftest.py simply takes precedence and session fixtures are never doubled."""

from __future__ import annotations

import pytest

from . import fixtures as _fixtures

_PLUGIN_NAME = "slabridge-peer-fixtures"


def pytest_configure(config: pytest.Config) -> None:
    pm = config.pluginmanager
    if not pm.is_registered(_fixtures) and pm.get_plugin(_PLUGIN_NAME) is None:
        pm.register(_fixtures, _PLUGIN_NAME)

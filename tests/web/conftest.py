"""Page tests: the `api` fixture of tests/conftest.py plus people in its store."""

from __future__ import annotations

import pytest

from tests.conftest import Api
from tests.web.people import add_people


@pytest.fixture
async def web(api: Api) -> Api:
    """The API app with every person of tests.web.people.PEOPLE as an account."""
    add_people(api.engines, api.cfg)
    return api

"""Durable storage: schema, engines and migrations, and the group-commit writer."""

from bridge.store.db import Engines, StoreError, create_engines, database_url, migrate
from bridge.store.writer import Writer

__all__ = ["Engines", "StoreError", "Writer", "create_engines", "database_url", "migrate"]

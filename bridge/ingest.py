"""Kept for imports of the former module: the intake lives in `bridge.intake`."""

from bridge.intake import Context, IngestCommand, IngestResult, ingest, ingest_many
from bridge.intake.alert_tickets import open_ticket

__all__ = ["Context", "IngestCommand", "IngestResult", "ingest", "ingest_many", "open_ticket"]

"""Initial schema: tickets and their event log, alerts, device states, maintenance.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from bridge.store.schema import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_OPEN = "closed_at IS NULL AND dedup_identity IS NOT NULL"


def upgrade() -> None:
    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("contract", sa.String(128), nullable=False),
        sa.Column("device_id", sa.String(64)),
        sa.Column("device_ip", sa.String(64)),
        sa.Column("title", sa.String(512), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("priority", sa.String(2), nullable=False),
        sa.Column("line", sa.String(2), nullable=False),
        sa.Column("assignee", sa.String(128)),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("parent_id", sa.Integer, sa.ForeignKey("tickets.id")),
        sa.Column("related_id", sa.Integer, sa.ForeignKey("tickets.id")),
        sa.Column("alertname", sa.String(256)),
        sa.Column("parent_device", sa.String(64)),
        sa.Column("dedup_source", sa.String(64)),
        sa.Column("dedup_identity", sa.String(256)),
        sa.Column("entered_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("assigned_at", UTCDateTime),
        sa.Column("resolved_at", UTCDateTime),
        sa.Column("closed_at", UTCDateTime),
        sa.Column("close_reason", sa.String(32)),
        sa.Column("close_deadline", UTCDateTime),
        sa.Column("sla_flags", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index(
        "uq_tickets_open_alert",
        "tickets",
        ["customer_id", "dedup_source", "dedup_identity"],
        unique=True,
        sqlite_where=sa.text(_OPEN),
        postgresql_where=sa.text(_OPEN),
    )
    op.create_index("ix_tickets_queue", "tickets", ["status", "priority", "entered_at"])
    op.create_index("ix_tickets_customer", "tickets", ["customer_id", "entered_at"])
    op.create_index("ix_tickets_deadline", "tickets", ["close_deadline"])
    op.create_index("ix_tickets_alertname", "tickets", ["customer_id", "alertname", "entered_at"])
    op.create_index(
        "ix_tickets_parent_device", "tickets", ["customer_id", "parent_device", "entered_at"]
    )

    op.create_table(
        "ticket_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("recorded_at", UTCDateTime, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.UniqueConstraint("ticket_id", "seq", name="uq_ticket_events_seq"),
    )

    op.create_table(
        "alert_keys",
        sa.Column("source", sa.String(64), primary_key=True),
        sa.Column("identity", sa.String(256), primary_key=True),
        sa.Column("customer_id", sa.String(64)),
        sa.Column("device_id", sa.String(64)),
        sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id")),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("first_seen", UTCDateTime, nullable=False),
        sa.Column("last_seen", UTCDateTime, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
    )
    op.create_index("ix_alert_keys_ticket", "alert_keys", ["ticket_id"])

    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("source_type", sa.String(32), nullable=False),
        sa.Column("identity", sa.String(256), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("received_at", UTCDateTime, nullable=False),
        sa.Column("customer_id", sa.String(64)),
        sa.Column("device_id", sa.String(64)),
        sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id")),
        sa.Column("unrouted", sa.Boolean, nullable=False),
        sa.Column("severity", sa.String(64)),
        sa.Column("title", sa.String(512), nullable=False),
        sa.Column("labels", sa.JSON, nullable=False),
        sa.Column("annotations", sa.JSON, nullable=False),
        sa.Column("raw", sa.JSON, nullable=False),
        sa.Column("starts_at", UTCDateTime),
        sa.Column("ends_at", UTCDateTime),
    )
    op.create_index("ix_alerts_key", "alerts", ["source", "identity"])
    op.create_index("ix_alerts_unrouted", "alerts", ["unrouted", "received_at"])

    op.create_table(
        "device_states",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("check", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("ended_at", UTCDateTime),
        sa.Column("detail", sa.JSON, nullable=False),
    )
    op.create_index(
        "ix_device_states_device", "device_states", ["device_id", "check", "started_at"]
    )

    op.create_table(
        "maintenance",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.String(64)),
        sa.Column("device_id", sa.String(64)),
        sa.Column("starts_at", UTCDateTime, nullable=False),
        sa.Column("ends_at", UTCDateTime, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
    )
    op.create_index("ix_maintenance_device", "maintenance", ["device_id", "starts_at"])


def downgrade() -> None:
    for table in (
        "maintenance",
        "device_states",
        "alerts",
        "alert_keys",
        "ticket_events",
        "tickets",
    ):
        op.drop_table(table)

"""Several nodes on one PostgreSQL: the nodes and their heartbeats, the claims that make each
timed job's unit of work run once, and (PostgreSQL) a NOTIFY on every ticket event so live
pages on every node wake up when any node writes; tickets.sla_flags wide enough for every flag.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

from bridge.store.schema import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

#: the channel bridge.web.live listens on; a copy of bridge.nodes.events.CHANNEL
_CHANNEL = "slabridge_ticket_events"

_NOTIFY_FUNCTION = f"""
CREATE OR REPLACE FUNCTION slabridge_notify_ticket_events() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('{_CHANNEL}', '');
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""
# once per statement with an empty payload: PostgreSQL folds equal notifications of one
# transaction into one, so a group commit of a thousand events wakes each listener once
_NOTIFY_TRIGGER = """
CREATE TRIGGER slabridge_ticket_events_notify AFTER INSERT ON ticket_events
FOR EACH STATEMENT EXECUTE FUNCTION slabridge_notify_ticket_events()
"""


def upgrade() -> None:
    op.create_table(
        "nodes",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("address", sa.String(256), nullable=False),
        sa.Column("port", sa.Integer, nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("heartbeat_at", UTCDateTime, nullable=False),
        sa.Column("stopped_at", UTCDateTime),
    )
    op.create_index("ix_nodes_site", "nodes", ["site", "heartbeat_at"])
    op.create_table(
        "job_claims",
        sa.Column("job", sa.String(64), primary_key=True),
        sa.Column("unit", sa.String(256), primary_key=True),
        sa.Column("claimed_by", sa.String(128), nullable=False),
        sa.Column("claimed_at", UTCDateTime, nullable=False),
        sa.Column("lease_until", UTCDateTime, nullable=False),
        sa.Column("done_at", UTCDateTime),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_NOTIFY_FUNCTION)
        op.execute(_NOTIFY_TRIGGER)
        # every SLA flag of a ticket ("reaction:breach,reaction:warning,resolution:breach,
        # resolution:warning") is 70 characters: PostgreSQL refused the fourth SLA event.
        # (SQLite does not enforce the length.)
        op.alter_column("tickets", "sla_flags", type_=sa.String(256), existing_type=sa.String(64))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("tickets", "sla_flags", type_=sa.String(64), existing_type=sa.String(256))
        op.execute("DROP TRIGGER IF EXISTS slabridge_ticket_events_notify ON ticket_events")
        op.execute("DROP FUNCTION IF EXISTS slabridge_notify_ticket_events()")
    op.drop_table("job_claims")
    op.drop_index("ix_nodes_site", "nodes")
    op.drop_table("nodes")

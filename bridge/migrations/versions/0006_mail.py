"""Customer mail: notices decided with their ticket events, the outbox of messages, and the
inbound mails read from IMAP (each once).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

from bridge.store.schema import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.UniqueConstraint("ticket_id", "seq", "kind", name="uq_notices_event"),
    )
    op.create_index("ix_notices_state", "notices", ["state", "created_at"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("notice_id", sa.Integer, sa.ForeignKey("notices.id"), nullable=False),
        sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id"), nullable=False),
        sa.Column("recipient", sa.String(254), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("message_id", sa.String(256), nullable=False, unique=True),
        sa.Column("token", sa.String(32), nullable=False, unique=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt", UTCDateTime, nullable=False),
        sa.Column("lease_until", UTCDateTime),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("sent_at", UTCDateTime),
        sa.UniqueConstraint("notice_id", "recipient", name="uq_outbox_recipient"),
    )
    op.create_index("ix_outbox_due", "outbox", ["status", "next_attempt"])
    op.create_index("ix_outbox_ticket", "outbox", ["ticket_id"])
    op.create_table(
        "inbound_mail",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("message_key", sa.String(512), nullable=False, unique=True),
        sa.Column("mailbox", sa.String(256), nullable=False),
        sa.Column("received_at", UTCDateTime, nullable=False),
        sa.Column("sender", sa.String(254), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id")),
        sa.Column("customer_id", sa.String(64)),
        sa.Column("raw", sa.LargeBinary, nullable=False),
        sa.Column("routed_at", UTCDateTime),
        sa.Column("routed_by", sa.String(128)),
    )
    op.create_index("ix_inbound_mail_outcome", "inbound_mail", ["outcome", "received_at"])


def downgrade() -> None:
    op.drop_index("ix_inbound_mail_outcome", "inbound_mail")
    op.drop_table("inbound_mail")
    op.drop_index("ix_outbox_ticket", "outbox")
    op.drop_index("ix_outbox_due", "outbox")
    op.drop_table("outbox")
    op.drop_index("ix_notices_state", "notices")
    op.drop_table("notices")

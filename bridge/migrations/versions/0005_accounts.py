"""People: user accounts, their browser sessions, and failed-login counters.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

from bridge.store.schema import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(128), nullable=False, unique=True),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("customer_id", sa.String(64)),
        sa.Column("line", sa.String(2)),
        sa.Column("password_hash", sa.String(256), nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("password_changed_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "sessions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("last_seen", UTCDateTime, nullable=False),
    )
    op.create_index("ix_sessions_user", "sessions", ["user_id"])
    op.create_table(
        "login_failures",
        sa.Column("key", sa.String(256), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("first_at", UTCDateTime, nullable=False),
        sa.Column("locked_until", UTCDateTime),
    )


def downgrade() -> None:
    op.drop_table("login_failures")
    op.drop_index("ix_sessions_user", "sessions")
    op.drop_table("sessions")
    op.drop_table("users")

"""Monthly reports kept as generated, each with the policy it was computed with.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

from bridge.store.schema import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kept_reports",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("generated_at", UTCDateTime, nullable=False),
        sa.Column("generated_by", sa.String(128), nullable=False),
        sa.Column("policy_hash", sa.String(64), nullable=False),
        sa.Column("policy", sa.JSON, nullable=False),
        sa.Column("report", sa.JSON, nullable=False),
        sa.UniqueConstraint("customer_id", "month", "version", name="uq_kept_reports_version"),
    )


def downgrade() -> None:
    op.drop_table("kept_reports")

"""The latest probe sample per device and check: where an unknown gap starts after a restart.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from bridge.store.schema import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "probe_samples",
        sa.Column("device_id", sa.String(64), primary_key=True),
        sa.Column("check", sa.String(64), primary_key=True),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("probe_samples")

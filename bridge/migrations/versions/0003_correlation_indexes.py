"""Partial indexes for major-incident correlation: the open major incident of a customer and
alert name (or parent device), and the open unparented incidents counted towards the threshold.

Before this the open-major lookup walked every ticket of the alert name and filtered on kind.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# the same text as bridge.store.schema; a migration keeps its own copy
_OPEN_MAJOR = "kind = 'major' AND status != 'closed'"
_LOOSE = "kind = 'incident' AND parent_id IS NULL AND status != 'closed'"

_INDEXES = (
    ("ix_tickets_open_major_alertname", ["customer_id", "alertname"], _OPEN_MAJOR),
    ("ix_tickets_open_major_parent", ["customer_id", "parent_device"], _OPEN_MAJOR),
    (
        "ix_tickets_loose_alertname",
        ["customer_id", "alertname", "entered_at"],
        _LOOSE,
    ),
    (
        "ix_tickets_loose_parent",
        ["customer_id", "parent_device", "entered_at"],
        _LOOSE,
    ),
)


def upgrade() -> None:
    for name, columns, where in _INDEXES:
        op.create_index(
            name,
            "tickets",
            columns,
            sqlite_where=sa.text(where),
            postgresql_where=sa.text(where),
        )


def downgrade() -> None:
    for name, _columns, _where in reversed(_INDEXES):
        op.drop_index(name, table_name="tickets")

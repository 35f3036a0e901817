"""Probes across nodes and sites: a lease per probe target (device, check, site) so each
target is probed by exactly one live node of its site, and a site on every device state
interval so each site's observations are kept apart and the device's state is a quorum
decision over them, kept under the site '*' (what reports, metrics and pages read). Existing
intervals were one process's decisions: they become '*'.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

from bridge.store.schema import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "probe_leases",
        sa.Column("device_id", sa.String(64), primary_key=True),
        sa.Column("check", sa.String(32), primary_key=True),
        sa.Column("site", sa.String(64), primary_key=True),
        sa.Column("node", sa.String(128)),
        sa.Column("lease_until", UTCDateTime),
        sa.Column("renewed_at", UTCDateTime),
    )
    op.create_index("ix_probe_leases_site", "probe_leases", ["site", "lease_until"])
    op.create_index("ix_probe_leases_node", "probe_leases", ["node"])
    with op.batch_alter_table("device_states") as batch:
        batch.add_column(sa.Column("site", sa.String(64), nullable=False, server_default="*"))
    op.create_index(
        "ix_device_states_site", "device_states", ["device_id", "check", "site", "started_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_device_states_site", table_name="device_states")
    with op.batch_alter_table("device_states") as batch:
        batch.drop_column("site")
    op.drop_index("ix_probe_leases_node", table_name="probe_leases")
    op.drop_index("ix_probe_leases_site", table_name="probe_leases")
    op.drop_table("probe_leases")

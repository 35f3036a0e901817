"""Tables (SQLAlchemy Core). Migrations in bridge/migrations create them; this is the query side.

`ticket_events` is the append-only truth; `tickets` is a projection of it for fast queries and
can be rebuilt from the events alone (bridge.projection). Alerts are split in two: a narrow hot
row per (source, identity) that repeats upsert, and a wide insert-only row per episode that
keeps labels and the raw payload.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC in, aware UTC out, on SQLite (which stores naive text) as on PostgreSQL."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused by the store")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


metadata = sa.MetaData()

#: partial-index predicates; queries must spell them with literals (see bridge.incidents)
OPEN_MAJOR = "kind = 'major' AND status != 'closed'"
OPEN_LOOSE_INCIDENT = "kind = 'incident' AND parent_id IS NULL AND status != 'closed'"

tickets = sa.Table(
    "tickets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("customer_id", sa.String(64), nullable=False),
    sa.Column("contract", sa.String(128), nullable=False),
    sa.Column("device_id", sa.String(64)),
    sa.Column("device_ip", sa.String(64)),
    sa.Column("title", sa.String(512), nullable=False),
    sa.Column("summary", sa.Text, nullable=False, default=""),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("priority", sa.String(2), nullable=False),
    sa.Column("line", sa.String(2), nullable=False),
    sa.Column("assignee", sa.String(128)),
    sa.Column("origin", sa.String(16), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False, default="incident"),
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
    # 256 since migration 0007 (every flag of a ticket is 70 characters)
    sa.Column("sla_flags", sa.String(256), nullable=False, default=""),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index(
        "uq_tickets_open_alert",
        "customer_id",
        "dedup_source",
        "dedup_identity",
        unique=True,
        sqlite_where=sa.text("closed_at IS NULL AND dedup_identity IS NOT NULL"),
        postgresql_where=sa.text("closed_at IS NULL AND dedup_identity IS NOT NULL"),
    ),
    sa.Index("ix_tickets_queue", "status", "priority", "entered_at"),
    sa.Index("ix_tickets_customer", "customer_id", "entered_at"),
    sa.Index("ix_tickets_deadline", "close_deadline"),
    sa.Index("ix_tickets_alertname", "customer_id", "alertname", "entered_at"),
    sa.Index("ix_tickets_parent_device", "customer_id", "parent_device", "entered_at"),
    # correlation (bridge.incidents): migration 0003
    *(
        sa.Index(name, *cols, sqlite_where=sa.text(where), postgresql_where=sa.text(where))
        for name, cols, where in (
            ("ix_tickets_open_major_alertname", ("customer_id", "alertname"), OPEN_MAJOR),
            ("ix_tickets_open_major_parent", ("customer_id", "parent_device"), OPEN_MAJOR),
            (
                "ix_tickets_loose_alertname",
                ("customer_id", "alertname", "entered_at"),
                OPEN_LOOSE_INCIDENT,
            ),
            (
                "ix_tickets_loose_parent",
                ("customer_id", "parent_device", "entered_at"),
                OPEN_LOOSE_INCIDENT,
            ),
        )
    ),
)

ticket_events = sa.Table(
    "ticket_events",
    metadata,
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

alert_keys = sa.Table(
    "alert_keys",
    metadata,
    sa.Column("source", sa.String(64), primary_key=True),
    sa.Column("identity", sa.String(256), primary_key=True),
    sa.Column("customer_id", sa.String(64)),
    sa.Column("device_id", sa.String(64)),
    sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id")),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("first_seen", UTCDateTime, nullable=False),
    sa.Column("last_seen", UTCDateTime, nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Index("ix_alert_keys_ticket", "ticket_id"),
)

alerts = sa.Table(
    "alerts",
    metadata,
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
    sa.Index("ix_alerts_key", "source", "identity"),
    sa.Index("ix_alerts_unrouted", "unrouted", "received_at"),
)

device_states = sa.Table(
    "device_states",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("device_id", sa.String(64), nullable=False),
    sa.Column("check", sa.String(32), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("ended_at", UTCDateTime),
    sa.Column("detail", sa.JSON, nullable=False),
    # the site whose nodes observed this interval, or '*': the device's decided state over
    # its sites (bridge.probing.quorum), which is what availability and pages read
    sa.Column("site", sa.String(64), nullable=False, server_default="*"),
    sa.Index("ix_device_states_device", "device_id", "check", "started_at"),
    sa.Index("ix_device_states_site", "device_id", "check", "site", "started_at"),
)

#: the rule of an observation made unknown because the probes themselves were impaired
#: (bridge.probing.health): stored as unknown, so the debounce and the quorum treat it as such
IMPAIRED_RULE = "probe_impaired"
#: the state availability accounts an interval in: probe-impaired unknown time is its own
#: state for the SLA (never down, not coverage; reported as time without trustworthy data)
ACCOUNTED_STATE = sa.case(
    (
        sa.and_(
            device_states.c.state == "unknown",
            device_states.c.detail["rule"].as_string() == IMPAIRED_RULE,
        ),
        "impaired",
    ),
    else_=device_states.c.state,
).label("state")

#: one row per probe target (device, check, site): the node of that site probing it until
#: lease_until; a node renews its rows and claims unowned or expired ones (bridge.probing.leases)
probe_leases = sa.Table(
    "probe_leases",
    metadata,
    sa.Column("device_id", sa.String(64), primary_key=True),
    sa.Column("check", sa.String(32), primary_key=True),
    sa.Column("site", sa.String(64), primary_key=True),
    sa.Column("node", sa.String(128)),
    sa.Column("lease_until", UTCDateTime),
    sa.Column("renewed_at", UTCDateTime),
    sa.Index("ix_probe_leases_site", "site", "lease_until"),
    sa.Index("ix_probe_leases_node", "node"),
)

maintenance = sa.Table(
    "maintenance",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("customer_id", sa.String(64)),
    sa.Column("device_id", sa.String(64)),
    sa.Column("starts_at", UTCDateTime, nullable=False),
    sa.Column("ends_at", UTCDateTime, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("origin", sa.String(16), nullable=False),
    sa.Index("ix_maintenance_device", "device_id", "starts_at"),
)

probe_samples = sa.Table(
    "probe_samples",
    metadata,
    sa.Column("device_id", sa.String(64), primary_key=True),
    sa.Column("check", sa.String(64), primary_key=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("detail", sa.JSON, nullable=False),
)

kept_reports = sa.Table(
    "kept_reports",
    metadata,
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

# people (bridge.accounts): migration 0005
users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(128), nullable=False, unique=True),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("customer_id", sa.String(64)),
    sa.Column("line", sa.String(2)),
    sa.Column("password_hash", sa.String(256), nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("password_changed_at", UTCDateTime, nullable=False),
    # a customer user with an address hears their customer's notices (bridge.notices.outbox)
    sa.Column("email", sa.String(254)),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("last_seen", UTCDateTime, nullable=False),
    sa.Index("ix_sessions_user", "user_id"),
)

login_failures = sa.Table(
    "login_failures",
    metadata,
    sa.Column("key", sa.String(256), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("first_at", UTCDateTime, nullable=False),
    sa.Column("locked_until", UTCDateTime),
)

# customer mail (bridge.notices): migration 0006
#: a notice decided in the same transaction as the ticket event that causes it
notices = sa.Table(
    "notices",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id"), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.UniqueConstraint("ticket_id", "seq", "kind", name="uq_notices_event"),
    sa.Index("ix_notices_state", "state", "created_at"),
)

#: one message per notice and recipient; its Message-ID is fixed here, before any attempt
outbox = sa.Table(
    "outbox",
    metadata,
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
    sa.Index("ix_outbox_due", "status", "next_attempt"),
    sa.Index("ix_outbox_ticket", "ticket_id"),
)

#: every mail read from an IMAP mailbox, once (message_key: Message-ID, else a hash)
inbound_mail = sa.Table(
    "inbound_mail",
    metadata,
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
    sa.Index("ix_inbound_mail_outcome", "outcome", "received_at"),
)

# several nodes (bridge.nodes): migration 0007
#: one row per `serve` process that ever ran against this store; up while it heartbeats
nodes = sa.Table(
    "nodes",
    metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("site", sa.String(64), nullable=False),
    sa.Column("address", sa.String(256), nullable=False),
    sa.Column("port", sa.Integer, nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("version", sa.String(32), nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("heartbeat_at", UTCDateTime, nullable=False),
    sa.Column("stopped_at", UTCDateTime),
    sa.Index("ix_nodes_site", "site", "heartbeat_at"),
)

#: a timed job's unit of work (e.g. one customer's month), claimed by one node for a lease;
#: done_at set once it is done, so no other node does it again
job_claims = sa.Table(
    "job_claims",
    metadata,
    sa.Column("job", sa.String(64), primary_key=True),
    sa.Column("unit", sa.String(256), primary_key=True),
    sa.Column("claimed_by", sa.String(128), nullable=False),
    sa.Column("claimed_at", UTCDateTime, nullable=False),
    sa.Column("lease_until", UTCDateTime, nullable=False),
    sa.Column("done_at", UTCDateTime),
)

"""What a monthly report holds, stated once for every rendering: its version, the definitions
printed on it, and each table's title and columns (key, label, type).

The builder fills these tables; every format lays them out as they are.
"""

from __future__ import annotations

from reports.figures import STATE_COLUMNS
from reports.loop import LOOP_COLUMNS
from reports.workload import workload_columns

__all__ = ["DEFINITIONS", "REPORT_VERSION", "TABLES"]

REPORT_VERSION = 1
DEFINITIONS = (
    "Tickets of the month are those entered in it, in the customer's time zone; their clocks "
    "are replayed up to the end of the month (or now, for the current month), so a ticket "
    "still open then is reported as running.",
    "Met % = met / (met + breached); clocks still running within target are pending and left "
    "out. Median, p90 and worst are nearest-rank figures over the met and breached clocks, in "
    "business time of the priority's calendar.",
    "A service is every device sharing a tag (tags of two or more devices); it is available "
    "while all of its devices are.",
    "An outage is covered by a ticket on the same device (or a parent it depends on) whose "
    "entered-to-resolved span overlaps it; an outage without one is a gap the desk missed.",
    "Every second of the month is accounted once per device: maintenance first, then the "
    "monitored state (up, degraded, down, unreachable, unconfirmed failures, probe impaired), "
    "else unknown; the parts add up to the period.",
    "A device probed from several sites is down when its SLA policy's availability_from says "
    "so: quorum (as many sites as probing.quorum), any one site, or all of its sites; a site "
    "whose probes are impaired counts as unknown, never down. Time the decided state rests on "
    "impaired probes is its own column, probe impaired (time without trustworthy data): "
    "accounted as unknown time, never as downtime, and left out of coverage.",
    "Verification per ticket: reopened when it went back from resolved to work at least once "
    "(the customer's \"still broken\"; it stays reopened even when a later fix is confirmed), "
    "else confirmed (closed as verified by the customer), no answer (closed automatically "
    "after the verification window) or pending (resolved, window still running).",
    "First-time fix % = tickets resolved and never reopened / tickets resolved at least once. "
    "Satisfaction is the plain mean of every rating (1-5) the customer gave, with their count; "
    "a month without ratings shows none, not 0. Per engineer, a rating counts for the "
    "ticket's assignee at its last resolution.",
    "Proactive notice: wall-clock time from a proactive ticket entering to its first customer "
    "notice sent; median (nearest rank) and worst over the tickets with a notice sent.",
    "A clock stops at its event (reaction: the first assignment, or a resolution before any; "
    "resolution: resolved or closed); a breached clock is still running, paused or stopped.",
)

Col = tuple[str, str, str]  # key, label, type
_STATE_LABELS = {
    "state_up": "Up",
    "state_degraded": "Degraded (up)",
    "state_down": "Down",
    "state_unreachable": "Unreachable",
    "state_unknown": "Unknown (no data)",
    "state_impaired": "Probe impaired (no trustworthy data)",
    "state_unconfirmed": "Unconfirmed failures",
    "state_maintenance": "Maintenance",
}
TABLES: dict[str, tuple[str, tuple[Col, ...]]] = {
    "breaches": (
        "Breaches",
        (
            ("kind", "Kind", "text"),
            ("subject", "Subject", "text"),
            ("detail", "Detail", "text"),
            ("priority", "Priority", "text"),
            ("actual_seconds", "Actual", "seconds"),
            ("target_seconds", "Target", "seconds"),
            ("actual_pct", "Actual %", "pct"),
            ("target_pct", "Target %", "pct"),
        ),
    ),
    "priorities": (
        "Tickets by priority",
        (
            ("priority", "Priority", "text"),
            ("tickets", "Tickets", "int"),
            ("proactive", "Proactive", "int"),
            ("running", "Running", "int"),
            ("reaction_target", "Reaction target", "seconds"),
            ("reaction_met", "Reaction met", "int"),
            ("reaction_breached", "Reaction breached", "int"),
            ("reaction_pending", "Reaction pending", "int"),
            ("reaction_met_pct", "Reaction met %", "pct"),
            ("reaction_median", "Reaction median", "seconds"),
            ("reaction_p90", "Reaction p90", "seconds"),
            ("reaction_worst", "Reaction worst", "seconds"),
            ("resolution_target", "Resolution target", "seconds"),
            ("resolution_met", "Resolution met", "int"),
            ("resolution_breached", "Resolution breached", "int"),
            ("resolution_pending", "Resolution pending", "int"),
            ("resolution_met_pct", "Resolution met %", "pct"),
            ("resolution_median", "Resolution median", "seconds"),
            ("resolution_p90", "Resolution p90", "seconds"),
            ("resolution_worst", "Resolution worst", "seconds"),
        ),
    ),
    "tickets": (
        "Tickets",
        (
            ("ticket", "Ticket", "text"),
            ("title", "Title", "text"),
            ("device", "Device", "text"),
            ("origin", "Origin", "text"),
            ("source", "Source", "text"),
            ("priority", "Priority", "text"),
            ("initial_priority", "Initial priority", "text"),
            ("status", "Status", "text"),
            ("assignee", "Assignee", "text"),
            ("entered", "Entered", "datetime"),
            ("assigned", "Assigned", "datetime"),
            ("resolved", "Resolved", "datetime"),
            ("reopened", "Reopened", "int"),
            ("verification", "Verification", "text"),
            ("rating", "Rating", "int"),
            ("notice", "Proactive notice after", "seconds"),
            ("reaction", "Reaction", "seconds"),
            ("reaction_target", "Reaction target", "seconds"),
            ("reaction_state", "Reaction", "text"),
            ("reaction_clock", "Reaction clock", "text"),
            ("reaction_stopped", "Reaction stopped", "datetime"),
            ("resolution", "Resolution", "seconds"),
            ("resolution_target", "Resolution target", "seconds"),
            ("resolution_state", "Resolution", "text"),
            ("resolution_clock", "Resolution clock", "text"),
            ("resolution_stopped", "Resolution stopped", "datetime"),
            ("met", "Met", "bool"),
            ("running", "Running", "bool"),
        ),
    ),
    "availability": (
        "Availability per device",
        (
            ("device", "Device", "text"),
            ("name", "Name", "text"),
            ("availability_pct", "Availability %", "pct"),
            ("target_pct", "Target %", "pct"),
            ("met", "Met", "bool"),
            ("downtime", "Downtime", "seconds"),
            ("outages", "Outages", "int"),
            ("longest_outage", "Longest outage", "seconds"),
            ("maintenance", "Maintenance excluded", "seconds"),
            ("excluded", "Excluded in total", "seconds"),
            ("counted", "Counted time", "seconds"),
            ("coverage_pct", "Data coverage %", "pct"),
        ),
    ),
    "accounting": (
        "Where every second of the month went, per device",
        (
            ("device", "Device", "text"),
            *((c, _STATE_LABELS.get(c, c.removeprefix("state_").capitalize()), "seconds")
              for c in STATE_COLUMNS),
            ("period", "Period", "seconds"),
        ),
    ),
    "services": (
        "Availability per service",
        (
            ("service", "Service (tag)", "text"),
            ("devices", "Devices", "text"),
            ("availability_pct", "Availability %", "pct"),
            ("target_pct", "Target %", "pct"),
            ("met", "Met", "bool"),
            ("downtime", "Downtime", "seconds"),
            ("outages", "Outages", "int"),
            ("longest_outage", "Longest outage", "seconds"),
            ("coverage_pct", "Data coverage %", "pct"),
        ),
    ),
    "outages": (
        "Outages",
        (
            ("device", "Device", "text"),
            ("start", "Start", "datetime"),
            ("end", "End", "datetime"),
            ("duration", "Duration", "seconds"),
            ("tickets", "Ticket", "text"),
            ("covered", "Covered", "bool"),
            ("note", "Note", "text"),
        ),
    ),
    "recurring": (
        "Recurring problems: the most frequent alert names and devices",
        (
            ("kind", "Kind", "text"),
            ("subject", "Alert name or device", "text"),
            ("tickets", "Tickets", "int"),
            ("outages", "Outages", "int"),
            ("downtime", "Downtime", "seconds"),
        ),
    ),
    "workload": ("Tickets entered per hour of the week", tuple(workload_columns())),
    "maintenance": (
        "Maintenance windows",
        (
            ("device", "Device", "text"),
            ("start", "Start", "datetime"),
            ("end", "End", "datetime"),
            ("duration", "Duration", "seconds"),
        ),
    ),
    "engineers": (
        "Engineers",
        (
            ("engineer", "Engineer", "text"),
            ("tickets", "Tickets", "int"),
            ("reaction_met_pct", "Reaction met %", "pct"),
            ("reaction_median", "Reaction median", "seconds"),
            ("resolution_met_pct", "Resolution met %", "pct"),
            ("resolution_median", "Resolution median", "seconds"),
            ("breaches", "Breached clocks", "int"),
            ("ratings", "Ratings", "int"),
            ("satisfaction", "Satisfaction (mean 1-5)", "number"),
        ),
    ),
    "loop": ("Customer verification, first-time fix and satisfaction", LOOP_COLUMNS),
    "explanation": (
        "How each clock was counted",
        (
            ("ticket", "Ticket", "text"),
            ("clock", "Clock", "text"),
            ("kind", "Counted or paused", "text"),
            ("priority", "Priority", "text"),
            ("start", "From", "datetime"),
            ("end", "To", "datetime"),
            ("business_seconds", "Business time", "seconds"),
            ("started_by", "Started by", "text"),
            ("ended_by", "Ended by", "text"),
        ),
    ),
}

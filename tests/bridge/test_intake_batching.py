"""The intake's batched path is only a faster way to do the same thing: for random streams of
notifications (new alerts, repeats, resolves, re-fires, acknowledgements, redeliveries, floods
crossing the major-incident threshold, devices behind one parent, unrouted alerts), running a
group commit's notifications together and running them one at a time leave identical stores,
every table and every event in order, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.alert import Alert, AlertStatus
from bridge.ingest import Context, IngestCommand, ingest_many
from bridge.routing import Router
from bridge.store.schema import metadata
from tests.conftest import START, take_snapshot

#: who an alert is about: devices behind acme-edge (one parent), another customer, nobody
_TARGETS = [
    {"device": "acme-db"},
    {"device": "acme-web"},
    {"device": "acme-edge"},
    {"device": "brno-core"},
    {"customer": "nobody-we-know"},
]
_NAMES = ["DeviceDown", "DiskFull"]


def _alert(n: int, status: str) -> Alert:
    return Alert(
        source="alertmanager",
        identity=f"a{n}",
        status=AlertStatus(status),
        title=f"alert {n}",
        severity=("critical", "warning")[n % 2],
        labels={"alertname": _NAMES[n % 2 if n < 8 else 0], **_TARGETS[n % len(_TARGETS)]},
    )


_notification = st.lists(
    st.tuples(
        st.integers(0, 13),
        st.sampled_from(["firing", "firing", "firing", "resolved", "acknowledged"]),
    ),
    min_size=1,
    max_size=8,
)
# each entry: a new notification, or the redelivery of an earlier one (its index)
_stream = st.lists(st.one_of(_notification, st.integers(0, 30)), min_size=1, max_size=14)


def _commands(cfg, stream) -> list[IngestCommand]:
    ctx = Context(cfg=cfg, router=Router(cfg))
    source = cfg.source("prometheus")
    sent: list[list[Alert]] = []
    out = []
    for i, entry in enumerate(stream):
        if isinstance(entry, int):
            if not sent:
                continue
            batch = sent[entry % len(sent)]
        else:
            batch = [_alert(n, status) for n, status in entry]
            sent.append(batch)
        at = START + timedelta(seconds=20 * i)
        out.append(IngestCommand(ctx, source, batch, at, at))
    return out


def _reset(engines) -> None:
    with engines.write.begin() as conn:
        names = [t.name for t in metadata.sorted_tables]
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))
        else:
            # ids restart too: these tables use rowids, not AUTOINCREMENT
            for name in reversed(names):
                conn.execute(sa.text(f"DELETE FROM {name}"))


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(stream=_stream)
def test_batched_and_one_at_a_time_leave_the_same_store(cfg, engines, stream):
    commands = _commands(cfg, stream)
    _reset(engines)
    with engines.write.begin() as conn:
        batched = ingest_many(conn, commands)
    together = take_snapshot(engines)
    _reset(engines)
    singly = []
    for cmd in commands:
        with engines.write.begin() as conn:
            singly += ingest_many(conn, [cmd])
    assert take_snapshot(engines) == together
    assert [(dict(r.outcomes), r.tickets) for r in batched] == [
        (dict(r.outcomes), r.tickets) for r in singly
    ]

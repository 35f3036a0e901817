"""The vectorized explanation gives exactly the intervals of sla.ticket_clocks."""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, given, settings

from reports.explain import explain_frame, explain_scalar
from sla.frames import events_frame, ticket_clocks_frame
from tests.sla.test_frames import many_tickets


def _norm(frame: pd.DataFrame) -> list[tuple]:
    return [
        tuple(None if pd.isna(v) else (int(v) if isinstance(v, float) else v) for v in row)
        for row in frame.itertuples(index=False)
    ]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(many_tickets())
def test_explain_frame_equals_per_ticket_intervals(case):
    policy, logs, now = case
    logs = {tid: evs for tid, evs in logs.items() if min(e.at for e in evs) <= now}
    if not logs:
        return
    frame = explain_frame(events_frame(logs), policy, now)
    assert _norm(frame) == _norm(explain_scalar(logs, policy, now))
    # The counted seconds add up to the elapsed figures of sla.frames.
    clocks = ticket_clocks_frame(events_frame(logs), policy, now)
    counted = frame[frame["kind"] == "counted"].groupby(["ticket_id", "clock"])[
        "business_seconds"].sum()
    for tid in logs:
        for clock in ("reaction", "resolution"):
            assert counted.get((tid, clock), 0) == clocks.loc[tid, f"{clock}_elapsed"]

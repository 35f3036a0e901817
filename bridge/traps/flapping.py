"""Flapping per trap identity, with the probes' own detector (probes.state.StateEngine).

A port that goes down and up every few seconds sends a linkDown/linkUp pair each time; passed
through one by one, that is a ticket resolved and reopened over and over. The probes solve the
same problem for polled devices, so traps reuse their state engine and their rules: each trap is
one observation of its identity (a firing trap *fail*, its clearing trap *ok*), taken as
confirmed at once (a device that sends a trap has already decided), so `down_after` and
`up_after` are 1 here. `probing.flap_changes` changes within `probing.flap_window` start
flapping: the trap that crossed the line still passes, then one "<subject> is flapping" alert
opens its own ticket, and every further trap of that identity only counts on that ticket. Once
the identity has been stable for `flap_window`, the flapping alert resolves ("is stable
again") and, if the identity settled elsewhere than the tickets were last told, its last trap
is passed on so they follow. Only identities that a trap opens and another clears take part
(link:, rule:); a reboot is one trap that fires and resolves at once.

Pure: no I/O and no clock; every call takes the instant.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from bridge.alert import Alert, AlertStatus
from bridge.config import Config
from probes.state import Observation, Policy, State, StateChange, StateEngine

#: identities a trap opens and another clears (snmptrap.parse: linkDown/linkUp, mapped rules)
STATEFUL = ("link:", "rule:")
_PASS_RULES = ("flapping_suppressed", "flapping_started", "flapping_stopped", "unconfirmed_failure")


def trap_policy(cfg: Config) -> Policy:
    """The probes' flapping rule; no debounce (each trap is the device's own verdict)."""
    return Policy(
        down_after=1,
        up_after=1,
        flap_changes=cfg.probing.flap_changes,
        flap_window=timedelta(seconds=cfg.probing.flap_window),
    )


def subject(alert: Alert) -> str:
    """What flaps, in words: 'Link ge-0/0/3 (ifIndex 3) on 127.0.20.1'."""
    device = alert.labels.get("host_ip", "")
    where = f" on {device}" if device else ""
    if "interface" in alert.labels:
        return f"Link {alert.labels['interface']}{where}"
    title = alert.title.removesuffix(" (cleared)")
    if "rule" in alert.labels and device and not title.endswith(device):
        return f"{title}{where}"
    return title


class TrapFlaps:
    """Flapping state of every trap identity of a process, keyed by (source name, identity)."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self._engine = StateEngine(policy)
        self._last: dict[tuple[str, str], Alert] = {}

    def is_flapping(self, source: str, identity: str) -> bool:
        return self._engine.is_flapping(source, identity)

    def take(self, source: str, alerts: list[Alert], at: datetime) -> list[Alert]:
        """The alerts to hand to the intake for these traps, in order."""
        out: list[Alert] = []
        for alert in alerts:
            if not alert.identity.startswith(STATEFUL) or alert.status not in (
                AlertStatus.FIRING,
                AlertStatus.RESOLVED,
            ):
                out.append(alert)
                continue
            obs = Observation.FAIL if alert.status is AlertStatus.FIRING else Observation.OK
            self._last[(source, alert.identity)] = alert
            changes = self._engine.observe(source, alert.identity, obs, at)
            if changes:
                for change in changes:
                    out.extend(self._meaning(change, alert))
            elif self._engine.is_flapping(source, alert.identity):
                out.append(self._flapping(alert, AlertStatus.FIRING, at))
            else:
                out.append(alert)  # a repeat: the intake counts it on its ticket
        return out

    def settle(self, source: str, at: datetime) -> list[Alert]:
        """Flapping that has ended by `at` (stable for flap_window): what the tickets must hear.
        Called periodically, since a port that has become stable sends no more traps."""
        out: list[Alert] = []
        for (src, identity), alert in list(self._last.items()):
            if src != source or not self._engine.is_flapping(src, identity):
                continue
            obs = Observation.FAIL if alert.status is AlertStatus.FIRING else Observation.OK
            for change in self._engine.observe(src, identity, obs, at):
                out.extend(self._meaning(change, alert))
        return out

    def _meaning(self, change: StateChange, alert: Alert) -> list[Alert]:
        if change.rule == "flapping_started":
            return [self._flapping(alert, AlertStatus.FIRING, change.at, change)]
        if change.rule == "flapping_suppressed":
            return [self._flapping(alert, AlertStatus.FIRING, change.at)]
        if change.rule == "flapping_stopped":
            stable = self._flapping(alert, AlertStatus.RESOLVED, change.at, change)
            # settled elsewhere than last told (e.g. flapping began on a linkDown, ended up)
            moved = change.old_state is not change.new_state and change.new_state in (
                State.UP,
                State.DOWN,
            )
            return [stable, alert] if moved else [stable]
        if change.rule in _PASS_RULES:
            return []
        return [alert]

    def _flapping(
        self, alert: Alert, status: AlertStatus, at: datetime, change: StateChange | None = None
    ) -> Alert:
        what = subject(alert)
        window = self.policy.flap_window.total_seconds()
        if status is AlertStatus.FIRING:
            title = f"{what} is flapping"
            changes = change.detail.get("changes") if change is not None else None
            text = (
                f"{changes} state changes within {window:g} s; one ticket until stable"
                if changes
                else "state changes too often; one ticket until stable"
            )
        else:
            title = f"{what} is stable again"
            settled = change.new_state.value if change is not None else "?"
            text = f"no change for {window:g} s; settled {settled}"
        return dataclasses.replace(
            alert,
            identity=f"{alert.identity}:flapping",
            status=status,
            title=title,
            severity="warning",
            description=f"{text}\nlast trap:\n{alert.description}",
            labels={**alert.labels, "flapping": "true"},
            annotations={"summary": title},
            starts_at=None,
            ends_at=at if status is AlertStatus.RESOLVED else None,
            raw={**alert.raw, "flapping": {"rule": change.rule if change else "repeat"}},
        )


__all__ = ["STATEFUL", "TrapFlaps", "subject", "trap_policy"]
